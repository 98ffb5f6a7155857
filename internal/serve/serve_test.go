package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
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

// bootToken boots node i (a worker) from its own address and returns its
// install token, from the kickstart URL of its boot script.
func bootToken(t *testing.T, s *running, i int) string {
	t.Helper()
	_, body, _ := get(t, workerIP(i), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(i))
	m := ksURL.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("wn%d: no kickstart URL in\n%s", i, body)
	}
	return m[2]
}

// One node's whole install, as a node does it: entry script, its own
// script, the kickstart with the token from the script (once), its Puppet
// challenge (once), the %post callback with the same token; then local
// boot, and the token is void.
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
	other := bootToken(t, s, 2)

	// Without the token, with another node's, or with a wrong one: 403.
	for _, q := range []string{"", "?token=", "?token=" + strings.Repeat("0", 64), "?token=" + other} {
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
	// Secrets leave once: the same token does not fetch it again.
	if code, body, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn1.cfg?token="+token); code != 403 || !strings.Contains(body, "once") {
		t.Fatalf("kickstart again: %d %s", code, body)
	}
	// The kickstart holds no token: %post reads it from the command line.
	if strings.Contains(ks, token) || !strings.Contains(ks, "/proc/cmdline") {
		t.Fatalf("the kickstart carries a token, or does not read it from /proc/cmdline:\n%s", ks)
	}
	// The Puppet challenge: once, with the token.
	code, ch, _ := post(t, ip, s.URL+"/kiln/challenge/wn1?token="+token, "")
	ch = strings.TrimSpace(ch)
	if code != 200 || len(ch) != 64 {
		t.Fatalf("challenge: %d %q", code, ch)
	}
	if code, _, _ := post(t, ip, s.URL+"/kiln/challenge/wn1?token="+token, ""); code != 403 {
		t.Fatalf("a second challenge: %d", code)
	}
	if code, _, _ := get(t, ip, "GET", s.URL+"/api/v1/nodes/wn1/installed?token="+token); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the callback: %d", code)
	}
	if code, _, _ := post(t, ip, s.URL+"/kiln/installed/wn1?token="+other, "status=installed"); code != 403 {
		t.Fatalf("callback with wn2's token: %d", code)
	}
	code, body, _ = post(t, ip, s.URL+"/kiln/installed/wn1?token="+token, "status=installed")
	if code != 200 || body != "ok: wn1 is installed\n" {
		t.Fatalf("callback: %d %q", code, body)
	}
	// Void after use: no second report (a stolen token cannot undo a
	// reinstall or hold the node failed).
	for _, st := range []string{"installed", "failed"} {
		if code, _, _ := post(t, ip, s.URL+"/kiln/installed/wn1?token="+token, "status="+st); code != 403 {
			t.Fatalf("%s with a used token: %d", st, code)
		}
	}
	code, body, _ = get(t, ip, "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	if code != 200 || body != "#!ipxe\nexit\n" { // the build's local-boot script
		t.Fatalf("boot after install: %d\n%s", code, body)
	}
	// Installed: its kickstart is no longer handed out, even with the token.
	if code, body, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn1.cfg?token="+token); code != 403 || !strings.Contains(body, "no install token") {
		t.Fatalf("kickstart after install: %d %s", code, body)
	}
	// Autosign: the challenge once; then the later reports carry it.
	if code, body, _ := post(t, "127.0.0.1", s.URL+"/api/v1/autosign", "certname=wn1.example.org&challenge="+ch); code != 200 || !strings.Contains(body, "ok: sign wn1.example.org") {
		t.Fatalf("autosign: %d %s", code, body)
	}
	if code, _, _ := post(t, "127.0.0.1", s.URL+"/api/v1/autosign", "certname=wn1.example.org&challenge="+ch); code != 403 {
		t.Fatalf("autosign with a used challenge: %d", code)
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.PuppetSigned {
		t.Fatalf("after autosign: %s", st.State)
	}
	if code, _, _ := post(t, ip, s.URL+"/api/v1/nodes/wn1/configured?token="+token, ""); code != 403 {
		t.Fatalf("configured with the install token: %d", code)
	}
	if code, body, _ := post(t, ip, s.URL+"/api/v1/nodes/wn1/configured?challenge="+ch, ""); code != 200 {
		t.Fatalf("configured: %d %s", code, body)
	}
	// Puppet on wn2 cannot report configured before wn2 is installed.
	if code, body, _ := post(t, workerIP(2), s.URL+"/api/v1/nodes/wn2/configured?challenge="+ch, ""); code != 403 {
		t.Fatalf("configured before installed: %d %s", code, body)
	}
	got := kinds(t, s.Server, "wn1")
	for _, k := range []string{"added:planned", "state:booting", "boot:install", "denied", "state:installing", "fetch", "report", "state:installed", "boot:local", "state:puppet-signed", "state:configured"} {
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
	// The token is nowhere in the state file, only its hash.
	s.Store().Flush(context.Background())
	for _, f := range []string{"kiln.db", "kiln.db-wal"} {
		if data, _ := os.ReadFile(filepath.Join(dir, f)); strings.Contains(string(data), token) {
			t.Fatalf("%s holds the token itself", f)
		}
	}
}

// A token expires: --token-ttl.
func TestTokenExpires(t *testing.T) {
	dir := makeSite(t, 1, 1)
	s := start(t, testConfig(dir))
	now := time.Now()
	s.Store().SetClock(func() time.Time { return now })
	tok := bootToken(t, s, 1)
	now = now.Add(state.DefaultTokenTTL + time.Second)
	if code, body, _ := get(t, workerIP(1), "GET", s.URL+"/kiln/kickstart-wn1.cfg?token="+tok); code != 403 || !strings.Contains(body, "expired") {
		t.Fatalf("kickstart with an expired token: %d %s", code, body)
	}
	if code, _, _ := post(t, workerIP(1), s.URL+"/kiln/installed/wn1?token="+tok, "status=installed"); code != 403 {
		t.Fatalf("report with an expired token: %d", code)
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Booting {
		t.Fatalf("wn1 is %s", st.State)
	}
}

// A report is taken only whole: a malformed or oversized one is refused,
// never taken as "installed".
func TestMalformedAndOversizedReports(t *testing.T) {
	dir := makeSite(t, 1, 1)
	s := start(t, testConfig(dir))
	tok := bootToken(t, s, 1)
	u := s.URL + "/kiln/installed/wn1?token=" + tok
	for _, c := range []struct {
		body string
		code int
	}{
		{"", 400},
		{"status=", 400},
		{"status=maybe", 400},
		{"status=%zz", 400},
		{"status=failed&x=" + strings.Repeat("a", 70<<10), 413},
		{"status=installed&x=" + strings.Repeat("a", 70<<10), 413},
	} {
		code, body, _ := post(t, workerIP(1), u, c.body)
		if code != c.code {
			t.Errorf("body %.40q: %d %s, want %d", c.body, code, body, c.code)
		}
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Booting {
		t.Fatalf("after bad reports wn1 is %s", st.State)
	}
	// The token still works for the real report.
	if code, _, _ := post(t, workerIP(1), u, "status=installed"); code != 200 {
		t.Fatalf("the real report: %d", code)
	}
}

// The UEFI chain: GRUB asks for the node's GRUB file by name and gets the
// install form with the node's token inside the quoted kickstart argument,
// the same decision and state changes as iPXE, then the local form.
func TestGRUBInstallFlow(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	ip := workerIP(2)

	code, body, hdr := get(t, ip, "GET", s.URL+"/kiln/grub/wn2.cfg")
	m := regexp.MustCompile(`'inst\.ks=http://head:8080/kiln/kickstart-wn2\.cfg\?token=([0-9a-f]{64})' ip=dhcp`).FindStringSubmatch(body)
	if code != 200 || m == nil || hdr.Get("X-Kiln-Event") == "" {
		t.Fatalf("GRUB install file: %d %v\n%s\nwant it to hold the kickstart URL with a fresh token, quoted", code, hdr, body)
	}
	tok := m[1]
	if st := nodeState(t, s.Server, "wn2"); st.State != state.Booting || st.Boots != 1 {
		t.Fatalf("after the GRUB file: %+v", st)
	}
	if code, _, _ := get(t, ip, "GET", s.URL+"/kiln/kickstart-wn2.cfg?token="+tok); code != 200 {
		t.Fatalf("kickstart with the GRUB file's token: %d", code)
	}
	if code, _, _ := post(t, ip, s.URL+"/kiln/installed/wn2?token="+tok, "status=installed"); code != 200 {
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
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := clientFrom(workerIP(1)).Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
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
		_, body, _ := get(t, workerIP(2), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2))
		if !strings.Contains(body, "install boot "+string(rune('0'+i))+" of 2") {
			t.Fatalf("boot %d:\n%s", i, body)
		}
	}
	_, body, _ := get(t, workerIP(2), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2))
	if !strings.Contains(body, "held as failed") || !strings.Contains(body, "kiln reinstall wn2") || strings.Contains(body, "kernel ") {
		t.Fatalf("third boot:\n%s", body)
	}
	if st := nodeState(t, s.Server, "wn2"); st.State != state.Failed || st.Reason == "" {
		t.Fatalf("%+v", st)
	}
	if _, err := s.Store().Reinstall(context.Background(), "wn2", "admin@test", "disk replaced"); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get(t, workerIP(2), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2)); !strings.Contains(body, "install boot 1 of 2") {
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

// Strangers by address: with the defaults, another machine on the network
// gets no node's boot script (so no token), no secret, and changes no
// state, even with the node's token in hand; nor does a GET from anyone
// but the node.
func TestStrangersGetNothing(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	stranger := "127.20.9.9"
	before := nodeState(t, s.Server, "wn1")
	for _, u := range []string{"/boot/ipxe?mac=" + workerMAC(1), "/kiln/ipxe/wn1.ipxe", "/boot/ipxe?mac=" + workerMAC(2)} {
		code, body, _ := get(t, stranger, "GET", s.URL+u)
		if code != 403 || ksURL.MatchString(body) || strings.Contains(body, "token=") {
			t.Fatalf("%s from a stranger: %d\n%s", u, code, body)
		}
		// wn2 asking for wn1's script is a stranger too.
		if code, _, _ := get(t, workerIP(2), "GET", s.URL+"/kiln/ipxe/wn1.ipxe"); code != 403 {
			t.Fatalf("wn1's script from wn2: %d", code)
		}
	}
	if after := nodeState(t, s.Server, "wn1"); after.State != before.State || after.Boots != 0 {
		t.Fatalf("strangers' GETs changed wn1: %+v", after)
	}
	// The node itself; then the stranger holds the token and still gets nothing.
	tok := bootToken(t, s, 1)
	for _, c := range []struct{ method, u string }{
		{"GET", "/kiln/kickstart-wn1.cfg?token=" + tok},
		{"POST", "/kiln/challenge/wn1?token=" + tok},
		{"POST", "/kiln/installed/wn1?token=" + tok},
		{"POST", "/api/v1/nodes/wn1/installed?token=" + tok},
	} {
		var code int
		var body string
		if c.method == "GET" {
			code, body, _ = get(t, stranger, "GET", s.URL+c.u)
		} else {
			code, body, _ = post(t, stranger, s.URL+c.u, "status=installed")
		}
		if code != 403 || strings.Contains(body, "hunter2") {
			t.Fatalf("%s %s from a stranger: %d %s", c.method, c.u, code, body)
		}
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Booting || st.Boots != 1 {
		t.Fatalf("a stranger with the token changed wn1: %+v", st)
	}
	// Public files: anyone, and a stranger's fetch changes nothing.
	if code, _, _ := get(t, stranger, "GET", s.URL+"/kiln/nodes/wn1.txt"); code != 200 {
		t.Fatalf("a public file: %d", code)
	}
	// The node itself still gets its kickstart with its token.
	if code, _, _ := get(t, workerIP(1), "GET", s.URL+"/kiln/kickstart-wn1.cfg?token="+tok); code != 200 {
		t.Fatalf("wn1's kickstart from wn1: %d", code)
	}
	// Refusals from one address are logged, but not one event each.
	for range 20 {
		get(t, stranger, "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2))
	}
	s.Store().Flush(context.Background())
	evs, _ := s.Store().Events(context.Background(), state.Query{})
	denied := 0
	for _, e := range evs {
		if e.Kind == state.KindDenied && e.Remote == stranger {
			denied++
		}
	}
	if denied != 1 {
		t.Fatalf("%d denied events from one stranger, want 1 (rate-limited)", denied)
	}
}

// asset: in site.yaml binds a node to its machine: the boot script (and so
// the token) goes only to a request that reports that asset tag or serial
// number, as iPXE's ${asset} and ${serial}; the build has no trace of it.
func TestAssetBindsTheNodeToItsMachine(t *testing.T) {
	dir := makeSite(t, 2, 2)
	p := filepath.Join(dir, "site.yaml")
	site, _ := os.ReadFile(p)
	site = []byte(strings.Replace(string(site), "    start: {prov: ", "    nodes:\n      wn1: {asset: \"SN-0042\"}\n    start: {prov: ", 1))
	os.WriteFile(p, site, 0o644)
	buildSite(t, dir)
	s := start(t, testConfig(dir))
	for _, q := range []string{"", "&asset=&serial=", "&asset=SN-0041&serial=x", "&asset=sn-0042"} {
		code, body, _ := get(t, workerIP(1), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1)+q)
		if code != 403 || ksURL.MatchString(body) || strings.Contains(body, "SN-0042") {
			t.Fatalf("wn1 reporting %q: %d\n%s", q, code, body)
		}
	}
	if st := nodeState(t, s.Server, "wn1"); st.Boots != 0 {
		t.Fatalf("refused boots were counted: %+v", st)
	}
	for _, q := range []string{"&asset=SN-0042&serial=", "&asset=&serial=SN-0042"} {
		if _, body, _ := get(t, workerIP(1), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1)+q); !ksURL.MatchString(body) {
			t.Fatalf("wn1 reporting %q:\n%s", q, body)
		}
	}
	// By name too (the build's chain script passes both).
	if _, body, _ := get(t, workerIP(1), "GET", s.URL+"/kiln/ipxe/wn1.ipxe?asset=SN-0042&serial="); !strings.Contains(body, "installing wn1") {
		t.Fatalf("wn1 by name:\n%s", body)
	}
	// wn2 has no asset: unchanged.
	if _, body, _ := get(t, workerIP(2), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(2)); !ksURL.MatchString(body) {
		t.Fatalf("wn2:\n%s", body)
	}
	// Not in the build.
	filepath.WalkDir(filepath.Join(dir, "build"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); strings.Contains(string(data), "SN-0042") {
				t.Errorf("%s holds the asset tag", p)
			}
		}
		return nil
	})
	// A tag with a space or a newline is refused by the site check.
	bad := []byte(strings.Replace(string(site), `"SN-0042"`, `"SN 42"`, 1))
	os.WriteFile(p, bad, 0o644)
	if _, err := pipeline.Resolve(pipeline.Source{Dir: dir}); err == nil || !strings.Contains(describe(err).Error(), "not an asset tag") {
		t.Fatalf("a tag with a space: %v", err)
	}
}

