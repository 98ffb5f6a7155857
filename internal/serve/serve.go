package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/diagram"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/state"
)

// DHCP modes.
const (
	DHCPDnsmasq  = "dnsmasq"  // kiln serve runs dnsmasq with the build's config
	DHCPExternal = "external" // the site runs its own DHCP/TFTP
	DHCPOff      = "off"      // HTTP alone
)

// Config is what kiln serve is told.
type Config struct {
	Source    pipeline.Source // the site
	BuildDir  string          // the build tree, served under /kiln/
	StatePath string          // the state file
	Mirror    string          // the OS install tree, served under /os/ ("": none)

	// BaseURL is how nodes reach this server, e.g. http://10.10.0.1:8080;
	// "" takes it from each request's Host header.
	BaseURL string
	// Kernel and Initrd are the installer's, relative to the install tree
	// (or absolute URLs); KernelArgs are added to its command line.
	Kernel, Initrd, KernelArgs string
	// Kickstart is the kickstart's path in the build; {node} stands for
	// the node's name.
	Kickstart string
	// IPXEScript is the path in the build of a node's iPXE install
	// script (served with the token added to its kickstart URL while the
	// node installs), LocalScript that of the local-boot script. When the
	// build has none, kiln serve writes its own.
	IPXEScript, LocalScript string
	// GRUBScript and GRUBLocal are the same for GRUB 2, which the UEFI
	// chain (the distribution's signed shim and GRUB) asks for over HTTP.
	GRUBScript, GRUBLocal string
	// TFTPRoot is the folder dnsmasq serves over TFTP, also served under
	// /tftp/ for UEFI HTTP boot; "": the tftp-root of the build's dnsmasq
	// config.
	TFTPRoot string
	// Policy bounds install boots; its TokenTTL how long an install
	// token lives.
	Policy state.Policy
	// ChallengeTTL is how long a node's Puppet challenge lives (0:
	// state.DefaultChallengeTTL).
	ChallengeTTL time.Duration
	// AnyAddress turns off the address check: by default a node's boot
	// script, its files with secrets and its callbacks are answered only
	// to the node's own address (site.yaml's, or the one kiln serve's
	// dnsmasq leased to its MAC). kiln serve --check-address=false.
	AnyAddress bool
	// Discover names the role unknown machines are meant for ("":
	// discovery off): they are put on the pending list (kiln discover);
	// with AutoDiscover they claim the role's free slots at once, their
	// MAC written into site.yaml.
	Discover     string
	AutoDiscover bool
	// Hosts are more names the server answers to (the Host header), on
	// top of the --url's host, the address a request came in on, and the
	// names and addresses of the site's install server.
	Hosts []string
	// LeaseFile is dnsmasq's lease file (with DHCPDnsmasq: the state
	// file's path + ".dnsmasq.leases").
	LeaseFile string

	DHCP        string // DHCPDnsmasq, DHCPExternal or DHCPOff
	DnsmasqConf string // the dnsmasq config's path in the build
	Dnsmasq     string // the dnsmasq program

	// named: the paths above the design's serve: block or a flag gave,
	// which the build is expected to have (see warnMissing).
	named []namedPath

	MaxConns     int           // concurrent connections (0: 4096)
	PollInterval time.Duration // how often to look for a new build (0: 2s)
	Logger       *slog.Logger
}

