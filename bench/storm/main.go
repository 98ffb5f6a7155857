// Command storm is bench/run's boot storm: N simulated nodes of a site
// install at once against a running kiln serve, each from its own address
// with the address check on (kiln serve's default). Each one, started
// together behind a barrier, asks for its iPXE boot script by MAC
// (GET /boot/ipxe?mac=MAC), takes its kickstart URL and its fresh install
// token from the script, fetches the kickstart once with that token, and
// reports "installed" with it (POST /kiln/installed/NODE?token=T,
// status=installed) — what iPXE, the installer and the kickstart's %post
// do on a real node. Every request's latency is measured from sending it
// to reading the last byte of the answer.
//
// Each node sends from the address the site gives it (its boot
// interface's): the storm binds its connection there. So the site's
// addresses must be on this machine: on Linux, loopback owns all of
// 127.0.0.0/8, and bench/run moves the bench site's private network
// there (10.x.y.z becomes 127.x.y.z). A node whose address is not in
// 127.0.0.0/8 is a usage error.
//
// It prints one machine-readable line on stdout, which bench/run parses:
//
//	errors=0 requests=6000 nodes=2000 failed_nodes=0 p50_ms=… p99_ms=… max_ms=… wall_ms=…
//
// and the first few errors, if any, on stderr. The exit status is 0 even
// when requests failed (the line says how many); 2 for a usage problem.
//
// Each simulated node has its own HTTP client and so its own connection,
// kept alive between its requests, as one machine would. Raise the
// open-files limit (ulimit -n) above twice N before running it.
//
// With -floor ADDR it is instead the floor to compare kiln serve with: a
// bare net/http server on ADDR that answers the same three requests with
// the same bytes (the build's iPXE script of the node, with a token, its
// kickstart, an empty 200 to the report), from memory, with no state, no
// check and no log. The same storm against it, in the same run, shows what
// the machine and the load generator cost on their own.
//
// Usage:
//
//	go run ./bench/storm -url http://127.0.0.1:8080 -C SITE [-n 2000] [-role worker]
//	go run ./bench/storm -floor 127.0.0.1:8081 -C SITE [-build DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
)

// ksURL finds the kickstart URL with its token in an install boot script.
// The build's scripts name the head's provisioning address; the path and
// the token are what we take from it.
var ksURL = regexp.MustCompile(`inst\.ks=https?://[^/\s]+(/kiln/[^\s?]+)\?token=([0-9a-f]{64})`)

// stepsPerNode is how many requests a node's install makes.
const stepsPerNode = 3

// node is one simulated node: its name, the MAC it boots from and the
// address it sends from.
type node struct {
	name, mac string
	addr      netip.Addr
}

// result is one simulated node's run.
type result struct {
	lat []time.Duration // one per request answered 200 and read whole
	err error           // the first failure (the node stops there)
}

// summary is a storm's outcome.
type summary struct {
	nodes, failedNodes int
	requests, errors   int // errors: requests failed or never made
	p50, p99, max      time.Duration
	wall               time.Duration
	firstErrs          []string // the first few failures, "node: error"
}

func (s summary) String() string {
	return fmt.Sprintf("errors=%d requests=%d nodes=%d failed_nodes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f wall_ms=%.0f",
		s.errors, s.requests, s.nodes, s.failedNodes, ms(s.p50), ms(s.p99), ms(s.max), ms(s.wall))
}

