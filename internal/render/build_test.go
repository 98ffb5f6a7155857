package render

import (
	"strings"
	"testing"
)

// An after_build artifact sees the files rendered before it, whatever the
// order they are declared in, and the after_build ones before it: an index
// names only files that exist, and a page can include another page.
func TestAfterBuildSeesTheBuild(t *testing.T) {
	d, c := site(t, "2", `  - {template: index.tmpl, path: index.txt, after_build: true, doc: The index.}
  - {template: page.tmpl, path: page.txt, after_build: true}
  - {template: n.tmpl, path: 'n/{{.Node.Name}}', scope: node, doc: One per node.}
  - {template: key.tmpl, path: key, doc: The key.}
`, map[string]string{
		"index.tmpl": `{{ range .Build.Files }}{{ .Path }} {{ .Mode }}{{ if .Secret }} secret{{ end }}: {{ .Doc }}
{{ end }}{{ range .Build.Groups }}[{{ .Doc }}: {{ len .Paths }}{{ if .Secret }} secret{{ end }}]{{ end }}
{{ .Build.Has "n/box2" }} {{ .Build.Has "n/box3" }} {{ len (.Build.Glob "n/*") }} {{ len (.Build.ForNode "box1") }}`,
		"page.tmpl": `<{{ .Build.Text "index.txt" }}>`,
		"n.tmpl":    "{{ .Node.Name }}",
		"key.tmpl":  `{{ secret "token" }}`,
	})
	files, diags := Build(d, c)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Data)
	}
	wantIndex := `key 0600 secret: The key.
n/box1 0644: One per node.
n/box2 0644: One per node.
[The key.: 1 secret][One per node.: 2]
true false 2 1`
	if got["index.txt"] != wantIndex {
		t.Errorf("index.txt:\n%s\nwant:\n%s", got["index.txt"], wantIndex)
	}
	if got["page.txt"] != "<"+wantIndex+">" {
		t.Errorf("page.txt does not include index.txt: %q", got["page.txt"])
	}
}

// A template cannot read or name a file the build lacks, nor copy a secret
// into an index.
func TestAfterBuildRefusesMissingAndSecretFiles(t *testing.T) {
	for tmpl, want := range map[string]string{
		`{{ .Build.Text "key" }}`:     "key carries a secret",
		`{{ .Build.Text "nothing" }}`: "the build has no file nothing",
		`{{ .Build.File "nothing" }}`: "the build has no file nothing",
		`{{ .Build.Glob "[" }}`:       "bad pattern",
	} {
		d, c := site(t, "1", `  - {template: key.tmpl, path: key}
  - {template: index.tmpl, path: index.txt, after_build: true}
`, map[string]string{"index.tmpl": tmpl, "key.tmpl": `{{ secret "token" }}`})
		_, diags := Build(d, c)
		err := diags.Err()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error saying %q", tmpl, err, want)
		}
	}
}

func TestRunbookHelpers(t *testing.T) {
	if got := anchor("Step 3: ldap, proxy"); got != "step-3-ldap-proxy" {
		t.Errorf("anchor: %q", got)
	}
	html, err := markdownHTML("# Step 1: head\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![w](w.svg)\n")
	if err != nil || !strings.Contains(html, `<h1 id="step-1-head">`) || !strings.Contains(html, "<table>") {
		t.Errorf("markdown: %v\n%s", err, html)
	}
	svg := File{Path: "w.svg", Data: []byte("<svg>w</svg>\n"), Mode: 0o644}
	mem := &memSink{data: map[string][]byte{}}
	mem.Put(svg)
	b := newBuild([]BuiltFile{builtFile(svg)}, mem)
	in, err := inlineSVG(b, html)
	if err != nil || !strings.Contains(in, `<span class="diagram" role="img" aria-label="w"><svg>w</svg></span>`) || strings.Contains(in, "<img") {
		t.Errorf("inlineSVG: %v\n%s", err, in)
	}
	if _, err := inlineSVG(newBuild(nil, &memSink{data: map[string][]byte{}}), html); err == nil {
		t.Error("inlineSVG of a picture the build lacks: no error")
	}
	if l, err := lineOf("x\nwn1   inst.ks=a/kickstart-wn1.cfg q\nwn1 other", "wn1", "kickstart-wn1"); err != nil || l != "inst.ks=a/kickstart-wn1.cfg q" {
		t.Errorf("lineOf: %q %v", l, err)
	}
	if !kilnHas("build", "o", "-C") || kilnHas("build", "mac") || kilnHas("no-such-verb") {
		t.Error("kilnHas does not follow kiln-commands.txt")
	}
}
