// Package model is the resolved cluster: every node with its role,
// interfaces, addresses and modules, and every parameter with its final
// value and the origin of that value. It is the one thing templates, the
// server and the recovery tools see; nothing downstream reads the
// definition files.
package model

import (
	"sort"
	"sync"

	"kiln.dev/kiln/internal/diag"
)

// Cluster is a resolved site.
type Cluster struct {
	Name   string `json:"name"`
	Domain string `json:"domain"`
	OS     string `json:"os"`
	Design string `json:"design"`
	// DesignName and DesignDoc are the design's own name and description
	// (design.yaml name:, description:); Design is how the site names it.
	DesignName string     `json:"design_name,omitempty"`
	DesignDoc  string     `json:"design_doc,omitempty"`
	Networks   []*Network `json:"networks"`
	// Roles in install order: a role comes after every role it must wait for.
	Roles []*Role `json:"roles"`
	// Nodes in install order: by role, then by index within the role.
	Nodes []*Node `json:"nodes"`
	// Secrets maps a secret's name to its file, relative to the site folder.
	Secrets map[string]string `json:"secrets,omitempty"`
	// Users and Groups of the cluster's directory, in the site's order.
	Users  []*User  `json:"users,omitempty"`
	Groups []*Group `json:"groups,omitempty"`
	// Repositories are the design's package repositories for the site's
	// dialect, in the design's order, with the site's overrides applied.
	Repositories []*Repository `json:"repositories,omitempty"`
	// AdminKeys are the administrators' public SSH keys (site.yaml admin_keys).
	AdminKeys []string `json:"admin_keys,omitempty"`

	nodes map[string]*Node
	roles map[string]*Role
	nets  map[string]*Network
	// groups are the nodes of each role and of each module, made once the
	// cluster is whole: templates ask for them for every node, so scanning
	// all nodes each time would make a build quadratic in the cluster size.
	groupsOnce *sync.Once
	ofRole     map[string][]*Node
	withModule map[string][]*Node
}

// Network is a network's resolved address plan.
type Network struct {
	Name         string   `json:"name"`
	CIDR         string   `json:"cidr"`
	Address      string   `json:"address"`
	Netmask      string   `json:"netmask"`
	Prefix       int      `json:"prefix"`
	Broadcast    string   `json:"broadcast,omitempty"`
	Gateway      string   `json:"gateway,omitempty"`
	DNS          []string `json:"dns,omitempty"`
	Domain       string   `json:"domain"`
	Provisioning bool     `json:"provisioning,omitempty"`
	ReverseZone  string   `json:"reverse_zone,omitempty"`
	// Doc is the design's word on what the network is for (the cabling table).
	Doc string `json:"doc,omitempty"`
}

// Role is a resolved role.
type Role struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Kind        string   `json:"kind"`
	Host        string   `json:"host,omitempty"`
	VM          *VMSize  `json:"vm,omitempty"`
	After       []string `json:"after,omitempty"`
	// Stage counts the roles that must come before this one, along the
	// longest chain: roles of equal stage can be installed side by side.
	Stage     int      `json:"stage"`
	Modules   []string `json:"modules"`
	Bootstrap []string `json:"bootstrap,omitempty"`
	Disk      string   `json:"disk,omitempty"`
	Nodes     []string `json:"nodes"`
	Networks  []string `json:"networks"`
}

// VMSize is a virtual machine's size.
type VMSize struct {
	VCPUs  int `json:"vcpus"`
	Memory int `json:"memory_mib"`
	Disk   int `json:"disk_gib"`
}

// Node is one machine, physical or virtual.
type Node struct {
	Name       string       `json:"name"`
	FQDN       string       `json:"fqdn"`
	Role       string       `json:"role"`
	Kind       string       `json:"kind"`
	Index      int          `json:"index"`           // 1-based, within its role
	Group      string       `json:"group,omitempty"` // site.yaml's group: label (a rack), if any
	Host       string       `json:"host,omitempty"`
	VM         *VMSize      `json:"vm,omitempty"`
	Interfaces []*Interface `json:"interfaces"`
	Modules    []*Module    `json:"modules"`
	Packages   []string     `json:"packages,omitempty"`
	Guests     []string     `json:"guests,omitempty"` // the VMs this node hosts
	// Asset is the asset tag or serial number site.yaml binds the node to
	// (kiln serve checks what iPXE reports); kept out of the build.
	Asset  string   `json:"-"`
	Origin diag.Pos `json:"-"`
}

