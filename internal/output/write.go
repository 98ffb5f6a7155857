package output

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"kiln.dev/kiln/internal/render"
)

// Result says what a write changed.
type Result struct {
	Added, Changed, Removed, Unchanged []string
}

// Write replaces the build in dir with files. dir may not exist yet; if it
// exists it must be a kiln build (it has a MANIFEST), so that a mistyped -o
// never deletes someone's files.
func Write(dir string, files []render.File) (*Result, error) {
	dir = filepath.Clean(dir)
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	old, ok, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s exists and is not a kiln build (it has no %s); choose another folder with -o, or empty this one", dir, render.ManifestName)
	}
	if res, same := unchanged(dir, files); same {
		return res, nil
	}
	oldBy := old.ByPath()
	tmp := sibling(dir, "new")
	if err := os.RemoveAll(tmp); err != nil { // left by a killed build
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }

	res := &Result{}
	made := map[string]bool{}
	man := make(Manifest, 0, len(files))
	for _, f := range files {
		e := entryOf(f)
		man = append(man, e)
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if d := filepath.Dir(dst); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				cleanup()
				return nil, err
			}
			made[d] = true
		}
		if o, ok := oldBy[f.Path]; ok && o.SHA256 == e.SHA256 && o.Mode == e.Mode {
			src := filepath.Join(dir, filepath.FromSlash(f.Path))
			if st, err := os.Stat(src); err == nil && st.Size() == o.Size && st.Mode().Perm() == o.Mode.Perm() {
				if err := os.Link(src, dst); err == nil {
					res.Unchanged = append(res.Unchanged, f.Path)
					continue
				}
			}
		}
		if err := writeFile(dst, f.Data, f.Mode); err != nil {
			cleanup()
			return nil, err
		}
		if _, ok := oldBy[f.Path]; ok {
			res.Changed = append(res.Changed, f.Path)
		} else {
			res.Added = append(res.Added, f.Path)
		}
	}
	sort.Slice(man, func(i, j int) bool { return man[i].Path < man[j].Path })
	newBy := man.ByPath()
	for _, o := range old {
		if _, ok := newBy[o.Path]; !ok {
			res.Removed = append(res.Removed, o.Path)
		}
	}
	if err := writeFile(filepath.Join(tmp, render.ManifestName), man.Bytes(), 0o644); err != nil {
		cleanup()
		return nil, err
	}
	if err := swap(tmp, dir); err != nil {
		cleanup()
		return nil, err
	}
	return res, nil
}

// writeFile creates a file with its final mode from the start, so that a
// secret is never readable by others even for a moment.
func writeFile(p string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode.Perm()); err != nil { // the umask may have narrowed it
		f.Close()
		return err
	}
	return f.Close()
}

// swap puts the new tree in place of dir in one step and removes the old.
func swap(tmp, dir string) error {
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return os.Rename(tmp, dir)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	if err == nil {
		return os.RemoveAll(tmp) // now the old tree
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	// A file system without RENAME_EXCHANGE: two renames, with a moment in
	// between when dir is missing but the old tree is whole under .kiln-old.
	old := sibling(dir, "old")
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return err
	}
	return os.RemoveAll(old)
}

// lock keeps two builds of the same folder from running at once. The lock
// is released by the kernel if the process dies.
func lock(dir string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	p := sibling(dir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another kiln build of %s is running; wait for it to finish", dir)
	}
	return func() { f.Close() }, nil
}

// sibling names a hidden working file beside dir, e.g. .build.kiln-new for
// the tree being written; it is on the same file system, so renames are
// atomic.
func sibling(dir, what string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".kiln-"+what)
}

// unchanged reports whether the build in dir already is exactly files: the
// same manifest, and every file still there with its size and mode. Then
// there is nothing to write, and a rebuild of an unchanged site touches
// nothing (the common case when kiln build runs after every edit). Like
// the hard links of unchanged files below, it trusts size and mode: a hand
// edit that keeps a file's size is not noticed here (output.Verify and
// kiln drill compare contents).
func unchanged(dir string, files []render.File) (*Result, bool) {
	have, err := os.ReadFile(filepath.Join(dir, render.ManifestName))
	if err != nil {
		return nil, false
	}
	man := Entries(files)
	if !bytes.Equal(have, man.Bytes()) {
		return nil, false
	}
	res := &Result{Unchanged: make([]string, 0, len(man))}
	for _, e := range man {
		st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil || !st.Mode().IsRegular() || st.Size() != e.Size || st.Mode().Perm() != e.Mode.Perm() {
			return nil, false
		}
		res.Unchanged = append(res.Unchanged, e.Path)
	}
	os.RemoveAll(sibling(dir, "new")) // left by a killed build
	return res, true
}
