package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/output"
)

// kiln build streams each file into the new tree as it is rendered; the
// tree it writes is the in-memory build, file for file, mode for mode.
func TestStreamedBuildEqualsTheRenderedFiles(t *testing.T) {
	for _, src := range []Source{{Example: "tier3"}, {Dir: "testdata/slurm"}} {
		files := build(t, src)
		s, err := Resolve(src)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "build")
		n, res, err := s.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(files) || len(res.Added) != len(files) {
			t.Errorf("%v: wrote %d files (%d added), the build has %d", src, n, len(res.Added), len(files))
		}
		if got, want := mustRead(t, filepath.Join(dir, "MANIFEST")), output.Entries(files).Bytes(); !bytes.Equal(got, want) {
			t.Errorf("%v: the streamed build's MANIFEST differs from the rendered files'", src)
		}
		for _, f := range files {
			st, err := os.Stat(filepath.Join(dir, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustRead(t, filepath.Join(dir, f.Path)), f.Data) || st.Mode().Perm() != f.Mode.Perm() {
				t.Errorf("%v: %s on disk (%v) is not the rendered file (%v)", src, f.Path, st.Mode().Perm(), f.Mode.Perm())
			}
		}
		// Built again, nothing changes and nothing is written.
		if _, res, err := s.Write(dir); err != nil || len(res.Unchanged) != len(files) {
			t.Errorf("%v: a second build: %v, %d of %d unchanged", src, err, len(res.Unchanged), len(files))
		}
	}
}

// A template that fails for one node, after other files have gone into
// the new tree, leaves the previous build as it was and nothing beside it.
func TestABuildThatFailsMidwayLeavesThePreviousOne(t *testing.T) {
	site := t.TempDir()
	if err := os.CopyFS(site, os.DirFS("testdata/slurm")); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(Source{Dir: site})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "build")
	if _, _, err := s.Write(out); err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, filepath.Join(out, "MANIFEST"))

	// gres.conf is rendered per GPU node; make it fail for the last one.
	tmpl := filepath.Join(site, "templates", "gres.conf.tmpl")
	broken := `{{ if eq .Node.Name "` + lastGPU(t, s) + `" }}{{ .Node.NoSuchField }}{{ end }}` + string(mustRead(t, tmpl))
	if err := os.WriteFile(tmpl, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Resolve(Source{Dir: site})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Write(out)
	if err == nil || !strings.Contains(err.Error(), "NoSuchField") {
		t.Fatalf("a broken template built: %v", err)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(out, "MANIFEST")), before) {
		t.Error("the failed build changed the previous MANIFEST")
	}
	if problems, err := output.Verify(out); err != nil || len(problems) > 0 {
		t.Errorf("the previous build does not verify after a failed one: %v %v", problems, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".build.kiln-new*"))
	if len(left) > 0 {
		t.Errorf("the failed build left %v", left)
	}
}

func lastGPU(t *testing.T, s *Site) string {
	t.Helper()
	nodes := s.Cluster.NodesOf("gpu")
	if len(nodes) == 0 {
		t.Fatal("the Slurm fixture has no gpu node")
	}
	return nodes[len(nodes)-1].Name
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
