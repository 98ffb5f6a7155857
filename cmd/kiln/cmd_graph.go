package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kiln.dev/kiln/internal/diagram"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/starter"
)

// pictures are what kiln graph draws, by name.
var pictures = []struct {
	name, doc string
	draw      func(*model.Cluster) []byte
}{
	{"wiring", "networks, machines, NICs with addresses and MACs, VMs inside their host", diagram.Wiring},
	{"roles", "roles by install stage, what waits for what, and which role runs which module", diagram.Roles},
}

var graphVerb = &verb{
	name:    "graph",
	args:    "[wiring | roles]",
	summary: "Draw the cluster's wiring and install order as SVG pictures",
	help: `Draws, from the resolved site and with no other program, the pictures the
runbook shows: wiring.svg (` + pictures[0].doc + `) and roles.svg (` + pictures[1].doc + `).
They are written into the folder -o names (default: the build folder, beside the build's own copies);
-o - prints the one picture named to standard output.

Examples:
  kiln graph --example tier3 -o /tmp/pictures
  kiln graph -C mysite -o - wiring > wiring.svg
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.jsonFlag(fs)
		fs.StringVar(&c.out, "o", "", "the folder to write the pictures into (`DIR`; default: build/ in the site folder); - prints one")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		want := pictures[:]
		if len(pos) == 1 {
			want = want[:0:0]
			for _, p := range pictures {
				if p.name == pos[0] {
					want = append(want, p)
				}
			}
			if len(want) == 0 {
				c.usageError(fmt.Sprintf("there is no picture %q; the pictures are wiring and roles", pos[0]))
				return exitUsage
			}
		}
		if c.out == "-" && len(want) != 1 {
			c.usageError("-o - prints one picture: name it (wiring or roles)")
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		if c.out == "-" {
			c.stdout.Write(want[0].draw(s.Cluster))
			return exitOK
		}
		// By default beside the build's own copies (the same pictures).
		dir := c.outDir()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		var names []string
		for _, p := range want {
			file := filepath.Join(dir, p.name+".svg")
			if err := starter.WriteFileAtomic(file, p.draw(s.Cluster), 0o644); err != nil {
				return c.fail(exitDefs, "%v", err)
			}
			names = append(names, file)
		}
		if c.json {
			c.printJSON(map[string]any{"wrote": names})
			return exitOK
		}
		fmt.Fprintf(c.stdout, "wrote %s\n", strings.Join(names, " "))
		return exitOK
	},
}
