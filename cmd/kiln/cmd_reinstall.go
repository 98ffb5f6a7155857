package main

import (
	"context"
	"flag"
	"fmt"

	"kiln.dev/kiln/internal/selector"
	"kiln.dev/kiln/internal/serve"
)

var reinstallVerb = &verb{
	name:    "reinstall",
	args:    "SELECTOR... | --failed",
	summary: "Mark nodes for reinstall: their next network boot installs them",
	help: `Marks each selected node needs-reinstall in the state file, with a fresh
count of install boots; this also releases a node held as failed. The
node's next PXE boot gets the installer (set its firmware to boot from the
network first, or power-cycle it into PXE). kiln serve need not be running.

Selectors: NAME, NAME[1-12], role:ROLE, group:GROUP, state:STATE, all;
--failed adds every failed node. A selector that matches no node marks
nothing and says why.

Examples:
  kiln reinstall -C mysite wn7 --reason "new disk"
  kiln reinstall -C mysite 'wn[1-12]'
  kiln reinstall -C mysite --failed
  kiln reinstall -C mysite role:worker group:rack2
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dbFlags(fs)
		c.jsonFlag(fs)
		fs.StringVar(&c.sv.reason, "reason", "", "why, for the event log (`TEXT`)")
		fs.BoolVar(&c.sv.failed, "failed", false, "every node kiln serve holds as failed (as state:failed)")
	},
	run: runReinstall,
}

// reinstalled is one node in kiln reinstall --json's answer.
type reinstalled struct {
	Node  string `json:"node"`
	From  string `json:"from"`
	To    string `json:"to"`
	Event int64  `json:"event"`
	FQDN  string `json:"fqdn,omitempty"`
}

func runReinstall(c *cmdContext) int {
	pos, ok := c.parse(0, -1)
	if !ok {
		return exitUsage
	}
	if c.sv.failed {
		pos = append(pos, "state:failed")
	}
	if len(pos) == 0 {
		c.usageError("give the nodes to reinstall (NAME, wn[1-12], role:ROLE, group:GROUP, state:STATE, all) or --failed")
		return exitUsage
	}
	sel, err := selector.Parse(pos)
	if err != nil {
		c.usageError(err.Error())
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
	ctx := context.Background()
	// Nodes added to the site since kiln serve last loaded it.
	if _, err := st.Sync(ctx, nodeList(site.Cluster)); err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	nodes, err := st.Nodes(ctx)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	views := serve.Views(site.Cluster, nodes)
	var inSite []serve.NodeView
	for _, v := range views {
		if v.InSite {
			inSite = append(inSite, v)
		}
	}
	snodes, states := selectorNodes(inSite)
	names, err := sel.Match(snodes, states)
	if err != nil {
		return c.fail(exitDefs, "%v; nothing was marked", err)
	}
	if len(names) == 0 {
		if c.json {
			c.printJSON(map[string]any{"reinstall": []reinstalled{}})
			return exitOK
		}
		fmt.Fprintf(c.stdout, "no node matches %s: nothing to mark\n", sel)
		return exitOK
	}
	actor := whoami()
	var done []reinstalled
	for _, n := range names {
		r, err := st.Reinstall(ctx, n, actor, c.sv.reason)
		if err != nil {
			return c.fail(exitDefs, "%s: %v", n, err)
		}
		d := reinstalled{Node: n, From: states[n], To: r.Node.State, Event: r.Seq}
		if m := site.Cluster.Node(n); m != nil {
			d.FQDN = m.FQDN
		}
		done = append(done, d)
		if !c.json {
			fmt.Fprintf(c.stdout, "%s: %s -> %s; its next network boot installs it (event %d)\n", n, d.From, d.To, d.Event)
		}
	}
	if c.json {
		c.printJSON(map[string]any{"reinstall": done})
		return exitOK
	}
	fmt.Fprintln(c.stdout, "Their old install tokens and Puppet challenges are void; clean their old certificates on the Puppet server:")
	for _, d := range done {
		if d.FQDN != "" {
			fmt.Fprintf(c.stdout, "  puppetserver ca clean --certname %s\n", d.FQDN)
		}
	}
	return exitOK
}