// Defaults fills in what was left empty.
func (c *Config) defaults() {
	if c.Kernel == "" {
		c.Kernel = "images/pxeboot/vmlinuz"
	}
	if c.Initrd == "" {
		c.Initrd = "images/pxeboot/initrd.img"
	}
	if c.Kickstart == "" {
		c.Kickstart = "kickstart-{node}.cfg"
	}
	if c.IPXEScript == "" {
		c.IPXEScript = "ipxe/{node}.ipxe"
	}
	if c.LocalScript == "" {
		c.LocalScript = "ipxe/localboot.ipxe"
	}
	if c.GRUBScript == "" {
		c.GRUBScript = "grub/{node}.cfg"
	}
	if c.GRUBLocal == "" {
		c.GRUBLocal = "grub/localboot.cfg"
	}
	if c.Policy.MaxBoots == 0 {
		c.Policy.MaxBoots = state.DefaultPolicy.MaxBoots
	}
	if c.Policy.Window == 0 {
		c.Policy.Window = state.DefaultPolicy.Window
	}
	if c.Policy.TokenTTL == 0 {
		c.Policy.TokenTTL = state.DefaultTokenTTL
	}
	if c.ChallengeTTL == 0 {
		c.ChallengeTTL = state.DefaultChallengeTTL
	}
	if c.LeaseFile == "" && c.DHCP == DHCPDnsmasq {
		c.LeaseFile = c.StatePath + ".dnsmasq.leases"
	}
	if c.DHCP == "" {
		c.DHCP = DHCPOff
	}
	if c.DnsmasqConf == "" {
		c.DnsmasqConf = "dhcp/dnsmasq.conf"
	}
	if c.Dnsmasq == "" {
		c.Dnsmasq = "dnsmasq"
	}
	if c.MaxConns == 0 {
		c.MaxConns = 4096
	}
	if c.PollInterval == 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

func (c *Config) check() error {
	var errs []string
	if c.BuildDir == "" {
		errs = append(errs, "no build folder given")
	}
	if c.StatePath == "" {
		errs = append(errs, "no state file given")
	}
	switch c.DHCP {
	case DHCPDnsmasq, DHCPExternal, DHCPOff:
	default:
		errs = append(errs, fmt.Sprintf("--dhcp must be dnsmasq, external or off, not %q", c.DHCP))
	}
	if c.Policy.MaxBoots < 1 {
		errs = append(errs, fmt.Sprintf("--max-boots must be at least 1, not %d", c.Policy.MaxBoots))
	}
	if c.Policy.Window <= 0 {
		errs = append(errs, "--boot-window must be positive")
	}
	if c.Policy.TokenTTL < time.Minute {
		errs = append(errs, "--token-ttl must be a minute at least (an install takes that long)")
	}
	if c.AutoDiscover && c.Discover == "" {
		errs = append(errs, "--auto needs --discover ROLE")
	}
	if !strings.Contains(c.Kickstart, "{node}") {
		errs = append(errs, fmt.Sprintf("--kickstart %q must contain {node}, which stands for the node's name", c.Kickstart))
	}
	if !strings.Contains(c.IPXEScript, "{node}") {
		errs = append(errs, fmt.Sprintf("--ipxe-script %q must contain {node}, which stands for the node's name", c.IPXEScript))
	}
	if c.BaseURL != "" {
		if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") || !safeURL(c.BaseURL) {
			errs = append(errs, fmt.Sprintf("--url %q must be a plain http:// or https:// URL, e.g. http://10.10.0.1:8080", c.BaseURL))
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	for _, a := range []struct{ flag, v string }{{"--kernel", c.Kernel}, {"--initrd", c.Initrd}, {"--kernel-args", c.KernelArgs}} {
		if !safeURL(a.v) && a.flag != "--kernel-args" || strings.ContainsAny(a.v, "\n\r$") {
			errs = append(errs, fmt.Sprintf("%s %q has characters an iPXE script cannot carry", a.flag, a.v))
		}
	}
	if c.Mirror != "" {
		if st, err := os.Stat(c.Mirror); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Sprintf("--mirror %s is not a folder", c.Mirror))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// safeURL reports whether s holds only characters that are safe in an
// iPXE script and a kernel command line.
func safeURL(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~:/?#[]@!&'()*+,;=%", r)) {
			return false
		}
	}
	return true
}

// file is one file of the loaded build.
type file struct {
	data   []byte
	sha    string
	node   string
	secret bool
	// Its answer's Content-Length and ETag header values, made once.
	length, etag []string
}

// snapshot is one consistent view of the site and its build. Requests
// take the current one and never see a mix of two builds.
type snapshot struct {
	site      *pipeline.Site
	cluster   *model.Cluster
	files     map[string]*file
	manifest  []byte // the MANIFEST's bytes, to tell builds apart
	byMAC     map[string]*model.Node
	hosts     map[string]bool     // names the server answers to besides its address
	namesByIP map[string][]string // each node address's node names (see hostOK)
	loaded    time.Time
	stamp     buildStamp
	wiring    []byte // the wiring picture for the dashboard (internal/diagram)
	memo      *memo  // what is worked out once per node for this build
}

// memo keeps, per node, values that are a pure function of the snapshot's
// build: the node's install script when it is the build's own, with a
// placeholder where each boot's token goes (so the script's regexp runs
// once per node per build). A reload that changes the build makes a new
// one.
type memo struct {
	scripts sync.Map // node name → install script (iPXE) with tokenSlot
	grubs   sync.Map // node name → install file (GRUB) with tokenSlot
}

// buildStamp tells whether the build or the site file changed on disk.
type buildStamp struct {
	manifest fileID
	site     fileID
}

type fileID struct {
	dev, ino uint64
	mtime    int64
	size     int64
}

func idOf(p string) fileID {
	st, err := os.Stat(p)
	if err != nil {
		return fileID{}
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	id := fileID{mtime: st.ModTime().UnixNano(), size: st.Size()}
	if sys != nil {
		id.dev, id.ino = uint64(sys.Dev), sys.Ino
	}
	return id
}

// Server is a running kiln serve.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *state.Store
	snap    atomic.Pointer[snapshot]
	metrics *metrics
	handler http.Handler

	reloadMu   sync.Mutex
	discoverMu sync.Mutex
	unknownMu  sync.Mutex
	unknown    map[string]time.Time // MAC → when its unknown event was last logged
	deniedMu   sync.Mutex
	denied     map[string]*deniedCount // remote address → refusals not yet logged
	leases     leaseCache

	dnsmasq *supervisor
}

// New loads the site and its build, opens the state file and returns a
// server ready to serve. Problems with the site or the build are errors:
// kiln serve does not start on a build it cannot serve whole.
func New(cfg Config) (*Server, error) {
	stamp := stampOf(&cfg)
	site, err := pipeline.Resolve(cfg.Source)
	if err != nil {
		return nil, describe(err)
	}
	cfg.fromDesign(site.Defs.Design.Serve)
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(), unknown: map[string]time.Time{}, denied: map[string]*deniedCount{}}
	snap, err := s.loadSite(site, stamp)
	if err != nil {
		return nil, err
	}
	st, err := state.Open(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	s.store = st
	// Repeat fetches are logged without waiting (state.Store.Fetch); a
	// failure of theirs has no request left to answer.
	st.SetErrorLog(func(err error) { s.log.Error("state file: a write nobody waited for failed", "err", err) })
	s.warnMissing(snap)
	if err := s.install(snap, "started"); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.DHCP == DHCPDnsmasq {
		if _, ok := snap.files[cfg.DnsmasqConf]; !ok {
			st.Close()
			return nil, fmt.Errorf("--dhcp=dnsmasq: the build in %s has no %s; build the install chain, name the file with --dnsmasq-conf, or use --dhcp=external", cfg.BuildDir, cfg.DnsmasqConf)
		}
		s.dnsmasq = newSupervisor(cfg.Dnsmasq, filepath.Join(cfg.StatePath+".dnsmasq.conf"), s.log, s.metrics)
		s.dnsmasq.leaseFile = cfg.LeaseFile
	}
	s.handler = s.routes()
	return s, nil
}

// Store is the server's state file.
func (s *Server) Store() *state.Store { return s.store }

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the state file (and stops dnsmasq, if Run did not).
func (s *Server) Close() error {
	if s.dnsmasq != nil {
		s.dnsmasq.stop()
	}
	return s.store.Close()
}

// load reads the site and the build into a snapshot.
func (s *Server) load() (*snapshot, error) {
	stamp := stampOf(&s.cfg)
	site, err := pipeline.Resolve(s.cfg.Source)
	if err != nil {
		return nil, describe(err)
	}
	return s.loadSite(site, stamp)
}

// stampOf is the identity of the build and site.yaml before they are
// read: a change while they are read shows at the next poll.
func stampOf(cfg *Config) buildStamp {
	stamp := buildStamp{manifest: idOf(filepath.Join(cfg.BuildDir, render.ManifestName))}
	if cfg.Source.Dir != "" && cfg.Source.Example == "" {
		stamp.site = idOf(filepath.Join(cfg.Source.Dir, "site.yaml"))
	}
	return stamp
}

// loadSite reads the build of a resolved site into a snapshot.
func (s *Server) loadSite(site *pipeline.Site, stamp buildStamp) (*snapshot, error) {
	files, man, err := readBuild(s.cfg.BuildDir)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{site: site, cluster: site.Cluster, files: files, manifest: man, byMAC: map[string]*model.Node{}, loaded: time.Now(), stamp: stamp,
		wiring: diagram.Wiring(site.Cluster), memo: &memo{}, hosts: s.ownHosts(), namesByIP: namesByIP(site.Cluster)}
	for _, n := range site.Cluster.Nodes {
		// Only the boot interface identifies a node: a BMC's or a storage
		// NIC's MAC asking for a boot script gets none of the node's.
		if i := n.BootIface(); i != nil && i.MAC != "" {
			snap.byMAC[normMAC(i.MAC)] = n
		}
	}
	for p, f := range files {
		if f.node != "" && site.Cluster.Node(f.node) == nil {
			return nil, fmt.Errorf("the build in %s has %s for node %s, which the site does not have: rebuild it (kiln build)", s.cfg.BuildDir, p, f.node)
		}
	}
	return snap, nil
}

// describe turns a pipeline error into one error listing every problem.
func describe(err error) error {
	var de *diag.Error
	if errors.As(err, &de) {
		var lines []string
		for _, d := range de.Diagnostics {
			lines = append(lines, d.String())
		}
		return fmt.Errorf("the site has %d problem(s):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	return err
}

// readBuild reads every file the build's MANIFEST lists and checks it
// against its sha256. A build being swapped in as we read shows up as a
// mismatch; we read again, and give up only if it keeps changing.
func readBuild(dir string) (map[string]*file, []byte, error) {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		if attempt > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		files, man, err, retry := readBuildOnce(dir)
		if err == nil {
			return files, man, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return nil, nil, lastErr
}

func readBuildOnce(dir string) (map[string]*file, []byte, error, bool) {
	mp := filepath.Join(dir, render.ManifestName)
	man, err := os.ReadFile(mp)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s is not a kiln build (it has no %s): run kiln build first", dir, render.ManifestName), false
		}
		return nil, nil, err, false
	}
	m, err := output.ParseManifest(bytes.NewReader(man), mp)
	if err != nil {
		return nil, nil, err, true
	}
	// The build is read through os.Root: no symbolic link leads out of
	// the build folder, and none is followed at all (kiln build writes
	// none; one found was put there by someone else).
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err, false
	}
	defer root.Close()
	files := make(map[string]*file, len(m))
	for _, e := range m {
		if !fs.ValidPath(e.Path) || e.Path == render.ManifestName {
			return nil, nil, fmt.Errorf("%s lists %q, which is not a path inside the build", mp, e.Path), false
		}
		if st, err := root.Lstat(filepath.FromSlash(e.Path)); err == nil && !st.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("the build in %s: %s is not a regular file (a symbolic link?); kiln serve follows none: rebuild it (kiln build)", dir, e.Path), false
		}
		data, err := root.ReadFile(filepath.FromSlash(e.Path))
		if err != nil {
			return nil, nil, fmt.Errorf("the build in %s is missing %s, which its MANIFEST lists: rebuild it (kiln build)", dir, e.Path), true
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			return nil, nil, fmt.Errorf("the build in %s: %s does not match its MANIFEST (changed by hand?): rebuild it (kiln build)", dir, e.Path), true
		}
		// A file written 0600 carries a secret even when an older
		// manifest does not say so.
		secret := e.Secret || e.Mode.Perm()&0o077 == 0
		files[e.Path] = &file{data: data, sha: e.SHA256, node: e.Node, secret: secret,
			length: []string{strconv.Itoa(len(data))}, etag: []string{`"` + e.SHA256 + `"`}}
	}
	return files, man, nil, false
}

