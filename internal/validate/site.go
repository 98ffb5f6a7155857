package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/load"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/ptype"
	"kiln.dev/kiln/internal/yamlx"
)

func (v *checker) site() {
	s := v.d.Site
	where := "site"
	if s.Cluster.Value != "" {
		if err := ptype.CheckLabel(s.Cluster.Value); err != nil {
			v.diags.Add(s.Cluster.Pos, where, "bad cluster name: "+err.Error(), "use a short name such as mytier3")
		}
	}
	if s.Domain.Value != "" {
		if err := ptype.CheckHostname(s.Domain.Value); err != nil {
			v.diags.Add(s.Domain.Pos, where, "bad domain: "+err.Error(), "write the DNS domain, e.g. physics.example.edu")
		}
	}
	if why, refused := Refused[s.OS.Value]; refused {
		v.diags.Add(s.OS.Pos, where, fmt.Sprintf("os %s is no longer built: %s, and none of the repositories the design needs (OpenVox, HTCondor, EPEL) carries it", s.OS.Value, why),
			"write os: el9 (AlmaLinux or Rocky 9, the default) or os: el10; el8 still builds until its end of life in 2029")
	} else {
		v.oneOf(s.OS, Dialects, where, "os")
	}

	declared := map[string]bool{}
	var netNames []string
	for _, n := range v.d.Design.Networks {
		declared[n.Name.Value] = true
		netNames = append(netNames, n.Name.Value)
		if _, ok := s.Networks[n.Name.Value]; !ok && s.Networks != nil {
			v.diags.Add(s.KeyPos["networks"], where, fmt.Sprintf("the design uses network %q but the site does not define it", n.Name.Value),
				fmt.Sprintf("add %s: {cidr: …} under networks:", n.Name.Value))
		}
	}
	provisioning := map[string]bool{}
	for _, n := range v.d.Design.Networks {
		provisioning[n.Name.Value] = n.Provisioning
	}
	var nets []siteNet
	for _, name := range sortedKeys(s.Networks) {
		n := s.Networks[name]
		nw := "network " + name
		if !declared[name] {
			v.diags.Add(n.Pos, nw, fmt.Sprintf("the design has no network %q", name), fix(diag.DidYouMean(name, netNames), "remove it, or add it to the design"))
		}
		prefix, err := netip.ParsePrefix(n.CIDR.Value)
		switch {
		case n.CIDR.Value == "":
		case err != nil:
			v.diags.Add(n.CIDR.Pos, nw, fmt.Sprintf("%q is not a network in CIDR form", n.CIDR.Value), "write it like 10.10.0.0/24")
		case prefix.Masked() != prefix:
			v.diags.Add(n.CIDR.Pos, nw, fmt.Sprintf("%q has host bits set", n.CIDR.Value), fmt.Sprintf("did you mean %s?", prefix.Masked()))
		case !prefix.Addr().Is4():
			// The design's templates write IPv4: netmasks, DHCPv4 ranges,
			// in-addr.arpa zones, PXE. An IPv6 network would build files
			// that look right and do not work.
			also := ""
			if provisioning[name] {
				also = "; nodes install over this network with PXE and DHCPv4, which need IPv4"
			}
			v.diags.Add(n.CIDR.Pos, nw, fmt.Sprintf("%s is an IPv6 network, and the design writes IPv4 addresses for it (netmasks, DHCP ranges, reverse zones)%s", n.CIDR.Value, also),
				"give the network's IPv4 range, e.g. 10.10.0.0/24")
		case prefix.Bits() > 30:
			v.diags.Add(n.CIDR.Pos, nw, fmt.Sprintf("%s leaves no room for hosts", n.CIDR.Value), "use a /30 or larger network")
		default:
			nets = append(nets, siteNet{name, prefix, n.CIDR.Pos})
		}
		if n.Gateway.Value != "" {
			gw, err := netip.ParseAddr(n.Gateway.Value)
			switch {
			case err != nil && ptype.CheckLabel(n.Gateway.Value) == nil:
				// A node's name: the node that routes this network, checked once nodes exist.
			case err != nil:
				v.diags.Add(n.Gateway.Pos, nw, fmt.Sprintf("gateway %q is not an IP address", n.Gateway.Value), "write the router's address, e.g. 10.10.0.1, or the name of the node that routes this network")
			case !prefix.IsValid() || !prefix.Addr().Is4() || prefix.Masked() != prefix:
				// the network is reported
			case !prefix.Contains(gw):
				v.diags.Add(n.Gateway.Pos, nw, fmt.Sprintf("gateway %s is outside the network %s", gw, prefix), "a gateway must be on the network it serves")
			case gw == prefix.Addr():
				v.diags.Add(n.Gateway.Pos, nw, fmt.Sprintf("gateway %s is the network's own address, which no host can have", gw), fmt.Sprintf("write the router's address, e.g. %s", prefix.Addr().Next()))
			case gw == lastAddr(prefix):
				v.diags.Add(n.Gateway.Pos, nw, fmt.Sprintf("gateway %s is the network's broadcast address, which no host can have", gw), fmt.Sprintf("write the router's address, e.g. %s", prefix.Addr().Next()))
			}
		}
		for _, d := range n.DNS {
			if a, err := netip.ParseAddr(d.Value); err != nil {
				v.diags.Add(d.Pos, nw, fmt.Sprintf("name server %q is not an IP address", d.Value), "write the server's address, e.g. 10.10.0.1")
			} else if !a.Is4() && provisioning[name] {
				v.diags.Add(d.Pos, nw, fmt.Sprintf("name server %s is an IPv6 address, and nodes on this network get their name servers over DHCPv4, which carries IPv4 addresses only", d.Value),
					"write the server's IPv4 address, e.g. 10.10.0.1")
			}
		}
		if n.Domain.Value != "" {
			if err := ptype.CheckHostname(n.Domain.Value); err != nil {
				v.diags.Add(n.Domain.Pos, nw, "bad domain: "+err.Error(), "write a DNS domain such as mytier3.local")
			}
		}
	}

	v.overlaps(nets)

	for _, role := range sortedKeys(s.Nodes) {
		rn := s.Nodes[role]
		r, ok := v.d.Roles[role]
		if !ok && v.d.Unreadable["role "+role] {
			continue // its file is reported
		}
		if !ok {
			v.diags.Add(rn.Pos, "site nodes", fmt.Sprintf("unknown role %q", role), fix(diag.DidYouMean(role, v.d.RoleNames()), "the roles are the design's roles/ files"))
			continue
		}
		v.roleNodes(r, rn)
	}

	used := map[string]bool{}
	for _, r := range v.d.Roles {
		for _, mp := range r.Modules {
			used[mp.Module.Value] = true
		}
	}
	for _, mp := range s.Parameters {
		m := v.moduleRef(mp.Module, "site parameters")
		if m == nil {
			continue
		}
		if !used[m.Name] {
			v.diags.Add(mp.Module.Pos, "site parameters", fmt.Sprintf("no role runs module %s, so these values are never used", m.Name), "remove them, or add the module to a role")
		}
		v.params(m, mp.Params, "site parameters")
		v.secretRefs(m, mp.Params)
	}

	for _, u := range v.d.Design.Secrets {
		if _, ok := s.Secrets[u.Name.Value]; !ok {
			at := s.KeyPos["secrets"]
			if at.IsZero() {
				at = diag.Pos{File: s.File}
			}
			v.diags.Add(at, "secrets", fmt.Sprintf("the design needs the secret %s (%s) and site.yaml does not list it", u.Name.Value, strings.TrimSuffix(u.Doc, ".")),
				fmt.Sprintf("add %s: {file: secrets/%s} under secrets: and put the secret in that file (0600)", u.Name.Value, u.Name.Value))
		}
	}

	for _, name := range sortedKeys(s.Secrets) {
		ref := s.Secrets[name]
		if ref.File.Value == "" {
			continue
		}
		p := path.Clean(ref.File.Value)
		if !fs.ValidPath(p) {
			v.diags.Add(ref.File.Pos, "secret "+name, fmt.Sprintf("%q is not a path inside the site folder", ref.File.Value), "keep secrets in the site folder, e.g. secrets/"+name)
			continue
		}
		v.secretFile(name, ref, p)
	}
}

