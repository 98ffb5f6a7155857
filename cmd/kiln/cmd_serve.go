package main

import (
	"context"

	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

// serveFlags are the flags of kiln serve, status, events and reinstall.
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
}

// serveFlagSet adds the serve verbs' flags to fs.
func (c *cmdContext) serveFlagSet(verb string, fs *flag.FlagSet) {
	f := &c.sv
	switch verb {
	case "serve", "status", "events", "reinstall", "discover":
		fs.StringVar(&c.dir, "C", ".", "the site folder (the one that holds site.yaml)")
		fs.StringVar(&c.example, "example", "", "use an example embedded in kiln (tier3) instead of a site folder")
		fs.StringVar(&f.stateFile, "state", "", "the state file (default: kiln.db in the site folder)")
	}
	switch verb {
	case "status", "events", "discover":
		fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	}
	switch verb {
	case "serve":
		fs.StringVar(&c.out, "o", "", "the build folder to serve (default: build/ in the site folder)")
		fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "the address and port to serve HTTP on: the head's address on the provisioning network, e.g. 10.10.0.1:8080")
		fs.StringVar(&f.dhcp, "dhcp", serve.DHCPDnsmasq, "who serves DHCP and TFTP: dnsmasq (kiln serve runs it with the build's config), external (the site's own), or off")
		fs.StringVar(&f.mirror, "mirror", "", "the OS install tree to serve under /os/ (a local mirror of the distribution)")
		fs.StringVar(&f.url, "url", "", "the URL nodes reach this server at (default: the address they asked, from each request)")
		fs.StringVar(&f.discover, "discover", "", "put unknown machines that boot on the pending list for this ROLE (kiln discover accepts or rejects them)")
		fs.BoolVar(&f.auto, "auto", false, "with --discover ROLE: give each unknown machine the next free node of ROLE at once, writing its MAC into site.yaml (anyone on the network can then claim slots)")
		fs.BoolVar(&f.checkAddr, "check-address", true, "answer a node's boot script, secret files and reports only at its own address (site.yaml's, or its dnsmasq lease); --check-address=false answers any address")
		fs.DurationVar(&f.tokenTTL, "token-ttl", state.DefaultTokenTTL, "how long a node's install token (minted at each install boot) lives at most")
		fs.DurationVar(&f.challengeTTL, "challenge-ttl", state.DefaultChallengeTTL, "how long a node's Puppet autosign challenge (minted during its install) lives at most")
		fs.StringVar(&f.hosts, "host", "", "more names (comma-separated) that requests may give in Host: besides the address they come in on, its node's names and --url's host")
		fs.IntVar(&f.maxBoots, "max-boots", state.DefaultPolicy.MaxBoots, "install boots without an \"installed\" report after which a node is held as failed")
		fs.DurationVar(&f.window, "boot-window", state.DefaultPolicy.Window, "the time window the install boots are counted in")
		fs.StringVar(&f.kickstart, "kickstart", "", "the kickstart's path in the build; {node} stands for the node's name (default: the design's serve: install_file, else kickstart-{node}.cfg)")
		fs.StringVar(&f.kernel, "kernel", "", "the installer's kernel, in the install tree (or a URL) (default: the design's serve: kernel, else images/pxeboot/vmlinuz)")
		fs.StringVar(&f.initrd, "initrd", "", "the installer's initrd, in the install tree (or a URL) (default: the design's serve: initrd, else images/pxeboot/initrd.img)")
		fs.StringVar(&f.kernelArgs, "kernel-args", "", "more arguments for the installer's kernel command line")
		fs.StringVar(&f.dnsmasqConf, "dnsmasq-conf", "", "the dnsmasq config's path in the build, with --dhcp=dnsmasq (default: the design's serve: dnsmasq_conf, else dhcp/dnsmasq.conf)")
		fs.BoolVar(&f.verbose, "v", false, "log every boot, fetch and callback, not only problems and state changes")
	case "events":
		fs.IntVar(&f.limit, "n", 100, "show the last N events (0: all)")
		fs.StringVar(&f.prune, "prune", "", "delete the events older than this (a date 2006-01-02, a time RFC 3339, or an age such as 720h) instead of showing events")
	case "discover":
		fs.StringVar(&f.accept, "accept", "", "give this pending MAC a node: --node NAME, or the next free node of --role (default: the role kiln serve --discover named)")
		fs.StringVar(&f.reject, "reject", "", "reject this pending MAC: its boots get nothing, and are not logged again")
		fs.StringVar(&f.role, "role", "", "with --accept: the role whose next free node the machine gets")
		fs.StringVar(&f.node, "node", "", "with --accept: the node the machine becomes (it must have no MAC yet)")
		fs.StringVar(&c.out, "o", "", "with --accept: the build folder to rebuild (default: build/ in the site folder)")
	case "autosign":
		fs.StringVar(&f.server, "server", "", "kiln serve's URL (default: the design's autosign: setting), which checks and uses up the challenge")
	case "reinstall":
		fs.StringVar(&f.reason, "reason", "", "why, for the event log")
	}
}

