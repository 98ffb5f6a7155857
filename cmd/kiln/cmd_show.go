package main

import (
	"flag"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/selector"

	"fmt"
	"strings"
	"text/tabwriter"

	"kiln.dev/kiln/internal/model"
)

var showVerb = &verb{
	name:    "show",
	args:    "[NODE | SELECTOR...]",
	summary: "List the nodes, or show one node's resolved parameters and their origins",
	help: `Without NODE: a table of every node with its role, addresses and MAC,
in install order; selectors (NAME[1-12], role:ROLE, group:GROUP, all)
narrow it. With NODE: its interfaces and every module parameter with its
value and the file and line that set it.

Examples:
  kiln show --example tier3
  kiln show -C mysite wn3
  kiln show -C mysite role:worker 'wn[1-4]'
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.jsonFlag(fs)
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, -1)
		if !ok {
			return exitUsage
		}
		sel, err := selector.Parse(pos)
		if err != nil {
			c.usageError(err.Error())
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		cl := s.Cluster
		// One node by name (or FQDN): its details. Otherwise a table of
		// the nodes the selectors pick, in install order.
		if len(pos) != 1 || cl.Node(pos[0]) == nil && strings.ContainsAny(pos[0], "[]:, ") || pos[0] == "all" {
			names, err := sel.Match(selector.FromCluster(cl), nil)
			if err != nil {
				return c.fail(exitDefs, "%v", err)
			}
			keep := map[string]bool{}
			for _, n := range names {
				keep[n] = true
			}
			var nodes []*model.Node
			for _, n := range cl.Nodes {
				if keep[n.Name] {
					nodes = append(nodes, n)
				}
			}
			if c.json {
				if nodes == nil {
					nodes = []*model.Node{}
				}
				c.printJSON(nodes)
				return exitOK
			}
			showTable(c, cl, nodes)
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
	hint := diag.Hint(name, cl.NodeNames())
	fmt.Fprintf(c.stderr, "kiln %s: there is no node %q in %s%s; kiln show lists them\n", c.verb.name, name, cl.Name, hint)
	return nil
}

func showTable(c *cmdContext, cl *model.Cluster, nodes []*model.Node) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	groups := false
	for _, n := range nodes {
		groups = groups || n.Group != ""
	}
	head := []string{"NODE", "ROLE", "KIND"}
	if groups {
		head = append(head, "GROUP")
	}
	for _, n := range cl.Networks {
		head = append(head, strings.ToUpper(n.Name))
	}
	head = append(head, "BOOT MAC", "HOST")
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, n := range nodes {
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
