package puppet_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

// classifiers are the three ways the build classifies nodes.
var classifiers = []string{"enc", "manifests", "hiera"}

// TestCatalogsCompile compiles every node's catalog of the example with
// Puppet 7, once per classifier: the ENC (kiln enc run by Puppet's exec
// node terminus), nodes.pp, and Hiera. Every compile must succeed with no
// warning (strict mode: an unknown variable is an error), and the three
// must give every node the same classes with the same parameters, which
// are the ones kiln resolved. The ENC's catalogs also go through
// checkCondorPool (condor_test.go).
func TestCatalogsCompile(t *testing.T) {
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	kiln := buildKiln(t)

	type result struct {
		cluster  *model.Cluster
		build    string
		compiled []compiled
		catalogs map[string]map[string]map[string]any // certname → class → params
	}
	results := make([]result, len(classifiers))
	var wg sync.WaitGroup
	for i, mode := range classifiers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			site := exampleSite(t, "classifier: "+mode)
			cl, build := buildSite(t, site)
			env := puppetEnv(t, cl, build, kiln, site, mode)
			out := compileAll(t, ruby, env, certnames(cl))
			results[i] = result{cl, build, out, classesByNode(t, mode, out)}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	cl := results[0].cluster
	// The one parameter that differs on purpose: the classifier itself.
	overridden := ""
	if ns := cl.NodesWith("puppet_server"); len(ns) > 0 {
		overridden = ns[0].Module("puppet_server").Class
	}
	for _, n := range cl.Nodes {
		want := results[0].catalogs[n.FQDN]
		for i, mode := range classifiers[1:] {
			got := results[i+1].catalogs[n.FQDN]
			if got[overridden]["classifier"] == mode {
				got[overridden]["classifier"] = want[overridden]["classifier"]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the %s classification differs from the ENC's:\n%s", n.FQDN, mode, diffClasses(want, got))
			}
		}
		checkAgainstModel(t, n, want)
	}
	t.Run("HTCondorPool", func(t *testing.T) {
		checkCondorPool(t, results[0].cluster, results[0].build, results[0].compiled)
	})
	t.Run("NICLinkFiles", func(t *testing.T) {
		checkNICLinks(t, results[0].cluster, results[0].build, results[0].compiled)
	})
}

// checkAgainstModel compares a compiled catalog's classes with the node's
// resolved modules: the same classes, and each parameter kiln set with the
// value kiln resolved (a secret as its {SSHA} hash).
func checkAgainstModel(t *testing.T, n *model.Node, got map[string]map[string]any) {
	t.Helper()
	var wantClasses, gotClasses []string
	for _, m := range n.Modules {
		wantClasses = append(wantClasses, m.Class)
	}
	for c := range got {
		gotClasses = append(gotClasses, c)
	}
	sort.Strings(wantClasses)
	sort.Strings(gotClasses)
	if !reflect.DeepEqual(wantClasses, gotClasses) {
		t.Errorf("%s: catalog classes %v, want %v", n.FQDN, gotClasses, wantClasses)
		return
	}
	for _, m := range n.Modules {
		params := got[m.Class]
		for _, p := range m.Params {
			if !p.Set {
				continue
			}
			v, ok := params[p.Name]
			switch {
			case !ok:
				t.Errorf("%s: class %s has no parameter %s in the catalog", n.FQDN, m.Class, p.Name)
			case p.Type == "secret":
				if s, _ := v.(string); !strings.HasPrefix(s, "{SSHA}") {
					t.Errorf("%s: %s::%s = %v, want an {SSHA} hash", n.FQDN, m.Class, p.Name, v)
				}
			case !sameValue(v, p.Value):
				t.Errorf("%s: %s::%s = %#v in the catalog, kiln resolved %#v", n.FQDN, m.Class, p.Name, v, p.Value)
			}
		}
	}
}

// sameValue compares a value from the catalog's JSON with kiln's.
func sameValue(catalog, kiln any) bool {
	a, _ := json.Marshal(catalog)
	b, _ := json.Marshal(kiln)
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	return reflect.DeepEqual(x, y)
}

type compiled struct {
	Certname string         `json:"certname"`
	Catalog  map[string]any `json:"catalog"`
	Error    string         `json:"error"`
	Logs     []string       `json:"logs"`
}

