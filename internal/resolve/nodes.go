package resolve

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/ptype"
	"kiln.dev/kiln/internal/yamlx"
)

// planned is a node before its addresses are final.
type planned struct {
	node  *model.Node
	entry *defs.NodeEntry // nil for a counted node without settings
	role  *defs.Role
	count *defs.CountedNodes
	index int
}

// owner says who holds an address, for the message about a clash.
type owner struct {
	what string
	pos  diag.Pos
	// role is set for an address allocated from a role's start address.
	role string
}

func (r *resolver) nodes() {
	var all []*planned
	for _, role := range r.c.Roles {
		dr := r.d.Roles[role.Name]
		rn := r.d.Site.Nodes[role.Name]
		all = append(all, r.expand(role, dr, rn)...)
	}
	owners := map[string]map[netip.Addr]owner{}
	for _, n := range r.c.Networks {
		owners[n.Name] = map[netip.Addr]owner{}
		for a, p := range r.taken[n.Name] {
			what := "the network's own address"
			if n.Gateway == a.String() {
				what = "the network's gateway"
			} else if n.Broadcast == a.String() {
				what = "the network's broadcast address"
			}
			owners[n.Name][a] = owner{what: what, pos: p}
		}
	}
	// Explicit addresses first, so that counted nodes allocated afterwards
	// step around them wherever they are in the file.
	for _, p := range all {
		if p.entry == nil {
			continue
		}
		if a := p.entry.Asset; a.Value != "" {
			if bad := strings.IndexFunc(a.Value, func(r rune) bool { return r < 0x21 || r > 0x7e }); bad >= 0 || len(a.Value) > 128 {
				r.diags.Add(a.Pos, "node "+p.node.Name, fmt.Sprintf("asset %q is not an asset tag: printable ASCII without spaces, 128 characters at most", a.Value),
					"write the tag as the firmware reports it (dmidecode -s chassis-asset-tag), or leave asset: out")
			} else {
				p.node.Asset = a.Value
			}
		}
		for _, i := range p.node.Interfaces {
			s, ok := p.entry.IP[i.Network]
			if !ok {
				continue
			}
			r.claim(owners, p.node, i, s)
		}
	}
	cursors := map[string]netip.Addr{} // per role and network
	for _, p := range all {
		for _, i := range p.node.Interfaces {
			if i.IP != "" {
				continue
			}
			if p.entry != nil && p.entry.IP[i.Network].Value != "" {
				continue // explicit but invalid: already reported
			}
			if p.count == nil {
				r.diags.Add(p.entry.Pos, "node "+p.node.Name, fmt.Sprintf("no address on network %s", i.Network),
					fmt.Sprintf("add ip: {%s: …} to this node", i.Network))
				continue
			}
			r.allocate(owners, cursors, p, i)
		}
	}
	for _, p := range all {
		r.c.Nodes = append(r.c.Nodes, p.node)
	}
	r.duplicates()
	r.gateways()
	for _, n := range r.c.Nodes {
		gwSet := false
		for _, i := range n.Interfaces {
			net := r.network(i.Network)
			if net == nil {
				continue
			}
			i.Netmask, i.Prefix, i.DNS = net.Netmask, net.Prefix, net.DNS
			i.Hostname = qualify(n.Name, net.Domain)
			if !gwSet && net.Gateway != "" && net.Gateway != i.IP {
				i.Gateway = net.Gateway
				gwSet = true
			}
		}
		if pi := n.Primary(); pi != nil {
			n.FQDN = pi.Hostname
		} else {
			n.FQDN = qualify(n.Name, r.c.Domain)
		}
	}
}

