package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kiln.dev/kiln/internal/schema"
	"kiln.dev/kiln/internal/starter"
)

var schemaVerb = &verb{
	name:    "schema",
	args:    "[KIND]",
	summary: "Print or write the JSON Schema of a definition file kind",
	help: `Kinds: site, design, role, module. With KIND the schema is printed; with
-o DIR every kind is written as DIR/KIND.schema.json. Point your editor at
them (kiln init does: the first line of site.yaml names .schema/site.schema.json
for the yaml-language-server) and it completes and checks as you type.

Examples:
  kiln schema site
  kiln schema -o mysite/.schema
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		fs.StringVar(&c.out, "o", "", "write every schema into this folder (`DIR`) instead of printing one")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		if c.out != "" {
			if len(pos) > 0 {
				c.usageError("give either KIND (to print one) or -o DIR (to write all), not both")
				return exitUsage
			}
			if err := writeSchemas(c.out); err != nil {
				return c.fail(exitDefs, "%v", err)
			}
			fmt.Fprintf(c.stdout, "wrote %d schemas to %s\n", len(schema.Names()), c.out)
			return exitOK
		}
		if len(pos) == 0 {
			c.usageError("name a kind to print (" + strings.Join(schema.Names(), ", ") + ") or give -o DIR")
			return exitUsage
		}
		b, ok := schema.For(pos[0])
		if !ok {
			c.usageError(fmt.Sprintf("there is no kind %q; the kinds are %s", pos[0], strings.Join(schema.Names(), ", ")))
			return exitUsage
		}
		c.stdout.Write(b)
		return exitOK
	},
}

// writeSchemas writes every kind's schema into dir, each file whole or not
// at all (written beside, then renamed).
func writeSchemas(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, k := range schema.Names() {
		b, _ := schema.For(k)
		if err := starter.WriteFileAtomic(filepath.Join(dir, schema.Kinds[k].File), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
