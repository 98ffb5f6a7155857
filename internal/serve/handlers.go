package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/state"
)

// routes builds the handler: every route wrapped with the request limits
// and the metrics.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boot.ipxe", s.bootEntry)
	mux.HandleFunc("GET /boot/ipxe", s.bootNode)
	mux.HandleFunc("GET /kiln/{path...}", s.buildFile)
	mux.HandleFunc("GET /os/{path...}", s.mirrorFile)
	mux.HandleFunc("GET /tftp/{path...}", s.tftpFile)
	mux.HandleFunc("POST /kiln/installed/{name}", s.installed)
	mux.HandleFunc("POST /kiln/challenge/{name}", s.challenge)
	mux.HandleFunc("POST /api/v1/nodes/{name}/{report}", s.report)
	mux.HandleFunc("POST /api/v1/autosign", s.autosign)
	mux.HandleFunc("GET /api/v1/nodes", s.apiNodes)
	mux.HandleFunc("GET /api/v1/nodes/{name}", s.apiNode)
	mux.HandleFunc("GET /api/v1/events", s.apiEvents)
	mux.HandleFunc("GET /metrics", s.metricsPage)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok: %d nodes, %d files\n", len(s.snap.Load().cluster.Nodes), len(s.snap.Load().files))
	})
	mux.HandleFunc("GET /{$}", s.dashboard)
	mux.HandleFunc("GET /installs.svg", s.installsChart)
	mux.HandleFunc("GET /nodes/{name}", s.nodePage)
	return s.metrics.wrap(s.guard(limitBody(mux)))
}

// maxReport is the largest report (form body) kiln serve takes.
const maxReport = 64 << 10

// limitBody caps request bodies: nothing kiln serve takes needs more. The
// cap is above maxReport, so that a report too large is read to its end
// and answered 413 rather than cut off.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, 4*maxReport)
		}
		h.ServeHTTP(w, r)
	})
}

// queryValue is url.Values.Get of the raw query, without building the map
// (the token of a file fetch is read on every request).
func queryValue(raw, key string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(kv, ";") {
			continue // url.ParseQuery drops these
		}
		k, v, _ := strings.Cut(kv, "=")
		if k != key {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != key {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			uv, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			v = uv
		}
		return v
	}
	return ""
}

// Header values shared by answers (net/http only reads them).
var (
	hdrText    = []string{"text/plain; charset=utf-8"}
	hdrJSON    = []string{"application/json"}
	hdrNosniff = []string{"nosniff"}
	hdrNoStore = []string{"no-store"}
)

// remoteIP is the request's source address, without port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

// base is the URL nodes reach this server at.
func (s *Server) base(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	host := r.Host
	if host == "" || !safeHost(host) {
		host = "localhost"
		if r.TLS == nil {
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host = a.String()
			}
		}
	}
	return "http://" + host
}

func safeHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.:[]", r)) {
			return false
		}
	}
	return true
}

func seqHeader(w http.ResponseWriter, seq int64) {
	if seq > 0 {
		w.Header().Set("X-Kiln-Event", strconv.FormatInt(seq, 10))
	}
}

// textError answers with a plain-text error.
func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// deny answers 403 and logs the refusal as an event (at most one a
// minute per address; the others are counted into the next).
func (s *Server) deny(w http.ResponseWriter, r *http.Request, node, why string) {
	seq, logged := s.denyEvent(r, node, r.Method+" "+r.URL.Path+": "+why)
	if logged {
		s.log.Warn("refused", "node", node, "remote", remoteIP(r), "path", r.URL.Path, "why", why)
	}
	seqHeader(w, seq)
	textError(w, http.StatusForbidden, "403 forbidden: "+why)
}

// notAddress is the refusal of a request for node n from another address.
func notAddress(n *model.Node, ip, what string) string {
	return fmt.Sprintf("%s is not an address of %s: %s is answered only to %s's own address (site.yaml, or its DHCP lease from kiln serve); kiln serve --check-address=false turns this off", ip, n.Name, what, n.Name)
}

