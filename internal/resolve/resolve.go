// Package resolve turns validated definitions into the resolved cluster
// (package model): it expands counts into named nodes, allocates addresses,
// merges parameter values layer by layer keeping each value's origin,
// resolves references between nodes, and orders roles by their
// relationships.
//
// Precedence of parameter values, lowest first: module default (catalog),
// role default (design), site-wide value, the site's value for the role,
// the node's own override.
package resolve

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// Cluster resolves d. It returns the cluster built so far together with
// any problems; the cluster is only fit to build from when there are none.
func Cluster(d *load.Definitions) (*model.Cluster, *diag.List) {
	r := &resolver{d: d, diags: &diag.List{}}
	c := r.run()
	return c, r.diags
}

type resolver struct {
	d     *load.Definitions
	diags *diag.List
	c     *model.Cluster

	// taken holds every address in use or reserved, per network.
	taken map[string]map[netip.Addr]diag.Pos
	// byName finds a node by name once nodes are expanded.
	byName map[string]*model.Node
	// full marks the role/network pairs whose addresses ran out, to say so once.
	full map[string]bool
	long map[diag.Pos]bool // domains already reported as too long
	// tooMany is set when the site has more than MaxNodes nodes: no node
	// is then made.
	tooMany bool
	// entries finds a named node's site entry, blocks a counted node's
	// count block by its number (siteEntry).
	entries map[string]*defs.NodeEntry
	blocks  map[string][]blockRange
}

func (r *resolver) run() *model.Cluster {
	s := r.d.Site
	c := &model.Cluster{
		Name:   s.Cluster.Value,
		Domain: s.Domain.Value,
		OS:     orDefault(s.OS.Value, "el9"),
		Design: orDefault(s.Design.Value, load.DefaultDesign),
	}
	if ds := r.d.Design; ds != nil {
		c.DesignName, c.DesignDoc = strings.TrimSpace(ds.Name), strings.TrimSpace(ds.Description)
	}
	if c.DesignName == "" {
		c.DesignName = c.Design
	}
	r.c = c
	r.networks()
	r.repositories()
	c.AdminKeys = scalars(s.AdminKeys)
	r.roles()
	r.nodes()
	if r.tooMany {
		// Reported; resolving nodes that will not be built would only
		// spend minutes and gigabytes on a site that is refused.
		return c
	}
	r.vmPlacement()
	r.macDuplicates()
	c.Index()
	r.params()
	r.users()
	if len(s.Secrets) > 0 {
		c.Secrets = map[string]string{}
		for name, ref := range s.Secrets {
			c.Secrets[name] = ref.File.Value
		}
	}
	return c
}

func (r *resolver) networks() {
	r.taken = map[string]map[netip.Addr]diag.Pos{}
	for _, use := range r.d.Design.Networks {
		name := use.Name.Value
		sn := r.d.Site.Networks[name]
		net := &model.Network{Name: name, Provisioning: use.Provisioning, Domain: r.d.Site.Domain.Value, Doc: use.Doc}
		r.taken[name] = map[netip.Addr]diag.Pos{}
		if sn == nil {
			r.c.Networks = append(r.c.Networks, net)
			continue
		}
		if sn.Domain.Value != "" {
			net.Domain = sn.Domain.Value
		}
		if p, err := netip.ParsePrefix(sn.CIDR.Value); err == nil && p.Masked() == p && p.Addr().Is4() {
			net.CIDR = p.String()
			net.Address = p.Addr().String()
			net.Prefix = p.Bits()
			net.Netmask = netmask(p)
			if p.Addr().Is4() {
				b := broadcast(p)
				net.Broadcast = b.String()
				r.taken[name][p.Addr()] = sn.CIDR.Pos
				r.taken[name][b] = sn.CIDR.Pos
			}
			net.ReverseZone = reverseZone(p)
		}
		if gw, err := netip.ParseAddr(sn.Gateway.Value); err == nil {
			net.Gateway = gw.String()
			r.taken[name][gw] = sn.Gateway.Pos
		}
		for _, d := range sn.DNS {
			net.DNS = append(net.DNS, d.Value)
		}
		r.c.Networks = append(r.c.Networks, net)
	}
	r.unoverlap()
}

// unoverlap leaves out the range of a network that overlaps one written
// before it (validate reports it, at the later one): every address
// checked against it would only repeat that problem.
func (r *resolver) unoverlap() {
	type ranged struct {
		net  *model.Network
		p    netip.Prefix
		line int
	}
	var all []ranged
	for _, n := range r.c.Networks {
		if p, err := netip.ParsePrefix(n.CIDR); err == nil && n.CIDR != "" {
			all = append(all, ranged{n, p, r.d.Site.Networks[n.Name].CIDR.Pos.Line})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].line < all[j].line })
	for j, b := range all {
		for _, a := range all[:j] {
			if a.net.CIDR != "" && a.p.Overlaps(b.p) {
				n := b.net
				n.CIDR, n.Address, n.Prefix, n.Netmask, n.Broadcast, n.ReverseZone = "", "", 0, "", "", ""
				r.taken[n.Name] = map[netip.Addr]diag.Pos{}
				break
			}
		}
	}
}

