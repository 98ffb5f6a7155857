package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

var manVerb = &verb{
	name:    "man",
	args:    "",
	summary: "Print kiln's manual page (roff), made from the same text as kiln help",
	help: `Prints kiln(1) in roff: every command's usage line, summary, help and
flags, the environment and the exit statuses, from the text kiln help
shows, so the two never differ.

Examples:
  kiln man | man -l -
  kiln man > /usr/local/share/man/man1/kiln.1
`,
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		writeMan(c.stdout)
		return exitOK
	},
}

// roff escapes text for a roff line: backslashes, and a leading dot or
// quote that roff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	// Beyond ASCII, by code point (groff's \[uXXXX]).
	var b strings.Builder
	for _, r := range s {
		if r > 126 {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeMan(w io.Writer) {
	var overview bytes.Buffer
	usage(&overview)
	fmt.Fprintf(w, ".TH KILN 1 %q \"kiln %s\" \"User Commands\"\n", time.Now().UTC().Format("2006-01-02"), roff(version()))
	fmt.Fprintf(w, ".SH NAME\nkiln \\- build and serve everything that installs a scientific computing cluster\n")
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B kiln\n.I command\n[\\fIflags\\fR] [\\fIarguments\\fR]\n")
	fmt.Fprintf(w, ".SH DESCRIPTION\n.nf\n")
	for _, l := range strings.Split(strings.TrimRight(overview.String(), "\n"), "\n") {
		fmt.Fprintln(w, roff(l))
	}
	fmt.Fprintf(w, ".fi\n.SH COMMANDS\n")
	for _, g := range verbGroups {
		for _, v := range g.verbs {
			fmt.Fprintf(w, ".SS %s\n", roff(v.name))
			fmt.Fprintf(w, ".B %s\n.PP\n%s\n", roff(usageLine(v)), roff(v.summary))
			if v.help != "" {
				fmt.Fprintf(w, ".PP\n.nf\n")
				for _, l := range strings.Split(strings.TrimRight(v.help, "\n"), "\n") {
					fmt.Fprintln(w, roff(l))
				}
				fmt.Fprintf(w, ".fi\n")
			}
			v.flagSet(&cmdContext{verb: v}).VisitAll(func(f *flag.Flag) {
				if deprecated(f) {
					return
				}
				_, u := flag.UnquoteUsage(f)
				fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(flagSyntax(f)), roff(u))
			})
		}
	}
	fmt.Fprintf(w, `.SH ENVIRONMENT
.TP
.B KILN_SITE
the site folder when \-C is not given
.TP
.B NO_COLOR
when set and not empty, no colour even on a terminal
.SH EXIT STATUS
0 done; 1 definition errors, or the work failed; 2 usage errors.
With \-\-json, a failing command prints {"ok": false, "error": ..., "exit": N} on standard output.
.SH SEE ALSO
docs/scripting.md in kiln's source: exit statuses, JSON shapes and the HTTP API.
`)
}
