package pipeline

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/render"
)

var update = flag.Bool("update", false, "rewrite the golden build trees under testdata/golden from the current output")

func build(t *testing.T, src Source) []render.File {
	t.Helper()
	s, err := Resolve(src)
	if err != nil {
		t.Fatalf("the site does not resolve:\n%v", err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatalf("the site does not render:\n%v", err)
	}
	return files
}

// golden compares a build with the tree under testdata/golden/name, file
// by file; with -update it rewrites the tree instead. Files copied verbatim
// from the design (Puppet modules) are left out: they are the sources
// themselves, and the Puppet tests check them.
func golden(t *testing.T, name string, all []render.File) {
	t.Helper()
	var files []render.File
	for _, f := range all {
		if !f.Copied {
			files = append(files, f)
		}
	}
	dir := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			want[filepath.ToSlash(rel)] = true
		}
		return err
	})
	if err != nil {
		t.Fatalf("no golden tree %s (run go test ./internal/pipeline -update): %v", dir, err)
	}
	for _, f := range files {
		g, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%s: new file, not in %s (run go test ./internal/pipeline -update if it is meant to be)", f.Path, dir)
			continue
		}
		delete(want, f.Path)
		if !bytes.Equal(g, f.Data) {
			t.Errorf("%s differs from the golden copy (run go test ./internal/pipeline -update if the change is meant):\n%s", f.Path, firstDiff(string(g), string(f.Data)))
		}
	}
	var gone []string
	for p := range want {
		gone = append(gone, p)
	}
	sort.Strings(gone)
	for _, p := range gone {
		t.Errorf("%s: in the golden tree but no longer built", p)
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "  line " + itoa(i+1) + ":\n    want: " + w + "\n    got:  " + g
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestExampleBuildMatchesGolden(t *testing.T) {
	golden(t, "tier3", build(t, Source{Example: "tier3"}))
}

// The genomics fixture is a third design unlike both (networks mgmt,
// storage, bmc; per-node module; zones per network; secrets in three
// formats); internal/designtest checks it with its readers and kiln serve.
func TestGenomicsDesignBuildsFromDataAlone(t *testing.T) {
	golden(t, "genomics", build(t, Source{Dir: "testdata/genomics"}))
}

// The Slurm fixture has its own design, roles, catalog and templates and
// shares nothing with tier3: it builds with no change to Go code.
func TestSlurmDesignBuildsFromDataAlone(t *testing.T) {
	files := build(t, Source{Dir: "testdata/slurm"})
	golden(t, "slurm", files)
	for _, f := range files {
		if strings.HasSuffix(f.Path, "munge.key") && (f.Mode.Perm() != 0o600 || !f.Secret) {
			t.Errorf("%s carries a secret but has mode %04o", f.Path, f.Mode.Perm())
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	for _, src := range []Source{{Example: "tier3"}, {Dir: "testdata/slurm"}} {
		first := build(t, src)
		// A different number of render workers must not change a byte.
		prev := runtime.GOMAXPROCS(1)
		second := build(t, src)
		runtime.GOMAXPROCS(prev)
		a, b := output.Entries(first).Bytes(), output.Entries(second).Bytes()
		if !bytes.Equal(a, b) {
			t.Errorf("two builds of %+v differ:\n%s", src, firstDiff(string(a), string(b)))
		}
	}
}

func TestTwoWrittenBuildsAreByteIdentical(t *testing.T) {
	tmp := t.TempDir()
	var trees [2]map[string][]byte
	for i := range trees {
		dir := filepath.Join(tmp, "build"+itoa(i))
		// As kiln build writes it: the MANIFEST's key is derived from the
		// site's secrets, so it too is the same.
		s, err := Resolve(Source{Example: "tier3"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Write(dir); err != nil {
			t.Fatal(err)
		}
		trees[i] = map[string][]byte{}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				trees[i][rel], _ = os.ReadFile(p)
			}
			return err
		})
	}
	if len(trees[0]) != len(trees[1]) {
		t.Fatalf("the builds have %d and %d files", len(trees[0]), len(trees[1]))
	}
	for p, data := range trees[0] {
		if !bytes.Equal(data, trees[1][p]) {
			t.Errorf("%s differs between two builds of the same input", p)
		}
	}
}

// No secret's value appears in a file that others may read: the files
// that carry one are 0600, and the rest carry none.
func TestNoSecretInAWorldReadableFile(t *testing.T) {
	for _, src := range []Source{{Example: "tier3"}, {Dir: "testdata/slurm"}} {
		s, err := Resolve(src)
		if err != nil {
			t.Fatal(err)
		}
		files, err := s.Render()
		if err != nil {
			t.Fatal(err)
		}
		for name, ref := range s.Defs.Site.Secrets {
			b, err := fs.ReadFile(s.Defs.SiteFS, ref.File.Value)
			if err != nil {
				t.Fatal(err)
			}
			v := strings.TrimSpace(string(b))
			for _, f := range files {
				if f.Mode.Perm()&0o077 != 0 && bytes.Contains(f.Data, []byte(v)) {
					t.Errorf("%s (mode %04o) contains the secret %s", f.Path, f.Mode.Perm(), name)
				}
			}
		}
	}
}
