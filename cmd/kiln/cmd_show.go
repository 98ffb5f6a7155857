package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"kiln.dev/kiln/internal/model"
)

var showVerb = &verb{
	name:    "show",
	args:    "[-C DIR | --example NAME] [--json] [NODE]",
	summary: "List the nodes, or show one node's resolved parameters and their origins",
	help: `Without NODE: a table of every node with its role, addresses and MAC,
in install order. With NODE: its interfaces and every module parameter with
its value and the file and line that set it.

Examples:
  kiln show --example tier3
  kiln show -C mysite wn3
`,
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		cl := s.Cluster
		if len(pos) == 0 {
			if c.json {
				c.printJSON(cl.Nodes)
				return exitOK
			}
			showTable(c, cl)
			return exitOK
		}
		n := c.node(cl, pos[0])
		if n == nil {
			return exitDefs
		}
		if c.json {
			c.printJSON(detailed(n))
			return exitOK
		}
		showNode(c, n)
		return exitOK
	},
}

// node finds a node by name or FQDN, or says which names exist.
func (c *cmdContext) node(cl *model.Cluster, name string) *model.Node {
	if n := cl.Node(name); n != nil {
		return n
	}
	for _, n := range cl.Nodes {
		if n.FQDN == name {
			return n
		}
	}
	hint := ""
	if s := suggest(name, cl.NodeNames()); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	fmt.Fprintf(c.stderr, "kiln %s: there is no node %q in %s%s; kiln show lists them\n", c.verb.name, name, cl.Name, hint)
	return nil
}

func showTable(c *cmdContext, cl *model.Cluster) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	head := []string{"NODE", "ROLE", "KIND"}
	groups := false // a GROUP column only for a site that names groups
	for _, n := range cl.Nodes {
		groups = groups || n.Group != ""
	}
	if groups {
		head = append(head, "GROUP")
	}
	for _, n := range cl.Networks {
		head = append(head, strings.ToUpper(n.Name))
	}
	head = append(head, "BOOT MAC", "HOST")
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, n := range cl.Nodes {
		row := []string{n.Name, n.Role, n.Kind}
		if groups {
			row = append(row, dash(n.Group))
		}
		for _, net := range cl.Networks {
			row = append(row, dash(n.IP(net.Name)))
		}
		mac := ""
		if b := n.BootIface(); b != nil {
			mac = b.MAC
		}
		row = append(row, dash(mac), dash(n.Host))
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
}

func showNode(c *cmdContext, n *model.Node) {
	fmt.Fprintf(c.stdout, "%s (%s), role %s, %s", n.Name, n.FQDN, n.Role, n.Kind)
	if n.Group != "" {
		fmt.Fprintf(c.stdout, ", group %s", n.Group)
	}
	if n.Host != "" {
		fmt.Fprintf(c.stdout, " on %s", n.Host)
	}
	if len(n.Guests) > 0 {
		fmt.Fprintf(c.stdout, ", hosts %s", strings.Join(n.Guests, ", "))
	}
	fmt.Fprintln(c.stdout)
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nINTERFACE\tNETWORK\tADDRESS\tMAC\tNAME\tGATEWAY")
	for _, i := range n.Interfaces {
		boot := ""
		if i.Boot {
			boot = " (boot)"
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s/%d\t%s\t%s\t%s\n", i.NIC, boot, i.Network, i.IP, i.Prefix, dash(i.MAC), i.Hostname, dash(i.Gateway))
	}
	fmt.Fprintln(w, "\nPARAMETER\tVALUE\tSET BY")
	for _, m := range n.Modules {
		for _, p := range m.Params {
			v := "(unset: Puppet's default)"
			if p.Set {
				v = formatValue(p.Value)
			}
			fmt.Fprintf(w, "%s.%s\t%s\t%s\n", m.Name, p.Name, v, p.Origin)
		}
	}
	w.Flush()
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		if x == "" {
			return `""`
		}
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nodeDetail is show --json NODE: the node as in the build's cluster dump,
// plus every parameter with the layer and line that set it.
type nodeDetail struct {
	*model.Node
	Parameters []paramDetail `json:"parameters"`
}

type paramDetail struct {
	Module string `json:"module"`
	*model.Param
}

func detailed(n *model.Node) nodeDetail {
	d := nodeDetail{Node: n, Parameters: []paramDetail{}}
	for _, m := range n.Modules {
		for _, p := range m.Params {
			d.Parameters = append(d.Parameters, paramDetail{Module: m.Name, Param: p})
		}
	}
	return d
}
