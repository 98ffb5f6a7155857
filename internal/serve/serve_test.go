package serve

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/state"
)

var ksURL = regexp.MustCompile(`inst\.ks=http://[^/]+(/kiln/[^ ?]+)\?token=([0-9a-f]{64})`)

func kinds(t *testing.T, s *Server, node string) string {
	t.Helper()
	evs, err := s.Store().Events(context.Background(), state.Query{Node: node})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		k := e.Kind
		if e.To != "" {
			k += ":" + e.To
		}
		out = append(out, k)
	}
	return strings.Join(out, " ")
}

func nodeState(t *testing.T, s *Server, name string) *state.Node {
	t.Helper()
	n, ok, err := s.Store().Node(context.Background(), name)
	if err != nil || !ok {
		t.Fatalf("%s: %v %v", name, ok, err)
	}
	return n
}

// One node's whole install, as a node does it: entry script, its own
// script, the kickstart with the token from the script, the %post
// callback with the token the kickstart carries; then local boot.
func TestInstallFlow(t *testing.T) {
	dir := makeSite(t, 3, 3)
	s := start(t, testConfig(dir))
	ip := workerIP(1)

	code, body, _ := get(t, ip, "GET", s.URL+"/boot.ipxe")
	if code != 200 || !strings.HasPrefix(body, "#!ipxe\n") || !strings.Contains(body, "chain --autofree "+s.URL+"/boot/ipxe?mac=${mac:hexhyp}") {
		t.Fatalf("entry script: %d\n%s", code, body)
	}
	hyphens := strings.ReplaceAll(workerMAC(1), ":", "-")
	code, body, hdr := get(t, ip, "GET", s.URL+"/boot/ipxe?mac="+hyphens)
	m := ksURL.FindStringSubmatch(body)
	if code != 200 || m == nil || !strings.Contains(body, "kernel "+s.URL+"/os/images/pxeboot/vmlinuz initrd=initrd.img") || hdr.Get("X-Kiln-Event") == "" {
		t.Fatalf("install script: %d %v\n%s", code, hdr, body)
	}
	if m[1] != "/kiln/kickstart-wn1.cfg" {
		t.Fatalf("kickstart URL %s", m[1])
	}
	token := m[2]
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Booting || st.Boots != 1 {
		t.Fatalf("after the boot script: %+v", st)
	}

	// Without the token, with another node's, or with a wrong one: 403.
	for _, q := range []string{"", "?token=", "?token=" + strings.Repeat("0", 64), "?token=" + s.snap.Load().token("wn2")} {
		if code, body, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn1.cfg"+q); code != 403 || !strings.Contains(body, "403") {
			t.Fatalf("kickstart%s: %d %s", q, code, body)
		}
	}
	code, ks, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn1.cfg?token="+token)
	want, _ := os.ReadFile(filepath.Join(dir, "build", "kickstart-wn1.cfg"))
	if code != 200 || ks != string(want) {
		t.Fatalf("kickstart: %d\n%s", code, ks)
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Installing {
		t.Fatalf("after the kickstart: %s", st.State)
	}
	// The token the build wrote into %post is the server's.
	cb := regexp.MustCompile(`/kiln/installed/wn1\?token=([0-9a-f]+)`).FindStringSubmatch(ks)
	if cb == nil || cb[1] != token {
		t.Fatalf("the kickstart's callback token differs from the boot script's:\n%s", ks)
	}
	if code, _, _ := get(t, ip, "GET", s.URL+"/api/v1/nodes/wn1/installed?token="+token); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the callback: %d", code)
	}
	if code, _, _ := get(t, ip, "POST", s.URL+"/api/v1/nodes/wn1/installed?token="+s.snap.Load().token("wn2")); code != 403 {
		t.Fatalf("callback with wn2's token: %d", code)
	}
	code, body, _ = get(t, ip, "POST", s.URL+"/kiln/installed/wn1?token="+token)
	if code != 200 || body != "ok: wn1 is installed\n" {
		t.Fatalf("callback: %d %q", code, body)
	}
	code, body, _ = get(t, ip, "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	if code != 200 || body != "#!ipxe\nexit\n" { // the build's local-boot script
		t.Fatalf("boot after install: %d\n%s", code, body)
	}
	// Installed: its kickstart is no longer handed out, even with the token.
	if code, body, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn1.cfg?token="+token); code != 403 || !strings.Contains(body, "only while it installs") {
		t.Fatalf("kickstart after install: %d %s", code, body)
	}
	for _, what := range []string{"puppet-signed", "configured"} {
		if code, body, _ := get(t, ip, "POST", s.URL+"/api/v1/nodes/wn1/"+what+"?token="+token); code != 200 {
			t.Fatalf("%s: %d %s", what, code, body)
		}
	}
	// Puppet on wn2 cannot report configured before wn2 is installed.
	if code, body, _ := get(t, "", "POST", s.URL+"/api/v1/nodes/wn2/configured?token="+s.snap.Load().token("wn2")); code != http.StatusConflict {
		t.Fatalf("configured before installed: %d %s", code, body)
	}
	got := kinds(t, s.Server, "wn1")
	for _, k := range []string{"added:planned", "state:booting", "boot:install", "denied", "state:installing", "fetch", "report", "state:installed", "boot:local", "state:configured"} {
		if !strings.Contains(got, k) {
			t.Errorf("wn1's events lack %s: %s", k, got)
		}
	}

	// Public files need no token; a secret of no single node is never served.
	if code, body, _ := get(t, "", "GET", s.URL+"/kiln/hosts"); code != 200 || !strings.Contains(body, "wn3") {
		t.Fatalf("hosts: %d %s", code, body)
	}
	if code, body, _ := get(t, "", "GET", s.URL+"/kiln/cluster-secret.txt?token="+token); code != 403 || strings.Contains(body, "hunter2") {
		t.Fatalf("cluster secret: %d %s", code, body)
	}
}

