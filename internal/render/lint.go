package render

import (
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
)

// lint reads a parsed template for names written in it that the
// definitions do not have: a module or parameter named with a string in
// .Param, .Module, .NodesWith or nodesWhere, a role in .NodesOf. At run
// time such a name gives nil (and "<nil>" in the file, or an error far from
// the cause); here it is an error at the template's line, with the name
// most like it.
//
// Only calls whose receiver is certain from the call alone are read:
// NODE.Param "module" "param" (only a node's Param takes two names),
// (….Module "m").Param "p" and $v.Param "p" where $v := ….Module "m",
// .NodesWith and .NodesOf (the cluster's only), .Module (the node's only).
// A one-name .Param on anything else must name a parameter of some module.
func lint(t *template.Template, file string, d *load.Definitions) []diag.Diagnostic {
	l := &linter{d: d, file: file, vars: map[string]string{}}
	var names []string
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Tree.Root != nil {
			names = append(names, tt.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		tt := t.Lookup(n)
		l.tree = tt.Tree
		l.walk(tt.Tree.Root)
	}
	return l.out
}

type linter struct {
	d    *load.Definitions
	file string
	tree *parse.Tree
	// vars maps a variable to the module of the .Module call it holds,
	// or "" when it is set to something else somewhere in the template.
	vars map[string]string
	out  []diag.Diagnostic
}

func (l *linter) walk(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			l.walk(c)
		}
	case *parse.ActionNode:
		l.pipe(n.Pipe)
	case *parse.IfNode:
		l.pipe(n.Pipe)
		l.walk(n.List)
		l.walk(n.ElseList)
	case *parse.RangeNode:
		l.pipe(n.Pipe)
		l.walk(n.List)
		l.walk(n.ElseList)
	case *parse.WithNode:
		l.pipe(n.Pipe)
		l.walk(n.List)
		l.walk(n.ElseList)
	case *parse.TemplateNode:
		l.pipe(n.Pipe)
	}
}

func (l *linter) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		l.cmd(c)
	}
	if len(p.Decl) > 0 {
		// The last variable holds the value (range $i, $n := … too).
		name := p.Decl[len(p.Decl)-1].Ident[0]
		kind := ""
		if len(p.Cmds) == 1 {
			if m := moduleCall(p.Cmds[0]); m != "" {
				kind = "module " + m
			} else if nodeCall(p.Cmds[0]) {
				kind = "node"
			}
		}
		if old, seen := l.vars[name]; seen && old != kind {
			kind = "" // set to two things: not certain
		}
		l.vars[name] = kind
	}
}

// nodeCall reports whether cmd gives a node, or (in a range) a list of
// them: .Node, ….Nodes, ….NodesWith "m", ….NodesOf "r", first … .
func nodeCall(cmd *parse.CommandNode) bool {
	if len(cmd.Args) == 0 {
		return false
	}
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		return id.Ident == "first"
	}
	switch method(cmd.Args[0]) {
	case "Node":
		f, ok := cmd.Args[0].(*parse.FieldNode)
		return ok && len(f.Ident) == 1 && len(cmd.Args) == 1 // .Node, not .Cluster.Node "x" (nil when absent)
	case "Nodes", "NodesWith", "NodesOf":
		return true
	}
	return false
}

// moduleCall is m when cmd is ….Module "m".
func moduleCall(cmd *parse.CommandNode) string {
	if len(cmd.Args) != 2 || method(cmd.Args[0]) != "Module" {
		return ""
	}
	if s, ok := cmd.Args[1].(*parse.StringNode); ok {
		return s.Text
	}
	return ""
}

