package render

import (
	"strings"
	"testing"
	"testing/fstest"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/validate"
)

// site is a minimal design-none site with one role of n nodes; artifacts
// and templates come from the caller.
func site(t *testing.T, n string, artifacts string, templates map[string]string) (*load.Definitions, *model.Cluster) {
	t.Helper()
	return siteWith(t, n, artifacts, templates, nil)
}

// siteWith is site with more files (a catalog module, a role) given by path.
func siteWith(t *testing.T, n string, artifacts string, templates map[string]string, files map[string]string) (*load.Definitions, *model.Cluster) {
	t.Helper()
	fsys := fstest.MapFS{
		"site.yaml": {Data: []byte(`cluster: c1
domain: example.org
design: none
networks:
  lan: {cidr: 10.0.0.0/24}
nodes:
  box:
    count: ` + n + `
    start: {lan: 10.0.0.10}
secrets:
  token: {file: secrets/token}
`)},
		"secrets/token":  {Data: []byte("hunter2\n")},
		"design.yaml":    {Data: []byte("name: t\nnetworks:\n  - name: lan\n    provisioning: true\nartifacts:\n" + artifacts)},
		"roles/box.yaml": {Data: []byte("kind: physical\nnaming: box{n}\ninterfaces:\n  - {nic: lan0, network: lan}\nmodules: {}\n")},
	}
	for name, text := range templates {
		fsys["templates/"+name] = &fstest.MapFile{Data: []byte(text)}
	}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	d, diags := load.FS(fsys, "site/")
	diags.Append(validate.Definitions(d))
	c, rd := resolve.Cluster(d)
	diags.Append(rd)
	if err := diags.Err(); err != nil {
		t.Fatalf("the test site has problems:\n%v", err)
	}
	return d, c
}

func TestNodeScopeMakesOneFilePerNodeWithItsOrigin(t *testing.T) {
	d, c := site(t, "3", "  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node}\n", map[string]string{"n.tmpl": "{{.Node.Name}} {{.Node.IP \"lan\"}}\n"})
	files, diags := Build(d, c)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+"="+strings.TrimSpace(string(f.Data))+" from "+f.Origin)
	}
	want := "n/box1=box1 10.0.0.10 from n.tmpl@box1|n/box2=box2 10.0.0.11 from n.tmpl@box2|n/box3=box3 10.0.0.12 from n.tmpl@box3"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}

func TestAFileThatReadsASecretIsPrivate(t *testing.T) {
	d, c := site(t, "1", "  - {template: s.tmpl, path: s, mode: \"0644\"}\n  - {template: p.tmpl, path: p}\n",
		map[string]string{"s.tmpl": "token={{ secret \"token\" }}\n", "p.tmpl": "public\n"})
	files, diags := Build(d, c)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		switch f.Path {
		case "s":
			if !f.Secret || f.Mode != 0o600 || string(f.Data) != "token=hunter2\n" {
				t.Errorf("secret file: secret=%v mode=%04o data=%q", f.Secret, f.Mode, f.Data)
			}
		case "p":
			if f.Secret || f.Mode != 0o644 {
				t.Errorf("public file: secret=%v mode=%04o", f.Secret, f.Mode)
			}
		}
	}
}

func TestTemplateErrorsPointAtTheTemplateLineOncePerProblem(t *testing.T) {
	d, c := site(t, "50", "  - {template: bad.tmpl, path: 'b/{{.Node.Name}}', scope: node}\n",
		map[string]string{"bad.tmpl": "line one\n{{ .Node.NoSuchField }}\n"})
	_, diags := Build(d, c)
	items := diags.Items()
	if len(items) != 1 {
		t.Fatalf("want one diagnostic for 50 failing nodes, got %d:\n%v", len(items), diags.Err())
	}
	msg := items[0].String()
	for _, want := range []string{"site/templates/bad.tmpl:2:", "for box1 (and 49 more)", "NoSuchField"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestTemplateSyntaxErrorNamesFileAndLine(t *testing.T) {
	d, c := site(t, "1", "  - {template: x.tmpl, path: x}\n", map[string]string{"x.tmpl": "ok\n{{ if }}\n"})
	_, diags := Build(d, c)
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "site/templates/x.tmpl:2") {
		t.Fatalf("err = %v, want it at site/templates/x.tmpl:2", err)
	}
}

func TestPathsMustStayInsideTheBuild(t *testing.T) {
	for _, p := range []string{"../escape", "/etc/passwd", "a//b", "MANIFEST"} {
		d, c := site(t, "1", "  - {template: x.tmpl, path: '"+p+"'}\n", map[string]string{"x.tmpl": "x\n"})
		_, diags := Build(d, c)
		if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "not a plain relative path") {
			t.Errorf("path %q: err = %v, want a refusal", p, err)
		}
	}
}

func TestTwoArtifactsWritingOnePathIsAnError(t *testing.T) {
	d, c := site(t, "2", "  - {template: x.tmpl, path: same, scope: node}\n", map[string]string{"x.tmpl": "{{.Node.Name}}\n"})
	_, diags := Build(d, c)
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "two artifacts write same") {
		t.Fatalf("err = %v, want a duplicate path error", err)
	}
}
