package main

import (
	"flag"
	"kiln.dev/kiln/internal/diag"

	"fmt"
	"strings"

	"kiln.dev/kiln/internal/model"
)

var explainVerb = &verb{
	name:    "explain",
	args:    "NODE KEY",
	summary: "Say why a node's value is what it is: every layer that set it",
	help: `KEY is MODULE.PARAMETER (e.g. condor.central_manager), or NETWORK.ip or
NETWORK.mac for an interface. The answer lists each layer that gave a
value, lowest precedence first — module default, role default, site,
site role, node — with the file and line, and marks the one in force.

Example:
  kiln explain --example tier3 wn1 condor.daemon_role
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		c.jsonFlag(fs)
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(2, 2)
		if !ok {
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		n := c.node(s.Cluster, pos[0])
		if n == nil {
			return exitDefs
		}
		key := pos[1]
		first, rest, found := strings.Cut(key, ".")
		if !found {
			c.usageError(fmt.Sprintf("KEY is MODULE.PARAMETER or NETWORK.ip, not %q", key))
			return exitUsage
		}
		if i := n.Iface(first); i != nil && (rest == "ip" || rest == "mac") {
			o, v := i.IPOrigin, i.IP
			if rest == "mac" {
				o, v = i.MACFrom, i.MAC
			}
			if c.json {
				c.printJSON(map[string]any{"node": n.Name, "key": key, "value": v, "origin": o})
				return exitOK
			}
			fmt.Fprintf(c.stdout, "%s %s = %s\n  set by %s\n", n.Name, key, dash(v), explainOrigin(o))
			return exitOK
		}
		m := n.Module(first)
		if m == nil && n.Iface(first) != nil {
			// A network's fields other than ip and mac are not layered values.
			return c.fail(exitDefs, "%s is a network of node %s; explain %s.ip or %s.mac, not %q", first, n.Name, first, first, key)
		}
		if m == nil {
			var mods, nets []string
			for _, m := range n.Modules {
				mods = append(mods, m.Name)
			}
			for _, i := range n.Interfaces {
				nets = append(nets, i.Network)
			}
			fmt.Fprintf(c.stderr, "kiln explain: node %s has no module or network %q%s; its modules: %s; its networks: %s\n",
				n.Name, first, didYouMean(first, append(append([]string(nil), mods...), nets...)), strings.Join(mods, ", "), strings.Join(nets, ", "))
			return exitDefs
		}
		p := m.Param(rest)
		if p == nil {
			var names []string
			for _, p := range m.Params {
				names = append(names, p.Name)
			}
			return c.fail(exitDefs, "module %s has no parameter %q%s; its parameters: %s", m.Name, rest, didYouMean(rest, names), strings.Join(names, ", "))
		}
		if c.json {
			c.printJSON(map[string]any{"node": n.Name, "key": key, "param": p})
			return exitOK
		}
		fmt.Fprintf(c.stdout, "%s %s = %s  (type %s)\n", n.Name, key, formatValue(p.Value), p.Type)
		if p.Doc != "" {
			fmt.Fprintf(c.stdout, "  %s\n", p.Doc)
		}
		if len(p.History) == 0 {
			fmt.Fprintln(c.stdout, "  no layer sets it: Puppet's own default applies")
		}
		for i, h := range p.History {
			mark := "  "
			if i == len(p.History)-1 {
				mark = "=>"
			}
			fmt.Fprintf(c.stdout, "%s %-14s %s\t%s\n", mark, h.Origin.Layer, formatValue(h.Value), h.Origin.Pos)
		}
		return exitOK
	},
}

func explainOrigin(o model.Origin) string {
	switch o.Layer {
	case "":
		return "nothing (not set)"
	case "computed":
		if o.Pos.IsZero() {
			return "kiln (derived from the cluster and node name)"
		}
		return "kiln, counting up from the start address at " + o.Pos.String()
	}
	return o.String()
}

func didYouMean(w string, names []string) string { return diag.Hint(w, names) }
