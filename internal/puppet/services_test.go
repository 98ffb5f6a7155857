package puppet_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/testutil"
)

// The services tests run what Puppet would put on a node: the example's
// catalogs (Hiera classifier) compiled once, and the files they declare.

type exampleCatalogs struct {
	cluster  *model.Cluster
	site     string
	catalogs map[string]map[string]any // certname → catalog
}

var (
	examplesOnce sync.Once
	examples     *exampleCatalogs
	examplesErr  string
)

// compiledExample compiles every node of the example once per test binary.
func compiledExample(t *testing.T) *exampleCatalogs {
	t.Helper()
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	examplesOnce.Do(func() {
		st := &onceT{T: t}
		func() {
			defer func() { recover() }()
			site := exampleSite(st, "classifier: hiera")
			cl, build := buildSite(st, site)
			env := puppetEnv(st, cl, build, "", site, "hiera")
			out := compileAll(st, ruby, env, certnames(cl))
			ex := &exampleCatalogs{cluster: cl, site: site, catalogs: map[string]map[string]any{}}
			for _, c := range out {
				if c.Error != "" {
					st.Errorf("%s: Puppet did not compile the catalog: %s", c.Certname, c.Error)
					continue
				}
				ex.catalogs[c.Certname] = c.Catalog
			}
			if st.msg == "" {
				examples = ex
			}
		}()
		examplesErr = st.msg
	})
	if examples == nil {
		t.Fatalf("the example's catalogs: %s", examplesErr)
	}
	return examples
}

// onceT lets the shared compile report through whichever test ran it first
// and still record the failure for the tests after it.
type onceT struct {
	*testing.T
	msg string
}

func (o *onceT) Errorf(format string, args ...any) {
	o.msg += fmt.Sprintf(format, args...) + "\n"
}

func (o *onceT) Fatalf(format string, args ...any) {
	o.msg += fmt.Sprintf(format, args...) + "\n"
	panic(o.msg)
}

func (o *onceT) Fatal(args ...any) {
	o.msg += fmt.Sprint(args...) + "\n"
	panic(o.msg)
}

// resource finds a resource of a catalog by type and title.
func resource(catalog map[string]any, typ, title string) map[string]any {
	resources, _ := catalog["resources"].([]any)
	for _, r := range resources {
		r := r.(map[string]any)
		if r["type"] == typ && r["title"] == title {
			return r
		}
	}
	return nil
}

// fileContent is what a catalog's File resource writes (a Sensitive
// content is in the catalog as it is, redacted only in reports).
func fileContent(t *testing.T, catalog map[string]any, path string) string {
	t.Helper()
	r := resource(catalog, "File", path)
	if r == nil {
		t.Fatalf("the catalog has no File[%s]", path)
	}
	params, _ := r["parameters"].(map[string]any)
	switch c := params["content"].(type) {
	case string:
		return c
	case map[string]any: // a Sensitive value: {"__ptype": "Sensitive", "__pvalue": …}
		if s, ok := c["__pvalue"].(string); ok {
			return s
		}
	}
	t.Fatalf("File[%s] has no content in the catalog: %v", path, params["content"])
	return ""
}

// netns makes a network namespace (ip netns) deleted when the test ends.
func netns(t *testing.T, ip, name string) string {
	t.Helper()
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	return name
}