func (r *resolver) network(name string) *model.Network {
	for _, n := range r.c.Networks {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// roles orders the roles: every role after the roles it waits for (and a
// vm after its host), ties broken by name so the order is stable.
func (r *resolver) roles() {
	deps := map[string][]string{}
	for _, name := range r.d.RoleNames() {
		dr := r.d.Roles[name]
		for _, a := range dr.After {
			if _, ok := r.d.Roles[a.Value]; ok {
				deps[name] = append(deps[name], a.Value)
			}
		}
		if dr.Kind.Value == "vm" {
			if _, ok := r.d.Roles[dr.Host.Value]; ok {
				deps[name] = append(deps[name], dr.Host.Value)
			}
		}
	}
	order, stage := topo(r.d.RoleNames(), deps)
	for _, name := range order {
		dr := r.d.Roles[name]
		role := &model.Role{
			Name:        name,
			Description: strings.TrimSpace(dr.Description),
			Kind:        orDefault(dr.Kind.Value, "physical"),
			Stage:       stage[name],
			Disk:        dr.Disk,
		}
		if role.Kind == "vm" {
			role.Host = dr.Host.Value
			if dr.VM != nil {
				role.VM = &model.VMSize{VCPUs: dr.VM.VCPUs, Memory: dr.VM.Memory, Disk: dr.VM.Disk}
			}
		}
		for _, a := range dr.After {
			role.After = append(role.After, a.Value)
		}
		for _, m := range r.moduleOrder(dr) {
			role.Modules = append(role.Modules, m)
		}
		for _, b := range dr.Bootstrap {
			role.Bootstrap = append(role.Bootstrap, b.Value)
		}
		for _, i := range dr.Interfaces {
			role.Networks = append(role.Networks, i.Network.Value)
		}
		r.c.Roles = append(r.c.Roles, role)
	}
}

// moduleOrder lists a role's modules so that each comes after the modules
// it requires; ties by name.
func (r *resolver) moduleOrder(dr *defs.Role) []string {
	var names []string
	deps := map[string][]string{}
	for _, mp := range dr.Modules {
		m, ok := r.d.Modules[mp.Module.Value]
		if !ok {
			continue
		}
		names = append(names, m.Name)
		for _, req := range m.Requires {
			deps[m.Name] = append(deps[m.Name], req.Value)
		}
	}
	sort.Strings(names)
	order, _ := topo(names, deps)
	return order
}

// topo sorts names so that each comes after its deps (cycles are reported
// by package validate; here they are broken arbitrarily but stably).
func topo(names []string, deps map[string][]string) ([]string, map[string]int) {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	stage := map[string]int{}
	state := map[string]int{}
	var order []string
	var visit func(n string) int
	visit = func(n string) int {
		switch state[n] {
		case 1:
			return 0 // on a cycle
		case 2:
			return stage[n]
		}
		state[n] = 1
		s := 0
		ds := append([]string(nil), deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			if in[d] {
				s = max(s, visit(d)+1)
			}
		}
		state[n] = 2
		stage[n] = s
		return s
	}
	for _, n := range names {
		visit(n)
	}
	order = append(order, names...)
	sort.SliceStable(order, func(i, j int) bool {
		if stage[order[i]] != stage[order[j]] {
			return stage[order[i]] < stage[order[j]]
		}
		return order[i] < order[j]
	})
	return order, stage
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func netmask(p netip.Prefix) string {
	if !p.Addr().Is4() {
		return strconv.Itoa(p.Bits())
	}
	m := uint32(0xffffffff) << (32 - p.Bits())
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 0xffffffff >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// reverseZone names the in-addr.arpa zone of an IPv4 network, widened to
// the enclosing octet boundary (a /20 is served as sixteen /24 zones by most
// sites; we name the /16 that holds it, which BIND accepts as one zone).
func reverseZone(p netip.Prefix) string {
	if !p.Addr().Is4() {
		return ""
	}
	a := p.Addr().As4()
	octets := p.Bits() / 8
	var parts []string
	for i := octets - 1; i >= 0; i-- {
		parts = append(parts, strconv.Itoa(int(a[i])))
	}
	return strings.Join(append(parts, "in-addr.arpa"), ".")
}

// vmMAC derives a stable MAC for a VM's NIC from the cluster, the VM and
// the network, in the locally administered range libvirt uses (52:54:00).
func vmMAC(cluster, vm, network string) string {
	h := sha256.Sum256([]byte(cluster + "/" + vm + "/" + network))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
