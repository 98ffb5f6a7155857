// Package schema writes JSON Schema for Kiln's definition files from the
// same Go types the loader decodes, so editors complete and check exactly
// what kiln accepts (the yaml-language-server reads them).
package schema

import (
	"encoding/json"
	"reflect"
	"sort"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/yamlx"
)

// Kinds maps each file kind to its root type and a title.
var Kinds = map[string]struct {
	Type  reflect.Type
	Title string
	File  string
}{
	"site":   {reflect.TypeOf(defs.Site{}), "Kiln site (site.yaml)", "site.schema.json"},
	"design": {reflect.TypeOf(defs.Design{}), "Kiln design (design.yaml)", "design.schema.json"},
	"role":   {reflect.TypeOf(defs.Role{}), "Kiln role (roles/NAME.yaml)", "role.schema.json"},
	"module": {reflect.TypeOf(defs.Module{}), "Kiln catalog module (catalog/NAME/module.yaml)", "module.schema.json"},
}

// Names lists the kinds, sorted.
func Names() []string {
	var out []string
	for k := range Kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// For returns the schema of a file kind as indented JSON.
func For(kind string) ([]byte, bool) {
	k, ok := Kinds[kind]
	if !ok {
		return nil, false
	}
	s := of(k.Type)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["title"] = k.Title
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n'), true
}

var (
	scalarType  = reflect.TypeOf(yamlx.Scalar{})
	nodePtrType = reflect.TypeOf((*yaml.Node)(nil))
	modParams   = reflect.TypeOf(defs.ModuleParams{})
	roleNodes   = reflect.TypeOf(defs.RoleNodes{})
	macsType    = reflect.TypeOf(defs.MACs{})
)

func of(t reflect.Type) map[string]any {
	switch t {
	case scalarType:
		return map[string]any{"type": []string{"string", "number", "boolean"}}
	case nodePtrType:
		return map[string]any{}
	case modParams:
		return map[string]any{
			"type":                 "object",
			"description":          "Parameter values by module, then by parameter name.",
			"additionalProperties": map[string]any{"type": []string{"object", "null"}},
		}
	case macsType:
		list := map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		byName := map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
		return map[string]any{"oneOf": []any{list, map[string]any{
			"type":                 "object",
			"additionalProperties": map[string]any{"oneOf": []any{map[string]any{"type": "string"}, list, byName}},
		}}}
	case roleNodes:
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "array", "items": map[string]any{"oneOf": []any{of(reflect.TypeOf(defs.NodeEntry{})), of(reflect.TypeOf(defs.CountedNodes{}))}}},
			of(reflect.TypeOf(defs.CountedNodes{})),
		}}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": of(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for _, f := range yamlx.Fields(t) {
			p := of(t.Field(f.Index).Type)
			if f.Doc != "" {
				p["description"] = f.Doc
			}
			props[f.Key] = p
			if f.Required {
				required = append(required, f.Key)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}
