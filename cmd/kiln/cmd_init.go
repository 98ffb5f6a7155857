package main

import (
	"flag"
	"fmt"
	"strings"

	"kiln.dev/kiln/internal/starter"
)

var initVerb = &verb{
	name:    "init",
	args:    "DIR",
	summary: "Create a commented starter site for the embedded tier3 design",
	help: `Writes DIR/site.yaml (every line explained; replace the placeholder
addresses with yours), random secrets in DIR/secrets (0600, kept if they
exist), and JSON Schemas in DIR/.schema that editors use to complete and
check site.yaml as you type. The private network grows with --workers.

Examples:
  kiln init mysite && kiln check -C mysite && kiln build -C mysite
  kiln init /tmp/big --workers 10000 --example-macs --no-identity   # a scale test
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		fs.IntVar(&c.workers, "workers", 4, "how many worker nodes (`N`) the starter site has")
		fs.BoolVar(&c.macs, "example-macs", false, "fill in made-up MAC addresses (for tests and benchmarks, not real machines)")
		fs.BoolVar(&c.force, "force", false, "write into a folder that already has a site.yaml")
		fs.BoolVar(&c.bk.noIdentity, "no-identity", false, "make no SSH host keys for the nodes (kiln identity makes them later)")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(1, 1)
		if !ok {
			return exitUsage
		}
		if c.workers < 0 || c.workers > starter.MaxWorkers {
			c.usageError(fmt.Sprintf("--workers must be between 0 and %d", starter.MaxWorkers))
			return exitUsage
		}
		dir := pos[0]
		res, err := starter.Write(dir, starter.Options{Workers: c.workers, ExampleMACs: c.macs, Force: c.force})
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		fmt.Fprintf(c.stdout, "wrote %s\n", strings.Join(res.Written, ", "))
		if len(res.Kept) > 0 {
			fmt.Fprintf(c.stdout, "kept the existing %s\n", strings.Join(res.Kept, ", "))
		}
		if !c.bk.noIdentity && !initIdentities(c, dir) {
			return exitDefs
		}
		fmt.Fprintf(c.stdout, "next: edit %s/site.yaml, then kiln check -C %s && kiln build -C %s\n", dir, dir, dir)
		return exitOK
	},
}