// The UEFI chain: GRUB asks for the node's GRUB file by name and gets the
// install form with the node's token inside the quoted kickstart argument,
// the same decision and state changes as iPXE, then the local form.
func TestGRUBInstallFlow(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	ip := workerIP(2)
	tok := s.snap.Load().token("wn2")

	code, body, hdr := get(t, ip, "GET", s.URL+"/kiln/grub/wn2.cfg")
	want := "'inst.ks=http://head:8080/kiln/kickstart-wn2.cfg?token=" + tok + "' ip=dhcp"
	if code != 200 || !strings.Contains(body, want) || hdr.Get("X-Kiln-Event") == "" {
		t.Fatalf("GRUB install file: %d %v\n%s\nwant it to hold %s", code, hdr, body, want)
	}
	if st := nodeState(t, s.Server, "wn2"); st.State != state.Booting || st.Boots != 1 {
		t.Fatalf("after the GRUB file: %+v", st)
	}
	if code, _, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn2.cfg?token="+tok); code != 200 {
		t.Fatalf("kickstart with the GRUB file's token: %d", code)
	}
	if code, _, _ := get(t, ip, "POST", s.URL+"/kiln/installed/wn2?token="+tok); code != 200 {
		t.Fatalf("callback: %d", code)
	}
	local, _ := os.ReadFile(filepath.Join(dir, "build", "grub", "localboot.cfg"))
	if code, body, _ := get(t, ip, "GET", s.URL+"/kiln/grub/wn2.cfg"); code != 200 || body != string(local) {
		t.Fatalf("GRUB file after the install: %d\n%s\nwant the local form:\n%s", code, body, local)
	}
	code, body, _ = get(t, workerIP(1), "GET", s.URL+"/kiln/grub/nosuchnode.cfg")
	if code != 404 {
		t.Fatalf("GRUB file of no node: %d %s", code, body)
	}
}

// GRUB's messages are single-quoted: a reason with a quote, a dollar or a
// newline stays text.
func TestGRUBMessageQuotes(t *testing.T) {
	got := grubMessage(time.Minute, "it's $x\nsecond; line")
	want := "echo 'kiln: it'\\''s $x second; line'\nsleep 60\nexit\n"
	if got != want {
		t.Fatalf("grubMessage:\n%q\nwant\n%q", got, want)
	}
}