// Repository is a package repository for the site's dialect.
type Repository struct {
	Name string `json:"name"`
	Doc  string `json:"doc,omitempty"`
	// InstallTree: part of the OS install tree the node installs from;
	// the installer finds it there (no URL).
	InstallTree    bool     `json:"install_tree,omitempty"`
	BaseURL        string   `json:"baseurl,omitempty"`
	MirrorList     string   `json:"mirrorlist,omitempty"`
	GPGKeys        []string `json:"gpgkey,omitempty"`
	Priority       int      `json:"priority"`
	ModuleHotfixes bool     `json:"module_hotfixes,omitempty"`
	Provides       []string `json:"provides,omitempty"`
	// Requires names the repositories this one's packages depend on.
	Requires []string `json:"requires,omitempty"`
	// Mirrored: the site points it elsewhere (site.yaml repositories:);
	// Upstream is then the design's own, which a mirror copies.
	Mirrored bool        `json:"mirrored,omitempty"`
	Upstream *Repository `json:"upstream,omitempty"`
}

// Has says whether the repository provides package pkg.
func (r *Repository) Has(pkg string) bool {
	for _, p := range r.Provides {
		if p == pkg {
			return true
		}
	}
	return false
}

// RepositoriesFor returns the repositories a node installing pkgs needs:
// those that provide any of them and those they require, in the design's
// order.
func (c *Cluster) RepositoriesFor(pkgs []string) []*Repository {
	need := map[string]bool{}
	var add func(r *Repository)
	add = func(r *Repository) {
		if need[r.Name] {
			return
		}
		need[r.Name] = true
		for _, q := range r.Requires {
			for _, o := range c.Repositories {
				if o.Name == q {
					add(o)
				}
			}
		}
	}
	for _, r := range c.Repositories {
		for _, p := range pkgs {
			if r.Has(p) {
				add(r)
				break
			}
		}
	}
	var out []*Repository
	for _, r := range c.Repositories {
		if need[r.Name] {
			out = append(out, r)
		}
	}
	return out
}

// RepositoryOf returns the first repository (in the design's order) that
// provides pkg, or nil.
func (c *Cluster) RepositoryOf(pkg string) *Repository {
	for _, r := range c.Repositories {
		if r.Has(pkg) {
			return r
		}
	}
	return nil
}

// Interface is a node's NIC on one network.
type Interface struct {
	NIC      string   `json:"nic"`
	Network  string   `json:"network"`
	IP       string   `json:"ip"`
	Netmask  string   `json:"netmask"`
	Prefix   int      `json:"prefix"`
	Gateway  string   `json:"gateway,omitempty"`
	DNS      []string `json:"dns,omitempty"`
	MAC      string   `json:"mac,omitempty"`
	Hostname string   `json:"hostname"` // the node's name on this network, fully qualified
	Boot     bool     `json:"boot,omitempty"`
	// NoBoot: the design marks the NIC boot: false (a BMC, a storage
	// NIC): it never boots the machine, and its MAC does not identify it.
	NoBoot   bool   `json:"no_boot,omitempty"`
	IPOrigin Origin `json:"-"`
	MACFrom  Origin `json:"-"`
}

// Module is a catalog module as applied on one node.
type Module struct {
	Name        string   `json:"name"`
	Class       string   `json:"class"`
	Description string   `json:"description,omitempty"`
	Params      []*Param `json:"params"`
	Ports       []Port   `json:"ports,omitempty"`
	State       []State  `json:"state,omitempty"`
	Requires    []string `json:"requires,omitempty"`
	Packages    []string `json:"packages,omitempty"`
	Bootstrap   bool     `json:"bootstrap,omitempty"`
	// Certificate asks for a server certificate signed by the site CA.
	Certificate *Certificate `json:"certificate,omitempty"`
}

// Certificate is where a module wants its node's server certificate and key.
type Certificate struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
	Doc  string `json:"doc,omitempty"`
}

// Param is one class parameter's final value on a node.
type Param struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Doc  string `json:"doc,omitempty"`
	// Format is, for a secret, the form its consumer takes (raw, ssha,
	// sha512crypt, scram-sha-256, bcrypt, hmac:PURPOSE; empty is ssha).
	Format string `json:"format,omitempty"`
	Value  any    `json:"value"`
	Set    bool   `json:"set"` // false: no layer gave a value (Puppet's own default applies)
	Origin Origin `json:"origin"`
	// History lists every layer that set the parameter, lowest first; the
	// last entry is the one in force.
	History []Setting `json:"history,omitempty"`
}

// Setting is one layer's value for a parameter.
type Setting struct {
	Value  any    `json:"value"`
	Origin Origin `json:"origin"`
}

// Origin says where a value came from: the layer and the line.
type Origin struct {
	Layer string   `json:"layer,omitempty"` // module default, role default, site, site role, node, computed
	Pos   diag.Pos `json:"pos,omitempty"`
}

func (o Origin) String() string {
	if o.Pos.IsZero() {
		return o.Layer
	}
	return o.Layer + " (" + o.Pos.String() + ")"
}