// expand turns one role's site entry into planned nodes.
func (r *resolver) expand(role *model.Role, dr *defs.Role, rn *defs.RoleNodes) []*planned {
	var out []*planned
	min, max := 0, -1
	var boundsPos diag.Pos
	if dr.Count != nil {
		min, boundsPos = dr.Count.Min, dr.Count.Pos
		if dr.Count.Max != nil {
			max = *dr.Count.Max
		}
	}
	n := 0
	// With no nodes: key at all, point at the site file rather than nowhere.
	sitePos := r.d.Site.KeyPos["nodes"].OrFile(r.d.Site.File)
	if rn != nil {
		sitePos = rn.Pos
		switch {
		case rn.List != nil:
			n = len(rn.List)
		case rn.Count != nil:
			n = max0(rn.Count.Count)
		}
	}
	bounds := func() string {
		if max < 0 {
			return fmt.Sprintf("at least %d", min)
		}
		if min == max {
			return strconv.Itoa(min)
		}
		return fmt.Sprintf("%d to %d", min, max)
	}
	if n < min {
		if rn == nil {
			r.diags.Add(sitePos, "role "+role.Name, fmt.Sprintf("the design needs %s %s node(s) and site.yaml has none", bounds(), role.Name),
				fmt.Sprintf("add %s: under nodes: (see %s for the role)", role.Name, dr.File))
		} else {
			r.diags.Add(sitePos, "role "+role.Name, fmt.Sprintf("the design needs %s %s node(s); this site has %d", bounds(), role.Name, n),
				fmt.Sprintf("add nodes, or change the bounds in %s", boundsPos))
		}
	}
	if max >= 0 && n > max {
		r.diags.Add(sitePos, "role "+role.Name, fmt.Sprintf("the design allows %s %s node(s); this site has %d", bounds(), role.Name, n),
			fmt.Sprintf("remove nodes, or change the bounds in %s", boundsPos))
	}
	if rn == nil {
		return nil
	}
	bootNet := bootNetwork(dr, r.d.Design)
	mk := func(name string, idx int, pos diag.Pos) *model.Node {
		node := &model.Node{Name: name, Role: role.Name, Kind: role.Kind, Index: idx, VM: role.VM, Origin: pos}
		for _, di := range dr.Interfaces {
			node.Interfaces = append(node.Interfaces, &model.Interface{
				NIC: di.NIC.Value, Network: di.Network.Value, Boot: di.Network.Value == bootNet && bootNet != "",
				NoBoot: di.Boot != nil && !*di.Boot,
			})
		}
		role.Nodes = append(role.Nodes, name)
		return node
	}
	if rn.List != nil {
		for i, e := range rn.List {
			if e.Name.Value == "" {
				continue
			}
			p := &planned{node: mk(e.Name.Value, i+1, e.Pos), entry: e, role: dr, index: i + 1}
			r.macs(p.node, e.MAC, nil)
			out = append(out, p)
		}
		return out
	}
	c := rn.Count
	if c == nil {
		return nil // neither a list nor a count: reported when decoding
	}
	pattern := dr.Naming.Value
	if pattern == "" {
		pattern = role.Name + "{n}"
	}
	if c.Count > 1 && !namePlaceholder.MatchString(pattern) {
		r.diags.Add(c.KeyPos["count"], "role "+role.Name, fmt.Sprintf("the role's name pattern %q has no {n}, so only one node can have it", pattern),
			fmt.Sprintf("set count: 1, or give the role a pattern with {n} in %s", dr.File))
		return nil
	}
	if c.Count > MaxCount {
		// Expanding it would take minutes and gigabytes before any address
		// check could say it does not fit.
		r.diags.Add(c.KeyPos["count"], "role "+role.Name, fmt.Sprintf("count %d is more nodes than kiln builds for one role (at most %d)", c.Count, MaxCount),
			"lower count")
		return nil
	}
	// A count larger than its networks can hold is reported by allocate;
	// expand only one node more than fits, which is enough for that.
	count := c.Count
	if room := r.room(dr, c); count > room+1 {
		count = room + 1
	}
	names := map[string]bool{}
	for i := 1; i <= count; i++ {
		name := nodeName(pattern, i)
		names[name] = true
		p := &planned{node: mk(name, i, c.Pos), entry: c.Nodes[name], role: dr, count: c, index: i}
		var listed *yamlx.Scalar
		if i-1 < len(c.MACs) {
			listed = &c.MACs[i-1]
		}
		var explicit map[string]yamlx.Scalar
		if p.entry != nil {
			explicit = p.entry.MAC
		}
		r.macs(p.node, explicit, listed)
		out = append(out, p)
	}
	var known []string
	for n := range names {
		known = append(known, n)
	}
	for _, name := range sortedKeys(c.Nodes) {
		if !names[name] && count == c.Count {
			r.diags.Add(c.Nodes[name].Pos, "role "+role.Name, fmt.Sprintf("there is no node %q among this role's %d counted nodes", name, c.Count),
				fix(diag.DidYouMean(name, known), "the names run from "+nodeName(pattern, 1)+" to "+nodeName(pattern, max0(c.Count))))
		}
	}
	return out
}

