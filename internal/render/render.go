// Package render runs the artifact templates over the resolved cluster:
// Stream hands each file to a Sink as it is rendered (kiln build writes it
// to disk at once), Build returns them all in memory, sorted by path.
//
// Every artifact is declared in data — in the design or in a catalog
// module — with a template, a scope (cluster, node, vm or role), an
// optional filter and an output path pattern. Render knows nothing of any
// particular role or module: a different design builds with no change here.
package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// File is one output file.
type File struct {
	Path   string
	Data   []byte
	Mode   fs.FileMode
	Secret bool
	// Origin is the template and, for a scoped artifact, the node or role
	// it was rendered for: "kickstart.tmpl@wn1".
	Origin string
	// Node is the node the file belongs to, if any (the server gives a
	// node's secret-bearing files to that node only).
	Node string
	// Doc is the artifact's doc: what the file is for.
	Doc string
	// Copied marks a file copied verbatim from the design or site folder
	// (a copy: artifact), not rendered from a template.
	Copied bool
	// Masks are the secret values the file holds, as the functions that
	// read or derive them recorded them; with Opaque false they are all
	// of its secrets, and plan --diff shows the file with them masked.
	Masks  []string
	Opaque bool
	// usedSecret: the template read a secret for this body (a copy of the
	// body is secret for the same reason).
	usedSecret bool
	// out is where a file rendered straight into a StreamSink went; it
	// has no Data, and committing it stands for Put.
	out FileWriter
	// decl is where the artifact that made the file is declared (its
	// path: line), for messages about the file's path.
	decl diag.Pos
	// src is the job that rendered the file, so that a check, which keeps
	// no bytes, can render it again when an after_build template reads it.
	src *job
}

// Data is what a template sees.
type Data struct {
	Cluster *model.Cluster
	Node    *model.Node // for node and vm scopes
	Role    *model.Role // for role scope, and the node's role
	// Network is the network of a network-scoped artifact (one file per
	// network of the design: a zone, a DHCP scope).
	Network *model.Network
	// Build is the files built so far, for an after_build artifact only.
	Build *BuildIndex
}

// job is one file to render.
type job struct {
	a    *artifact
	data Data
	subj string
}

type artifact struct {
	decl *defs.Artifact
	// module is set for an artifact declared by a catalog module: it is
	// built only for the nodes (or roles) that run the module.
	module string
	text   *template.Template
	file   string // the template's file, for messages
	src    string // the template's text, to quote its failing line
	// tooDeep is set once the template has recursed past text/template's
	// depth limit for some job: the others are not tried.
	tooDeep atomic.Pointer[diag.Diagnostic]
	path    *template.Template
	mode    fs.FileMode
}

// Sink takes the files of a build as they are rendered, so that a large
// build need not be held in memory: Put is called from several goroutines
// at once and may keep nothing but what it needs (output writes each file
// into the new tree and keeps its manifest line). Read returns a file Put
// earlier; the after_build artifacts (a runbook) read the files before them
// through it. A Put error (a full disk) ends the build.
//
// f.Data is valid only until Put returns (it is the renderer's buffer, used
// again for the next file): a Sink that keeps the bytes copies them.
type Sink interface {
	Put(f File) error
	Read(path string) ([]byte, error)
}

// A StreamSink also takes a file while it is written: the cluster-wide
// files (nodes.pp, cluster.json, the runbook: tens of megabytes at 10,000
// nodes, five times that at 50,000) are rendered straight into it rather
// than into a buffer first.
type StreamSink interface {
	Sink
	Create(path string) (FileWriter, error)
}

// FileWriter is a file being written into a StreamSink. Commit finishes it
// as f describes it (its mode, secrecy and origin; f.Data is not used);
// Abort throws it away. One of them is called once.
type FileWriter interface {
	io.Writer
	Commit(f File) error
	Abort()
}

// Build renders every artifact and returns the files in memory, sorted by
// path: for plan, recover and the tests. A build that is written goes
// through Stream.
func Build(d *load.Definitions, c *model.Cluster) ([]File, *diag.List) {
	mem := &memSink{data: map[string][]byte{}}
	files, diags := Stream(d, c, mem)
	if files == nil {
		return nil, diags
	}
	out := make([]File, len(files))
	for i, f := range files {
		out[i] = f.file()
		out[i].Data = mem.data[f.Path]
	}
	return out, diags
}