// stateError answers a refused or failed state write: a token or
// challenge that is not current, or a secret served already, is 403.
func (s *Server) stateError(w http.ResponseWriter, r *http.Request, node string, err error) {
	var te *state.TokenError
	var se *state.ServedError
	var ce *state.ConflictError
	switch {
	case errors.As(err, &te):
		s.deny(w, r, node, te.Msg)
	case errors.As(err, &se):
		s.deny(w, r, node, se.Msg)
	case errors.As(err, &ce):
		seq, _ := s.store.Record(r.Context(), state.Event{Node: node, Kind: state.KindReport, Detail: "refused: " + ce.Msg, Remote: remoteIP(r)})
		seqHeader(w, seq)
		textError(w, http.StatusConflict, "409: "+ce.Msg)
	case errors.Is(err, state.ErrUnknownNode):
		textError(w, http.StatusNotFound, "404: "+err.Error())
	default:
		s.storeError(w, err)
	}
}

// storeError answers a state file failure.
func (s *Server) storeError(w http.ResponseWriter, err error) {
	s.log.Error("state file", "err", err)
	if errors.Is(err, context.Canceled) {
		return
	}
	textError(w, http.StatusServiceUnavailable, "503: the state file cannot be written: "+err.Error())
}

// buildFile serves a file of the build tree.
func (s *Server) buildFile(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	p := r.PathValue("path")
	if p == strings.ReplaceAll(s.cfg.IPXEScript, "{node}", "boot") && s.cfg.Discover != "" {
		// Discovery needs every machine's MAC: the build's entry script
		// would show unknown machines a menu instead.
		s.bootEntry(w, r)
		return
	}
	if name, ok := matchNode(s.cfg.IPXEScript, p); ok && snap.cluster.Node(name) != nil {
		s.bootByName(w, r, snap.cluster.Node(name))
		return
	}
	if name, ok := matchNode(s.cfg.GRUBScript, p); ok && snap.cluster.Node(name) != nil {
		s.bootGRUB(w, r, snap.cluster.Node(name))
		return
	}
	f, ok := snap.files[p]
	if !ok {
		textError(w, http.StatusNotFound, "404: the build has no file "+p)
		return
	}
	ip := remoteIP(r)
	if f.secret {
		// A secret leaves once per install, to its node alone: from the
		// node's address, with its current install token (which also
		// says the node installs now).
		if f.node == "" {
			s.deny(w, r, "", p+" carries secrets of no single node; it is not served over HTTP (copy it on the head node)")
			return
		}
		n := snap.cluster.Node(f.node)
		if !s.nodeAddrOK(n, ip) {
			s.deny(w, r, f.node, notAddress(n, ip, p))
			return
		}
		kick := p == strings.ReplaceAll(s.cfg.Kickstart, "{node}", f.node)
		res, err := s.store.Secret(r.Context(), f.node, p, queryValue(r.URL.RawQuery, "token"), ip, kick)
		if err != nil {
			s.stateError(w, r, f.node, err)
			return
		}
		seqHeader(w, res.Seq)
	} else if n := snap.cluster.Node(f.node); n != nil && s.isNodeAddr(n, ip) {
		// A node's public file, fetched by the node: logged (without
		// waiting, and changing no state). Others' fetches of public
		// files are not logged one by one.
		res, err := s.store.Fetch(r.Context(), f.node, p, ip, false)
		if err != nil {
			s.storeError(w, err)
			return
		}
		seqHeader(w, res.Seq)
	}
	h := w.Header()
	h["Content-Type"] = contentType(p)
	h["Content-Length"] = f.length
	h["Etag"] = f.etag
	h["X-Content-Type-Options"] = hdrNosniff
	if f.secret {
		h["Cache-Control"] = hdrNoStore
	}
	w.Write(f.data)
}

func contentType(p string) []string {
	switch path.Ext(p) {
	case ".json":
		return hdrJSON
	case ".html":
		// Served as text: the build is not a web site, and its files must
		// not run scripts in the dashboard's origin.
		return hdrText
	}
	return hdrText
}

