package main

import (
	"fmt"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/pipeline"
)

// warned prints a resolved site's warnings on stderr (FILE:LINE:COL:
// warning: …), or, under --strict, reports them as the problems they then
// are and returns false.
func (c *cmdContext) warned(s *pipeline.Site) bool {
	if len(s.Warnings) == 0 {
		return true
	}
	if c.strict {
		l := &diag.List{}
		for _, w := range s.Warnings {
			l.Add(w.Pos, w.Where, w.What, w.Fix)
		}
		c.report(l.Err())
		return false
	}
	if c.json {
		return true // the verb puts them in its JSON
	}
	for _, w := range s.Warnings {
		fmt.Fprintln(c.stderr, w.String())
	}
	return true
}

// plural is "1 warning", "2 warnings".
func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
