package serve

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/testutil"
)

// kiln serve --dhcp=dnsmasq runs the real dnsmasq with the build's config,
// restarts it when it dies and when a new build changes the config, and
// stops it on shutdown.
func TestDnsmasqSupervised(t *testing.T) {
	bin := testutil.NeedProgram(t, "dnsmasq")
	if os.Geteuid() != 0 {
		t.Skip("dnsmasq's TFTP server needs root for port 69")
	}
	dir := makeSite(t, 2, 2)
	// dnsmasq drops root for its TFTP server: let it reach the TFTP root.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	cfg := testConfig(dir)
	cfg.DHCP, cfg.Dnsmasq = DHCPDnsmasq, bin
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil)) // with dnsmasq's own lines
	s := start(t, cfg)
	d := s.dnsmasq
	waitFor(t, func() bool { return d.pid() != 0 })
	first := d.pid()
	if !alive(first) {
		t.Fatal("dnsmasq is not running")
	}
	// It dies: it is started again.
	syscall.Kill(first, syscall.SIGKILL)
	waitFor(t, func() bool { p := d.pid(); return p != 0 && p != first && alive(p) })
	second := d.pid()
	// A new build with another config: restarted with it.
	tmpl := filepath.Join(dir, "templates", "dnsmasq.conf.tmpl")
	data, _ := os.ReadFile(tmpl)
	os.WriteFile(tmpl, append(data, []byte("log-dhcp\n")...), 0o644)
	buildSite(t, dir)
	waitFor(t, func() bool { p := d.pid(); return p != 0 && p != second && alive(p) })
	used, _ := os.ReadFile(cfg.StatePath + ".dnsmasq.conf")
	if !strings.Contains(string(used), "log-dhcp") {
		t.Fatalf("dnsmasq runs with an old config:\n%s", used)
	}
	// A config dnsmasq refuses is not used; the running one stays.
	third := d.pid()
	os.WriteFile(tmpl, []byte("no-such-option=1\n"), 0o644)
	buildSite(t, dir)
	waitFor(t, func() bool { return s.metrics.reloadErrors.Load() > 0 })
	if d.pid() != third || !alive(third) {
		t.Fatal("a refused config stopped dnsmasq")
	}
	if got := s.metrics.dnsmasqStart.Load(); got != 3 {
		t.Fatalf("dnsmasq started %d times, want 3", got)
	}
	s.stop()
	if alive(third) {
		t.Fatal("dnsmasq still runs after shutdown")
	}
}

func alive(pid int) bool {
	if pid == 0 {
		return false
	}
	// A zombie is not running: look at its state.
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// The install chain's dnsmasq config for the example site passes
// dnsmasq --test, the check kiln serve makes before each (re)start.
func TestExampleDnsmasqConfig(t *testing.T) {
	bin := testutil.NeedProgram(t, "dnsmasq")
	site, err := pipeline.Resolve(pipeline.Source{Example: "tier3"})
	if err != nil {
		t.Skipf("the example does not resolve right now: %v", err)
	}
	files, err := site.Render()
	if err != nil {
		t.Skipf("the example does not render right now: %v", err)
	}
	var conf []byte
	for _, f := range files {
		if f.Path == "dhcp/dnsmasq.conf" {
			conf = f.Data
		}
	}
	if conf == nil {
		t.Skip("the example build has no dhcp/dnsmasq.conf (install chain not there)")
	}
	d := newSupervisor(bin, filepath.Join(t.TempDir(), "dnsmasq.conf"), slog.New(slog.NewTextHandler(io.Discard, nil)), newMetrics())
	if err := d.setConfig(conf); err != nil {
		t.Fatal(err)
	}
	if err := d.setConfig([]byte("dhcp-range=nonsense\n")); err == nil || !strings.Contains(err.Error(), "dnsmasq --test") {
		t.Fatalf("a bad config: %v", err)
	}
}
