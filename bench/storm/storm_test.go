package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/state"
)

// tenNet is a 10/8 address in site.yaml; bench/run's loopback_site makes
// the same edit with sed.
var tenNet = regexp.MustCompile(`\b10\.([0-9]+\.[0-9]+\.[0-9]+)`)

// benchSite is what bench/run makes: kiln init --workers N --example-macs,
// its 10.x.y.z addresses moved to 127.x.y.z when loopback is set, built.
func benchSite(t *testing.T, workers int, loopback bool) (string, *model.Cluster) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: workers, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	if loopback {
		p := filepath.Join(dir, "site.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, tenNet.ReplaceAll(b, []byte("127.$1")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	files, err := site.Render()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := output.Write(filepath.Join(dir, "build"), files); err != nil {
		t.Fatal(err)
	}
	return dir, site.Cluster
}

// startServe runs kiln serve on the site on 127.0.0.1, with its defaults
// (the address check on), until the test ends.
func startServe(t *testing.T, dir string) (*serve.Server, string) {
	t.Helper()
	s, err := serve.New(serve.Config{
		Source:    pipeline.Source{Dir: dir},
		BuildDir:  filepath.Join(dir, "build"),
		StatePath: filepath.Join(dir, "kiln.db"),
		DHCP:      serve.DHCPOff,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kiln serve: %v", err)
		}
		s.Close()
	})
	return s, "http://" + ln.Addr().String()
}

func needLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the storm's nodes send from 127.x.y.z addresses, which only Linux's loopback owns without configuration")
	}
}

// The storm installs every node against kiln serve with its address check
// on: boot script, kickstart once with the fresh token, "installed"; each
// node from its own address, and the state file ends with all installed.
func TestStormInstallsEveryNodeFromItsOwnAddress(t *testing.T) {
	needLinux(t)
	n := 40
	if testing.Short() {
		n = 12
	}
	dir, cluster := benchSite(t, n, true)
	srv, url := startServe(t, dir)
	nodes, err := nodesOf(cluster, "worker", n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for _, nd := range nodes {
		if seen[nd.addr] || nd.addr == netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("%s sends from %s, an address another node or the server uses", nd.name, nd.addr)
		}
		seen[nd.addr] = true
	}
	sum := storm(url, nodes, 30*time.Second)
	if sum.errors != 0 || sum.failedNodes != 0 {
		t.Fatalf("%v\n%s", sum, strings.Join(sum.firstErrs, "\n"))
	}
	if sum.requests != 3*n || sum.nodes != n || sum.p99 <= 0 || sum.max < sum.p99 {
		t.Fatalf("summary %v for %d nodes", sum, n)
	}
	states, err := srv.Store().Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	installed := map[string]bool{}
	for _, s := range states {
		if s.State == state.Installed {
			installed[s.Name] = true
		}
	}
	for _, nd := range nodes {
		if !installed[nd.name] {
			t.Errorf("%s is not installed after the storm", nd.name)
		}
	}
	if len(installed) != n {
		t.Errorf("%d nodes installed, want the storm's %d", len(installed), n)
	}

	// Again on the same state file: the nodes are installed, so their
	// boot scripts boot the disk and carry no token: every node stops
	// after its boot script, and the requests it never made are errors.
	again := storm(url, nodes, 30*time.Second)
	if again.failedNodes != n || again.errors != 2*n || !strings.Contains(again.firstErrs[0], "no kickstart URL with a token") {
		t.Fatalf("a second storm on installed nodes: %v (%q), want every node stopped after its boot script", again, again.firstErrs)
	}
}

// From one address that is no node's, kiln serve refuses every boot
// script: the storm must bind each node's own address to be let in.
func TestStormFromAnotherAddressIsRefused(t *testing.T) {
	needLinux(t)
	dir, cluster := benchSite(t, 3, true)
	_, url := startServe(t, dir)
	nodes, err := nodesOf(cluster, "worker", 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		nodes[i].addr = netip.MustParseAddr("127.0.0.1")
	}
	sum := storm(url, nodes, 30*time.Second)
	if sum.failedNodes != 3 || sum.errors != 9 {
		t.Fatalf("%v, want all 3 nodes refused", sum)
	}
	if !strings.Contains(sum.firstErrs[0], "403") || !strings.Contains(sum.firstErrs[0], "not an address of") {
		t.Fatalf("refusal %q, want kiln serve's 403 for the address", sum.firstErrs[0])
	}
}

// A site whose nodes are not on loopback cannot be stormed from this
// machine: a clear error, naming the node and the fix.
func TestStormNeedsLoopbackAddresses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 2, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	site, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nodesOf(site.Cluster, "worker", 2)
	if err == nil || !strings.Contains(err.Error(), "wn1's address 10.") || !strings.Contains(err.Error(), "127.0.0.0/8") {
		t.Fatalf("nodesOf on a 10/8 site: %v, want wn1's address refused with the fix", err)
	}
	if _, err := nodesOf(site.Cluster, "worker", 3); err == nil || !strings.Contains(err.Error(), "fewer than -n 3") {
		t.Fatalf("nodesOf for more nodes than the site has: %v", err)
	}
}

// The floor answers the same three steps with the build's bytes.
func TestStormFloorAnswersTheSameSteps(t *testing.T) {
	needLinux(t)
	dir, cluster := benchSite(t, 4, true)
	h, err := floorHandler(dir, filepath.Join(dir, "build"))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	nodes, err := nodesOf(cluster, "worker", 4)
	if err != nil {
		t.Fatal(err)
	}
	if sum := storm(ts.URL, nodes, 30*time.Second); sum.errors != 0 || sum.requests != 12 {
		t.Fatalf("%v\n%s", sum, strings.Join(sum.firstErrs, "\n"))
	}
}
