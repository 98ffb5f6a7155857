package main

import (
	"errors"
	"flag"
	"fmt"

	"kiln.dev/kiln/internal/diag"
)

var buildVerb = &verb{
	name:    "build",
	args:    "",
	summary: "Check the site and write every artifact into the build folder",
	help: `Renders every artifact of the design for this site and writes the tree
atomically: a build that fails or is killed leaves the previous one whole.
A MANIFEST in the tree lists each file with its size, sha256 and origin.
Unchanged files are kept as they were; files that carry secrets are 0600.

Examples:
  kiln build --example tier3 -o /tmp/tier3
  kiln build -C mysite              # writes mysite/build
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.buildFlag(fs, "the build folder")
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
		dir := c.outDir()
		n, res, err := s.Write(dir)
		var problems *diag.Error
		if errors.As(err, &problems) {
			c.report(err)
			return exitDefs
		}
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		if c.json {
			c.printJSON(map[string]any{"ok": true, "cluster": s.Cluster.Name, "build": dir, "files": n,
				"added": orEmpty(res.Added), "changed": orEmpty(res.Changed), "removed": orEmpty(res.Removed), "unchanged": len(res.Unchanged)})
			return exitOK
		}
		fmt.Fprintf(c.stdout, "built %s: %d files in %s (%d added, %d changed, %d removed, %d unchanged)\n",
			s.Cluster.Name, n, dir, len(res.Added), len(res.Changed), len(res.Removed), len(res.Unchanged))
		return exitOK
	},
}

// orEmpty makes a nil list an empty JSON array.
func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
