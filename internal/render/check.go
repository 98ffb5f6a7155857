package render

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"text/template"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// Check renders every artifact of the site exactly as a build does (Stream,
// the same templates, data, paths and collision checks), into a sink that
// keeps no file: kiln check then fails on everything kiln build would fail
// on in the definitions, and writes nothing. An after_build template that
// reads a file of the build (.Build.Text) gets it rendered again.
func Check(d *load.Definitions, c *model.Cluster) *diag.List {
	sink := &checkSink{secrets: newSecrets(d), src: map[string]*job{}, data: map[string][]byte{}}
	_, diags := Stream(d, c, sink)
	return diags
}

// checkSink takes the files of a check: it keeps, for each path, the job
// that rendered it (a copied file's bytes, which are the design's anyway),
// and renders a file again when it is read.
type checkSink struct {
	secrets *secretStore
	mu      sync.Mutex
	src     map[string]*job
	data    map[string][]byte
}

func (s *checkSink) Put(f File) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.src != nil {
		s.src[f.Path] = f.src
	} else {
		s.data[f.Path] = bytes.Clone(f.Data)
	}
	return nil
}

func (s *checkSink) Read(p string) ([]byte, error) {
	s.mu.Lock()
	j, ok := s.src[p]
	data, copied := s.data[p]
	s.mu.Unlock()
	switch {
	case copied:
		return data, nil
	case !ok:
		return nil, fmt.Errorf("the build has no file %s", p)
	}
	r := newRenderer(s.secrets)
	f, problem := r.render(*j, nil)
	if problem != nil {
		return nil, fmt.Errorf("%s", problem.What)
	}
	return f.Data, nil // r is not used again: its buffer is the caller's
}

// Create takes a cluster-wide file as it is rendered, and throws its bytes
// away (they can be tens of megabytes).
func (s *checkSink) Create(string) (FileWriter, error) { return discard{s}, nil }

type discard struct{ s *checkSink }

func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (w discard) Commit(f File) error       { f.out = nil; return w.s.Put(f) }
func (discard) Abort()                      {}

var _ io.Writer = discard{}

// autosign parses the design's autosign: template (kiln autosign renders
// it, on the Puppet server, for the node whose certificate is asked for)
// and renders it for every node: a template that fails, or gives no
// http(s) URL, would make kiln autosign refuse every node.
func autosign(d *load.Definitions, c *model.Cluster, diags *diag.List) {
	if d.Design == nil || strings.TrimSpace(d.Design.Autosign.Value) == "" {
		return
	}
	at := d.Design.Autosign.Pos
	const where = "design autosign"
	t, err := template.New("autosign").Option("missingkey=error").Funcs(funcs(nil)).Parse(d.Design.Autosign.Value)
	if err != nil {
		diags.Add(at, where, "the autosign setting is not a valid template: "+templateMsg(err), "fix the template syntax")
		return
	}
	bad := false
	for _, p := range lint(t, at.File, d) {
		p.Pos = at // the template is one line of design.yaml
		diags.Add(p.Pos, where, p.What, p.Fix)
		bad = true
	}
	if bad || c == nil {
		return
	}
	r := newRenderer(newSecrets(d))
	t = r.clone(t)
	for _, n := range c.Nodes {
		r.buf.Reset()
		if err := t.Execute(&r.buf, Data{Cluster: c, Node: n, Role: c.Role(n.Role)}); err != nil {
			diags.Add(at, where+" for "+n.Name, "the autosign setting fails: "+templateMsg(err), "fix the template, or the value it reads")
			return
		}
		s := strings.TrimRight(strings.TrimSpace(r.buf.String()), "/")
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			diags.Add(at, where+" for "+n.Name, fmt.Sprintf("the autosign setting gives %q, not an http:// or https:// URL of kiln serve", s),
				"make it the URL kiln serve answers on, e.g. http://{{ .Cluster… }}:8080")
			return
		}
	}
}
