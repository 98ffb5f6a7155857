// Package output writes a build to disk atomically and keeps its manifest.
//
// A build is rendered in full in memory, written into a fresh folder beside
// the target, and swapped in with one rename (Linux's RENAME_EXCHANGE where
// the target exists), so a build that fails or is killed leaves the
// previous tree whole. Files whose bytes did not change are hard-linked
// from the previous tree instead of rewritten, so a one-node change costs a
// few writes at any cluster size, and their timestamps stay put.
package output

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
}

// Manifest lists the files of a build, sorted by path.
type Manifest []Entry

const manifestHeader = "# kiln build manifest: sha256 size mode path origin\n"

// Entries computes the manifest of rendered files.
func Entries(files []render.File) Manifest {
	m := make(Manifest, len(files))
	for i, f := range files {
		m[i] = entryOf(f)
	}
	sort.Slice(m, func(i, j int) bool { return m[i].Path < m[j].Path })
	return m
}

func entryOf(f render.File) Entry {
	sum := sha256.Sum256(f.Data)
	return Entry{Path: f.Path, Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:]), Mode: f.Mode, Origin: f.Origin}
}

// Bytes is the manifest's text form.
func (m Manifest) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(manifestHeader)
	for _, e := range m {
		fmt.Fprintf(&b, "%s  %d  %04o  %s  %s\n", e.SHA256, e.Size, e.Mode.Perm(), e.Path, e.Origin)
	}
	return b.Bytes()
}

// ByPath indexes the manifest.
func (m Manifest) ByPath() map[string]Entry {
	out := make(map[string]Entry, len(m))
	for _, e := range m {
		out[e.Path] = e
	}
	return out
}

// ReadManifest reads the manifest of the build in dir. A dir that does not
// exist has an empty manifest; ok is false when dir exists but is not a
// kiln build.
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
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.HasPrefix(t, "#") || t == "" {
			continue
		}
		parts := strings.SplitN(t, "  ", 5)
		if len(parts) != 5 {
			return nil, true, fmt.Errorf("%s:%d: this manifest line is damaged", filepath.Join(dir, render.ManifestName), line)
		}
		size, err1 := strconv.ParseInt(parts[1], 10, 64)
		mode, err2 := strconv.ParseUint(parts[2], 8, 32)
		if err1 != nil || err2 != nil || len(parts[0]) != 64 {
			return nil, true, fmt.Errorf("%s:%d: this manifest line is damaged", filepath.Join(dir, render.ManifestName), line)
		}
		m = append(m, Entry{SHA256: parts[0], Size: size, Mode: fs.FileMode(mode), Path: parts[3], Origin: parts[4]})
	}
	return m, true, sc.Err()
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
	for _, e := range m {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: missing", e.Path))
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			problems = append(problems, fmt.Sprintf("%s: contents differ from the manifest", e.Path))
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if _, ok := want[rel]; !ok && rel != render.ManifestName {
			problems = append(problems, fmt.Sprintf("%s: not in the manifest", rel))
		}
		return nil
	})
	return problems, err
}
