package render

import (
	"bytes"
	"fmt"
	"text/template"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// NodeArtifact renders one node-scoped artifact for one node, as a build
// would (kiln enc prints the ENC artifact this way, without building the
// rest).
func NodeArtifact(d *load.Definitions, c *model.Cluster, decl *defs.Artifact, n *model.Node) (File, error) {
	tmpl, ok := d.Templates[decl.Template.Value]
	if !ok {
		return File{}, fmt.Errorf("there is no template %q", decl.Template.Value)
	}
	text, err := parseTemplate(d, decl.Template.Value, tmpl.Text)
	if err != nil {
		return File{}, fmt.Errorf("%s: %s", tmpl.Display, templateMsg(err))
	}
	pt, err := template.New("path").Option("missingkey=error").Funcs(funcs(nil)).Parse(decl.Path.Value)
	if err != nil {
		return File{}, fmt.Errorf("%s: the output path is not a valid template: %s", decl.Path.Pos, templateMsg(err))
	}
	a := &artifact{decl: decl, text: text, path: pt, mode: 0o644, file: tmpl.Display, src: tmpl.Text}
	r := newRenderer(newSecrets(d))
	f, problem := r.render(job{a: a, data: Data{Cluster: c, Node: n, Role: c.Role(n.Role)}, subj: n.Name}, nil)
	if problem != nil {
		return File{}, fmt.Errorf("%s", problem.String())
	}
	f.Data = bytes.Clone(f.Data) // the renderer's buffer
	return f, nil
}

// Snippet renders a short template given as text (a design setting such as
// the autosign challenge) for a node. name is how errors call it.
func Snippet(d *load.Definitions, c *model.Cluster, name, text string, n *model.Node) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs(nil)).Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %s", name, templateMsg(err))
	}
	r := newRenderer(newSecrets(d))
	r.buf.Reset()
	if err := r.clone(t).Execute(&r.buf, Data{Cluster: c, Node: n, Role: c.Role(n.Role)}); err != nil {
		return "", fmt.Errorf("%s: %s", name, templateMsg(err))
	}
	return r.buf.String(), nil
}