// method is the last name of a field chain: Param for .Node.Param,
// $n.Param or (…).Param.
func method(n parse.Node) string {
	var ids []string
	switch n := n.(type) {
	case *parse.FieldNode:
		ids = n.Ident
	case *parse.VariableNode:
		ids = n.Ident[1:]
	case *parse.ChainNode:
		ids = n.Field
	}
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

func (l *linter) cmd(c *parse.CommandNode) {
	for _, a := range c.Args {
		switch a := a.(type) {
		case *parse.PipeNode:
			l.pipe(a)
		case *parse.ChainNode:
			if p, ok := a.Node.(*parse.PipeNode); ok {
				l.pipe(p)
			}
		}
	}
	if len(c.Args) == 0 {
		return
	}
	str := func(i int) (string, *parse.StringNode) {
		if i < len(c.Args) {
			if s, ok := c.Args[i].(*parse.StringNode); ok {
				return s.Text, s
			}
		}
		return "", nil
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		if id.Ident == "nodesWhere" {
			if m, at := str(2); at != nil && l.module(m, at) {
				if p, at := str(3); at != nil {
					l.param(m, p, at)
				}
			}
		}
		return
	}
	switch method(c.Args[0]) {
	case "Param":
		switch len(c.Args) {
		case 3: // a node's: module, parameter
			if m, at := str(1); at != nil && l.module(m, at) {
				if p, at := str(2); at != nil {
					l.param(m, p, at)
				}
			}
		case 2: // a module's: parameter
			p, at := str(1)
			if at == nil {
				return
			}
			m := ""
			switch r := c.Args[0].(type) {
			case *parse.ChainNode:
				if pn, ok := r.Node.(*parse.PipeNode); ok && len(pn.Cmds) == 1 && len(r.Field) == 1 {
					m = moduleCall(pn.Cmds[0])
				}
			case *parse.VariableNode:
				if len(r.Ident) == 2 {
					m, _ = strings.CutPrefix(l.vars[r.Ident[0]], "module ")
				}
			}
			if m != "" {
				if mod := l.d.Modules[m]; mod != nil {
					l.param(m, p, at)
				}
				return
			}
			l.anyParam(p, at)
		}
	case "Has": // a node's (a module), but also the build's (a path)
		onNode := false
		switch r := c.Args[0].(type) {
		case *parse.FieldNode:
			onNode = len(r.Ident) >= 2 && r.Ident[len(r.Ident)-2] == "Node"
		case *parse.VariableNode:
			onNode = len(r.Ident) == 2 && l.vars[r.Ident[0]] == "node"
		}
		if m, at := str(1); onNode && at != nil && len(c.Args) == 2 {
			l.module(m, at)
		}
	case "Module", "NodesWith":
		if m, at := str(1); at != nil && len(c.Args) == 2 {
			l.module(m, at)
		}
	case "NodesOf":
		if r, at := str(1); at != nil && len(c.Args) == 2 {
			if _, ok := l.d.Roles[r]; !ok {
				l.add(at, r, fmt.Sprintf("there is no role %q", r), l.d.RoleNames())
			}
		}
	}
}

// module reports whether the catalog has module m, and says so if not.
func (l *linter) module(m string, at parse.Node) bool {
	if mod, ok := l.d.Modules[m]; ok {
		return mod != nil // a module file that did not load is reported already
	}
	l.add(at, m, fmt.Sprintf("there is no module %q in the catalog", m), l.d.ModuleNames())
	return false
}

func (l *linter) param(m, p string, at parse.Node) {
	mod := l.d.Modules[m]
	if _, ok := mod.Parameters[p]; ok {
		return
	}
	l.add(at, p, fmt.Sprintf("module %s has no parameter %q", m, p), sortedParams(mod.Parameters))
}

func (l *linter) anyParam(p string, at parse.Node) {
	var all []string
	seen := map[string]bool{}
	for _, m := range l.d.Modules {
		if m == nil {
			return // a module that did not load may have it
		}
		if _, ok := m.Parameters[p]; ok {
			return
		}
		for n := range m.Parameters {
			if !seen[n] {
				seen[n] = true
				all = append(all, n)
			}
		}
	}
	sort.Strings(all)
	l.add(at, p, fmt.Sprintf("no module of the catalog has a parameter %q", p), all)
}

func (l *linter) add(at parse.Node, word, what string, candidates []string) {
	pos := diag.Pos{File: l.file}
	if loc, _ := l.tree.ErrorContext(at); loc != "" {
		// loc is name:line:col.
		parts := strings.Split(loc, ":")
		if len(parts) >= 3 {
			fmt.Sscan(parts[len(parts)-2], &pos.Line)
			fmt.Sscan(parts[len(parts)-1], &pos.Col)
			pos.Col++ // ErrorContext counts from 0
		}
	}
	fix := "write a name the definitions have"
	if s := diag.Suggest(word, candidates); s != "" {
		fix = fmt.Sprintf("did you mean %q?", s)
	} else if len(candidates) > 0 && len(candidates) <= 12 {
		fix = "valid choices: " + strings.Join(candidates, ", ")
	}
	l.out = append(l.out, diag.Diagnostic{Pos: pos, Where: "template " + l.tree.ParseName, What: what, Fix: fix})
}

func sortedParams(m map[string]*defs.Param) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