// UEFI HTTP boot loads shim, GRUB and grub.cfg from the TFTP root over
// HTTP: files only, nothing outside it.
func TestTFTPRootOverHTTP(t *testing.T) {
	dir := makeSite(t, 1, 1)
	tftp := filepath.Join(dir, "tftp")
	if err := os.WriteFile(filepath.Join(tftp, "shimx64.efi"), []byte("MZ not shim"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(tftp, "sub"), 0o755)
	s := start(t, testConfig(dir))
	if code, body, _ := get(t, "", "GET", s.URL+"/tftp/shimx64.efi"); code != 200 || body != "MZ not shim" {
		t.Fatalf("/tftp/shimx64.efi: %d %q", code, body)
	}
	for _, p := range []string{"/tftp/", "/tftp/sub", "/tftp/../site.yaml", "/tftp/%2e%2e/site.yaml", "/tftp/missing.efi"} {
		if code, body, _ := get(t, "", "GET", s.URL+p); code == 200 || strings.Contains(body, "cluster:") {
			t.Errorf("%s: %d %q, want no file", p, code, body)
		}
	}
}

// No listing, no way out of the build or the install tree.
func TestNoEscapes(t *testing.T) {
	dir := makeSite(t, 2, 2)
	os.Symlink(filepath.Join(dir, "secrets"), filepath.Join(dir, "install", "out"))
	os.Symlink(filepath.Join(dir, "secrets", "root_password"), filepath.Join(dir, "install", "pw"))
	s := start(t, testConfig(dir))
	for _, p := range []string{
		"/kiln/", "/kiln/../site.yaml", "/kiln/..%2fsite.yaml", "/kiln/%2e%2e/site.yaml", "/kiln/MANIFEST",
		"/os/", "/os/images", "/os/images/", "/os/../secrets/root_password", "/os/..%2f..%2fsecrets/root_password",
		"/os/out/root_password", "/os/pw", "/secrets/root_password", "/site.yaml", "/kiln.db",
	} {
		code, body, _ := get(t, "", "GET", s.URL+p)
		if code == 200 || strings.Contains(body, "hunter2") {
			t.Errorf("%s: %d\n%s", p, code, body)
		}
	}
	if code, body, _ := get(t, "", "GET", s.URL+"/os/images/pxeboot/vmlinuz"); code != 200 || body != "not a kernel\n" {
		t.Errorf("mirror file: %d %q", code, body)
	}
	// Oversized headers are refused before any handler runs.
	req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := clientFrom("").Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("64 KiB header: %d", resp.StatusCode)
		}
	}
	// Bodies are capped.
	req, _ = http.NewRequest("POST", s.URL+"/api/v1/nodes/wn1/installed?token=x", strings.NewReader(strings.Repeat("a", 1<<20)))
	if resp, err := clientFrom("").Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("big callback body: %d", resp.StatusCode)
		}
	}
}

// A node whose install never reports back is held, not looped, and an
// unknown machine is told what to do.
func TestFailedLoopAndUnknown(t *testing.T) {
	dir := makeSite(t, 2, 2)
	cfg := testConfig(dir)
	cfg.Policy = state.Policy{MaxBoots: 2, Window: time.Hour}
	s := start(t, cfg)
	for i := 1; i <= 2; i++ {
		_, body, _ := get(t, "", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2))
		if !strings.Contains(body, "install boot "+string(rune('0'+i))+" of 2") {
			t.Fatalf("boot %d:\n%s", i, body)
		}
	}
	_, body, _ := get(t, "", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2))
	if !strings.Contains(body, "held as failed") || !strings.Contains(body, "kiln reinstall wn2") || strings.Contains(body, "kernel ") {
		t.Fatalf("third boot:\n%s", body)
	}
	if st := nodeState(t, s.Server, "wn2"); st.State != state.Failed || st.Reason == "" {
		t.Fatalf("%+v", st)
	}
	if _, err := s.Store().Reinstall(context.Background(), "wn2", "admin@test", "disk replaced"); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get(t, "", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2)); !strings.Contains(body, "install boot 1 of 2") {
		t.Fatalf("after reinstall:\n%s", body)
	}

	for i := 0; i < 3; i++ {
		_, body, _ = get(t, "", "GET", s.URL+"/boot/ipxe?mac=02-00-00-aa-bb-cc")
		if !strings.Contains(body, "not in site.yaml") || strings.Contains(body, "kernel") {
			t.Fatalf("unknown MAC:\n%s", body)
		}
	}
	evs, _ := s.Store().Events(context.Background(), state.Query{})
	unknown := 0
	for _, e := range evs {
		if e.Kind == state.KindUnknown {
			unknown++
		}
	}
	if unknown != 1 {
		t.Fatalf("a looping unknown machine logged %d events, want 1", unknown)
	}
	if _, body, _ := get(t, "", "GET", s.URL+"/boot/ipxe?mac=nonsense"); !strings.Contains(body, "no usable MAC") {
		t.Fatalf("bad MAC:\n%s", body)
	}
}

