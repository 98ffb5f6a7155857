// Package pipeline runs Kiln's stages in order — load, validate, resolve,
// render — and gathers their diagnostics, so that every command (and the
// server) sees one site the same way.
package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/output"
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
	// Warnings are what the stages found that does not stop a build but
	// is probably not what was meant (kiln check prints them).
	Warnings []diag.Diagnostic
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
	all.Append(hostKeyWarnings(d, c))
	if all.Err() == nil {
		// The design's own checks see the resolved cluster.
		all.Append(render.Checks(d, c))
	} else {
		// Nothing is rendered from definitions that do not resolve, but
		// a template that does not parse, or names what the definitions
		// lack, is reported with the rest (check and build render, and
		// report these, when all else is well).
		all.Append(render.Parse(d))
	}
	all = withoutFollowOns(all)
	s := &Site{Defs: d, Cluster: c, Warnings: all.Warnings()}
	if err := all.Err(); err != nil {
		return s, err
	}
	return s, nil
}

// Check runs every stage of a build short of writing: every artifact is
// rendered for every node as kiln build renders it (render.Check), its path
// checked, and the bytes thrown away. A site Check passes builds, but for
// the disk.
func (s *Site) Check() error {
	return render.Check(s.Defs, s.Cluster).Err()
}

// Render renders every artifact of a resolved site.
func (s *Site) Render() ([]render.File, error) {
	files, diags := render.Build(s.Defs, s.Cluster)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return files, nil
}

// Write renders every artifact straight into the build folder dir, each
// file written as soon as it is rendered (see output.Tx), so that a large
// build is never held in memory whole. It returns how many files the build
// has and what changed. A template problem is a *diag.Error and leaves the
// previous build as it was.
func (s *Site) Write(dir string) (int, *output.Result, error) {
	tx, err := output.BeginKeyed(dir, manifestKey(s.Defs))
	if err != nil {
		return 0, nil, err
	}
	files, diags := render.Stream(s.Defs, s.Cluster, tx)
	if err := diags.Err(); err != nil {
		tx.Abort()
		return 0, nil, err
	}
	if err := tx.Put(s.NodesSummary()); err != nil {
		tx.Abort()
		return 0, nil, err
	}
	res, err := tx.Commit()
	if err != nil {
		return 0, nil, err
	}
	return len(files) + 1, res, nil // and NodesFile
}

// manifestKey is the key a build's MANIFEST lists secret-bearing files by
// (see output.KeyName), derived from the site's secrets: the same input
// builds the same MANIFEST, and no one without the secrets can compute it.
// nil when the site has no secret to derive it from.
func manifestKey(d *load.Definitions) []byte {
	if d == nil || d.Site == nil || d.SiteFS == nil || len(d.Site.Secrets) == 0 {
		return nil
	}
	names := make([]string, 0, len(d.Site.Secrets))
	for n := range d.Site.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	m := hmac.New(sha256.New, []byte("kiln build MANIFEST key, v1"))
	read := 0
	for _, n := range names {
		ref := d.Site.Secrets[n]
		if ref == nil {
			continue
		}
		data, err := fs.ReadFile(d.SiteFS, path.Clean(ref.File.Value))
		if err != nil {
			continue
		}
		read++
		fmt.Fprintf(m, "%d:%s%d:", len(n), n, len(data))
		m.Write(data)
	}
	if read == 0 {
		return nil
	}
	return m.Sum(nil)
}