// roleNodes checks one role's entry under nodes:.
func (v *checker) roleNodes(r *defs.Role, rn *defs.RoleNodes) {
	where := "role " + r.Name
	nets := map[string]bool{}
	var netNames []string
	for _, i := range r.Interfaces {
		nets[i.Network.Value] = true
		netNames = append(netNames, i.Network.Value)
	}
	entry := func(e *defs.NodeEntry, w string) {
		if e.Name.Value != "" {
			if err := ptype.CheckLabel(e.Name.Value); err != nil {
				v.diags.Add(e.Name.Pos, w, "bad node name: "+err.Error(), "use letters, digits and hyphens, e.g. wn01")
			}
		}
		for _, net := range sortedKeys(e.IP) {
			ip := e.IP[net]
			v.netKey(net, ip, nets, netNames, w)
			if _, err := netip.ParseAddr(ip.Value); err != nil {
				v.diags.Add(ip.Pos, w, fmt.Sprintf("%q is not an IP address", ip.Value), "write it like 10.10.0.5")
			}
		}
		for _, net := range sortedKeys(e.MAC) {
			mac := e.MAC[net]
			v.netKey(net, mac, nets, netNames, w)
			v.mac(mac, w)
		}
		v.group(e.Group, w)
		if e.Host.Value != "" && r.Kind.Value != "vm" {
			v.diags.Add(e.Host.Pos, w, "only a vm has a host", "remove host:")
		}
		v.roleParams(r, e.Parameters, w)
		v.nodeModules(r, e, w)
	}
	if rn.List != nil {
		for _, e := range rn.List {
			w := where
			if e.Name.Value == "" {
				v.diags.Add(e.Pos, where, "this node has no name", "add name: with its short host name")
			} else {
				w = "node " + e.Name.Value
			}
			entry(e, w)
		}
	}
	blocks := rn.Blocks
	if rn.Count != nil {
		blocks = append(blocks, rn.Count)
	}
	for _, c := range blocks {
		if c.Count < 0 {
			v.diags.Add(c.KeyPos["count"], where, "count cannot be negative", "use 0 or more")
		}
		v.group(c.Group, where)
		for _, net := range sortedKeys(c.Start) {
			s := c.Start[net]
			v.netKey(net, s, nets, netNames, where)
			if _, err := netip.ParseAddr(s.Value); err != nil {
				v.diags.Add(s.Pos, where, fmt.Sprintf("start address %q is not an IP address", s.Value), "write it like 10.10.0.101")
			}
		}
		for _, m := range c.MACs.All() {
			v.mac(m, where)
		}
		// count 0 is also what a count that is not a number decodes to
		// (reported): say nothing of the MACs then. A list longer than
		// count, and map keys that are no node or interface of the role,
		// are reported when resolving, which knows the names.
		if all := c.MACs.All(); c.Count == 0 && len(all) > 0 && c.CountRead {
			v.diags.Add(all[0].Pos, where, fmt.Sprintf("%d MACs are listed for a count of 0 nodes", len(all)), "raise count to the number of machines, or remove the MACs")
		}
		v.roleParams(r, c.Parameters, where)
		for _, name := range sortedKeys(c.Nodes) {
			e := c.Nodes[name]
			if e.Name.Value != "" && e.Name.Value != name {
				v.diags.Add(e.Name.Pos, "node "+name, "a counted node's name is its key", "remove name:")
			}
			entry(e, "node "+name)
		}
	}
}

