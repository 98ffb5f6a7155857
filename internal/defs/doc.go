// Package defs holds the three definition layers as their authors write
// them, with the position of every value:
//
//   - the catalog (domain experts): one Module per folder, a service with its
//     Puppet class, typed parameters, ports, state to back up and requirements;
//   - the design (cluster designer): a Design file with the artifacts to
//     build, and one Role per file mapping modules to machines;
//   - the site (cluster manager): site.yaml with names, networks, addresses,
//     MACs, counts and overrides.
//
// Parsing checks shape only (keys, scalar types); meaning across files is
// the job of package validate and package resolve.
package defs

import (
	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// ParamValue is one parameter value as written: its key and its YAML value,
// whose type is checked later against the catalog.
type ParamValue struct {
	Key   yamlx.Scalar
	Value *yaml.Node
	File  string
}

// Pos is where the value was written.
func (p ParamValue) Pos() diag.Pos {
	return diag.Pos{File: p.File, Line: p.Value.Line, Col: p.Value.Column}
}

// ModuleParams holds parameter values grouped by module, in the order
// written:
//
//	condor:
//	  daemon_role: execute
//	nfs_client: {}
type ModuleParams []ModuleParam

// ModuleParam is the values given for one module.
type ModuleParam struct {
	Module yamlx.Scalar
	Params []ParamValue
}

// DecodeYAML implements yamlx.NodeDecoder.
func (mp *ModuleParams) DecodeYAML(d *yamlx.Decoder, n *yaml.Node) {
	if n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "write one line per module, then its parameters indented under it", "expected a mapping of module names, found %s", yamlx.Kind(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.Errorf(k, "merge the two entries into one", "module %q is listed twice", k.Value)
			continue
		}
		seen[k.Value] = true
		m := ModuleParam{Module: yamlx.Scalar{Value: k.Value, Pos: d.PosOf(k)}}
		switch {
		case v.Tag == "!!null":
		case v.Kind != yaml.MappingNode:
			d.Errorf(v, "write the module's parameters as key: value lines, or {} for none", "expected the parameters of module %q, found %s", k.Value, yamlx.Kind(v))
		default:
			pseen := map[string]bool{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				pk, pv := v.Content[j], v.Content[j+1]
				if pseen[pk.Value] {
					d.Errorf(pk, "remove one of the two", "parameter %q is given twice for module %q", pk.Value, k.Value)
					continue
				}
				pseen[pk.Value] = true
				for pv.Kind == yaml.AliasNode && pv.Alias != nil {
					pv = pv.Alias
				}
				m.Params = append(m.Params, ParamValue{Key: yamlx.Scalar{Value: pk.Value, Pos: d.PosOf(pk)}, Value: pv, File: d.File})
			}
		}
		*mp = append(*mp, m)
	}
}
