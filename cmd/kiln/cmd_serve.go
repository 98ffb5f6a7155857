package main

import (
	"context"

	"flag"
	"fmt"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

// serveFlags are the flags of kiln serve, status, events, reinstall and
// discover.
type serveFlags struct {
	listen, dhcp, stateFile, mirror, url, discover     string
	kickstart, kernel, initrd, kernelArgs, dnsmasqConf string
	hosts, server, prune                               string
	accept, reject, role, node                         string
	maxBoots                                           int
	window, tokenTTL, challengeTTL                     time.Duration
	checkAddr, verbose, auto                           bool
	limit                                              int
	reason                                             string
	stateFilter                                        string
	watch, follow, failed, names                       bool
	interval                                           time.Duration
}

// dbFlags adds -C, --example and --db FILE, for the verbs that use kiln
// serve's state file; --state FILE, its old name, is refused with the
// new one.
func (c *cmdContext) dbFlags(fs *flag.FlagSet) {
	c.siteFlags(fs)
	fs.StringVar(&c.sv.stateFile, "db", "", "the state `FILE` kiln serve keeps (default: kiln.db in the site folder)")
}

var serveVerb = &verb{
	name:    "serve",
	args:    "",
	summary: "Run the head node's provisioning service: boot scripts, kickstarts, install state",
	help: `Serves the build over HTTP to the nodes that install from it, decides at
each boot whether a node installs or boots its disk, records every node's
state and every event in the state file (kiln.db in the site folder), and
runs dnsmasq for DHCP and TFTP with the build's dnsmasq.conf.

A node installs while it is planned or marked (kiln reinstall). Each
install boot script mints a new random install token (only its hash is
kept) and carries it on the installer's command line; with it, and only
from the node's own address, the installer fetches its secret files once
each and its kickstart's %post reports "installed" (or "failed") with
  curl -fsS --retry 5 --retry-delay 3 --data "status=${status}" \
    "http://HEAD:PORT/kiln/installed/NODE?token=TOKEN"
(HEAD:PORT: the install_server module's listen_address and http_port,
which the kickstart template puts in that URL; --listen must answer there)
after which the token is void and the node boots from its disk. Tokens
expire after --token-ttl. See docs/security.md. A node that boots into the installer
--max-boots times within --boot-window without that report is held as
failed until kiln reinstall NODE. The dashboard is at http://HEAD:PORT/.

A new kiln build is picked up within two seconds (or at once on SIGHUP);
SIGTERM stops it cleanly.

Examples:
  kiln serve -C mysite --listen 10.10.0.1:8080 --mirror /srv/mirror/el9
  kiln serve -C mysite --listen 10.10.0.1:8080 --discover worker   # kiln discover
  kiln serve --example tier3 --dhcp off      # try it on loopback
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		f := &c.sv
		c.dbFlags(fs)
		fs.Var(movedFlag{"--state", "--db FILE"}, "state", "deprecated: the state file is --db FILE")
		fs.StringVar(&c.out, "o", "", "the build folder to serve (`DIR`; default: build/ in the site folder)")
		fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "the `ADDR:PORT` to serve HTTP on: the head's address on the provisioning network, e.g. 10.10.0.1:8080")
		fs.StringVar(&f.dhcp, "dhcp", serve.DHCPDnsmasq, "who serves DHCP and TFTP (`MODE`): dnsmasq (kiln serve runs it with the build's config), external (the site's own), or off")
		fs.StringVar(&f.mirror, "mirror", "", "the OS install tree to serve under /os/ (`DIR`, a local mirror of the distribution)")
		fs.StringVar(&f.url, "url", "", "the `URL` nodes reach this server at (default: the address they asked, from each request)")
		fs.StringVar(&f.discover, "discover", "", "put unknown machines that boot on the pending list for this `ROLE` (kiln discover accepts or rejects them)")
		fs.BoolVar(&f.auto, "auto", false, "with --discover ROLE: give each unknown machine the next free node of ROLE at once, writing its MAC into site.yaml (anyone on the network can then claim slots)")
		fs.BoolVar(&f.checkAddr, "check-address", true, "answer a node's boot script, secret files and reports only at its own address (site.yaml's, or its dnsmasq lease); --check-address=false answers any address")
		fs.DurationVar(&f.tokenTTL, "token-ttl", state.DefaultTokenTTL, "how long (`DURATION`) a node's install token (minted at each install boot) lives at most")
		fs.DurationVar(&f.challengeTTL, "challenge-ttl", state.DefaultChallengeTTL, "how long (`DURATION`) a node's Puppet autosign challenge (minted during its install) lives at most")
		fs.StringVar(&f.hosts, "host", "", "more `NAMES` (comma-separated) that requests may give in Host: besides the address they come in on, its node's names and --url's host")
		fs.IntVar(&f.maxBoots, "max-boots", state.DefaultPolicy.MaxBoots, "install boots (`N`) without an \"installed\" report after which a node is held as failed")
		fs.DurationVar(&f.window, "boot-window", state.DefaultPolicy.Window, "the time window (`DURATION`) the install boots are counted in")
		fs.StringVar(&f.kickstart, "kickstart", "", "the kickstart's `PATH` in the build; {node} stands for the node's name (default: the design's serve: install_file, else kickstart-{node}.cfg)")
		fs.StringVar(&f.kernel, "kernel", "", "the installer's kernel, in the install tree (`PATH` or URL) (default: the design's serve: kernel, else images/pxeboot/vmlinuz)")
		fs.StringVar(&f.initrd, "initrd", "", "the installer's initrd, in the install tree (`PATH` or URL) (default: the design's serve: initrd, else images/pxeboot/initrd.img)")
		fs.StringVar(&f.kernelArgs, "kernel-args", "", "more `ARGS` for the installer's kernel command line")
		fs.StringVar(&f.dnsmasqConf, "dnsmasq-conf", "", "the dnsmasq config's `PATH` in the build, with --dhcp=dnsmasq (default: the design's serve: dnsmasq_conf, else dhcp/dnsmasq.conf)")
		fs.BoolVar(&f.verbose, "v", false, "log every boot, fetch and callback, not only problems and state changes")
	},
	run: runServe,
}

// movedFlag is a flag that was renamed: giving it says what to use.
type movedFlag struct{ old, now string }

func (m movedFlag) String() string { return "" }
func (m movedFlag) Set(string) error {
	return fmt.Errorf("%s is now %s", m.old, m.now)
}

func (c *cmdContext) statePath() string {
	if c.sv.stateFile != "" {
		return c.sv.stateFile
	}
	if c.example != "" {
		return "kiln.db"
	}
	return filepath.Join(c.dir, "kiln.db")
}

func runServe(c *cmdContext) int {
	if _, ok := c.parse(0, 0); !ok {
		return exitUsage
	}
	f := &c.sv
	level := slog.LevelInfo
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
	if !f.verbose {
		// Boots and fetches are in the event log; the log keeps to
		// problems and changes.
		logger = slog.New(quietHandler{slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level})})
	}
	cfg := serve.Config{
		Source: c.source(), BuildDir: c.outDir(), StatePath: c.statePath(), Mirror: f.mirror, BaseURL: f.url,
		Kernel: f.kernel, Initrd: f.initrd, KernelArgs: f.kernelArgs, Kickstart: f.kickstart,
		Policy:     state.Policy{MaxBoots: f.maxBoots, Window: f.window, TokenTTL: f.tokenTTL},
		AnyAddress: !f.checkAddr, Discover: f.discover, AutoDiscover: f.auto, ChallengeTTL: f.challengeTTL,
		DHCP: f.dhcp, DnsmasqConf: f.dnsmasqConf, Logger: logger,
	}
	for _, h := range strings.Split(f.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.Hosts = append(cfg.Hosts, h)
		}
	}
	if f.auto && f.discover == "" {
		c.usageError("--auto needs --discover ROLE")
		return exitUsage
	}
	if f.maxBoots < 1 {
		c.usageError(fmt.Sprintf("--max-boots must be at least 1, not %d", f.maxBoots))
		return exitUsage
	}
	if f.window <= 0 {
		c.usageError("--boot-window must be positive, e.g. 6h")
		return exitUsage
	}
	if _, _, err := net.SplitHostPort(f.listen); err != nil {
		c.usageError(fmt.Sprintf("--listen %q is not ADDR:PORT, e.g. 10.10.0.1:8080", f.listen))
		return exitUsage
	}
	release, err := serve.LockState(c.statePath(), f.listen)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	defer release()
	srv, err := serve.New(cfg)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return c.fail(exitDefs, "cannot listen on %s: %v", f.listen, err)
	}
	if w := c.listenWarning(f.listen, f.url); w != "" {
		fmt.Fprintf(c.stderr, "kiln serve: warning: %s\n", w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	if err := srv.Run(ctx, ln, reload); err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	return exitOK
}

// listenWarning compares where this server listens (or --url) with the
// URL the build tells nodes to call back at (the design's autosign:
// setting, the same address the kickstarts report to), and says when
// nodes would not reach it.
func (c *cmdContext) listenWarning(listen, url string) string {
	s, err := pipeline.Resolve(c.source())
	if err != nil || s.Defs.Design.Autosign.Value == "" || len(s.Cluster.Nodes) == 0 {
		return ""
	}
	baked, err := render.Snippet(s.Defs, s.Cluster, "the design's autosign setting", s.Defs.Design.Autosign.Value, s.Cluster.Nodes[0])
	if err != nil {
		return ""
	}
	baked = strings.TrimRight(strings.TrimSpace(baked), "/")
	u, err := neturl.Parse(baked)
	if err != nil || u.Host == "" {
		return ""
	}
	want := u.Host
	if u.Port() == "" {
		want = net.JoinHostPort(u.Hostname(), "80")
	}
	if url != "" {
		if v, err := neturl.Parse(url); err == nil && v.Host != "" {
			got := v.Host
			if v.Port() == "" {
				got = net.JoinHostPort(v.Hostname(), "80")
			}
			if got == want {
				return ""
			}
			return fmt.Sprintf("the build tells nodes to call back at %s, but --url says %s: nodes will report to the build's address", baked, url)
		}
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	wh, wp, _ := net.SplitHostPort(want)
	if port == wp && (host == wh || host == "" || host == "0.0.0.0" || host == "::") {
		return ""
	}
	return fmt.Sprintf("the build tells nodes to call back at %s (the install_server's listen_address and http_port), but this server listens on %s: nodes will not reach it; give --listen %s (or change those parameters and rebuild)", baked, listen, want)
}

// quietHandler drops the per-request Info lines (boot, fetch) that the
// event log already holds.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && (r.Message == "boot") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(a)}
}

func (h quietHandler) WithGroup(n string) slog.Handler { return quietHandler{h.Handler.WithGroup(n)} }