func runOK(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// The nfs node's xrootd, with the configuration its catalog writes, serves
// a file to a node on the private network and refuses the same read from
// an address outside it. The server runs in a network namespace wired to
// two client namespaces by veth pairs: one holds a worker's private
// address, the other an address that stands for the outside world.
func TestXrootdServesThePrivateNetworkOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	ip := testutil.NeedProgram(t, "ip")
	xrootd := testutil.NeedProgram(t, "xrootd")
	xrdcp := testutil.NeedProgram(t, "xrdcp")
	ex := compiledExample(t)

	nfs := ex.cluster.NodesWith("xrootd")[0]
	var worker *model.Node
	for _, n := range ex.cluster.Nodes {
		if n.Role == "worker" {
			worker = n
			break
		}
	}
	if worker == nil {
		t.Fatal("the example has no worker")
	}
	cfg := fileContent(t, ex.catalogs[nfs.FQDN], "/etc/xrootd/xrootd-kiln.cfg")
	if !strings.Contains(cfg, "xrd.allow host "+worker.Iface("private").IP+"\n") {
		t.Fatalf("the configuration does not allow the worker's private address %s:\n%s", worker.Iface("private").IP, cfg)
	}
	if strings.Contains(cfg, "xrd.allow host "+nfs.Iface("public").IP+"\n") {
		t.Fatalf("the configuration allows a public address:\n%s", cfg)
	}
	id := fileContent(t, ex.catalogs[nfs.FQDN], "/etc/systemd/system/xrootd@kiln.service.d/kiln-identity.conf")
	if !strings.Contains(id, "Environment=XRDNET_IDENTITY="+nfs.Iface("private").Hostname+"\n") {
		t.Errorf("the unit drop-in does not set XRDNET_IDENTITY to the private name:\n%s", id)
	}
	for _, p := range []string{"/export/share/data", "/export/share"} {
		if resource(ex.catalogs[nfs.FQDN], "File", p) == nil {
			t.Errorf("the catalog does not make the folder %s", p)
		}
	}

	// The served tree and xrootd's own folders, under a temporary root the
	// unprivileged xrootd can read.
	root := t.TempDir()
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	data := filepath.Join(root, "export/share/data")
	must(t, os.MkdirAll(data, 0o755))
	must(t, os.WriteFile(filepath.Join(data, "hello.txt"), []byte("hello from the data server\n"), 0o644))
	for _, d := range []string{"adm", "run", "log"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
		runOK(t, "chown", "nobody", filepath.Join(root, d))
	}
	cfg = strings.ReplaceAll(cfg, "all.adminpath /var/spool/xrootd", "all.adminpath "+root+"/adm")
	cfg = strings.ReplaceAll(cfg, "all.pidpath /run/xrootd", "all.pidpath "+root+"/run")
	cfg += "oss.localroot " + root + "\n"
	must(t, os.WriteFile(filepath.Join(root, "xrootd-kiln.cfg"), []byte(cfg), 0o644))

	// The wiring: srv ←veth→ in (the worker's private address), srv ←veth→
	// out (an address of the documentation range, standing for the world).
	tag := fmt.Sprint(os.Getpid() % 100000)
	srv := netns(t, ip, "kiln-h8-xrd-srv-"+tag)
	in := netns(t, ip, "kiln-h8-xrd-in-"+tag)
	out := netns(t, ip, "kiln-h8-xrd-out-"+tag)
	serverIP, workerIP := nfs.Iface("private").IP, worker.Iface("private").IP
	const outsideServer, outsideClient = "192.0.2.1", "192.0.2.66"
	for _, w := range []struct{ ns, dev, mine, theirs string }{{in, "xi" + tag, workerIP, serverIP}, {out, "xo" + tag, outsideClient, outsideServer}} {
		runOK(t, ip, "link", "add", w.dev, "netns", w.ns, "type", "veth", "peer", "name", w.dev+"s", "netns", srv)
		runOK(t, ip, "-n", w.ns, "addr", "add", w.mine+"/32", "dev", w.dev)
		runOK(t, ip, "-n", w.ns, "link", "set", w.dev, "up")
		runOK(t, ip, "-n", w.ns, "link", "set", "lo", "up")
		runOK(t, ip, "-n", w.ns, "route", "add", w.theirs+"/32", "dev", w.dev)
		runOK(t, ip, "-n", srv, "addr", "add", w.theirs+"/32", "dev", w.dev+"s")
		runOK(t, ip, "-n", srv, "link", "set", w.dev+"s", "up")
		runOK(t, ip, "-n", srv, "route", "add", w.mine+"/32", "dev", w.dev+"s")
	}
	runOK(t, ip, "-n", srv, "link", "set", "lo", "up")

	logFile := filepath.Join(root, "log", "xrootd.log")
	daemon := exec.Command(ip, "netns", "exec", srv, xrootd, "-c", filepath.Join(root, "xrootd-kiln.cfg"), "-l", logFile, "-R", "nobody", "-n", "kiln")
	var stderr strings.Builder
	daemon.Stdout, daemon.Stderr = &stderr, &stderr
	must(t, daemon.Start())
	defer func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			logs := readLogs(filepath.Dir(logFile))
			t.Logf("xrootd's log:\n%s%s\nits configuration:\n%s", stderr.String(), logs, cfg)
		}
	}()

	fetch := func(ns, server string) (string, error) {
		dst := filepath.Join(t.TempDir(), "got")
		cmd := exec.Command(ip, "netns", "exec", ns, xrdcp, "--nopbar", "root://"+server+":1094//export/share/data/hello.txt", dst)
		cmd.Env = append(os.Environ(), "XRD_CONNECTIONRETRY=1", "XRD_REQUESTTIMEOUT=5", "XRD_STREAMTIMEOUT=5", "XRD_CONNECTIONWINDOW=3")
		b, err := cmd.CombinedOutput()
		if err != nil {
			return string(b), err
		}
		got, err := os.ReadFile(dst)
		return string(got), err
	}
	// From the private network: served (retried while xrootd starts).
	var got string
	var err error
	for range 20 {
		if got, err = fetch(in, serverIP); err == nil {
			break
		}
		exec.Command("sleep", "0.5").Run()
	}
	if err != nil || got != "hello from the data server\n" {
		t.Fatalf("a worker on the private network cannot read the file: %v\n%s", err, got)
	}
	// The runbook's check lists the folder.
	if xrdfs, err := exec.LookPath("xrdfs"); err == nil {
		b, err := exec.Command(ip, "netns", "exec", in, xrdfs, "root://"+serverIP+":1094", "ls", "/export/share/data").CombinedOutput()
		if err != nil || !strings.Contains(string(b), "/export/share/data/hello.txt") {
			t.Errorf("xrdfs ls from the private network: %v\n%s", err, b)
		}
	}
	// From anywhere else: refused.
	got, err = fetch(out, outsideServer)
	if err == nil {
		t.Fatalf("a client outside the private network read the file: %q", got)
	}
	t.Logf("from %s: %v\n%s", outsideClient, err, strings.TrimSpace(got))
	logs := readLogs(filepath.Dir(logFile))
	refused := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, outsideClient) && strings.Contains(l, "permission denied") {
			refused = l
		}
	}
	if refused == "" {
		t.Errorf("xrootd's log does not say it refused %s:\n%s", outsideClient, logs)
	}
	t.Logf("xrootd: %s", refused)
}

