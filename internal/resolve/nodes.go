package resolve

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
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
	// block names a counted node's count block (role@position), for the
	// address cursors and owners.
	block string
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
	if r.countTotal(); r.tooMany {
		return
	}
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
			r.nameLength(i.Hostname, n.Name, net)
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
		n = len(rn.List)
		for _, b := range rn.Blocks {
			n += max0(b.Count)
		}
		if rn.Count != nil {
			n += max0(rn.Count.Count)
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
	if max >= 0 && max < min {
		min, max = 0, -1 // swapped bounds: reported by validate, once
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
	// The role's items in file order: named nodes and count blocks, whose
	// numbers continue from one block to the next (wn1–wn12, wn13–wn24).
	type item struct {
		entry *defs.NodeEntry
		block *defs.CountedNodes
		pos   diag.Pos
	}
	var items []item
	for _, e := range rn.List {
		items = append(items, item{entry: e, pos: e.Pos})
	}
	for _, b := range rn.Blocks {
		items = append(items, item{block: b, pos: b.Pos})
	}
	if rn.Count != nil {
		items = append(items, item{block: rn.Count, pos: rn.Count.Pos})
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].pos, items[j].pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	pattern := dr.Naming.Value
	if pattern == "" {
		pattern = role.Name + "{n}"
	}
	next := 1 // the number of the next counted node
	for i, it := range items {
		if e := it.entry; e != nil {
			if e.Name.Value == "" {
				continue
			}
			p := &planned{node: mk(e.Name.Value, i+1, e.Pos), entry: e, role: dr, index: i + 1}
			p.node.Group = e.Group.Value
			r.macs(p.node, e.MAC)
			r.entryOf(p.node.Name, e)
			out = append(out, p)
			continue
		}
		block, ok := r.expandBlock(role, dr, it.block, pattern, next, max, bootNet, mk)
		out = append(out, block...)
		if !ok {
			break
		}
		next += max0(it.block.Count)
	}
	return out
}

// entryOf records a named node's site entry, for the parameters
// (siteEntry).
func (r *resolver) entryOf(name string, e *defs.NodeEntry) {
	if r.entries == nil {
		r.entries = map[string]*defs.NodeEntry{}
	}
	if _, dup := r.entries[name]; !dup { // a second node of that name is reported
		r.entries[name] = e
	}
}

// blockRange is a count block and the numbers of its nodes.
type blockRange struct {
	first, last int
	block       *defs.CountedNodes
}

// expandBlock makes the nodes of one count block, numbered from first. It
// returns false when the block cannot be expanded (a count past what kiln
// builds, a pattern without {n}): the role's later blocks are then not
// expanded either, since their names would depend on it.
func (r *resolver) expandBlock(role *model.Role, dr *defs.Role, c *defs.CountedNodes, pattern string, first, max int, bootNet string,
	mk func(name string, idx int, pos diag.Pos) *model.Node) ([]*planned, bool) {
	if (c.Count > 1 || first > 1) && !namePlaceholder.MatchString(pattern) {
		r.diags.Add(c.KeyPos["count"], "role "+role.Name, fmt.Sprintf("the role's name pattern %q has no {n}, so only one node can have it", pattern),
			fmt.Sprintf("set count: 1, or give the role a pattern with {n} in %s", dr.File))
		return nil, false
	}
	if c.Count > MaxCount || first-1+c.Count > MaxCount {
		// Expanding it would take minutes and gigabytes before any address
		// check could say it does not fit.
		r.diags.Add(c.KeyPos["count"], "role "+role.Name, fmt.Sprintf("count %d is more nodes than kiln builds for one role (at most %d)", c.Count, MaxCount),
			"lower count")
		return nil, false
	}
	// A count larger than its networks can hold is reported by allocate;
	// expand only one node more than fits, which is enough for that.
	count := c.Count
	if room := r.room(dr, c); count > room+1 {
		count = room + 1
	}
	if max >= 0 && first-1+count > max+1 {
		count = max0(max + 1 - (first - 1)) // already reported: more than the design allows
	}
	var out []*planned
	block := role.Name + "@" + c.Pos.String()
	for i := 1; i <= count; i++ {
		num := first + i - 1
		name := nodeName(pattern, num)
		p := &planned{node: mk(name, num, c.Pos), entry: c.Nodes[name], role: dr, count: c, index: i, block: block}
		p.node.Group = c.Group.Value
		out = append(out, p)
	}
	if r.blocks == nil {
		r.blocks = map[string][]blockRange{}
	}
	r.blocks[role.Name] = append(r.blocks[role.Name], blockRange{first, first + count - 1, c})
	r.countedMACs(role.Name, dr, c, bootNet, out, count == c.Count)
	if len(c.Nodes) == 0 || count != c.Count {
		return out, true
	}
	names := make(map[string]bool, len(out))
	known := make([]string, len(out))
	for i, p := range out {
		names[p.node.Name] = true
		known[i] = p.node.Name
	}
	for _, name := range sortedKeys(c.Nodes) {
		if !names[name] {
			r.diags.Add(c.Nodes[name].Pos, "role "+role.Name, fmt.Sprintf("there is no node %q among this role's %d counted nodes", name, c.Count),
				fix(diag.DidYouMean(name, known), "the names run from "+nodeName(pattern, first)+" to "+nodeName(pattern, first+max0(c.Count)-1)))
		}
	}
	return out, true
}

// MaxCount bounds a role's count, and MaxNodes the nodes of a site, as
// starter.MaxWorkers bounds kiln init's workers: twice the largest site
// Kiln is measured on (docs/performance.md, 50,000 workers). Each node
// costs kiln check about 13 KB, so this keeps a count that is a slip (or
// a hostile site.yaml) from taking gigabytes and minutes.
const (
	MaxCount = 100_000
	MaxNodes = 100_000
)

// room is how many addresses counted nodes can take at most: on each network
// with a valid start address, the addresses from there to the network's end
// (MaxCount when nothing bounds it). A network with no start, or one that
// cannot be used (reported elsewhere), leaves only the nodes given an
// address by name: expanding a count of millions there (a slip for 4) would
// take minutes and gigabytes to say what one node says.
func (r *resolver) room(dr *defs.Role, c *defs.CountedNodes) int {
	room := MaxCount
	for _, di := range dr.Interfaces {
		s, given := c.Start[di.Network.Value]
		start, err := netip.ParseAddr(s.Value)
		net := r.network(di.Network.Value)
		if !given || err != nil || net == nil || net.CIDR == "" {
			room = min(room, len(c.Nodes))
			continue
		}
		p := netip.MustParsePrefix(net.CIDR)
		if !p.Contains(start) || !start.Is4() {
			room = min(room, len(c.Nodes))
			continue
		}
		a, last := start.As4(), broadcast(p).As4()
		n := int(uint32(last[0])<<24|uint32(last[1])<<16|uint32(last[2])<<8|uint32(last[3])) -
			int(uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3])) + 1
		room = min(room, n)
	}
	return room
}

