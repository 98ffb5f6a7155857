// Package validate checks the definitions as written, before anything is
// resolved: that every reference names something that exists, that every
// value has its declared type, and that relationships have no cycles. It
// reports every problem it finds, each with the line to change and the fix.
//
// Checks that need the expanded cluster (addresses, duplicates between
// nodes, references between nodes) belong to package resolve.
package validate

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/ptype"
	"kiln.dev/kiln/internal/secretfmt"
	"kiln.dev/kiln/internal/yamlx"
)

// kernelNIC matches the kernel's own NIC names (eth0, eth1, ...): they
// follow probe order, and Red Hat supports no custom ethN names.
var kernelNIC = regexp.MustCompile(`^eth[0-9]+$`)

// Definitions checks d and returns the problems found.
func Definitions(d *load.Definitions) *diag.List {
	v := &checker{d: d, diags: &diag.List{}}
	v.catalog()
	v.design()
	v.serve()
	v.roles()
	v.site()
	v.users()
	v.repositories()
	v.puppet()
	return v.diags
}

type checker struct {
	d     *load.Definitions
	diags *diag.List
}

var puppetClass = regexp.MustCompile(`^[a-z][a-z0-9_]*(::[a-z][a-z0-9_]*)*$`)

// Kinds and dialects the definitions may name.
var (
	Kinds     = []string{"physical", "vm"}
	Scopes    = []string{"cluster", "network", "node", "role", "vm"}
	Schedules = []string{"daily", "hourly", "weekly"}
	Protos    = []string{"tcp", "udp"}
	Dialects  = []string{"el10", "el8", "el9"}
	// Refused names the dialects Kiln once built for and no longer does,
	// with why: their output mixed eras (packages and paths that did not
	// exist then), and no repository carries what the design installs.
	Refused = map[string]string{
		"sl5": "Scientific Linux 5 reached its end of life in 2017",
		"sl6": "Scientific Linux 6 reached its end of life in 2020",
		"el7": "Enterprise Linux 7 reached its end of life in June 2024",
	}
)