// group checks a group: label (a rack), which selectors name (group:rack2).
func (v *checker) group(g yamlx.Scalar, where string) {
	if g.Value == "" {
		return
	}
	if err := ptype.CheckLabel(g.Value); err != nil {
		v.diags.Add(g.Pos, where, "bad group name: "+err.Error(), "use letters, digits and hyphens, e.g. rack2")
	}
}

func (v *checker) netKey(net string, s yamlx.Scalar, nets map[string]bool, netNames []string, where string) {
	if !nets[net] && len(netNames) > 0 { // a role with no interfaces is reported
		p := s.Pos
		v.diags.Add(p, where, fmt.Sprintf("this role has no interface on network %q", net), fix(diag.DidYouMean(net, netNames), "the role's networks are: "+joinOr(netNames)))
	}
}

func (v *checker) mac(s yamlx.Scalar, where string) {
	m, err := ptype.ParseMAC(s.Value)
	if err != nil {
		v.diags.Add(s.Pos, where, err.Error(), "write six pairs of hex digits separated by colons, e.g. 52:54:00:12:34:56")
		return
	}
	if why := macProblem(m); why != "" {
		v.diags.Add(s.Pos, where, fmt.Sprintf("%s is %s, which no network card has", s.Value, why),
			"copy the NIC's own MAC from the machine's label or its firmware (ip link shows it as link/ether)")
	}
}

