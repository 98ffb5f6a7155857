package render

import (
	"strings"
	"testing"
)

// A catalog module m with parameters port and mode, run by every box.
var withModule = map[string]string{
	"catalog/m/module.yaml": "class: m\nparameters:\n  port: {type: int, default: 80}\n  mode: {type: string, default: fast}\n",
	"roles/box.yaml":        "kind: physical\nnaming: box{n}\ninterfaces:\n  - {nic: lan0, network: lan}\nmodules:\n  m: {}\n",
}

func problems(t *testing.T, tmpl string) string {
	t.Helper()
	d, c := siteWith(t, "2", "  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node}\n", map[string]string{"n.tmpl": tmpl}, withModule)
	err := Check(d, c).Err()
	if err == nil {
		return ""
	}
	return err.Error()
}

// A module or parameter name written in a template that the catalog does
// not have is an error at the template's line, with the name meant; names
// the catalog has pass, and names computed at run time are not guessed at.
func TestUnknownNamesInTemplatesAreErrorsAtTheirLine(t *testing.T) {
	for tmpl, want := range map[string]string{
		"{{ .Node.Param \"m\" \"port\" }}":                                          "",
		"x\n{{ .Node.Param \"m\" \"prot\" }}":                                       `site/templates/n.tmpl:2:20: template n.tmpl: module m has no parameter "prot" — did you mean "port"?`,
		"{{ .Node.Param \"mm\" \"port\" }}":                                         `module "mm" in the catalog — did you mean "m"?`,
		"{{ $x := .Node.Module \"m\" }}{{ $x.Param \"mdoe\" }}":                     `module m has no parameter "mdoe" — did you mean "mode"?`,
		"{{ (.Node.Module \"m\").Param \"port\" }}":                                 "",
		"{{ (.Node.Module \"m\").Param \"porrt\" }}":                                `module m has no parameter "porrt"`,
		"{{ with .Node.Module \"m\" }}{{ .Param \"nothing\" }}{{end}}":              `no module of the catalog has a parameter "nothing"`,
		"{{ len (.Cluster.NodesWith \"n\") }}":                                      `there is no module "n" in the catalog — did you mean "m"?`,
		"{{ len (.Cluster.NodesOf \"bxo\") }}":                                      `there is no role "bxo" — did you mean "box"?`,
		"{{ nodesWhere .Cluster \"m\" \"mod\" \"fast\" }}":                          `module m has no parameter "mod" — did you mean "mode"?`,
		"{{ $p := \"prot\" }}{{ .Node.Param \"m\" $p }}":                            "",
		"{{ .Node.Has \"nothing\" }}":                                               `there is no module "nothing" in the catalog — valid choices: m`,
		"{{ .Node.Has \"mm\" }}":                                                    `there is no module "mm" in the catalog — did you mean "m"?`,
		"{{ range $n := .Cluster.Nodes }}{{ $n.Has \"mx\" }}{{ end }}":              `there is no module "mx" in the catalog — did you mean "m"?`,
		"{{ range $i, $n := .Cluster.NodesWith \"m\" }}{{ $n.Has \"m\" }}{{ end }}": "",
		"{{ $b := 1 }}{{ range $b := .Cluster.Nodes }}{{ $b.Has \"nn\" }}{{ end }}": "",
	} {
		got := problems(t, tmpl)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s:\ngot  %s\nwant %s", tmpl, got, want)
		}
	}
}