// Port is a port a module opens.
type Port struct {
	Proto string `json:"proto"`
	Port  int    `json:"port"`
	Zone  string `json:"zone,omitempty"` // the network of the design whose machines may reach it
	From  string `json:"from,omitempty"` // instead of Zone: the module parameter listing the networks allowed
	Doc   string `json:"doc,omitempty"`
	// ZoneOrder is the zone's place among the design's networks, so
	// firewall rules come in the design's order.
	ZoneOrder int `json:"-"`
}

// State is state on disk to back up.
type State struct {
	Paths     []string `json:"paths,omitempty"`
	Dump      string   `json:"dump,omitempty"`
	Restore   string   `json:"restore,omitempty"`
	Schedule  string   `json:"schedule"`
	Retention int      `json:"retention"`
	Doc       string   `json:"doc,omitempty"`
}

// Index builds the lookup tables; resolve calls it once the cluster is whole.
func (c *Cluster) Index() {
	c.nodes = make(map[string]*Node, len(c.Nodes))
	for _, n := range c.Nodes {
		c.nodes[n.Name] = n
	}
	c.roles = make(map[string]*Role, len(c.Roles))
	for _, r := range c.Roles {
		c.roles[r.Name] = r
	}
	c.nets = make(map[string]*Network, len(c.Networks))
	for _, n := range c.Networks {
		c.nets[n.Name] = n
	}
	c.ofRole = make(map[string][]*Node, len(c.Roles))
	for _, r := range c.Roles {
		out := make([]*Node, 0, len(r.Nodes))
		for _, name := range r.Nodes {
			out = append(out, c.nodes[name])
		}
		c.ofRole[r.Name] = out
	}
	c.groupsOnce = new(sync.Once)
}

// groups indexes the nodes by role (known when Index runs) and, on first
// use, by module (resolve sets every node's modules after Index, and never
// asks for them; templates, which ask for every node, run on the finished
// model). Until Index has run there is no index and callers scan.
func (c *Cluster) groups(byModule bool) bool {
	if c.groupsOnce == nil {
		return false
	}
	if byModule {
		c.groupsOnce.Do(func() {
			c.withModule = map[string][]*Node{}
			for _, n := range c.Nodes {
				for _, m := range n.Modules {
					c.withModule[m.Name] = append(c.withModule[m.Name], n)
				}
			}
		})
	}
	return true
}

// Node returns the node called name, or nil.
func (c *Cluster) Node(name string) *Node { return c.nodes[name] }

// Role returns the role called name, or nil.
func (c *Cluster) Role(name string) *Role { return c.roles[name] }

// Network returns the network called name, or nil.
func (c *Cluster) Network(name string) *Network { return c.nets[name] }

// NodesOf returns the nodes of a role in index order. The list is shared:
// do not change it (appending copies it).
func (c *Cluster) NodesOf(role string) []*Node {
	if c.groups(false) {
		l := c.ofRole[role]
		return l[:len(l):len(l)]
	}
	r := c.roles[role]
	if r == nil {
		return nil
	}
	out := make([]*Node, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		out = append(out, c.nodes[n])
	}
	return out
}

// NodesWith returns the nodes that run a module, in install order. The
// list is shared: do not change it (appending copies it).
func (c *Cluster) NodesWith(module string) []*Node {
	if c.groups(true) {
		l := c.withModule[module]
		return l[:len(l):len(l)]
	}
	var out []*Node
	for _, n := range c.Nodes {
		if n.Has(module) {
			out = append(out, n)
		}
	}
	return out
}

// NodeNames lists every node's name, sorted.
func (c *Cluster) NodeNames() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Name
	}
	sort.Strings(out)
	return out
}

// Iface returns the node's interface on a network, or nil.
func (n *Node) Iface(network string) *Interface {
	for _, i := range n.Interfaces {
		if i.Network == network {
			return i
		}
	}
	return nil
}

// IP returns the node's address on a network, or "".
func (n *Node) IP(network string) string {
	if i := n.Iface(network); i != nil {
		return i.IP
	}
	return ""
}

// BootIface returns the interface the node network-boots from (nil when
// it has none, as a VM installed from its host may not).
func (n *Node) BootIface() *Interface {
	for _, i := range n.Interfaces {
		if i.Boot {
			return i
		}
	}
	return nil
}

// Primary returns the node's first interface: the one its FQDN names.
func (n *Node) Primary() *Interface {
	if len(n.Interfaces) == 0 {
		return nil
	}
	return n.Interfaces[0]
}

// Module returns the node's module called name, or nil.
func (n *Node) Module(name string) *Module {
	for _, m := range n.Modules {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Has reports whether the node runs a module.
func (n *Node) Has(module string) bool { return n.Module(module) != nil }

// Param returns a parameter's value on the node, or nil.
func (n *Node) Param(module, name string) any {
	if m := n.Module(module); m != nil {
		if p := m.Param(name); p != nil {
			return p.Value
		}
	}
	return nil
}

// Param returns the module's parameter called name, or nil.
func (m *Module) Param(name string) *Param {
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}
