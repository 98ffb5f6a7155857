package puppet_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/testutil"
)

// manifestsSite is the example classified by nodes.pp (no kiln enc to
// build), with site-wide parameters for one module.
func manifestsSite(t *testing.T, module string, params ...string) string {
	t.Helper()
	dir := exampleSite(t, "classifier: manifests")
	if module == "" {
		return dir
	}
	p := filepath.Join(dir, "site.yaml")
	data, err := os.ReadFile(p)
	must(t, err)
	extra := "\nparameters:\n  " + module + ":\n    " + strings.Join(params, "\n    ") + "\n"
	data = []byte(strings.Replace(string(data), "\nparameters:\n", extra, 1))
	must(t, os.WriteFile(p, data, 0o600))
	return dir
}

// compiledFiles compiles the catalogs of a site's nodes that run module
// (the first max of them, 0 for all; a manifestsSite: nodes.pp
// classification) and returns, per node, the content of every
// file the catalog manages.
func compiledFiles(t *testing.T, ruby, site, module string, max int) (*model.Cluster, string, map[string]map[string]string) {
	t.Helper()
	cl, build := buildSite(t, site)
	env := puppetEnv(t, cl, build, "", site, "manifests")
	var names []string
	for _, n := range cl.NodesWith(module) {
		if max == 0 || len(names) < max {
			names = append(names, n.FQDN)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no node of the site runs %s", module)
	}
	files := map[string]map[string]string{}
	for _, c := range compileAll(t, ruby, env, names) {
		if c.Error != "" {
			t.Fatalf("%s: Puppet did not compile the catalog: %s", c.Certname, c.Error)
		}
		for _, l := range c.Logs {
			t.Errorf("%s: Puppet logged %s", c.Certname, l)
		}
		files[c.Certname] = map[string]string{}
		resources, _ := c.Catalog["resources"].([]any)
		for _, r := range resources {
			r := r.(map[string]any)
			params, _ := r["parameters"].(map[string]any)
			if r["type"] != "File" || params == nil {
				continue
			}
			if content, ok := params["content"].(string); ok {
				files[c.Certname][r["title"].(string)] = content
			}
		}
	}
	return cl, build, files
}

// cvmfsParameters reads the recorded table of CernVM-FS client parameters.
func cvmfsParameters(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("testdata/cvmfs-client-parameters.txt")
	must(t, err)
	known := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "CVMFS_") {
			known[strings.TrimSpace(l)] = true
		}
	}
	if len(known) < 50 || !known["CVMFS_HTTP_PROXY"] {
		t.Fatalf("the recorded CernVM-FS parameter table has %d names", len(known))
	}
	return known
}

var shellAssignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=`)

// TestCVMFSDefaultLocalSetsDocumentedParametersThatBashReadsBack compiles the
// CVMFS nodes' catalogs for the example, for a site that gives hostile values
// (quotes, $(…), ; and |), and for one with no site proxy. Every key of each
// /etc/cvmfs/default.local must be a client parameter of CernVM-FS's table;
// bash (which CernVM-FS reads its configuration with) must read back exactly
// the values kiln resolved, running nothing; the proxy is the cluster's
// squid, and the single profile is used only without one.
func TestCVMFSDefaultLocalSetsDocumentedParametersThatBashReadsBack(t *testing.T) {
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	bash := testutil.NeedProgram(t, "bash")
	known := cvmfsParameters(t)
	// Every CVMFS node of the example; one of each other site (their
	// values are site-wide).
	sites := []struct {
		name, dir string
		max       int
	}{
		{"example", manifestsSite(t, ""), 0},
		{"hostile", manifestsSite(t, "cvmfs",
			`http_proxy: "http://a.example:3128|http://b'$(touch pwned)'.example:3128;DIRECT"`,
			`cache_base: "/srv/cvmfs+cache/it@s,x"`, // spaces and quotes: refused by the path type
			"repositories: [atlas.cern.ch, cms.cern.ch]"), 1},
		{"no proxy", manifestsSite(t, "cvmfs", `http_proxy: ""`), 1},
	}
	var wg sync.WaitGroup
	for _, s := range sites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(s.name, func(t *testing.T) {
				cl, _, files := compiledFiles(t, ruby, s.dir, "cvmfs", s.max)
				for _, n := range cl.NodesWith("cvmfs") {
					if f, ok := files[n.FQDN]; ok {
						checkDefaultLocal(t, bash, known, cl, n, f)
					}
				}
			})
		}()
	}
	wg.Wait()
}

func checkDefaultLocal(t *testing.T, bash string, known map[string]bool, cl *model.Cluster, n *model.Node, files map[string]string) {
	t.Helper()
	text, ok := files["/etc/cvmfs/default.local"]
	if !ok {
		t.Errorf("%s: the catalog has no /etc/cvmfs/default.local", n.FQDN)
		return
	}
	if got := files["/etc/auto.master.d/cvmfs.autofs"]; !strings.Contains(got, "\n/cvmfs /etc/auto.cvmfs\n") {
		t.Errorf("%s: the autofs map of /cvmfs is %q", n.FQDN, got)
	}
	var keys []string
	for _, l := range strings.Split(text, "\n") {
		if m := shellAssignment.FindStringSubmatch(l); m != nil {
			keys = append(keys, m[1])
			if !known[m[1]] {
				t.Errorf("%s: default.local sets %s, which is not a CernVM-FS client parameter (testdata/cvmfs-client-parameters.txt)", n.FQDN, m[1])
			}
		}
	}
	// bash reads the file back, in a folder of its own (a command
	// substitution that ran would leave a file there).
	dir := t.TempDir()
	f := filepath.Join(dir, "default.local")
	must(t, os.WriteFile(f, []byte(text), 0o644))
	script := `set -u; . ./default.local; for k in "$@"; do printf '%s=%s\0' "$k" "${!k-<unset>}"; done`
	want := []string{"CVMFS_REPOSITORIES", "CVMFS_HTTP_PROXY", "CVMFS_QUOTA_LIMIT", "CVMFS_CACHE_BASE", "CVMFS_CLIENT_PROFILE"}
	cmd := exec.Command(bash, append([]string{"-c", script, "bash"}, want...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: bash cannot read default.local: %v\n%s\n%s", n.FQDN, err, out, text)
		return
	}
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s: reading default.local ran a command (the folder has %d entries)", n.FQDN, len(entries))
	}
	m := n.Module("cvmfs")
	param := func(name string) string {
		p := m.Param(name)
		if p == nil {
			t.Fatalf("%s: module cvmfs has no parameter %s", n.FQDN, name)
		}
		if l, ok := p.Value.([]any); ok {
			var s []string
			for _, e := range l {
				s = append(s, fmt.Sprint(e))
			}
			return strings.Join(s, ",")
		}
		return fmt.Sprint(p.Value)
	}
	proxy := param("http_proxy")
	expect := map[string]string{
		"CVMFS_REPOSITORIES": param("repositories"),
		"CVMFS_QUOTA_LIMIT":  param("quota_limit_mb"),
		"CVMFS_CACHE_BASE":   param("cache_base"),
		"CVMFS_HTTP_PROXY":   proxy,
	}
	if proxy == "" {
		expect["CVMFS_HTTP_PROXY"] = "<unset>"
		expect["CVMFS_CLIENT_PROFILE"] = "single"
	} else {
		expect["CVMFS_CLIENT_PROFILE"] = "<unset>"
	}
	for k, v := range expect {
		if got[k] != v {
			t.Errorf("%s: bash reads %s=%q from default.local, kiln resolved %q\n%s", n.FQDN, k, got[k], v, text)
		}
	}
	if len(keys) == 0 {
		t.Errorf("%s: default.local sets nothing:\n%s", n.FQDN, text)
	}
	// In the example, the proxy is the cluster's squid on its private name.
	if strings.HasPrefix(proxy, "http://proxy.") {
		squids := cl.NodesWith("squid")
		if len(squids) != 1 {
			t.Fatalf("the example has %d squids", len(squids))
		}
		wantProxy := "http://" + squids[0].Iface("private").Hostname + ":" + fmt.Sprint(squids[0].Module("squid").Param("port").Value)
		if proxy != wantProxy {
			t.Errorf("%s: CVMFS_HTTP_PROXY is %q, want the cluster's squid %q", n.FQDN, proxy, wantProxy)
		}
	}
}

// TestFrontierSquidConfigParsesAndServesOnlyThePrivateNetwork compiles the
// proxy's catalog and runs its customize.sh as Frontier Squid does at each
// start (the package default on standard input), giving the squid.conf the
// proxy ends up with. Debian's squid parses it (squid -k parse); then a
// squid with that configuration (only its file paths and user moved to a
// temporary folder) runs in a network namespace of its own, where a client
// at a worker's address fetches a page through it and a client outside the
// private network is refused. The proxy's firewall opens 3128/tcp to the
// private zone and 3401/udp to the monitors only.
func TestFrontierSquidConfigParsesAndServesOnlyThePrivateNetwork(t *testing.T) {
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	bash := testutil.NeedProgram(t, "bash")
	squid := testutil.NeedProgram(t, "squid")
	cl, build, files := compiledFiles(t, ruby, manifestsSite(t, ""), "squid", 0)
	proxies := cl.NodesWith("squid")
	if len(proxies) != 1 {
		t.Fatalf("the example has %d squids", len(proxies))
	}
	proxy := proxies[0]
	customize, ok := files[proxy.FQDN]["/etc/squid/customize.sh"]
	if !ok {
		t.Fatalf("%s: the catalog has no /etc/squid/customize.sh", proxy.FQDN)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "customize.sh")
	must(t, os.WriteFile(script, []byte(customize), 0o755))
	cmd := exec.Command(bash, script)
	cmd.Stdin = strings.NewReader("# squid.conf.frontierdefault stands here\nhttp_port 9999\n")
	conf, err := cmd.Output()
	if err != nil {
		t.Fatalf("customize.sh failed: %v", err)
	}
	if bytes.Contains(conf, []byte("9999")) {
		t.Errorf("customize.sh passed its input through:\n%s", conf)
	}
	// Parsed as it is but for the user squid runs as: Frontier Squid's
	// squid is Debian's proxy, and squid stops at a user it cannot find.
	if !bytes.Contains(conf, []byte("\ncache_effective_user squid\n")) {
		t.Fatalf("the proxy's squid.conf does not run squid as the squid user:\n%s", conf)
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(sc, script).CombinedOutput(); err != nil {
			t.Errorf("shellcheck customize.sh: %v\n%s", err, out)
		}
	}
	confFile := filepath.Join(dir, "squid.conf")
	must(t, os.WriteFile(confFile, bytes.Replace(conf, []byte("\ncache_effective_user squid\n"), []byte("\ncache_effective_user proxy\n"), 1), 0o644))
	out, err := exec.Command(squid, "-k", "parse", "-f", confFile).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("ERROR")) || bytes.Contains(out, []byte("FATAL")) {
		t.Fatalf("squid -k parse rejects the proxy's squid.conf: %v\n%s\n%s", err, out, conf)
	}
	for _, want := range []string{
		"acl NET_LOCAL src " + fmt.Sprint(proxy.Module("squid").Param("allowed_networks").Value.([]any)...),
		"acl HOST_MONITOR src 127.0.0.1/32 128.142.0.0/16 188.184.128.0/17 188.185.128.0/17\n",
		"http_port 3128\n", "snmp_port 3401\n", "snmp_access allow SNMPPUBLIC HOST_MONITOR\n",
		"cache_mem 256 MB\n", "cache_dir ufs /var/cache/squid 20480 16 256\n",
	} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("the proxy's squid.conf lacks %q:\n%s", want, conf)
		}
	}

	nft, err := os.ReadFile(filepath.Join(build, "puppet", "modules", "kiln_site", "files", "firewall", proxy.FQDN+".nft"))
	must(t, err)
	for _, want := range []string{
		"ip saddr @trusted4 tcp dport { 3128 } accept",
		"ip saddr { 128.142.0.0/16, 188.184.128.0/17, 188.185.128.0/17 } udp dport { 3401 } accept",
	} {
		if !bytes.Contains(nft, []byte(want)) {
			t.Errorf("the proxy's firewall lacks %q:\n%s", want, nft)
		}
	}
	if bytes.Contains(nft, []byte("dport { 3128 } accept\n")) && !bytes.Contains(nft, []byte("@trusted4 tcp dport { 3128 }")) {
		t.Errorf("the proxy's firewall opens 3128 beyond the private zone:\n%s", nft)
	}

	t.Run("running", func(t *testing.T) {
		var worker *model.Node
		for _, n := range cl.NodesWith("cvmfs") {
			if n.Iface("private") != nil && n.Iface("private").IP != "" {
				worker = n
				break
			}
		}
		if worker == nil {
			t.Fatal("no CVMFS node on the private network")
		}
		runSquidInNetns(t, squid, string(conf), proxy.Iface("private").IP, worker.Iface("private").IP)
	})
}

// runSquidInNetns runs squid with conf in a fresh network namespace whose
// loopback holds the proxy's address, a client's, a WLCG monitor's, an
// outsider's and a web server's (busybox httpd). The client gets the page
// through the proxy and the outsider a 403; the monitor reads squid's SNMP
// statistics on 3401/udp and the outsider gets no answer there.
func runSquidInNetns(t *testing.T, squid, conf, proxyIP, clientIP string) {
	if os.Geteuid() != 0 {
		t.Skip("a network namespace with addresses of the cluster's network needs root")
	}
	ip := testutil.NeedProgram(t, "ip")
	curl := testutil.NeedProgram(t, "curl")
	busybox := testutil.NeedProgram(t, "busybox")
	// A WLCG monitor's address (in 128.142.0.0/16, CERN's), an outsider's
	// and the web server's.
	const monitor, outsider, origin = "128.142.7.7", "192.0.2.10", "198.51.100.20"
	ns := fmt.Sprintf("kiln-h7-squid-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	for _, a := range []string{proxyIP, clientIP, monitor, outsider, origin} {
		run("-n", ns, "addr", "add", a+"/32", "dev", "lo")
	}

	// The web server behind the proxy.
	www := t.TempDir()
	must(t, os.WriteFile(filepath.Join(www, "hello.txt"), []byte("hello through squid\n"), 0o644))
	httpd := exec.Command(ip, "netns", "exec", ns, busybox, "httpd", "-f", "-p", origin+":8080", "-h", www)
	must(t, httpd.Start())
	t.Cleanup(func() { httpd.Process.Kill(); httpd.Wait() })

	// The proxy's configuration, its files and user moved to a folder of
	// the test's: Debian's squid runs as proxy, not Frontier Squid's squid.
	// Under the system's temporary folder itself: the test's own folders
	// are closed to the proxy user.
	state, err := os.MkdirTemp("", "kiln-squid-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(state) })
	u, err := user.Lookup("proxy")
	if err != nil {
		t.Skipf("Debian's squid user proxy is missing: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	must(t, os.Chmod(state, 0o755))
	must(t, os.Chown(state, uid, gid))
	moved := map[string]string{
		"cache_dir":            "ufs " + state + "/cache 100 16 256",
		"coredump_dir":         state,
		"pid_filename":         state + "/squid.pid",
		"cache_log":            state + "/cache.log",
		"access_log":           "stdio:" + state + "/access.log squid",
		"cache_effective_user": "proxy",
	}
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		l := sc.Text()
		name, _, _ := strings.Cut(l, " ")
		if v, ok := moved[name]; ok {
			l = name + " " + v
			delete(moved, name)
		}
		b.WriteString(l + "\n")
	}
	if len(moved) > 0 {
		t.Fatalf("the proxy's squid.conf lacks %v", moved)
	}
	confFile := filepath.Join(state, "squid.conf")
	must(t, os.WriteFile(confFile, []byte(b.String()), 0o644))
	if out, err := exec.Command(ip, "netns", "exec", ns, squid, "-z", "-N", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("squid -z: %v\n%s", err, out)
	}
	var squidOut bytes.Buffer
	sq := exec.Command(ip, "netns", "exec", ns, squid, "-N", "-f", confFile)
	sq.Stdout, sq.Stderr = &squidOut, &squidOut
	must(t, sq.Start())
	done := make(chan error, 1)
	go func() { done <- sq.Wait() }()
	t.Cleanup(func() {
		sq.Process.Kill()
		<-done
	})

	fetch := func(from string) (string, string) {
		out, err := exec.Command(ip, "netns", "exec", ns, curl, "-s", "--max-time", "10",
			"--interface", from, "-x", "http://"+proxyIP+":3128",
			"-w", "\n%{http_code}", "http://"+origin+":8080/hello.txt").Output()
		if err != nil {
			return "", "curl: " + err.Error()
		}
		i := bytes.LastIndexByte(out, '\n')
		return strings.TrimSuffix(string(out[:i]), "\n"), string(out[i+1:])
	}
	// Wait for squid to answer (a refusal means it is not listening yet).
	deadline := time.Now().Add(60 * time.Second) // the machine may be busy
	var body, code string
	for {
		body, code = fetch(clientIP)
		if code == "200" || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("squid exited: %v\n%s", err, squidOut.String())
		case <-time.After(300 * time.Millisecond):
		}
	}
	if code != "200" || body != "hello through squid" {
		log, _ := os.ReadFile(state + "/cache.log")
		t.Fatalf("from %s (the private network) through the proxy: %s %q\n%s%s", clientIP, code, body, squidOut.String(), log)
	}
	if _, code := fetch(outsider); code != "403" {
		t.Errorf("from %s (outside the private network) through the proxy: %s, want 403 (access denied)", outsider, code)
	}
	// The monitors read squid's SNMP statistics on 3401/udp (the cache's
	// uptime, squid's enterprise MIB); the outsider gets no answer.
	if snmpget, err := exec.LookPath("snmpget"); err == nil || os.Getenv("CI") != "" {
		if err != nil {
			t.Fatal("snmpget is not installed (Debian package snmp)")
		}
		snmp := func(from, retries string) (string, error) {
			out, err := exec.Command(ip, "netns", "exec", ns, snmpget, "-v2c", "-c", "public", "-t", "3", "-r", retries,
				"--clientaddr="+from, "udp:"+proxyIP+":3401", ".1.3.6.1.4.1.3495.1.1.3.0").CombinedOutput()
			return string(out), err
		}
		if out, err := snmp(monitor, "3"); err != nil || !strings.Contains(out, "3495.1.1.3.0 = Timeticks") {
			t.Errorf("a WLCG monitor (%s) cannot read the squid's uptime over SNMP: %v\n%s", monitor, err, out)
		}
		if out, err := snmp(outsider, "0"); err == nil {
			t.Errorf("an outsider (%s) reads the squid's SNMP statistics:\n%s", outsider, out)
		}
	}
	access, _ := os.ReadFile(state + "/access.log")
	if !regexp.MustCompile(` ` + regexp.QuoteMeta(outsider) + ` TCP_DENIED/403 `).Match(access) {
		t.Errorf("squid's access log does not show the outsider denied:\n%s", access)
	}
}
