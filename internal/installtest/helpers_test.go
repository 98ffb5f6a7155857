package installtest

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/starter"
)

var update = flag.Bool("update", false, "rewrite the golden kickstarts under testdata/golden")

// built is one build, by path.
type built struct {
	site  *pipeline.Site
	files map[string]render.File
	dir   string // the site folder, "" for the embedded example
	chain *layout
}

// layout is where a design puts its install chain, and which parts it has:
// the checks read every build through it, so the same checkers run over
// each design's files.
type layout struct {
	hosts     string   // the hosts file every other file agrees with
	dnsmasq   []string // dnsmasq configurations; the first serves DHCP and DNS
	dhcpd     string   // ISC dhcpd.conf, "" when the design has none
	namedConf string   // BIND zone statements; the zones are dns/db.ZONE beside it
	// usbKickstarts: each physical node's kickstart is also on the USB key.
	usbKickstarts bool
	// pxe: PXELINUX and GRUB menus (default, per MAC, local boot) besides iPXE.
	pxe bool
	// ipxeMenu: the iPXE entry script offers a menu of every node.
	ipxeMenu bool
	// nicsByMAC: NICs take the design's names by MAC (ifname= on the boot
	// lines, .link files in the kickstart), the boot NIC's network line first.
	nicsByMAC bool
}

// tier3 is the embedded design's install chain.
var tier3 = layout{hosts: "hosts", dnsmasq: []string{"dhcp/dnsmasq.conf", "dhcp/dnsmasq-proxydhcp.conf"},
	dhcpd: "dhcp/dhcpd.conf", namedConf: "dns/named.conf.kiln", usbKickstarts: true, pxe: true, ipxeMenu: true, nicsByMAC: true}

// slurmChain is the Slurm fixture's simpler chain: kickstarts, iPXE only,
// dnsmasq and BIND; no dhcpd, PXELINUX, GRUB or USB key.
var slurmChain = layout{hosts: "etc/hosts", dnsmasq: []string{"dhcp/dnsmasq.conf"}, namedConf: "dns/named.conf.kiln"}

// slurmDir is the Slurm-style fixture: its own design, roles, catalog and
// templates, and no Go code of its own.
const slurmDir = "../pipeline/testdata/slurm"

func slurm(t testing.TB) *built {
	b := buildSource(t, pipeline.Source{Dir: slurmDir})
	b.chain = &slurmChain
	return b
}

// buildSource builds a site of the tier3 design (or, with b.chain set
// afterwards, of another design).
func buildSource(t testing.TB, src pipeline.Source) *built {
	t.Helper()
	s, err := pipeline.Resolve(src)
	if err != nil {
		t.Fatalf("the site does not resolve:\n%v", err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatalf("the site does not render:\n%v", err)
	}
	b := &built{site: s, files: map[string]render.File{}, dir: src.Dir, chain: &tier3}
	for _, f := range files {
		b.files[f.Path] = f
	}
	return b
}

func example(t testing.TB) *built { return buildSource(t, pipeline.Source{Example: "tier3"}) }

// starterSite writes kiln init's starter site with workers (and invented
// MACs) for the OS dialect os, and returns its folder.
func starterSite(t testing.TB, os_ string, workers int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: workers, ExampleMACs: true, Cluster: "t" + os_}); err != nil {
		t.Fatal(err)
	}
	// kiln init makes random secrets; fixed ones keep golden files stable.
	secrets, err := filepath.Glob(filepath.Join(dir, "secrets", "*"))
	if err != nil || len(secrets) == 0 {
		t.Fatalf("the starter site has no secrets/ files (%v)", err)
	}
	for _, sp := range secrets {
		if err := os.WriteFile(sp, []byte("fixed-test-secret-"+filepath.Base(sp)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "site.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^os: el9\b`)
	if !re.Match(data) {
		t.Fatal("the starter site.yaml has no 'os: el9' line to change")
	}
	data = re.ReplaceAll(data, []byte("os: "+os_))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// paths lists the build's paths matching a regexp, sorted.
func (b *built) paths(pattern string) []string {
	re := regexp.MustCompile(pattern)
	var out []string
	for p := range b.files {
		if re.MatchString(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (b *built) text(t testing.TB, p string) string {
	t.Helper()
	f, ok := b.files[p]
	if !ok {
		t.Fatalf("the build has no %s", p)
	}
	return string(f.Data)
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostsMap reads the build's hosts file: name → address, for every name on
// every line (localhost lines skipped).
func hostsMap(t testing.TB, b *built) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(b.text(t, b.chain.hosts)))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "127.0.0.1" || f[0] == "::1" {
			continue
		}
		for _, name := range f[1:] {
			if prev, dup := m[name]; dup && prev != f[0] {
				t.Fatalf("hosts gives %s two addresses: %s and %s", name, prev, f[0])
			}
			m[name] = f[0]
		}
	}
	return m
}
