package render

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"

	"kiln.dev/kiln/internal/diag"
)

// checkPaths reports the files of a build (sorted by path) that cannot all
// be written: two artifacts writing the same path, or one writing a file
// where another needs a folder (a/b beside a/b/c). Each message names both
// artifacts' declarations, so the fix is at a line either way. The same
// pair of declarations colliding for many nodes is said once.
func checkPaths(files []BuiltFile, diags *diag.List) {
	type pair struct{ a, b diag.Pos }
	said := map[pair]int{}
	var order []pair
	msg := map[pair][3]string{}
	report := func(first, second *BuiltFile, same bool, what string) {
		if same && second.decl.String() < first.decl.String() {
			first, second = second, first // the same words whatever the order
		}
		k := pair{first.decl, second.decl}
		if _, ok := said[k]; !ok {
			order = append(order, k)
			msg[k] = [3]string{what, origin(first), origin(second)}
		}
		said[k]++
	}
	at := make(map[string]int, len(files))
	for i := range files {
		f := &files[i]
		if i > 0 && files[i-1].Path == f.Path {
			report(&files[i-1], f, true, fmt.Sprintf("two artifacts write %s", f.Path))
			continue
		}
		at[f.Path] = i
	}
	for i := range files {
		f := &files[i]
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if j, ok := at[dir]; ok {
				report(&files[j], f, false, fmt.Sprintf("%s is a file, but %s needs it to be a folder", dir, f.Path))
				break
			}
		}
	}
	for _, k := range order {
		m := msg[k]
		what := fmt.Sprintf("%s: %s (declared at %s) and %s (declared at %s)", m[0], m[1], k.a, m[2], k.b)
		if n := said[k] - 1; n > 0 {
			what += fmt.Sprintf(", and %d more paths like it from the same two artifacts", n)
		}
		// At the declaration the user can edit: the site's, not the
		// embedded design's, when one of the two is.
		at := k.b
		if strings.HasPrefix(at.File, "(") && !strings.HasPrefix(k.a.File, "(") {
			at = k.a
		}
		diags.Add(at, "artifact path", what, "give one of the artifacts a path of its own, e.g. one that includes {{.Node.Name}} or {{.Role.Name}}")
	}
}

// origin names what made a file: "kickstart.cfg.tmpl for wn1", or the
// copied file.
func origin(f *BuiltFile) string {
	tmpl, subj, ok := cutAt(f.origin)
	if ok {
		return tmpl + " for " + subj
	}
	if f.copied {
		return "the copied file " + tmpl
	}
	return tmpl
}

// unwritablePath says why a file system would refuse a path a build makes,
// or "": a control character (a newline, NUL), a name longer than 255
// bytes (Linux's NAME_MAX), or a path longer than 4095 (PATH_MAX, less the
// build folder's own, which the build checks when it writes).
func unwritablePath(p string) string {
	if len(p) > 4000 {
		return fmt.Sprintf("is %d bytes long; file systems take at most 4095 with the build folder's own", len(p))
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "has a control character (a newline, a tab or NUL) in it"
		}
	}
	for _, el := range strings.Split(p, "/") {
		if len(el) > 255 {
			return fmt.Sprintf("has a name of %d bytes; file systems take at most 255", len(el))
		}
	}
	return ""
}

// sinkProblem is a sink's error on a file: a clash with another file of the
// same build (a file where a folder must be, or the reverse) at the
// artifact's path: line, as kiln check reports it; anything else (a full
// disk) ends the build.
func sinkProblem(err error, p string, decl diag.Pos) *diag.Diagnostic {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return &diag.Diagnostic{Pos: decl, Where: "artifact path",
			What: fmt.Sprintf("%s cannot be written: another file of this build stands where it needs a folder, or a folder where it is a file", p),
			Fix:  "give the two artifacts paths that do not clash (kiln check names both)"}
	}
	return &diag.Diagnostic{Where: "build", What: err.Error(), Fix: "make room or fix the build folder's permissions, then build again"}
}
