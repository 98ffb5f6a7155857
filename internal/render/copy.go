package render

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// copyTrees returns the files of the copy artifacts: every file under the
// artifact's folder, in any layer (the site folder shadows the design file
// by file), written verbatim under the artifact's path. Puppet modules, say,
// ship this way: their own templates and manifests are not kiln templates.
// A catalog module's copy artifact is written when some node runs it.
func copyTrees(d *load.Definitions, c *model.Cluster, arts []*artifact, diags *diag.List) []File {
	var out []File
	for _, a := range arts {
		src := a.decl.Copy.Value
		if src == "" || a.module != "" && len(c.NodesWith(a.module)) == 0 {
			continue
		}
		files, err := CopySources(d, src)
		if err != nil {
			diags.Add(a.decl.Copy.Pos, "artifact copy "+src, "cannot read the folder: "+err.Error(), "check the folder's permissions")
			continue
		}
		dest := a.decl.Path.Value
		if clean := path.Clean(dest); clean != dest || !fs.ValidPath(dest) || dest == "." {
			diags.Add(a.decl.Path.Pos, "artifact copy "+src, fmt.Sprintf("the output path %q is not a plain relative folder inside the build folder", dest),
				"use a relative path without .., leading / or doubled slashes")
			continue
		}
		for _, f := range files {
			out = append(out, File{
				Path:   dest + "/" + strings.TrimPrefix(f.Rel, src+"/"),
				Data:   f.Data,
				Mode:   0o644,
				Origin: f.Rel,
				Doc:    a.decl.Doc,
				Copied: true,
				decl:   a.decl.Path.Pos,
			})
		}
	}
	return out
}

// CopySources lists the files a copy artifact of folder src copies, the
// topmost layer's copy of each, sorted by path.
func CopySources(d *load.Definitions, src string) ([]load.File, error) {
	src = path.Clean(src)
	if !fs.ValidPath(src) || src == "." {
		return nil, fmt.Errorf("%q is not a folder inside the design", src)
	}
	return d.Sources.Walk(src)
}