var serveVerb = &verb{
	name:    "serve",
	args:    "[-C DIR] [--listen ADDR:PORT] [--dhcp dnsmasq|external|off] [flags]",
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
  curl -fsS --data status=installed "http://HEAD:PORT/kiln/installed/NODE?token=TOKEN"
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
	run: runServe,
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
	srv, err := serve.New(cfg)
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln serve: %v\n", err)
		return exitDefs
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln serve: cannot listen on %s: %v\n", f.listen, err)
		return exitDefs
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
		fmt.Fprintf(c.stderr, "kiln serve: %v\n", err)
		return exitDefs
	}
	return exitOK
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

// openState opens the state file of the site; it must exist already (only
// kiln serve creates it).
func (c *cmdContext) openState() (*state.Store, bool) {
	p := c.statePath()
	if _, err := os.Stat(p); err != nil {
		fmt.Fprintf(c.stderr, "kiln %s: there is no state file at %s: kiln serve has not run for this site yet (or give --state FILE)\n", c.verb.name, p)
		return nil, false
	}
	st, err := state.Open(p)
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln %s: %v\n", c.verb.name, err)
		return nil, false
	}
	return st, true
}

var statusVerb = &verb{
	name:    "status",
	args:    "[-C DIR] [--json]",
	summary: "Show each node's install state, as kiln serve recorded it",
	help: `Prints every node of the site with its state (planned, needs-reinstall,
booting, installing, installed, puppet-signed, configured, failed), how
long it has been in it, its install boots and, for a failed node, why.
Reads the state file; kiln serve need not be running.

Examples:
  kiln status -C mysite
  kiln status -C mysite --json | jq '.nodes[] | select(.state == "failed")'
`,
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		site, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		st, ok := c.openState()
		if !ok {
			return exitDefs
		}
		defer st.Close()
		nodes, err := st.Nodes(context.Background())
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln status: %v\n", err)
			return exitDefs
		}
		views := serve.Views(site.Cluster, nodes)
		if c.json {
			c.printJSON(map[string]any{"cluster": site.Cluster.Name, "nodes": views})
			return exitOK
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NODE\tROLE\tSTATE\tFOR\tBOOTS\tIP\tLAST\tREASON")
		counts := map[string]int{}
		for _, v := range views {
			role := v.Role
			if !v.InSite {
				role = "(not in site)"
			}
			if v.InSite {
				counts[v.State]++
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", v.Name, role, v.State, since(v.Since), v.Boots, dash(v.IP), dash(v.LastEvent), v.Reason)
		}
		w.Flush()
		var parts []string
		for _, s := range state.States {
			if counts[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			}
		}
		fmt.Fprintf(c.stdout, "%s: %d nodes: %s\n", site.Cluster.Name, len(site.Cluster.Nodes), strings.Join(parts, ", "))
		return exitOK
	},
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

var eventsVerb = &verb{
	name:    "events",
	args:    "[-C DIR] [NODE] [-n N] [--json] [--prune BEFORE]",
	summary: "Show the event log: boots, fetches, callbacks, state changes, who did what",
	help: `Prints the last events kiln serve recorded, oldest first, for every node
or for one.

The log grows with every boot and fetch; --prune BEFORE deletes what is
older (the log is otherwise append-only) and logs that it did.

Examples:
  kiln events -C mysite wn7
  kiln events -C mysite -n 0 --json > events.json
  kiln events -C mysite --prune 2160h      # keep 90 days
`,
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		if c.sv.limit < 0 {
			c.usageError("-n must be 0 (all) or more")
			return exitUsage
		}
		var before time.Time
		if c.sv.prune != "" {
			var err error
			if before, err = pruneTime(c.sv.prune, time.Now()); err != nil {
				c.usageError(err.Error())
				return exitUsage
			}
			if len(pos) > 0 {
				c.usageError("--prune deletes every node's old events; give no NODE")
				return exitUsage
			}
		}
		st, ok := c.openState()
		if !ok {
			return exitDefs
		}
		defer st.Close()
		if c.sv.prune != "" {
			n, err := st.Prune(context.Background(), before, whoami())
			if err != nil {
				fmt.Fprintf(c.stderr, "kiln events: %v\n", err)
				return exitDefs
			}
			fmt.Fprintf(c.stdout, "pruned %d events older than %s\n", n, before.Format(time.RFC3339))
			return exitOK
		}
		q := state.Query{Limit: c.sv.limit}
		if len(pos) == 1 {
			q.Node = pos[0]
			if _, known, err := st.Node(context.Background(), q.Node); err == nil && !known {
				names := nodeNames(st)
				fmt.Fprintf(c.stderr, "kiln events: the state file has no node %q %s\n", q.Node, diag.DidYouMean(q.Node, names))
				return exitDefs
			}
		}
		evs, err := st.Events(context.Background(), q)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln events: %v\n", err)
			return exitDefs
		}
		if c.json {
			if evs == nil {
				evs = []state.Event{}
			}
			c.printJSON(evs)
			return exitOK
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "#\tTIME\tNODE\tKIND\tCHANGE\tDETAIL\tWHO\tFROM")
		for _, e := range evs {
			change := "-"
			if e.Kind == state.KindState || e.Kind == state.KindAdded {
				change = dash(e.From) + " -> " + e.To
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04:05"), dash(e.Node), e.Kind, change, e.Detail, dash(e.Actor), dash(e.Remote))
		}
		w.Flush()
		return exitOK
	},
}