// --check-address=false answers any address (the explicit choice).
func TestAnyAddressIsExplicit(t *testing.T) {
	dir := makeSite(t, 1, 1)
	cfg := testConfig(dir)
	cfg.AnyAddress = true
	s := start(t, cfg)
	_, body, _ := get(t, "127.20.9.9", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	if !ksURL.MatchString(body) {
		t.Fatalf("with AnyAddress:\n%s", body)
	}
}

// An address the site does not give a node, but kiln serve's dnsmasq
// leased to its MAC, is the node's.
func TestLeasedAddressIsTheNodes(t *testing.T) {
	dir := makeSite(t, 1, 1)
	cfg := testConfig(dir)
	cfg.LeaseFile = filepath.Join(dir, "leases")
	os.WriteFile(cfg.LeaseFile, []byte("1700000000 "+workerMAC(1)+" 127.20.7.7 wn1 01:"+workerMAC(1)+"\n"), 0o644)
	s := start(t, cfg)
	if _, body, _ := get(t, "127.20.7.7", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1)); !ksURL.MatchString(body) {
		t.Fatalf("from the leased address:\n%s", body)
	}
	if code, _, _ := get(t, "127.20.7.8", "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1)); code != 403 {
		t.Fatalf("from another: %d", code)
	}
}