// classesByNode checks each node's compile and returns its classes with
// their parameters (metaparameters such as before included: the order
// kiln::order declares is part of what must agree).
func classesByNode(t *testing.T, mode string, out []compiled) map[string]map[string]map[string]any {
	t.Helper()
	res := map[string]map[string]map[string]any{}
	for _, c := range out {
		if c.Error != "" {
			t.Errorf("%s (%s): Puppet did not compile the catalog: %s", c.Certname, mode, c.Error)
			continue
		}
		for _, l := range c.Logs {
			t.Errorf("%s (%s): Puppet logged %s", c.Certname, mode, l)
		}
		classes := map[string]map[string]any{}
		resources, _ := c.Catalog["resources"].([]any)
		for _, r := range resources {
			r := r.(map[string]any)
			title, _ := r["title"].(string)
			if r["type"] != "Class" || title == "main" || title == "Settings" {
				continue
			}
			// The shared module's helper classes (e.g. Kiln::Autofs, which
			// the modules that add autofs maps include) are no catalog module.
			if strings.HasPrefix(title, "Kiln::") {
				continue
			}
			params, _ := r["parameters"].(map[string]any)
			if params == nil {
				params = map[string]any{}
			}
			classes[strings.ToLower(title)] = params
		}
		res[c.Certname] = classes
	}
	return res
}

func diffClasses(want, got map[string]map[string]any) string {
	var b strings.Builder
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !reflect.DeepEqual(want[k], got[k]) {
			fmt.Fprintf(&b, "  class %s:\n    enc: %v\n    got: %v\n", k, want[k], got[k])
		}
	}
	return b.String()
}

// exampleSite copies the embedded example into a folder, with extra lines
// under the site-wide puppet_server parameters.
func exampleSite(t testing.TB, puppetServerParams ...string) string {
	t.Helper()
	dir := t.TempDir()
	src, ok := builtin.Example("tier3")
	if !ok {
		t.Fatal("no embedded example tier3")
	}
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		if p == "site.yaml" && len(puppetServerParams) > 0 {
			extra := "parameters:\n  puppet_server:\n    " + strings.Join(puppetServerParams, "\n    ") + "\n"
			if !bytes.Contains(data, []byte("\nparameters:\n")) {
				t.Fatal("the example's site.yaml has no parameters: section to extend")
			}
			data = bytes.Replace(data, []byte("\nparameters:\n"), []byte("\n"+extra), 1)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildSite resolves and renders a site into a fresh folder.
func buildSite(t testing.TB, dir string) (*model.Cluster, string) {
	t.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatalf("the site does not resolve: %v", err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatalf("the site does not build: %v", err)
	}
	out := t.TempDir()
	writeFiles(t, out, files)
	return s.Cluster, out
}

func writeFiles(t testing.TB, dir string, files []render.File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
}

type env struct{ confdir, codedir, vardir, factsdir string }

// puppetEnv lays out a Puppet server around a build: the build's puppet/
// folder as the production environment, puppet.conf for the classifier,
// kiln enc as the ENC, and each node's facts as an EL9 machine reports them.
func puppetEnv(t testing.TB, cl *model.Cluster, build, kiln, site, mode string) env {
	t.Helper()
	root := t.TempDir()
	e := env{filepath.Join(root, "conf"), filepath.Join(root, "code"), filepath.Join(root, "var"), filepath.Join(root, "facts")}
	envs := filepath.Join(e.codedir, "environments")
	must(t, os.MkdirAll(envs, 0o755))
	must(t, os.Symlink(filepath.Join(build, "puppet"), filepath.Join(envs, "production")))
	must(t, os.MkdirAll(e.confdir, 0o755))
	conf := "[main]\nstrict = error\nstrict_variables = true\nenvironment_timeout = unlimited\n"
	if mode == "enc" {
		wrapper := filepath.Join(root, "kiln-enc")
		must(t, os.WriteFile(wrapper, []byte(fmt.Sprintf("#!/bin/sh\nexec %s enc -C %s \"$1\"\n", kiln, site)), 0o755))
		conf += "node_terminus = exec\nexternal_nodes = " + wrapper + "\n"
	} else {
		conf += "node_terminus = plain\n"
	}
	must(t, os.WriteFile(filepath.Join(e.confdir, "puppet.conf"), []byte(conf), 0o644))
	must(t, os.MkdirAll(e.factsdir, 0o755))
	for _, n := range cl.Nodes {
		data, err := json.Marshal(nodeFacts(n))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(e.factsdir, n.FQDN+".json"), data, 0o644))
	}
	return e
}

