package resolve

import (
	"errors"
	"fmt"
	"slices"
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
	// Required parameters nothing sets, said once each whatever the number
	// of roles and nodes that lack them.
	unset := map[string]*unsetParam{}
	var unsetOrder []string
	defer func() {
		for _, key := range unsetOrder {
			r.unsetParam(unset[key])
		}
	}()
	// What depends only on the module, not on the node (its parameters'
	// names, types and docs), is worked out once per module: at 10,000
	// nodes doing it per node was a quarter of resolve's time.
	decls := map[string]*moduleDecl{}
	// References that do not name self resolve the same on every node.
	shared := map[*yaml.Node]any{}
	// A module on a node with no settings of its own (every counted node
	// but the few with a per-node override) comes out the same on every
	// node of its role unless a value refers to self. Such a module is made
	// once per role and shared by its nodes, as are the role's packages:
	// this keeps the model of 50,000 workers at tens of MB instead of
	// hundreds. The model is read-only once resolved.
	type roleModule struct {
		role, module string
		block        *defs.CountedNodes // a role's count blocks each have their parameters
	}
	roleMods := map[roleModule]*model.Module{}
	rolePkgs := map[string][]string{}
	var hist []layerValue // reused for every parameter
	for _, n := range r.c.Nodes {
		role := r.c.Role(n.Role)
		dr := r.d.Roles[n.Role]
		entry, counted := r.siteEntry(n)
		pkgs, pkgsKnown := rolePkgs[n.Role]
		if !pkgsKnown {
			seen := map[string]bool{}
			for _, name := range role.Modules {
				for _, pkg := range r.d.Modules[name].Packages {
					seen[pkg.Value] = true
				}
			}
			pkgs = sortedKeys(seen)
			rolePkgs[n.Role] = pkgs
		}
		names := role.Modules
		if entry != nil && len(entry.Modules) > 0 {
			// Modules this node runs on top of its role's, after them.
			names = append([]string(nil), role.Modules...)
			seen := map[string]bool{}
			for _, p := range pkgs {
				seen[p] = true
			}
			for _, mp := range entry.Modules {
				if m := r.d.Modules[mp.Module.Value]; m != nil && !slices.Contains(names, mp.Module.Value) {
					names = append(names, mp.Module.Value)
					for _, pkg := range m.Packages {
						seen[pkg.Value] = true
					}
				}
			}
			pkgs = sortedKeys(seen)
		}
		n.Modules = make([]*model.Module, 0, len(names))
		for _, name := range names {
			rm := roleModule{n.Role, name, counted}
			if mod := roleMods[rm]; mod != nil && entry == nil {
				n.Modules = append(n.Modules, mod)
				continue
			}
			perNode := false // a value refers to self
			m := r.d.Modules[name]
			mod := &model.Module{
				Name: name, Class: m.Class.Value, Description: strings.TrimSpace(m.Description),
				Packages: scalars(m.Packages), Bootstrap: slices.Contains(role.Bootstrap, name),
			}
			if c := m.Certificate; c != nil {
				mod.Certificate = &model.Certificate{Cert: c.Cert.Value, Key: c.Key.Value, Doc: strings.TrimSpace(c.Doc)}
			}
			for _, req := range m.Requires {
				mod.Requires = append(mod.Requires, req.Value)
			}
			for _, p := range m.Ports {
				mod.Ports = append(mod.Ports, model.Port{Proto: p.Proto.Value, Port: p.Port, Zone: p.Zone.Value, From: p.From.Value, Doc: p.Doc, ZoneOrder: r.zoneOrder(p.Zone.Value)})
			}
			for _, s := range m.State {
				mod.State = append(mod.State, model.State{Paths: s.Paths, Dump: s.Dump, Restore: s.Restore,
					Schedule: orDefault(s.Schedule.Value, "daily"), Retention: retention(s.Retention), Doc: strings.TrimSpace(s.Doc)})
			}
			// At most four layers: on the stack, not allocated per module and node.
			var layerBuf [4][]defs.ParamValue
			var nameBuf [4]string
			layers := append(layerBuf[:0], find(dr.Modules, name), find(r.d.Site.Parameters, name))
			layerNames := append(nameBuf[:0], "role default", "site")
			if counted != nil {
				layers = append(layers, find(counted.Parameters, name))
				layerNames = append(layerNames, "site role")
			}
			if entry != nil {
				layers = append(layers, find(entry.Parameters, name))
				layerNames = append(layerNames, "node")
				if own := find(entry.Modules, name); own != nil {
					layers = append(layers, own)
					layerNames = append(layerNames, "node")
				}
			}
			md := decls[name]
			if md == nil {
				md = declare(name, m)
				decls[name] = md
			}
			// One allocation for the module's parameters instead of one each.
			params := make([]model.Param, len(md.params))
			mod.Params = make([]*model.Param, 0, len(md.params))
			for pi := range md.params {
				pd := &md.params[pi]
				pn, dp, t := pd.name, pd.decl, pd.t
				hist = hist[:0]
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
				p := &params[pi]
				*p = model.Param{Name: pn, Type: pd.typ, Doc: pd.doc, Format: dp.Format.Value}
				if len(hist) > 0 {
					p.History = make([]model.Setting, len(hist))
				}
				for hi, h := range hist {
					p.History[hi] = model.Setting{Value: display(h.node, plain, t), Origin: h.origin}
				}
				if len(hist) == 0 {
					if dp.Required {
						key := name + "." + pn
						if unset[key] == nil {
							unset[key] = &unsetParam{module: name, param: pn, decl: dp}
							unsetOrder = append(unsetOrder, key)
						}
						if u := unset[key]; !slices.Contains(u.roles, n.Role) {
							u.roles = append(u.roles, n.Role)
						}
					}
					mod.Params = append(mod.Params, p)
					continue
				}
				last := hist[len(hist)-1]
				p.Origin, p.Set = last.origin, true
				p.Value = r.value(n, last, t, plain, shared, reported, pd.what)
				perNode = perNode || mentionsSelf(last.node) && ptype.HasRef(last.node)
				mod.Params = append(mod.Params, p)
			}
			n.Modules = append(n.Modules, mod)
			if entry == nil && !perNode {
				roleMods[rm] = mod
			}
		}
		n.Packages = pkgs
	}
}