// A template that fails for one node names that node, and the value the
// failing line read, at the line that set it.
func TestOneNodesFailureNamesTheNodeAndTheValue(t *testing.T) {
	d, c := siteWith(t, "2", "  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node}\n",
		map[string]string{"n.tmpl": "{{ if eq .Node.Name \"box2\" }}{{ fail \"no %v\" (.Node.Param \"m\" \"mode\") }}{{ end }}"}, withModule)
	err := Check(d, c).Err()
	if err == nil {
		t.Fatal("check passed a template that fails for box2")
	}
	want := `template n.tmpl for box2: no fast (m.mode is "fast", set at site/catalog/m/module.yaml:4:33)`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// Check renders what build renders, paths and after_build files included,
// and keeps no bytes: an after_build template still reads earlier files.
func TestCheckFindsWhatBuildFinds(t *testing.T) {
	for name, tc := range map[string]struct{ artifacts, want string }{
		"absolute path": {"  - {template: n.tmpl, path: '/etc/{{.Node.Name}}', scope: node}\n", `the output path "/etc/box1" is not a plain relative path`},
		"escaping path": {"  - {template: n.tmpl, path: '../{{.Node.Name}}', scope: node}\n", `"../box1" is not a plain relative path`},
		"same path":     {"  - {template: n.tmpl, path: a}\n  - {template: n.tmpl, path: a, doc: again}\n", "two artifacts write a: n.tmpl (declared at site/design.yaml:6:30) and n.tmpl (declared at site/design.yaml:7:30)"},
		"file and folder": {"  - {template: n.tmpl, path: a}\n  - {template: n.tmpl, path: 'a/{{.Node.Name}}', scope: node}\n",
			"a is a file, but a/box1 needs it to be a folder: n.tmpl (declared at site/design.yaml:6:30) and n.tmpl for box1 (declared at site/design.yaml:7:30), and 1 more paths like it"},
		"long name": {"  - {template: n.tmpl, path: '{{ printf \"%0300d\" 1 }}'}\n", "has a name of 300 bytes; file systems take at most 255"},
		"newline":   {"  - {template: n.tmpl, path: 'a{{ printf \"\\n\" }}b'}\n", "has a control character"},
		"late read": {"  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node}\n  - {template: late.tmpl, path: late, after_build: true}\n", ""},
	} {
		d, c := site(t, "2", tc.artifacts, map[string]string{"n.tmpl": "{{ with .Node }}{{ .Name }}{{ end }}", "late.tmpl": `{{ if ne (.Build.Text "n/box2") "box2" }}{{ fail "read %q" (.Build.Text "n/box2") }}{{ end }}`})
		_, bd := Build(d, c)
		cd := Check(d, c)
		if tc.want == "" {
			if err := cd.Err(); err != nil {
				t.Errorf("%s: check: %v", name, err)
			}
			if err := bd.Err(); err != nil {
				t.Errorf("%s: build: %v", name, err)
			}
			continue
		}
		for what, l := range map[string]error{"check": cd.Err(), "build": bd.Err()} {
			if l == nil || !strings.Contains(l.Error(), tc.want) {
				t.Errorf("%s: %s says %v\nwant %s", name, what, l, tc.want)
			}
		}
	}
}

// The design's autosign: template is parsed and rendered for every node by
// check and build alike: one that fails, or gives no URL, would make kiln
// autosign refuse every node.
func TestAutosignTemplateIsChecked(t *testing.T) {
	for tmpl, want := range map[string]string{
		`http://{{ .Node.Name }}:8080`:                 "",
		`http://{{ .Node.Name `:                        "site/design.yaml:5:11: design autosign: the autosign setting is not a valid template",
		`http://{{ .Node.Nmae }}`:                      "design autosign for box1: the autosign setting fails: ",
		`{{ .Node.Name }}`:                             `design autosign for box1: the autosign setting gives "box1", not an http:// or https:// URL`,
		`http://{{ (.Node.Module "m").Param "prot" }}`: `module m has no parameter "prot" — did you mean "port"?`,
	} {
		files := map[string]string{"design.yaml": "name: t\nnetworks:\n  - name: lan\n    provisioning: true\nautosign: '" + tmpl + "'\nartifacts:\n  - {template: n.tmpl, path: n}\n"}
		for k, v := range withModule {
			files[k] = v
		}
		d, c := siteWith(t, "2", "", map[string]string{"n.tmpl": "x"}, files)
		err := Check(d, c).Err()
		_, bd := Build(d, c)
		switch {
		case want == "" && (err != nil || bd.Err() != nil):
			t.Errorf("%s: %v %v", tmpl, err, bd.Err())
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v\nwant %s", tmpl, err, want)
		case want != "" && bd.Err() == nil:
			t.Errorf("%s: build accepts it", tmpl)
		}
	}
}

// A module's parameter read through the module (.Param "name") is found
// on the node too, when one module of the node has it.
func TestOneNodesFailureNamesAModulesValue(t *testing.T) {
	d, c := siteWith(t, "1", "  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node}\n",
		map[string]string{"n.tmpl": "{{ $m := .Node.Module \"m\" }}\n{{ fail \"bad %v\" ($m.Param \"port\").Value }}"}, withModule)
	err := Check(d, c).Err()
	want := `site/templates/n.tmpl:2:3: template n.tmpl for box1: bad 80 (m.port is "80", set at site/catalog/m/module.yaml:3:`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// A template that calls itself forever is an error at its line, not a
// crash, and is not tried again for every other node (each try takes
// seconds).
func TestRecursiveTemplateIsAnError(t *testing.T) {
	d, c := site(t, "3", "  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node}\n", map[string]string{"n.tmpl": "{{ define \"x\" }}{{ template \"x\" . }}{{ end }}\n{{ template \"x\" . }}"})
	err := Check(d, c).Err()
	if err == nil || !strings.Contains(err.Error(), "site/templates/n.tmpl:1:") || !strings.Contains(err.Error(), "maximum template depth") || !strings.Contains(err.Error(), "for box1 (and 2 more)") {
		t.Errorf("got %v, want the template's depth error at its line, once for the three nodes", err)
	}
}