// pruneTime reads --prune: a date, an RFC 3339 time, or an age.
func pruneTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--prune %q is not a date (2006-01-02), a time (RFC 3339) or an age (720h)", v)
}

func nodeNames(st *state.Store) []string {
	nodes, _ := st.Nodes(context.Background())
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

var reinstallVerb = &verb{
	name:    "reinstall",
	args:    "[-C DIR] NODE... [--reason TEXT]",
	summary: "Mark nodes for reinstall: their next network boot installs them",
	help: `Marks each node needs-reinstall in the state file, with a fresh count of
install boots; this also releases a node held as failed. The node's next
PXE boot gets the installer (set its firmware to boot from the network
first, or power-cycle it into PXE). kiln serve need not be running.

Examples:
  kiln reinstall -C mysite wn7 --reason "new disk"
  kiln reinstall -C mysite wn1 wn2 wn3
`,
	run: func(c *cmdContext) int {
		pos, ok := c.parse(1, -1)
		if !ok {
			return exitUsage
		}
		site, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		var bad []string
		for _, n := range pos {
			if site.Cluster.Node(n) == nil {
				bad = append(bad, fmt.Sprintf("the site has no node %q %s", n, diag.DidYouMean(n, site.Cluster.NodeNames())))
			}
		}
		if len(bad) > 0 {
			for _, b := range bad {
				fmt.Fprintf(c.stderr, "kiln reinstall: %s\n", strings.TrimSpace(b))
			}
			fmt.Fprintln(c.stderr, "kiln reinstall: nothing was marked.")
			return exitDefs
		}
		st, ok := c.openState()
		if !ok {
			return exitDefs
		}
		defer st.Close()
		// Nodes added to the site since kiln serve last loaded it.
		if _, err := st.Sync(context.Background(), nodeList(site.Cluster)); err != nil {
			fmt.Fprintf(c.stderr, "kiln reinstall: %v\n", err)
			return exitDefs
		}
		actor := whoami()
		for _, n := range pos {
			before, _, _ := st.Node(context.Background(), n)
			r, err := st.Reinstall(context.Background(), n, actor, c.sv.reason)
			if err != nil {
				fmt.Fprintf(c.stderr, "kiln reinstall: %s: %v\n", n, err)
				return exitDefs
			}
			was := "?"
			if before != nil {
				was = before.State
			}
			fmt.Fprintf(c.stdout, "%s: %s -> %s; its next network boot installs it (event %d)\n", n, was, r.Node.State, r.Seq)
			if m := site.Cluster.Node(n); m != nil && m.FQDN != "" {
				fmt.Fprintf(c.stdout, "  its old install token and Puppet challenge are void; clean its old certificate on the Puppet server: puppetserver ca clean --certname %s\n", m.FQDN)
			}
		}
		return exitOK
	},
}

func nodeList(c *model.Cluster) []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Name
	}
	return out
}

// whoami names the admin for the event log: user@host, with sudo's user.
func whoami() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = fmt.Sprintf("uid %d", os.Getuid())
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}
