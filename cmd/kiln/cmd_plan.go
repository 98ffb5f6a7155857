package main

import (
	"flag"
	"fmt"

	"kiln.dev/kiln/internal/output"
)

var planVerb = &verb{
	name:    "plan",
	args:    "",
	summary: "Show what a build would add, change and remove",
	help: `Renders the site and compares it with the last build (its MANIFEST),
without writing anything. --diff adds a unified diff of each file;
secret-bearing files are listed but never shown.

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
		changes, err := output.Plan(c.outDir(), files, c.diff)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln plan: %v\n", err)
			return exitDefs
		}
		if c.json {
			if changes == nil {
				changes = []output.Change{}
			}
			c.printJSON(map[string]any{"build": c.outDir(), "changes": changes})
			return exitOK
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
