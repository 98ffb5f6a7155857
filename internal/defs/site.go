package defs

import (
	"strconv"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// Site is site.yaml: what the cluster manager enters.
type Site struct {
	Cluster      yamlx.Scalar                   `yaml:"cluster,required" doc:"The cluster's short name, e.g. mytier3. Used in VM names and MACs."`
	Domain       yamlx.Scalar                   `yaml:"domain,required" doc:"The DNS domain of the cluster's public names, e.g. physics.example.edu."`
	OS           yamlx.Scalar                   `yaml:"os" doc:"The operating system dialect: el9 (AlmaLinux or Rocky 9, the default), el10, or el8. sl5, sl6 and el7 are past end of life and refused."`
	Design       yamlx.Scalar                   `yaml:"design" doc:"The design to start from: tier3 (the embedded one, the default), none (only this folder's files), or a path to a design folder."`
	Networks     map[string]*Network            `yaml:"networks,required" doc:"The address plan of each network the design uses."`
	Nodes        map[string]*RoleNodes          `yaml:"nodes,required" doc:"The machines of each role: a list of named nodes, or a count with start addresses."`
	Parameters   ModuleParams                   `yaml:"parameters" doc:"Site-wide parameter values, by module; they override role defaults."`
	Secrets      map[string]*SecretRef          `yaml:"secrets" doc:"Secrets the definitions refer to by name, each kept in a file of this folder."`
	Repositories map[string]*RepositoryOverride `yaml:"repositories" doc:"Per repository of the design (by name), where this site takes it from instead, e.g. a local mirror: {epel: {baseurl: http://10.10.0.1/mirror/epel/}}."`
	AdminKeys    []yamlx.Scalar                 `yaml:"admin_keys" doc:"Public SSH keys of the cluster's administrators: root on every node accepts them (kickstart sshkey), and with any given, sshd takes no passwords."`
	Users        []*User                        `yaml:"users" doc:"The cluster's users, kept in its directory (LDAP); the first admin user is created when the directory is set up."`
	Groups       []*Group                       `yaml:"groups" doc:"The cluster's groups; every group a user names must be listed here."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
	File   string `yaml:"-"`
}

// Network is a network's address plan.
type Network struct {
	CIDR    yamlx.Scalar   `yaml:"cidr,required" doc:"The network in CIDR form, e.g. 10.10.0.0/24."`
	Gateway yamlx.Scalar   `yaml:"gateway" doc:"The default gateway on this network, if it has one."`
	DNS     []yamlx.Scalar `yaml:"dns" doc:"Name servers for nodes on this network."`
	Domain  yamlx.Scalar   `yaml:"domain" doc:"DNS domain of names on this network (default: the site's domain)."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// RepositoryOverride points a design's repository elsewhere for this site
// (a local mirror, a distribution's own mirror).
type RepositoryOverride struct {
	BaseURL    yamlx.Scalar   `yaml:"baseurl" doc:"The repository's URL for this site, e.g. http://10.10.0.1/mirror/epel/."`
	MirrorList yamlx.Scalar   `yaml:"mirrorlist" doc:"A mirror list URL instead of baseurl."`
	GPGKey     []yamlx.Scalar `yaml:"gpgkey" doc:"Key URLs instead of the design's (e.g. copies on the mirror)."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// SecretRef names where a secret is kept.
type SecretRef struct {
	File yamlx.Scalar `yaml:"file,required" doc:"Path of the file that holds the secret, relative to the site folder; keep it 0600."`

	Pos diag.Pos
}

// RoleNodes lists the nodes of one role, in one of two forms:
//
//	head:                      # a list of named nodes
//	  - name: head
//	    ip: {public: 192.0.2.10, private: 10.10.0.1}
//	worker:                    # a count with start addresses
//	  count: 40
//	  start: {private: 10.10.0.101}
//	  macs: {wn1: 52:54:00:00:00:01, ...}
//
// The list may also hold blocks, items with a count: of their own (a rack
// each, say), whose nodes' numbers continue from one block to the next:
//
//	worker:
//	  - {count: 12, start: {private: 10.10.1.1}, group: rack1}
//	  - {count: 12, start: {private: 10.10.2.1}, group: rack2}
type RoleNodes struct {
	List   []*NodeEntry    // the named nodes of the list form
	Blocks []*CountedNodes // the list form's items with a count:
	Count  *CountedNodes

	Pos diag.Pos
}

// CountedNodes is the count form of a role's nodes.
type CountedNodes struct {
	Count      int                     `yaml:"count,required" doc:"How many nodes; names follow the role's naming pattern."`
	Start      map[string]yamlx.Scalar `yaml:"start" doc:"The first address on each network; later nodes take the next free ones."`
	MACs       MACs                    `yaml:"macs" doc:"MAC addresses: a list for the boot NIC in node order ([52:54:00:…, …]; one shorter than count is a warning), a map from node name to the boot NIC's MAC ({wn1: 52:54:00:…}), or a map from interface (network or NIC name) to either ({private: {wn1: …}, public: [...]})."`
	Parameters ModuleParams            `yaml:"parameters" doc:"Parameter values for every node of this role."`
	Nodes      map[string]*NodeEntry   `yaml:"nodes" doc:"Per-node settings by name (MAC, parameters) for counted nodes."`
	Group      yamlx.Scalar            `yaml:"group" doc:"A label for these nodes, e.g. the rack they are in (rack2): kiln show and the model (.Node.Group) carry it."`
	// A block's own bmc: {start: …} (the power helper's) goes next to start:.

	// CountRead is true when count: was read as a number (not when it
	// is missing or is not a number, which is reported when decoding).
	CountRead bool `yaml:"-"`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// NodeEntry is one node as written in the list form, or the per-node
// settings of a counted node.
type NodeEntry struct {
	Name       yamlx.Scalar            `yaml:"name" doc:"The node's short host name."`
	IP         map[string]yamlx.Scalar `yaml:"ip" doc:"The node's address on each network."`
	MAC        map[string]yamlx.Scalar `yaml:"mac" doc:"The MAC address of the NIC on each network, where known."`
	Host       yamlx.Scalar            `yaml:"host" doc:"For a vm: the host node that runs it (default: spread over the host role's nodes)."`
	Group      yamlx.Scalar            `yaml:"group" doc:"A label for the node, e.g. the rack it is in (rack1)."`
	Asset      yamlx.Scalar            `yaml:"asset" doc:"The machine's asset tag or serial number as its firmware reports it (iPXE's ${asset} or ${serial}, dmidecode -s chassis-asset-tag or system-serial-number): when set, kiln serve hands the node's boot script only to a machine that reports it, as Warewulf's asset key does. Not written into the build."`
	Parameters ModuleParams            `yaml:"parameters" doc:"Parameter values for this node only."`
	// Modules this node runs on top of its role's (any-design, issue 17).
	Modules ModuleParams `yaml:"modules" doc:"Catalog modules this node runs besides its role's (one storage server of several runs the management daemon, say), each with its parameter values for this node: {beegfs_mgmtd: {port: 8008}}."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// DecodeYAML implements yamlx.NodeDecoder.
func (rn *RoleNodes) DecodeYAML(d *yamlx.Decoder, n *yaml.Node) {
	rn.Pos = d.PosOf(n)
	switch n.Kind {
	case yaml.SequenceNode:
		// Items with a count: are blocks, the others named nodes.
		var named []*yaml.Node
		for _, item := range n.Content {
			if isBlock(item) {
				b := &CountedNodes{}
				d.Decode(item, b)
				rn.Blocks = append(rn.Blocks, b)
			} else {
				named = append(named, item)
			}
		}
		if len(rn.Blocks) == 0 {
			d.Decode(n, &rn.List)
			break
		}
		if len(named) > 0 {
			d.Decode(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column, Content: named}, &rn.List)
		}
	case yaml.MappingNode:
		rn.Count = &CountedNodes{}
		d.Decode(n, rn.Count)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; n.Content[i].Value == "count" && v.Kind == yaml.ScalarNode {
				_, err := strconv.ParseInt(v.Value, 0, 64)
				rn.Count.CountRead = err == nil
			}
		}
	default:
		d.Errorf(n, "write a list of nodes (- name: …) or a mapping with count: and start:",
			"expected the nodes of this role, found %s", yamlx.Kind(n))
	}
}

// ParseSite reads site.yaml.
func ParseSite(file string, data []byte, diags *diag.List) *Site {
	n := yamlx.Parse(file, data, diags)
	if n == nil {
		return nil
	}
	s := &Site{File: file}
	(&yamlx.Decoder{File: file, Diags: diags}).Decode(n, s)
	return s
}

// User is one account of the cluster's directory.
type User struct {
	Name     yamlx.Scalar   `yaml:"name,required" doc:"The login name: lower case letters, digits, _ and -, starting with a letter."`
	UID      yamlx.Scalar   `yaml:"uid,required" doc:"The numeric user id, the same on every node and on the NFS server; keep it above 1000."`
	Group    yamlx.Scalar   `yaml:"group,required" doc:"The user's primary group, one of groups:."`
	Groups   []yamlx.Scalar `yaml:"groups" doc:"Further groups the user belongs to."`
	FullName yamlx.Scalar   `yaml:"full_name" doc:"The person's name, e.g. Ada Lovelace."`
	Home     yamlx.Scalar   `yaml:"home" doc:"The home folder (default: the design's, e.g. /export/home/NAME)."`
	Shell    yamlx.Scalar   `yaml:"shell" doc:"The login shell (default /bin/bash)."`
	Password yamlx.Scalar   `yaml:"password" doc:"The secret holding the user's initial password; only its salted hash reaches the directory."`
	SSHKeys  []yamlx.Scalar `yaml:"ssh_keys" doc:"Public SSH keys the user logs in with."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// Group is one group of the cluster's directory.
type Group struct {
	Name  yamlx.Scalar `yaml:"name,required" doc:"The group's name."`
	GID   yamlx.Scalar `yaml:"gid,required" doc:"The numeric group id; keep it above 1000."`
	Admin bool         `yaml:"admin" doc:"Members administer the cluster (sudo on every node); the first of them is the directory's first user."`
	Doc   string       `yaml:"doc" doc:"What the group is for, e.g. the cluster's administrators."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}
