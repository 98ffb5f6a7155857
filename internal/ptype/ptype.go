// Package ptype is the type system of catalog parameters: parsing a type
// such as "list(ip)" or "enum", and checking a value written in YAML
// against it, with a message that says what was expected.
//
// It also holds the checks for the names and addresses that appear all over
// the definitions (RFC 1123 host names, MAC addresses), so that a host name
// in site.yaml and a hostname-typed parameter obey one rule.
package ptype

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
)

// Bases are the scalar types a parameter may have.
var Bases = []string{"bool", "cidr", "enum", "hostname", "int", "ip", "path", "port", "secret", "string"}

// Type is a parameter type.
type Type struct {
	Base   string
	List   bool
	Values []string // for enum
}

func (t Type) String() string {
	if t.List {
		return "list(" + t.Base + ")"
	}
	return t.Base
}

// Parse reads a type expression. values are the allowed values of an enum.
func Parse(expr string, values []string) (Type, error) {
	t := Type{Base: strings.TrimSpace(expr)}
	if inner, ok := strings.CutPrefix(t.Base, "list("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return t, fmt.Errorf("the type %q is missing its closing parenthesis", expr)
		}
		t.List, t.Base = true, strings.TrimSpace(inner)
	}
	known := false
	for _, b := range Bases {
		known = known || b == t.Base
	}
	if !known {
		return t, fmt.Errorf("unknown type %q", t.Base)
	}
	if t.Base == "enum" {
		if len(values) == 0 {
			return t, fmt.Errorf("an enum needs its allowed values")
		}
		t.Values = values
	} else if len(values) > 0 {
		return t, fmt.Errorf("only an enum has values; this type is %s", t)
	}
	return t, nil
}

// HasRef reports whether a YAML value refers to the cluster with ${…}; such
// values are checked after the reference is resolved.
func HasRef(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Tag == "!!str" && strings.Contains(n.Value, "${")
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if HasRef(c) {
				return true
			}
		}
	}
	return false
}

// Problem explains why a value does not fit its type.
type Problem struct {
	What, Fix string
	Node      *yaml.Node // the offending element (for lists), or the value
}

// CheckNode checks a YAML value against t and returns it as a plain Go
// value: string, int, bool or []any.
func (t Type) CheckNode(n *yaml.Node) (any, *Problem) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if t.List {
		if n.Kind != yaml.SequenceNode {
			return nil, &Problem{What: fmt.Sprintf("expected a list of %s, found %s", t.Base, describe(n)), Fix: "write [a, b] or one '- item' per line", Node: n}
		}
		out := make([]any, 0, len(n.Content))
		elem := Type{Base: t.Base, Values: t.Values}
		for _, c := range n.Content {
			v, p := elem.CheckNode(c)
			if p != nil {
				return nil, p
			}
			out = append(out, v)
		}
		return out, nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, &Problem{What: fmt.Sprintf("expected a single %s value, found %s", t.Base, describe(n)), Fix: "write one value here", Node: n}
	}
	var v any = n.Value
	switch t.Base {
	case "int", "port":
		if n.Tag != "!!int" {
			p := &Problem{What: fmt.Sprintf("expected a whole number (%s), found %s", t.Base, describe(n)), Fix: "write the number without quotes", Node: n}
			return nil, p
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return nil, &Problem{What: fmt.Sprintf("%q is not a whole number", n.Value), Node: n}
		}
		v = int(i)
	case "bool":
		if n.Tag != "!!bool" {
			return nil, &Problem{What: fmt.Sprintf("expected true or false, found %s", describe(n)), Fix: "write true or false without quotes", Node: n}
		}
		v = strings.EqualFold(n.Value, "true")
	}
	if p := t.CheckValue(v); p != nil {
		p.Node = n
		return nil, p
	}
	if t.Base == "ip" || t.Base == "cidr" {
		v = canonical(t.Base, v.(string))
	}
	return v, nil
}