// MaxCount bounds a role's count, as starter.MaxWorkers bounds kiln init's
// workers: the private network of so many nodes is a /9.
const MaxCount = 1 << 22

// room is how many addresses counted nodes can take at most: on each network
// with a valid start address, the addresses from there to the network's end
// (MaxCount when nothing bounds it).
func (r *resolver) room(dr *defs.Role, c *defs.CountedNodes) int {
	room := MaxCount
	for _, di := range dr.Interfaces {
		start, err := netip.ParseAddr(c.Start[di.Network.Value].Value)
		net := r.network(di.Network.Value)
		if err != nil || net == nil || net.CIDR == "" {
			continue
		}
		p := netip.MustParsePrefix(net.CIDR)
		if !p.Contains(start) || !start.Is4() {
			continue
		}
		a, last := start.As4(), broadcast(p).As4()
		n := int(uint32(last[0])<<24|uint32(last[1])<<16|uint32(last[2])<<8|uint32(last[3])) -
			int(uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3])) + 1
		room = min(room, n)
	}
	return room
}

// macs sets the MACs of a node's interfaces from its explicit settings and,
// for the boot interface, from the role's list of MACs.
func (r *resolver) macs(n *model.Node, explicit map[string]yamlx.Scalar, listed *yamlx.Scalar) {
	for _, i := range n.Interfaces {
		var s *yamlx.Scalar
		layer := "node"
		if e, ok := explicit[i.Network]; ok {
			s = &e
		} else if i.Boot && listed != nil {
			s, layer = listed, "site role"
		}
		if s == nil {
			continue
		}
		if m, err := ptype.ParseMAC(s.Value); err == nil {
			i.MAC = m
			i.MACFrom = model.Origin{Layer: layer, Pos: s.Pos}
		}
	}
}

// claim gives node n the explicit address s on interface i.
func (r *resolver) claim(owners map[string]map[netip.Addr]owner, n *model.Node, i *model.Interface, s yamlx.Scalar) {
	a, err := netip.ParseAddr(s.Value)
	if err != nil {
		return // reported by validate
	}
	where := "node " + n.Name
	if !r.inNetwork(i.Network, a, s.Pos, where) {
		return
	}
	if o, ok := owners[i.Network][a]; ok {
		r.diags.Add(s.Pos, where, fmt.Sprintf("address %s on %s is already %s (%s)", a, i.Network, o.what, o.pos),
			"give each node its own address")
		return
	}
	owners[i.Network][a] = owner{what: "node " + n.Name + "'s", pos: s.Pos}
	i.IP = a.String()
	i.IPOrigin = model.Origin{Layer: "node", Pos: s.Pos}
}

func (r *resolver) inNetwork(network string, a netip.Addr, pos diag.Pos, where string) bool {
	net := r.network(network)
	if net == nil || net.CIDR == "" {
		return false
	}
	p := netip.MustParsePrefix(net.CIDR)
	if !p.Contains(a) {
		r.diags.Add(pos, where, fmt.Sprintf("address %s is outside the %s network %s", a, network, p),
			fmt.Sprintf("use an address within %s, or correct the network's cidr", p))
		return false
	}
	return true
}

