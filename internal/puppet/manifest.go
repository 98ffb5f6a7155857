// Package puppet knows the parts of Puppet that kiln checks its own output
// against: the parameter lists of the classes in a module's manifests (for
// the catalog ↔ class parity check) and the certificate signing requests
// that policy-based autosigning reads.
package puppet

import (
	"fmt"
	"sort"
	"strings"
)

// Class is a class definition found in a manifest.
type Class struct {
	Name   string
	File   string // as shown to the user
	Line   int
	Params []Param
}

// Param is one parameter of a class.
type Param struct {
	Name       string
	Type       string // the type expression as written, "" when untyped
	HasDefault bool
	Line       int
}

// Param returns the class's parameter called name, or nil.
func (c *Class) Param(name string) *Param {
	for i := range c.Params {
		if c.Params[i].Name == name {
			return &c.Params[i]
		}
	}
	return nil
}

// ParseClasses finds every class definition in a manifest and reads its
// parameter list. It understands enough of the Puppet language to skip
// comments, strings (with interpolation) and nested brackets; a manifest it
// cannot follow is an error naming the line, never a guess.
func ParseClasses(file string, src []byte) ([]*Class, error) {
	toks, err := lex(string(src))
	if err != nil {
		return nil, fmt.Errorf("%s:%v", file, err)
	}
	var out []*Class
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord || t.text != "class" {
			continue
		}
		// "class" as a keyword starts a definition only when a class name
		// follows; Class['x'] references are a different word (capitalised).
		if i+1 >= len(toks) || toks[i+1].kind != tWord {
			continue
		}
		c := &Class{Name: strings.TrimPrefix(toks[i+1].text, "::"), File: file, Line: t.line}
		j := i + 2
		if j < len(toks) && toks[j].kind == tPunct && toks[j].text == "(" {
			end, params, err := parseParams(toks, j)
			if err != nil {
				return nil, fmt.Errorf("%s:%v", file, err)
			}
			c.Params = params
			j = end + 1
		}
		if j < len(toks) && toks[j].kind == tWord && toks[j].text == "inherits" {
			j += 2
		}
		if j >= len(toks) || toks[j].kind != tPunct || toks[j].text != "{" {
			// Not a definition (e.g. the resource-like declaration
			// class { 'x': }, whose next token is a string).
			continue
		}
		out = append(out, c)
		i = j
	}
	return out, nil
}

// parseParams reads a parameter list starting at the "(" at toks[open] and
// returns the index of its ")".
func parseParams(toks []token, open int) (int, []Param, error) {
	var params []Param
	depth := 0
	cur := Param{}
	var typ []string
	seenName, inDefault := false, false
	flush := func() {
		if seenName {
			cur.Type = strings.Join(typ, "")
			params = append(params, cur)
		}
		cur, typ, seenName, inDefault = Param{}, nil, false, false
	}
	for k := open; k < len(toks); k++ {
		t := toks[k]
		if t.kind == tPunct {
			switch t.text {
			case "(", "[", "{":
				depth++
				if depth == 1 {
					continue
				}
			case ")", "]", "}":
				depth--
				if depth == 0 {
					flush()
					return k, params, nil
				}
			case ",":
				if depth == 1 {
					flush()
					continue
				}
			case "=":
				if depth == 1 && seenName {
					inDefault = true
					cur.HasDefault = true
					continue
				}
			}
		}
		if depth == 1 && !seenName && t.kind == tVar {
			cur.Name, cur.Line, seenName = t.text, t.line, true
			continue
		}
		if !seenName && !inDefault {
			typ = append(typ, t.text)
		}
	}
	return 0, nil, fmt.Errorf("%d: the parameter list opened here is never closed", toks[open].line)
}

type tokKind int

const (
	tWord tokKind = iota
	tVar
	tString
	tPunct
	tOther
)

type token struct {
	kind tokKind
	text string
	line int
}

