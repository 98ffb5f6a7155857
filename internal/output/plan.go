package output

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
// change carries a unified diff; a secret-bearing file's shows its secret
// values masked, or nothing when the renderer could not say which they are.
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
	if bytes.Equal(before, after) {
		return "(only the file mode changes)\n"
	}
	if f.Secret || wasPrivate {
		// Shown with its secret values masked when the renderer knows
		// every one of them; otherwise not at all.
		if !f.Secret || f.Opaque || len(f.Masks) == 0 {
			return "(this file carries secrets; its contents are not shown)\n"
		}
		a, b := difflib.SplitLines(string(before)), difflib.SplitLines(string(after))
		mk := masker(f.Masks)
		for i := range a {
			a[i] = mk.Replace(a[i])
		}
		for i := range b {
			b[i] = mk.Replace(b[i])
		}
		rawA, rawB := difflib.SplitLines(string(before)), difflib.SplitLines(string(after))
		maskPairs(a, b, rawA, rawB, f.Masks, mk)
		return maskedDiff(f.Path, before == nil, rawA, rawB, a, b)
	}
	return diffLines(f.Path, before == nil, difflib.SplitLines(string(before)), difflib.SplitLines(string(after)))
}

func diffLines(p string, added bool, a, b []string) string {
	d := difflib.UnifiedDiff{A: a, B: b, FromFile: "a/" + p, ToFile: "b/" + p, Context: 3}
	if added {
		d.FromFile = "/dev/null"
	}
	s, _ := difflib.GetUnifiedDiffString(d)
	return s
}

// maskedDiff is the unified diff of rawA and rawB (so a line whose
// secret changed is a change), written with the masked lines a and b.
func maskedDiff(p string, added bool, rawA, rawB, a, b []string) string {
	var out strings.Builder
	from := "a/" + p
	if added {
		from = "/dev/null"
	}
	rng := func(start, stop int) string {
		beginning, length := start+1, stop-start
		if length == 1 {
			return fmt.Sprint(beginning)
		}
		if length == 0 {
			beginning--
		}
		return fmt.Sprintf("%d,%d", beginning, length)
	}
	for k, g := range difflib.NewMatcher(rawA, rawB).GetGroupedOpCodes(3) {
		if k == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ b/%s\n", from, p)
		}
		first, last := g[0], g[len(g)-1]
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", rng(first.I1, last.I2), rng(first.J1, last.J2))
		for _, c := range g {
			if c.Tag == 'e' {
				for _, l := range a[c.I1:c.I2] {
					out.WriteString(" " + l)
				}
				continue
			}
			if c.Tag == 'r' || c.Tag == 'd' {
				for _, l := range a[c.I1:c.I2] {
					out.WriteString("-" + l)
				}
			}
			if c.Tag == 'r' || c.Tag == 'i' {
				for _, l := range b[c.J1:c.J2] {
					out.WriteString("+" + l)
				}
			}
		}
	}
	return out.String()
}

// Masked stands for a secret value in a diff.
const Masked = "«secret»"

// masker replaces each secret value of a file, as it is and in the
// escaped forms a template writes it in (a quoted string's backslashes
// and quotes), in one pass over a line, the longest first.
func masker(masks []string) *strings.Replacer {
	seen := map[string]bool{}
	var forms []string
	for _, m := range masks {
		if len(m) < 4 { // too short to mask without masking unrelated text
			continue
		}
		for _, f := range []string{m, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(m), strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(m)} {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Masked)
	}
	return strings.NewReplacer(pairs...)
}

// maskPairs masks, in the file before, what stood where the file after
// has a secret: when a secret changed, the old value is not among the
// masks, but its line is replaced by the new one's. Lines replaced one
// for one: the part of the old line between what it shares with the new
// one at both ends is masked when the new line held a secret. An old
// line removed without a counterpart may have held a secret no longer
// known: it is masked whole.
func maskPairs(a, b, rawA, rawB, masks []string, mk *strings.Replacer) {
	m := difflib.NewMatcher(rawA, rawB)
	for _, op := range m.GetOpCodes() {
		if op.Tag != 'r' && op.Tag != 'd' {
			continue
		}
		paired := 0
		if op.Tag == 'r' {
			paired = min(op.I2-op.I1, op.J2-op.J1)
		}
		for k := 0; k < op.I2-op.I1; k++ {
			i := op.I1 + k
			if k >= paired {
				a[i] = Masked + "\n"
				continue
			}
			j := op.J1 + k
			if b[j] == rawB[j] {
				continue // no secret on the new line
			}
			oldL, newL := rawA[i], rawB[j]
			p := 0
			for p < len(oldL) && p < len(newL) && oldL[p] == newL[p] {
				p++
			}
			q := 0
			for q < len(oldL)-p && q < len(newL)-p && oldL[len(oldL)-1-q] == newL[len(newL)-1-q] {
				q++
			}
			// Not into the new line's secrets: two values sharing their
			// first characters would show the old one's.
			first, last := len(newL), 0
			for _, m := range masks {
				if k := strings.Index(newL, m); k >= 0 && len(m) >= 4 {
					first = min(first, k)
					last = max(last, strings.LastIndex(newL, m)+len(m))
				}
			}
			p = min(p, first)
			q = min(q, max(len(newL)-last, 0))
			a[i] = mk.Replace(oldL[:p]) + Masked + mk.Replace(oldL[len(oldL)-q:])
		}
	}
}