// nodeFacts are the facts an EL9 machine reports, the ones the modules read.
func nodeFacts(n *model.Node) map[string]any {
	host, domain, _ := strings.Cut(n.FQDN, ".")
	ip := ""
	if p := n.Primary(); p != nil {
		ip = p.IP
	}
	return map[string]any{
		"kernel": "Linux",
		"os": map[string]any{
			"family": "RedHat", "name": "Rocky", "architecture": "x86_64",
			"release": map[string]any{"major": "9", "minor": "4", "full": "9.4"},
		},
		"networking": map[string]any{"fqdn": n.FQDN, "hostname": host, "domain": domain, "ip": ip},
	}
}

func certnames(cl *model.Cluster) []string {
	var out []string
	for _, n := range cl.Nodes {
		out = append(out, n.FQDN)
	}
	return out
}

// compileAll compiles the nodes' catalogs in one Puppet process.
func compileAll(t testing.TB, ruby string, e env, certnames []string) []compiled {
	t.Helper()
	args := append([]string{"testdata/compile.rb", e.confdir, e.codedir, e.vardir, e.factsdir}, certnames...)
	cmd := exec.Command(ruby, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("the Puppet compiler failed: %v\n%s", err, stderr.String())
	}
	var out []compiled
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var c compiled
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("cannot read the compiler's output: %v\n%s", err, sc.Text())
		}
		out = append(out, c)
	}
	if len(out) != len(certnames) {
		t.Fatalf("compiled %d catalogs for %d nodes\n%s", len(out), len(certnames), stderr.String())
	}
	return out
}

var (
	kilnOnce sync.Once
	kilnPath string
	kilnErr  error
)

// buildKiln builds the kiln command once per test binary.
func buildKiln(t testing.TB) string {
	t.Helper()
	kilnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-bin-")
		if err != nil {
			kilnErr = err
			return
		}
		kilnPath = filepath.Join(dir, "kiln")
		out, err := exec.Command("go", "build", "-o", kilnPath, "kiln.dev/kiln/cmd/kiln").CombinedOutput()
		if err != nil {
			kilnErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if kilnErr != nil {
		t.Fatal(kilnErr)
	}
	return kilnPath
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBigSiteCatalogsCompile compiles the catalog of every node of a
// 200-worker site (kiln init --workers 200) through the ENC, in two Puppet
// processes side by side.
func TestBigSiteCatalogsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 200 catalogs (about half a minute); not with -short")
	}
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	kiln := buildKiln(t)
	site := filepath.Join(t.TempDir(), "big")
	if out, err := exec.Command(kiln, "init", site, "--workers", "200", "--example-macs").CombinedOutput(); err != nil {
		t.Fatalf("kiln init: %v\n%s", err, out)
	}
	cl, build := buildSite(t, site)
	if len(cl.Nodes) < 200 {
		t.Fatalf("the site has %d nodes", len(cl.Nodes))
	}
	env := puppetEnv(t, cl, build, kiln, site, "enc")
	names := certnames(cl)
	half := len(names) / 2
	parts := [][]string{names[:half], names[half:]}
	outs := make([][]compiled, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = compileAll(t, ruby, env, p)
		}()
	}
	wg.Wait()
	got := classesByNode(t, "enc", append(outs[0], outs[1]...))
	for _, n := range cl.Nodes {
		checkAgainstModel(t, n, got[n.FQDN])
	}
}

// TestSlurmFixtureCatalogsCompile compiles, through kiln enc, every node of
// the Slurm GPU fixture: a design that shares nothing with tier3 but the
// generic Puppet template functions, with its own modules and templates.
func TestSlurmFixtureCatalogsCompile(t *testing.T) {
	testutil.NeedProgram(t, "puppet")
	ruby := testutil.NeedProgram(t, "ruby")
	kiln := buildKiln(t)
	site, err := filepath.Abs("../pipeline/testdata/slurm")
	must(t, err)
	cl, build := buildSite(t, site)
	env := puppetEnv(t, cl, build, kiln, site, "enc")
	got := classesByNode(t, "enc", compileAll(t, ruby, env, certnames(cl)))
	for _, n := range cl.Nodes {
		checkAgainstModel(t, n, got[n.FQDN])
	}
}
