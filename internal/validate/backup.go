package validate

import (
	"fmt"

	"kiln.dev/kiln/internal/diag"
)

// backup checks the design's backup: declaration: the module it names
// exists and has the repository and password parameters it names.
func (v *checker) backup() {
	b := v.d.Design.Backup
	if b == nil {
		return
	}
	const where = "design backup"
	m, ok := v.d.Modules[b.Module.Value]
	if !ok {
		v.diags.Add(b.Module.Pos, where, fmt.Sprintf("unknown module %q", b.Module.Value),
			fix(diag.DidYouMean(b.Module.Value, v.d.ModuleNames()), "name the catalog module that holds the backup repository"))
		return
	}
	for _, p := range []struct {
		name, what, typ string
		pos             diag.Pos
	}{
		{b.Repository.Value, "repository", "", b.Repository.Pos},
		{b.Password.Value, "password", "secret", b.Password.Pos},
	} {
		decl, ok := m.Parameters[p.name]
		switch {
		case !ok:
			v.diags.Add(p.pos, where, fmt.Sprintf("module %s has no parameter %q", m.Name, p.name),
				fix(diag.DidYouMean(p.name, sortedKeys(m.Parameters)), "name the parameter that holds the "+p.what))
		case p.typ != "" && decl.Type.Value != p.typ:
			v.diags.Add(p.pos, where, fmt.Sprintf("parameter %s.%s has type %s, not %s", m.Name, p.name, decl.Type.Value, p.typ),
				"the repository password must be a secret-typed parameter")
		}
	}
}
