package main

import (
	"flag"
	"fmt"

	"kiln.dev/kiln/internal/diag"
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
it. Warnings (FILE:LINE:COL: warning: …) are what builds but is probably
not meant: a list of MACs shorter than count, a start address on a gateway,
an unknown time zone, nodes without SSH host keys. They leave the exit
status 0; --strict counts them as problems. Nothing is written: a site
kiln check passes builds.

Example:
  kiln check -C mysite
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.jsonFlag(fs)
		fs.BoolVar(&c.strict, "strict", false, "count warnings as problems (exit status 1)")
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
			c.printJSON(map[string]any{"ok": true, "problems": []any{}, "warnings": append([]diag.Diagnostic{}, s.Warnings...), "nodes": len(cl.Nodes), "roles": len(cl.Roles)})
			return exitOK
		}
		also := ""
		if len(s.Warnings) > 0 {
			also = " (" + plural(len(s.Warnings), "warning") + " above; --strict makes them problems)"
		}
		fmt.Fprintf(c.stdout, "%s: %d nodes in %d roles, no problems found%s.\n", cl.Name, len(cl.Nodes), len(cl.Roles), also)
		return exitOK
	},
}
