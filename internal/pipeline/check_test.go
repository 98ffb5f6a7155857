package pipeline

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
)

// Check passes the embedded example, which builds; it writes nothing.
func TestCheckPassesASiteThatBuilds(t *testing.T) {
	s, err := Resolve(Source{Example: "tier3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("check fails on the example:\n%v", err)
	}
}

// A template the site shadows with a misspelt parameter: Resolve passes
// (the definitions are valid), Check and Write both refuse it at the
// template's line, and nothing is written.
func TestCheckRefusesWhatWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	ex, _ := builtin.Example("tier3")
	if err := os.CopyFS(dir, ex); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "templates", "hosts.tmpl"), []byte("{{ range .Cluster.Nodes }}{{ .Param \"base\" \"timezon\" }}\n{{ end }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := `templates/hosts.tmpl:1:44: template hosts.tmpl: module base has no parameter "timezon" — did you mean "timezone"?`
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("check: %v\nwant %s", err, want)
	}
	out := filepath.Join(dir, "build")
	if _, _, err := s.Write(out); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("build: %v\nwant %s", err, want)
	}
	if _, err := fs.Stat(os.DirFS(dir), "build"); err == nil {
		t.Error("a refused build wrote its folder")
	}
}

// A site with other problems still hears about its broken templates in the
// same run: every problem at once.
func TestTemplateProblemsAreReportedBesideTheRest(t *testing.T) {
	dir := t.TempDir()
	ex, _ := builtin.Example("tier3")
	if err := os.CopyFS(dir, ex); err != nil {
		t.Fatal(err)
	}
	site, err := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	site = []byte(strings.Replace(string(site), "\nnetworks:", "\nnetwrks: {}\nnetworks:", 1))
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), site, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "templates", "hosts.tmpl"), []byte("{{ .Cluster.Name | nosuch }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(Source{Dir: dir})
	if err == nil {
		t.Fatal("a broken site resolves")
	}
	for _, want := range []string{`unknown key "netwrks"`, `templates/hosts.tmpl:1: template hosts.tmpl: function "nosuch" not defined`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
