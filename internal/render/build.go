package render

import (
	"fmt"
	"io/fs"
	"path"
	"sort"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/model"
)

// BuildIndex is what an after_build artifact's template sees as .Build: the
// files of the build rendered before it, sorted by path. A runbook built
// from it names only files that exist, and grows as the design does.
type BuildIndex struct {
	Files []BuiltFile
	index map[string]int
	sink  Sink // where the files' bytes are
}

// BuiltFile is one file of the build, as an index of the build shows it.
type BuiltFile struct {
	Path     string
	Doc      string // what the file is for: its artifact's doc
	Template string // the template (or copied file) it came from
	Node     string // the node it belongs to, if any
	Mode     string // octal, e.g. 0755
	Secret   bool
	// The rest of the File, without its bytes (the sink has them). A
	// build keeps one of these a file, 100,000 at 10,000 nodes: small.
	origin string
	mode   fs.FileMode
	copied bool
	decl   diag.Pos // the artifact's path: line
	masks  []string // a secret file's secret values (File.Masks)
	opaque bool
}

// builtFile is f as the index of a build shows it, without f's bytes.
func builtFile(f File) BuiltFile {
	tmpl, _, _ := cutAt(f.Origin)
	return BuiltFile{Path: f.Path, Doc: f.Doc, Template: tmpl, Node: f.Node,
		Mode: modeText(f.Mode), Secret: f.Secret, origin: f.Origin, mode: f.Mode, copied: f.Copied, decl: f.decl, masks: f.Masks, opaque: f.Opaque}
}

// file is the File b describes, without its bytes.
func (b *BuiltFile) file() File {
	return File{Path: b.Path, Mode: b.mode, Secret: b.Secret, Origin: b.origin, Node: b.Node, Doc: b.Doc, Copied: b.copied, decl: b.decl, Masks: b.masks, Opaque: b.opaque}
}

// modeText is a mode in octal, one string per mode rather than per file.
func modeText(m fs.FileMode) string {
	switch m.Perm() {
	case 0o644:
		return "0644"
	case 0o755:
		return "0755"
	case 0o600:
		return "0600"
	}
	return fmt.Sprintf("%04o", m.Perm())
}

func sortFiles(files []BuiltFile) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
}

// FileGroup is the files one artifact made, for a table of the build.
type FileGroup struct {
	Doc    string
	Paths  []string
	Secret bool // some of the files carry a secret
}

func newBuild(files []BuiltFile, sink Sink) *BuildIndex {
	b := &BuildIndex{Files: files, index: make(map[string]int, len(files)), sink: sink}
	for i, f := range files {
		b.index[f.Path] = i
	}
	return b
}

// Has reports whether the build has a file at path.
func (b *BuildIndex) Has(p string) bool {
	_, ok := b.index[p]
	return ok
}

// File returns the file at path; it is an error to ask for one the build
// does not have, so a template cannot name a file that is not there.
func (b *BuildIndex) File(p string) (*BuiltFile, error) {
	i, ok := b.index[p]
	if !ok {
		return nil, fmt.Errorf("the build has no file %s", p)
	}
	return &b.Files[i], nil
}

// Glob lists the files whose path matches a path.Match pattern, by path.
func (b *BuildIndex) Glob(pattern string) ([]BuiltFile, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("bad pattern %q: %v", pattern, err)
	}
	var out []BuiltFile
	for _, f := range b.Files {
		if ok, _ := path.Match(pattern, f.Path); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// ForNode lists the files that belong to a node (rendered for it), by path.
func (b *BuildIndex) ForNode(name string) []BuiltFile {
	var out []BuiltFile
	for _, f := range b.Files {
		if f.Node == name {
			out = append(out, f)
		}
	}
	return out
}

// Text returns a file's content. A secret-bearing file is refused: what
// reads the build this way (a runbook) is world-readable.
func (b *BuildIndex) Text(p string) (string, error) {
	f, err := b.File(p)
	if err != nil {
		return "", err
	}
	if f.Secret {
		return "", fmt.Errorf("%s carries a secret; an index of the build may not include it", p)
	}
	data, err := b.sink.Read(p)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

// Groups gathers the files by what they are for (their artifact's doc),
// in the order of each group's first path.
func (b *BuildIndex) Groups() []FileGroup {
	var out []FileGroup
	at := map[string]int{}
	var count []int
	for _, f := range b.Files {
		i, ok := at[f.Doc]
		if !ok {
			i = len(out)
			at[f.Doc] = i
			out = append(out, FileGroup{Doc: f.Doc})
			count = append(count, 0)
		}
		count[i]++
		out[i].Secret = out[i].Secret || f.Secret
	}
	// Sized first: a group can hold every node's file (500,000 paths at
	// 50,000 nodes), and growing the lists would make that much garbage.
	for i := range out {
		out[i].Paths = make([]string, 0, count[i])
	}
	for _, f := range b.Files {
		i := at[f.Doc]
		out[i].Paths = append(out[i].Paths, f.Path)
	}
	return out
}

func cutAt(origin string) (before, after string, found bool) {
	for i := len(origin) - 1; i >= 0; i-- {
		if origin[i] == '@' {
			return origin[:i], origin[i+1:], true
		}
	}
	return origin, "", false
}

// renderLate renders the after_build artifacts one by one, in the order
// the design declares them: each sees the files before it, the earlier
// after_build ones included (a runbook's HTML form reads its Markdown).
func renderLate(late []*artifact, c *model.Cluster, files []BuiltFile, secrets *secretStore, sink Sink, diags *diag.List) []BuiltFile {
	for _, a := range late {
		jobs := expand(a, c)
		if len(jobs) == 0 {
			continue
		}
		// The index shares the list, capped at its length: the append
		// below makes a new one rather than writing under the index.
		b := newBuild(files[:len(files):len(files)], sink)
		for i := range jobs {
			jobs[i].data.Build = b
		}
		files = append(files, run(jobs, secrets, sink, diags)...)
		sortFiles(files)
	}
	return files
}
