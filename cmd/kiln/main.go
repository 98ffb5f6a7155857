// Command kiln deploys and recovers scientific computing clusters: it
// validates a site's definitions and builds everything that installs and
// configures the cluster. Run kiln help for the verbs.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"kiln.dev/kiln/internal/diag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitDefs  = 1 // definition errors, or the work could not be done
	exitUsage = 2
)

// verb is one kiln command. A verb lives in its own file, cmd_<name>.go:
// its flags (declared by its flags func, with the shared ones from
// context.go: siteFlags, dirFlag, jsonFlag, buildFlag) and its run func.
// It is listed once, in verbGroups below. See docs/contributing.md.
type verb struct {
	name    string
	args    string // the positional arguments for the usage line; the flags are added from the flag set
	summary string
	help    string // longer text with an example
	flags   func(c *cmdContext, fs *flag.FlagSet)
	run     func(c *cmdContext) int
}

var verbs []*verb

// verbGroups orders the verbs for kiln help, in the order a cluster's life
// uses them.
var verbGroups []struct {
	title string
	verbs []*verb
}

func init() {
	verbGroups = []struct {
		title string
		verbs []*verb
	}{
		{"Describe and check the site", []*verb{initVerb, checkVerb, showVerb, explainVerb, schemaVerb}},
		{"Build its files", []*verb{buildVerb, planVerb, graphVerb}},
		{"Install the machines", []*verb{serveVerb, statusVerb, eventsVerb, reinstallVerb, discoverVerb}},
		{"Puppet", []*verb{encVerb, autosignVerb, modulesVerb}},
		{"Keep it safe and recover", []*verb{identityVerb, backupVerb, restoreVerb, recoverVerb, drillVerb}},
		{"Other", []*verb{completionVerb, manVerb, versionVerb}},
	}
	for _, g := range verbGroups {
		verbs = append(verbs, g.verbs...)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			v := findVerb(args[1])
			if v == nil {
				// Asked about a command that does not exist: say so, as
				// kiln NAME would, rather than answer with the overview.
				fmt.Fprintf(stderr, "kiln help: unknown command %q%s\n\n", args[1], suggestVerb(args[1]))
				usage(stderr)
				return exitUsage
			}
			verbHelp(stdout, v)
			return exitOK
		}
		usage(stdout)
		return exitOK
	case "--version", "-version":
		name = "version"
	}
	v := findVerb(name)
	if v == nil {
		fmt.Fprintf(stderr, "kiln: unknown command %q%s\n\n", name, suggestVerb(name))
		usage(stderr)
		return exitUsage
	}
	// kiln VERB -h asks for help: answer it with status 0, not as a usage
	// error (the flag package reports -h as an error).
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			verbHelp(stdout, v)
			return exitOK
		}
	}
	c := &cmdContext{verb: v, stdout: stdout, stderr: stderr, color: colorOn(stdout), colorErr: colorOn(stderr)}
	return v.run(c.withArgs(args[1:]))
}

func findVerb(name string) *verb {
	for _, v := range verbs {
		if v.name == name {
			return v
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Kiln builds everything that installs and configures a scientific cluster
from three kinds of definitions: the catalog (modules), the design (roles)
and the site (site.yaml).

Usage: kiln <command> [flags] [arguments]
`)
	for _, g := range verbGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, v := range g.verbs {
			fmt.Fprintf(w, "  %-9s %s\n", v.name, v.summary)
		}
	}
	fmt.Fprint(w, `
Most commands read a site: -C DIR names its folder (default: $KILN_SITE,
else the current folder), or --example tier3 uses the example embedded in
kiln. Commands that take nodes accept selectors: wn3, wn[1-12],
role:worker, group:rack2, state:failed, all.

Start with:   kiln build --example tier3 -o /tmp/tier3
Your own:     kiln init mysite && kiln check -C mysite && kiln build -C mysite

Exit status: 0 done, 1 definition errors (or the work failed), 2 usage errors.
Run kiln help <command> for a command's flags and an example; kiln man for
the manual, kiln completion bash|zsh|fish for shell completion.
`)
}

func verbHelp(w io.Writer, v *verb) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", usageLine(v), v.summary)
	if v.help != "" {
		fmt.Fprintf(w, "\n%s", v.help)
	}
	fs := v.flagSet(&cmdContext{verb: v})
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, fs)
	}
}

func suggestVerb(name string) string {
	var names []string
	for _, v := range verbs {
		names = append(names, v.name)
	}
	return diag.Hint(name, names)
}
