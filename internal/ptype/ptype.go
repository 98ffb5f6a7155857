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
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zone names are checked the same on any machine
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
)

// Bases are the scalar types a parameter may have.
//
// Every text type but text is one line: a control character (newline,
// carriage return, NUL, escape, any other C0 or C1 code, DEL, the Unicode
// line and paragraph separators) is refused, so that no value can end the
// line it lands on in a generated file and start a directive of its own.
// text is the one type whose values may span lines (newline and tab
// allowed, every other control character refused).
//
// Some types say more than "one line", so that their values go into every
// file format as they are: a path is POSIX's portable file name characters
// (and + @ ,) between slashes; a url has no space, quote, $ or other
// character RFC 3986 would percent-encode; an ifname is a Linux interface
// name; a dn is an LDAP distinguished name of plain attribute=value parts;
// a word is one word of letters, digits and _ . - + (a Puppet
// environment, a keyboard layout, a locale);
// an nftrule is one nftables rule that stays inside the chain it is put
// in (no ;, braces and quotes balanced).
//
// A timezone is a tz database name (Europe/Zurich, America/Chicago, UTC):
// letters, digits and / _ - + only. A name the tz database kiln carries
// does not know is a warning (KnownZone), not an error: the nodes' tzdata
// may be newer than kiln's.
var Bases = []string{"bool", "cidr", "dn", "enum", "hostname", "ifname", "int", "ip", "nftrule", "path", "port", "secret", "string", "text", "timezone", "url", "username", "word"}

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
	if p := t.checkControl(s); p != nil {
		return p
	}
	switch t.Base {
	case "string", "secret", "text":
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
		if i := strings.IndexFunc(s, func(r rune) bool { return !pathChar(r) }); i >= 0 {
			return &Problem{What: fmt.Sprintf("the path %s holds %q, which kiln does not put in paths", Quote(s), s[i:i+len(string([]rune(s[i:])[0]))]),
				Fix: "use letters, digits and . _ - + @ , between the slashes (no spaces, quotes, $ or other shell, XML or unit-file characters)"}
		}
	case "url":
		if s == "" {
			return nil // none
		}
		return checkURL(s)
	case "username":
		if s == "" {
			return nil // none
		}
		if !userName.MatchString(s) {
			return &Problem{What: fmt.Sprintf("%s is not a user name", Quote(s)),
				Fix: "use up to 32 lowercase letters, digits, '_' and '-', starting with a letter or '_', e.g. t3admin"}
		}
		if systemUsers[s] {
			return &Problem{What: fmt.Sprintf("%s is an account the system already has", Quote(s)),
				Fix: "choose a name of your own, e.g. t3admin"}
		}
	case "ifname":
		if !ifName.MatchString(s) {
			return &Problem{What: fmt.Sprintf("%s is not a network interface name", Quote(s)),
				Fix: "use the name the kernel gives the NIC or bridge: up to 15 letters, digits, '.', '_' and '-', e.g. eth0, enp1s0 or br0"}
		}
	case "timezone":
		if !zoneName.MatchString(s) {
			return &Problem{What: fmt.Sprintf("%s is not a time zone name", Quote(s)), Fix: "use a name of the tz database, e.g. Europe/Zurich, America/Chicago or UTC (timedatectl list-timezones lists them)"}
		}
	case "word":
		if !word.MatchString(s) {
			return &Problem{What: fmt.Sprintf("%s is not one word", Quote(s)), Fix: "use letters, digits and _ . - + only, starting with a letter or digit, e.g. production or en_US.UTF-8"}
		}
	case "nftrule":
		if err := CheckNftRule(s); err != nil {
			return &Problem{What: err.Error(), Fix: "give one rule per item, e.g. tcp dport { 80, 443 } accept, with its braces and quotes closed"}
		}
	case "dn":
		if err := CheckDN(s); err != nil {
			return &Problem{What: err.Error(), Fix: "write attribute=value parts separated by commas, e.g. dc=physics,dc=example,dc=edu; values of letters, digits, spaces, . _ - @"}
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

// checkControl refuses the control characters a value of type t may not
// hold: all of them in a single-line type; all but newline and tab in text.
func (t Type) checkControl(s string) *Problem {
	i, r := ControlChar(s, t.Base == "text")
	if i < 0 {
		return nil
	}
	name := CharName(r)
	line := 1 + strings.Count(s[:i], "\n")
	at := fmt.Sprintf("at character %d", 1+len([]rune(s[:i])))
	if line > 1 {
		at = fmt.Sprintf("on its line %d", line)
	}
	if t.Base == "text" {
		return &Problem{What: fmt.Sprintf("the value holds %s (%s): text may span lines but holds no other control character", name, at),
			Fix: "remove it; write lines ending in a plain newline, indent with spaces or tabs"}
	}
	fix := "remove it: a " + t.Base + " is one line, and a newline or other control character would let the value end the line it lands on in a generated file"
	if r == '\n' || r == '\r' {
		fix = "write the value on one line; in YAML a block (| or >) or a \\n in double quotes makes a newline, so use a plain or single-quoted value"
	}
	return &Problem{What: fmt.Sprintf("the %s value %s holds %s (%s)", t.Base, Quote(s), name, at), Fix: fix}
}

// ControlChar returns the byte index and the first control character of
// s (C0, DEL, C1, U+2028, U+2029; newline and tab allowed when multiline),
// or -1 when there is none. An invalid UTF-8 byte counts as one.
func ControlChar(s string, multiline bool) (int, rune) {
	for i, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\t'):
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029, r == utf8.RuneError:
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(s[i:]); size == 3 {
					continue // a real U+FFFD
				}
			}
			return i, r
		}
	}
	return -1, 0
}

