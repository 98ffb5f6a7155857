package output

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/pmezard/go-difflib/difflib"

	"kiln.dev/kiln/internal/render"
)

// Change is one file a build would add, change or remove.
type Change struct {
	Op     string `json:"op"` // add, change, remove
	Path   string `json:"path"`
	Origin string `json:"origin,omitempty"`
	Diff   string `json:"diff,omitempty"`
}

// Plan compares rendered files with the build in dir. With diffs, each
// change carries a unified diff (never of a secret-bearing file).
func Plan(dir string, files []render.File, diffs bool) ([]Change, error) {
	old, _, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	oldBy := old.ByPath()
	key := ReadKey(dir)
	newBy := make(map[string]bool, len(files))
	var out []Change
	for _, f := range files {
		e := entryOf(f)
		newBy[f.Path] = true
		o, ok := oldBy[f.Path]
		switch {
		case !ok:
			c := Change{Op: "add", Path: f.Path, Origin: f.Origin}
			if diffs {
				c.Diff = unified(f, false, nil, f.Data)
			}
			out = append(out, c)
		case !SameContent(key, o, f.Data) || o.Mode != e.Mode:
			c := Change{Op: "change", Path: f.Path, Origin: f.Origin}
			if diffs {
				before, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				// A file that was private before is not shown either.
				c.Diff = unified(f, o.Mode.Perm()&0o077 == 0, before, f.Data)
			}
			out = append(out, c)
		}
	}
	for _, o := range old {
		if !newBy[o.Path] {
			out = append(out, Change{Op: "remove", Path: o.Path, Origin: o.Origin})
		}
	}
	return out, nil
}

func unified(f render.File, wasPrivate bool, before, after []byte) string {
	if f.Secret || wasPrivate {
		return "(this file carries secrets; its contents are not shown)\n"
	}
	if bytes.Equal(before, after) {
		return "(only the file mode changes)\n"
	}
	d := difflib.UnifiedDiff{
		A: difflib.SplitLines(string(before)), B: difflib.SplitLines(string(after)),
		FromFile: "a/" + f.Path, ToFile: "b/" + f.Path, Context: 3,
	}
	if before == nil {
		d.FromFile = "/dev/null"
	}
	s, _ := difflib.GetUnifiedDiffString(d)
	return s
}