// macs sets the MACs of a node's interfaces from its explicit settings.
func (r *resolver) macs(n *model.Node, explicit map[string]yamlx.Scalar) {
	for _, i := range n.Interfaces {
		if s, ok := explicit[i.Network]; ok {
			setMAC(i, s, "node")
		}
	}
}

func setMAC(i *model.Interface, s yamlx.Scalar, layer string) {
	if m, err := ptype.ParseMAC(s.Value); err == nil {
		i.MAC = m
		i.MACFrom = model.Origin{Layer: layer, Pos: s.Pos}
	}
}

// macSource is one place that gives a node's NIC its MAC.
type macSource struct {
	s     yamlx.Scalar
	layer string
}

// countedMACs sets the MACs of a counted role's nodes from its macs: (a
// list in node order, a map by node name, or either per interface) and
// from each node's own mac:. A NIC given its MAC in two places is an
// error naming both; a positional list shorter than the nodes is a
// warning naming those without one, since a forgotten MAC in the middle
// shifts every later machine. complete is false when the nodes were cut
// short (a count that does not fit, reported elsewhere): names beyond the
// cut are not reported as unknown then.
func (r *resolver) countedMACs(role string, dr *defs.Role, c *defs.CountedNodes, bootNet string, nodes []*planned, complete bool) {
	where := "role " + role
	m := &c.MACs
	if m.Empty() && !hasNodeMACs(nodes) {
		return
	}
	// Names are looked up only when MACs are given by name.
	var byName map[string]*planned
	var known []string
	if len(m.Keys) > 0 {
		byName = make(map[string]*planned, len(nodes))
		known = make([]string, len(nodes))
		for i, p := range nodes {
			byName[p.node.Name] = p
			known[i] = p.node.Name
		}
	}
	ifaces := map[string]string{} // network or NIC name → network
	var ifNames []string
	for _, di := range dr.Interfaces {
		ifaces[di.Network.Value] = di.Network.Value
		ifaces[di.NIC.Value] = di.Network.Value
		ifNames = append(ifNames, di.Network.Value)
	}
	// node and network → the first two places that give the MAC (a
	// second one is an error), kept by value: one map for the block.
	type macKey struct{ node, net string }
	type macPair struct {
		first, second macSource
		n             int
	}
	sources := make(map[macKey]macPair, len(nodes))
	add := func(node, net string, s yamlx.Scalar, layer string) {
		k := macKey{node, net}
		mp := sources[k]
		switch mp.n {
		case 0:
			mp.first = macSource{s, layer}
		case 1:
			mp.second = macSource{s, layer}
		}
		mp.n++
		sources[k] = mp
	}
	type listUse struct {
		list []yamlx.Scalar
		net  string
		pos  diag.Pos
	}
	var lists []listUse
	positional := func(list []yamlx.Scalar, net string, pos diag.Pos) {
		if len(list) == 0 {
			return
		}
		if len(list) > c.Count && c.Count > 0 {
			r.diags.Add(list[c.Count].Pos, where, fmt.Sprintf("%d MACs are listed for %d nodes", len(list), c.Count), "raise count, or remove the extra MACs")
		}
		for i, s := range list {
			if i >= len(nodes) {
				break
			}
			if s.Value != "" { // ~ or "" is a gap: that node has no MAC here
				add(nodes[i].node.Name, net, s, "site role")
			}
		}
		lists = append(lists, listUse{list, net, pos})
	}
	named := func(sub *defs.MACs, net string) {
		for _, k := range sub.Keys {
			s, ok := sub.ByName[k.Value]
			if !ok {
				continue
			}
			if byName[k.Value] != nil {
				add(k.Value, net, s, "site role")
				continue
			}
			if !complete {
				continue
			}
			what := fmt.Sprintf("there is no node %q among this role's %d nodes", k.Value, c.Count)
			if _, isIface := ifaces[k.Value]; isIface {
				what = fmt.Sprintf("%q is an interface of the role: its MACs are a list or node: MAC lines, not one MAC", k.Value)
			}
			hint := "the names run from " + nodes[0].node.Name + " to " + nodes[len(nodes)-1].node.Name
			dym := diag.DidYouMean(k.Value, known)
			if s := diag.Suggest(k.Value, known); s != "" && strings.TrimRight(s, "0123456789") == strings.TrimRight(k.Value, "0123456789") {
				dym = "" // wn5 for wn1 is no typo: the number is past the count
			}
			r.diags.Add(k.Pos, where, what, fix(dym, hint))
		}
	}
	if (len(m.List) > 0 || len(m.ByName) > 0) && bootNet == "" && len(nodes) > 0 && r.knownNetworks(dr) {
		r.diags.Add(m.Pos, where, "the role has no boot interface, so a MAC without an interface has no NIC to go to",
			fmt.Sprintf("give the MACs per interface: macs: {%s: {%s: …}}", joinNames(ifNames), nodes[0].node.Name))
	} else if len(nodes) > 0 && bootNet != "" {
		positional(m.List, bootNet, m.Pos)
		named(m, bootNet)
	}
	for _, k := range m.Keys {
		sub := m.ByIface[k.Value]
		if sub == nil {
			continue
		}
		net, ok := ifaces[k.Value]
		if !ok {
			what := fmt.Sprintf("this role has no interface %q", k.Value)
			if byName[k.Value] != nil {
				what = fmt.Sprintf("node %s has one MAC per interface; write it as %s: MAC, or under the interface (%s: {%s: MAC})", k.Value, k.Value, joinNames(ifNames), k.Value)
			}
			dym := ""
			if s := diag.Suggest(k.Value, ifNames); s != "" {
				dym = `did you mean "` + s + `"?`
			}
			r.diags.Add(k.Pos, where, what, fix(dym, "the role's interfaces are on: "+joinNames(ifNames)))
			continue
		}
		positional(sub.List, net, sub.Pos)
		named(sub, net)
	}
	for _, p := range nodes {
		if p.entry == nil {
			continue
		}
		for _, net := range sortedKeys(p.entry.MAC) {
			add(p.node.Name, net, p.entry.MAC[net], "node")
		}
	}
	for _, p := range nodes {
		for _, i := range p.node.Interfaces {
			src := sources[macKey{p.node.Name, i.Network}]
			if src.n == 0 {
				continue
			}
			if src.n > 1 {
				r.diags.Add(src.second.s.Pos, "node "+p.node.Name, fmt.Sprintf("the MAC of %s's NIC on %s is given twice: %s at %s and %s here", p.node.Name, i.Network, src.first.s.Value, src.first.s.Pos, src.second.s.Value),
					"keep one of the two (a node: MAC line under macs:, or the node's own mac:)")
			}
			setMAC(i, src.first.s, src.first.layer)
		}
	}
	if !complete {
		return
	}
	for _, l := range lists {
		var missing []string
		for _, p := range nodes {
			if sources[macKey{p.node.Name, l.net}].n == 0 {
				missing = append(missing, p.node.Name)
			}
		}
		if len(missing) == 0 {
			continue
		}
		given := 0
		for _, s := range l.list {
			if s.Value != "" {
				given++
			}
		}
		r.diags.Warn(l.pos, where, fmt.Sprintf("the list of MACs on %s gives %d for %d nodes, so %s %s no MAC (the list is in node order: a forgotten MAC gives every later machine the next one's)",
			l.net, given, len(nodes), nameList(missing), hasHave(len(missing))),
			fmt.Sprintf("add the missing MACs, or write them by name so no machine can take another's: macs: {%s: …}", missing[0]))
	}
}

