// Package designtest builds the genomics fixture (internal/pipeline/
// testdata/genomics), a third design unlike tier3 and the Slurm one -
// networks mgmt, storage and bmc; a BMC NIC on every machine that must not
// boot it; a PostgreSQL VM; a module given to one node of a role; a zone
// per network; secrets in three formats - and checks what it builds with
// the programs that read it, then serves it with kiln serve told nothing
// but the site and the build.
package designtest

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kiln.dev/kiln/internal/kickstart"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/secretfmt"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/testutil"
)

const fixture = "../pipeline/testdata/genomics"

type build struct {
	dir   string // the build folder
	files map[string]render.File
	site  *pipeline.Site
}

func genomics(t *testing.T) *build {
	t.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: fixture})
	if err != nil {
		t.Fatalf("the genomics fixture does not resolve:\n%v", err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatalf("the genomics fixture does not render:\n%v", err)
	}
	b := &build{dir: filepath.Join(t.TempDir(), "build"), files: map[string]render.File{}, site: s}
	if _, err := output.Write(b.dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b.files[f.Path] = f
	}
	return b
}

func (b *build) text(t *testing.T, p string) string {
	t.Helper()
	f, ok := b.files[p]
	if !ok {
		t.Fatalf("the build has no %s", p)
	}
	return string(f.Data)
}

func (b *build) glob(t *testing.T, pattern string) []string {
	t.Helper()
	var out []string
	for p := range b.files {
		if ok, _ := filepath.Match(pattern, p); ok {
			out = append(out, filepath.Join(b.dir, p))
		}
	}
	if len(out) == 0 {
		t.Fatalf("the build has no %s", pattern)
	}
	return out
}

func readSecret(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixture, "secrets", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(data), "\n")
}

