package designtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/starter"
)

// TestInitDesignMakesASiteThatBuilds: kiln init --design on the genomics
// design folder (which has no starter of its own) writes a site.yaml from
// its roles - every network, every role with its count and start
// addresses, every secret made - that kiln check passes and kiln build
// renders.
func TestInitDesignMakesASiteThatBuilds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	res, err := starter.Write(dir, starter.Options{DesignDir: fixture})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	abs, _ := filepath.Abs(fixture)
	for _, want := range []string{"design: " + abs, "  mgmt:", "  storage:", "  bmc:", "  store:", "start: {mgmt: ", "db_password: {file: secrets/db_password}"} {
		if !strings.Contains(string(site), want) {
			t.Errorf("site.yaml lacks %q:\n%s", want, site)
		}
	}
	if !strings.Contains(strings.Join(res.Written, " "), "secrets/beegfs_connauth") {
		t.Errorf("the design's secrets were not made: %v", res.Written)
	}
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatalf("kiln check refuses the generated site:\n%v\n%s", err, site)
	}
	if _, err := s.Render(); err != nil {
		t.Fatalf("kiln build fails on the generated site:\n%v", err)
	}
}

// TestInitDesignTakesTheDesignsOwnStarter: a design folder with
// starter/site.yaml.tmpl gets its own starter, which sees the cluster's
// name and the design's path.
func TestInitDesignTakesTheDesignsOwnStarter(t *testing.T) {
	design := t.TempDir()
	if err := os.CopyFS(design, os.DirFS(fixture)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(design, "site.yaml"))
	os.MkdirAll(filepath.Join(design, "starter"), 0o755)
	site, _ := os.ReadFile(filepath.Join(fixture, "site.yaml"))
	tmpl := strings.Replace(string(site), "cluster: seqlab\n", "# the design's own starter\ncluster: {{ .Cluster }}\n", 1)
	tmpl = strings.Replace(tmpl, "design: none\n", "design: {{ .Design }}\n", 1)
	if err := os.WriteFile(filepath.Join(design, "starter", "site.yaml.tmpl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lab2")
	if _, err := starter.Write(dir, starter.Options{DesignDir: design}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if !strings.Contains(string(got), "# the design's own starter\ncluster: lab2\n") || !strings.Contains(string(got), "design: "+design+"\n") {
		t.Fatalf("the design's starter was not used:\n%s", got)
	}
	if _, err := pipeline.Resolve(pipeline.Source{Dir: dir}); err != nil {
		t.Fatalf("kiln check refuses the site from the design's starter:\n%v", err)
	}
}

// TestANodesOwnModulesAreCheckedLikeARoles: kiln check refuses a node's
// module that does not exist, a parameter it does not have, one its role
// runs already, and one whose requirement the node lacks.
func TestANodesOwnModulesAreCheckedLikeARoles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	if err := os.CopyFS(dir, os.DirFS(fixture)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "site.yaml")
	site, _ := os.ReadFile(p)
	bad := strings.Replace(string(site), "          beegfs_mgmtd: {port: 8008}\n", "          beegfs_mgmtd: {prot: 8008}\n          beegfs_mgmt: {}\n          base: {}\n", 1)
	if bad == string(site) {
		t.Fatal("the fixture's site.yaml has no beegfs_mgmtd line to change")
	}
	os.WriteFile(p, []byte(bad), 0o644)
	_, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err == nil {
		t.Fatal("kiln check passes a node's broken modules")
	}
	for _, want := range []string{`node store1: module beegfs_mgmtd has no parameter "prot" — did you mean "port"?`,
		`node store1: unknown module "beegfs_mgmt" — did you mean "beegfs_mgmtd"?`,
		`node store1: role store runs module base already`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("kiln check does not say %q:\n%v", want, err)
		}
	}
}