func (v *checker) catalog() {
	for _, name := range v.d.ModuleNames() {
		m := v.d.Modules[name]
		where := "module " + name
		if m.Class.Value != "" && !puppetClass.MatchString(m.Class.Value) {
			v.diags.Add(m.Class.Pos, where, fmt.Sprintf("%q is not a valid Puppet class name", m.Class.Value),
				"use lower-case words joined by :: such as kiln_nfs::server")
		}
		for _, pn := range sortedKeys(m.Parameters) {
			p := m.Parameters[pn]
			pw := where + " parameter " + pn
			if !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(pn) {
				v.diags.Add(p.Pos, pw, fmt.Sprintf("%q is not a valid Puppet parameter name", pn), "use lower-case letters, digits and underscores, starting with a letter")
			}
			if p.Type.Value == "" && p.Type.Pos.IsZero() {
				continue // type: is missing, which decoding reports
			}
			t, err := ptype.Parse(p.Type.Value, p.Values)
			if err != nil {
				v.diags.Add(p.Type.Pos, pw, err.Error(), "valid types: "+strings.Join(ptype.Bases, ", ")+", or list(T)")
				continue
			}
			for _, val := range p.Values {
				if err := ptype.CheckLine("the allowed value", val); err != nil {
					v.diags.Add(p.KeyPos["values"], pw, err.Error(), "write each allowed value as one line of printable text")
				}
			}
			if p.Default != nil && p.Default.Tag != "!!null" && !ptype.HasRef(p.Default) {
				if _, prob := t.CheckNode(p.Default); prob != nil {
					v.problem(m.File, prob, pw+" default", "")
				}
			}
			if f := p.Format; f.Value != "" {
				if t.String() != "secret" {
					v.diags.Add(f.Pos, pw, fmt.Sprintf("format %q is for secret parameters; this one is of type %s", f.Value, p.Type.Value), "remove format:, or make the parameter's type secret")
				} else if err := secretfmt.Check(f.Value); err != nil {
					v.diags.Add(f.Pos, pw, err.Error(), diag.DidYouMean(f.Value, secretfmt.Formats))
				}
			}
			if p.Required && p.Default != nil && p.Default.Tag != "!!null" {
				v.diags.Add(p.KeyPos["required"], pw, "a required parameter cannot have a default", "remove either required: true or the default")
			}
		}
		for _, port := range m.Ports {
			v.oneOf(port.Proto, Protos, where, "protocol")
			switch {
			case port.Zone.Value != "" && port.From.Value != "":
				v.diags.Add(port.From.Pos, where, "a port has either a zone or from, not both", "remove zone: to open the port to the networks the parameter lists, or from: to open it to the zone")
			case port.From.Value != "":
				if p := m.Parameters[port.From.Value]; p == nil {
					v.diags.Add(port.From.Pos, where, fmt.Sprintf("port %d: from names %q, which is not a parameter of this module", port.Port, port.From.Value), diag.DidYouMean(port.From.Value, sortedKeys(m.Parameters)))
				} else if p.Type.Value != "list(cidr)" {
					v.diags.Add(port.From.Pos, where, fmt.Sprintf("port %d: from names parameter %s, of type %s", port.Port, port.From.Value, p.Type.Value), "from: must name a list(cidr) parameter, the networks allowed to reach the port")
				}
			case port.Zone.Value == "":
				v.diags.Add(port.Pos, where, fmt.Sprintf("port %d has neither a zone nor from", port.Port), "add zone: with a network of the design ("+strings.Join(v.networkNames(), ", ")+"), or from: with a list(cidr) parameter of the module")
			default:
				// A zone is a network of the design: the port is open to
				// the machines on that network.
				if nets := v.networkNames(); !slices.Contains(nets, port.Zone.Value) {
					v.diags.Add(port.Zone.Pos, where, fmt.Sprintf("port %d: zone %q is not a network of the design", port.Port, port.Zone.Value), diag.DidYouMean(port.Zone.Value, nets))
				}
			}
			if at, given := port.KeyPos["port"]; given && (port.Port < 1 || port.Port > 65535) && !at.IsZero() {
				v.diags.Add(port.KeyPos["port"], where, fmt.Sprintf("%d is not a port number", port.Port), "use a number from 1 to 65535")
			}
		}
		for _, st := range m.State {
			if len(st.Paths) == 0 && st.Dump == "" {
				v.diags.Add(st.Pos, where, "this state names neither paths nor a dump command", "add paths: [/some/dir] or dump: with restore:")
			}
			if st.Dump != "" && st.Restore == "" {
				v.diags.Add(st.Pos, where, "a dump command needs its restore command", "add restore: with the command that reads the dump back")
			}
			for _, p := range st.Paths {
				if !strings.HasPrefix(p, "/") {
					v.diags.Add(st.KeyPos["paths"], where, fmt.Sprintf("%q is not an absolute path", p), "start it with /")
				}
			}
			if st.Schedule.Value != "" {
				v.oneOf(st.Schedule, Schedules, where, "schedule")
			}
			if st.Retention < 0 {
				v.diags.Add(st.KeyPos["retention"], where, "retention cannot be negative", "give how many snapshots to keep")
			}
		}
		if c := m.Certificate; c != nil {
			for _, f := range []yamlx.Scalar{c.Cert, c.Key} {
				if f.Value != "" && (!strings.HasPrefix(f.Value, "/") || path.Clean(f.Value) != f.Value || strings.HasSuffix(f.Value, ".age")) {
					v.diags.Add(f.Pos, where+" certificate", fmt.Sprintf("%q is not a clean absolute path on the node", f.Value), "write it like /etc/pki/tls/certs/NAME.crt")
				}
			}
			if c.Cert.Value != "" && c.Cert.Value == c.Key.Value {
				v.diags.Add(c.Key.Pos, where+" certificate", "the key and the certificate have the same path", "give the key its own file, e.g. under /etc/pki/tls/private/")
			}
		}
		for _, r := range m.Requires {
			if _, ok := v.d.Modules[r.Value]; !ok {
				v.diags.Add(r.Pos, where, fmt.Sprintf("requires unknown module %q", r.Value), diag.DidYouMean(r.Value, v.d.ModuleNames()))
			}
		}
		for i := range m.Artifacts {
			v.artifact(&m.Artifacts[i], where)
		}
	}
	v.cycles("module requirements", v.d.ModuleNames(), func(n string) []yamlx.Scalar { return v.d.Modules[n].Requires })
}

