package load

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
)

// MaxFileSize bounds a definition file (site.yaml, design.yaml, a role, a
// module, a template): one larger is refused, named, before it is read.
// The largest real ones are a few tens of KiB; a site.yaml of 10,000 nodes
// written out one by one is about 1 MiB.
const MaxFileSize = 16 << 20

// ErrTooLarge is the error of a file over MaxFileSize.
var ErrTooLarge = fmt.Errorf("it is larger than the %d MiB a definition file may be", MaxFileSize>>20)

var (
	errIsDir      = errors.New("it is a folder, not a file")
	errNotRegular = errors.New("it is not a regular file (a device, a socket or a pipe)")
)

// ReadFile reads rel from fsys as a definition file: a regular file of at
// most MaxFileSize bytes, its size checked before anything is read.
func ReadFile(fsys fs.FS, rel string) ([]byte, error) {
	f, err := fsys.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		return nil, &fs.PathError{Op: "read", Path: rel, Err: errIsDir}
	case !st.Mode().IsRegular():
		return nil, &fs.PathError{Op: "read", Path: rel, Err: errNotRegular}
	case st.Size() > MaxFileSize:
		return nil, &fs.PathError{Op: "read", Path: rel, Err: ErrTooLarge}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: ErrTooLarge}
	}
	return data, nil
}

// FileError is a definition file that exists but cannot be read.
type FileError struct {
	Display string // the file as shown to the user
	Err     error
	Folder  bool // a folder that could not be listed
}

// Why says in words why the file cannot be read.
func (e FileError) Why() string { return Friendly(e.Err) }

// Friendly says why a file cannot be read, without the path the message
// names already.
func Friendly(err error) string {
	switch {
	case errors.Is(err, syscall.ELOOP):
		return "it is a symbolic link that leads back to itself (or through too many links)"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: kiln cannot read it"
	case errors.Is(err, syscall.EISDIR):
		return errIsDir.Error()
	case errors.Is(err, fs.ErrNotExist):
		return "it does not exist (a symbolic link to a missing file?)"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

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
		data, err := ReadFile(s[i].FS, rel)
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

// GlobEach is Glob that reads on past a file it cannot read: the files
// read, and one FileError for each it could not (in the layer where
// reading failed), so that one broken file hides no other.
func (s Sources) GlobEach(pattern string) ([]File, []FileError) {
	seen := map[string]bool{}
	var names []string
	var bad []FileError
	top, _, _ := strings.Cut(pattern, "/")
	skip := map[int][]string{}
	for i, l := range s {
		// fs.Glob skips a folder it cannot list: say so.
		if _, err := fs.ReadDir(l.FS, top); err != nil && !isNotExist(err) {
			bad = append(bad, FileError{Display: l.Display + top, Err: err, Folder: true})
			skip[i] = []string{top + "/"}
			continue
		}
		m, _ := fs.Glob(l.FS, pattern) // only a malformed pattern fails
		for _, n := range m {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return s.readEach(names, bad, skip)
}

// WalkEach is Walk that reads on past a file or folder it cannot read, as
// GlobEach does.
func (s Sources) WalkEach(dir string) ([]File, []FileError) {
	seen := map[string]bool{}
	var names []string
	var bad []FileError
	skip := map[int][]string{}
	for i, l := range s {
		_ = fs.WalkDir(l.FS, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if isNotExist(err) {
					return nil
				}
				folder := d == nil || d.IsDir()
				bad = append(bad, FileError{Display: l.Display + p, Err: err, Folder: folder})
				if folder {
					skip[i] = append(skip[i], p+"/")
					return fs.SkipDir
				}
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				st, err := fs.Stat(l.FS, p)
				switch {
				case err != nil && !isNotExist(err):
					bad = append(bad, FileError{Display: l.Display + p, Err: err})
					skip[i] = append(skip[i], p+"/", p)
					return nil
				case err != nil || st.IsDir():
					return nil
				}
			}
			if (d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0) && !seen[p] && !strings.HasPrefix(path.Base(p), ".") {
				seen[p] = true
				names = append(names, p)
			}
			return nil
		})
	}
	sort.Strings(names)
	return s.readEach(names, bad, skip)
}

func (s Sources) readEach(names []string, bad []FileError, skip map[int][]string) ([]File, []FileError) {
	out := make([]File, 0, len(names))
	for _, n := range names {
		f, ok, err := s.read(n, skip)
		switch {
		case err != nil:
			bad = append(bad, FileError{Display: f.Display, Err: err})
		case ok:
			out = append(out, f)
		}
	}
	return out, bad
}

// read is Read, with the failing layer's name of the file on error.
// skip names, per layer, the folders already reported as unreadable.
func (s Sources) read(rel string, skip map[int][]string) (File, bool, error) {
next:
	for i := len(s) - 1; i >= 0; i-- {
		for _, p := range skip[i] {
			if rel == p || strings.HasPrefix(rel, p) && strings.HasSuffix(p, "/") {
				continue next // reported
			}
		}
		data, err := ReadFile(s[i].FS, rel)
		if err == nil {
			return File{Rel: rel, Display: s[i].Display + rel, Data: data, Layer: i}, true, nil
		}
		if !isNotExist(err) {
			return File{Rel: rel, Display: s[i].Display + rel, Layer: i}, false, err
		}
	}
	return File{}, false, nil
}
