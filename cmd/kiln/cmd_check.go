package main

import (
	"flag"
	"fmt"
)

var checkVerb = &verb{
	name:    "check",
	args:    "",
	summary: "Validate a site's definitions and report every problem at once",
	help: `Loads the catalog, the design and site.yaml, and checks them together:
types, references, addresses, MACs, names, counts and cycles; then renders
every artifact for every node as kiln build would (templates, the design's
autosign setting, output paths and collisions) and throws the bytes away.
Each problem is printed as FILE:LINE:COL: where: what is wrong — how to fix
it. Nothing is written: a site kiln check passes builds.

Example:
  kiln check -C mysite
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.jsonFlag(fs)
	},
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		if err := s.Check(); err != nil {
			c.report(err)
			return exitDefs
		}
		cl := s.Cluster
		if c.json {
			c.printJSON(map[string]any{"ok": true, "problems": []any{}, "nodes": len(cl.Nodes), "roles": len(cl.Roles)})
			return exitOK
		}
		fmt.Fprintf(c.stdout, "%s: %d nodes in %d roles, no problems found.\n", cl.Name, len(cl.Nodes), len(cl.Roles))
		return exitOK
	},
}
