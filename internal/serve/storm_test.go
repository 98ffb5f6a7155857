package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/state"
)

// ack is one answered request of a simulated node.
type ack struct {
	node, step string
	seq        int64
}

// installAs plays one node's install from its own address: boot script,
// kickstart (with the token from the script), "installed" callback. Each
// of these changes the node's state (booting, installing, installed), so
// each answer must carry its event's number (X-Kiln-Event), sent once the
// event is on disk; every answer is passed to onAck. It stops at the first
// failure and returns it.
func installAs(base string, i int, ip string, onAck func(ack)) error {
	c := clientFrom(ip)
	node := fmt.Sprintf("wn%d", i)
	do := func(method, url, step string) (string, error) {
		var form io.Reader
		if method == "POST" {
			form = strings.NewReader("status=installed")
		}
		req, _ := http.NewRequest(method, url, form)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return "", err
		}
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, body)
		}
		seq, err := strconv.ParseInt(resp.Header.Get("X-Kiln-Event"), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s %s: no event number in the answer", method, url)
		}
		onAck(ack{node, step, seq})
		return string(body), nil
	}
	script, err := do("GET", base+"/boot/ipxe?mac="+workerMAC(i), "boot")
	if err != nil {
		return err
	}
	m := ksURL.FindStringSubmatch(script)
	if m == nil || m[1] != "/kiln/kickstart-"+node+".cfg" {
		return fmt.Errorf("%s: no kickstart URL in\n%s", node, script)
	}
	if _, err := do("GET", base+m[1]+"?token="+m[2], "kickstart"); err != nil {
		return err
	}
	_, err = do("POST", base+"/kiln/installed/"+node+"?token="+m[2], "installed")
	return err
}

// 2,000 nodes (200 with -short) boot at once, each from its own loopback
// address: every request answered, every node installed, every event
// there, and --check-address on throughout.
func TestBootStorm(t *testing.T) {
	n := 2000
	switch {
	case testing.Short():
		n = 200
	case raceEnabled:
		n = 500
	}
	dir := makeSite(t, n, n)
	ips := addresses(t, dir)
	cfg := testConfig(dir)
	// The address check is on by default.
	s := start(t, cfg)
	var mu sync.Mutex
	var acks []ack
	var wg sync.WaitGroup
	errs := make(chan error, n)
	startGate := make(chan struct{})
	t0 := time.Now()
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			if err := installAs(s.URL, i, ips[i], func(a ack) { mu.Lock(); acks = append(acks, a); mu.Unlock() }); err != nil {
				errs <- err
			}
		}()
	}
	close(startGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d nodes installed in %v (%d answered requests)", n, time.Since(t0).Round(time.Millisecond), len(acks))
	if len(acks) != 3*n {
		t.Fatalf("%d answers, want %d", len(acks), 3*n)
	}
	ctx := context.Background()
	evs, err := s.Store().Events(ctx, state.Query{})
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[int64]state.Event{}
	for _, e := range evs {
		bySeq[e.Seq] = e
	}
	want := map[string]string{"boot": state.KindBoot, "kickstart": state.KindFetch, "installed": state.KindState}
	for _, a := range acks {
		e, ok := bySeq[a.seq]
		if !ok || e.Node != a.node || e.Kind != want[a.step] {
			t.Fatalf("%s's %s was answered with event %d, but the log has %+v", a.node, a.step, a.seq, e)
		}
	}
	nodes, _ := s.Store().Nodes(ctx)
	installed := 0
	for _, nd := range nodes {
		if nd.State == state.Installed {
			installed++
		}
	}
	if installed != n {
		t.Fatalf("%d of %d nodes installed", installed, n)
	}
}

// kill -9 in the middle of a storm loses no event whose answer was sent.
// The server runs in a child process (this test binary, re-run as the
// helper below); the state file is checked after the kill.
func TestKill9LosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child server and kills it (-short skips)")
	}
	const n = 600
	dir := makeSite(t, n, n)
	ips := addresses(t, dir)
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.v")
	cmd.Env = append(os.Environ(), "KILN_SERVE_HELPER="+dir)
	out, _ := os.Create(filepath.Join(dir, "helper.log"))
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if b, err := os.ReadFile(addrFile); err == nil && strings.HasSuffix(string(b), "\n") {
			base = "http://" + strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "helper.log"))
			t.Fatalf("the child server did not start:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var mu sync.Mutex
	var acks []ack
	var count atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	kill := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		})
	}
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			installAs(base, i, ips[i], func(a ack) {
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
				if count.Add(1) == int64(n) { // about a third of the way
					kill()
				}
			})
		}()
	}
	wg.Wait()
	kill()
	<-killed
	cmd.Wait()
	if int(count.Load()) >= 3*n {
		t.Fatalf("the storm finished before the kill (%d answers); nothing was tested", count.Load())
	}

	st, err := state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
	seqs := make([]int64, len(acks))
	for i, a := range acks {
		seqs[i] = a.seq
	}
	has, err := st.HasEvents(ctx, seqs)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, a := range acks {
		if !has[a.seq] {
			lost++
			t.Errorf("%s's %s was answered (event %d) but is not in the state file", a.node, a.step, a.seq)
		}
		if a.step == "installed" {
			if nd, ok, _ := st.Node(ctx, a.node); !ok || nd.State != state.Installed {
				t.Errorf("%s's installed report was answered, but it is %v", a.node, nd)
			}
		}
	}
	t.Logf("killed after %d answers; %d events in the file; %d lost", len(acks), len(seqs), lost)
}

// TestHelperServer is the child of TestKill9LosesNoEvent: a server that
// runs until it is killed.
func TestHelperServer(t *testing.T) {
	dir := os.Getenv("KILN_SERVE_HELPER")
	if dir == "" {
		t.Skip("the child process of TestKill9LosesNoEvent")
	}
	cfg := testConfig(dir)
	// The address check is on by default.
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "addr"), []byte(ln.Addr().String()+"\n"), 0o644)
	s.Run(context.Background(), ln, nil)
}

// addresses maps worker i to its address in the site in dir.
func addresses(t *testing.T, dir string) map[int]string {
	t.Helper()
	site, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, n := range site.Cluster.NodesOf("worker") {
		out[n.Index] = n.IP("prov")
	}
	return out
}
