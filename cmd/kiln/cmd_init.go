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
	summary: "Create a commented starter site for the embedded tier3 design, or for any design folder",
	help: `Writes DIR/site.yaml (every line explained; replace the placeholder
addresses with yours), random secrets in DIR/secrets (0600, kept if they
exist), and JSON Schemas in DIR/.schema that editors use to complete and
check site.yaml as you type. The private network grows with --workers.

With --design PATH the site is one of the design in that folder: its own
starter (starter/site.yaml.tmpl) when it has one, or else a site.yaml made
from its networks, roles (their count bounds and networks, start
addresses) and secrets, commented.

Examples:
  kiln init mysite && kiln check -C mysite && kiln build -C mysite
  kiln init /tmp/big --workers 10000 --example-macs --no-identity   # a scale test
  kiln init seqlab --design ../designs/genomics && kiln check -C seqlab
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		fs.IntVar(&c.workers, "workers", 4, "how many worker nodes (`N`) the starter site has")
		fs.BoolVar(&c.macs, "example-macs", false, "fill in made-up MAC addresses (for tests and benchmarks, not real machines)")
		fs.BoolVar(&c.force, "force", false, "write into a folder that already has a site.yaml")
		fs.BoolVar(&c.bk.noIdentity, "no-identity", false, "make no SSH host keys for the nodes (kiln identity makes them later)")
		fs.StringVar(&c.designDir, "design", "", "a design folder (`PATH`: design.yaml, roles/, catalog/, templates/) to start a site of, instead of the embedded tier3: its starter/site.yaml.tmpl, or a site.yaml made from its roles")
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
		res, err := starter.Write(dir, starter.Options{Workers: c.workers, ExampleMACs: c.macs, Force: c.force, DesignDir: c.designDir})
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
