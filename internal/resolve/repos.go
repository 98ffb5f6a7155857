package resolve

import (
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/yamlx"
)

// repositories keeps the design's repositories that exist for the site's
// dialect, in the order declared, with the site's overrides applied.
func (r *resolver) repositories() {
	os := r.c.OS
	for _, dr := range r.d.Design.Repositories {
		if !hasScalar(dr.Dialects, os) {
			continue
		}
		repo := &model.Repository{
			Name: dr.Name.Value, Doc: dr.Doc, InstallTree: dr.InstallTree,
			BaseURL: major(dr.BaseURL, os), MirrorList: major(dr.MirrorList, os),
			GPGKeys: majors(scalars(dr.GPGKey), os), Priority: dr.Priority, ModuleHotfixes: dr.ModuleHotfixes,
			Provides: scalars(dr.Provides), Requires: scalars(dr.Requires),
		}
		if repo.Priority == 0 {
			repo.Priority = 99
		}
		if o := r.d.Site.Repositories[repo.Name]; o != nil {
			up := *repo
			repo.Upstream = &up
			if o.BaseURL.Value != "" || o.MirrorList.Value != "" {
				repo.BaseURL = strings.ReplaceAll(o.BaseURL.Value, "{major}", Major(os))
				repo.MirrorList = strings.ReplaceAll(o.MirrorList.Value, "{major}", Major(os))
				repo.InstallTree = false
				repo.Mirrored = true
			}
			if len(o.GPGKey) > 0 {
				repo.GPGKeys = majors(scalars(o.GPGKey), os)
			}
		}
		r.c.Repositories = append(r.c.Repositories, repo)
	}
}

// Major is the major release of an OS dialect: 9 for el9.
func Major(os string) string {
	return strings.TrimLeft(os, "abcdefghijklmnopqrstuvwxyz")
}

func major(p defs.PerDialect, os string) string {
	s, _ := p.For(os)
	return strings.ReplaceAll(s.Value, "{major}", Major(os))
}

func majors(l []string, os string) []string {
	for i := range l {
		l[i] = strings.ReplaceAll(l[i], "{major}", Major(os))
	}
	return l
}

func scalars(l []yamlx.Scalar) []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.Value
	}
	return out
}

func hasScalar(l []yamlx.Scalar, v string) bool {
	for _, s := range l {
		if s.Value == v {
			return true
		}
	}
	return false
}