// On the head's own address, the head's names are the server's names too.
func TestHostMayNameTheNodeTheServerRunsOn(t *testing.T) {
	dir := makeSite(t, 1, 1)
	srv, err := New(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.20.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	for host, want := range map[string]int{"head": 200, "head.example.org:8080": 200, "wn1.example.org": 421, "127.20.0.1": 200, "10.1.2.3": 421} {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/healthz", nil)
		req.Host = host
		resp, err := clientFrom("").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host: %s on the head's address: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// Host names another server (DNS rebinding), or a browser on another
// origin posts: refused before any handler.
func TestHostAndOriginChecked(t *testing.T) {
	dir := makeSite(t, 1, 1)
	s := start(t, testConfig(dir))
	send := func(method, host string, hdr map[string]string) int {
		req, _ := http.NewRequest(method, s.URL+"/api/v1/nodes", nil)
		if method == "POST" {
			req, _ = http.NewRequest(method, s.URL+"/kiln/installed/wn1?token=x", strings.NewReader("status=failed"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := clientFrom(workerIP(1)).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := send("GET", "", nil); c != 200 {
		t.Fatalf("own address: %d", c)
	}
	if c := send("GET", "localhost", nil); c != 200 {
		t.Fatalf("localhost: %d", c)
	}
	if c := send("GET", "evil.example.com", nil); c != http.StatusMisdirectedRequest {
		t.Fatalf("a foreign Host: %d", c)
	}
	if c := send("POST", "", map[string]string{"Origin": "http://evil.example.com"}); c != 403 {
		t.Fatalf("a cross-origin POST: %d", c)
	}
	if c := send("POST", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}); c != 403 {
		t.Fatalf("a cross-site POST: %d", c)
	}
	if c := send("GET", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}); c != 200 {
		t.Fatalf("a link to the dashboard from elsewhere: %d", c)
	}
	if st := nodeState(t, s.Server, "wn1"); st.State != state.Planned {
		t.Fatalf("wn1 is %s", st.State)
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

// A file of the build replaced by a symbolic link to a copy outside it
// (its hash still matches the MANIFEST) is not followed: the build is not
// served.
func TestBuildSymlinkNotFollowed(t *testing.T) {
	dir := makeSite(t, 1, 1)
	s := start(t, testConfig(dir))
	hosts := filepath.Join(dir, "build", "hosts")
	data, _ := os.ReadFile(hosts)
	outside := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(outside, data, 0o644)
	os.Remove(hosts)
	if err := os.Symlink(outside, hosts); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Reload(); changed || err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a symlink in the build: %v %v", changed, err)
	}
	if _, err := New(testConfig(dir)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a new server on a build with a symlink: %v", err)
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

// Without --auto, an unknown machine waits on the pending list: nothing is
// written into site.yaml until an admin accepts it.
func TestDiscoverPending(t *testing.T) {
	dir := makeSite(t, 3, 1)
	cfg := testConfig(dir)
	cfg.Discover = "worker"
	s := start(t, cfg)
	site, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	for i := 0; i < 5; i++ {
		_, body, _ := get(t, "127.20.9.9", "GET", s.URL+fmt.Sprintf("/boot/ipxe?mac=52:54:00:99:00:%02x", i))
		if !strings.Contains(body, "pending list") || strings.Contains(body, "kernel") {
			t.Fatalf("unknown machine:\n%s", body)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if string(after) != string(site) {
		t.Fatal("site.yaml changed without --auto")
	}
	list, err := s.Store().PendingList(context.Background())
	if err != nil || len(list) != 5 || list[0].Role != "worker" {
		t.Fatalf("pending: %+v %v", list, err)
	}
	if err := s.Store().SettlePending(context.Background(), "52:54:00:99:00:01", false, "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get(t, "127.20.9.9", "GET", s.URL+"/boot/ipxe?mac=52:54:00:99:00:01"); !strings.Contains(body, "rejected") {
		t.Fatalf("rejected machine:\n%s", body)
	}
}

// An unknown machine claims the next free worker slot: the MAC lands in
// site.yaml (comments kept), the build is redone, and it installs.
func TestDiscover(t *testing.T) {
	dir := makeSite(t, 3, 1)
	cfg := testConfig(dir)
	cfg.Discover = "worker"
	cfg.AutoDiscover = true
	cfg.AnyAddress = true // the discovered machines send from one address here
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
			"nodes:\n  worker:\n    count: 3   # three\n    macs: {wn1: \"52:54:00:00:00:99\"}\n    start: {p: 10.0.0.1}\n"},
		{"by name", "nodes:\n  worker:\n    count: 3\n    macs:\n      wn3: \"aa:aa:aa:aa:aa:03\"  # third\n    start: {p: 10.0.0.1}\n",
			"nodes:\n  worker:\n    count: 3\n    macs:\n      wn3: \"aa:aa:aa:aa:aa:03\"  # third\n      wn1: \"52:54:00:00:00:99\"\n    start: {p: 10.0.0.1}\n"},
		{"by name, flow", "nodes:\n  worker:\n    count: 3\n    macs: {wn3: \"aa:aa:aa:aa:aa:03\"}\n",
			"nodes:\n  worker:\n    count: 3\n    macs: {wn3: \"aa:aa:aa:aa:aa:03\", wn1: \"52:54:00:00:00:99\"}\n"},
		{"per interface", "nodes:\n  worker:\n    count: 3\n    macs: {q: [\"x\"], p: {wn2: \"y\"}}\n",
			"nodes:\n  worker:\n    count: 3\n    macs: {q: [\"x\"], p: {wn2: \"y\", wn1: \"52:54:00:00:00:99\"}}\n"},
		{"second block", "nodes:\n  worker:\n    - {name: gpu, ip: {p: 10.0.0.9}}\n    - {count: 1, start: {p: 10.0.0.1}}\n    - count: 2\n      start: {p: 10.0.1.1}\n",
			"nodes:\n  worker:\n    - {name: gpu, ip: {p: 10.0.0.9}}\n    - {count: 1, start: {p: 10.0.0.1}}\n    - count: 2\n      macs: {wn1: \"52:54:00:00:00:99\"}\n      start: {p: 10.0.1.1}\n"},
		{"named, no mac", "nodes:\n  worker:\n    - name: wn1\n      ip: {p: 10.0.0.1}\n",
			"nodes:\n  worker:\n    - name: wn1\n      mac: {p: \"52:54:00:00:00:99\"}\n      ip: {p: 10.0.0.1}\n"},
		{"named, flow mac", "nodes:\n  worker:\n    - name: wn1\n      mac: {q: \"x\"}  # {\n",
			"nodes:\n  worker:\n    - name: wn1\n      mac: {q: \"x\", p: \"52:54:00:00:00:99\"}  # {\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			idx := 1
			switch c.name {
			case "block list", "second block":
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
	head := "127.20.0.1"
	tokRE := regexp.MustCompile(`inst\.ks=http://head:8080/kiln/kickstart-head\.cfg\?token=([0-9a-f]{64}) inst\.repo=`)
	code, body, _ := get(t, head, "GET", s.URL+"/kiln/ipxe/head.ipxe")
	m := tokRE.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("head's script: %d\n%s", code, body)
	}
	tok := m[1]
	if st := nodeState(t, s.Server, "head"); st.State != state.Booting {
		t.Fatalf("head is %s", st.State)
	}
	code, body, _ = get(t, workerIP(1), "GET", s.URL+"/kiln/ipxe/wn1.ipxe")
	if code != 200 || !strings.Contains(body, "installing wn1") {
		t.Fatalf("wn1 by name: %d\n%s", code, body)
	}
	if code, _, _ := post(t, head, s.URL+"/kiln/installed/head?token="+tok, "status=failed"); code != 200 {
		t.Fatalf("failed report: %d", code)
	}
	if st := nodeState(t, s.Server, "head"); st.State != state.Failed || !strings.Contains(st.Reason, "kiln-post.log") {
		t.Fatalf("after status=failed: %+v", st)
	}
	if _, body, _ := get(t, head, "GET", s.URL+"/kiln/ipxe/head.ipxe"); !strings.Contains(body, "held as failed") {
		t.Fatalf("held:\n%s", body)
	}
	s.Store().Reinstall(context.Background(), "head", "test", "")
	// The old token is void; the new boot's works.
	_, body, _ = get(t, head, "GET", s.URL+"/kiln/ipxe/head.ipxe")
	m2 := tokRE.FindStringSubmatch(body)
	if m2 == nil || m2[1] == tok {
		t.Fatalf("after reinstall: a new token is wanted\n%s", body)
	}
	if code, _, _ := post(t, head, s.URL+"/kiln/installed/head?token="+tok, "status=installed"); code != 403 {
		t.Fatalf("the old token after reinstall: %d", code)
	}
	if code, _, _ := post(t, head, s.URL+"/kiln/installed/head?token="+m2[1], "status=installed"); code != 200 {
		t.Fatalf("installed report: %d", code)
	}
	if _, body, _ := get(t, head, "GET", s.URL+"/kiln/ipxe/head.ipxe"); body != "#!ipxe\nexit\n" {
		t.Fatalf("the build's local-boot script:\n%q", body)
	}
}

func TestMetricsAndDashboard(t *testing.T) {
	dir := makeSite(t, 2, 2)
	s := start(t, testConfig(dir))
	get(t, workerIP(1), "GET", s.URL+"/boot/ipxe?mac="+workerMAC(1))
	get(t, workerIP(1), "GET", s.URL+"/kiln/kickstart-wn1.cfg")
	_, body, _ := get(t, "", "GET", s.URL+"/metrics")
	for _, want := range []string{
		`kiln_http_requests_total{kind="boot",code="200"} 1`,
		`kiln_http_requests_total{kind="build",code="403"} 1`,
		`kiln_nodes{state="booting"} 1`,
		`kiln_nodes{state="planned"} 2`,
		`kiln_boot_scripts_total{mode="install"} 1`,
		`kiln_install_duration_seconds_count 0`,
		`kiln_build_files 15`,
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

	_ = first
	var fetched []string
	for range 2 {
		code, _, hdr := get(t, ip, "GET", s.URL+"/kiln/nodes/wn1.txt")
		if code != 200 || hdr.Get("X-Kiln-Event") != "" {
			t.Fatalf("a public file again: %d, X-Kiln-Event %q", code, hdr.Get("X-Kiln-Event"))
		}
		fetched = append(fetched, "nodes/wn1.txt")
	}
	// The node's other public files (its iPXE and GRUB files are answered
	// as boots).
	for _, p := range s.nodeFiles("wn1") {
		if strings.HasPrefix(p, "kickstart-") || strings.HasPrefix(p, "ipxe/") || strings.HasPrefix(p, "grub/") {
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