func (v *checker) design() {
	ds := v.d.Design
	seen := map[string]bool{}
	for _, n := range ds.Networks {
		if seen[n.Name.Value] {
			v.diags.Add(n.Name.Pos, "design", fmt.Sprintf("network %q is declared twice", n.Name.Value), "remove one of the two")
		}
		seen[n.Name.Value] = true
		if err := ptype.CheckLabel(n.Name.Value); err != nil {
			v.diags.Add(n.Name.Pos, "design", "bad network name: "+err.Error(), "use a short name such as public or private")
		}
	}
	for i := range ds.Artifacts {
		v.artifact(&ds.Artifacts[i], "design")
	}
	v.backup()
	seenSecret := map[string]bool{}
	for _, u := range ds.Secrets {
		if seenSecret[u.Name.Value] {
			v.diags.Add(u.Name.Pos, "design", fmt.Sprintf("secret %q is declared twice", u.Name.Value), "remove one of the two")
		}
		seenSecret[u.Name.Value] = true
		if err := ptype.CheckLabel(strings.ReplaceAll(u.Name.Value, "_", "-")); err != nil {
			v.diags.Add(u.Name.Pos, "design", "bad secret name: "+err.Error(), "use letters, digits and _, e.g. root_password")
		}
	}
}

func (v *checker) artifact(a *defs.Artifact, where string) {
	where += " artifact " + a.Template.Value + a.Copy.Value
	v.artifactKind(a, where)
	if a.Template.Value != "" {
		if _, ok := v.d.Templates[a.Template.Value]; !ok && !v.d.Unreadable["template "+a.Template.Value] {
			hint := ""
			if s := diag.Suggest(a.Template.Value, sortedKeys(v.d.Templates)); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			v.diags.Add(a.Template.Pos, where, fmt.Sprintf("there is no template %q", a.Template.Value),
				fix(hint, "put the template under templates/ of the design or of the site folder"))
		}
	}
	if strings.HasPrefix(a.Template.Value, "_lib/") {
		v.diags.Add(a.Template.Pos, where, "templates under _lib/ hold shared definitions every template sees; they are not rendered on their own", "move the template out of templates/_lib/, or use its define from another template")
	}
	if a.Scope.Value != "" {
		v.oneOf(a.Scope, Scopes, where, "scope")
	}
	for _, n := range a.Filter.Networks {
		if a.Scope.Value != "network" {
			v.diags.Add(n.Pos, where, "filter networks: is for an artifact of scope network", "set scope: network, or remove the filter")
			break
		}
		if !slices.Contains(v.networkNames(), n.Value) {
			v.diags.Add(n.Pos, where, fmt.Sprintf("%q is not a network of the design", n.Value), diag.DidYouMean(n.Value, v.networkNames()))
		}
	}
	if a.Mode.Value != "" {
		if m, err := strconv.ParseUint(a.Mode.Value, 8, 32); err != nil || m > 0o777 {
			v.diags.Add(a.Mode.Pos, where, fmt.Sprintf("%q is not a file mode", a.Mode.Value), `write it in octal, in quotes, e.g. "0755"`)
		}
	}
	if (a.Scope.Value == "" || a.Scope.Value == "cluster") && (len(a.Filter.Roles) > 0 || a.Filter.Kind.Value != "" || len(a.Filter.Modules) > 0 || a.Filter.BootMAC || a.Filter.State || a.Filter.Bootstrap) {
		v.diags.Add(a.Filter.Pos, where, "a filter has no effect on a cluster-wide artifact", "set scope: node, vm or role, or remove the filter")
	}
	for _, r := range a.Filter.Roles {
		v.roleRef(r, where)
	}
	if a.Filter.Kind.Value != "" {
		v.oneOf(a.Filter.Kind, Kinds, where, "kind")
	}
	for _, o := range a.Filter.OS {
		v.oneOf(o, Dialects, where, "os")
	}
	for _, m := range a.Filter.Modules {
		if _, ok := v.d.Modules[m.Value]; !ok {
			v.diags.Add(m.Pos, where, fmt.Sprintf("unknown module %q", m.Value), diag.DidYouMean(m.Value, v.d.ModuleNames()))
		}
	}
}