// install makes snap the current snapshot and gives every node a row in
// the state file.
func (s *Server) install(snap *snapshot, why string) error {
	names := make([]string, len(snap.cluster.Nodes))
	for i, n := range snap.cluster.Nodes {
		names[i] = n.Name
	}
	added, err := s.store.Sync(context.Background(), names)
	if err != nil {
		return err
	}
	// Roles, groups and addresses, for kiln status and kiln events, which
	// read the state file alone.
	if err := s.store.SetSite(context.Background(), SiteRecord(snap.cluster)); err != nil {
		return err
	}
	s.snap.Store(snap)
	s.metrics.buildFiles.Store(int64(len(snap.files)))
	s.metrics.buildLoaded.Store(snap.loaded.Unix())
	check := "answers a node only at its own address"
	if s.cfg.AnyAddress {
		check = "answers nodes at any address (--check-address=false)"
	}
	detail := fmt.Sprintf("%s: cluster %s, %d nodes (%d new), build %s with %d files; %s",
		why, snap.cluster.Name, len(names), added, s.cfg.BuildDir, len(snap.files), check)
	s.log.Info("kiln serve "+why, "cluster", snap.cluster.Name, "nodes", len(names), "new", added, "files", len(snap.files), "check-address", !s.cfg.AnyAddress)
	_, err = s.store.Record(context.Background(), state.Event{Kind: state.KindServer, Detail: detail, Actor: "kiln serve"})
	return err
}