// memSink keeps every file's bytes.
type memSink struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (m *memSink) Put(f File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.data[f.Path]; !dup { // reported as two artifacts writing it
		m.data[f.Path] = bytes.Clone(f.Data)
	}
	return nil
}

func (m *memSink) Read(p string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[p]
	if !ok {
		return nil, fmt.Errorf("the build has no file %s", p)
	}
	return b, nil
}

// Parse parses every template of the design (artifacts and autosign:)
// and reports each one that does not parse or names a module, parameter
// or role the definitions lack, without rendering: with definitions that
// do not resolve, these are still reported beside the rest.
func Parse(d *load.Definitions) *diag.List {
	_, diags := parseArtifacts(d)
	autosign(d, nil, diags)
	return diags
}

// Stream renders every artifact into sink and returns the build's files
// without their bytes, sorted by path — or nil, with the problems, when a
// template or the design is broken. With problems the sink has been given
// some files, and the build must not be used.
func Stream(d *load.Definitions, c *model.Cluster, sink Sink) ([]BuiltFile, *diag.List) {
	secrets := newSecrets(d)
	arts, diags := parseArtifacts(d)
	autosign(d, c, diags)
	if diags.Len() > 0 {
		return nil, diags
	}

	var jobs []job
	var late []*artifact
	for _, a := range arts {
		if a.text == nil {
			continue
		}
		if a.decl.AfterBuild {
			late = append(late, a)
			continue
		}
		jobs = append(jobs, expand(a, c)...)
	}
	files := run(jobs, secrets, sink, diags)
	for _, f := range copyTrees(d, c, arts, diags) {
		if err := sink.Put(f); err != nil {
			diags.Add(diag.Pos{}, "build", err.Error(), "make room or fix the build folder's permissions, then build again")
			return nil, diags
		}
		files = append(files, builtFile(f))
	}
	sortFiles(files)
	if len(late) > 0 {
		// The after_build artifacts (the runbook) turn a large text into
		// HTML in one piece, the build's peak of memory. Start them from a
		// collected heap, without the Puppet classes kept for the per-node
		// files (a late template that asks makes them again).
		secrets.classes.Clear()
		runtime.GC()
	}
	files = renderLate(late, c, files, secrets, sink, diags)
	checkPaths(files, diags)
	if diags.Len() > 0 {
		return nil, diags
	}
	return files, diags
}

// parseArtifacts lists the design's and the catalog modules' artifacts
// with their templates parsed, and reports each template that does not
// parse or names what the definitions lack (lint).
func parseArtifacts(d *load.Definitions) ([]*artifact, *diag.List) {
	diags := &diag.List{}
	var arts []*artifact
	if d == nil || d.Design == nil {
		return nil, diags
	}
	for i := range d.Design.Artifacts {
		arts = append(arts, &artifact{decl: &d.Design.Artifacts[i]})
	}
	for _, name := range d.ModuleNames() {
		m := d.Modules[name]
		for i := range m.Artifacts {
			arts = append(arts, &artifact{decl: &m.Artifacts[i], module: name})
		}
	}
	parsed := map[string]*template.Template{}
	for _, a := range arts {
		if a.decl.Copy.Value != "" {
			continue // copied verbatim, see copy.go
		}
		name := a.decl.Template.Value
		t, ok := parsed[name]
		if !ok {
			tmpl, found := d.Templates[name]
			if !found {
				continue // reported by validate
			}
			var err error
			t, err = parseTemplate(d, name, tmpl.Text)
			if err != nil {
				diags.Add(templatePos(err, tmpl.Display), "template "+name, templateMsg(err), "fix the template syntax")
				t = nil
			} else {
				for _, p := range lint(t, tmpl.Display, d) {
					diags.Add(p.Pos, p.Where, p.What, p.Fix)
				}
			}
			parsed[name] = t
		}
		a.text = t
		a.file = d.Templates[name].Display
		a.src = d.Templates[name].Text
		pt, err := template.New("path").Option("missingkey=error").Funcs(funcs(nil)).Parse(a.decl.Path.Value)
		if err != nil {
			diags.Add(a.decl.Path.Pos, "artifact "+name, "the output path is not a valid template: "+templateMsg(err), "write it like kickstart-{{.Node.Name}}.cfg")
			continue
		}
		a.path = pt
		a.mode = 0o644
		if a.decl.Mode.Value != "" {
			if m, err := strconv.ParseUint(a.decl.Mode.Value, 8, 32); err == nil {
				a.mode = fs.FileMode(m)
			}
		}
	}
	return arts, diags
}