// networkNames are the design's networks, in its order: the zones a
// module's port may name.
func (v *checker) networkNames() []string {
	var out []string
	for _, n := range v.d.Design.Networks {
		out = append(out, n.Name.Value)
	}
	return out
}

func (v *checker) roles() {
	nets := map[string]bool{}
	var netNames []string
	for _, n := range v.d.Design.Networks {
		nets[n.Name.Value] = true
		netNames = append(netNames, n.Name.Value)
	}
	for _, name := range v.d.RoleNames() {
		r := v.d.Roles[name]
		where := "role " + name
		if err := ptype.CheckLabel(name); err != nil {
			v.diags.Add(diag.Pos{File: r.File}, where, "bad role name: "+err.Error(), "rename the file to a short lower-case name")
		}
		kind := r.Kind.Value
		if kind == "" {
			kind = "physical"
		}
		v.oneOf(r.Kind, Kinds, where, "kind")
		switch kind {
		case "vm":
			switch h := v.d.Roles[r.Host.Value]; {
			case r.Host.Value == "":
				v.diags.Add(r.Pos, where, "a vm role needs the role of the machine that runs it", "add host: with a physical role, e.g. host: head")
			case h == nil:
				v.diags.Add(r.Host.Pos, where, fmt.Sprintf("the vm's host role %q does not exist", r.Host.Value), fix(diag.DidYouMean(r.Host.Value, v.d.RoleNames()), "name a physical role"))
			case h.Kind.Value == "vm":
				v.diags.Add(r.Host.Pos, where, fmt.Sprintf("the vm's host role %q is itself a vm", r.Host.Value), "a vm runs on a physical role; name one such as head")
			}
			if r.VM == nil {
				v.diags.Add(r.Pos, where, "a vm role needs its size", "add vm: {vcpus: 2, memory: 2048, disk: 20} (memory in MiB, disk in GiB)")
			} else if r.VM.VCPUs < 1 || r.VM.Memory < 256 || r.VM.Disk < 1 {
				v.diags.Add(r.VM.Pos, where, "the vm's size is too small to install an operating system", "give at least 1 vcpu, 256 MiB of memory and 1 GiB of disk")
			}
		case "physical":
			if r.Host.Value != "" {
				v.diags.Add(r.Host.Pos, where, "only a vm role has a host", "remove host:, or set kind: vm")
			}
			if r.VM != nil {
				v.diags.Add(r.VM.Pos, where, "only a vm role has a vm size", "remove vm:, or set kind: vm")
			}
		}
		nics := map[string]bool{}
		boots := 0
		for _, i := range r.Interfaces {
			if i.Network.Value == "" && i.Network.Pos.IsZero() {
				continue // an empty item: its missing keys are reported
			}
			if !nets[i.Network.Value] {
				v.diags.Add(i.Network.Pos, where, fmt.Sprintf("network %q is not one of the design's networks", i.Network.Value), fix(diag.DidYouMean(i.Network.Value, netNames), "declare it under networks: in design.yaml"))
			}
			if err := ptype.CheckIfName(i.NIC.Value); i.NIC.Value != "" && err != nil {
				v.diags.Add(i.NIC.Pos, where, err.Error(),
					"name the NIC with up to 15 letters, digits, '.', '_' and '-': a name of your own such as priv0, or the one udev gives it such as enp1s0")
			} else if kernelNIC.MatchString(i.NIC.Value) {
				v.diags.Add(i.NIC.Pos, where, fmt.Sprintf("NIC %q is a name the kernel itself gives, in the order it finds the cards, which two NICs can swap from one boot to the next (and a NIC renamed to it can collide with the kernel's own)", i.NIC.Value),
					"use a name of your own such as priv0 or pub0, which the design binds to the NIC's MAC, or the one udev gives it such as enp1s0 (Red Hat supports no custom ethN names)")
			}
			if nics[i.NIC.Value] {
				v.diags.Add(i.NIC.Pos, where, fmt.Sprintf("NIC %q is used twice", i.NIC.Value), "give each interface its own NIC")
			}
			nics[i.NIC.Value] = true
			if i.Boot != nil && *i.Boot {
				boots++
			}
		}
		if at, written := r.KeyPos["interfaces"]; written && len(r.Interfaces) == 0 {
			v.diags.Add(at, where, "the role has no interfaces: its nodes would have no address, no DHCP or DNS entry and no line in the hosts file",
				fmt.Sprintf("add interfaces: with at least one network, e.g. - {nic: priv0, network: %s}", v.provisioningNet(netNames)))
		}
		if boots > 1 {
			v.diags.Add(r.KeyPos["interfaces"], where, "more than one interface is marked boot: true", "a machine network-boots from one NIC; mark only that one")
		}
		if i, c := ptype.ControlChar(r.Disk, true); i >= 0 {
			v.diags.Add(r.KeyPos["disk"], where, fmt.Sprintf("the disk layout holds %s", ptype.CharName(c)),
				"write the layout as kickstart lines ending in a plain newline, with no other control character")
		}
		if r.Naming.Value != "" {
			if err := checkNaming(r.Naming.Value); err != nil {
				v.diags.Add(r.Naming.Pos, where, err.Error(), "write a name with {n} where the node's number goes, e.g. wn{n} or wn{n:03}")
			}
		}
		if r.Count != nil && r.Count.Max != nil && *r.Count.Max < r.Count.Min {
			v.diags.Add(r.Count.Pos, where, fmt.Sprintf("count max %d is below min %d", *r.Count.Max, r.Count.Min), "swap them or correct one")
		}
		if r.Count != nil && r.Count.Min < 0 {
			v.diags.Add(r.Count.Pos, where, "count min cannot be negative", "use 0 or more")
		}
		for _, a := range r.After {
			v.roleRef(a, where)
		}
		inRole := map[string]bool{}
		for _, mp := range r.Modules {
			inRole[mp.Module.Value] = true
		}
		for _, mp := range r.Modules {
			m := v.moduleRef(mp.Module, where)
			if m == nil {
				continue
			}
			v.params(m, mp.Params, where)
			for _, req := range m.Requires {
				if _, known := v.d.Modules[req.Value]; known && !inRole[req.Value] {
					v.diags.Add(mp.Module.Pos, where, fmt.Sprintf("module %s requires module %s, which this role does not run", m.Name, req.Value),
						fmt.Sprintf("add %s to the role's modules", req.Value))
				}
			}
		}
		for _, b := range r.Bootstrap {
			if !inRole[b.Value] {
				v.diags.Add(b.Pos, where, fmt.Sprintf("bootstrap module %q is not one of the role's modules", b.Value), "add it to modules:, or remove it from bootstrap:")
			}
		}
	}
	v.cycles("role relationships", v.d.RoleNames(), func(n string) []yamlx.Scalar {
		r := v.d.Roles[n]
		deps := append([]yamlx.Scalar(nil), r.After...)
		if r.Kind.Value == "vm" && r.Host.Value != "" {
			deps = append(deps, r.Host)
		}
		return deps
	})
}