// CheckValue checks a plain Go value (after references are resolved).
func (t Type) CheckValue(v any) *Problem {
	if t.List {
		l, ok := v.([]any)
		if !ok {
			return &Problem{What: fmt.Sprintf("expected a list of %s, found %v", t.Base, v)}
		}
		elem := Type{Base: t.Base, Values: t.Values}
		for _, e := range l {
			if p := elem.CheckValue(e); p != nil {
				return p
			}
		}
		return nil
	}
	switch t.Base {
	case "int":
		if _, ok := v.(int); !ok {
			return &Problem{What: fmt.Sprintf("expected a whole number, found %v", v)}
		}
		return nil
	case "port":
		i, ok := v.(int)
		if !ok || i < 1 || i > 65535 {
			return &Problem{What: fmt.Sprintf("%v is not a port number", v), Fix: "use a number from 1 to 65535"}
		}
		return nil
	case "bool":
		if _, ok := v.(bool); !ok {
			return &Problem{What: fmt.Sprintf("expected true or false, found %v", v)}
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return &Problem{What: fmt.Sprintf("expected a %s, found %v", t.Base, v)}
	}
	switch t.Base {
	case "string", "secret":
		if t.Base == "secret" && s == "" {
			return &Problem{What: "the secret's name is empty", Fix: "name a secret listed under secrets: in site.yaml"}
		}
	case "ip":
		if _, err := netip.ParseAddr(s); err != nil {
			return &Problem{What: fmt.Sprintf("%q is not an IP address", s), Fix: "write it like 10.10.0.5"}
		}
	case "cidr":
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return &Problem{What: fmt.Sprintf("%q is not a network in CIDR form", s), Fix: "write it like 10.10.0.0/24"}
		}
		if p.Masked() != p {
			return &Problem{What: fmt.Sprintf("%q has host bits set", s), Fix: fmt.Sprintf("did you mean %s?", p.Masked())}
		}
	case "hostname":
		if err := CheckHostname(s); err != nil {
			return &Problem{What: err.Error(), Fix: "use letters, digits and hyphens, with dots between labels"}
		}
	case "path":
		if !strings.HasPrefix(s, "/") {
			return &Problem{What: fmt.Sprintf("%q is not an absolute path", s), Fix: "start it with /"}
		}
	case "enum":
		for _, a := range t.Values {
			if a == s {
				return nil
			}
		}
		return &Problem{What: fmt.Sprintf("%q is not one of the allowed values", s), Fix: didYouMean(s, t.Values)}
	}
	return nil
}

func canonical(base, s string) string {
	if base == "ip" {
		a, _ := netip.ParseAddr(s)
		return a.String()
	}
	p, _ := netip.ParsePrefix(s)
	return p.String()
}

func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Tag == "!!null":
		return "nothing"
	case n.Tag == "!!str":
		return fmt.Sprintf("the text %q", n.Value)
	}
	return fmt.Sprintf("%q", n.Value)
}

var label = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// CheckHostname checks a host name (one label or a dotted name) against
// RFC 1123.
func CheckHostname(s string) error {
	if s == "" {
		return fmt.Errorf("the host name is empty")
	}
	if len(s) > 253 {
		return fmt.Errorf("the host name %q is longer than 253 characters", s)
	}
	for _, l := range strings.Split(s, ".") {
		if !label.MatchString(l) {
			return fmt.Errorf("%q is not a valid host name (RFC 1123): label %q", s, l)
		}
	}
	return nil
}

// CheckLabel checks a single-label host name, as node names are.
func CheckLabel(s string) error {
	if strings.Contains(s, ".") {
		return fmt.Errorf("%q is a dotted name; a node's name is its short host name", s)
	}
	return CheckHostname(s)
}

// ParseMAC reads an Ethernet MAC address and returns it in the canonical
// lower-case colon form.
func ParseMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("%q is not a MAC address", s)
	}
	return hw.String(), nil
}

// didYouMean guesses the value meant by a typo, then lists them all.
func didYouMean(s string, values []string) string {
	all := "use one of: " + strings.Join(values, ", ")
	if g := diag.Suggest(s, values); g != "" {
		return fmt.Sprintf("did you mean %q? (%s)", g, all)
	}
	return all
}
