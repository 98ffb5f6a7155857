package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"kiln.dev/kiln/internal/selector"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

var statusVerb = &verb{
	name:    "status",
	args:    "[SELECTOR...]",
	summary: "Show each node's install state, as kiln serve recorded it",
	help: `Prints every node (or the selected ones) with its role, group, state
(planned, needs-reinstall, booting, installing, installed, puppet-signed,
configured, failed), how long it has been in it, its install boots and,
for a failed node, why (or that a node is stuck: booting longer than 30
minutes, installing longer than 2 hours). Reads the state file alone (kiln.db in the site
folder, or --db FILE): it works while kiln serve runs, when it does not,
and when site.yaml has an error. Roles and groups are the ones kiln serve
last loaded.

Selectors: NAME, NAME[1-12], role:ROLE, group:GROUP, state:STATE, all
(any of them matches). --watch prints the table again every --interval.

Examples:
  kiln status -C mysite
  kiln status -C mysite role:worker --state failed
  kiln status -C mysite 'wn[1-12]' --watch
  kiln status --db /var/lib/kiln/kiln.db --json | jq '.nodes[] | select(.state == "failed")'
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dbFlags(fs)
		c.jsonFlag(fs)
		c.stateFilterFlag(fs)
		fs.BoolVar(&c.sv.watch, "watch", false, "print the table again every --interval until interrupted (with --json: one JSON object a line)")
		fs.DurationVar(&c.sv.interval, "interval", 2*time.Second, "with --watch: how often (`DURATION`)")
	},
	run: runStatus,
}

func runStatus(c *cmdContext) int {
	pos, ok := c.parse(0, -1)
	if !ok || !c.checkStateFilter() {
		return exitUsage
	}
	sel, err := selector.Parse(pos)
	if err != nil {
		c.usageError(err.Error())
		return exitUsage
	}
	if c.sv.watch && c.sv.interval < 100*time.Millisecond {
		c.usageError("--interval must be at least 100ms")
		return exitUsage
	}
	st, ok := c.openState()
	if !ok {
		return exitDefs
	}
	defer st.Close()
	if !c.sv.watch {
		return c.printStatus(st, sel)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for {
		if c.color && !c.json {
			fmt.Fprint(c.stdout, "\x1b[H\x1b[2J")
		}
		if code := c.printStatus(st, sel); code != exitOK {
			return code
		}
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(c.sv.interval):
		}
		if !c.color && !c.json {
			fmt.Fprintln(c.stdout)
		}
	}
}

// statusJSON is kiln status --json's shape (docs/scripting.md).
type statusJSON struct {
	Cluster string           `json:"cluster"`
	Time    time.Time        `json:"time"`
	Counts  map[string]int   `json:"counts"`
	Nodes   []serve.NodeView `json:"nodes"`
}

func (c *cmdContext) printStatus(st *state.Store, sel *selector.Selector) int {
	ctx := context.Background()
	rec, err := c.siteRecord(st)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	nodes, err := st.Nodes(ctx)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	views := serve.RecordViews(rec, nodes)
	snodes, states := selectorNodes(views)
	names, err := sel.Match(snodes, states)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	keep := make(map[string]int, len(names))
	for i, n := range names {
		keep[n] = i
	}
	shown := make([]serve.NodeView, len(names))
	groups := false
	for _, v := range views {
		if i, ok := keep[v.Name]; ok {
			shown[i] = v
			groups = groups || v.Group != ""
		}
	}
	if f := c.sv.stateFilter; f != "" {
		out := shown[:0]
		for _, v := range shown {
			if v.State == f {
				out = append(out, v)
			}
		}
		shown = out
	}
	counts := map[string]int{}
	for _, v := range shown {
		if v.InSite {
			counts[v.State]++
		}
	}
	if c.json {
		if shown == nil {
			shown = []serve.NodeView{}
		}
		out := statusJSON{Cluster: rec.Cluster, Time: time.Now().UTC(), Counts: counts, Nodes: shown}
		if c.sv.watch { // one object a line
			b, _ := json.Marshal(out)
			fmt.Fprintf(c.stdout, "%s\n", b)
			return exitOK
		}
		c.printJSON(out)
		return exitOK
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	head := "NODE\tROLE\tSTATE\tFOR\tBOOTS\tIP\tLAST\tREASON"
	if groups {
		head = "NODE\tROLE\tGROUP\tSTATE\tFOR\tBOOTS\tIP\tLAST\tREASON"
	}
	fmt.Fprintln(w, head)
	for _, v := range shown {
		role := dash(v.Role)
		if !v.InSite {
			role = "(not in site)"
		}
		reason := v.Reason
		if v.Stuck {
			reason = strings.TrimSpace(fmt.Sprintf("stuck: %s for longer than %v. %s", v.State, serve.StuckAfter[v.State], reason))
		}
		group := ""
		if groups {
			group = dash(v.Group) + "\t"
		}
		// The colour codes are the same width on every row, so the
		// columns stay aligned.
		fmt.Fprintf(w, "%s\t%s\t%s%s\t%s\t%d\t%s\t%s\t%s\n", v.Name, role, group, c.paint(stateColor(v.State), v.State), since(v.Since), v.Boots, dash(v.IP), dash(v.LastEvent), reason)
	}
	w.Flush()
	var parts []string
	for _, s := range state.States {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none selected"}
	}
	what := "nodes"
	if len(shown) == 1 {
		what = "node"
	}
	if !sel.Empty() || c.sv.stateFilter != "" {
		what += " selected"
	}
	name := rec.Cluster
	if name == "" {
		name = st.Path()
	}
	fmt.Fprintf(c.stdout, "%s: %d %s: %s\n", name, len(shown), what, strings.Join(parts, ", "))
	return exitOK
}