// lex splits a manifest into the tokens the class finder needs.
func lex(s string) ([]token, error) {
	var out []token
	line := 1
	var heredocs []string // end tags of heredocs opened on this line
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
			// A heredoc's text starts on the line after its @(TAG); skip
			// it, through its end marker ("| TAG", "|- TAG", "TAG").
			for _, tag := range heredocs {
				start := line
				for {
					if i >= len(s) {
						return nil, fmt.Errorf("%d: the heredoc %s is never ended", start-1, tag)
					}
					end := strings.IndexByte(s[i:], '\n')
					if end < 0 {
						end = len(s) - i
					}
					text := strings.TrimSpace(s[i : i+end])
					text = strings.TrimSpace(strings.TrimPrefix(text, "|"))
					text = strings.TrimSpace(strings.TrimPrefix(text, "-"))
					i += end
					if i < len(s) {
						i++
						line++
					}
					if text == tag {
						break
					}
				}
			}
			heredocs = nil
		case c == '@' && i+1 < len(s) && s[i+1] == '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 || strings.Contains(s[i:i+end], "\n") {
				return nil, fmt.Errorf("%d: a heredoc tag @( is never closed", line)
			}
			tag := s[i+2 : i+end]
			if k := strings.IndexAny(tag, ":/"); k >= 0 {
				tag = tag[:k]
			}
			tag = strings.Trim(strings.TrimSpace(tag), `"`)
			heredocs = append(heredocs, tag)
			out = append(out, token{tString, s[i : i+end+1], line})
			i += end + 1
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("%d: a /* comment is never closed", line)
			}
			line += strings.Count(s[i:i+2+end], "\n")
			i += end + 4
		case c == '/' && regexAllowed(out):
			j := i + 1
			for ; j < len(s) && s[j] != '/' && s[j] != '\n'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) || s[j] != '/' {
				return nil, fmt.Errorf("%d: a regular expression is never closed", line)
			}
			out = append(out, token{tOther, s[i : j+1], line})
			i = j + 1
		case c == '\'' || c == '"':
			start := line
			j := i + 1
			braces := 0
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '\n' {
					line++
				}
				if c == '"' && s[j] == '$' && j+1 < len(s) && s[j+1] == '{' {
					braces++
					j++
					continue
				}
				if braces > 0 && s[j] == '}' {
					braces--
					continue
				}
				if braces == 0 && s[j] == c {
					break
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%d: a string is never closed", start)
			}
			out = append(out, token{tString, s[i : j+1], start})
			i = j + 1
		case c == '$':
			j := i + 1
			for j < len(s) && (isWord(s[j]) || s[j] == ':') {
				j++
			}
			out = append(out, token{tVar, strings.TrimPrefix(s[i+1:j], "::"), line})
			i = j
		case isWord(c) || c == ':' && i+1 < len(s) && s[i+1] == ':':
			j := i
			for j < len(s) && (isWord(s[j]) || s[j] == ':' && j+1 < len(s) && s[j+1] == ':') {
				if s[j] == ':' {
					j += 2
					continue
				}
				j++
			}
			out = append(out, token{tWord, s[i:j], line})
			i = j
		case strings.IndexByte("()[]{},=", c) >= 0:
			// => and == are not assignments.
			if c == '=' && i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '=' || s[i+1] == '~') {
				out = append(out, token{tOther, s[i : i+2], line})
				i += 2
				continue
			}
			out = append(out, token{tPunct, string(c), line})
			i++
		default:
			out = append(out, token{tOther, string(c), line})
			i++
		}
	}
	return out, nil
}

// regexAllowed reports whether a slash after these tokens starts a regular
// expression (as in Pattern[/x/] or $a =~ /x/) rather than a division.
func regexAllowed(prev []token) bool {
	if len(prev) == 0 {
		return true
	}
	t := prev[len(prev)-1]
	switch t.kind {
	case tPunct:
		return t.text != ")" && t.text != "]" && t.text != "}"
	case tOther:
		return t.text == "=~" || t.text == "~" || t.text == "?" || t.text == ":" || t.text == "=>" || t.text == "==" || t.text == "!" || t.text == ";"
	case tWord:
		return t.text == "node" || t.text == "and" || t.text == "or" || t.text == "in"
	}
	return false
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// Names returns the parameter names of a class, sorted.
func (c *Class) Names() []string {
	out := make([]string, len(c.Params))
	for i, p := range c.Params {
		out[i] = p.Name
	}
	sort.Strings(out)
	return out
}
