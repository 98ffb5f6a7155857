// Package pipeline runs Kiln's stages in order — load, validate, resolve,
// render — and gathers their diagnostics, so that every command (and the
// server) sees one site the same way.
package pipeline

import (
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/validate"
)

// Source names a site: a folder, or an example embedded in the binary.
type Source struct {
	Dir     string
	Example string
}

// Site is a loaded and resolved site.
type Site struct {
	Defs    *load.Definitions
	Cluster *model.Cluster
}

// Resolve loads, validates and resolves a site. Every stage runs even when
// an earlier one found problems, so one run reports them all; the error is
// a *diag.Error listing every problem.
func Resolve(src Source) (*Site, error) {
	var d *load.Definitions
	var diags *diag.List
	if src.Example != "" {
		d, diags = load.Example(src.Example)
	} else {
		d, diags = load.Dir(src.Dir)
	}
	if d == nil {
		return nil, diags.Err()
	}
	all := &diag.List{}
	all.Append(diags)
	all.Append(validate.Definitions(d))
	c, rd := resolve.Cluster(d)
	all.Append(rd)
	if err := all.Err(); err != nil {
		return &Site{Defs: d, Cluster: c}, err
	}
	return &Site{Defs: d, Cluster: c}, nil
}

// Render renders every artifact of a resolved site.
func (s *Site) Render() ([]render.File, error) {
	files, diags := render.Build(s.Defs, s.Cluster)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return files, nil
}