// --check-address: another address asking for a node's files gets 403.
func TestCheckAddress(t *testing.T) {
	dir := makeSite(t, 2, 2)
	cfg := testConfig(dir)
	cfg.CheckAddress = true
	s := start(t, cfg)
	_, body, _ := get(t, workerIP(1), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	m := ksURL.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no kickstart URL:\n%s", body)
	}
	if code, _, _ := get(t, workerIP(2), "GET", s.URL+m[1]+"?token="+m[2]); code != 403 {
		t.Fatalf("wn1's kickstart from wn2's address: %d", code)
	}
	if code, _, _ := get(t, workerIP(2), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1)); code != 403 {
		t.Fatalf("wn1's boot script from wn2's address: %d", code)
	}
	if code, _, _ := get(t, workerIP(1), "GET", s.URL+m[1]+"?token="+m[2]); code != 200 {
		t.Fatalf("wn1's kickstart from its own address: %d", code)
	}
	if code, _, _ := get(t, "127.0.0.1", "POST", s.URL+"/api/v1/nodes/wn1/installed?token="+m[2]); code != 403 {
		t.Fatalf("wn1's callback from elsewhere: %d", code)
	}
	evs, _ := s.Store().Events(context.Background(), state.Query{Node: "wn1"})
	denied := 0
	for _, e := range evs {
		if e.Kind == state.KindDenied && strings.Contains(e.Detail, "not an address of wn1") || e.Kind == state.KindDenied && strings.Contains(e.Detail, "not its address") {
			denied++
		}
	}
	if denied != 3 {
		t.Fatalf("%d denied events, want 3", denied)
	}
}