// params checks parameter values given for module m.
func (v *checker) params(m *defs.Module, ps []defs.ParamValue, where string) {
	for _, pv := range ps {
		p, ok := m.Parameters[pv.Key.Value]
		if !ok {
			v.diags.Add(pv.Key.Pos, where, fmt.Sprintf("module %s has no parameter %q", m.Name, pv.Key.Value),
				fix(diag.DidYouMean(pv.Key.Value, sortedKeys(m.Parameters)), "see "+m.File+" for its parameters"))
			continue
		}
		t, err := ptype.Parse(p.Type.Value, p.Values)
		if err != nil {
			continue
		}
		if ptype.HasRef(pv.Value) {
			// A list with references is checked when they are resolved,
			// but a list inside it would be flattened silently there.
			if t.List && pv.Value.Kind == yaml.SequenceNode {
				for _, c := range pv.Value.Content {
					if c.Kind == yaml.SequenceNode || c.Kind == yaml.MappingNode {
						v.diags.Add(diag.Pos{File: pv.File, Line: c.Line, Col: c.Column}, where+": "+m.Name+"."+pv.Key.Value,
							fmt.Sprintf("expected a single %s value in this list, found %s", t.Base, yamlx.Kind(c)),
							"write one flat list: [a, b, \"${…}\"] (a reference to a list, such as ${worker[*].fqdn}, is spliced in)")
					}
				}
			}
			continue
		}
		if _, prob := t.CheckNode(pv.Value); prob != nil {
			v.problem(pv.File, prob, where+": "+m.Name+"."+pv.Key.Value, p.Doc)
		}
	}
}

