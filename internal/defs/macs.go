package defs

import (
	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// MACs is the macs: of a counted role: a positional list for the boot
// interface, a map from node name to the boot interface's MAC, or a map
// from interface (a network or NIC name of the role) to a list or a map
// by node name. Which keys are node names and which interfaces is decided
// when resolving, where the role's nodes and interfaces are known.
type MACs struct {
	List    []yamlx.Scalar          // positional, boot interface; "" is a gap (~)
	ByName  map[string]yamlx.Scalar // node name → MAC, boot interface
	ByIface map[string]*MACs        // interface → a list or a map by node name
	Keys    []yamlx.Scalar          // every map key, in file order, with its position

	Pos diag.Pos
}

// All returns every MAC written (not the gaps of a list), in file order.
func (m *MACs) All() []yamlx.Scalar {
	var out []yamlx.Scalar
	for _, s := range m.List {
		if s.Value != "" {
			out = append(out, s)
		}
	}
	for _, k := range m.Keys {
		if s, ok := m.ByName[k.Value]; ok {
			out = append(out, s)
		} else if sub := m.ByIface[k.Value]; sub != nil {
			out = append(out, sub.All()...)
		}
	}
	return out
}

// Empty reports whether no MAC is given.
func (m *MACs) Empty() bool { return len(m.List) == 0 && len(m.Keys) == 0 }

// DecodeYAML implements yamlx.NodeDecoder.
func (m *MACs) DecodeYAML(d *yamlx.Decoder, n *yaml.Node) {
	m.decode(d, n, true)
}

func (m *MACs) decode(d *yamlx.Decoder, n *yaml.Node, top bool) {
	m.Pos = d.PosOf(n)
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	shapes := "write a list of MACs in node order, or node: MAC lines (wn1: 52:54:00:12:34:56)"
	if top {
		shapes += ", or per interface a list or node: MAC lines (private: {wn1: …})"
	}
	switch {
	case n.Tag == "!!null":
	case n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			var s yamlx.Scalar
			if c.Tag == "!!null" { // ~ or nothing: a gap, that node has no MAC here
				s.Pos = d.PosOf(c)
			} else {
				d.Decode(c, &s)
			}
			m.List = append(m.List, s)
		}
	case n.Kind == yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			if seen[k.Value] {
				d.Errorf(k, "remove one of the two", "%q is given twice in macs:", k.Value)
				continue
			}
			seen[k.Value] = true
			switch {
			case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
				if m.ByName == nil {
					m.ByName = map[string]yamlx.Scalar{}
				}
				m.ByName[k.Value] = yamlx.Scalar{Value: v.Value, Pos: d.PosOf(v)}
			case top && (v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode):
				sub := &MACs{}
				sub.decode(d, v, false)
				if m.ByIface == nil {
					m.ByIface = map[string]*MACs{}
				}
				m.ByIface[k.Value] = sub
			default:
				d.Errorf(v, shapes, "expected the MAC of node %q, found %s", k.Value, yamlx.Kind(v))
				continue
			}
			m.Keys = append(m.Keys, yamlx.Scalar{Value: k.Value, Pos: d.PosOf(k)})
		}
	default:
		d.Errorf(n, shapes, "expected MAC addresses, found %s", yamlx.Kind(n))
	}
}

// isBlock reports whether an item of a role's list is a count block.
func isBlock(n *yaml.Node) bool {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "count" {
			return true
		}
	}
	return false
}
