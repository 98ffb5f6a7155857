package serve

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/state"
)

// ---- who the server is: the Host header ----

// ownHosts is what a request's Host may name besides the address it came
// in on and the names of the node that has that address (see hostOK):
// localhost, the --url's host, and the --host names.
func (s *Server) ownHosts() map[string]bool {
	h := map[string]bool{"localhost": true}
	if s.cfg.BaseURL != "" {
		if u, err := url.Parse(s.cfg.BaseURL); err == nil {
			h[strings.ToLower(u.Hostname())] = true
		}
	}
	for _, x := range s.cfg.Hosts {
		h[strings.ToLower(x)] = true
	}
	return h
}

// hostOK reports whether r's Host names this server: a name is taken when
// it is one of ours (ownHosts) or a name of the node whose address the
// request came in on; an address when it is the one the request came in
// on or one of ours. A web page elsewhere that points a name it controls
// at this server (DNS rebinding) is refused.
func (s *Server) hostOK(r *http.Request, snap *snapshot) bool {
	host := r.Host
	if host == "" {
		return true // HTTP/1.0: no Host to check
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if snap.hosts[host] {
		return true
	}
	local := ""
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if h, _, err := net.SplitHostPort(a.String()); err == nil {
			if ip, err := netip.ParseAddr(h); err == nil {
				local = ip.Unmap().String()
			}
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().String() == local || ip.IsLoopback()
	}
	// A name of the node the server runs on (the one that has the
	// address the request came in on).
	for _, name := range snap.namesByIP[local] {
		if strings.EqualFold(host, name) {
			return true
		}
	}
	return false
}

// namesByIP maps each address of the site's nodes to that node's names
// (its name, FQDN and per-network host names).
func namesByIP(c *model.Cluster) map[string][]string {
	out := map[string][]string{}
	for _, n := range c.Nodes {
		names := []string{n.Name, n.FQDN}
		for _, i := range n.Interfaces {
			if i.Hostname != "" {
				names = append(names, i.Hostname)
			}
		}
		for _, i := range n.Interfaces {
			if i.IP != "" {
				out[i.IP] = names
			}
		}
	}
	return out
}

// guard refuses, before any handler runs, a request whose Host is not
// this server's (421) and cross-origin use of the API (403): a browser
// on another origin may not POST here, nor read or use what it fetches
// (no CORS header is ever sent).
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap := s.snap.Load()
		if !s.hostOK(r, snap) {
			textError(w, http.StatusMisdirectedRequest, fmt.Sprintf("421: %q is not a name of this server; use its address (kiln serve --url, --host NAME)", r.Host))
			return
		}
		if why := crossOrigin(r); why != "" {
			textError(w, http.StatusForbidden, "403 forbidden: "+why)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// crossOrigin says why r is a browser's cross-origin request, or "".
// Nodes (iPXE, curl, wget) send neither header.
func crossOrigin(r *http.Request) string {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		// A link followed from elsewhere may open the dashboard; nothing
		// else from another site is taken.
		if r.Method != http.MethodGet || r.Header.Get("Sec-Fetch-Mode") != "navigate" {
			return "a cross-site request (Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site") + ")"
		}
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || o == "null" || !strings.EqualFold(u.Host, r.Host) {
			return "a request from another origin (" + o + ")"
		}
	}
	return ""
}

// ---- whose address: the node's own ----

// nodeAddrOK reports whether ip is the node's: one of its addresses in
// the site, or the address kiln serve's dnsmasq leased to one of its MACs.
// Always true with --check-address=false.
func (s *Server) nodeAddrOK(n *model.Node, ip string) bool {
	if s.cfg.AnyAddress {
		return true
	}
	return s.isNodeAddr(n, ip)
}

func (s *Server) isNodeAddr(n *model.Node, ip string) bool {
	for _, i := range n.Interfaces {
		if i.IP != "" && i.IP == ip {
			return true
		}
	}
	if s.cfg.LeaseFile == "" {
		return false
	}
	leases := s.leases.get(s.cfg.LeaseFile)
	for _, i := range n.Interfaces {
		if i.NoBoot {
			continue // a BMC's lease is not the node's address
		}
		if mac := normMAC(i.MAC); mac != "" && leases[mac] == ip {
			return true
		}
	}
	return false
}

// leaseCache is dnsmasq's lease file, read again when it changes.
type leaseCache struct {
	mu    sync.Mutex
	id    fileID
	bymac map[string]string
}

// get returns MAC → leased address.
func (c *leaseCache) get(p string) map[string]string {
	id := idOf(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == c.id && c.bymac != nil {
		return c.bymac
	}
	c.id, c.bymac = id, parseLeases(p)
	return c.bymac
}

// parseLeases reads a dnsmasq lease file: "EXPIRY MAC IP NAME CLIENTID"
// per line.
func parseLeases(p string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(p)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			continue
		}
		if mac := normMAC(fs[1]); mac != "" {
			if ip, err := netip.ParseAddr(fs[2]); err == nil {
				out[mac] = ip.Unmap().String()
			}
		}
	}
	return out
}

// ---- refusals: logged, but not without bound ----

// deniedCount is the refusals from one address since its last event.
type deniedCount struct {
	last   time.Time
	missed int
}

// deniedEvery is how often one address's refusals are logged: one event,
// then the others counted into the next one.
const deniedEvery = time.Minute

// maxDenied bounds the addresses tracked.
const maxDenied = 4096

// noteDenied says whether a refusal from ip is to be logged now, and how
// many were not logged before it.
func (s *Server) noteDenied(ip string) (bool, int) {
	now := time.Now()
	s.deniedMu.Lock()
	defer s.deniedMu.Unlock()
	d := s.denied[ip]
	if d == nil {
		if len(s.denied) >= maxDenied {
			for k, v := range s.denied {
				if now.Sub(v.last) > deniedEvery {
					delete(s.denied, k)
				}
			}
			if len(s.denied) >= maxDenied {
				// A flood of addresses: one more goes unlogged (the
				// metrics still count it).
				return false, 0
			}
		}
		s.denied[ip] = &deniedCount{last: now}
		return true, 0
	}
	if now.Sub(d.last) < deniedEvery {
		d.missed++
		return false, 0
	}
	missed := d.missed
	d.last, d.missed = now, 0
	return true, missed
}

// denyEvent logs a refusal (rate-limited per address) and returns its
// sequence number, and whether it was logged (not only counted).
func (s *Server) denyEvent(r *http.Request, node, detail string) (int64, bool) {
	ip := remoteIP(r)
	ok, missed := s.noteDenied(ip)
	if !ok {
		s.metrics.deniedQuiet.Add(1)
		return 0, false
	}
	if missed > 0 {
		detail += fmt.Sprintf(" (and %d more refusals from %s in the minute before, not logged one by one)", missed, ip)
	}
	seq, err := s.store.Record(r.Context(), state.Event{Node: node, Kind: state.KindDenied, Detail: detail, Remote: ip})
	if err != nil {
		s.log.Error("cannot record an event", "err", err)
	}
	return seq, true
}
