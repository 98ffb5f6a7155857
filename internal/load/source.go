package load

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Layer is one folder of definition files: the embedded design, a design
// folder named by the site, or the site folder itself. Later layers shadow
// earlier ones file by file.
type Layer struct {
	FS      fs.FS
	Display string // how paths in this layer are shown in messages, e.g. "demo/" or "(embedded tier3)/"
}

// Sources is a stack of layers.
type Sources []Layer

// File is a definition file found in some layer.
type File struct {
	Rel     string // path relative to its layer, with forward slashes
	Display string // path as shown to the user
	Data    []byte
	Layer   int // index of the layer it came from
}

// Read returns the topmost layer's copy of rel, or ok=false.
func (s Sources) Read(rel string) (File, bool, error) {
	for i := len(s) - 1; i >= 0; i-- {
		data, err := fs.ReadFile(s[i].FS, rel)
		if err == nil {
			return File{Rel: rel, Display: s[i].Display + rel, Data: data, Layer: i}, true, nil
		}
		if !isNotExist(err) {
			return File{}, false, err
		}
	}
	return File{}, false, nil
}

// Glob lists the files matching pattern in any layer, each once (the
// topmost copy), sorted by path.
func (s Sources) Glob(pattern string) ([]File, error) {
	seen := map[string]bool{}
	var names []string
	for _, l := range s {
		m, err := fs.Glob(l.FS, pattern)
		if err != nil {
			return nil, err
		}
		for _, n := range m {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	out := make([]File, 0, len(names))
	for _, n := range names {
		f, ok, err := s.Read(n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// Walk lists every regular file under dir in any layer, topmost copy, sorted.
func (s Sources) Walk(dir string) ([]File, error) {
	seen := map[string]bool{}
	var names []string
	for _, l := range s {
		err := fs.WalkDir(l.FS, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if isNotExist(err) && p == dir {
					return fs.SkipDir
				}
				return err
			}
			if d.Type().IsRegular() && !seen[p] && !strings.HasPrefix(path.Base(p), ".") {
				seen[p] = true
				names = append(names, p)
			}
			return nil
		})
		if err != nil && !isNotExist(err) {
			return nil, err
		}
	}
	sort.Strings(names)
	out := make([]File, 0, len(names))
	for _, n := range names {
		f, ok, err := s.Read(n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

func isNotExist(err error) bool {
	return err != nil && (errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "not a directory"))
}