// Reload reads the site and the build again and switches to them if they
// load whole; otherwise the server keeps serving what it had. It returns
// whether anything changed.
func (s *Server) Reload() (bool, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.snap.Load()
	snap, err := s.load()
	if err != nil {
		s.metrics.reloadErrors.Add(1)
		s.log.Error("the new build or site cannot be served; still serving the previous one", "err", err)
		return false, err
	}
	if bytes.Equal(old.manifest, snap.manifest) && old.stamp.site == snap.stamp.site && len(old.cluster.Nodes) == len(snap.cluster.Nodes) {
		// Same build; keep the stamps current so the poller stops asking.
		old2 := *old
		old2.stamp = snap.stamp
		s.snap.Store(&old2)
		return false, nil
	}
	if err := s.install(snap, "reloaded"); err != nil {
		return false, err
	}
	s.warnMissing(snap)
	if s.dnsmasq != nil {
		s.syncDnsmasq(snap)
	}
	return true, nil
}

// changed reports whether the build or the site file changed on disk since
// the current snapshot was read.
func (s *Server) changed() bool {
	cur := s.snap.Load()
	st := buildStamp{manifest: idOf(filepath.Join(s.cfg.BuildDir, render.ManifestName))}
	if s.cfg.Source.Dir != "" && s.cfg.Source.Example == "" {
		st.site = idOf(filepath.Join(s.cfg.Source.Dir, "site.yaml"))
	}
	return st != cur.stamp
}

