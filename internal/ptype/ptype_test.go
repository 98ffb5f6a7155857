package ptype

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A value with a control character cannot be of a single-line type: it
// could end the line it lands on (a kickstart command, a puppet.conf
// setting, an LDIF attribute) and start a directive of its own.
func TestSingleLineTypesRefuseControlCharacters(t *testing.T) {
	hostile := map[string]string{
		"newline":           "UTC\n%post\ncurl x | sh\n%end",
		"carriage return":   "production\rserver = evil",
		"NUL":               "a\x00b",
		"escape":            "a\x1b[2Jb",
		"tab":               "a\tb",
		"DEL":               "a\x7fb",
		"C1 next line":      "a\u0085b",
		"line separator":    "a\u2028b",
		"invalid UTF-8":     "a\xffb",
		"LDIF continuation": "/bin/bash\n\ndn: uid=evil",
	}
	for _, base := range []string{"string", "path", "hostname", "secret", "enum", "ip", "cidr", "username"} {
		for name, v := range hostile {
			if base == "path" {
				v = "/" + v
			}
			ty := Type{Base: base, Values: []string{v}}
			p := ty.CheckValue(v)
			if p == nil {
				t.Errorf("%s %q (%s) accepted", base, v, name)
				continue
			}
			if !strings.Contains(p.What, "holds") || p.Fix == "" {
				t.Errorf("%s %q: message %q / fix %q does not say what is wrong and what to do", base, v, p.What, p.Fix)
			}
		}
	}
}

func TestControlCharacterMessageNamesCharacterAndPlace(t *testing.T) {
	p := Type{Base: "string"}.CheckValue("UTC\n%post")
	if p == nil || !strings.Contains(p.What, "a newline") || !strings.Contains(p.What, "character 4") || !strings.Contains(p.Fix, "one line") {
		t.Fatalf("got %+v", p)
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("v: \"UTC\\n%post\"\n"), &n); err != nil {
		t.Fatal(err)
	}
	val := n.Content[0].Content[1]
	if _, p := (Type{Base: "string"}).CheckNode(val); p == nil || p.Node != val {
		t.Fatalf("CheckNode: %+v", p)
	}
	// A list points at the offending element.
	if err := yaml.Unmarshal([]byte("v:\n  - http://a/\n  - \"http://b/\\nKILN_EOF\"\n"), &n); err != nil {
		t.Fatal(err)
	}
	_, p = Type{Base: "string", List: true}.CheckNode(n.Content[0].Content[1])
	if p == nil || p.Node.Line != 3 {
		t.Fatalf("list element: %+v", p)
	}
}

func TestTextSpansLinesButRefusesOtherControlCharacters(t *testing.T) {
	text := Type{Base: "text"}
	if p := text.CheckValue("part / --fstype=xfs --grow\n\tpart swap --size=4096\n"); p != nil {
		t.Errorf("a multi-line text refused: %+v", p)
	}
	for _, v := range []string{"a\r\nb", "a\x00", "a\x1b[0m"} {
		if p := text.CheckValue(v); p == nil {
			t.Errorf("text %q accepted", v)
		}
	}
	if _, err := Parse("list(text)", nil); err != nil {
		t.Error(err)
	}
}

func TestPrintableValuesStillPass(t *testing.T) {
	for base, v := range map[string]string{
		"string": "Europe/Zurich", "path": "/var/lib/libvirt/images", "hostname": "head.example.org",
		"secret": "root_password", "ip": "10.0.0.1", "cidr": "10.0.0.0/24",
	} {
		if p := (Type{Base: base}).CheckValue(v); p != nil {
			t.Errorf("%s %q: %+v", base, v, p)
		}
	}
	if p := (Type{Base: "string"}).CheckValue("Zoë Müller – ü\uFFFD"); p != nil {
		t.Errorf("printable Unicode refused: %+v", p)
	}
	if err := CheckLine("the shell", "/bin/bash"); err != nil {
		t.Error(err)
	}
	if err := CheckLine("the shell", "/bin/bash\nx"); err == nil || !strings.Contains(err.Error(), "a newline") {
		t.Errorf("CheckLine: %v", err)
	}
}

// The types that say more than "one line" refuse what would need quoting
// somewhere they land, and keep the values real sites use.
func TestNarrowTypes(t *testing.T) {
	ok := map[string][]string{
		"path":     {"/var/lib/libvirt/images", "/export/home", "/srv/a+b/c@d,e_f-1.2"},
		"url":      {"", "http://mirror.example.org/almalinux/9/BaseOS/x86_64/os/", "ldap://ldap.small.local/", "https://u:p@proxy:3128/?a=b&c=%24", "file:///srv/repo"},
		"ifname":   {"eth0", "enp1s0f1", "br0", "bond0.100", "ib0"},
		"dn":       {"dc=physics,dc=example,dc=edu", "cn=root,dc=small,dc=local", "ou=Tier 3,o=Example-Lab"},
		"username": {"", "t3admin", "_svc", "ops-1"},
	}
	bad := map[string][]string{
		"path":     {"relative", "/var/lib/$(reboot)", "/a b", "/x'><disk", "/x\"", "/a;b", "/a%i"},
		"url":      {"mirror/", "http://x/ y", "http://x/$(id)", "http://x/'", "http://x/\"><", "http://x/`id`", "http://x/{a}"},
		"ifname":   {"", "eth0 accept", `eth0"`, "averyveryverylongname", "eth0;", "-eth0"},
		"dn":       {"", "dc=x,", "dc=x\"", "dc=x,cn=y)(|(uid=*)", "dc= x", "dc", "dc=a+cn=b"},
		"username": {"root", "condor", "Admin", "1admin", "a b", "adm;in", "x\ny", strings.Repeat("a", 33)},
	}
	for base, vs := range ok {
		for _, v := range vs {
			if p := (Type{Base: base}).CheckValue(v); p != nil {
				t.Errorf("%s %q refused: %+v", base, v, p)
			}
		}
	}
	for base, vs := range bad {
		for _, v := range vs {
			p := (Type{Base: base}).CheckValue(v)
			if p == nil {
				t.Errorf("%s %q accepted", base, v)
			} else if p.Fix == "" {
				t.Errorf("%s %q: no fix in %+v", base, v, p)
			}
		}
	}
}

func TestNftRuleStaysInItsChain(t *testing.T) {
	for _, v := range []string{"tcp dport { 80, 443 } accept", `iifname "eth1" accept`, `meta mark set 1 comment "a;b}"`} {
		if p := (Type{Base: "nftrule"}).CheckValue(v); p != nil {
			t.Errorf("%q refused: %+v", v, p)
		}
	}
	for _, v := range []string{"accept; }", "} chain evil { accept", `iifname "eth1 accept`, "tcp dport { 80", "", "accept\n}"} {
		if p := (Type{Base: "nftrule"}).CheckValue(v); p == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
