package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/secretfmt"
)

func init() { funcGroups = append(funcGroups, puppetFuncs) }

// PuppetClass is one class of a node's classification, as the nodes.pp,
// ENC and Hiera templates write it: the same list for all three, so they
// cannot disagree.
type PuppetClass struct {
	Module string
	Class  string
	Params []PuppetParam
	// Requires are the classes of the node applied before this one (the
	// catalog's requires:), sorted.
	Requires []string
}

// PuppetParam is a class parameter with the value Puppet receives.
type PuppetParam struct {
	Name  string
	Value any
}

// puppetFuncs write Puppet's languages: manifests, ENC YAML and Hiera data.
func puppetFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// puppetClasses lists the node's classes with the parameters some
		// layer set (an unset parameter is left to the class's default).
		// A parameter of type secret names a site secret; the class
		// receives it in the parameter's format (its {SSHA} hash unless
		// the catalog says otherwise); a raw one only in the node's own
		// files.
		"puppetClasses": func(n *model.Node) ([]PuppetClass, error) {
			return puppetClasses(r, n)
		},
		// puppetRequires maps each class of the node that must wait for
		// others to those classes: the argument of kiln::order.
		"puppetRequires": func(cs []PuppetClass) map[string][]string {
			out := map[string][]string{}
			for _, c := range cs {
				if len(c.Requires) > 0 {
					out[c.Class] = c.Requires
				}
			}
			return out
		},
		"nodePorts": nodePorts,
		// publishedPorts lists, for a gateway, the ports nodes open to a
		// parameter's IPv4 networks (a catalog port's from:) when the node
		// has an interface on network inner but none on outer: the gateway
		// forwards them from its own outer address.
		"publishedPorts": publishedPorts,
		// portsOn NODE NETWORK: the node's ports open to one network's
		// machines; networkPorts CLUSTER NETWORK: every node's.
		"portsOn":      portsOn,
		"networkPorts": networkPorts,
		// ipv4Only and ipv6Only keep the addresses or networks of one family
		// from a list: nftables sets and iptables take one family each.
		"ipv4Only": func(l any) []string { return byFamily(l, false) },
		"ipv6Only": func(l any) []string { return byFamily(l, true) },
		// puppetCatalog lists every module the cluster's nodes run with its
		// class, once each, by module name.
		"puppetCatalog": func(c *model.Cluster) []PuppetClass {
			seen := map[string]bool{}
			var out []PuppetClass
			for _, n := range c.Nodes {
				for _, m := range n.Modules {
					if !seen[m.Name] {
						seen[m.Name] = true
						out = append(out, PuppetClass{Module: m.Name, Class: m.Class})
					}
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Module < out[j].Module })
			return out
		},
		"puppetValue":   puppetValue,
		"puppetDeclare": puppetDeclare,
		"puppetHash":    puppetHash,
		// yamlValue writes a value as YAML (JSON's flow syntax, which YAML
		// reads the same way): strings always quoted, so "no" or "0755"
		// stay strings.
		"yamlValue": yamlValue,
		// subfolders lists the folders directly under a folder of the design
		// (or the site folder shadowing it), sorted: e.g. the Puppet modules
		// a copy artifact ships, for the Puppetfile.
		"subfolders": func(dir string) ([]string, error) {
			if r == nil {
				return nil, nil
			}
			files, err := r.secrets.d.Sources.Walk(path.Clean(dir))
			if err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			var out []string
			for _, f := range files {
				rest := strings.TrimPrefix(f.Rel, path.Clean(dir)+"/")
				if i := strings.IndexByte(rest, '/'); i > 0 && !seen[rest[:i]] {
					seen[rest[:i]] = true
					out = append(out, rest[:i])
				}
			}
			sort.Strings(out)
			return out, nil
		},
	}
}

// nodeClasses is a node's classes as puppetClasses computed them once in a
// build, and whether that read a secret.
type nodeClasses struct {
	list   []PuppetClass
	secret bool
	raw    string   // module.param of a raw secret in the list, if any
	masks  []string // the secret values in the list, for masked diffs
	opaque bool     // a secret went in unrecorded (never, for classes)
}