// expand lists the files an artifact makes: one, or one per node, vm or
// role that passes its filter.
func expand(a *artifact, c *model.Cluster) []job {
	scope := a.decl.Scope.Value
	f := a.decl.Filter
	nodeOK := func(n *model.Node) bool {
		if a.module != "" && !n.Has(a.module) {
			return false
		}
		if len(f.Roles) > 0 && !hasScalar(f.Roles, n.Role) {
			return false
		}
		if f.Kind.Value != "" && f.Kind.Value != n.Kind {
			return false
		}
		for _, m := range f.Modules {
			if !n.Has(m.Value) {
				return false
			}
		}
		if f.BootMAC {
			if b := n.BootIface(); b == nil || b.MAC == "" {
				return false
			}
		}
		if f.State && !n.HasState() {
			return false
		}
		if f.Bootstrap {
			if r := c.Role(n.Role); r == nil || len(r.Bootstrap) == 0 {
				return false
			}
		}
		if len(f.OS) > 0 && !hasScalar(f.OS, c.OS) {
			return false
		}
		return true
	}
	var out []job
	switch scope {
	case "node", "vm":
		for _, n := range c.Nodes {
			if scope == "vm" && n.Kind != "vm" || !nodeOK(n) {
				continue
			}
			out = append(out, job{a: a, data: Data{Cluster: c, Node: n, Role: c.Role(n.Role)}, subj: n.Name})
		}
	case "role":
		for _, r := range c.Roles {
			if len(f.OS) > 0 && !hasScalar(f.OS, c.OS) {
				continue
			}
			if len(f.Roles) > 0 && !hasScalar(f.Roles, r.Name) || f.Kind.Value != "" && f.Kind.Value != r.Kind {
				continue
			}
			if a.module != "" && !contains(r.Modules, a.module) {
				continue
			}
			ok := true
			for _, m := range f.Modules {
				ok = ok && contains(r.Modules, m.Value)
			}
			if ok {
				out = append(out, job{a: a, data: Data{Cluster: c, Role: r}, subj: r.Name})
			}
		}
	case "network":
		if len(f.OS) > 0 && !hasScalar(f.OS, c.OS) {
			return nil
		}
		for _, net := range c.Networks {
			if len(f.Networks) > 0 && !hasScalar(f.Networks, net.Name) {
				continue
			}
			out = append(out, job{a: a, data: Data{Cluster: c, Network: net}, subj: net.Name})
		}
	default:
		if a.module != "" && len(c.NodesWith(a.module)) == 0 || len(f.OS) > 0 && !hasScalar(f.OS, c.OS) {
			return nil
		}
		out = append(out, job{a: a, data: Data{Cluster: c}})
	}
	return out
}

