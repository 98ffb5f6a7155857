package output

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

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
	tx, err := Begin(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := tx.Put(f); err != nil {
			tx.Abort()
			return nil, err
		}
	}
	return tx.Commit()
}

// Tx is a build being written. Files are put as they are rendered, from
// several goroutines at once, into a hidden tree beside dir; only their
// manifest lines stay in memory. Commit swaps the new tree in; Abort (or
// a kill) leaves the previous one as it was.
//
// A file whose bytes and mode are those the previous build's manifest
// gives it, and whose copy there still has that size and mode, is not
// written: Commit hard-links it from the previous tree — and when nothing
// at all changed, Commit touches nothing. Commit or Abort is called once,
// after the last Put has returned.
type Tx struct {
	dir, tmp string
	unlock   func()
	old      map[string]oldFile
	oldSum   [32]byte // the previous MANIFEST's sha256, to tell an unchanged build
	key      []byte   // the build's key, which the MANIFEST's secret-bearing lines are keyed by
	chmod    bool     // the umask may narrow a created file's mode

	mu      sync.Mutex
	entries []newFile
	put     map[string]bool // every path put; true when written into tmp
	linked  []string        // unchanged: to hard-link at Commit
	added   []string
	changed []string
	dirs    sync.Map // folders made in tmp
	done    bool
}

// newFile is a file put in the build: its manifest line, kept as small as
// it can be (a sum, not its hex text).
type newFile struct {
	path, origin, node string
	sum                [32]byte
	size               int64
	mode               fs.FileMode
	secret, keyed      bool
}

// manifest is the text of the MANIFEST listing files, sorted by path.
func manifest(files []newFile) []byte {
	n := len(manifestHeader)
	for _, f := range files {
		n += lineSize(f.path, f.origin, f.node)
	}
	b := make([]byte, 0, n)
	b = append(b, manifestHeader...)
	for _, f := range files {
		b = hex.AppendEncode(b, f.sum[:])
		b = appendLine(b, f.size, f.mode, f.path, f.origin, f.node, f.secret, f.keyed)
	}
	return b
}

// oldFile is what a build needs to know of a file of the previous one,
// kept small: there are 100,000 of them at 10,000 nodes.
type oldFile struct {
	sum   [32]byte
	size  int64
	mode  fs.FileMode
	keyed bool
}

// BeginKeyed is Begin with the key the MANIFEST lists secret-bearing files
// by (see KeyName) given, e.g. derived from the site's secrets so that the
// same input writes the same MANIFEST; nil: the build's own key, or a new
// random one.
func BeginKeyed(dir string, key []byte) (*Tx, error) {
	tx, err := Begin(dir)
	if err == nil && key != nil {
		tx.key = key
	}
	return tx, err
}

// Begin starts writing a build of dir. It takes the folder's lock until
// Commit or Abort.
func Begin(dir string) (*Tx, error) {
	dir = filepath.Clean(dir)
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	old, ok, err := ReadManifest(dir)
	if err != nil {
		unlock()
		return nil, err
	}
	if !ok {
		unlock()
		return nil, fmt.Errorf("%s exists and is not a kiln build (it has no %s); choose another folder with -o, or empty this one", dir, render.ManifestName)
	}
	tx := &Tx{dir: dir, tmp: sibling(dir, "new"), unlock: unlock, old: make(map[string]oldFile, len(old)),
		chmod: umask() != 0o022, put: map[string]bool{}}
	if b, err := os.ReadFile(filepath.Join(dir, render.ManifestName)); err == nil {
		tx.oldSum = sha256.Sum256(b)
	}
	if tx.key, err = newKey(dir); err != nil {
		unlock()
		return nil, err
	}
	for _, e := range old {
		var o oldFile
		if _, err := hex.Decode(o.sum[:], []byte(e.SHA256)); err == nil {
			o.size, o.mode, o.keyed = e.Size, e.Mode.Perm(), e.Keyed
			tx.old[e.Path] = o
		}
	}
	if err := os.RemoveAll(tx.tmp); err != nil { // left by a killed build
		unlock()
		return nil, err
	}
	if err := os.MkdirAll(tx.tmp, 0o755); err != nil {
		unlock()
		return nil, err
	}
	tx.dirs.Store(tx.tmp, true)
	return tx, nil
}

