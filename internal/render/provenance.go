package render

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// execProblem is a template's failure for one job, at the template's line,
// with what the definitions say about it: where each parameter value the
// failing line reads on this node was set (the site's line, most often),
// and, when the template found something missing, the roles the site
// leaves without nodes.
func (r *renderer) execProblem(err error, j job, where string) *diag.Diagnostic {
	a := j.a
	p := &diag.Diagnostic{Pos: templatePos(err, a.file), Where: where, What: templateMsg(err), Fix: "fix the template, or the value it reads"}
	if strings.Contains(p.What, "exceeded maximum template depth") {
		p.Fix = "a template that includes itself needs a condition that ends it"
		a.tooDeep.CompareAndSwap(nil, p)
		return p
	}
	if n := j.data.Node; n != nil && p.Pos.Line > 0 {
		if v := valuesOnLine(a.src, p.Pos.Line, n); v != "" {
			p.What += " (" + v + ")"
		}
	}
	if looksMissing(p.What) && j.data.Cluster != nil {
		if empty := emptyRoles(j.data.Cluster, r.secrets.d); empty != "" {
			p.Fix = "the site has no nodes of " + empty + ": give the role nodes in site.yaml, or make the template skip what it needs from it when there are none"
		}
	}
	return p
}

// paramCall finds NODE.Param "module" "name" in a template's line, and
// MODULE.Param "name" (the module is then the node's one that has it).
var paramCall = regexp.MustCompile(`\bParam\s+"([^"]+)"(?:\s+"([^"]+)")?`)

// valuesOnLine says where the parameter values line (1-based) of src reads
// on node n come from: "base.timezone is "X" from site.yaml:12:5".
func valuesOnLine(src string, line int, n *model.Node) string {
	lines := strings.SplitN(src, "\n", line+1)
	if line > len(lines) {
		return ""
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range paramCall.FindAllStringSubmatch(lines[line-1], -1) {
		module, name := m[1], m[2]
		if name == "" {
			module, name = "", m[1]
			for _, mod := range n.Modules {
				if mod.Param(name) != nil {
					if module != "" {
						module = "" // two modules have it: which is unknown
						break
					}
					module = mod.Name
				}
			}
		}
		key := module + "." + name
		if module == "" || seen[key] {
			continue
		}
		seen[key] = true
		mod := n.Module(module)
		if mod == nil {
			continue
		}
		prm := mod.Param(name)
		if prm == nil {
			continue
		}
		v := fmt.Sprint(prm.Value)
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		s := fmt.Sprintf("%s is %q", key, v)
		if !prm.Origin.Pos.IsZero() {
			s += ", set at " + prm.Origin.Pos.String()
		} else if prm.Origin.Layer != "" {
			s += ", the " + prm.Origin.Layer
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// looksMissing: the template failed on something absent (an empty list, a
// nil node), as it does when a role it needs has no nodes.
func looksMissing(what string) bool {
	for _, s := range []string{"out of range", "nil pointer", "has no ", "no node", "nil data", "no entry for key"} {
		if strings.Contains(what, s) {
			return true
		}
	}
	return false
}

// emptyRoles names the roles with no nodes, each at its site.yaml line
// (or the nodes: line when the site does not mention it).
func emptyRoles(c *model.Cluster, d *load.Definitions) string {
	var names []string
	for _, rl := range c.Roles {
		if len(rl.Nodes) == 0 {
			names = append(names, rl.Name)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		if pos := siteNodesPos(d, n); !pos.IsZero() {
			names[i] = fmt.Sprintf("role %s (%s)", n, pos)
		} else {
			names[i] = "role " + n
		}
	}
	return strings.Join(names, ", ")
}

// siteNodesPos is where site.yaml gives a role's nodes, or its nodes: line.
func siteNodesPos(d *load.Definitions, role string) diag.Pos {
	if d == nil || d.Site == nil {
		return diag.Pos{}
	}
	if rn := d.Site.Nodes[role]; rn != nil && !rn.Pos.IsZero() {
		return rn.Pos
	}
	return d.Site.KeyPos["nodes"]
}
