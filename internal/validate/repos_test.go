package validate_test

import (
	"io/fs"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
)

// embeddedDesign is the tier3 design.yaml, for cases that change it.
func embeddedDesign(t *testing.T) string {
	t.Helper()
	d, _ := builtin.Design("tier3")
	b, err := fs.ReadFile(d, "design.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPackageWithoutRepository: a module installing a package no
// repository of the site's dialect provides fails at the package's own
// place in the module's packages:, naming the repositories there are.
func TestPackageWithoutRepository(t *testing.T) {
	d, _ := builtin.Design("tier3")
	b, err := fs.ReadFile(d, "catalog/base/module.yaml")
	if err != nil {
		t.Fatal(err)
	}
	module := strings.Replace(string(b), "packages: [chrony]", "packages: [chrony, slurm]", 1)
	at := strings.Count(module[:strings.Index(module, "packages: [chrony, slurm]")], "\n") + 1
	got := problems(t, siteFS(map[string]string{"catalog/base/module.yaml": module}))
	expect(t, got, want{Pos: "site/catalog/base/module.yaml:" + itoa(at) + ":20", Where: "module base",
		What: []string{`package "slurm" is in no repository the design declares for el9`},
		Fix:  []string{"provides:", "baseos", "epel", "openvox8"}})
}

// TestRepositoryMistakes: the design's repositories and a site's
// overrides of them, as people get them wrong.
func TestRepositoryMistakes(t *testing.T) {
	design := embeddedDesign(t)
	cases := []struct {
		name   string
		files  func(t *testing.T) map[string]string
		want   []want
		design bool // the problem is in the site's copy of design.yaml
	}{{
		name: "override of a repository the design lacks",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"site.yaml": baseSite + "repositories:\n  epell: {baseurl: http://10.1.0.1/mirror/epel/}\n"}
		},
		want: []want{{Pos: "site/site.yaml:" + line(baseSite, 2) + ":10", Where: "site repository epell", What: []string{`the design has no repository "epell"`}, Fix: []string{`did you mean "epel"?`}}},
	}, {
		name: "override URL with a space",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"site.yaml": baseSite + "repositories:\n  epel: {baseurl: \"http://head/mirror/epel 9/\"}\n"}
		},
		want: []want{{Pos: "site/site.yaml:" + line(baseSite, 2) + ":19", Where: "site repository epel", What: []string{"is not a usable URL"}, Fix: []string{"http://"}}},
	}, {
		name: "install-tree repository moved to a URL without a key",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"site.yaml": baseSite + "repositories:\n  baseos: {baseurl: http://10.1.0.1/mirror/baseos/}\n"}
		},
		want: []want{{Pos: "site/site.yaml:" + line(baseSite, 2) + ":11", Where: "site repository baseos", What: []string{"its packages need one"}, Fix: []string{"gpgkey:"}}},
	}, {
		name: "admin key that is not a public key",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"site.yaml": baseSite + "admin_keys:\n  - \"ssh-ed25519 AAAA\\\"; rm -rf / #\"\n"}
		},
		want: []want{{Pos: "site/site.yaml:" + line(baseSite, 2) + ":5", Where: "site admin_keys", What: []string{"not an OpenSSH public key"}, Fix: []string{"ssh-ed25519 AAAA"}}},
	}, {
		name: "a dialect past its end of life",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"site.yaml": strings.Replace(baseSite, "domain: example.org\n", "domain: example.org\nos: sl6\n", 1)}
		},
		want: []want{{Pos: "site/site.yaml:3:5", Where: "site", What: []string{"os sl6 is no longer built", "end of life"}, Fix: []string{"os: el9", "os: el10"}}},
	}, {
		name: "repository without a key",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"design.yaml": strings.Replace(design, "    gpgkey: [https://yum.voxpupuli.org/GPG-KEY-openvox.pub]\n", "", 1)}
		},
		design: true,
		want:   []want{{What: []string{"repository has no gpgkey"}, Where: "repository openvox8", Fix: []string{"gpgkey:"}}},
	}, {
		name: "dialect without a URL",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"design.yaml": strings.Replace(design, `    baseurl: "https://yum.voxpupuli.org/openvox8/el/{major}/$basearch"`, `    baseurl: {el9: "https://yum.voxpupuli.org/openvox8/el/9/$basearch"}`, 1)}
		},
		design: true,
		want: []want{
			{What: []string{"no baseurl or mirrorlist for el8"}, Where: "repository openvox8"},
			{What: []string{"no baseurl or mirrorlist for el10"}, Where: "repository openvox8"},
		},
	}, {
		name: "unknown required repository",
		files: func(t *testing.T) map[string]string {
			return map[string]string{"design.yaml": strings.Replace(design, "    requires: [crb, powertools]\n", "    requires: [crbb, powertools]\n", 1)}
		},
		design: true,
		want:   []want{{What: []string{`requires unknown repository "crbb"`}, Where: "repository epel", Fix: []string{`did you mean "crb"?`}}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, siteFS(c.files(t)))
			if !c.design {
				expect(t, got, c.want...)
				return
			}
			// In the site's design.yaml: match by where and words, and
			// nothing else may be wrong.
			used := make([]bool, len(got))
			for _, w := range c.want {
				found := false
				for i, d := range got {
					if !used[i] && d.Pos.File == "site/design.yaml" && d.Pos.Line > 0 && d.Where == w.Where && containsAll(d.What, w.What) && containsAll(d.Fix, w.Fix) {
						used[i], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("no problem where %q saying %q", w.Where, w.What)
				}
			}
			for i, d := range got {
				if !used[i] {
					t.Errorf("unexpected problem: %s", d)
				}
			}
		})
	}
}

// line is the number of the line n lines after the end of s.
func line(s string, n int) string {
	return itoa(strings.Count(s, "\n") + n)
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
