package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/render"
)

// NodesFile is the build's summary of its nodes, kiln's own (not a design
// artifact): kiln plan compares the site with it to say which machines a
// build changes before it lists the files.
const NodesFile = "kiln-nodes.json"

// NodeFacts is what kiln plan compares of a node.
type NodeFacts struct {
	Name       string            `json:"name"`
	Role       string            `json:"role"`
	Group      string            `json:"group,omitempty"`
	Host       string            `json:"host,omitempty"`
	Interfaces []IfaceFacts      `json:"interfaces"`
	Params     map[string]string `json:"params"` // module.param → value as JSON
}

// IfaceFacts is one interface of a node.
type IfaceFacts struct {
	NIC     string `json:"nic"`
	Network string `json:"network"`
	IP      string `json:"ip,omitempty"`
	Prefix  int    `json:"prefix,omitempty"`
	MAC     string `json:"mac,omitempty"`
}

// Facts summarises the cluster's nodes, in the cluster's order.
func Facts(c *model.Cluster) []NodeFacts {
	out := make([]NodeFacts, 0, len(c.Nodes))
	for _, n := range c.Nodes {
		f := NodeFacts{Name: n.Name, Role: n.Role, Group: n.Group, Host: n.Host, Params: map[string]string{}}
		for _, i := range n.Interfaces {
			f.Interfaces = append(f.Interfaces, IfaceFacts{NIC: i.NIC, Network: i.Network, IP: i.IP, Prefix: i.Prefix, MAC: i.MAC})
		}
		for _, m := range n.Modules {
			for _, p := range m.Params {
				if !p.Set {
					continue
				}
				v, _ := json.Marshal(p.Value)
				f.Params[m.Name+"."+p.Name] = string(v)
			}
		}
		out = append(out, f)
	}
	return out
}

// NodesSummary is the build's NodesFile.
func (s *Site) NodesSummary() render.File {
	data, _ := json.MarshalIndent(Facts(s.Cluster), "", " ")
	return render.File{Path: NodesFile, Data: append(data, '\n'), Mode: 0o644, Origin: "kiln",
		Doc: "The nodes of this build (names, roles, groups, addresses, MACs, parameters): what kiln plan compares the site with."}
}

// ReadFacts reads the NodesFile of the build in dir; ok is false when the
// build has none (no build yet, or one made by a kiln without it).
func ReadFacts(dir string) ([]NodeFacts, bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, NodesFile))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var out []NodeFacts
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, false, fmt.Errorf("%s: %v", filepath.Join(dir, NodesFile), err)
	}
	return out, true, nil
}

// NodeChange is what a build changes of one node.
type NodeChange struct {
	Op      string   `json:"op"` // add, remove, change
	Node    string   `json:"node"`
	Role    string   `json:"role"`
	Group   string   `json:"group,omitempty"`
	Changes []string `json:"changes,omitempty"` // for change: "MAC on private 52:… → 52:…"
	// Installed: the state file says the machine is installed, so the
	// change reaches it only by Puppet or a reinstall.
	Installed bool `json:"installed,omitempty"`
}

// CompareNodes lists the node changes from old to new: added, removed,
// then changed nodes, each group in the new (or old) order.
func CompareNodes(old, new []NodeFacts) []NodeChange {
	oldBy := map[string]*NodeFacts{}
	for i := range old {
		oldBy[old[i].Name] = &old[i]
	}
	newBy := map[string]bool{}
	var added, removed, changed []NodeChange
	for i := range new {
		n := &new[i]
		newBy[n.Name] = true
		o := oldBy[n.Name]
		if o == nil {
			added = append(added, NodeChange{Op: "add", Node: n.Name, Role: n.Role, Group: n.Group})
			continue
		}
		if ch := nodeDiff(o, n); len(ch) > 0 {
			changed = append(changed, NodeChange{Op: "change", Node: n.Name, Role: n.Role, Group: n.Group, Changes: ch})
		}
	}
	for _, o := range old {
		if !newBy[o.Name] {
			removed = append(removed, NodeChange{Op: "remove", Node: o.Name, Role: o.Role, Group: o.Group})
		}
	}
	return append(append(added, removed...), changed...)
}

func nodeDiff(o, n *NodeFacts) []string {
	var out []string
	was := func(what, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %s → %s", what, orNone(a), orNone(b)))
		}
	}
	was("role", o.Role, n.Role)
	was("group", o.Group, n.Group)
	was("host", o.Host, n.Host)
	oldIf := map[string]IfaceFacts{}
	for _, i := range o.Interfaces {
		oldIf[i.Network] = i
	}
	for _, i := range n.Interfaces {
		p, ok := oldIf[i.Network]
		if !ok {
			out = append(out, fmt.Sprintf("new interface %s on %s", i.NIC, i.Network))
			continue
		}
		was("MAC on "+i.Network, p.MAC, i.MAC)
		was("address on "+i.Network, addr(p), addr(i))
		was("NIC on "+i.Network, p.NIC, i.NIC)
		delete(oldIf, i.Network)
	}
	for _, net := range sortedKeys(oldIf) {
		out = append(out, fmt.Sprintf("no interface on %s any more", net))
	}
	keys := map[string]bool{}
	for k := range o.Params {
		keys[k] = true
	}
	for k := range n.Params {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		a, b := o.Params[k], n.Params[k]
		if a == b {
			continue
		}
		if d := listDiff(a, b); d != "" {
			out = append(out, k+" "+d)
			continue
		}
		out = append(out, fmt.Sprintf("%s %s → %s", k, shorten(orUnset(a)), shorten(orUnset(b))))
	}
	return out
}

func addr(i IfaceFacts) string {
	if i.IP == "" {
		return ""
	}
	return fmt.Sprintf("%s/%d", i.IP, i.Prefix)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// listDiff says what a list value gained and lost ("+x, -y"), or "" when
// either is not a list.
func listDiff(a, b string) string {
	var la, lb []any
	if json.Unmarshal([]byte(a), &la) != nil || json.Unmarshal([]byte(b), &lb) != nil || la == nil || lb == nil {
		return ""
	}
	key := func(v any) string { j, _ := json.Marshal(v); return string(j) }
	in := func(l []any) map[string]bool {
		m := map[string]bool{}
		for _, v := range l {
			m[key(v)] = true
		}
		return m
	}
	ia, ib := in(la), in(lb)
	var parts []string
	for _, v := range lb {
		if !ia[key(v)] {
			parts = append(parts, "+"+shorten(key(v)))
		}
	}
	for _, v := range la {
		if !ib[key(v)] {
			parts = append(parts, "-"+shorten(key(v)))
		}
	}
	if len(parts) == 0 {
		return "reordered"
	}
	return strings.Join(parts, ", ")
}

// shorten keeps a long parameter value to one readable line.
func shorten(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
