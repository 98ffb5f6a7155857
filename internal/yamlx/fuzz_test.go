package yamlx_test

import (
	"io/fs"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
)

// FuzzDecode feeds arbitrary bytes to the decoder as each kind of
// definition file: it never panics, and every problem it reports has a
// file and a message.
func FuzzDecode(f *testing.F) {
	for _, root := range []func(string) (fs.FS, bool){builtin.Design, builtin.Example} {
		fsys, _ := root("tier3")
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".yaml") {
				b, _ := fs.ReadFile(fsys, p)
				f.Add(b)
			}
			return nil
		})
	}
	for _, s := range []string{"", "~", "[]", "a: &a [*a]", "? [a]\n: b", "x: !!binary aGk=", "nodes: {w: {count: 0x10}}", "parameters: {m: {p: *x}}", "- - -", "count: 1e3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(string, []byte, *diag.List){
			func(n string, b []byte, l *diag.List) { defs.ParseSite(n, b, l) },
			func(n string, b []byte, l *diag.List) { defs.ParseDesign(n, b, l) },
			func(n string, b []byte, l *diag.List) { defs.ParseRole(n, b, l) },
			func(n string, b []byte, l *diag.List) { defs.ParseModule(n, b, l) },
		} {
			var l diag.List
			parse("f.yaml", data, &l)
			for _, d := range l.Items() {
				if d.Pos.File != "f.yaml" || d.What == "" {
					t.Errorf("diagnostic without its file or message: %q", d.String())
				}
			}
		}
	})
}