// mirrorFile serves the OS install tree: files only, no listings, nothing
// outside the tree (os.Root refuses .. and symlinks that leave it).
func (s *Server) mirrorFile(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Mirror == "" {
		textError(w, http.StatusNotFound, "404: this server has no OS install tree (kiln serve --mirror DIR)")
		return
	}
	s.serveTree(w, r, s.cfg.Mirror, "the install tree")
}

// tftpFile serves the TFTP root over HTTP, for UEFI HTTP boot (DHCP hands
// an HTTPClient the URL of shimx64.efi there; shim then fetches
// grubx64.efi, and GRUB its grub.cfg files, from the same folder). These
// are the files TFTP gives any machine on the network; files only.
func (s *Server) tftpFile(w http.ResponseWriter, r *http.Request) {
	dir := s.cfg.TFTPRoot
	if dir == "" {
		if f, ok := s.snap.Load().files[s.cfg.DnsmasqConf]; ok {
			dir = confValue(f.data, "tftp-root")
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		textError(w, http.StatusNotFound, "404: this server knows no TFTP root (the build's "+s.cfg.DnsmasqConf+" sets none)")
		return
	}
	s.serveTree(w, r, dir, "the TFTP root")
}

// confValue is the value of the first key=value line of a dnsmasq config.
func confValue(data []byte, key string) string {
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// serveTree serves a file of the folder dir: files only, no listings,
// nothing outside it (os.Root refuses .. and symlinks that leave it).
func (s *Server) serveTree(w http.ResponseWriter, r *http.Request, dir, what string) {
	p := r.PathValue("path")
	if p == "" || !validPath(p) {
		textError(w, http.StatusNotFound, "404: not a file of "+what)
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		textError(w, http.StatusServiceUnavailable, "503: "+what+" cannot be opened")
		return
	}
	defer root.Close()
	f, err := root.Open(p)
	if err != nil {
		textError(w, http.StatusNotFound, "404: "+what+" has no file "+p)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		textError(w, http.StatusNotFound, "404: "+what+" has no file "+p)
		return
	}
	// A big file over a slow link: allow a minute plus 1 MB/s.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(time.Minute + time.Duration(st.Size()/(1<<20))*time.Second))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}

func validPath(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return !strings.ContainsRune(p, 0)
}

// matchNode reports whether p is pattern with {node} filled in, and the
// name it was filled with.
func matchNode(pattern, p string) (string, bool) {
	pre, post, ok := strings.Cut(pattern, "{node}")
	if !ok || !strings.HasPrefix(p, pre) || !strings.HasSuffix(p, post) || len(p) <= len(pre)+len(post) {
		return "", false
	}
	name := p[len(pre) : len(p)-len(post)]
	return name, !strings.Contains(name, "/")
}

// readForm parses a callback's form (the query and a url-encoded body of
// 64 KiB at most). A body too large is 413, a malformed one 400: neither
// is ever taken as a report.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxReport+1))
		var mb *http.MaxBytesError
		if errors.As(err, &mb) || len(data) > maxReport {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("413: the report is larger than %d bytes", maxReport))
			return false
		}
		if err != nil {
			textError(w, http.StatusBadRequest, "400: the report's body cannot be read: "+err.Error())
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
	}
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("413: the report is larger than %d bytes", mb.Limit))
			return false
		}
		textError(w, http.StatusBadRequest, "400: the report is not a well-formed form: "+err.Error())
		return false
	}
	return true
}

// installed takes the kickstart's %post callback, as the install chain's
// kickstart sends it: POST /kiln/installed/NODE?token=T with the form
// field status=installed or status=failed (there is no default).
func (s *Server) installed(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	switch status := r.PostForm.Get("status"); status {
	case "installed", "failed":
		s.takeReport(w, r, r.PathValue("name"), status)
	case "":
		textError(w, http.StatusBadRequest, "400: the report has no status (status=installed or status=failed in the body)")
	default:
		textError(w, http.StatusBadRequest, fmt.Sprintf("400: status must be installed or failed, not %q", ipxeText(status)))
	}
}