// run renders the jobs on all cores into sink, and returns the files made
// without their bytes. Each worker has its own clone of the templates so
// that a template's use of a secret marks its own file.
//
// Two jobs with the same template and the same data (a node's kickstart
// and its copy for the USB key) make the same bytes: the body is rendered
// once and shared, only the path is rendered for the second. Cluster-wide
// files go first, because one of them (nodes.pp, cluster.json at 10,000
// nodes) takes as long as thousands of small ones, and started last it
// would keep one core busy after the other has finished.
func run(jobs []job, secrets *secretStore, sink Sink, diags *diag.List) []BuiltFile {
	type body struct {
		text *template.Template
		data Data
	}
	// Only a template that two artifacts use can make the same body twice.
	arts := map[*template.Template]map[*artifact]bool{}
	for _, j := range jobs {
		if arts[j.a.text] == nil {
			arts[j.a.text] = map[*artifact]bool{}
		}
		arts[j.a.text][j.a] = true
	}
	firstOf := map[body]int{}
	copies := map[int][]int{} // job → the later jobs with the same body
	originals := make([]int, 0, len(jobs))
	for i, j := range jobs {
		if len(arts[j.a.text]) < 2 {
			originals = append(originals, i)
			continue
		}
		k := body{j.a.text, j.data}
		if o, ok := firstOf[k]; ok {
			copies[o] = append(copies[o], i)
			continue
		}
		firstOf[k] = i
		originals = append(originals, i)
	}
	sort.SliceStable(originals, func(x, y int) bool {
		return jobs[originals[x]].data.Node == nil && jobs[originals[y]].data.Node != nil
	})
	files := make([]BuiltFile, len(jobs))
	errs := make([]*diag.Diagnostic, len(jobs))
	var failed atomic.Bool // the sink failed: stop rendering
	stream, _ := sink.(StreamSink)
	put := func(i int, f File, problem *diag.Diagnostic) {
		f.src = &jobs[i]
		if problem == nil {
			var err error
			if f.out != nil {
				err = f.out.Commit(f)
			} else {
				err = sink.Put(f)
			}
			if err != nil {
				problem = sinkProblem(err, f.Path, f.decl)
				if problem.Where == "build" {
					failed.Store(true)
				}
			}
		}
		files[i], errs[i] = builtFile(f), problem
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(originals)/64))
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRenderer(secrets)
			for i := range next {
				if failed.Load() {
					continue
				}
				// A body that copies share stays in memory for them.
				r.stream = nil
				if len(copies[i]) == 0 {
					r.stream = stream
				}
				f, problem := r.render(jobs[i], nil)
				for _, c := range copies[i] {
					if problem != nil {
						put(c, File{}, problem)
						continue
					}
					cf, cp := r.render(jobs[c], &f)
					put(c, cf, cp)
				}
				put(i, f, problem)
				r.shrink()
			}
		}()
	}
	for _, i := range originals {
		next <- i
	}
	close(next)
	wg.Wait()
	// A template that fails for one node usually fails for all of them:
	// say so once, naming the first node and how many others.
	type key struct {
		pos  diag.Pos
		what string
	}
	first := map[key]*diag.Diagnostic{}
	more := map[key]int{}
	var order []key
	out := files[:0]
	for i, f := range files {
		if e := errs[i]; e != nil || failed.Load() {
			if e == nil {
				continue
			}
			// The same words but for the node's name (a file of its
			// own that fails the same way) are one problem too.
			what := e.What
			if subj := jobs[i].subj; subj != "" {
				what = strings.ReplaceAll(what, subj, "\x00")
			}
			k := key{e.Pos, what}
			if first[k] == nil {
				first[k] = e
				order = append(order, k)
			} else {
				more[k]++
			}
			continue
		}
		out = append(out, f)
	}
	for _, k := range order {
		e := first[k]
		where := e.Where
		if n := more[k]; n > 0 {
			where += fmt.Sprintf(" (and %d more)", n)
		}
		diags.Add(e.Pos, where, e.What, e.Fix)
	}
	return out
}

// renderer is one worker's templates, cloned so that its secret function
// can record use for the file being rendered.
type renderer struct {
	secrets    *secretStore
	usedSecret bool
	// masks and opaque: see File.Masks, for the body being rendered.
	masks  []string
	opaque bool
	// fileNode is the node whose own file is being rendered (nil for a
	// file of the cluster or a role).
	fileNode *model.Node
	clones   map[*template.Template]*template.Template
	buf      bytes.Buffer // the body being rendered
	pathBuf  bytes.Buffer
	stream   StreamSink // set when the sink takes files as they are written
}

func newRenderer(s *secretStore) *renderer {
	return &renderer{secrets: s, clones: map[*template.Template]*template.Template{}}
}

func (r *renderer) clone(t *template.Template) *template.Template {
	if c, ok := r.clones[t]; ok {
		return c
	}
	c := bindInclude(template.Must(t.Clone()).Funcs(funcs(r)))
	r.clones[t] = c
	return c
}

// shrink lets go of a buffer grown for one big file (cluster.json is tens
// of megabytes at 10,000 nodes), so that it is not kept for the rest of
// the build by every worker.
func (r *renderer) shrink() {
	if r.buf.Cap() > 1<<20 {
		r.buf = bytes.Buffer{}
	}
}