// moduleDecl is a catalog module's parameters, sorted by name, as every
// node that runs the module sees them.
type moduleDecl struct {
	params []paramDecl
}

type paramDecl struct {
	name string
	decl *defs.Param
	t    ptype.Type
	typ  string // t.String()
	doc  string
	what string // module.param, for messages
}

func declare(name string, m *defs.Module) *moduleDecl {
	md := &moduleDecl{}
	for _, pn := range sortedKeys(m.Parameters) {
		dp := m.Parameters[pn]
		t, err := ptype.Parse(dp.Type.Value, dp.Values)
		if err != nil {
			continue // reported by validate
		}
		md.params = append(md.params, paramDecl{name: pn, decl: dp, t: t, typ: t.String(), doc: strings.TrimSpace(dp.Doc), what: name + "." + pn})
	}
	return md
}

// unsetParam is a required parameter that nothing sets for some roles.
type unsetParam struct {
	module, param string
	decl          *defs.Param
	roles         []string
}

// unsetParam reports a required parameter nothing sets, with where to set
// it: site-wide when every role that runs the module lacks it (a module
// that gained a required parameter, say), else for the roles that do.
func (r *resolver) unsetParam(u *unsetParam) {
	var running []string
	for _, role := range r.c.Roles {
		if slices.Contains(role.Modules, u.module) && len(r.c.NodesOf(role.Name)) > 0 {
			running = append(running, role.Name)
		}
	}
	site := r.d.Site.File
	fix := fmt.Sprintf("set it in %s under parameters: → %s: → %s:%s", site, u.module, u.param, docHint(u.decl.Doc))
	if len(u.roles) < len(running) {
		var files []string
		for _, role := range u.roles {
			files = append(files, r.d.Roles[role].File)
		}
		fix = fmt.Sprintf("give it a default for the role in %s under modules: → %s: → %s:, or set it for the nodes in %s (parameters: under nodes: → %s)%s",
			strings.Join(files, " and "), u.module, u.param, site, strings.Join(u.roles, ", "), docHint(u.decl.Doc))
	}
	what := fmt.Sprintf("parameter %s is required and nothing sets it (declared at %s)", u.param, u.decl.Pos)
	if len(u.roles) < len(running) {
		what = fmt.Sprintf("parameter %s is required and nothing sets it for the %s nodes (declared at %s)", u.param, strings.Join(u.roles, ", "), u.decl.Pos)
	}
	r.diags.Add(r.d.Site.KeyPos["parameters"].OrFile(site), "module "+u.module, what, fix)
}