// puppetClasses lists a node's classes. Three artifacts ask for every
// node's (nodes.pp, the ENC answer, the Hiera data), so the list is made
// once per build; a template that gets it from the memo is marked as
// having read a secret if making it did. Templates only read the list.
func puppetClasses(r *renderer, n *model.Node) ([]PuppetClass, error) {
	if n == nil {
		return nil, fmt.Errorf("puppetClasses needs a node (use it in a node-scoped artifact)")
	}
	if r == nil {
		list, _, err := makePuppetClasses(r, n)
		return list, err
	}
	nc, ok := r.secrets.classes.Load(n)
	if !ok {
		before, masks, opaque := r.usedSecret, r.masks, r.opaque
		r.usedSecret, r.masks, r.opaque = false, nil, false
		list, raw, err := makePuppetClasses(r, n)
		if err != nil {
			r.usedSecret, r.masks, r.opaque = before, masks, opaque
			return nil, err
		}
		nc = nodeClasses{list: list, secret: r.usedSecret, raw: raw, masks: r.masks, opaque: r.opaque}
		r.secrets.classes.Store(n, nc)
		r.usedSecret, r.masks, r.opaque = before, masks, opaque
	}
	c := nc.(nodeClasses)
	// A raw secret is the secret itself: it goes only into the node's own
	// files (written 0600, served to that node alone), never into a file
	// that lists several nodes.
	if c.raw != "" && r.fileNode != n {
		return nil, fmt.Errorf("%s is a secret in format raw (the value itself), and this file is not %s's own: list a node's classes with raw secrets only in a node-scoped artifact, or give the parameter a hashed format", c.raw, n.Name)
	}
	r.usedSecret = r.usedSecret || c.secret
	for _, m := range c.masks { // without repeats: nodes.pp lists every node's
		r.mask(m)
	}
	r.opaque = r.opaque || c.opaque
	return c.list, nil
}

func makePuppetClasses(r *renderer, n *model.Node) (_ []PuppetClass, raw string, _ error) {
	classOf := map[string]string{}
	for _, m := range n.Modules {
		classOf[m.Name] = m.Class
	}
	out := make([]PuppetClass, 0, len(n.Modules))
	for _, m := range n.Modules {
		c := PuppetClass{Module: m.Name, Class: m.Class}
		for _, p := range m.Params {
			if !p.Set {
				continue
			}
			v := p.Value
			if p.Type == "secret" {
				h, err := formatSecret(r, p.Format, fmt.Sprint(v))
				if err != nil {
					return nil, "", fmt.Errorf("module %s parameter %s: %v", m.Name, p.Name, err)
				}
				if secretfmt.Raw(p.Format) && raw == "" {
					raw = m.Name + "." + p.Name
				}
				v = h
			}
			c.Params = append(c.Params, PuppetParam{Name: p.Name, Value: v})
		}
		sort.Slice(c.Params, func(i, j int) bool { return c.Params[i].Name < c.Params[j].Name })
		for _, req := range m.Requires {
			if cl, ok := classOf[req]; ok {
				c.Requires = append(c.Requires, cl)
			}
		}
		sort.Strings(c.Requires)
		out = append(out, c)
	}
	return out, raw, nil
}

// formatSecret is the named secret in a format of secretfmt (empty:
// secretfmt.Default, slapd's {SSHA}), salted from the secret and its
// name so that builds are reproducible; a slow hash is made once a build.
func formatSecret(r *renderer, format, name string) (string, error) {
	pw, err := r.secretMasked(name)
	if err != nil {
		return "", err
	}
	if format == "" || format == "raw" || format == "ssha" || strings.HasPrefix(format, "hmac:") {
		return r.maskErr(secretfmt.Encode(format, pw, name))
	}
	if h := r.secrets.derive(format+"\x00"+name, func() string {
		s, _ := secretfmt.Encode(format, pw, name)
		return s
	}); h != "" {
		return r.mask(h), nil
	}
	return secretfmt.Encode(format, pw, name) // the error, quickly: no hash was made
}