// Run serves on ln until ctx ends (SIGTERM), then shuts down cleanly:
// stops taking connections, lets requests in flight finish (10 s at most),
// stops dnsmasq, and closes the state file. It watches the build and
// reloads it when it changes, and supervises dnsmasq.
func (s *Server) Run(ctx context.Context, ln net.Listener, reload <-chan struct{}) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // the mirror extends it per file
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln = newLimitListener(ln, s.cfg.MaxConns)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "dhcp", s.cfg.DHCP)

	dctx, dcancel := context.WithCancel(context.Background())
	var dwg sync.WaitGroup
	if s.dnsmasq != nil {
		s.syncDnsmasq(s.snap.Load())
		dwg.Add(1)
		go func() { defer dwg.Done(); s.dnsmasq.run(dctx) }()
	}
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-errc:
			break loop
		case <-reload:
			s.Reload()
		case <-tick.C:
			if s.changed() {
				s.Reload()
			}
		}
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	dcancel()
	dwg.Wait()
	if s.dnsmasq != nil {
		s.dnsmasq.stop()
	}
	s.store.Record(context.Background(), state.Event{Kind: state.KindServer, Detail: "stopped", Actor: "kiln serve"})
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if shutErr != nil {
		return fmt.Errorf("requests still running after 10 s were cut: %w", shutErr)
	}
	return nil
}

// limitListener caps concurrent connections: past the cap, Accept waits
// for one to close, so a flood of slow clients queues in the kernel's
// backlog instead of exhausting the server.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