// A new build is picked up without restart; a damaged one is not served.
func TestReload(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	old := s.snap.Load()
	tmpl := filepath.Join(dir, "templates", "hosts.tmpl")
	os.WriteFile(tmpl, []byte("# rebuilt\n"), 0o644)
	buildSite(t, dir)
	waitFor(t, func() bool { return s.snap.Load() != old })
	if _, body, _ := get(t, "", "GET", s.URL+"/kiln/hosts"); body != "# rebuilt\n" {
		t.Fatalf("after rebuild: %q", body)
	}
	// A file changed by hand: the build no longer matches its MANIFEST.
	cur := s.snap.Load()
	os.Remove(filepath.Join(dir, "build", "hosts"))
	os.WriteFile(filepath.Join(dir, "build", "hosts"), []byte("tampered\n"), 0o644)
	if changed, err := s.Reload(); changed || err == nil || !strings.Contains(err.Error(), "does not match its MANIFEST") {
		t.Fatalf("damaged build: %v %v", changed, err)
	}
	if s.snap.Load() != cur {
		t.Fatal("a damaged build replaced the good one")
	}
	if _, body, _ := get(t, "", "GET", s.URL+"/kiln/hosts"); body != "# rebuilt\n" {
		t.Fatalf("served %q", body)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An unknown machine claims the next free worker slot: the MAC lands in
// site.yaml (comments kept), the build is redone, and it installs.
func TestDiscover(t *testing.T) {
	dir := makeSite(t, 3, 1)
	cfg := testConfig(dir)
	cfg.Discover = "worker"
	s := start(t, cfg)
	mac := "52:54:00:99:00:02"
	_, body, _ := get(t, "", "GET", s.URL+"/boot/ipxe?mac="+mac)
	if !strings.Contains(body, "installing wn2") {
		t.Fatalf("discovered machine:\n%s", body)
	}
	site, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if !strings.Contains(string(site), `macs: ["`+workerMAC(1)+`", "`+mac+`"]   # in node order`) || !strings.Contains(string(site), "# The test site: keep this comment.") {
		t.Fatalf("site.yaml:\n%s", site)
	}
	if !strings.Contains(kinds(t, s.Server, "wn2"), "discover") {
		t.Fatal("no discover event")
	}
	_, body, _ = get(t, "", "GET", s.URL+"/boot/ipxe?mac=52:54:00:99:00:03")
	if !strings.Contains(body, "installing wn3") {
		t.Fatalf("second discovered machine:\n%s", body)
	}
	_, body, _ = get(t, "", "GET", s.URL+"/boot/ipxe?mac=52:54:00:99:00:04")
	if !strings.Contains(body, "no free slot") {
		t.Fatalf("no slot left:\n%s", body)
	}
	// The same machine again is the node it became.
	_, body, _ = get(t, "", "GET", s.URL+"/boot/ipxe?mac="+mac)
	if !strings.Contains(body, "installing wn2 (install boot 2 of 3)") {
		t.Fatalf("again:\n%s", body)
	}
}

func TestAddMACForms(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"block list", "nodes:\n  worker:\n    count: 3\n    macs:\n      - \"aa:aa:aa:aa:aa:01\"  # first\n    start: {p: 10.0.0.1}\n",
			"nodes:\n  worker:\n    count: 3\n    macs:\n      - \"aa:aa:aa:aa:aa:01\"  # first\n      - \"52:54:00:00:00:99\"\n    start: {p: 10.0.0.1}\n"},
		{"no macs", "nodes:\n  worker:\n    count: 3   # three\n    start: {p: 10.0.0.1}\n",
			"nodes:\n  worker:\n    count: 3   # three\n    macs: [\"52:54:00:00:00:99\"]\n    start: {p: 10.0.0.1}\n"},
		{"named, no mac", "nodes:\n  worker:\n    - name: wn1\n      ip: {p: 10.0.0.1}\n",
			"nodes:\n  worker:\n    - name: wn1\n      mac: {p: \"52:54:00:00:00:99\"}\n      ip: {p: 10.0.0.1}\n"},
		{"named, flow mac", "nodes:\n  worker:\n    - name: wn1\n      mac: {q: \"x\"}  # {\n",
			"nodes:\n  worker:\n    - name: wn1\n      mac: {q: \"x\", p: \"52:54:00:00:00:99\"}  # {\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			idx := 1
			if c.name == "block list" {
				idx = 2
			}
			got, err := addMAC([]byte(c.in), "worker", &model.Node{Name: "wn1", Index: idx}, "p", "52:54:00:00:00:99")
			if err != nil || string(got) != c.want {
				t.Fatalf("err %v\n got:\n%s\nwant:\n%s", err, got, c.want)
			}
		})
	}
}

