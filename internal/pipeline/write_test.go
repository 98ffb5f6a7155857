package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		files = append(files, s.NodesSummary()) // kiln's own, beside the artifacts
		dir := filepath.Join(t.TempDir(), "build")
		n, res, err := s.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(files) || len(res.Added) != len(files) {
			t.Errorf("%v: wrote %d files (%d added), the build has %d", src, n, len(res.Added), len(files))
		}
		if got, want := mustRead(t, filepath.Join(dir, "MANIFEST")), output.EntriesKeyed(files, output.ReadKey(dir)).Bytes(); !bytes.Equal(got, want) {
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

// After a change to one node, the files that did not change — cluster-wide
// ones written straight into the tree included — are the previous ones
// (same inode), the rest are new, and the tree verifies.
func TestStreamedRebuildKeepsUnchangedFiles(t *testing.T) {
	site := t.TempDir()
	if err := os.CopyFS(site, os.DirFS("testdata/slurm")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "build")
	s, err := Resolve(Source{Dir: site})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Write(out); err != nil {
		t.Fatal(err)
	}
	before := inodes(t, out)
	yaml := filepath.Join(site, "site.yaml")
	edited := strings.Replace(string(mustRead(t, yaml)), "nvidia: {gpus: 8, model: h100}", "nvidia: {gpus: 4, model: h100}", 1)
	if err := os.WriteFile(yaml, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err = Resolve(Source{Dir: site}); err != nil {
		t.Fatal(err)
	}
	_, res, err := s.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) == 0 || len(res.Unchanged) == 0 {
		t.Fatalf("changing gpu03's GPUs: %d changed, %d unchanged", len(res.Changed), len(res.Unchanged))
	}
	after := inodes(t, out)
	for _, p := range res.Unchanged {
		if after[p] != before[p] {
			t.Errorf("%s did not change but was written again", p)
		}
	}
	for _, p := range res.Changed {
		if after[p] == before[p] {
			t.Errorf("%s changed but kept its inode", p)
		}
	}
	if problems, err := output.Verify(out); err != nil || len(problems) > 0 {
		t.Errorf("the rebuilt tree does not verify: %v %v", problems, err)
	}
}

func inodes(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	m, _, err := output.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, e := range m {
		st, err := os.Stat(filepath.Join(dir, e.Path))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Path] = st.Sys().(*syscall.Stat_t).Ino
	}
	return out
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