// Put adds a file to the build. A second file at the same path is
// ignored: the renderer reports two artifacts writing one path, and such
// a build is never committed.
func (tx *Tx) Put(f render.File) error {
	sum := sha256.Sum256(f.Data)
	if f.Secret {
		sum = keyedSum(tx.key, f.Data)
	}
	e := newFile{path: f.Path, origin: f.Origin, node: f.Node, sum: sum, size: int64(len(f.Data)), mode: f.Mode, secret: f.Secret, keyed: f.Secret}
	tx.mu.Lock()
	if _, dup := tx.put[f.Path]; dup || tx.done {
		tx.mu.Unlock()
		return nil
	}
	tx.put[f.Path] = false
	tx.entries = append(tx.entries, e)
	o, had := tx.old[f.Path]
	tx.mu.Unlock()

	if had && o.sum == sum && o.keyed == e.keyed && o.mode == f.Mode.Perm() && tx.intact(f.Path, o) {
		tx.mu.Lock()
		tx.linked = append(tx.linked, f.Path)
		tx.mu.Unlock()
		return nil
	}
	dst := filepath.Join(tx.tmp, filepath.FromSlash(f.Path))
	if err := tx.mkdir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := writeFile(dst, f.Data, f.Mode, tx.chmod); err != nil {
		return err
	}
	tx.mu.Lock()
	tx.put[f.Path] = true
	if had {
		tx.changed = append(tx.changed, f.Path)
	} else {
		tx.added = append(tx.added, f.Path)
	}
	tx.mu.Unlock()
	return nil
}

var _ render.StreamSink = (*Tx)(nil)

// Create starts a file that the renderer writes as it goes (a large
// cluster-wide one): it is made 0600 in the new tree, hashed as it is
// written, and given its mode at Commit — so a secret it turns out to
// carry was never readable by others. A second file at the same path is
// swallowed, as Put does.
func (tx *Tx) Create(p string) (render.FileWriter, error) {
	tx.mu.Lock()
	if _, dup := tx.put[p]; dup || tx.done {
		tx.mu.Unlock()
		return discard{}, nil
	}
	tx.put[p] = false // taken; true once written
	tx.mu.Unlock()
	dst := filepath.Join(tx.tmp, filepath.FromSlash(p))
	if err := tx.mkdir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	fd, err := unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: dst, Err: err}
	}
	return &txFile{tx: tx, path: p, dst: dst, fd: fd, sum: sha256.New()}, nil
}

// txFile is a file of the build being written by the renderer.
type txFile struct {
	tx        *Tx
	path, dst string
	fd        int
	sum       hash.Hash
	size      int64
	err       error // the first write error, given again at Commit
}

func (w *txFile) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.sum.Write(b)
	w.size += int64(len(b))
	for rest := b; len(rest) > 0; {
		n, err := unix.Write(w.fd, rest)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			w.err = &os.PathError{Op: "write", Path: w.dst, Err: err}
			return len(b) - len(rest), w.err
		}
		rest = rest[n:]
	}
	return len(b), nil
}