// report takes a node's callback on the API.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	s.takeReport(w, r, r.PathValue("name"), r.PathValue("report"))
}

// takeReport changes a node's state on its own word: from its address,
// with its current install token (installed, failed; the token is void
// after) or, once installed, with its Puppet challenge (puppet-signed,
// configured).
func (s *Server) takeReport(w http.ResponseWriter, r *http.Request, name, what string) {
	snap := s.snap.Load()
	n := snap.cluster.Node(name)
	if n == nil {
		textError(w, http.StatusNotFound, "404: the site has no node "+ipxeText(name))
		return
	}
	if !state.IsReport(what) && what != "failed" {
		textError(w, http.StatusNotFound, fmt.Sprintf("404: %q is not a report; nodes report installed, failed, puppet-signed or configured", ipxeText(what)))
		return
	}
	ip := remoteIP(r)
	if !s.nodeAddrOK(n, ip) {
		s.deny(w, r, name, notAddress(n, ip, what+" reports"))
		return
	}
	var res *state.Result
	var err error
	switch what {
	case "installed", "failed":
		res, err = s.store.Callback(r.Context(), name, r.Form.Get("token"), what,
			"the installer's %post reported a failure (see /root/kiln-post.log on "+name+")", ip)
	default:
		res, err = s.store.LateReport(r.Context(), name, what, r.Form.Get("challenge"), ip)
	}
	if err != nil {
		s.stateError(w, r, name, err)
		return
	}
	if res.InstallTime > 0 {
		s.metrics.observeInstall(res.InstallTime)
	}
	s.log.Info("report", "node", name, "report", what, "state", res.Node.State, "remote", ip)
	seqHeader(w, res.Seq)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "ok: %s is %s\n", name, res.Node.State)
}

// challenge hands the installer its node's Puppet autosign challenge:
// minted now, once per install token, kept only hashed.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	name := r.PathValue("name")
	n := s.snap.Load().cluster.Node(name)
	if n == nil {
		textError(w, http.StatusNotFound, "404: the site has no node "+ipxeText(name))
		return
	}
	ip := remoteIP(r)
	if !s.nodeAddrOK(n, ip) {
		s.deny(w, r, name, notAddress(n, ip, "its Puppet challenge"))
		return
	}
	ch, res, err := s.store.Challenge(r.Context(), name, r.Form.Get("token"), ip, s.cfg.ChallengeTTL)
	if err != nil {
		s.stateError(w, r, name, err)
		return
	}
	seqHeader(w, res.Seq)
	w.Header()["Content-Type"] = hdrText
	w.Header()["Cache-Control"] = hdrNoStore
	io.WriteString(w, ch+"\n")
}

// autosign is kiln autosign's question, asked from the Puppet server:
// POST /api/v1/autosign with certname=FQDN&challenge=C. 200 when C is the
// node's current, unused challenge (it is used from then on), 403 else.
func (s *Server) autosign(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	cert := r.PostForm.Get("certname")
	var n *model.Node
	for _, m := range s.snap.Load().cluster.Nodes {
		if strings.EqualFold(m.FQDN, cert) {
			n = m
			break
		}
	}
	if n == nil {
		s.deny(w, r, "", fmt.Sprintf("autosign: %q is not the FQDN of a node of the site", ipxeText(cert)))
		return
	}
	res, err := s.store.UseChallenge(r.Context(), n.Name, r.PostForm.Get("challenge"), remoteIP(r))
	if err != nil {
		s.stateError(w, r, n.Name, err)
		return
	}
	seqHeader(w, res.Seq)
	w.Header()["Content-Type"] = hdrText
	fmt.Fprintf(w, "ok: sign %s (%s, role %s)\n", n.FQDN, n.Name, n.Role)
}

// ---- read-only API ----