// value computes a parameter's final value on node n.
//
// A value with references that do not name self (${nfs.private.hostname},
// ${cluster.dn}) is the same on every node: it is computed for the first
// node and kept in shared. Only a value that resolved without a problem is
// kept, so problems are reported as before.
func (r *resolver) value(n *model.Node, lv layerValue, t ptype.Type, plain, shared map[*yaml.Node]any, reported map[string]bool, what string) any {
	if !ptype.HasRef(lv.node) {
		if v, ok := plain[lv.node]; ok {
			r.unknownZone(t, v, lv, reported, what)
			return v
		}
		v, prob := t.CheckNode(lv.node)
		if prob != nil {
			return nil // reported by validate
		}
		plain[lv.node] = v
		r.unknownZone(t, v, lv, reported, what)
		return v
	}
	if v, ok := shared[lv.node]; ok {
		return v
	}
	v, err := r.substitute(lv.node, n)
	if err == nil {
		if prob := t.CheckValue(v); prob != nil {
			err = fmt.Errorf("gives %v, which does not fit type %s: %s", v, t, prob.What)
		}
	}
	if errors.Is(err, errUpstream) {
		// The problem upstream (a bad cidr, a node without an address) is
		// reported where it is; repeating it here for every value that
		// uses it would bury it.
		return nil
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
	r.unknownZone(t, v, lv, reported, what)
	if !mentionsSelf(lv.node) {
		shared[lv.node] = v
	}
	return v
}

// unknownZone warns, once per place, of a timezone value the tz database
// does not know: the installer and timedatectl would refuse it on the node.
func (r *resolver) unknownZone(t ptype.Type, v any, lv layerValue, reported map[string]bool, what string) {
	if t.Base != "timezone" {
		return
	}
	zones, _ := v.([]any)
	if !t.List {
		zones = []any{v}
	}
	for _, z := range zones {
		s, _ := z.(string)
		key := "tz:" + s + "@" + lv.origin.Pos.String()
		if reported[key] {
			continue
		}
		reported[key] = true // checked once per place, known or not
		if ptype.KnownZone(s) {
			continue
		}
		hint := ""
		if g := zoneGuess(s); g != "" {
			hint = `did you mean "` + g + `"?`
		}
		r.diags.Warn(lv.origin.Pos, what, fmt.Sprintf("the tz database does not know the time zone %q: the installer and timedatectl would refuse it on every node", s),
			fix(hint, "use a name timedatectl list-timezones shows, e.g. Europe/Zurich or America/Chicago"))
	}
}

// zoneGuess tries the usual slips in a zone name (LosAngeles or
// los angeles for Los_Angeles) and returns the first the tz database
// knows, or "".
func zoneGuess(s string) string {
	title := func(w string) string {
		parts := strings.Split(w, "_")
		for i, p := range parts {
			if p != "" {
				parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
			}
		}
		return strings.Join(parts, "_")
	}
	camel := func(w string) string {
		var b strings.Builder
		for i, c := range w {
			if i > 0 && c >= 'A' && c <= 'Z' && w[i-1] >= 'a' && w[i-1] <= 'z' {
				b.WriteByte('_')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	areas := strings.Split(strings.ReplaceAll(s, " ", "_"), "/")
	for _, f := range []func(string) string{func(w string) string { return w }, camel, title, func(w string) string { return title(camel(w)) }} {
		g := make([]string, len(areas))
		for i, a := range areas {
			g[i] = f(a)
		}
		if z := strings.Join(g, "/"); z != s && ptype.KnownZone(z) {
			return z
		}
	}
	return ""
}

// mentionsSelf reports whether a value's text (any of its items) contains
// "self", as every reference to the node being resolved does; it may say
// yes for a value that merely mentions the word, which only costs time.
func mentionsSelf(n *yaml.Node) bool {
	if strings.Contains(n.Value, "self") {
		return true
	}
	for _, c := range n.Content {
		if mentionsSelf(c) {
			return true
		}
	}
	return false
}

// display converts a layer's raw value for kiln explain: the typed value,
// or the text of a reference. Either is the same on every node, so it is
// kept in plain (a node with a reference never has a typed value there).
func display(n *yaml.Node, plain map[*yaml.Node]any, t ptype.Type) any {
	if v, ok := plain[n]; ok {
		return v
	}
	if ptype.HasRef(n) {
		var x any
		_ = n.Decode(&x)
		plain[n] = x
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
	for _, b := range r.blocks[n.Role] {
		if n.Index >= b.first && n.Index <= b.last && n.Origin == b.block.Pos {
			return b.block.Nodes[n.Name], b.block
		}
	}
	return r.entries[n.Name], nil
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

// zoneOrder is the place of network name among the design's networks.
func (r *resolver) zoneOrder(name string) int {
	for i, n := range r.d.Design.Networks {
		if n.Name.Value == name {
			return i
		}
	}
	return len(r.d.Design.Networks)
}
