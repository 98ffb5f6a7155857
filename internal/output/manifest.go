// Package output writes a build to disk atomically and keeps its manifest.
//
// Each file of a build is written, as soon as it is rendered (see Tx), into
// a fresh folder beside the target, which is swapped in with one rename
// (Linux's RENAME_EXCHANGE where the target exists), so a build that fails
// or is killed leaves the previous tree whole, and a large build is never
// held in memory. Files whose bytes did not change are hard-linked from
// the previous tree instead of rewritten, so a one-node change writes a few
// files at any cluster size, and their timestamps stay put; a build that
// changes nothing touches nothing.
package output

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"kiln.dev/kiln/internal/render"
)

// Entry is one line of a manifest.
type Entry struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
	Mode   fs.FileMode `json:"mode"`
	Origin string      `json:"origin"`
	// Node is the node a node-scoped file belongs to, and Secret marks a
	// file that carries a secret: kiln serve gives such a file to its own
	// node only (and never one that belongs to no node).
	Node   string `json:"node,omitempty"`
	Secret bool   `json:"secret,omitempty"`
	// Keyed: SHA256 holds the HMAC-SHA256 of the file keyed by the build's
	// own key (KeyName), as the MANIFEST of a build lists a file that
	// carries a secret (see ReadManifest and ParseManifest).
	Keyed bool `json:"keyed,omitempty"`
}

// Manifest lists the files of a build, sorted by path.
type Manifest []Entry

const manifestHeader = "# kiln build manifest: sha256 size mode path origin [node=NAME] [secret] [keyed]\n"

// Entries computes the manifest of rendered files, every sum a sha256 (in
// memory; a build's MANIFEST on disk keys the secret-bearing ones, see
// EntriesKeyed).
func Entries(files []render.File) Manifest {
	m := make(Manifest, len(files))
	for i, f := range files {
		m[i] = entryOf(f)
	}
	sort.Slice(m, func(i, j int) bool { return m[i].Path < m[j].Path })
	return m
}

func entryOf(f render.File) Entry {
	return entry(f, sha256.Sum256(f.Data))
}

// EntriesKeyed is the manifest a build with this key writes: a file that
// carries a secret is listed by its HMAC-SHA256 with the key.
func EntriesKeyed(files []render.File, key []byte) Manifest {
	m := Entries(files)
	by := make(map[string][]byte, len(files))
	for _, f := range files {
		if f.Secret {
			by[f.Path] = f.Data
		}
	}
	for i, e := range m {
		if data, ok := by[e.Path]; ok {
			s := keyedSum(key, data)
			m[i].SHA256, m[i].Keyed = hex.EncodeToString(s[:]), true
		}
	}
	return m
}

func entry(f render.File, sum [32]byte) Entry {
	return Entry{Path: f.Path, Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:]), Mode: f.Mode, Origin: f.Origin, Node: f.Node, Secret: f.Secret}
}

// Bytes is the manifest's text form.
func (m Manifest) Bytes() []byte {
	n := len(manifestHeader)
	for _, e := range m {
		n += lineSize(e.Path, e.Origin, e.Node)
	}
	// Sized once: at 100,000 files the manifest is 16 MB, and growing it
	// by doubling would make as much again of garbage.
	b := make([]byte, 0, n)
	b = append(b, manifestHeader...)
	for _, e := range m {
		b = append(b, e.SHA256...)
		b = appendLine(b, e.Size, e.Mode, e.Path, e.Origin, e.Node, e.Secret, e.Keyed)
	}
	return b
}

// lineSize is at least the length of a manifest line.
func lineSize(path, origin, node string) int {
	return 64 + len(path) + len(origin) + len(node) + 48
}

// appendLine appends a manifest line after its sha256.
func appendLine(b []byte, size int64, mode fs.FileMode, path, origin, node string, secret, keyed bool) []byte {
	b = append(b, "  "...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, "  "...)
	b = appendMode(b, mode)
	b = append(b, "  "...)
	b = append(b, path...)
	b = append(b, "  "...)
	b = append(b, origin...)
	// Owner and secrecy go in an optional sixth column, so that
	// manifests written before it existed still read.
	sep := "  "
	if node != "" {
		b = append(b, sep+"node="...)
		b = append(b, node...)
		sep = " "
	}
	if secret {
		b = append(b, sep+"secret"...)
		sep = " "
	}
	if keyed {
		b = append(b, sep+"keyed"...)
	}
	return append(b, '\n')
}

