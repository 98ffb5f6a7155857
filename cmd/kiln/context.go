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
	color          bool // stdout is a terminal and NO_COLOR is not set
	colorErr       bool // the same for stderr
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
	strict  bool // --strict: warnings are problems (warnings.go)
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

// flags returns the verb's flag set: the flags its own file declares
// (verb.flags), and -h. Nothing here knows a verb by name.
func (v *verb) flagSet(c *cmdContext) *flag.FlagSet {
	fs := flag.NewFlagSet("kiln "+v.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if v.flags != nil {
		v.flags(c, fs)
	}
	return fs
}

// The flags several verbs share. A flag's help puts its placeholder in
// back quotes (flag.UnquoteUsage): "-C DIR" in the usage line and help.

// siteFlags adds -C DIR and --example NAME.
func (c *cmdContext) siteFlags(fs *flag.FlagSet) {
	c.dirFlag(fs)
	fs.StringVar(&c.example, "example", "", "use an example embedded in kiln (`NAME`: tier3) instead of a site folder")
}

// dirFlag adds -C DIR alone, for the verbs that need a real folder.
// KILN_SITE, when set, is its default.
func (c *cmdContext) dirFlag(fs *flag.FlagSet) {
	def := "."
	if e := os.Getenv("KILN_SITE"); e != "" {
		def = e
	}
	fs.StringVar(&c.dir, "C", def, "the site folder, the `DIR` that holds site.yaml (default: $KILN_SITE, else the current folder)")
}

// jsonFlag adds --json.
func (c *cmdContext) jsonFlag(fs *flag.FlagSet) {
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts (docs/scripting.md), errors too")
}

// buildFlag adds -o DIR for the build folder.
func (c *cmdContext) buildFlag(fs *flag.FlagSet, what string) {
	fs.StringVar(&c.out, "o", "", what+" (`DIR`; default: build/ in the site folder)")
}

// parse reads flags anywhere among the arguments (kiln show wn1 -C demo
// works as well as kiln show -C demo wn1) and returns the positionals;
// everything after -- is positional, even when it starts with a dash.
func (c *cmdContext) parse(min, max int) ([]string, bool) {
	fs := c.verb.flagSet(c)
	var pos, rest []string
	args := c.args
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
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
	pos = append(pos, rest...)
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

// usageLine is "kiln VERB [flags] ARGS", the flags from the verb's flag
// set, so it never leaves one out.
func usageLine(v *verb) string {
	fs := v.flagSet(&cmdContext{verb: v})
	parts := []string{"kiln", v.name}
	site := fs.Lookup("C") != nil && fs.Lookup("example") != nil
	if site {
		parts = append(parts, "[-C DIR | --example NAME]")
	}
	fs.VisitAll(func(f *flag.Flag) {
		if site && (f.Name == "C" || f.Name == "example") || deprecated(f) {
			return
		}
		parts = append(parts, "["+flagSyntax(f)+"]")
	})
	if v.args != "" {
		parts = append(parts, v.args)
	}
	return strings.Join(parts, " ")
}

// flagSyntax is "-C DIR", "--json" or "--listen ADDR:PORT".
func flagSyntax(f *flag.Flag) string {
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	name, _ := flag.UnquoteUsage(f)
	if isBool(f) {
		return dash + f.Name
	}
	if name == "" {
		name = "VALUE"
	}
	return dash + f.Name + " " + name
}

// deprecated flags (help "deprecated: …") still parse, to say what
// replaced them, but are not offered.
func deprecated(f *flag.Flag) bool { return strings.HasPrefix(f.Usage, "deprecated:") }

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// printFlags lists a flag set for kiln help: "  -C DIR", then its help.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if deprecated(f) {
			return
		}
		_, usage := flag.UnquoteUsage(f)
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && !strings.Contains(usage, "default") {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %s\n      %s%s\n", flagSyntax(f), usage, def)
	})
}

// usageError reports a mistake in the command line (exit status 2).
func (c *cmdContext) usageError(msg string) {
	if c.json {
		c.printJSON(jsonError{Error: msg, Exit: exitUsage, Usage: usageLine(c.verb)})
		return
	}
	fmt.Fprintf(c.stderr, "kiln %s: %s\nUsage: %s\nRun kiln help %s for more.\n", c.verb.name, msg, usageLine(c.verb), c.verb.name)
}

// jsonError is what --json prints on stdout when a verb fails.
type jsonError struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Exit  int    `json:"exit"`
	Usage string `json:"usage,omitempty"`
}

// fail prints an error the verb could not get past and returns the exit
// status to end with: "kiln VERB: MSG" on stderr, or under --json the
// error object on stdout. Verbs end through it (or report for definition
// problems), so every error path maps to a status in one place.
func (c *cmdContext) fail(status int, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	if c.json {
		c.printJSON(jsonError{Error: msg, Exit: status})
		return status
	}
	fmt.Fprintf(c.stderr, "kiln %s: %s\n", c.verb.name, msg)
	return status
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
	return s, c.warned(s)
}

// report prints an error: every diagnostic on its own line, or the error.
func (c *cmdContext) report(err error) {
	var de *diag.Error
	if errors.As(err, &de) {
		if c.json {
			c.printJSON(map[string]any{"ok": false, "problems": de.Diagnostics, "exit": exitDefs})
			return
		}
		for _, d := range de.Diagnostics {
			line := d.String()
			if c.colorErr {
				// The position in bold, so each problem stands out.
				if p := d.Pos.String(); p != "" && strings.HasPrefix(line, p) {
					line = "\x1b[1m" + p + "\x1b[0m" + line[len(p):]
				}
			}
			fmt.Fprintln(c.stderr, line)
		}
		n := de.Errors()
		also := ""
		if w := len(de.Diagnostics) - n; w > 0 {
			also = " (and " + plural(w, "warning") + ")"
		}
		msg := fmt.Sprintf("kiln %s: %s found%s; nothing was written.", c.verb.name, plural(n, "problem"), also)
		if c.colorErr {
			msg = "\x1b[31m" + msg + "\x1b[0m"
		}
		fmt.Fprintln(c.stderr, msg)
		return
	}
	c.fail(exitDefs, "%v", err)
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