// macProblem says why MAC m (as ptype.ParseMAC writes it) cannot be a
// NIC's: the all-zero and broadcast addresses, and multicast ones (the
// low bit of the first octet). Locally administered MACs (second bit)
// are real NICs' (VMs, some firmware) and fine.
func macProblem(m string) string {
	switch {
	case m == "00:00:00:00:00:00":
		return "the all-zero MAC"
	case m == "ff:ff:ff:ff:ff:ff":
		return "the broadcast MAC"
	}
	if b, err := strconv.ParseUint(m[:2], 16, 8); err == nil && b&1 == 1 {
		return "a multicast MAC (the first octet is odd)"
	}
	return ""
}

// roleParams checks parameter values given for nodes of role r.
func (v *checker) roleParams(r *defs.Role, mps defs.ModuleParams, where string) {
	inRole := map[string]bool{}
	var names []string
	for _, mp := range r.Modules {
		inRole[mp.Module.Value] = true
		names = append(names, mp.Module.Value)
	}
	for _, mp := range mps {
		if !inRole[mp.Module.Value] {
			v.diags.Add(mp.Module.Pos, where, fmt.Sprintf("role %s does not run module %q", r.Name, mp.Module.Value), fix(diag.DidYouMean(mp.Module.Value, names), "its modules are: "+joinOr(names)))
			continue
		}
		if m := v.d.Modules[mp.Module.Value]; m != nil {
			v.params(m, mp.Params, where)
			v.secretRefs(m, mp.Params)
		}
	}
}

// nodeModules checks the modules a node entry adds to its role's, as a
// role's are checked: each exists, its parameters are its own and of
// their types, and what it requires runs on the node too.
func (v *checker) nodeModules(r *defs.Role, e *defs.NodeEntry, where string) {
	if len(e.Modules) == 0 {
		return
	}
	on := map[string]bool{}
	for _, mp := range r.Modules {
		on[mp.Module.Value] = true
	}
	for _, mp := range e.Modules {
		if on[mp.Module.Value] {
			v.diags.Add(mp.Module.Pos, where, fmt.Sprintf("role %s runs module %s already", r.Name, mp.Module.Value), "give its values for this node under parameters:, not modules:")
			continue
		}
		on[mp.Module.Value] = true
	}
	for _, mp := range e.Modules {
		m := v.d.Modules[mp.Module.Value]
		if m == nil {
			v.diags.Add(mp.Module.Pos, where, fmt.Sprintf("unknown module %q", mp.Module.Value), diag.DidYouMean(mp.Module.Value, v.d.ModuleNames()))
			continue
		}
		v.params(m, mp.Params, where)
		v.secretRefs(m, mp.Params)
		for _, req := range m.Requires {
			if _, known := v.d.Modules[req.Value]; known && !on[req.Value] {
				v.diags.Add(mp.Module.Pos, where, fmt.Sprintf("module %s requires module %s, which this node does not run", m.Name, req.Value),
					fmt.Sprintf("add %s to the node's modules", req.Value))
			}
		}
	}
}

