package serve

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kiln.dev/kiln/internal/state"
)

// metrics are kept by hand in Prometheus' text format: a few counters do
// not need a client library.
type metrics struct {
	requests     counterVec // kind, code
	boots        counterVec // mode
	buildFiles   atomic.Int64
	buildLoaded  atomic.Int64
	reloadErrors atomic.Int64
	deniedQuiet  atomic.Int64 // refusals counted but not logged one by one
	dnsmasqStart atomic.Int64
	dnsmasqUp    atomic.Int64

	mu          sync.Mutex
	installSum  float64
	installN    int64
	installBkts []int64 // counts per bucket (cumulative at output)
}

// installBuckets are install durations in seconds: 5 minutes to 2 hours.
var installBuckets = []float64{300, 600, 900, 1200, 1800, 2700, 3600, 7200}

func newMetrics() *metrics {
	return &metrics{installBkts: make([]int64, len(installBuckets))}
}

type counterVec struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counterVec) inc(key string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[key]++
	c.mu.Unlock()
}

func (c *counterVec) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

func (m *metrics) observeInstall(d time.Duration) {
	sec := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.installSum += sec
	m.installN++
	for i, b := range installBuckets {
		if sec <= b {
			m.installBkts[i]++
			break
		}
	}
}

// kind names a request's kind for the metrics.
func kind(p string) string {
	switch {
	case p == "/boot.ipxe" || strings.HasPrefix(p, "/boot/"):
		return "boot"
	case strings.HasPrefix(p, "/kiln/installed/"):
		return "callback"
	case strings.HasPrefix(p, "/kiln/ipxe/"), strings.HasPrefix(p, "/kiln/grub/"):
		return "boot"
	case strings.HasPrefix(p, "/kiln/"):
		return "build"
	case strings.HasPrefix(p, "/os/"), strings.HasPrefix(p, "/tftp/"):
		return "mirror"
	case strings.HasPrefix(p, "/api/v1/nodes/") && strings.Count(p, "/") == 5:
		return "callback"
	case strings.HasPrefix(p, "/api/"):
		return "api"
	case p == "/metrics":
		return "metrics"
	case p == "/" || strings.HasPrefix(p, "/nodes/"):
		return "dashboard"
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *metrics) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.inc(kind(r.URL.Path) + "\x00" + strconv.Itoa(code))
	})
}

func (s *Server) metricsPage(w http.ResponseWriter, r *http.Request) {
	nodes, err := s.store.Nodes(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	byState := map[string]int{}
	for _, st := range state.States {
		byState[st] = 0
	}
	inSite := map[string]bool{}
	for _, n := range s.snap.Load().cluster.Nodes {
		inSite[n.Name] = true
	}
	for _, n := range nodes {
		if inSite[n.Name] {
			byState[n.State]++
		}
	}
	m := s.metrics
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	defer b.Flush()

	fmt.Fprintln(b, "# HELP kiln_http_requests_total HTTP requests answered, by kind and status code.")
	fmt.Fprintln(b, "# TYPE kiln_http_requests_total counter")
	reqs := m.requests.snapshot()
	for _, k := range sortedKeys(reqs) {
		kind, code, _ := strings.Cut(k, "\x00")
		fmt.Fprintf(b, "kiln_http_requests_total{kind=%q,code=%q} %d\n", kind, code, reqs[k])
	}
	fmt.Fprintln(b, "# HELP kiln_boot_scripts_total Boot scripts served, by what they do.")
	fmt.Fprintln(b, "# TYPE kiln_boot_scripts_total counter")
	boots := m.boots.snapshot()
	for _, k := range sortedKeys(boots) {
		fmt.Fprintf(b, "kiln_boot_scripts_total{mode=%q} %d\n", k, boots[k])
	}
	fmt.Fprintln(b, "# HELP kiln_nodes The site's nodes, by install state.")
	fmt.Fprintln(b, "# TYPE kiln_nodes gauge")
	for _, st := range state.States {
		fmt.Fprintf(b, "kiln_nodes{state=%q} %d\n", st, byState[st])
	}
	m.mu.Lock()
	fmt.Fprintln(b, "# HELP kiln_install_duration_seconds Time from a node's kickstart fetch to its installed report.")
	fmt.Fprintln(b, "# TYPE kiln_install_duration_seconds histogram")
	var cum int64
	for i, le := range installBuckets {
		cum += m.installBkts[i]
		fmt.Fprintf(b, "kiln_install_duration_seconds_bucket{le=\"%g\"} %d\n", le, cum)
	}
	fmt.Fprintf(b, "kiln_install_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.installN)
	fmt.Fprintf(b, "kiln_install_duration_seconds_sum %g\n", m.installSum)
	fmt.Fprintf(b, "kiln_install_duration_seconds_count %d\n", m.installN)
	m.mu.Unlock()
	fmt.Fprintln(b, "# HELP kiln_build_files Files in the build being served.")
	fmt.Fprintln(b, "# TYPE kiln_build_files gauge")
	fmt.Fprintf(b, "kiln_build_files %d\n", m.buildFiles.Load())
	fmt.Fprintln(b, "# HELP kiln_build_loaded_timestamp_seconds When the build being served was loaded.")
	fmt.Fprintln(b, "# TYPE kiln_build_loaded_timestamp_seconds gauge")
	fmt.Fprintf(b, "kiln_build_loaded_timestamp_seconds %d\n", m.buildLoaded.Load())
	fmt.Fprintln(b, "# HELP kiln_build_reload_errors_total New builds or sites that could not be loaded.")
	fmt.Fprintln(b, "# TYPE kiln_build_reload_errors_total counter")
	fmt.Fprintf(b, "kiln_build_reload_errors_total %d\n", m.reloadErrors.Load())
	fmt.Fprintln(b, "# HELP kiln_denied_unlogged_total Refused requests not logged one by one (one event a minute per address).")
	fmt.Fprintln(b, "# TYPE kiln_denied_unlogged_total counter")
	fmt.Fprintf(b, "kiln_denied_unlogged_total %d\n", m.deniedQuiet.Load())
	if s.dnsmasq != nil {
		fmt.Fprintln(b, "# HELP kiln_dnsmasq_starts_total Times dnsmasq was started (a restart after a crash or a config change counts).")
		fmt.Fprintln(b, "# TYPE kiln_dnsmasq_starts_total counter")
		fmt.Fprintf(b, "kiln_dnsmasq_starts_total %d\n", m.dnsmasqStart.Load())
		fmt.Fprintln(b, "# HELP kiln_dnsmasq_up Whether dnsmasq is running.")
		fmt.Fprintln(b, "# TYPE kiln_dnsmasq_up gauge")
		fmt.Fprintf(b, "kiln_dnsmasq_up %d\n", m.dnsmasqUp.Load())
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
