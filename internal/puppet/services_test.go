package puppet_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