// puppetValue writes a value as a Puppet literal: strings single-quoted
// (the only escapes are \\ and \'), numbers and booleans bare, lists as
// arrays, maps as hashes with sorted keys.
func puppetValue(v any) (string, error) {
	var b strings.Builder
	if err := writePuppet(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// puppetQuote escapes a string for Puppet's single quotes. It is built
// once: a Replacer's first use compiles it, which cost more than the
// quoting itself when it was made per value.
var puppetQuote = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func writePuppet(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("undef")
	case string:
		b.WriteByte('\'')
		puppetQuote.WriteString(b, x)
		b.WriteByte('\'')
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return writePuppet(b, l)
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writePuppet(b, e); err != nil {
				return err
			}
		}
		b.WriteString("]")
	case map[string][]string:
		m := make(map[string]any, len(x))
		for k, l := range x {
			m[k] = l
		}
		return writePuppet(b, m)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writePuppet(b, k)
			b.WriteString(" => ")
			if err := writePuppet(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteString("}")
	default:
		return fmt.Errorf("cannot write a %T as a Puppet value", v)
	}
	return nil
}

// plainJSON reports whether JSON writes s as it is between quotes:
// printable ASCII without a quote or a backslash.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// puppetDeclare writes a resource-like class declaration, indented by
// indent spaces, with its arrows aligned as puppet-lint wants them.
func puppetDeclare(indent int, c PuppetClass) (string, error) {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	fmt.Fprintf(&b, "%sclass { '%s':", pad, c.Class)
	if len(c.Params) == 0 {
		b.WriteString(" }")
		return b.String(), nil
	}
	width := 0
	for _, p := range c.Params {
		width = max(width, len(p.Name))
	}
	b.WriteString("\n")
	for _, p := range c.Params {
		v, err := puppetValue(p.Value)
		if err != nil {
			return "", fmt.Errorf("class %s parameter %s: %v", c.Class, p.Name, err)
		}
		if len(pad)+4+width+len(v)+1 > 140 {
			// A long list (every private address, say) one element a
			// line: puppet-lint wants lines of at most 140 characters.
			if l, ok := listElems(p.Value); ok {
				var lb strings.Builder
				lb.WriteString("[\n")
				for _, e := range l {
					ev, err := puppetValue(e)
					if err != nil {
						return "", fmt.Errorf("class %s parameter %s: %v", c.Class, p.Name, err)
					}
					fmt.Fprintf(&lb, "%s    %s,\n", pad, ev)
				}
				lb.WriteString(pad + "  ]")
				v = lb.String()
			}
		}
		fmt.Fprintf(&b, "%s  %-*s => %s,\n", pad, width, p.Name, v)
	}
	b.WriteString(pad + "}")
	return b.String(), nil
}

// listElems returns a list value's elements.
func listElems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return l, true
	}
	return nil, false
}

func yamlValue(v any) (string, error) {
	// The common values, written as encoding/json would write them
	// without its encoder's cost (a build writes a million of them).
	switch x := v.(type) {
	case string:
		if plainJSON(x) {
			return `"` + x + `"`, nil
		}
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimRight(buf.String(), "\n"), nil
}

// PortGroup is the ports a node opens for one zone (a network of the
// design) and protocol, or for the networks a module parameter lists
// (Sources, with Zone empty).
type PortGroup struct {
	Zone    string
	Proto   string
	Sources []string // for a port declared with from: the networks allowed, as the parameter lists them
	Ports   []string // in numeric order
	Docs    []string // what the ports are for, as the modules say, in port order without repeats
}

// PublishedPort is a port group of a node reached through the gateway.
type PublishedPort struct {
	Node, IP, Proto string
	Ports, Sources  []string
}

func publishedPorts(c *model.Cluster, outer, inner string) []PublishedPort {
	var out []PublishedPort
	for _, n := range c.Nodes {
		in := n.Iface(inner)
		if n.Iface(outer) != nil || in == nil || in.IP == "" {
			continue
		}
		for _, g := range nodePorts(n) {
			if v4 := byFamily(g.Sources, false); len(v4) > 0 {
				out = append(out, PublishedPort{Node: n.Name, IP: in.IP, Proto: g.Proto, Ports: g.Ports, Sources: v4})
			}
		}
	}
	return out
}

// nodePorts groups the ports the node's modules declare by zone (in the
// order of the design's networks, then ports open to listed networks) and
// protocol, each list sorted and without repeats: what the firewall
// templates open. A port declared with from: is open to the networks its
// module's parameter holds on this node; with none listed, it is not
// opened.
func nodePorts(n *model.Node) []PortGroup {
	if n == nil {
		return nil
	}
	type key struct {
		zone, proto, sources string
		order                int
	}
	set := map[key]map[int]string{}
	for _, m := range n.Modules {
		for _, p := range m.Ports {
			k := key{zone: p.Zone, proto: p.Proto, order: p.ZoneOrder}
			if p.From != "" {
				k.zone, k.order = "", -1
				if prm := m.Param(p.From); prm != nil {
					k.sources = strings.Join(byFamily(prm.Value, false), " ")
					if v6 := byFamily(prm.Value, true); len(v6) > 0 {
						k.sources = strings.TrimSpace(k.sources + " " + strings.Join(v6, " "))
					}
				}
				if k.sources == "" {
					continue
				}
			}
			if set[k] == nil {
				set[k] = map[int]string{}
			}
			if _, seen := set[k][p.Port]; !seen || set[k][p.Port] == "" {
				set[k][p.Port] = p.Doc
			}
		}
	}
	type ordered struct {
		PortGroup
		order int
	}
	var out []ordered
	for k, ports := range set {
		g := PortGroup{Zone: k.zone, Proto: k.proto}
		if k.sources != "" {
			g.Sources = strings.Split(k.sources, " ")
		}
		nums := make([]int, 0, len(ports))
		for p := range ports {
			nums = append(nums, p)
		}
		sort.Ints(nums)
		for _, p := range nums {
			g.Ports = append(g.Ports, strconv.Itoa(p))
			if d := ports[p]; d != "" && !slices.Contains(g.Docs, d) {
				g.Docs = append(g.Docs, d)
			}
		}
		out = append(out, ordered{g, k.order})
	}
	rank := func(o ordered) int {
		if o.order < 0 { // from: ports after every zone
			return 1 << 30
		}
		return o.order
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return strings.Join(a.Sources, " ") < strings.Join(b.Sources, " ")
	})
	groups := make([]PortGroup, len(out))
	for i, o := range out {
		groups[i] = o.PortGroup
	}
	return groups
}

