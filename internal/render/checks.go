package render

import (
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// Checks runs the design's checks (design.yaml checks:) on every node of
// c: each is a template whose output, trimmed, is a problem of that node.
// A check that prints the same words for many nodes is reported once, with
// the nodes named, so a rule broken by 10,000 workers is one line.
func Checks(d *load.Definitions, c *model.Cluster) *diag.List {
	diags := &diag.List{}
	if d.Design == nil {
		return diags
	}
	r := newRenderer(newSecrets(d))
	for i, ch := range d.Design.Checks {
		name := "checks[" + itoa(i) + "]"
		t, err := template.New(name).Option("missingkey=error").Funcs(funcs(nil)).Parse(ch.Node.Value)
		if err != nil {
			diags.Add(ch.Node.Pos, "design "+name, "the check is not a valid template: "+templateMsg(err), "correct the template")
			continue
		}
		if names := lint(t, ch.Node.Pos.File, d); len(names) > 0 {
			for _, p := range names {
				diags.Add(ch.Node.Pos, "design "+name, p.What, p.Fix) // the template is a value of design.yaml
			}
			continue
		}
		t = r.clone(t)
		var order []string
		nodes := map[string][]string{}
		for _, n := range c.Nodes {
			r.buf.Reset()
			if err := t.Execute(&r.buf, Data{Cluster: c, Node: n, Role: c.Role(n.Role)}); err != nil {
				diags.Add(ch.Node.Pos, "node "+n.Name, "the design's check failed to run: "+templateMsg(err), "correct the check in the design")
				break
			}
			what := strings.TrimSpace(r.buf.String())
			if what == "" {
				continue
			}
			if nodes[what] == nil {
				order = append(order, what)
			}
			nodes[what] = append(nodes[what], n.Name)
		}
		for _, what := range order {
			l := nodes[what]
			where := "node " + l[0]
			if len(l) > 1 {
				where = "nodes " + strings.Join(l, ", ")
				if len(l) > 5 {
					where = "nodes " + strings.Join(l[:5], ", ") + " and " + itoa(len(l)-5) + " more"
				}
			}
			fix := strings.TrimSpace(ch.Fix)
			if fix == "" {
				fix = strings.TrimSpace(ch.Doc)
			}
			diags.Add(ch.Node.Pos, where, what, fix)
		}
	}
	return diags
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