func (w *txFile) Commit(f render.File) error {
	err := w.err
	if err == nil {
		err = unix.Fchmod(w.fd, uint32(f.Mode.Perm()))
	}
	if cerr := unix.Close(w.fd); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlink(w.dst)
		return &os.PathError{Op: "write", Path: w.dst, Err: err}
	}
	var sum [32]byte
	w.sum.Sum(sum[:0])
	tx := w.tx
	if f.Secret {
		// Rare (streamed files are the large cluster-wide ones): read it
		// back for its keyed sum rather than hash every stream twice.
		data, err := os.ReadFile(w.dst)
		if err != nil {
			unix.Unlink(w.dst)
			return err
		}
		sum = keyedSum(tx.key, data)
	}
	e := newFile{path: w.path, origin: f.Origin, node: f.Node, sum: sum, size: w.size, mode: f.Mode, secret: f.Secret, keyed: f.Secret}
	o, had := tx.old[w.path]
	unchanged := had && o.sum == sum && o.keyed == e.keyed && o.mode == f.Mode.Perm() && tx.intact(w.path, o)
	if unchanged { // keep the previous file (and its inode), as Put does
		unix.Unlink(w.dst)
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.entries = append(tx.entries, e)
	switch {
	case unchanged:
		tx.linked = append(tx.linked, w.path)
	case had:
		tx.put[w.path] = true
		tx.changed = append(tx.changed, w.path)
	default:
		tx.put[w.path] = true
		tx.added = append(tx.added, w.path)
	}
	return nil
}

func (w *txFile) Abort() {
	unix.Close(w.fd)
	unix.Unlink(w.dst)
	w.tx.mu.Lock()
	delete(w.tx.put, w.path)
	w.tx.mu.Unlock()
}

// discard stands for a second file at a path already taken.
type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) Commit(render.File) error    { return nil }
func (discard) Abort()                      {}

// intact reports whether the previous build's copy of a file still has
// the size and mode its manifest gives. Like the unchanged-build check
// below, it trusts size and mode: a hand edit that keeps a file's size is
// not noticed here (output.Verify and kiln drill compare contents).
func (tx *Tx) intact(p string, o oldFile) bool {
	var st unix.Stat_t
	err := unix.Lstat(filepath.Join(tx.dir, filepath.FromSlash(p)), &st)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == o.size && fs.FileMode(st.Mode&0o777) == o.mode
}

// Read returns a file put earlier: from the new tree, or for a file that
// did not change, from the previous one.
func (tx *Tx) Read(p string) ([]byte, error) {
	tx.mu.Lock()
	written, ok := tx.put[p]
	tx.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("the build has no file %s", p)
	}
	from := tx.dir
	if written {
		from = tx.tmp
	}
	return os.ReadFile(filepath.Join(from, filepath.FromSlash(p)))
}

func (tx *Tx) mkdir(d string) error {
	if _, ok := tx.dirs.Load(d); ok {
		return nil
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	tx.dirs.Store(d, true)
	return nil
}

// Abort throws the new tree away and leaves the previous build as it was.
func (tx *Tx) Abort() {
	tx.mu.Lock()
	done := tx.done
	tx.done = true
	tx.mu.Unlock()
	if !done {
		removeAll(tx.tmp)
		tx.unlock()
	}
}

// Commit writes the manifest and swaps the new tree in, or, when the build
// is exactly the previous one, leaves everything as it is.
func (tx *Tx) Commit() (*Result, error) {
	tx.mu.Lock()
	if tx.done {
		tx.mu.Unlock()
		return nil, fmt.Errorf("the build of %s was already committed or aborted", tx.dir)
	}
	tx.done = true
	tx.mu.Unlock()
	defer tx.unlock()
	fail := func(err error) (*Result, error) {
		removeAll(tx.tmp)
		return nil, err
	}

	man := tx.entries
	sort.Slice(man, func(i, j int) bool { return man[i].path < man[j].path })
	res := &Result{Added: tx.added, Changed: tx.changed, Unchanged: tx.linked}
	for p := range tx.old {
		if _, ok := tx.put[p]; !ok {
			res.Removed = append(res.Removed, p)
		}
	}
	for _, l := range [][]string{res.Added, res.Changed, res.Removed, res.Unchanged} {
		sort.Strings(l)
	}
	text := manifest(man)
	if len(res.Added)+len(res.Changed)+len(res.Removed) == 0 && sha256.Sum256(text) == tx.oldSum {
		removeAll(tx.tmp)
		return res, nil
	}
	if err := tx.link(); err != nil {
		return fail(err)
	}
	if err := writeFile(filepath.Join(tx.tmp, KeyName), []byte(hex.EncodeToString(tx.key)+"\n"), 0o600, tx.chmod); err != nil {
		return fail(err)
	}
	if err := writeFile(filepath.Join(tx.tmp, render.ManifestName), text, 0o644, tx.chmod); err != nil {
		return fail(err)
	}
	if err := swap(tx.tmp, tx.dir); err != nil {
		return fail(err)
	}
	return res, nil
}

// link hard-links the unchanged files from the previous tree into the new
// one, on all cores.
func (tx *Tx) link() error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan string, 64)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				dst := filepath.Join(tx.tmp, filepath.FromSlash(p))
				err := tx.mkdir(filepath.Dir(dst))
				if err == nil {
					err = unix.Link(filepath.Join(tx.dir, filepath.FromSlash(p)), dst)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s of the previous build changed while building (%v): build again", p, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range tx.linked {
		next <- p
	}
	close(next)
	wg.Wait()
	return first
}