// NodeView is a node as the API and kiln status show it.
type NodeView struct {
	state.Node
	Role   string `json:"role"`
	Group  string `json:"group,omitempty"`
	IP     string `json:"ip,omitempty"`
	MAC    string `json:"mac,omitempty"`
	InSite bool   `json:"in_site"`
	// Stuck: in a state longer than StuckAfter allows.
	Stuck bool `json:"stuck,omitempty"`
}

func (s *Server) views(ctx context.Context) ([]NodeView, error) {
	snap := s.snap.Load()
	nodes, err := s.store.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	return Views(snap.cluster, nodes), nil
}

// Views joins the stored states with the site's nodes, in the site's
// install order; nodes the site no longer has come last.
func Views(c *model.Cluster, nodes []*state.Node) []NodeView {
	return RecordViews(SiteRecord(c), nodes)
}

// SiteRecord is what the state file keeps of the site's nodes (see
// state.SiteRecord), in the site's install order.
func SiteRecord(c *model.Cluster) state.SiteRecord {
	rec := state.SiteRecord{Cluster: c.Name, At: time.Now().UTC(), Nodes: make([]state.SiteNode, len(c.Nodes))}
	for i, m := range c.Nodes {
		sn := state.SiteNode{Name: m.Name, Role: m.Role, Group: m.Group}
		if b := m.BootIface(); b != nil {
			sn.IP, sn.MAC = b.IP, b.MAC
		} else if p := m.Primary(); p != nil {
			sn.IP, sn.MAC = p.IP, p.MAC
		}
		rec.Nodes[i] = sn
	}
	return rec
}

// RecordViews joins the stored states with a recorded site's nodes, in
// its order; nodes the site no longer has come last.
func RecordViews(rec state.SiteRecord, nodes []*state.Node) []NodeView {
	now := time.Now()
	by := map[string]*state.Node{}
	for _, n := range nodes {
		by[n.Name] = n
	}
	var out []NodeView
	for _, m := range rec.Nodes {
		v := NodeView{Role: m.Role, Group: m.Group, IP: m.IP, MAC: m.MAC, InSite: true}
		if st := by[m.Name]; st != nil {
			v.Node = *st
			delete(by, m.Name)
		} else {
			v.Node = state.Node{Name: m.Name, State: state.Planned}
		}
		if d, ok := StuckAfter[v.State]; ok && !v.Since.IsZero() && now.Sub(v.Since) > d {
			v.Stuck = true
		}
		out = append(out, v)
	}
	for _, n := range nodes {
		if by[n.Name] != nil {
			out = append(out, NodeView{Node: *n})
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (s *Server) apiNodes(w http.ResponseWriter, r *http.Request) {
	v, err := s.views(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"cluster": s.snap.Load().cluster.Name, "nodes": v})
}

func (s *Server) apiNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, err := s.views(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	for _, n := range v {
		if n.Name == name {
			evs, err := s.store.Events(r.Context(), state.Query{Node: name, Limit: 200})
			if err != nil {
				s.storeError(w, err)
				return
			}
			writeJSON(w, map[string]any{"node": n, "events": evs, "files": s.nodeFiles(name)})
			return
		}
	}
	textError(w, http.StatusNotFound, "404: no node "+name)
}

func (s *Server) nodeFiles(name string) []string {
	var out []string
	for p, f := range s.snap.Load().files {
		if f.node == name {
			out = append(out, p)
		}
	}
	sortStrings(out)
	return out
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	q := state.Query{Node: r.URL.Query().Get("node")}
	var err error
	if v := r.URL.Query().Get("after"); v != "" {
		if q.After, err = strconv.ParseInt(v, 10, 64); err != nil || q.After < 0 {
			textError(w, http.StatusBadRequest, "400: after must be an event number")
			return
		}
	}
	q.Limit = 1000
	if v := r.URL.Query().Get("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > 10000 {
			textError(w, http.StatusBadRequest, "400: limit must be between 1 and 10000")
			return
		}
	}
	evs, err := s.store.Events(r.Context(), q)
	if err != nil {
		s.storeError(w, err)
		return
	}
	if evs == nil {
		evs = []state.Event{}
	}
	writeJSON(w, evs)
}