// CheckLine refuses a control character in a single-line value (a name, a
// path, a shell, a full name) that is not a typed parameter. what names
// the field in the message.
func CheckLine(what, s string) error {
	i, r := ControlChar(s, false)
	if i < 0 {
		return nil
	}
	return fmt.Errorf("%s %s holds %s at character %d; it must be one line of printable text", what, Quote(s), CharName(r), 1+len([]rune(s[:i])))
}

// CharName names a control character for a message.
func CharName(r rune) string {
	switch r {
	case '\n':
		return "a newline"
	case '\r':
		return "a carriage return"
	case '\t':
		return "a tab"
	case 0:
		return "a NUL byte"
	case 0x1b:
		return "an escape character"
	case 0x2028:
		return "a Unicode line separator (U+2028)"
	case 0x2029:
		return "a Unicode paragraph separator (U+2029)"
	case utf8.RuneError:
		return "a byte that is not UTF-8"
	}
	return fmt.Sprintf("the control character U+%04X", r)
}

// Quote shows a value in a message: quoted, control characters escaped,
// cut after 60 characters.
func Quote(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "..."
	}
	return strconv.Quote(s)
}

// pathChar is a character of POSIX's portable file name set, a slash, or
// one of + @ , (used in real paths, inert in every format kiln writes).
func pathChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+@,", r)
}

// IfName is a Linux interface name: at most IFNAMSIZ-1 = 15 bytes, of
// characters every file it lands in (kickstart, nftables, iptables,
// libvirt XML, ifcfg) takes as they are.
var ifName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$`)

// CheckIfName checks a network interface name.
func CheckIfName(s string) error {
	if !ifName.MatchString(s) {
		return fmt.Errorf("%s is not a network interface name", Quote(s))
	}
	return nil
}

// checkURL accepts an absolute URL written with RFC 3986's characters,
// less $ (a shell, GRUB and iPXE expand it): what lands in a kickstart, a
// kernel command line or a repository file as it is.
func checkURL(s string) *Problem {
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"'<>\\^`{|}$", r)
	}); i >= 0 {
		return &Problem{What: fmt.Sprintf("the URL %s holds %q", Quote(s), string([]rune(s[i:])[0])),
			Fix: "percent-encode it (a space is %20, $ is %24, a quote %22 or %27)"}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" && u.Opaque == "" && !strings.HasPrefix(s, u.Scheme+":///") {
		return &Problem{What: fmt.Sprintf("%s is not an absolute URL", Quote(s)), Fix: "write it with its scheme and host, e.g. http://mirror.example.org/almalinux/9/"}
	}
	return nil
}

var dnPart = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9._@-]([A-Za-z0-9 ._@-]*[A-Za-z0-9._@-])?$`)

// CheckDN accepts an LDAP distinguished name of plain attribute=value
// parts (no escapes, no multi-valued RDNs): one that an LDIF dn: line, a
// shell word in quotes and an sssd.conf value all take as it is.
func CheckDN(s string) error {
	if s == "" {
		return fmt.Errorf("the DN is empty")
	}
	for _, p := range strings.Split(s, ",") {
		if !dnPart.MatchString(p) {
			return fmt.Errorf("%s is not a plain LDAP DN: part %s", Quote(s), Quote(p))
		}
	}
	return nil
}

// userName is what useradd accepts on EL (shadow-utils' default rule,
// without the trailing $ of machine accounts).
var userName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// systemUsers are accounts an EL system or the design's packages already
// have: a user of that name would take over or clash with it.
var systemUsers = map[string]bool{"root": true, "bin": true, "daemon": true, "adm": true, "lp": true,
	"sync": true, "shutdown": true, "halt": true, "mail": true, "operator": true, "games": true,
	"ftp": true, "nobody": true, "sshd": true, "chrony": true, "condor": true, "ldap": true,
	"squid": true, "xrootd": true, "cvmfs": true, "puppet": true, "sssd": true, "dnsmasq": true, "qemu": true}

var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*$`)

// KnownZone reports whether the tz database (the system's, or the copy
// built into kiln by time/tzdata) knows the time zone name s.
func KnownZone(s string) bool {
	if s == "" || s == "Local" {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

var word = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

// CheckNftRule accepts one nftables rule that stays one rule of the chain
// it is written into: no ; outside quotes (another statement), braces
// balanced (an extra } would close the chain), quotes closed (an open one
// runs over the lines after it). Control characters are refused before.
func CheckNftRule(s string) error {
	depth, quoted := 0, false
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ';':
			return fmt.Errorf("the rule %s holds ';', which starts another statement", Quote(s))
		case c == '{':
			depth++
		case c == '}':
			if depth--; depth < 0 {
				return fmt.Errorf("the rule %s closes a brace it did not open: it would end the chain", Quote(s))
			}
		}
	}
	if quoted || depth != 0 {
		return fmt.Errorf("the rule %s leaves a quote or a brace open", Quote(s))
	}
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("the rule is empty")
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