func main() {
	base := flag.String("url", "", "kiln serve's base URL, e.g. http://127.0.0.1:8080")
	dir := flag.String("C", ".", "the site folder (the one kiln serve serves)")
	n := flag.Int("n", 2000, "how many nodes boot at once")
	role := flag.String("role", "worker", "the role whose first N nodes boot")
	timeout := flag.Duration("timeout", 60*time.Second, "each request's time limit")
	floor := flag.String("floor", "", "serve the floor on this address instead of running a storm")
	build := flag.String("build", "", "with -floor: the build folder (default SITE/build)")
	flag.Parse()
	if *floor != "" {
		if *build == "" {
			*build = *dir + "/build"
		}
		if err := serveFloor(*floor, *dir, *build); err != nil {
			fmt.Fprintf(os.Stderr, "storm -floor: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if *base == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: storm -url http://HOST:PORT -C SITE [-n N] [-role ROLE]")
		os.Exit(2)
	}
	site, err := pipeline.Resolve(pipeline.Source{Dir: *dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "storm: %s: %v\n", *dir, err)
		os.Exit(2)
	}
	nodes, err := nodesOf(site.Cluster, *role, *n)
	if err != nil {
		fmt.Fprintf(os.Stderr, "storm: %s: %v\n", *dir, err)
		os.Exit(2)
	}
	sum := storm(strings.TrimRight(*base, "/"), nodes, *timeout)
	for _, e := range sum.firstErrs {
		fmt.Fprintf(os.Stderr, "storm: %s\n", e)
	}
	fmt.Println(sum)
}

// nodesOf is the first n nodes of role, each with its MAC and the address
// it sends from (its boot interface's, which kiln serve's address check
// knows from the site), which must be a loopback address.
func nodesOf(c *model.Cluster, role string, n int) ([]node, error) {
	all := c.NodesOf(role)
	if len(all) < n {
		return nil, fmt.Errorf("the site has %d %s nodes, fewer than -n %d", len(all), role, n)
	}
	out := make([]node, n)
	for i, nd := range all[:n] {
		mac, ip := macOf(nd), addrOf(nd)
		if mac == "" {
			return nil, fmt.Errorf("%s has no MAC in the site (kiln init --example-macs gives every node one)", nd.Name)
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, fmt.Errorf("%s has no address in the site to send from", nd.Name)
		}
		if !a.Is4() || !a.IsLoopback() {
			return nil, fmt.Errorf("%s's address %s is not in 127.0.0.0/8: each simulated node sends from its own address, so the site's network must be on loopback (bench/run moves the bench site's 10.x.y.z addresses to 127.x.y.z)", nd.Name, a)
		}
		out[i] = node{name: nd.Name, mac: mac, addr: a}
	}
	return out, nil
}

// storm runs nodes' installs at once against base and sums them up.
func storm(base string, nodes []node, timeout time.Duration) summary {
	results := make([]result, len(nodes))
	clients := make([]*http.Client, len(nodes))
	for i, nd := range nodes {
		d := &net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: nd.addr.AsSlice()}}
		clients[i] = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				DialContext:         d.DialContext,
				MaxIdleConnsPerHost: 1,
				DisableCompression:  true,
				Proxy:               nil, // loopback: never through a proxy from the environment
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	gate := make(chan struct{})
	var ready, done sync.WaitGroup
	for i, nd := range nodes {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			results[i] = install(clients[i], base, nd)
		}()
	}
	ready.Wait() // every goroutine is waiting at the gate
	t0 := time.Now()
	close(gate)
	done.Wait()
	wall := time.Since(t0)
	for _, c := range clients {
		c.CloseIdleConnections()
	}

	sum := summary{nodes: len(nodes), requests: stepsPerNode * len(nodes), wall: wall}
	var lat []time.Duration
	for i, r := range results {
		lat = append(lat, r.lat...)
		if r.err != nil {
			sum.failedNodes++
			if len(sum.firstErrs) < 10 {
				sum.firstErrs = append(sum.firstErrs, nodes[i].name+" (from "+nodes[i].addr.String()+"): "+r.err.Error())
			}
		}
	}
	// A node that failed half way never made the requests after: count
	// them as failed too.
	sum.errors = sum.requests - len(lat)
	slices.Sort(lat)
	sum.p50, sum.p99, sum.max = pct(lat, 50), pct(lat, 99), pct(lat, 100)
	return sum
}

