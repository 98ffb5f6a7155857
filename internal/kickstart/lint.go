// Package kickstart checks kickstart files against the grammar of the
// Anaconda release that will read them — kiln's stand-in for pykickstart's
// ksvalidator, which Debian does not package. The tests of the install
// chain run every generated kickstart through Lint.
//
// It parses a file into commands and %-sections as pykickstart does
// (shell-like quoting, # comments, %end), and reports every command or
// option the dialect does not know or has deprecated or removed, bad
// option values, wrong argument counts, repeated single-use commands and
// sections left open. It does not judge values (an address, a path): the
// real programs and the tests of the templates do that.
package kickstart

import (
	"fmt"
	"slices"
	"strings"
)

// File is a parsed kickstart.
type File struct {
	Commands []*Line
	Sections []*Block
}

// Line is one command line.
type Line struct {
	N    int // 1-based line number
	Name string
	Args []string
}

// Block is a %-section: its header, options and body.
type Block struct {
	N      int // line of the header
	Name   string
	Args   []string
	Body   string
	BodyN  int // line of the body's first line
	Closed bool
}

// Problem is one finding, with its line.
type Problem struct {
	N   int
	Msg string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.N, p.Msg) }

// Command returns the first command called name, or nil.
func (f *File) Command(name string) *Line {
	for _, c := range f.Commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// All returns every command called name.
func (f *File) All(name string) []*Line {
	var out []*Line
	for _, c := range f.Commands {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// Section returns every section called name ("%post").
func (f *File) Section(name string) []*Block {
	var out []*Block
	for _, b := range f.Sections {
		if b.Name == name {
			out = append(out, b)
		}
	}
	return out
}

// Flag returns the value of an option on a command line ("" and false
// when absent; "" and true for a flag).
func (l *Line) Flag(name string) (string, bool) {
	for i, a := range l.Args {
		if a == name {
			if i+1 < len(l.Args) && !strings.HasPrefix(l.Args[i+1], "--") {
				return l.Args[i+1], true
			}
			return "", true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// sectionNames are the section headers pykickstart knows at all.
var sectionNames = []string{"%packages", "%pre", "%pre-install", "%post", "%traceback", "%onerror", "%addon", "%anaconda", "%include", "%ksappend"}

// Lint parses text as a kickstart of the dialect and lists its problems.
// An unknown dialect is itself a problem (line 0).
func Lint(dialect, text string) (*File, []Problem) {
	d := Dialects[dialect]
	f := &File{}
	var probs []Problem
	add := func(n int, format string, a ...any) { probs = append(probs, Problem{n, fmt.Sprintf(format, a...)}) }
	if d == nil {
		add(0, "unknown dialect %q (known: %s)", dialect, strings.Join(Names(), ", "))
		return f, probs
	}
	var cur *Block
	var body []string
	closeBlock := func(closed bool) {
		cur.Body = strings.Join(body, "\n")
		if len(body) > 0 {
			cur.Body += "\n"
		}
		cur.Closed = closed
		f.Sections = append(f.Sections, cur)
		cur, body = nil, nil
	}
	seen := map[string]int{}
	lines := strings.Split(text, "\n")
	if strings.HasSuffix(text, "\n") {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		n := i + 1
		if strings.ContainsRune(raw, '\r') {
			add(n, "carriage return in the line (DOS line ending)")
		}
		trimmed := strings.TrimSpace(raw)
		head := strings.Fields(trimmed)
		isHeader := len(head) > 0 && slices.Contains(sectionNames, head[0])
		if cur != nil {
			switch {
			case trimmed == "%end":
				if !d.EndAllowed {
					add(n, "%%end is not known to %s (pykickstart %s): a section ends where the next one starts", d.Name, d.Handler)
				}
				closeBlock(true)
			case isHeader && cur.Name != "%include":
				if d.EndRequired {
					add(cur.N, "section %s is not closed with %%end before %s on line %d", cur.Name, head[0], n)
				}
				closeBlock(false)
			default:
				body = append(body, raw)
				continue
			}
			if trimmed == "%end" {
				continue
			}
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if trimmed == "%end" {
			add(n, "%%end with no section open")
			continue
		}
		if strings.HasPrefix(trimmed, "%") {
			name := head[0]
			if name == "%include" || name == "%ksappend" {
				add(n, "%s is not allowed: kiln writes self-contained kickstarts", name)
				continue
			}
			s, ok := d.Sections[name]
			if !ok {
				add(n, "section %s is not known to %s (pykickstart %s)", name, d.Name, d.Handler)
			}
			args, err := split(trimmed)
			if err != nil {
				add(n, "%v", err)
			}
			if len(args) > 0 {
				args = args[1:]
			}
			if ok {
				checkOpts(n, name, args, s.Options, 0, 0, add, d)
			}
			cur = &Block{N: n, Name: name, Args: args, BodyN: n + 1}
			continue
		}
		if len(f.Sections) > 0 && !d.EndAllowed {
			add(n, "command after a section: %s reads commands only before the first %%-section", d.Name)
		}
		args, err := split(trimmed)
		if err != nil {
			add(n, "%v", err)
			continue
		}
		if len(args) == 0 {
			continue
		}
		l := &Line{N: n, Name: args[0], Args: args[1:]}
		f.Commands = append(f.Commands, l)
		c, ok := d.Commands[l.Name]
		if !ok {
			add(n, "unknown command %q in %s (pykickstart %s)", l.Name, d.Name, d.Handler)
			continue
		}
		if c.Status != OK {
			add(n, "%s is %s in %s: %s", l.Name, c.Status, d.Name, c.Note)
		}
		if prev, dup := seen[l.Name]; dup && !c.Multi {
			add(n, "%s is given twice (first on line %d); it may be given once", l.Name, prev)
		}
		seen[l.Name] = n
		// pykickstart maps aliases to one class: part/partition count as one.
		if c.FreeForm || c.Status != OK {
			continue
		}
		if c.Options == nil {
			add(n, "the linter has no option table for %s in %s (pykickstart %s): add one before kiln writes this command", l.Name, d.Name, c.Class)
			continue
		}
		checkOpts(n, l.Name, l.Args, c.Options, c.MinArgs, c.MaxArgs, add, d)
	}
	if cur != nil {
		if d.EndRequired {
			add(cur.N, "section %s is not closed with %%end", cur.Name)
		}
		closeBlock(false)
	}
	for _, b := range f.Section("%packages") {
		for j, l := range strings.Split(strings.TrimRight(b.Body, "\n"), "\n") {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if len(strings.Fields(t)) != 1 {
				add(b.BodyN+j, "%%packages: one package, @group or -package per line, not %q", t)
			}
		}
	}
	if len(f.Section("%packages")) > 1 {
		add(f.Section("%packages")[1].N, "a second %%packages section")
	}
	return f, probs
}

func checkOpts(n int, what string, args []string, opts map[string]Opt, minArgs, maxArgs int, add func(int, string, ...any), d *Dialect) {
	pos := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			pos++
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		o, ok := opts[name]
		if !ok {
			add(n, "%s: option %s is not known to %s (pykickstart %s)", what, name, d.Name, d.Handler)
			continue
		}
		if o.Status != OK {
			add(n, "%s: option %s is %s in %s: %s", what, name, o.Status, d.Name, o.Note)
		}
		if !o.Value {
			if hasVal {
				add(n, "%s: option %s takes no value", what, name)
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				add(n, "%s: option %s needs a value", what, name)
				continue
			}
			i++
			val = args[i]
		}
		if val == "" {
			add(n, "%s: option %s has an empty value", what, name)
		}
		if len(o.Choices) > 0 && !slices.Contains(o.Choices, val) {
			add(n, "%s: %s=%s is not one of %s", what, name, val, strings.Join(o.Choices, ", "))
		}
	}
	if pos < minArgs || maxArgs >= 0 && pos > maxArgs {
		want := fmt.Sprintf("%d to %d", minArgs, maxArgs)
		if minArgs == maxArgs {
			want = fmt.Sprint(minArgs)
		} else if maxArgs < 0 {
			want = fmt.Sprintf("at least %d", minArgs)
		}
		add(n, "%s takes %s argument(s) besides its options, not %d", what, want, pos)
	}
}

// split breaks a line into words as Python's shlex.split(line,
// comments=True) does, which is how pykickstart reads a command.
func split(s string) ([]string, error) {
	var out []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
			inWord = true
		case c == '#' && !inWord:
			i = len(s)
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, w.String())
	}
	return out, nil
}