// secretRefs checks that secret-typed values name a secret of the site.
func (v *checker) secretRefs(m *defs.Module, ps []defs.ParamValue) {
	for _, pv := range ps {
		p := m.Parameters[pv.Key.Value]
		if p == nil || p.Type.Value != "secret" || pv.Value.Kind != yaml.ScalarNode || ptype.HasRef(pv.Value) {
			continue
		}
		if i, _ := ptype.ControlChar(pv.Value.Value, false); i >= 0 {
			continue // the type check says which character
		}
		if _, ok := v.d.Site.Secrets[pv.Value.Value]; !ok {
			v.diags.Add(pv.Pos(), m.Name+"."+pv.Key.Value, fmt.Sprintf("there is no secret called %q", pv.Value.Value),
				fix(diag.DidYouMean(pv.Value.Value, sortedKeys(v.d.Site.Secrets)), "list it under secrets: in site.yaml with the file that holds it"))
		}
	}
}

func joinOr(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	out := l[0]
	for _, s := range l[1:] {
		out += ", " + s
	}
	return out
}

type siteNet struct {
	name   string
	prefix netip.Prefix
	pos    diag.Pos
}

// overlaps reports two networks of the site that share addresses: a node
// would be on both at once, and routes and DHCP would pick either.
func (v *checker) overlaps(nets []siteNet) {
	sort.Slice(nets, func(i, j int) bool { return nets[i].pos.Line < nets[j].pos.Line })
	for j, b := range nets {
		for _, a := range nets[:j] {
			switch {
			case a.prefix == b.prefix:
				v.diags.Add(b.pos, "network "+b.name, fmt.Sprintf("%s is the same network as %s's (%s)", b.prefix, a.name, a.pos),
					"give each network its own address range")
			case a.prefix.Overlaps(b.prefix):
				v.diags.Add(b.pos, "network "+b.name, fmt.Sprintf("%s overlaps network %s's %s (%s)", b.prefix, a.name, a.prefix, a.pos),
					"give each network its own address range, with no address in both")
			default:
				continue
			}
			break
		}
	}
}

// lastAddr is an IPv4 network's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 0xffffffff >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// secretFile checks the file of secret name: a regular, non-empty file in
// the site folder. An empty one would make, say, the root password the
// hash of the empty string.
func (v *checker) secretFile(name string, ref *defs.SecretRef, p string) {
	where := "secret " + name
	st, err := fs.Stat(v.d.SiteFS, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.diags.Add(ref.File.Pos, where, fmt.Sprintf("the secret file %s does not exist", ref.File.Value), "create it (kiln init makes the ones the example needs), or correct the path")
		return
	case err != nil:
		v.diags.Add(ref.File.Pos, where, fmt.Sprintf("cannot read the secret file %s: %s", ref.File.Value, load.Friendly(err)), "make it a readable file (0600) holding the secret")
		return
	case st.IsDir():
		v.diags.Add(ref.File.Pos, where, fmt.Sprintf("the secret file %s is a folder", ref.File.Value), fmt.Sprintf("name the file inside it that holds the secret, e.g. %s/%s", ref.File.Value, name))
		return
	case !st.Mode().IsRegular():
		v.diags.Add(ref.File.Pos, where, fmt.Sprintf("the secret file %s is not a regular file", ref.File.Value), "keep the secret in a plain file (0600)")
		return
	}
	data, err := load.ReadFile(v.d.SiteFS, p)
	switch {
	case err != nil:
		v.diags.Add(ref.File.Pos, where, fmt.Sprintf("cannot read the secret file %s: %s", ref.File.Value, load.Friendly(err)), "make it a readable file (0600) holding the secret")
	case len(bytes.TrimSpace(data)) == 0:
		v.diags.Add(ref.File.Pos, where, fmt.Sprintf("the secret file %s is empty", ref.File.Value),
			"put the secret in it: kiln init writes random ones (e.g. head -c 24 /dev/urandom | base64 > "+ref.File.Value+")")
	}
}