// portsOn is the node's port groups open to the machines of one network
// (the ports whose zone is that network).
func portsOn(n *model.Node, network string) []PortGroup {
	var out []PortGroup
	for _, g := range nodePorts(n) {
		if g.Zone == network {
			out = append(out, g)
		}
	}
	return out
}

// NetworkPorts is what one node opens to the machines of a network.
type NetworkPorts struct {
	Node   *model.Node
	Groups []PortGroup
}

// networkPorts lists, for one network of the design, every node that
// opens ports to it (in install order) and those ports: the runbook's
// table of what each network reaches.
func networkPorts(c *model.Cluster, network string) []NetworkPorts {
	var out []NetworkPorts
	for _, n := range c.Nodes {
		if g := portsOn(n, network); len(g) > 0 {
			out = append(out, NetworkPorts{Node: n, Groups: g})
		}
	}
	return out
}

func byFamily(l any, v6 bool) []string {
	var in []string
	switch x := l.(type) {
	case []string:
		in = x
	case []any:
		for _, e := range x {
			in = append(in, fmt.Sprint(e))
		}
	case string:
		in = []string{x}
	}
	var out []string
	for _, s := range in {
		if strings.Contains(s, ":") == v6 {
			out = append(out, s)
		}
	}
	return out
}

// puppetHash writes a hash one key per line, keys sorted, arrows aligned as
// puppet-lint wants them; the closing brace is indented by indent spaces.
func puppetHash(indent int, v any) (string, error) {
	m := map[string]any{}
	switch x := v.(type) {
	case map[string]any:
		m = x
	case map[string][]string:
		for k, l := range x {
			m[k] = l
		}
	case map[string]string:
		for k, s := range x {
			m[k] = s
		}
	case []PuppetClass:
		for _, c := range x {
			m[c.Module] = c.Class
		}
	default:
		return "", fmt.Errorf("puppetHash cannot write a %T", v)
	}
	if len(m) == 0 {
		return "{}", nil
	}
	keys := make([]string, 0, len(m))
	width := 0
	for k := range m {
		keys = append(keys, k)
		kl, _ := puppetValue(k)
		width = max(width, len(kl))
	}
	sort.Strings(keys)
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString("{\n")
	for _, k := range keys {
		kl, _ := puppetValue(k)
		vl, err := puppetValue(m[k])
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s  %-*s => %s,\n", pad, width, kl, vl)
	}
	b.WriteString(pad + "}")
	return b.String(), nil
}