// knownNetworks reports whether every interface of the role is on a
// network of the design (one that is not is reported by validate).
func (r *resolver) knownNetworks(dr *defs.Role) bool {
	for _, di := range dr.Interfaces {
		if r.network(di.Network.Value) == nil {
			return false
		}
	}
	return true
}

// hasNodeMACs reports whether a node of a count block has a mac: of its own.
func hasNodeMACs(nodes []*planned) bool {
	for _, p := range nodes {
		if p.entry != nil && len(p.entry.MAC) > 0 {
			return true
		}
	}
	return false
}

// nameList names nodes for a message: all of them up to eight, else the
// first six and how many more.
func nameList(names []string) string {
	if len(names) <= 8 {
		return joinNames(names)
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:6], ", "), len(names)-6)
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
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
	// One cursor per count block and network; owner.role is the block's
	// key too, so that a block's own addresses count as free for it.
	block, key := p.block, p.block+"/"+i.Network
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
		if o, taken := owners[i.Network][a]; taken && o.role != block {
			r.diags.Warn(start.Pos, where, fmt.Sprintf("start address %s on %s is already %s (%s), so %s takes the next free address instead", a, i.Network, o.what, o.pos, p.node.Name),
				"start the role at a free address, so that the first node's address is the one written here")
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
				free := freeFrom(owners[i.Network], net, start.Value, block)
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
	owners[i.Network][cur] = owner{what: "node " + p.node.Name + "'s", pos: start.Pos, role: block}
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
		// Host names are case-insensitive (DNS, DHCP, Puppet certnames
		// lower-case them): Head and head are one name.
		key := strings.ToLower(n.Name)
		if o, ok := names[key]; ok {
			if o.Name != n.Name {
				r.diags.Add(n.Origin, "node "+n.Name, fmt.Sprintf("the name %s is node %s's of role %s (%s) but for case, and host names are not case-sensitive", n.Name, o.Name, o.Role, o.Origin),
					"give each node its own name (lower case, as DNS writes it)")
				continue
			}
			r.diags.Add(n.Origin, "node "+n.Name, fmt.Sprintf("the name %s is also used by a node of role %s (%s)", n.Name, o.Role, o.Origin),
				"give each node its own name")
			continue
		}
		names[key] = n
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

// nameLength reports a host name longer than DNS allows (253 characters)
// at the line that made it so: the network's domain, else the site's.
// Once per domain; the node names are the design's or the site's own.
func (r *resolver) nameLength(fqdn, node string, net *model.Network) {
	if len(fqdn) <= 253 {
		return
	}
	at := r.d.Site.Domain.Pos
	if sn := r.d.Site.Networks[net.Name]; sn != nil && sn.Domain.Value != "" {
		at = sn.Domain.Pos
	}
	if r.long == nil {
		r.long = map[diag.Pos]bool{}
	}
	if r.long[at] {
		return
	}
	r.long[at] = true
	r.diags.Add(at, "network "+net.Name, fmt.Sprintf("node %s's name on %s, %s.…, is %d characters: more than the 253 DNS allows", node, net.Name, node, len(fqdn)),
		fmt.Sprintf("use a domain of at most %d characters", 253-1-len(node)))
}

// countTotal checks, before any node is made, that the site's nodes in
// all (each role's list, or its count up to MaxCount) stay within
// MaxNodes; when they do not, it says so at the largest role and no node
// is made.
func (r *resolver) countTotal() {
	total, biggest := 0, 0
	var at diag.Pos
	var role string
	for _, name := range sortedKeys(r.d.Site.Nodes) {
		rn := r.d.Site.Nodes[name]
		n := 0
		var pos diag.Pos
		if rn == nil {
			continue
		}
		n, pos = len(rn.List), rn.Pos
		blocks := rn.Blocks
		if rn.Count != nil {
			blocks = append(blocks[:len(blocks):len(blocks)], rn.Count)
		}
		for _, b := range blocks {
			if b.Count <= MaxCount { // a larger count is reported at its block
				n += max0(b.Count)
				pos = b.KeyPos["count"]
			}
		}
		total += n
		if n > biggest {
			biggest, at, role = n, pos, name
		}
	}
	if total > MaxNodes {
		r.tooMany = true
		r.diags.Add(at, "role "+role, fmt.Sprintf("the site has %d nodes in all, more than kiln builds for one site (at most %d)", total, MaxNodes),
			"lower the counts: a count this large is usually a slip")
	}
}