// render renders a job's path and body; with from set, the body is from's
// (rendered from the same template and data).
func (r *renderer) render(j job, from *File) (File, *diag.Diagnostic) {
	a := j.a
	where := "template " + a.decl.Template.Value
	if j.subj != "" {
		where += " for " + j.subj
	}
	r.pathBuf.Reset() // not buf: a copy's body (from) may be buf's bytes
	if err := a.path.Execute(&r.pathBuf, j.data); err != nil {
		return File{}, &diag.Diagnostic{Pos: a.decl.Path.Pos, Where: where, What: "the output path cannot be written: " + templateMsg(err), Fix: "the path template sees .Cluster, .Node and .Role"}
	}
	p := r.pathBuf.String()
	if clean := path.Clean(p); clean != p || !fs.ValidPath(p) || p == "." || p == ManifestName {
		return File{}, &diag.Diagnostic{Pos: a.decl.Path.Pos, Where: where, What: fmt.Sprintf("the output path %q is not a plain relative path inside the build folder", p),
			Fix: "use a relative path without .., leading / or doubled slashes"}
	}
	if why := unwritablePath(p); why != "" {
		return File{}, &diag.Diagnostic{Pos: a.decl.Path.Pos, Where: where, What: fmt.Sprintf("the output path %q %s", p, why),
			Fix: "build the path from names (the node's, the role's), not from free text"}
	}
	if from == nil {
		if d := a.tooDeep.Load(); d != nil {
			// It recursed without end for another job: seconds each,
			// hours over 10,000 nodes. The same answer for this one.
			return File{}, &diag.Diagnostic{Pos: d.Pos, Where: where, What: d.What, Fix: d.Fix}
		}
	}
	var data []byte
	var usedSecret bool
	var masks []string
	var opaque bool
	var out FileWriter
	r.fileNode = j.data.Node
	if from == nil && r.stream != nil && j.data.Node == nil {
		// A cluster-wide file, perhaps a large one: straight into the sink.
		w, err := r.stream.Create(p)
		if err != nil {
			return File{}, sinkProblem(err, p, a.decl.Path.Pos)
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		r.usedSecret, r.masks, r.opaque = false, nil, false
		if err := r.clone(a.text).Execute(bw, j.data); err != nil {
			w.Abort()
			return File{}, r.execProblem(err, j, where)
		}
		if err := bw.Flush(); err != nil {
			w.Abort()
			return File{}, &diag.Diagnostic{Where: "build", What: err.Error(), Fix: "make room or fix the build folder's permissions, then build again"}
		}
		out, usedSecret = w, r.usedSecret
		masks, opaque = r.masks, r.opaque
	} else if from != nil {
		data, usedSecret = from.Data, from.usedSecret
		masks, opaque = from.Masks, from.Opaque
	} else {
		r.usedSecret, r.masks, r.opaque = false, nil, false
		r.buf.Reset()
		if err := r.clone(a.text).Execute(&r.buf, j.data); err != nil {
			return File{}, r.execProblem(err, j, where)
		}
		// The bytes are the renderer's buffer, valid until its next
		// render: a Sink copies what it keeps.
		data, usedSecret = r.buf.Bytes(), r.usedSecret
		masks, opaque = r.masks, r.opaque
	}
	f := File{Path: p, Data: data, Mode: a.mode, Secret: a.decl.Secret || usedSecret, Origin: a.decl.Template.Value, Doc: a.decl.Doc, usedSecret: usedSecret, out: out, decl: a.decl.Path.Pos, Masks: masks, Opaque: opaque || a.decl.Secret}
	if j.subj != "" {
		f.Origin += "@" + j.subj
	}
	if j.data.Node != nil {
		f.Node = j.data.Node.Name
	}
	if f.Secret {
		f.Mode = 0o600
	}
	return f, nil
}

// ManifestName is the file in every build that lists the others.
const ManifestName = "MANIFEST"

var tmplErr = regexp.MustCompile(`^template: [^:]*:(\d+)(?::(\d+))?: (.*)$`)

func templatePos(err error, file string) diag.Pos {
	p := diag.Pos{File: file}
	if m := tmplErr.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Col, _ = strconv.Atoi(m[2])
	}
	return p
}

func templateMsg(err error) string {
	s := err.Error()
	if m := tmplErr.FindStringSubmatch(s); m != nil {
		s = m[3]
	} else {
		s = strings.TrimPrefix(s, "template: ")
	}
	// The template's own words (fail "…") need no quote of the call;
	// another function's error is the call and what it said.
	if _, msg, ok := strings.Cut(s, "error calling fail: "); ok {
		return msg
	}
	if m := execCall.FindStringSubmatch(s); m != nil {
		return "<" + m[1] + ">: " + m[2]
	}
	return s
}

var execCall = regexp.MustCompile(`^executing "[^"]*" at <(.*?)>: error calling [^:]+: (.*)$`)

func hasScalar(l []yamlScalar, s string) bool {
	for _, x := range l {
		if x.Value == s {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
