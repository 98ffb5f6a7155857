package pipeline

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/diag"
)

// exampleWith writes the embedded example site into a folder, with edit
// applied to its site.yaml.
func exampleWith(t *testing.T, edit func(string) string) string {
	t.Helper()
	ex, _ := builtin.Example("tier3")
	dir := t.TempDir()
	err := fs.WalkDir(ex, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ex, p)
		if err != nil {
			return err
		}
		if p == "site.yaml" {
			b = []byte(edit(string(b)))
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPuppetHeapLargerThanItsVMFailsCheck: the design's check holds the
// Puppet server's JVM heap and its VM's memory together.
func TestPuppetHeapLargerThanItsVMFailsCheck(t *testing.T) {
	dir := exampleWith(t, func(s string) string {
		return strings.Replace(s, "    ntp_servers: [time.example.edu]\n", "    ntp_servers: [time.example.edu]\n  puppet_server:\n    heap_mb: 2048\n", 1)
	})
	_, err := Resolve(Source{Dir: dir})
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("want the heap check's problem, got %v", err)
	}
	items := de.Diagnostics
	if len(items) != 1 {
		t.Fatalf("want one problem, got %d: %v", len(items), err)
	}
	d := items[0]
	for _, w := range []string{"3072 MiB", "2048 MiB", "needs 3584 MiB", "site.yaml"} {
		if !strings.Contains(d.What, w) {
			t.Errorf("the problem does not say %q: %s", w, d)
		}
	}
	if d.Where != "node puppet" || !strings.HasSuffix(d.Pos.File, "design.yaml") || !strings.Contains(d.Fix, "vm memory") {
		t.Errorf("problem at the wrong place or without its fix: %s", d)
	}

	// The example as shipped passes.
	if _, err := Resolve(Source{Dir: exampleWith(t, func(s string) string { return s })}); err != nil {
		t.Errorf("the example fails its own checks: %v", err)
	}
}
