package installtest

import (
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/kickstart"
	"kiln.dev/kiln/internal/pipeline"
)

// packageResource finds a Puppet package resource's title: a string or an
// array of strings.
// ifParam finds a Puppet "if $PARAM {" that ends right before a resource.
var ifParam = regexp.MustCompile(`(?m)^\s*if \$(\w+) \{\s*\n\s*\z`)

// classPkg is a package a class installs, and the parameter it is under
// ("" when always).
type classPkg struct{ name, guard string }

var packageResource = regexp.MustCompile(`(?m)^\s*package\s*\{\s*(\[[^\]]*\]|'[^']*'|"[^"]*")\s*:`)
var quoted = regexp.MustCompile(`'([^']*)'|"([^"]*)"`)

// TestEveryPackageHasARepository: no dnf or EL repository is reachable
// here, so this is the check that every package a node installs — from its
// kickstart's %packages or from a package resource of a Puppet class it
// runs, in the built modules — is in the provides: of a repository the
// design declares for the site's dialect, and that the kickstart has a repo
// line for each repository that is not the install tree.
func TestEveryPackageHasARepository(t *testing.T) {
	for _, os_ := range dialects {
		t.Run(os_, func(t *testing.T) {
			b := buildSource(t, pipeline.Source{Dir: starterSite(t, os_, 2)})
			c := b.site.Cluster
			// Every package resource of each class, from the built modules.
			classPkgs := map[string][]classPkg{}
			for _, p := range b.paths(`^puppet/modules/[^/]+/manifests/.+\.pp$`) {
				rel := strings.TrimSuffix(strings.TrimPrefix(p, "puppet/modules/"), ".pp")
				parts := strings.Split(rel, "/") // module, manifests, sub...
				class := parts[0]
				if sub := strings.Join(parts[2:], "::"); sub != "init" {
					class += "::" + sub
				}
				text := b.text(t, p)
				for _, ix := range packageResource.FindAllStringSubmatchIndex(text, -1) {
					// A resource right under "if $PARAM {" is installed
					// only where that parameter is on.
					guard := ""
					if g := ifParam.FindStringSubmatch(text[:ix[0]]); g != nil {
						guard = g[1]
					}
					for _, q := range quoted.FindAllStringSubmatch(text[ix[2]:ix[3]], -1) {
						classPkgs[class] = append(classPkgs[class], classPkg{q[1] + q[2], guard})
					}
				}
			}
			if len(classPkgs) == 0 {
				t.Fatal("no package resource found in the built Puppet modules")
			}
			checked := 0
			for _, n := range c.Nodes {
				ks, _ := kickstart.Lint(os_, b.text(t, "kickstart-"+n.Name+".cfg"))
				repoLines := map[string]bool{}
				for _, r := range ks.All("repo") {
					if v, ok := r.Flag("--name"); ok {
						repoLines[v] = true
					}
				}
				var pkgs []string
				for _, s := range ks.Section("%packages") {
					for _, l := range strings.Split(s.Body, "\n") {
						if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "@") && !strings.HasPrefix(l, "#") {
							pkgs = append(pkgs, l)
						}
					}
				}
				for _, m := range n.Modules {
					for _, cp := range classPkgs[m.Class] {
						if cp.guard == "" || n.Param(m.Name, cp.guard) == true {
							pkgs = append(pkgs, cp.name)
						}
					}
				}
				for _, p := range pkgs {
					checked++
					r := c.RepositoryOf(p)
					if r == nil {
						t.Errorf("%s (%s): package %s is in no repository the design declares for %s", n.Name, n.Role, p, os_)
						continue
					}
					if !r.InstallTree && !repoLines["kiln-"+r.Name] {
						t.Errorf("%s: package %s comes from %s, but its kickstart has no repo --name=kiln-%s", n.Name, p, r.Name, r.Name)
					}
				}
			}
			if checked == 0 {
				t.Fatal("no package checked")
			}
		})
	}
}