// install plays one node: its boot script by MAC, then its kickstart once
// with the token from the script, then its "installed" report with the
// same token.
func install(c *http.Client, base string, nd node) result {
	var r result
	script, d, err := get(c, "GET", base+"/boot/ipxe?mac="+strings.ReplaceAll(nd.mac, ":", "-"), "")
	if err != nil {
		r.err = fmt.Errorf("boot script: %w", err)
		return r
	}
	r.lat = append(r.lat, d)
	m := ksURL.FindStringSubmatch(script)
	if m == nil {
		r.err = fmt.Errorf("boot script has no kickstart URL with a token (is %s installed already? use a fresh state file):\n%s", nd.name, script)
		return r
	}
	if want := "/kiln/kickstart-" + nd.name + ".cfg"; m[1] != want {
		r.err = fmt.Errorf("boot script names %s, not %s", m[1], want)
		return r
	}
	ks, d, err := get(c, "GET", base+m[1]+"?token="+m[2], "")
	if err != nil {
		r.err = fmt.Errorf("kickstart: %w", err)
		return r
	}
	if len(ks) == 0 {
		r.err = fmt.Errorf("kickstart: empty")
		return r
	}
	r.lat = append(r.lat, d)
	if _, d, err = get(c, "POST", base+"/kiln/installed/"+nd.name+"?token="+m[2], "status=installed"); err != nil {
		r.err = fmt.Errorf("installed report: %w", err)
		return r
	}
	r.lat = append(r.lat, d)
	return r
}

// get sends a request (a form when form is not "") and reads the whole
// answer; anything but 200 is an error.
func get(c *http.Client, method, url, form string) (string, time.Duration, error) {
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		return "", 0, err
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	t := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(answer)))
	}
	return string(answer), d, nil
}

// macOf is the MAC a node boots from: its boot interface's, else the
// first one it has.
func macOf(n *model.Node) string {
	if b := n.BootIface(); b != nil && b.MAC != "" {
		return b.MAC
	}
	for _, i := range n.Interfaces {
		if i.MAC != "" {
			return i.MAC
		}
	}
	return ""
}

// addrOf is the address a node sends from: its boot interface's, else
// the first one it has.
func addrOf(n *model.Node) string {
	if b := n.BootIface(); b != nil && b.IP != "" {
		return b.IP
	}
	for _, i := range n.Interfaces {
		if i.IP != "" {
			return i.IP
		}
	}
	return ""
}

// pct is the p-th percentile of sorted (nearest rank); 0 when empty.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	k = max(0, min(k, len(sorted)-1))
	return sorted[k]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// serveFloor answers GET /boot/ipxe?mac=MAC with the node's build iPXE
// script (its inst.ks= URL given a token, as kiln serve does) and
// GET /kiln/kickstart-NODE.cfg with the build's kickstart, from memory,
// and POST /kiln/installed/NODE with an empty 200.
func serveFloor(addr, dir, build string) error {
	h, err := floorHandler(dir, build)
	if err != nil {
		return err
	}
	return http.ListenAndServe(addr, h)
}

// floorHandler is the floor's handler.
func floorHandler(dir, build string) (http.Handler, error) {
	site, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		return nil, err
	}
	token := strings.Repeat("0", 64)
	ksArg := regexp.MustCompile(`(inst\.ks=https?://[^/\s]+)/\S*`)
	scripts := map[string][]byte{} // by MAC, as the storm writes it
	files := map[string][]byte{}   // by path under /kiln/
	for _, nd := range site.Cluster.Nodes {
		mac := macOf(nd)
		if mac == "" {
			continue
		}
		script, err := os.ReadFile(build + "/ipxe/" + nd.Name + ".ipxe")
		if err != nil {
			continue // a node with no install script: the storm never asks
		}
		ks := "/kiln/kickstart-" + nd.Name + ".cfg"
		scripts[strings.ReplaceAll(mac, ":", "-")] = ksArg.ReplaceAll(script, []byte("${1}"+ks+"?token="+token))
		if files[ks], err = os.ReadFile(build + "/kickstart-" + nd.Name + ".cfg"); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boot/ipxe", func(w http.ResponseWriter, r *http.Request) {
		b, ok := scripts[r.URL.Query().Get("mac")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /kiln/", func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("POST /kiln/installed/{node}", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	return mux, nil
}