// readLogs reads every file under dir (xrootd puts its log in a folder
// named after the instance).
func readLogs(dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}

// resourceParams are a catalog resource's parameters.
func resourceParams(t *testing.T, catalog map[string]any, typ, title string) map[string]any {
	t.Helper()
	r := resource(catalog, typ, title)
	if r == nil {
		t.Fatalf("the catalog has no %s[%s]", typ, title)
	}
	p, _ := r["parameters"].(map[string]any)
	return p
}

// A node's backup, as Puppet installs it, reaches its repository on the
// repository host the way the nodes do: restic over sftp with the node's
// own key, into the account the repository host's catalog makes for it.
// The repository host is a real sshd on 127.0.0.1 (as root, in a mount
// namespace whose /etc/passwd has the accounts the catalog declares), with
// the authorized_keys the catalog writes. The puppet VM backs up and
// restores; the ldap VM, whose repository is on the same host, cannot
// open the puppet VM's repository with its key nor reach it through its
// own account, and neither gets a shell.
func TestBackupReachesOnlyItsOwnRepositoryOverSFTP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sshd runs as root")
	}
	sshd := testutil.NeedProgram(t, "sshd")
	keygen := testutil.NeedProgram(t, "ssh-keygen")
	ssh := testutil.NeedProgram(t, "ssh")
	sftp := testutil.NeedProgram(t, "sftp")
	restic := testutil.NeedProgram(t, "restic")
	unshare := testutil.NeedProgram(t, "unshare")
	ex := compiledExample(t)

	byName := map[string]*model.Node{}
	for _, n := range ex.cluster.Nodes {
		byName[n.Name] = n
	}
	host := byName["nfs"]
	hostCat := ex.catalogs[host.FQDN]
	root := t.TempDir()
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	port := testutil.FreePort(t)

	// The repository host: each client's account, home, authorized_keys
	// and repository folder, as the nfs catalog declares them, under root.
	passwd, err := os.ReadFile("/etc/passwd")
	must(t, err)
	group, err := os.ReadFile("/etc/group")
	must(t, err)
	type client struct {
		name, user, repo string
		uid              int
		env              []string
	}
	clients := map[string]*client{}
	for i, name := range []string{"puppet", "ldap"} {
		n := byName[name]
		repo := fileContent(t, ex.catalogs[n.FQDN], "/etc/kiln/backup/repository")
		repo = strings.TrimSpace(repo)
		user := "kiln-backup-" + name
		if !strings.HasPrefix(repo, "sftp:"+user+"@"+host.Iface("private").Hostname+":/") {
			t.Fatalf("%s's repository %s is not on %s's account %s", name, repo, host.Name, user)
		}
		up := resourceParams(t, hostCat, "User", user)
		home, _ := up["home"].(string)
		if up["shell"] != "/sbin/nologin" || home == "" {
			t.Fatalf("%s's account on %s: %v", name, host.Name, up)
		}
		path := strings.SplitN(repo, ":", 3)[2]
		if pp := resourceParams(t, hostCat, "File", path); pp["owner"] != user || pp["mode"] != "0700" {
			t.Fatalf("%s's repository folder %s: %v, want owned by %s, 0700", name, path, pp, user)
		}
		if hp := resourceParams(t, hostCat, "File", home); hp["owner"] != "root" {
			t.Fatalf("%s's home %s is not root's: %v", name, home, hp)
		}
		keys := fileContent(t, hostCat, home+"/.ssh/authorized_keys")
		if !strings.Contains(keys, `restrict,command="internal-sftp -d `+path+`" ssh-ed25519 `) {
			t.Fatalf("%s's authorized_keys on %s does not restrict the key to sftp into %s:\n%s", name, host.Name, path, keys)
		}
		uid := 61001 + i
		must(t, os.MkdirAll(root+home+"/.ssh", 0o755))
		must(t, os.MkdirAll(root+path, 0o700))
		must(t, os.Chown(root+path, uid, uid))
		must(t, os.WriteFile(root+home+"/.ssh/authorized_keys", []byte(strings.ReplaceAll(keys, path, root+path)), 0o644))
		passwd = fmt.Appendf(passwd, "%s:*:%d:%d:kiln backups of %s:%s:/usr/sbin/nologin\n", user, uid, uid, name, root+home)
		group = fmt.Appendf(group, "%s:x:%d:\n", user, uid)

		// The node: the files its catalog installs, under root/NODE.
		nodeDir := filepath.Join(root, "node-"+name)
		must(t, os.MkdirAll(nodeDir, 0o700))
		cat := ex.catalogs[n.FQDN]
		for _, f := range []string{"/usr/local/sbin/kiln-backup", "/usr/local/sbin/kiln-restore", "/etc/kiln/backup/restic-password", "/etc/kiln/backup/id_ed25519", "/etc/kiln/backup/ssh_config"} {
			mode := os.FileMode(0o600)
			if strings.Contains(f, "sbin") {
				mode = 0o755
			}
			content := fileContent(t, cat, f)
			if f == "/etc/kiln/backup/ssh_config" {
				// Name service for the test: the repository host is this sshd.
				content = fmt.Sprintf("Host %s\n\tHostName 127.0.0.1\n\tPort %d\n\n", host.Iface("private").Hostname, port) +
					strings.ReplaceAll(content, "/etc/kiln/backup/", nodeDir+"/")
			}
			must(t, os.WriteFile(filepath.Join(nodeDir, filepath.Base(f)), []byte(content), mode))
		}
		clients[name] = &client{name: name, user: user, repo: "sftp:" + user + "@" + host.Iface("private").Hostname + ":" + root + path, uid: uid, env: []string{
			"PATH=" + filepath.Dir(restic) + ":/usr/bin:/bin",
			"HOME=" + nodeDir,
			"KILN_SSH_CONFIG=" + filepath.Join(nodeDir, "ssh_config"),
			"RESTIC_PASSWORD_FILE=" + filepath.Join(nodeDir, "restic-password"),
			"RESTIC_CACHE_DIR=" + filepath.Join(nodeDir, "cache"),
			"KILN_STATE_DIR=" + filepath.Join(nodeDir, "stamps"),
			"TMPDIR=" + nodeDir,
		}}
	}
	must(t, os.WriteFile(filepath.Join(root, "passwd"), passwd, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "group"), group, 0o644))

	// The repository host's sshd.
	b, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(root, "host_key")).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, b)
	}
	os.MkdirAll("/run/sshd", 0o755)
	// As EL's sshd_config: sftp is a subsystem (an external sftp-server,
	// which the forced internal-sftp replaces for these keys).
	config := fmt.Sprintf("ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nPidFile %s\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel VERBOSE\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
		port, filepath.Join(root, "host_key"), filepath.Join(root, "sshd.pid"))
	must(t, os.WriteFile(filepath.Join(root, "sshd_config"), []byte(config), 0o600))
	daemon := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && exec "$3" -D -e -f "$4"`, "sh",
		filepath.Join(root, "passwd"), filepath.Join(root, "group"), sshd, filepath.Join(root, "sshd_config"))
	var logs strings.Builder
	daemon.Stdout, daemon.Stderr = &logs, &logs
	must(t, daemon.Start())
	defer func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			t.Logf("sshd said:\n%s", logs.String())
		}
	}()
	waitPort(t, fmt.Sprintf("127.0.0.1:%d", port))

	script := func(c *client, repo string, extra []string, args ...string) (string, error) {
		nodeDir := filepath.Join(root, "node-"+c.name)
		cmd := exec.Command(filepath.Join(nodeDir, args[0]), args[1:]...)
		cmd.Env = append(append(c.env, "RESTIC_REPOSITORY="+repo), extra...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	pup, ldap := clients["puppet"], clients["ldap"]

	// Each node's catalog holds its own password and key, and no other's.
	for _, name := range []string{"puppet", "ldap"} {
		own := ex.catalogs[byName[name].FQDN]
		key := strings.Split(fileContent(t, own, "/etc/kiln/backup/id_ed25519"), "\n")[2]
		for certname, cat := range ex.catalogs {
			data, err := json.Marshal(cat)
			must(t, err)
			if certname != byName[name].FQDN && strings.Contains(string(data), key) {
				t.Errorf("%s's catalog holds %s's backup key", certname, name)
			}
		}
	}

	// The puppet VM's state, backed up and restored over sftp.
	old := filepath.Join(root, "old")
	must(t, os.MkdirAll(filepath.Join(old, "etc/puppetlabs/puppet/ssl/certs"), 0o755))
	must(t, os.MkdirAll(filepath.Join(old, "etc/puppetlabs/puppetserver/ca"), 0o755))
	must(t, os.WriteFile(filepath.Join(old, "etc/puppetlabs/puppet/ssl/certs/ca.pem"), []byte("the CA certificate\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(old, "etc/puppetlabs/puppetserver/ca/serial"), []byte("0042\n"), 0o644))
	for _, args := range [][]string{{"kiln-backup", "init"}, {"kiln-backup", "initialized"}, {"kiln-backup", "run"}} {
		if out, err := script(pup, pup.repo, []string{"KILN_ROOT=" + old}, args...); err != nil {
			t.Fatalf("puppet: %v: %v\n%s", args, err, out)
		}
	}
	fresh := filepath.Join(root, "new")
	stamps := "KILN_STATE_DIR=" + filepath.Join(root, "node-puppet", "stamps-new")
	// A rebuilt node does not back up its empty disk over the snapshots.
	out, err := script(pup, pup.repo, []string{"KILN_ROOT=" + fresh, stamps}, "kiln-backup", "run")
	if err == nil || !strings.Contains(out, "a rebuilt node?") {
		t.Fatalf("kiln-backup run on a rebuilt node did not refuse: %v\n%s", err, out)
	}
	if out, err := script(pup, pup.repo, []string{"KILN_ROOT=" + fresh, stamps}, "kiln-restore", "run"); err != nil {
		t.Fatalf("puppet: kiln-restore run: %v\n%s", err, out)
	}
	for p, want := range map[string]string{"etc/puppetlabs/puppet/ssl/certs/ca.pem": "the CA certificate\n", "etc/puppetlabs/puppetserver/ca/serial": "0042\n"} {
		if got, err := os.ReadFile(filepath.Join(fresh, p)); err != nil || string(got) != want {
			t.Errorf("/%s after the restore: %q %v, want %q", p, got, err, want)
		}
	}
	if out, err := script(pup, pup.repo, []string{"KILN_ROOT=" + fresh, stamps}, "kiln-backup", "run", "all"); err != nil {
		t.Errorf("kiln-backup after a full restore: %v\n%s", err, out)
	}

	// The ldap VM's own repository works (the control)...
	if out, err := script(ldap, ldap.repo, nil, "kiln-backup", "init"); err != nil {
		t.Fatalf("ldap: kiln-backup init: %v\n%s", err, out)
	}
	// ...but its key does not open the puppet VM's account,
	if out, err := script(ldap, pup.repo, nil, "kiln-backup", "snapshots"); err == nil {
		t.Errorf("ldap's key opened puppet's repository:\n%s", out)
	}
	cmd := exec.Command(sftp, "-F", filepath.Join(root, "node-ldap", "ssh_config"), "-b", "-", pup.user+"@"+host.Iface("private").Hostname)
	cmd.Stdin = strings.NewReader("ls\n")
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "Permission denied (publickey)") {
		t.Errorf("ldap's key was not refused by puppet's account: %v\n%s", err, b)
	}
	// its account cannot enter the puppet VM's repository folder,
	pupPath := strings.SplitN(pup.repo, ":", 3)[2]
	if out, err := script(ldap, "sftp:"+ldap.user+"@"+host.Iface("private").Hostname+":"+pupPath, nil, "kiln-backup", "snapshots"); err == nil {
		t.Errorf("ldap's account read puppet's repository:\n%s", out)
	}
	cmd = exec.Command(sftp, "-F", filepath.Join(root, "node-ldap", "ssh_config"), "-b", "-", ldap.user+"@"+host.Iface("private").Hostname)
	cmd.Stdin = strings.NewReader("ls " + pupPath + "\n")
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "ermission denied") {
		t.Errorf("ldap's sftp session listed puppet's repository: %v\n%s", err, b)
	}
	// and no key gets a shell or a command.
	for _, c := range []*client{pup, ldap} {
		b, err := exec.Command(ssh, "-F", filepath.Join(root, "node-"+c.name, "ssh_config"), c.user+"@"+host.Iface("private").Hostname, "id").CombinedOutput()
		if err == nil || strings.Contains(string(b), "uid=") || !strings.Contains(string(b), "sftp connections only") {
			t.Errorf("%s's key ran a command on the repository host: %v\n%s", c.name, err, b)
		}
	}
}

// waitPort waits until something listens on addr.
func waitPort(t *testing.T, addr string) {
	t.Helper()
	for range 100 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