// TestTheGenomicsBuildPassesItsReaders: dnsmasq --test, named-checkzone on
// the zone of each network (a network-scope artifact), nft -c on every
// node's ruleset in a network namespace, virt-xml-validate on the VM,
// and the kickstart grammar of el9 on every kickstart.
func TestTheGenomicsBuildPassesItsReaders(t *testing.T) {
	b := genomics(t)
	dnsmasq := testutil.NeedProgram(t, "dnsmasq")
	if out, err := exec.Command(dnsmasq, "--test", "--conf-file="+filepath.Join(b.dir, "net/dnsmasq.conf")).CombinedOutput(); err != nil {
		t.Errorf("dnsmasq --test: %v\n%s", err, out)
	}
	checkzone := testutil.NeedProgram(t, "named-checkzone")
	zones := b.glob(t, "dns/db.*")
	if len(zones) != 3 {
		t.Errorf("%d zones, want one per network (3): %v", len(zones), zones)
	}
	for _, z := range zones {
		zone := strings.TrimPrefix(filepath.Base(z), "db.")
		if out, err := exec.Command(checkzone, zone, z).CombinedOutput(); err != nil {
			t.Errorf("named-checkzone %s: %v\n%s", zone, err, out)
		}
	}
	nft, unshare := testutil.NeedProgram(t, "nft"), testutil.NeedProgram(t, "unshare")
	for _, f := range b.glob(t, "fw/*.nft") {
		flags := []string{"--net"}
		if os.Geteuid() != 0 {
			flags = append(flags, "--map-root-user")
		}
		if out, err := exec.Command(unshare, append(flags, nft, "-c", "-f", f)...).CombinedOutput(); err != nil {
			t.Errorf("nft -c -f %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	validate := testutil.NeedProgram(t, "virt-xml-validate")
	for _, f := range b.glob(t, "vms/*.xml") {
		if out, err := exec.Command(validate, f, "domain").CombinedOutput(); err != nil {
			t.Errorf("virt-xml-validate %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	for _, n := range b.site.Cluster.Nodes {
		if _, probs := kickstart.Lint("el9", b.text(t, "install/"+n.Name+".ks")); len(probs) > 0 {
			t.Errorf("install/%s.ks: %v", n.Name, probs)
		}
	}
}

// TestTheGenomicsDesignShapesItsFiles: ports by network on that network's
// NIC, the module only store1 runs and the backup that follows it, the
// BMC MACs nowhere a machine boots by, secrets in each consumer's format
// (raw only in store1's own file), the design's name in the runbook.
func TestTheGenomicsDesignShapesItsFiles(t *testing.T) {
	b := genomics(t)
	fw := b.text(t, "fw/store1.nft")
	for _, want := range []string{`iifname "mgmt0" tcp dport { 22 } accept`, `iifname "stor0" tcp dport { 8003, 8008 } accept`} {
		if !strings.Contains(fw, want) {
			t.Errorf("store1's firewall lacks %q:\n%s", want, fw)
		}
	}
	if strings.Contains(b.text(t, "fw/store2.nft"), "8008") || strings.Contains(fw, "ipmi0") {
		t.Errorf("store2 opens the management daemon's port, or a port is open on the BMC NIC")
	}
	if _, ok := b.files["backup/store1.list"]; !ok {
		t.Errorf("store1 runs beegfs_mgmtd, which has state, but has no backup list")
	}
	if _, ok := b.files["backup/store2.list"]; ok {
		t.Errorf("store2 runs no module with state, but has a backup list")
	}
	for _, p := range []string{"net/dnsmasq.conf", "boot/entry.ipxe"} {
		if strings.Contains(b.text(t, p), "02:42:") {
			t.Errorf("%s names a BMC's MAC", p)
		}
	}
	connauth := readSecret(t, "beegfs_connauth")
	for p, f := range b.files {
		if strings.Contains(string(f.Data), connauth) && p != "puppet-enc/store1.mgmt.seqlab.internal.yaml" {
			t.Errorf("the raw BeeGFS secret is in %s", p)
		}
	}
	enc := b.files["puppet-enc/store1.mgmt.seqlab.internal.yaml"]
	if !strings.Contains(string(enc.Data), `connauth: "`+connauth+`"`) || enc.Mode != 0o600 {
		t.Errorf("store1's ENC (mode %o) does not give beegfs_mgmtd its secret raw:\n%s", enc.Mode, enc.Data)
	}
	pg := b.text(t, "puppet-enc/pg1.mgmt.seqlab.internal.yaml")
	if want := secretfmt.ScramSHA256(readSecret(t, "db_password"), "db_password"); !strings.Contains(pg, `app_password: "`+want+`"`) {
		t.Errorf("pg1's ENC lacks the SCRAM verifier %s (what internal/secretfmt logs into PostgreSQL with):\n%s", want, pg)
	}
	// The root hash is glibc's: mkpasswd with its salt makes the same.
	m := regexp.MustCompile(`root_hash: "(\$6\$([^$]+)\$[^"]+)"`).FindStringSubmatch(pg)
	if m == nil {
		t.Fatalf("pg1's ENC has no sha512crypt root_hash:\n%s", pg)
	}
	out, err := exec.Command(testutil.NeedProgram(t, "mkpasswd"), "-m", "sha-512", "-S", m[2], readSecret(t, "root_password")).Output()
	if err != nil || strings.TrimSpace(string(out)) != m[1] {
		t.Errorf("mkpasswd says %q (%v), the ENC %q", out, err, m[1])
	}
	if rb := b.text(t, "runbook.md"); !strings.Contains(rb, "7 machines of the genomics design") {
		t.Errorf("the runbook does not say what it is:\n%s", rb)
	}
}

func clientFrom(from string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

func fetch(t *testing.T, from, method, url, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := clientFrom(from).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestKilnServeServesTheGenomicsDesignWithNoFlags: kiln serve finds the
// boot scripts, kickstarts and local-boot script where the design's
// serve: block says; a node boots, fetches its kickstart with its token,
// reports, then boots its disk; a BMC's MAC is no node's.
func TestKilnServeServesTheGenomicsDesignWithNoFlags(t *testing.T) {
	b := genomics(t)
	var logs strings.Builder
	s, err := serve.New(serve.Config{
		Source: pipeline.Source{Dir: fixture}, BuildDir: b.dir, StatePath: filepath.Join(t.TempDir(), "kiln.db"),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if logs.Len() > 0 {
		t.Errorf("kiln serve warns about the build:\n%s", logs.String())
	}
	srv := &http.Server{Handler: s.Handler()}
	ln, err := net.Listen("tcp", "127.40.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	ip := "127.40.0.100" // cpu01

	code, script := fetch(t, ip, "GET", url+"/kiln/boot/cpu01.ipxe", "")
	m := regexp.MustCompile(`inst\.ks=\S*(/kiln/install/cpu01\.ks)\?token=([0-9a-f]+)`).FindStringSubmatch(script)
	if code != 200 || m == nil {
		t.Fatalf("cpu01's boot script: %d\n%s", code, script)
	}
	if c, _ := fetch(t, ip, "GET", url+m[1], ""); c != 403 {
		t.Errorf("the kickstart without a token: %d, want 403", c)
	}
	code, ks := fetch(t, ip, "GET", url+m[1]+"?token="+m[2], "")
	if code != 200 || ks != b.text(t, "install/cpu01.ks") {
		t.Fatalf("the kickstart with its token: %d\n%s", code, ks)
	}
	if c, body := fetch(t, ip, "POST", url+"/kiln/installed/cpu01?token="+m[2], "status=installed"); c != 200 {
		t.Fatalf("the installed report: %d %s", c, body)
	}
	if code, body := fetch(t, ip, "GET", url+"/kiln/boot/cpu01.ipxe", ""); code != 200 || body != b.text(t, "boot/disk.ipxe") {
		t.Errorf("cpu01 installed is not handed the design's local-boot script: %d\n%s", code, body)
	}
	// store1's BMC MAC (in site.yaml) asks for a boot script, even from
	// store1's own address: it is no node's, so it gets no install.
	code, body := fetch(t, "127.40.0.20", "GET", url+"/boot/ipxe?mac=02-42-00-00-00-20", "")
	if strings.Contains(body, "install/store1.ks") || strings.Contains(body, "token=") {
		t.Errorf("a BMC's MAC boots its node: %d\n%s", code, body)
	}
	code, body = fetch(t, "127.40.0.101", "GET", url+"/boot/ipxe?mac=02-40-00-00-01-01", "")
	if code != 200 || !strings.Contains(body, "/kiln/install/cpu02.ks?token=") {
		t.Errorf("cpu02's boot MAC does not boot it: %d\n%s", code, body)
	}
}

// TestKilnServeWarnsWhenTheBuildLacksANamedFile: a build without the
// design's local-boot script is served with a warning that names it.
func TestKilnServeWarnsWhenTheBuildLacksANamedFile(t *testing.T) {
	b := genomics(t)
	var files []render.File
	for _, f := range b.files {
		if f.Path != "boot/disk.ipxe" {
			files = append(files, f)
		}
	}
	dir := filepath.Join(t.TempDir(), "build")
	if _, err := output.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	s, err := serve.New(serve.Config{Source: pipeline.Source{Dir: fixture}, BuildDir: dir, StatePath: filepath.Join(t.TempDir(), "kiln.db"),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "the build lacks boot/disk.ipxe, which the design's serve: local_boot names") {
		t.Errorf("no warning for the missing local-boot script:\n%s", logs.String())
	}
}
