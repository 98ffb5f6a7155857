package puppet_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// The head's bootstrap manifest (head-init.pp, applied with apply-puppet.sh
// before the Puppet server exists) compiles with real Puppet as puppet
// apply would compile it: the manifest alone, the build's modules, the
// head's facts. It declares exactly the role's bootstrap classes, with the
// same parameters as the full classification.
func TestBootstrapManifestCompilesWithTheBuildsModules(t *testing.T) {
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	cl, build := buildSite(t, exampleSite(t))

	for _, n := range cl.Nodes {
		r := cl.Role(n.Role)
		manifest := filepath.Join(build, n.Name+"-init.pp")
		if len(r.Bootstrap) == 0 {
			if _, err := os.Stat(manifest); err == nil {
				t.Errorf("%s has no bootstrap modules but got %s", n.Name, manifest)
			}
			continue
		}
		// An environment of its own whose manifest is head-init.pp, over
		// the build's modules: what puppet apply --modulepath does.
		root := t.TempDir()
		e := env{filepath.Join(root, "conf"), filepath.Join(root, "code"), filepath.Join(root, "var"), filepath.Join(root, "facts")}
		envDir := filepath.Join(e.codedir, "environments", "production")
		must(t, os.MkdirAll(filepath.Join(envDir, "manifests"), 0o755))
		must(t, os.Symlink(filepath.Join(build, "puppet", "modules"), filepath.Join(envDir, "modules")))
		data, err := os.ReadFile(manifest)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(envDir, "manifests", "init.pp"), data, 0o644))
		must(t, os.MkdirAll(e.confdir, 0o755))
		must(t, os.WriteFile(filepath.Join(e.confdir, "puppet.conf"),
			[]byte("[main]\nstrict = error\nstrict_variables = true\nnode_terminus = plain\n"), 0o644))
		must(t, os.MkdirAll(e.factsdir, 0o755))
		facts, err := json.Marshal(nodeFacts(n))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(e.factsdir, n.FQDN+".json"), facts, 0o644))

		out := compileAll(t, ruby, e, []string{n.FQDN})[0]
		if out.Error != "" {
			t.Fatalf("%s-init.pp does not compile: %s", n.Name, out.Error)
		}
		for _, l := range out.Logs {
			t.Errorf("%s-init.pp: Puppet logged %s", n.Name, l)
		}
		var got, want []string
		resources, _ := out.Catalog["resources"].([]any)
		for _, res := range resources {
			res := res.(map[string]any)
			if res["type"] == "Class" {
				if title, _ := res["title"].(string); strings.HasPrefix(strings.ToLower(title), "kiln_") {
					got = append(got, strings.ToLower(title))
				}
			}
		}
		for _, m := range r.Bootstrap {
			want = append(want, n.Module(m).Class)
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s-init.pp declares %v, want the bootstrap classes %v", n.Name, got, want)
		}
	}
}