// allocate gives a counted node the next free address from its role's
// start address.
func (r *resolver) allocate(owners map[string]map[netip.Addr]owner, cursors map[string]netip.Addr, p *planned, i *model.Interface) {
	role := p.node.Role
	where := "role " + role
	if mn := r.network(i.Network); mn == nil {
		return // not a network of the design: reported by validate
	}
	start, ok := p.count.Start[i.Network]
	if !ok {
		if p.index == 1 {
			r.diags.Add(p.count.Pos, where, fmt.Sprintf("no start address for network %s", i.Network),
				fmt.Sprintf("add start: {%s: …} with the first node's address; the others follow", i.Network))
		}
		return
	}
	key := role + "/" + i.Network
	if mn := r.network(i.Network); mn == nil || mn.CIDR == "" {
		return
	}
	cur, ok := cursors[key]
	if !ok {
		a, err := netip.ParseAddr(start.Value)
		if err != nil || !r.inNetwork(i.Network, a, start.Pos, where) {
			cursors[key] = netip.Addr{}
			return
		}
		cur = a
	}
	if !cur.IsValid() {
		return // start already reported
	}
	mn := r.network(i.Network)
	if mn == nil || mn.CIDR == "" {
		return // an unknown or broken network: reported by validate
	}
	net := netip.MustParsePrefix(mn.CIDR)
	for {
		if !net.Contains(cur) {
			if !r.reported(key) {
				free := freeFrom(owners[i.Network], net, start.Value, role)
				r.diags.Add(p.count.KeyPos["count"], where,
					fmt.Sprintf("count %d needs %d addresses on %s from %s, but only %d are free up to the end of %s", p.count.Count, p.count.Count, i.Network, start.Value, free, net),
					"lower count, move start to an earlier address, or widen the network")
			}
			cursors[key] = netip.Addr{}
			return
		}
		if _, used := owners[i.Network][cur]; !used {
			break
		}
		cur = cur.Next()
	}
	owners[i.Network][cur] = owner{what: "node " + p.node.Name + "'s", pos: start.Pos, role: role}
	i.IP = cur.String()
	i.IPOrigin = model.Origin{Layer: "computed", Pos: start.Pos}
	cursors[key] = cur.Next()
}

func (r *resolver) reported(key string) bool {
	if r.full == nil {
		r.full = map[string]bool{}
	}
	done := r.full[key]
	r.full[key] = true
	return done
}

// freeFrom counts the addresses from start to the end of the network that
// a role could have used: free ones, and those it had already taken.
func freeFrom(owned map[netip.Addr]owner, net netip.Prefix, start, role string) int {
	a, err := netip.ParseAddr(start)
	if err != nil {
		return 0
	}
	n := 0
	for ; net.Contains(a); a = a.Next() {
		if o, used := owned[a]; !used || o.role == role {
			n++
		}
	}
	return n
}

// gateways resolves a gateway given as a node name to that node's address.
func (r *resolver) gateways() {
	for _, net := range r.c.Networks {
		sn := r.d.Site.Networks[net.Name]
		if sn == nil || sn.Gateway.Value == "" {
			continue
		}
		if _, err := netip.ParseAddr(sn.Gateway.Value); err == nil {
			continue
		}
		gw := r.byName[sn.Gateway.Value]
		switch {
		case net.CIDR == "":
			// The network's cidr is wrong (reported): no node has an address on it.
		case gw == nil:
			r.diags.Add(sn.Gateway.Pos, "network "+net.Name, fmt.Sprintf("gateway %q is neither an address nor a node of this site", sn.Gateway.Value),
				"write the router's address, or the name of the node that routes this network (e.g. head)")
		case gw.IP(net.Name) == "":
			r.diags.Add(sn.Gateway.Pos, "network "+net.Name, fmt.Sprintf("node %s has no address on %s, so it cannot be its gateway", gw.Name, net.Name),
				"name a node with an interface on this network")
		default:
			net.Gateway = gw.IP(net.Name)
		}
	}
}

