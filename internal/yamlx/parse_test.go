package yamlx_test

import (
	"strings"
	"testing"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// TestParseRefusesWhatItCannotReadAsWritten: each input is refused at the
// line (and column) a user would fix, with the words that say why.
func TestParseRefusesWhatItCannotReadAsWritten(t *testing.T) {
	for _, c := range []struct {
		name, in, at string
		words        []string
	}{
		{"a NUL byte", "a: 1\nb: x\x00y\n", "f.yaml:2:5", []string{"NUL"}},
		{"Latin-1 after CRLF lines", "a: 1\r\nb: caf\xe9\r\n", "f.yaml:2:7", []string{"0xE9", "UTF-8"}},
		{"a control character", "a: \x07\n", "f.yaml:1:4", []string{"U+0007"}},
		{"after a multi-byte character", "a: é\x00\n", "f.yaml:1:5", []string{"NUL"}},
		{"a second document", "a: 1\n---\nb: 2\n", "f.yaml:2", []string{"second YAML document"}},
		{"a second document after a leading ---", "---\na: 1\n---\nb: 2\n", "f.yaml:3", []string{"second YAML document"}},
		{"a merge key", "x: &x {a: 1}\ny:\n  <<: *x\n  b: 2\n", "f.yaml:3:3", []string{"merge keys", "not supported"}},
		{"aliases of aliases", bomb(), "f.yaml:1", []string{"aliases", "billion laughs"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l diag.List
			yamlx.Parse("f.yaml", []byte(c.in), &l)
			items := l.Items()
			if len(items) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(items), items)
			}
			s := items[0].String()
			if !strings.HasPrefix(s, c.at+":") && !strings.HasPrefix(s, c.at+" ") {
				t.Errorf("got %q, want it at %s", s, c.at)
			}
			for _, w := range c.words {
				if !strings.Contains(s, w) {
					t.Errorf("got %q, want %q in it", s, w)
				}
			}
		})
	}
}

func TestParseReadsWhatIsUnusualButValid(t *testing.T) {
	for _, in := range []string{
		"\ufeffa: 1\n",                  // a byte order mark
		"a: 1\r\nb: [x, y]\r\n",         // CRLF
		"# Grüße ☃\na: 1 # 集群\n",        // unicode in comments
		"a: 1\n---\n",                   // a trailing empty document
		"a: \"tab\there\"\nb: \u0085\n", // a tab, NEL
	} {
		var l diag.List
		if n := yamlx.Parse("f.yaml", []byte(in), &l); n == nil || l.Len() > 0 {
			t.Errorf("%q: %v", in, l.Items())
		}
	}
}

func bomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}
