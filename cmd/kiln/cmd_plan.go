package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/state"
)

var planVerb = &verb{
	name:    "plan",
	args:    "",
	summary: "Show what a build would add, change and remove",
	help: `Renders the site and compares it with the last build, without writing
anything. First the machines: nodes added and removed, and for each
changed node what changed (MAC, address, role, group, parameters), those
the state file says are installed marked "installed" (a change reaches
them by Puppet or a reinstall). Then the files, against the build's
MANIFEST. --diff adds a unified diff of each file; secret-bearing files
are listed but never shown.

Example:
  kiln plan -C mysite --diff
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.jsonFlag(fs)
		c.buildFlag(fs, "the build folder to compare with")
		fs.BoolVar(&c.diff, "diff", false, "show a unified diff of each changed file")
	},
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		files, err := s.Render()
		if err != nil {
			c.report(err)
			return exitDefs
		}
		files = append(files, s.NodesSummary())
		changes, err := output.Plan(c.outDir(), files, c.diff)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln plan: %v\n", err)
			return exitDefs
		}
		nodes, summary, err := c.planNodes(s)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln plan: %v\n", err)
			return exitDefs
		}
		if c.json {
			if changes == nil {
				changes = []output.Change{}
			}
			if nodes == nil {
				nodes = []pipeline.NodeChange{}
			}
			c.printJSON(map[string]any{"build": c.outDir(), "nodes": nodes, "changes": changes})
			return exitOK
		}
		if summary != "" && len(changes) > 0 {
			fmt.Fprintln(c.stdout, summary)
			printNodeChanges(c, nodes)
			fmt.Fprintln(c.stdout, "\nfiles:")
		}
		counts := map[string]int{}
		for _, ch := range changes {
			counts[ch.Op]++
			mark := map[string]string{"add": "+", "change": "~", "remove": "-"}[ch.Op]
			fmt.Fprintf(c.stdout, "%s %s\t(%s)\n", mark, ch.Path, ch.Origin)
			if ch.Diff != "" {
				fmt.Fprint(c.stdout, ch.Diff)
			}
		}
		if len(changes) == 0 {
			fmt.Fprintf(c.stdout, "%s is up to date: a build would change nothing.\n", c.outDir())
			return exitOK
		}
		fmt.Fprintf(c.stdout, "plan for %s: %d to add, %d to change, %d to remove.\n", c.outDir(), counts["add"], counts["change"], counts["remove"])
		return exitOK
	},
}

// planNodes compares the site's nodes with the last build's (its
// NodesFile) and marks those the state file says are installed. summary
// is the heading of the node section, "" when there is nothing to say.
func (c *cmdContext) planNodes(s *pipeline.Site) ([]pipeline.NodeChange, string, error) {
	old, ok, err := pipeline.ReadFacts(c.outDir())
	if err != nil {
		return nil, "", err
	}
	if !ok {
		if exists(c.outDir()) {
			return nil, fmt.Sprintf("nodes: the build in %s has no %s (made by an older kiln), so only its files are compared.", c.outDir(), pipeline.NodesFile), nil
		}
		return nil, "", nil // no build yet: every file is to add, and the files say so
	}
	changes := pipeline.CompareNodes(old, pipeline.Facts(s.Cluster))
	installed := c.installedNodes()
	counts := map[string]int{}
	inst := 0
	for i := range changes {
		counts[changes[i].Op]++
		if installed[changes[i].Node] && changes[i].Op != "add" {
			changes[i].Installed = true
			inst++
		}
	}
	if len(changes) == 0 {
		return nil, "nodes: no node changes.", nil
	}
	head := fmt.Sprintf("nodes: %d to add, %d to change, %d to remove", counts["add"], counts["change"], counts["remove"])
	if inst > 0 {
		head += fmt.Sprintf(" (%d of them installed)", inst)
	}
	return changes, head + ":", nil
}

// installedNodes are the nodes the state file says have installed, if
// kiln serve ever ran for this site.
func (c *cmdContext) installedNodes() map[string]bool {
	out := map[string]bool{}
	p := c.statePath()
	if c.example != "" || !exists(p) {
		return out
	}
	st, err := state.Open(p)
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln plan: cannot read the state file, so installed nodes are not marked: %v\n", err)
		return out
	}
	defer st.Close()
	nodes, err := st.Nodes(context.Background())
	if err != nil {
		return out
	}
	for _, n := range nodes {
		out[n.Name] = !n.InstalledAt.IsZero()
	}
	return out
}

// printNodeChanges prints one line per node added or removed, and per
// changed node what changed; a change common to three or more nodes (a
// site-wide parameter) is said once, with the nodes it is on.
func printNodeChanges(c *cmdContext, nodes []pipeline.NodeChange) {
	on := map[string][]string{}
	var order []string
	for _, n := range nodes {
		for _, ch := range n.Changes {
			if on[ch] == nil {
				order = append(order, ch)
			}
			on[ch] = append(on[ch], n.Node)
		}
	}
	shared := map[string]bool{}
	for _, ch := range order {
		shared[ch] = len(on[ch]) >= 3
	}
	for _, n := range nodes {
		var own []string
		for _, ch := range n.Changes {
			if !shared[ch] {
				own = append(own, ch)
			}
		}
		if n.Op == "change" && len(own) == 0 {
			continue
		}
		mark := map[string]string{"add": "+", "change": "~", "remove": "-"}[n.Op]
		what := n.Role
		if n.Group != "" {
			what += ", " + n.Group
		}
		if n.Installed {
			what += ", installed"
		}
		fmt.Fprintf(c.stdout, "%s %s (%s)\n", mark, n.Node, what)
		for _, ch := range own {
			fmt.Fprintf(c.stdout, "    %s\n", ch)
		}
	}
	for _, ch := range order {
		if !shared[ch] {
			continue
		}
		names := on[ch]
		list := strings.Join(names, ", ")
		if len(names) > 8 {
			list = fmt.Sprintf("%s and %d more", strings.Join(names[:6], ", "), len(names)-6)
		}
		fmt.Fprintf(c.stdout, "~ %d nodes (%s)\n    %s\n", len(names), list, ch)
	}
}
