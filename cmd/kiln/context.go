package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/pipeline"
)

// cmdContext carries one command's flags and streams.
type cmdContext struct {
	verb           *verb
	stdout, stderr io.Writer
	args           []string

	dir     string
	example string
	json    bool
	out     string
	diff    bool
	workers int
	macs    bool
	force   bool
	// designDir is kiln init --design PATH.
	designDir string
	bk        backupFlags // the backup and recovery verbs' (cmd_backup.go)
	sv        serveFlags  // serve, status, events, reinstall (cmd_serve.go)
	pp        puppetFlags // modules export (cmd_modules.go)
}

func (c *cmdContext) withArgs(args []string) *cmdContext {
	c.args = args
	return c
}

// flags returns the verb's flag set; which flags exist depends on the verb.
func (v *verb) flags(c *cmdContext) *flag.FlagSet {
	fs := flag.NewFlagSet("kiln "+v.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch v.name {
	case "check", "build", "plan", "show", "explain", "enc", "autosign", "modules", "graph":
		fs.StringVar(&c.dir, "C", ".", "the site folder (the one that holds site.yaml)")
		fs.StringVar(&c.example, "example", "", "use an example embedded in kiln (tier3) instead of a site folder")
	}
	switch v.name {
	case "check", "plan", "show", "explain":
		fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	}
	switch v.name {
	case "build", "plan":
		fs.StringVar(&c.out, "o", "", "the build folder (default: build/ in the site folder)")
	case "schema":
		fs.StringVar(&c.out, "o", "", "write every schema into this folder instead of printing one")
	case "graph":
		fs.StringVar(&c.out, "o", "", "the folder to write the pictures into (default: the current folder); - prints one")
	}
	switch v.name {
	case "plan":
		fs.BoolVar(&c.diff, "diff", false, "show a unified diff of each changed file")
	case "init":
		fs.IntVar(&c.workers, "workers", 4, "how many worker nodes the starter site has")
		fs.BoolVar(&c.macs, "example-macs", false, "fill in made-up MAC addresses (for tests and benchmarks, not real machines)")
		fs.BoolVar(&c.force, "force", false, "write into a folder that already has a site.yaml")
		fs.StringVar(&c.designDir, "design", "", "a design folder (design.yaml, roles/, catalog/, templates/) to start a site of, instead of the embedded tier3: its starter/site.yaml.tmpl, or a site.yaml made from its roles")
	}
	c.backupFlagSet(v.name, fs)
	c.serveFlagSet(v.name, fs)
	c.puppetFlagSet(v.name, fs)
	return fs
}

// parse reads flags anywhere among the arguments (kiln show wn1 -C demo
// works as well as kiln show -C demo wn1) and returns the positionals.
func (c *cmdContext) parse(min, max int) ([]string, bool) {
	fs := c.verb.flags(c)
	var pos []string
	args := c.args
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				verbHelp(c.stdout, c.verb)
				return nil, false
			}
			c.usageError(err.Error())
			return nil, false
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < min || max >= 0 && len(pos) > max {
		switch {
		case max == 0:
			c.usageError(fmt.Sprintf("%s takes no arguments, but was given %q", c.verb.name, strings.Join(pos, " ")))
		case len(pos) < min:
			c.usageError(fmt.Sprintf("%s needs %s", c.verb.name, c.verb.args))
		default:
			c.usageError(fmt.Sprintf("too many arguments: %s", strings.Join(pos, " ")))
		}
		return nil, false
	}
	// -C given at all, even -C ., conflicts with --example.
	setC := false
	fs.Visit(func(f *flag.Flag) { setC = setC || f.Name == "C" })
	if c.example != "" && setC {
		c.usageError("give either -C DIR or --example NAME, not both")
		return nil, false
	}
	return pos, true
}

func (c *cmdContext) usageError(msg string) {
	fmt.Fprintf(c.stderr, "kiln %s: %s\nUsage: kiln %s %s\nRun kiln help %s for more.\n", c.verb.name, msg, c.verb.name, c.verb.args, c.verb.name)
}

func (c *cmdContext) source() pipeline.Source {
	return pipeline.Source{Dir: c.dir, Example: c.example}
}

// resolve loads the site, printing its problems when there are any.
func (c *cmdContext) resolve() (*pipeline.Site, bool) {
	s, err := pipeline.Resolve(c.source())
	if err != nil {
		c.report(err)
		return nil, false
	}
	return s, true
}

// report prints an error: every diagnostic on its own line, or the error.
func (c *cmdContext) report(err error) {
	var de *diag.Error
	if errors.As(err, &de) {
		if c.json {
			c.printJSON(map[string]any{"ok": false, "problems": de.Diagnostics})
			return
		}
		for _, d := range de.Diagnostics {
			fmt.Fprintln(c.stderr, d.String())
		}
		n := len(de.Diagnostics)
		plural := "s"
		if n == 1 {
			plural = ""
		}
		fmt.Fprintf(c.stderr, "kiln %s: %d problem%s found; nothing was written.\n", c.verb.name, n, plural)
		return
	}
	fmt.Fprintf(c.stderr, "kiln %s: %v\n", c.verb.name, err)
}

func (c *cmdContext) printJSON(v any) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// outDir is the build folder: -o, or build/ in the site folder (in the
// current folder for an embedded example).
func (c *cmdContext) outDir() string {
	if c.out != "" {
		return c.out
	}
	if c.example != "" {
		return "build"
	}
	return filepath.Join(c.dir, "build")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