// writeFile creates a file with its final mode from the start, so that a
// secret is never readable by others even for a moment. It uses the
// system calls directly: a build writes 100,000 files, and os.File's
// bookkeeping (the poller, the finalizer) cost more than the writes.
func writeFile(p string, data []byte, mode os.FileMode, chmod bool) error {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return &os.PathError{Op: "create", Path: p, Err: err}
	}
	for len(data) > 0 && err == nil {
		var n int
		n, err = unix.Write(fd, data)
		switch {
		case err == unix.EINTR:
			err = nil
		case err == nil:
			data = data[n:]
		}
	}
	if err == nil && chmod { // the umask may have narrowed it
		err = unix.Fchmod(fd, uint32(mode.Perm()))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: p, Err: err}
	}
	return nil
}

// umask is the process's file mode mask, read from /proc (asking the
// kernel with umask(2) would change it for a moment, for every goroutine).
// When it is 022 no file kiln writes needs a chmod: its modes (0644, 0755,
// 0600) have none of those bits. Any other answer, or none, means chmod.
func umask() os.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return os.FileMode(m)
			}
		}
	}
	return 0o777
}

// removeAll removes a tree, its top-level entries on all cores (an old
// build has 100,000 files).
func removeAll(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	var wg sync.WaitGroup
	next := make(chan string)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				os.RemoveAll(p)
			}
		}()
	}
	for _, e := range entries {
		next <- filepath.Join(dir, e.Name())
	}
	close(next)
	wg.Wait()
	return os.RemoveAll(dir)
}

// swap puts the new tree in place of dir in one step and removes the old.
func swap(tmp, dir string) error {
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return os.Rename(tmp, dir)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	if err == nil {
		return removeAll(tmp) // now the old tree
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
	return removeAll(old)
}

// lock keeps two builds of the same folder from running at once. The lock
// is released by the kernel if the process dies, and its file (.DIR.kiln-lock
// beside dir) is removed when the build ends, failed or not. A build that
// opened the file just before another removed it finds, once it holds the
// lock, that the path no longer names its file, and takes it again.
func lock(dir string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	p := sibling(dir, "lock")
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			return nil, fmt.Errorf("another kiln build of %s is running; wait for it to finish", dir)
		}
		held, err1 := f.Stat()
		named, err2 := os.Stat(p)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			return func() {
				os.Remove(p) // still holding the lock: no one else has this file
				f.Close()
			}, nil
		}
		f.Close() // removed by the build that held it: take the new one
	}
}

// sibling names a hidden working file beside dir, e.g. .build.kiln-new for
// the tree being written; it is on the same file system, so renames are
// atomic.
func sibling(dir, what string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".kiln-"+what)
}
