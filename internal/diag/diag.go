// Package diag holds Kiln's user-facing diagnostics: a position in a
// definition file, what is wrong there, and how to fix it.
//
// Every stage of the pipeline collects diagnostics instead of stopping at
// the first problem, so a site administrator sees every error in one run.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a definition file. Line and Col count from 1; a zero
// Line means the whole file (or no file at all when File is empty).
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsZero reports whether p points nowhere.
func (p Pos) IsZero() bool { return p.File == "" }

// Warning is the Severity of a diagnostic that does not stop a build: the
// definitions are usable, but probably not what was meant (kiln check
// --strict counts warnings as errors).
const Warning = "warning"

// Diagnostic is one problem found in the definitions.
type Diagnostic struct {
	Pos      Pos    `json:"pos"`
	Severity string `json:"severity,omitempty"` // Warning, or "" for an error
	Where    string `json:"where,omitempty"`    // node, role or module concerned, e.g. "role worker"
	What     string `json:"what"`               // what is wrong
	Fix      string `json:"fix,omitempty"`      // how to fix it
}

// String formats the diagnostic as FILE:LINE:COL: where: what — fix, or
// FILE:LINE:COL: warning: where: what — fix.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity != "" {
		b.WriteString(d.Severity)
		b.WriteString(": ")
	}
	if d.Where != "" {
		b.WriteString(d.Where)
		b.WriteString(": ")
	}
	b.WriteString(d.What)
	if d.Fix != "" {
		b.WriteString(" — ")
		b.WriteString(d.Fix)
	}
	return b.String()
}

// List collects diagnostics. The zero value is ready to use.
type List struct {
	items []Diagnostic
}

// Add records a problem.
func (l *List) Add(pos Pos, where, what, fix string) {
	l.items = append(l.items, Diagnostic{Pos: pos, Where: where, What: what, Fix: fix})
}

// Keep records a diagnostic as it is, error or warning.
func (l *List) Keep(d Diagnostic) {
	l.items = append(l.items, d)
}

// Warn records a warning: something that does not stop a build but is
// probably not what was meant.
func (l *List) Warn(pos Pos, where, what, fix string) {
	l.items = append(l.items, Diagnostic{Pos: pos, Severity: Warning, Where: where, What: what, Fix: fix})
}

// Addf records a problem whose text needs formatting; fix is taken as is.
func (l *List) Addf(pos Pos, where, fix, format string, args ...any) {
	l.Add(pos, where, fmt.Sprintf(format, args...), fix)
}

// Append adds every diagnostic of other.
func (l *List) Append(other *List) {
	if other != nil {
		l.items = append(l.items, other.items...)
	}
}

// Len is the number of errors recorded (warnings are not counted).
func (l *List) Len() int {
	n := 0
	for _, d := range l.items {
		if d.Severity == "" {
			n++
		}
	}
	return n
}

// Warnings returns the warnings, sorted as Items sorts.
func (l *List) Warnings() []Diagnostic {
	var out []Diagnostic
	for _, d := range l.Items() {
		if d.Severity == Warning {
			out = append(out, d)
		}
	}
	return out
}

// Strict makes every warning recorded so far an error.
func (l *List) Strict() {
	for i := range l.items {
		l.items[i].Severity = ""
	}
}

// Items returns the errors and warnings sorted by file, line and column, with exact
// duplicates removed (two stages may notice the same thing).
func (l *List) Items() []Diagnostic {
	out := append([]Diagnostic(nil), l.items...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return out[i].What < out[j].What
	})
	dedup := out[:0]
	for i, d := range out {
		if i > 0 && d == out[i-1] {
			continue
		}
		dedup = append(dedup, d)
	}
	return dedup
}

// Err returns nil when the list holds no error (warnings alone are no
// error), and otherwise an *Error holding every error and warning.
func (l *List) Err() error {
	if l.Len() == 0 {
		return nil
	}
	return &Error{Diagnostics: l.Items()}
}

// Error is the error value of a failed stage: definition errors, which the
// command line reports one per line and answers with exit status 1. Its
// Diagnostics may include warnings found on the way (Severity Warning).
type Error struct {
	Diagnostics []Diagnostic
}

// Errors is how many of e's diagnostics are errors.
func (e *Error) Errors() int {
	n := 0
	for _, d := range e.Diagnostics {
		if d.Severity == "" {
			n++
		}
	}
	return n
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// OrFile returns p, or the start of file when p points nowhere.
func (p Pos) OrFile(file string) Pos {
	if p.IsZero() {
		return Pos{File: file}
	}
	return p
}
