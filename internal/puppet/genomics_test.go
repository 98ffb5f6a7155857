package puppet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// TestGenomicsCatalogsCompile compiles every node's catalog of the
// genomics fixture (a design unlike tier3: internal/pipeline/testdata/
// genomics) through kiln enc, in strict mode: each class takes its
// secret in the format its parameter declares (the manifests' types
// accept only that form: a $6$ hash, a SCRAM-SHA-256 verifier, the raw
// value), and only store1 runs beegfs_mgmtd, the module site.yaml gives
// that one node.
func TestGenomicsCatalogsCompile(t *testing.T) {
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	kiln := buildKiln(t)
	site := filepath.Join(t.TempDir(), "lab")
	if err := os.CopyFS(site, os.DirFS("../pipeline/testdata/genomics")); err != nil {
		t.Fatal(err)
	}
	cl, build := buildSite(t, site)
	env := puppetEnv(t, cl, build, kiln, site, "enc")
	classes := classesByNode(t, "enc", compileAll(t, ruby, env, certnames(cl)))
	if t.Failed() {
		return
	}
	connauth, _ := os.ReadFile(filepath.Join(site, "secrets", "beegfs_connauth"))
	for _, n := range cl.Nodes {
		got := classes[n.FQDN]
		if len(got) != len(n.Modules) {
			t.Errorf("%s: %d classes, want %d (its modules)", n.Name, len(got), len(n.Modules))
		}
		mgmtd, has := got["genomics::beegfs_mgmtd"]
		if has != (n.Name == "store1") {
			t.Errorf("%s runs beegfs_mgmtd: %v; only store1 should", n.Name, has)
		}
		if has && mgmtd["connauth"] != strings.TrimRight(string(connauth), "\n") {
			t.Errorf("store1's beegfs_mgmtd has connauth %v, not the secret itself", mgmtd["connauth"])
		}
	}
}