func (v *checker) problem(file string, p *ptype.Problem, where, doc string) {
	f := p.Fix
	if doc != "" {
		f = fix(f, "the parameter is: "+doc)
	}
	v.diags.Add(diag.Pos{File: file, Line: p.Node.Line, Col: p.Node.Column}, where, p.What, f)
}

func (v *checker) moduleRef(s yamlx.Scalar, where string) *defs.Module {
	m, ok := v.d.Modules[s.Value]
	if !ok && !v.d.Unreadable["module "+s.Value] {
		v.diags.Add(s.Pos, where, fmt.Sprintf("unknown module %q", s.Value), fix(diag.DidYouMean(s.Value, v.d.ModuleNames()), "add it to the catalog (catalog/"+s.Value+"/module.yaml)"))
	}
	return m
}

func (v *checker) roleRef(s yamlx.Scalar, where string) {
	if _, ok := v.d.Roles[s.Value]; !ok && !v.d.Unreadable["role "+s.Value] {
		v.diags.Add(s.Pos, where, fmt.Sprintf("unknown role %q", s.Value), fix(diag.DidYouMean(s.Value, v.d.RoleNames()), "roles are the files in roles/"))
	}
}

func (v *checker) oneOf(s yamlx.Scalar, allowed []string, where, what string) {
	if s.Value == "" {
		return
	}
	for _, a := range allowed {
		if a == s.Value {
			return
		}
	}
	v.diags.Add(s.Pos, where, fmt.Sprintf("%q is not a valid %s", s.Value, what), diag.DidYouMean(s.Value, allowed))
}

// cycles reports each cycle in a dependency graph once, printed in full.
func (v *checker) cycles(what string, names []string, deps func(string) []yamlx.Scalar) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range deps(n) {
			if !contains(names, d.Value) {
				continue
			}
			switch color[d.Value] {
			case white:
				visit(d.Value)
			case grey:
				i := indexOf(stack, d.Value)
				cycle := append(append([]string(nil), stack[i:]...), d.Value)
				v.diags.Add(v.blame(cycle, d.Pos, deps), "", fmt.Sprintf("%s form a cycle: %s", what, strings.Join(cycle, " → ")),
					"remove one of these dependencies so that something can come first")
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range names {
		if color[n] == white {
			visit(n)
		}
	}
}

// blame picks the dependency of a cycle to report it at: one written in
// the site folder, which the user can change (the embedded design's files
// they cannot), else the one that closed the cycle.
func (v *checker) blame(cycle []string, closing diag.Pos, deps func(string) []yamlx.Scalar) diag.Pos {
	if strings.HasPrefix(closing.File, v.d.Display) && !strings.HasPrefix(closing.File, "(") {
		return closing
	}
	for k := 0; k+1 < len(cycle); k++ {
		for _, d := range deps(cycle[k]) {
			if d.Value == cycle[k+1] && strings.HasPrefix(d.Pos.File, v.d.Display) && !strings.HasPrefix(d.Pos.File, "(") {
				return d.Pos
			}
		}
	}
	return closing
}

// provisioningNet names the network nodes install over, for examples.
func (v *checker) provisioningNet(netNames []string) string {
	for _, n := range v.d.Design.Networks {
		if n.Provisioning {
			return n.Name.Value
		}
	}
	if len(netNames) > 0 {
		return netNames[0]
	}
	return "NETWORK"
}

var namingVar = regexp.MustCompile(`\{n(:0?[1-9])?\}`)

func checkNaming(p string) error {
	if strings.Count(p, "{") != strings.Count(p, "}") || strings.Count(p, "{") > 1 {
		return fmt.Errorf("the name pattern %q has unbalanced or repeated braces", p)
	}
	probe := namingVar.ReplaceAllString(p, "1")
	if strings.ContainsAny(probe, "{}") {
		return fmt.Errorf("the name pattern %q has an unknown placeholder", p)
	}
	return ptype.CheckLabel(probe)
}

func fix(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

func contains(l []string, s string) bool { return indexOf(l, s) >= 0 }

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