// The install chain's own scripts: the entry script chains to
// ipxe/NODE.ipxe, served with the token added while the node installs and
// as the build's local-boot script after; %post may report failure.
func TestBuildScriptsAndFailedReport(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	code, body, _ := get(t, "", "GET", s.URL+"/kiln/ipxe/head.ipxe")
	tok := s.snap.Load().token("head")
	if code != 200 || !strings.Contains(body, "inst.ks=http://head:8080/kiln/kickstart-head.cfg?token="+tok+" inst.repo=") {
		t.Fatalf("head's script: %d\n%s", code, body)
	}
	if st := nodeState(t, s.Server, "head"); st.State != state.Booting {
		t.Fatalf("head is %s", st.State)
	}
	code, body, _ = get(t, "", "GET", s.URL+"/kiln/ipxe/wn1.ipxe")
	if code != 200 || !strings.Contains(body, "installing wn1") {
		t.Fatalf("wn1 by name: %d\n%s", code, body)
	}
	req, _ := http.NewRequest("POST", s.URL+"/kiln/installed/head?token="+tok, strings.NewReader("status=failed"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := clientFrom("").Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("failed report: %v %v", resp, err)
	}
	resp.Body.Close()
	if st := nodeState(t, s.Server, "head"); st.State != state.Failed || !strings.Contains(st.Reason, "kiln-post.log") {
		t.Fatalf("after status=failed: %+v", st)
	}
	if _, body, _ := get(t, "", "GET", s.URL+"/kiln/ipxe/head.ipxe"); !strings.Contains(body, "held as failed") {
		t.Fatalf("held:\n%s", body)
	}
	s.Store().Reinstall(context.Background(), "head", "test", "")
	get(t, "", "GET", s.URL+"/kiln/ipxe/head.ipxe")
	req, _ = http.NewRequest("POST", s.URL+"/kiln/installed/head?token="+tok, strings.NewReader("status=installed"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = clientFrom("").Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("installed report: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, body, _ := get(t, "", "GET", s.URL+"/kiln/ipxe/head.ipxe"); body != "#!ipxe\nexit\n" {
		t.Fatalf("the build's local-boot script:\n%q", body)
	}
	req, _ = http.NewRequest("POST", s.URL+"/kiln/installed/head?token="+tok, strings.NewReader("status=maybe"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = clientFrom("").Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("bad status: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestMetricsAndDashboard(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	get(t, "", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	get(t, "", "GET", s.URL+"/kiln/kickstart-wn1.cfg")
	_, body, _ := get(t, "", "GET", s.URL+"/metrics")
	for _, want := range []string{
		`kiln_http_requests_total{kind="boot",code="200"} 1`,
		`kiln_http_requests_total{kind="build",code="403"} 1`,
		`kiln_nodes{state="booting"} 1`,
		`kiln_nodes{state="planned"} 2`,
		`kiln_boot_scripts_total{mode="install"} 1`,
		`kiln_install_duration_seconds_count 0`,
		`kiln_build_files 12`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	code, body, hdr := get(t, "", "GET", s.URL+"/")
	if code != 200 || !strings.Contains(body, "<h1>servetest</h1>") || !strings.Contains(body, `href="/nodes/wn1"`) || hdr.Get("Content-Security-Policy") == "" {
		t.Fatalf("dashboard: %d\n%s", code, body)
	}
	code, body, _ = get(t, "", "GET", s.URL+"/nodes/wn1")
	if code != 200 || !strings.Contains(body, "kickstart-wn1.cfg") || !strings.Contains(body, "boot") || !strings.Contains(body, "denied") {
		t.Fatalf("node page: %d\n%s", code, body)
	}
	if code, _, _ := get(t, "", "GET", s.URL+"/nodes/nosuch"); code != 404 {
		t.Fatalf("unknown node page: %d", code)
	}
	code, body, _ = get(t, "", "GET", s.URL+"/api/v1/events?node=wn1&limit=2")
	if code != 200 || strings.Count(body, `"seq"`) != 2 {
		t.Fatalf("events API: %d\n%s", code, body)
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=100000"} {
		if code, _, _ := get(t, "", "GET", s.URL+"/api/v1/events?"+q); code != 400 {
			t.Errorf("events?%s: %d", q, code)
		}
	}
}

func TestBadConfig(t *testing.T) {
	dir := makeSite(t, 1, 1)
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.DHCP = "dhcpd" }, "--dhcp must be"},
		{func(c *Config) { c.Kickstart = "ks.cfg" }, "must contain {node}"},
		{func(c *Config) { c.BaseURL = "ftp://x" }, "--url"},
		{func(c *Config) { c.KernelArgs = "a $x" }, "--kernel-args"},
		{func(c *Config) { c.Mirror = filepath.Join(dir, "nope") }, "--mirror"},
		{func(c *Config) { c.BuildDir = filepath.Join(dir, "install") }, "not a kiln build"},
		{func(c *Config) { c.Source.Dir = filepath.Join(dir, "install") }, "problem"},
		{func(c *Config) { c.DHCP = DHCPDnsmasq; c.DnsmasqConf = "nope.conf" }, "has no nope.conf"},
	} {
		cfg := testConfig(dir)
		c.mut(&cfg)
		s, err := New(cfg)
		if err == nil {
			s.Close()
			t.Errorf("want an error with %q", c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q lacks %q", err, c.want)
		}
	}
}

// A fetch that changes a node's state (its first kickstart fetch: booting
// to installing) is answered once its event is on disk, with the event's
// number; a fetch that changes nothing (the kickstart again, the node's
// other files) is answered at once without one, and its event is in the
// log after the next batch.
func TestRepeatFetchIsLoggedWithoutWaiting(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	ip := workerIP(1)
	ctx := context.Background()
	_, body, _ := get(t, ip, "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	m := ksURL.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no kickstart URL in\n%s", body)
	}
	ksPath := m[1] + "?token=" + m[2]
	code, first, hdr := get(t, ip, "GET", s.URL+ksPath)
	seq, err := strconv.ParseInt(hdr.Get("X-Kiln-Event"), 10, 64)
	if code != 200 || err != nil {
		t.Fatalf("first kickstart fetch: %d, X-Kiln-Event %q", code, hdr.Get("X-Kiln-Event"))
	}
	// On disk before the answer: a second reader of the file sees it.
	other, err := state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	has, err := other.HasEvents(ctx, []int64{seq})
	other.Close()
	if err != nil || !has[seq] {
		t.Fatalf("event %d of the first kickstart fetch is not in the file: %v", seq, err)
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Installing {
		t.Fatalf("after the kickstart: %s", st.State)
	}

	var fetched []string
	for range 2 {
		code, again, hdr := get(t, ip, "GET", s.URL+ksPath)
		if code != 200 || again != first || hdr.Get("X-Kiln-Event") != "" {
			t.Fatalf("kickstart again: %d, X-Kiln-Event %q", code, hdr.Get("X-Kiln-Event"))
		}
		fetched = append(fetched, strings.TrimPrefix(m[1], "/kiln/"))
	}
	// The node's other files (this test site has none but its iPXE
	// and GRUB files, which are answered as boots).
	for _, p := range s.nodeFiles("wn1") {
		if p == fetched[0] || strings.HasPrefix(p, "ipxe/") || strings.HasPrefix(p, "grub/") {
			continue
		}
		code, _, hdr := get(t, ip, "GET", s.URL+"/kiln/"+p+"?token="+m[2])
		if code != 200 || hdr.Get("X-Kiln-Event") != "" {
			t.Fatalf("%s: %d, X-Kiln-Event %q", p, code, hdr.Get("X-Kiln-Event"))
		}
		fetched = append(fetched, p)
	}
	if err := s.Store().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Store().Events(ctx, state.Query{Node: "wn1", After: seq})
	if err != nil {
		t.Fatal(err)
	}
	// Repeats of one file in one batch are one event that counts them.
	got, want := map[string]int{}, map[string]int{}
	for _, e := range evs {
		if e.Kind != state.KindFetch || e.Remote != ip {
			t.Fatalf("unexpected event after the first fetch: %+v", e)
		}
		p, _, _ := strings.Cut(e.Detail, " (")
		got[p] += state.FetchTimes(e.Detail)
	}
	for _, p := range fetched {
		want[p]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fetches logged after the first:\n got %v\nwant %v", got, want)
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Installing {
		t.Fatalf("after the repeats: %s", st.State)
	}
}

// A package repository mirrored under the install tree (the runbook's dnf
// reposync into --mirror's repos/) is served to the nodes as it is: the
// metadata dnf reads first, and the keys.
func TestMirroredRepositoryIsServed(t *testing.T) {
	dir := makeSite(t, 2, 2)
	repo := filepath.Join(dir, "install", "repos", "kiln-epel")
	if err := os.MkdirAll(filepath.Join(repo, "repodata"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "repodata", "repomd.xml"), []byte("<repomd/>\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "install", "repos", "keys"), 0o755)
	os.WriteFile(filepath.Join(dir, "install", "repos", "keys", "RPM-GPG-KEY-EPEL-9"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n"), 0o644)
	s := start(t, testConfig(dir))
	if code, body, _ := get(t, "", "GET", s.URL+"/os/repos/kiln-epel/repodata/repomd.xml"); code != 200 || body != "<repomd/>\n" {
		t.Errorf("mirrored repomd.xml: %d %q", code, body)
	}
	if code, body, _ := get(t, "", "GET", s.URL+"/os/repos/keys/RPM-GPG-KEY-EPEL-9"); code != 200 || !strings.Contains(body, "PGP PUBLIC KEY") {
		t.Errorf("mirrored key: %d %q", code, body)
	}
}
