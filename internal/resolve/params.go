package resolve

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/ptype"
)

// layerValue is one layer's raw value for a parameter.
type layerValue struct {
	node   *yaml.Node
	origin model.Origin
}

// params gives every node its modules with their final parameter values.
func (r *resolver) params() {
	// Values without references are the same on every node that has them:
	// convert each YAML value once.
	plain := map[*yaml.Node]any{}
	reported := map[string]bool{}
	for _, n := range r.c.Nodes {
		role := r.c.Role(n.Role)
		dr := r.d.Roles[n.Role]
		entry, counted := r.siteEntry(n)
		bootstrap := map[string]bool{}
		for _, b := range role.Bootstrap {
			bootstrap[b] = true
		}
		pkgs := map[string]bool{}
		for _, name := range role.Modules {
			m := r.d.Modules[name]
			mod := &model.Module{
				Name: name, Class: m.Class.Value, Description: strings.TrimSpace(m.Description),
				Packages: m.Packages, Bootstrap: bootstrap[name],
			}
			for _, req := range m.Requires {
				mod.Requires = append(mod.Requires, req.Value)
			}
			for _, p := range m.Ports {
				mod.Ports = append(mod.Ports, model.Port{Proto: p.Proto.Value, Port: p.Port, Zone: p.Zone.Value, Doc: p.Doc})
			}
			for _, s := range m.State {
				mod.State = append(mod.State, model.State{Paths: s.Paths, Dump: s.Dump, Restore: s.Restore,
					Schedule: orDefault(s.Schedule.Value, "daily"), Retention: retention(s.Retention), Doc: strings.TrimSpace(s.Doc)})
			}
			for _, pkg := range m.Packages {
				pkgs[pkg] = true
			}
			layers := [][]defs.ParamValue{
				find(dr.Modules, name),
				find(r.d.Site.Parameters, name),
			}
			layerNames := []string{"role default", "site"}
			if counted != nil {
				layers = append(layers, find(counted.Parameters, name))
				layerNames = append(layerNames, "site role")
			}
			if entry != nil {
				layers = append(layers, find(entry.Parameters, name))
				layerNames = append(layerNames, "node")
			}
			for _, pn := range sortedKeys(m.Parameters) {
				dp := m.Parameters[pn]
				t, err := ptype.Parse(dp.Type.Value, dp.Values)
				if err != nil {
					continue // reported by validate
				}
				var hist []layerValue
				if dp.Default != nil && dp.Default.Tag != "!!null" {
					hist = append(hist, layerValue{dp.Default, model.Origin{Layer: "module default", Pos: diag.Pos{File: m.File, Line: dp.Default.Line, Col: dp.Default.Column}}})
				}
				for li, l := range layers {
					for _, pv := range l {
						if pv.Key.Value == pn {
							hist = append(hist, layerValue{pv.Value, model.Origin{Layer: layerNames[li], Pos: pv.Pos()}})
						}
					}
				}
				p := &model.Param{Name: pn, Type: t.String(), Doc: strings.TrimSpace(dp.Doc)}
				for _, h := range hist {
					p.History = append(p.History, model.Setting{Value: display(h.node, plain, t), Origin: h.origin})
				}
				if len(hist) == 0 {
					if dp.Required {
						key := name + "." + pn + "/" + n.Role
						if !reported[key] {
							reported[key] = true
							r.diags.Add(r.d.Site.KeyPos["parameters"].OrFile(r.d.Site.File), "role "+n.Role,
								fmt.Sprintf("module %s needs parameter %s and nothing sets it for the %s nodes (declared at %s)", name, pn, n.Role, dp.Pos),
								fmt.Sprintf("set it in %s under parameters: → %s: → %s:%s", r.d.Site.File, name, pn, docHint(dp.Doc)))
						}
					}
					mod.Params = append(mod.Params, p)
					continue
				}
				last := hist[len(hist)-1]
				p.Origin, p.Set = last.origin, true
				p.Value = r.value(n, last, t, plain, reported, name+"."+pn)
				mod.Params = append(mod.Params, p)
			}
			n.Modules = append(n.Modules, mod)
		}
		n.Packages = sortedKeys(pkgs)
	}
}

// value computes a parameter's final value on node n.
func (r *resolver) value(n *model.Node, lv layerValue, t ptype.Type, plain map[*yaml.Node]any, reported map[string]bool, what string) any {
	if !ptype.HasRef(lv.node) {
		if v, ok := plain[lv.node]; ok {
			return v
		}
		v, prob := t.CheckNode(lv.node)
		if prob != nil {
			return nil // reported by validate
		}
		plain[lv.node] = v
		return v
	}
	v, err := r.substitute(lv.node, n)
	if err == nil {
		if prob := t.CheckValue(v); prob != nil {
			err = fmt.Errorf("gives %v, which does not fit type %s: %s", v, t, prob.What)
		}
	}
	if err != nil {
		key := what + "@" + lv.origin.Pos.String()
		if !reported[key] {
			reported[key] = true
			r.diags.Add(lv.origin.Pos, "node "+n.Name+": "+what, err.Error(),
				"references look like ${nfs.private.ip}, ${self.fqdn}, ${worker[*].fqdn}, ${cluster.domain} or ${network.private.cidr}")
		}
		return nil
	}
	if t.Base == "secret" {
		if s, ok := v.(string); ok {
			if _, ok := r.d.Site.Secrets[s]; !ok && !reported["secret:"+s] {
				reported["secret:"+s] = true
				r.diags.Add(lv.origin.Pos, what, fmt.Sprintf("there is no secret called %q", s), "list it under secrets: in site.yaml")
			}
		}
	}
	return v
}

// display converts a layer's raw value for kiln explain: the typed value,
// or the text of a reference.
func display(n *yaml.Node, plain map[*yaml.Node]any, t ptype.Type) any {
	if v, ok := plain[n]; ok {
		return v
	}
	if ptype.HasRef(n) {
		var x any
		_ = n.Decode(&x)
		return x
	}
	v, prob := t.CheckNode(n)
	if prob != nil {
		return n.Value
	}
	plain[n] = v
	return v
}

// siteEntry finds the site's entry for a node: its list entry or its
// per-node settings, and the counted block it belongs to.
func (r *resolver) siteEntry(n *model.Node) (*defs.NodeEntry, *defs.CountedNodes) {
	rn := r.d.Site.Nodes[n.Role]
	if rn == nil {
		return nil, nil
	}
	if rn.Count != nil {
		return rn.Count.Nodes[n.Name], rn.Count
	}
	if n.Index-1 < len(rn.List) {
		return rn.List[n.Index-1], nil
	}
	return nil, nil
}

func find(mps defs.ModuleParams, module string) []defs.ParamValue {
	for _, mp := range mps {
		if mp.Module.Value == module {
			return mp.Params
		}
	}
	return nil
}

func retention(n int) int {
	if n == 0 {
		return 7
	}
	return n
}

func docHint(doc string) string {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return ""
	}
	return " (" + doc + ")"
}
