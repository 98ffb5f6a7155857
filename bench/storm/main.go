// Command storm is bench/run's boot storm: N simulated nodes of a site
// boot at once against a running kiln serve. Each one, started together
// behind a barrier, asks for its iPXE boot script by MAC
// (GET /boot/ipxe?mac=MAC), takes its kickstart URL and token from the
// script, and fetches the kickstart with that token — what iPXE and the
// installer do on a real node. Every request's latency is measured from
// sending it to reading the last byte of the answer.
//
// It prints one machine-readable line on stdout, which bench/run parses:
//
//	errors=0 requests=4000 nodes=2000 p50_ms=… p99_ms=… max_ms=… wall_ms=…
//
// and the first few errors, if any, on stderr. The exit status is 0 even
// when requests failed (the line says how many); 2 for a usage problem.
//
// Each simulated node has its own HTTP client and so its own connection,
// kept alive between its two requests, as one machine would. Raise the
// open-files limit (ulimit -n) above twice N before running it.
//
// With -floor ADDR it is instead the floor to compare kiln serve with: a
// bare net/http server on ADDR that answers the same two requests with
// the same bytes (the build's iPXE script of the node, with a token, and
// its kickstart), from memory, with no state, no check and no log. The
// same storm against it, in the same run, shows what the machine and the
// load generator cost on their own.
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

// result is one simulated node's run.
type result struct {
	lat []time.Duration // one per request answered 200 and read whole
	err error           // the first failure (the node stops there)
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
	*base = strings.TrimRight(*base, "/")

	site, err := pipeline.Resolve(pipeline.Source{Dir: *dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "storm: %s: %v\n", *dir, err)
		os.Exit(2)
	}
	nodes := site.Cluster.NodesOf(*role)
	if len(nodes) < *n {
		fmt.Fprintf(os.Stderr, "storm: the site has %d %s nodes, fewer than -n %d\n", len(nodes), *role, *n)
		os.Exit(2)
	}
	nodes = nodes[:*n]
	macs := make([]string, len(nodes))
	for i, nd := range nodes {
		if macs[i] = macOf(nd); macs[i] == "" {
			fmt.Fprintf(os.Stderr, "storm: %s has no MAC in the site (kiln init --example-macs gives every node one)\n", nd.Name)
			os.Exit(2)
		}
	}

	results := make([]result, len(nodes))
	clients := make([]*http.Client, len(nodes))
	for i := range clients {
		clients[i] = &http.Client{
			Timeout: *timeout,
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: *timeout}).DialContext,
				MaxIdleConnsPerHost: 1,
				DisableCompression:  true,
				Proxy:               nil, // loopback: never through a proxy from the environment
			},
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
			results[i] = boot(clients[i], *base, nd.Name, macs[i])
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

	var lat []time.Duration
	errs := 0
	shown := 0
	for i, r := range results {
		lat = append(lat, r.lat...)
		if r.err != nil {
			errs++
			if shown < 10 {
				fmt.Fprintf(os.Stderr, "storm: %s: %v\n", nodes[i].Name, r.err)
				shown++
			}
		}
	}
	// A node that failed at its boot script never asked for its kickstart:
	// count the requests it did not make as failed too.
	failed := 2*len(nodes) - len(lat)
	slices.Sort(lat)
	fmt.Printf("errors=%d requests=%d nodes=%d failed_nodes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f wall_ms=%.0f\n",
		failed, 2*len(nodes), len(nodes), errs, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)), ms(wall))
}

// boot plays one node: its boot script by MAC, then its kickstart with the
// token from the script.
func boot(c *http.Client, base, name, mac string) result {
	var r result
	script, d, err := get(c, base+"/boot/ipxe?mac="+strings.ReplaceAll(mac, ":", "-"))
	if err != nil {
		r.err = fmt.Errorf("boot script: %w", err)
		return r
	}
	r.lat = append(r.lat, d)
	m := ksURL.FindStringSubmatch(script)
	if m == nil {
		r.err = fmt.Errorf("boot script has no kickstart URL with a token (is %s installed already? use a fresh state file):\n%s", name, script)
		return r
	}
	if want := "/kiln/kickstart-" + name + ".cfg"; m[1] != want {
		r.err = fmt.Errorf("boot script names %s, not %s", m[1], want)
		return r
	}
	ks, d, err := get(c, base+m[1]+"?token="+m[2])
	if err != nil {
		r.err = fmt.Errorf("kickstart: %w", err)
		return r
	}
	if len(ks) == 0 {
		r.err = fmt.Errorf("kickstart: empty")
		return r
	}
	r.lat = append(r.lat, d)
	return r
}

// get fetches url and reads the whole answer; anything but 200 is an error.
func get(c *http.Client, url string) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if err != nil {
		return "", 0, err
	}
	t := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), d, nil
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
// GET /kiln/kickstart-NODE.cfg with the build's kickstart, from memory.
func serveFloor(addr, dir, build string) error {
	site, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		return err
	}
	token := strings.Repeat("0", 64)
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
		scripts[strings.ReplaceAll(mac, ":", "-")] = regexp.MustCompile(`(inst\.ks=https?://[^/\s]+)/\S*`).
			ReplaceAll(script, []byte("${1}"+ks+"?token="+token))
		if files[ks], err = os.ReadFile(build + "/kickstart-" + nd.Name + ".cfg"); err != nil {
			return err
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
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	return http.ListenAndServe(addr, mux)
}
