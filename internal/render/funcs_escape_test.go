package render

import (
	"encoding/base64"
	"encoding/xml"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/kickstart"
)

var hostileLine = []string{
	`it's "quoted"`, `$(touch /tmp/pwned)`, "`id`", `a b #c`, `"><disk type='block'/>`,
	` leading space`, `:colon`, `<angle`, `trailing `, `Zoë Müller`, `x; } chain y { accept`,
	`KILN_EOF`, `back\slash`, `%n %% $HOME`,
}

// A kickstart argument reads back, through pykickstart's shlex rules (the
// linter's), as the one word it was.
func TestKsArgIsOneWord(t *testing.T) {
	for _, v := range append(hostileLine, "Europe/Zurich", "en_US.UTF-8") {
		a, err := ksArg(v)
		if err != nil {
			t.Fatal(err)
		}
		f, probs := kickstart.Lint("el9", "timezone "+a+" --utc\n")
		if len(probs) > 0 || f.Command("timezone") == nil {
			t.Errorf("%q as %s: %v", v, a, probs)
			continue
		}
		if got := f.Command("timezone").Args; len(got) != 2 || got[0] != v {
			t.Errorf("%q as %s reads back as %q", v, a, got)
		}
	}
	if _, err := ksArg("UTC\n%post"); err == nil {
		t.Error("a newline passed into a kickstart argument")
	}
}

// An LDIF line holds its value whole: plain when RFC 2849 allows it, else
// base64 that decodes to it.
func TestLDIFLine(t *testing.T) {
	for _, v := range append(hostileLine, "/bin/bash\n\ndn: uid=evil", "x\r\n uidNumber: 0") {
		l := ldifLine("loginShell", v)
		if strings.Contains(l, "\n") || strings.Contains(l, "\r") {
			t.Errorf("%q: %q spans lines", v, l)
		}
		if b64, ok := strings.CutPrefix(l, "loginShell:: "); ok {
			got, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || string(got) != v {
				t.Errorf("%q: base64 %q decodes to %q, %v", v, b64, got, err)
			}
		} else if l != "loginShell: "+v {
			t.Errorf("%q: %q", v, l)
		}
	}
	if l := ldifLine("cn", "Alice Analyst"); l != "cn: Alice Analyst" {
		t.Errorf("a plain value: %q", l)
	}
}

// An XML attribute holds its value whole, whatever it holds.
func TestXMLEscapeKeepsOneAttribute(t *testing.T) {
	for _, v := range hostileLine {
		var d struct {
			File string `xml:"file,attr"`
		}
		doc := `<source file="` + xmlEscape(v) + `"/>`
		if err := xml.Unmarshal([]byte(doc), &d); err != nil || d.File != v {
			t.Errorf("%q: %s reads back as %q, %v", v, doc, d.File, err)
		}
	}
}

func TestNftablesRefusesWhatItCannotQuote(t *testing.T) {
	if s, err := nftString("eth0"); err != nil || s != `"eth0"` {
		t.Errorf("nftString(eth0) = %s, %v", s, err)
	}
	if _, err := nftString(`eth0" accept; }`); err == nil {
		t.Error("a quote passed into an nftables string")
	}
	for _, r := range []string{"tcp dport { 80, 443 } accept", `iifname "eth1" accept`, `meta nftrace set 1 comment "a;b}"`} {
		if _, err := nftRule(r); err != nil {
			t.Errorf("rule %q refused: %v", r, err)
		}
	}
	for _, r := range []string{"accept; }", "} chain evil { accept", `iifname "eth1 accept`, "tcp dport { 80", "accept\n}"} {
		if _, err := nftRule(r); err == nil {
			t.Errorf("rule %q passed", r)
		}
	}
}

func TestOtherLanguages(t *testing.T) {
	if _, err := ipxeArg("http://10.0.0.1/os/el9/"); err != nil {
		t.Error(err)
	}
	for _, v := range []string{"http://x/ y", "http://x/${evil}", "a#b", ""} {
		if _, err := ipxeArg(v); err == nil {
			t.Errorf("iPXE argument %q passed", v)
		}
	}
	if g, _ := grubArg("it's"); g != `'it'\''s'` {
		t.Errorf("grubArg: %s", g)
	}
	if _, err := iniValue("production\nserver = evil"); err == nil {
		t.Error("a newline passed into an INI value")
	}
	for v, want := range map[string]string{"/var/www/kiln/os": "/var/www/kiln/os", "/a b/%i$x": `"/a b/%%i$$x"`, `/a"b\`: `"/a\"b\\"`} {
		if got, _ := systemdArg(v); got != want {
			t.Errorf("systemdArg(%q) = %s, want %s", v, got, want)
		}
	}
}

// A Markdown code span holds any value whole: the longest run of
// backticks inside it is shorter than its fence.
func TestMdCodeHoldsBackticks(t *testing.T) {
	for v, want := range map[string]string{
		"sftp:root@nfs:/export/backup": "`sftp:root@nfs:/export/backup`",
		"a`b":                          "``a`b``",
		"`x``":                         "``` `x`` ```",
		"$(id)`id`":                    "`` $(id)`id` ``",
	} {
		if got, err := mdCode(v); err != nil || got != want {
			t.Errorf("mdCode(%q) = %s, %v; want %s", v, got, err, want)
		}
	}
}
