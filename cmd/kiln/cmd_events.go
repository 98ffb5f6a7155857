package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"kiln.dev/kiln/internal/selector"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

var eventsVerb = &verb{
	name:    "events",
	args:    "[SELECTOR...]",
	summary: "Show the event log: boots, fetches, callbacks, state changes, who did what",
	help: `Prints the last events kiln serve recorded, oldest first, for every node
or for the selected ones (NAME, NAME[1-12], role:ROLE, group:GROUP,
state:STATE, all). Reads the state file alone: it works when site.yaml
has an error. --follow then prints each new event as it comes, until
interrupted (with --json: one event a line).

The log grows with every boot and fetch; --prune BEFORE deletes what is
older (the log is otherwise append-only) and logs that it did.

Examples:
  kiln events -C mysite wn7
  kiln events -C mysite role:worker --follow
  kiln events -C mysite -n 0 --json > events.json
  kiln events -C mysite --prune 2160h      # keep 90 days
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dbFlags(fs)
		c.jsonFlag(fs)
		fs.IntVar(&c.sv.limit, "n", 100, "show the last `N` events (0: all)")
		fs.StringVar(&c.sv.prune, "prune", "", "delete the events older than `BEFORE` (a date 2006-01-02, a time RFC 3339, or an age such as 720h) instead of showing events")
		fs.BoolVar(&c.sv.follow, "follow", false, "after the last events, print new ones as kiln serve records them, until interrupted")
		fs.DurationVar(&c.sv.interval, "interval", time.Second, "with --follow: how often (`DURATION`) to look for new events")
	},
	run: runEvents,
}

func runEvents(c *cmdContext) int {
	pos, ok := c.parse(0, -1)
	if !ok {
		return exitUsage
	}
	if c.sv.limit < 0 {
		c.usageError("-n must be 0 (all) or more")
		return exitUsage
	}
	sel, err := selector.Parse(pos)
	if err != nil {
		c.usageError(err.Error())
		return exitUsage
	}
	var before time.Time
	if c.sv.prune != "" {
		if before, err = pruneTime(c.sv.prune, time.Now()); err != nil {
			c.usageError(err.Error())
			return exitUsage
		}
		if !sel.Empty() || c.sv.follow {
			c.usageError("--prune deletes every node's old events; give no selector and no --follow")
			return exitUsage
		}
	}
	if c.sv.follow && c.sv.interval < 100*time.Millisecond {
		c.usageError("--interval must be at least 100ms")
		return exitUsage
	}
	st, ok := c.openState()
	if !ok {
		return exitDefs
	}
	defer st.Close()
	ctx := context.Background()
	if c.sv.prune != "" {
		n, err := st.Prune(ctx, before, whoami())
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		if c.json {
			c.printJSON(map[string]any{"pruned": n, "before": before.UTC()})
			return exitOK
		}
		fmt.Fprintf(c.stdout, "pruned %d events older than %s\n", n, before.Format(time.RFC3339))
		return exitOK
	}
	// The selected nodes: nil for every event (server events too).
	var only map[string]bool
	q := state.Query{Limit: c.sv.limit}
	if !sel.Empty() {
		rec, err := c.siteRecord(st)
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		nodes, err := st.Nodes(ctx)
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		snodes, states := selectorNodes(serve.RecordViews(rec, nodes))
		names, err := sel.Match(snodes, states)
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		only = map[string]bool{}
		for _, n := range names {
			only[n] = true
		}
		if len(names) == 1 {
			q.Node = names[0]
		}
	}
	// The log's last event before reading: --follow goes on from there,
	// so nothing that comes while the first events print is lost.
	var head int64
	if tail, err := st.Events(ctx, state.Query{Limit: 1}); err == nil && len(tail) == 1 {
		head = tail[0].Seq
	}
	evs, err := selectEvents(ctx, st, q, only)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	if c.json && !c.sv.follow {
		if evs == nil {
			evs = []state.Event{}
		}
		c.printJSON(evs)
		return exitOK
	}
	var last int64
	print := func(evs []state.Event, header bool) {
		if c.json {
			for _, e := range evs {
				b, _ := json.Marshal(e)
				fmt.Fprintf(c.stdout, "%s\n", b)
			}
			return
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		if header {
			fmt.Fprintln(w, "#\tTIME\tNODE\tKIND\tCHANGE\tDETAIL\tWHO\tFROM")
		}
		printEvents(w, evs)
		w.Flush()
	}
	print(evs, !c.sv.follow || len(evs) > 0)
	if !c.sv.follow {
		return exitOK
	}
	last = max(head, 0)
	if len(evs) > 0 {
		last = max(last, evs[len(evs)-1].Seq)
	}
	header := len(evs) > 0 || c.json
	sig, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for {
		select {
		case <-sig.Done():
			return exitOK
		case <-time.After(c.sv.interval):
		}
		// Every event after the mark, then the selected ones: the mark
		// moves past the others too.
		all, err := st.Events(ctx, state.Query{Node: q.Node, After: last})
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		if len(all) == 0 {
			continue
		}
		last = all[len(all)-1].Seq
		var news []state.Event
		for _, e := range all {
			if only == nil || q.Node != "" || only[e.Node] {
				news = append(news, e)
			}
		}
		if len(news) > 0 {
			print(news, !header)
			header = true
		}
	}
}

// selectEvents reads events, keeping only the selected nodes' when only
// is not nil; q.Limit then counts the kept ones.
func selectEvents(ctx context.Context, st *state.Store, q state.Query, only map[string]bool) ([]state.Event, error) {
	if only == nil || q.Node != "" {
		return st.Events(ctx, q)
	}
	limit := q.Limit
	q.Limit = 0
	all, err := st.Events(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []state.Event
	for _, e := range all {
		if only[e.Node] {
			out = append(out, e)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func printEvents(w io.Writer, evs []state.Event) {
	for _, e := range evs {
		change := "-"
		if e.Kind == state.KindState || e.Kind == state.KindAdded {
			change = dash(e.From) + " -> " + e.To
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04:05"), dash(e.Node), e.Kind, change, e.Detail, dash(e.Actor), dash(e.Remote))
	}
}