// appendMode appends a mode as four octal digits (0644).
func appendMode(b []byte, m fs.FileMode) []byte {
	p := uint32(m.Perm())
	return append(b, byte('0'+p>>9&7), byte('0'+p>>6&7), byte('0'+p>>3&7), byte('0'+p&7))
}

func (m Manifest) ByPath() map[string]Entry {
	out := make(map[string]Entry, len(m))
	for _, e := range m {
		out[e.Path] = e
	}
	return out
}

// ReadManifest reads the manifest of the build in dir as it is written: a
// keyed entry holds the HMAC (compare with SameContent). A dir that does
// not exist has an empty manifest; ok is false when dir exists but is not
// a kiln build.
func ReadManifest(dir string) (m Manifest, ok bool, err error) {
	f, err := os.Open(filepath.Join(dir, render.ManifestName))
	if err != nil {
		if os.IsNotExist(err) {
			if _, serr := os.Stat(dir); os.IsNotExist(serr) {
				return nil, true, nil
			}
			return nil, false, nil
		}
		return nil, false, err
	}
	defer f.Close()
	m, err = parseManifest(f, filepath.Join(dir, render.ManifestName))
	return m, true, err
}

// ParseManifest reads a manifest's text; name is the file named in errors,
// the MANIFEST of a build folder. A keyed entry (a file carrying a secret)
// comes back with its sha256, as an older MANIFEST listed it, so that a
// reader that checks each file against its sha256 (kiln serve) reads
// either the same way: each such file is read from name's folder and
// checked against its HMAC with the build's key; one that does not match,
// or without a key, gets an empty sum, which no file has.
func ParseManifest(r io.Reader, name string) (Manifest, error) {
	m, err := parseManifest(r, name)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	var key []byte
	for i, e := range m {
		if !e.Keyed {
			continue
		}
		if key == nil {
			key = ReadKey(dir)
		}
		m[i].SHA256 = ""
		if !fs.ValidPath(e.Path) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err == nil && SameContent(key, e, data) {
			s := sha256.Sum256(data)
			m[i].SHA256 = hex.EncodeToString(s[:])
		}
	}
	return m, nil
}

func parseManifest(r io.Reader, name string) (Manifest, error) {
	var m Manifest
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.HasPrefix(t, "#") || t == "" {
			continue
		}
		parts := strings.SplitN(t, "  ", 6)
		if len(parts) < 5 {
			return nil, fmt.Errorf("%s:%d: this manifest line is damaged", name, line)
		}
		size, err1 := strconv.ParseInt(parts[1], 10, 64)
		mode, err2 := strconv.ParseUint(parts[2], 8, 32)
		if err1 != nil || err2 != nil || len(parts[0]) != 64 {
			return nil, fmt.Errorf("%s:%d: this manifest line is damaged", name, line)
		}
		e := Entry{SHA256: parts[0], Size: size, Mode: fs.FileMode(mode), Path: parts[3], Origin: parts[4]}
		if len(parts) == 6 {
			for _, f := range strings.Fields(parts[5]) {
				switch {
				case f == "secret":
					e.Secret = true
				case f == "keyed":
					e.Keyed = true
				case strings.HasPrefix(f, "node=") && len(f) > len("node="):
					e.Node = f[len("node="):]
				default:
					return nil, fmt.Errorf("%s:%d: unknown manifest flag %q (written by a newer kiln?)", name, line, f)
				}
			}
		}
		m = append(m, e)
	}
	return m, sc.Err()
}

// Verify checks every file of the build in dir against its manifest and
// that no other file is there. It returns one line per problem.
func Verify(dir string) ([]string, error) {
	m, ok, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s is not a kiln build (it has no %s)", dir, render.ManifestName)
	}
	var problems []string
	want := m.ByPath()
	key := ReadKey(dir)
	for _, e := range m {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: missing", e.Path))
			continue
		}
		if !SameContent(key, e, data) {
			problems = append(problems, fmt.Sprintf("%s: contents differ from the manifest", e.Path))
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if _, ok := want[rel]; !ok && rel != render.ManifestName && rel != KeyName {
			problems = append(problems, fmt.Sprintf("%s: not in the manifest", rel))
		}
		return nil
	})
	return problems, err
}
