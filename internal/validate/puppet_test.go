package validate_test

import (
	"io/fs"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
)

// embedded reads a file of the embedded tier3 design.
func embedded(t *testing.T, name string) string {
	t.Helper()
	d, _ := builtin.Design("tier3")
	b, err := fs.ReadFile(d, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPuppetParity: a catalog parameter that its class lacks, or a class
// parameter that its catalog module lacks, is an error naming both files.
func TestPuppetParity(t *testing.T) {
	const squidPP = "(embedded tier3)/puppet/modules/kiln_frontier_squid/manifests/init.pp"
	const squidYAML = "(embedded tier3)/catalog/squid/module.yaml"
	squid := embedded(t, "catalog/squid/module.yaml")
	manifest := embedded(t, "puppet/modules/kiln_frontier_squid/manifests/init.pp")
	if !strings.Contains(squid, "\nparameters:\n") || !strings.Contains(manifest, "  Integer[1] $cache_dir_gb,\n") {
		t.Fatal("the squid module changed shape; update this test")
	}
	cases := []struct {
		name  string
		files map[string]string
		want  []want
	}{{
		name: "catalog parameter the class lacks",
		files: map[string]string{"catalog/squid/module.yaml": strings.Replace(squid, "\nparameters:\n",
			"\nparameters:\n  max_clients:\n    type: int\n    default: 100\n    doc: How many clients.\n", 1)},
		want: []want{{
			Pos: "site/catalog/squid/module.yaml:" + lineOf(squid, "\nparameters:\n", 3) + ":5", Where: "module squid parameter max_clients",
			What: []string{"class kiln_frontier_squid in " + squidPP + " has no parameter $max_clients"},
			Fix:  []string{"add it to the class's parameter list (" + squidPP + ":", "or remove it from site/catalog/squid/module.yaml"},
		}},
	}, {
		name: "class parameter the catalog lacks",
		files: map[string]string{"puppet/modules/kiln_frontier_squid/manifests/init.pp": strings.Replace(manifest,
			"  Integer[1] $cache_dir_gb,\n", "  Integer[1] $cache_dir_gb,\n  Boolean $ipv6 = false,\n", 1)},
		want: []want{{
			Pos: "site/puppet/modules/kiln_frontier_squid/manifests/init.pp:" + lineOf(manifest, "$cache_dir_gb,", 1), Where: "class kiln_frontier_squid",
			What: []string{"parameter $ipv6 is not declared in " + squidYAML},
			Fix:  []string{"declare it under parameters: in " + squidYAML},
		}},
	}, {
		name:  "class that no manifest defines",
		files: map[string]string{"catalog/squid/module.yaml": strings.Replace(squid, "class: kiln_frontier_squid", "class: kiln_frontier_sqiud", 1)},
		want: []want{{
			Pos: "site/catalog/squid/module.yaml:1:8", Where: "module squid",
			What: []string{"class kiln_frontier_sqiud is defined in no manifest under puppet/modules"},
			Fix:  []string{"puppet/modules/kiln_frontier_sqiud/manifests/init.pp"},
		}},
	}, {
		name: "parameter nobody gives a value",
		files: map[string]string{
			"catalog/squid/module.yaml": strings.Replace(squid, "\nparameters:\n", "\nparameters:\n  peer:\n    type: hostname\n    doc: A parent cache.\n", 1),
			"puppet/modules/kiln_frontier_squid/manifests/init.pp": strings.Replace(manifest,
				"  Integer[1] $cache_dir_gb,\n", "  Integer[1] $cache_dir_gb,\n  String $peer,\n", 1),
		},
		want: []want{{
			Pos: "site/catalog/squid/module.yaml:" + lineOf(squid, "\nparameters:\n", 3) + ":5", Where: "module squid parameter peer",
			What: []string{"neither the catalog nor class kiln_frontier_squid", "gives $peer a value"},
			Fix:  []string{"default", "required: true"},
		}},
	}, {
		name: "manifest kiln cannot read",
		files: map[string]string{"puppet/modules/kiln_frontier_squid/manifests/init.pp": strings.Replace(manifest,
			"  Kiln::Port $port,\n", "  Kiln::Port $port = 'oops,\n", 1)},
		want: []want{{
			Pos: "site/puppet/modules/kiln_frontier_squid/manifests/init.pp", Where: "manifest",
			What: []string{"cannot read the class definitions", "a string is never closed"},
		}, {
			Pos: squidYAML + ":1:8", Where: "module squid",
			What: []string{"class kiln_frontier_squid is defined in no manifest"},
		}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, problems(t, siteFS(c.files)), c.want...)
		})
	}
}

// lineOf is the line number, as text, of the line after the one holding s
// plus offset-1 (the line a test inserts after it).
func lineOf(text, s string, offset int) string {
	i := strings.Index(text, s)
	n := strings.Count(text[:i], "\n") + 1 + offset
	return itoa(n)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestArtifactKinds: an artifact is a template or a copied folder, never
// both or neither; a copied folder exists and is cluster-wide; the ENC
// artifact is node-scoped and there is only one.
func TestArtifactKinds(t *testing.T) {
	squid := embedded(t, "catalog/squid/module.yaml")
	with := func(artifacts string) map[string]string {
		return map[string]string{"catalog/squid/module.yaml": squid + "artifacts:\n" + artifacts}
	}
	at := func(line int) string {
		return "site/catalog/squid/module.yaml:" + itoa(strings.Count(squid, "\n")+1+line)
	}
	cases := []struct {
		name  string
		files map[string]string
		want  []want
	}{{
		name:  "neither template nor copy",
		files: with("  - {path: x, doc: nothing}\n"),
		want:  []want{{Pos: at(1) + ":5", Where: "module squid artifact ", What: []string{"neither a template nor a folder to copy"}, Fix: []string{"template: NAME", "copy: FOLDER"}}},
	}, {
		name:  "both template and copy",
		files: with("  - {template: hosts.tmpl, copy: puppet/modules, path: x}\n"),
		want:  []want{{Pos: at(1) + ":34", Where: "module squid artifact hosts.tmplpuppet/modules", What: []string{"both a template and a folder"}}},
	}, {
		name:  "copy of a missing folder",
		files: with("  - {copy: puppet/modulez, path: x}\n"),
		want:  []want{{Pos: at(1) + ":12", Where: "module squid artifact puppet/modulez", What: []string{`there is no folder "puppet/modulez"`}}},
	}, {
		name:  "copy out of the design",
		files: with("  - {copy: ../etc, path: x}\n"),
		want:  []want{{Pos: at(1) + ":12", Where: "module squid artifact ../etc", What: []string{"not a folder inside the design"}}},
	}, {
		name:  "copy per node",
		files: with("  - {copy: puppet/modules, path: x, scope: node}\n"),
		want:  []want{{Pos: at(1) + ":44", Where: "module squid artifact puppet/modules", What: []string{"the same for the whole cluster"}}},
	}, {
		name:  "second ENC artifact, and not per node",
		files: with("  - {template: hosts.tmpl, path: x, enc: true}\n"),
		want: []want{
			{Pos: at(1) + ":37", Where: "module squid artifact hosts.tmpl", What: []string{"the ENC artifact must have scope node"}},
			{Pos: at(1) + ":37", Where: "artifact hosts.tmpl", What: []string{"puppet/enc.yaml.tmpl is already the ENC artifact"}},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, problems(t, siteFS(c.files)), c.want...)
		})
	}
}