// vmPlacement puts each vm on a node of its host role: the one its entry
// names, or spread in turn over the host role's nodes.
func (r *resolver) vmPlacement() {
	for _, role := range r.c.Roles {
		if role.Kind != "vm" {
			continue
		}
		if h := r.d.Roles[role.Host]; h == nil || h.Kind.Value == "vm" {
			continue // no such host role, or a vm: reported by validate
		}
		hosts := r.nodesOf(role.Host)
		for k, name := range role.Nodes {
			n := r.byName[name]
			if n == nil {
				continue
			}
			var entry *defs.NodeEntry
			if rn := r.d.Site.Nodes[role.Name]; rn != nil && rn.List != nil {
				for _, e := range rn.List {
					if e.Name.Value == name {
						entry = e
					}
				}
			}
			var host *model.Node
			switch {
			case entry != nil && entry.Host.Value != "":
				host = r.byName[entry.Host.Value]
				if host == nil || host.Role != role.Host {
					r.diags.Add(entry.Host.Pos, "node "+name, fmt.Sprintf("host %q is not a node of role %s", entry.Host.Value, role.Host),
						fix(diag.DidYouMean(entry.Host.Value, r.namesOf(role.Host)), "name one of the "+role.Host+" nodes"))
					continue
				}
			case len(hosts) == 0:
				if k == 0 {
					r.diags.Add(n.Origin, "role "+role.Name, fmt.Sprintf("the vm needs a %s node to run on and this site has none", role.Host),
						fmt.Sprintf("add a %s node under nodes:", role.Host))
				}
				continue
			default:
				host = hosts[k%len(hosts)]
			}
			n.Host = host.Name
			host.Guests = append(host.Guests, name)
			for _, i := range n.Interfaces {
				if i.MAC == "" {
					i.MAC = vmMAC(r.c.Name, name, i.Network)
					i.MACFrom = model.Origin{Layer: "computed"}
				}
			}
		}
	}
}

func (r *resolver) nodesOf(role string) []*model.Node {
	var out []*model.Node
	for _, n := range r.c.Nodes {
		if n.Role == role {
			out = append(out, n)
		}
	}
	return out
}

func (r *resolver) namesOf(role string) []string {
	var out []string
	for _, n := range r.nodesOf(role) {
		out = append(out, n.Name)
	}
	return out
}

// duplicates reports two nodes with one name, or two NICs with one MAC.
func (r *resolver) duplicates() {
	names := map[string]*model.Node{}
	r.byName = map[string]*model.Node{}
	for _, n := range r.c.Nodes {
		if o, ok := names[n.Name]; ok {
			r.diags.Add(n.Origin, "node "+n.Name, fmt.Sprintf("the name %s is also used by a node of role %s (%s)", n.Name, o.Role, o.Origin),
				"give each node its own name")
			continue
		}
		names[n.Name] = n
		r.byName[n.Name] = n
	}
}

// macDuplicates reports two NICs with one MAC; it runs after vms have
// their derived MACs.
func (r *resolver) macDuplicates() {
	macs := map[string]string{}
	for _, n := range r.c.Nodes {
		for _, i := range n.Interfaces {
			if i.MAC == "" {
				continue
			}
			who := n.Name + " " + i.NIC
			if o, ok := macs[i.MAC]; ok {
				r.diags.Add(i.MACFrom.Pos, "node "+n.Name, fmt.Sprintf("MAC %s is also given to %s", i.MAC, o),
					"each NIC has its own MAC; check the label on the machine")
				continue
			}
			macs[i.MAC] = who
		}
	}
}

var namePlaceholder = regexp.MustCompile(`\{n(?::(0?)(\d))?\}`)

// nodeName fills a role's name pattern for node number i.
func nodeName(pattern string, i int) string {
	return namePlaceholder.ReplaceAllStringFunc(pattern, func(m string) string {
		sm := namePlaceholder.FindStringSubmatch(m)
		if sm[2] == "" {
			return strconv.Itoa(i)
		}
		w, _ := strconv.Atoi(sm[2])
		return fmt.Sprintf("%0*d", w, i)
	})
}

// bootNetwork is the network a role's machines boot from: the interface
// marked boot, else the first on a provisioning network.
func bootNetwork(dr *defs.Role, d *defs.Design) string {
	for _, i := range dr.Interfaces {
		if i.Boot != nil && *i.Boot {
			return i.Network.Value
		}
	}
	prov := map[string]bool{}
	for _, n := range d.Networks {
		prov[n.Name.Value] = n.Provisioning
	}
	for _, i := range dr.Interfaces {
		if prov[i.Network.Value] && (i.Boot == nil || *i.Boot) {
			return i.Network.Value
		}
	}
	return ""
}

// qualify is a node's name in a domain. With no domain (site.yaml lacks
// one, already reported) it is the bare name: "head." would fail every
// hostname check that refers to it, one confusing message per reference.
func qualify(name, domain string) string {
	if domain == "" {
		return name
	}
	return name + "." + domain
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}
