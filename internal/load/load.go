// Package load finds and parses a site's definition files: the embedded (or
// named) design with its catalog and templates, shadowed file by file by the
// site folder, and the site's own site.yaml.
//
// Layout, the same in every layer:
//
//	site.yaml                      the site (site folder only)
//	design.yaml                    the design file
//	roles/<role>.yaml              one file per role
//	catalog/<module>/module.yaml   one folder per catalog module
//	templates/...                  artifact templates
package load

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
)

// SiteFile is the name of the site file in a site folder.
const SiteFile = "site.yaml"

// DefaultDesign is the embedded design used when site.yaml names none.
const DefaultDesign = "tier3"

// Definitions is everything a site's build reads, as written.
type Definitions struct {
	Site      *defs.Site
	Design    *defs.Design
	Roles     map[string]*defs.Role
	Modules   map[string]*defs.Module
	Templates map[string]Template

	// SiteFS is the site folder; SiteDir its path on disk ("" for an
	// embedded example).
	SiteFS  fs.FS
	SiteDir string
	// Display is how the site folder is named in messages, e.g. "demo/".
	Display string
	Sources Sources

	// Unreadable names the roles, modules and templates whose file exists
	// but could not be read or parsed ("role worker", "module squid",
	// "template x.tmpl"): the problem is reported once, at the file, and a
	// later check that misses the definition says nothing more of it.
	Unreadable map[string]bool
}

// Template is an artifact template's text.
type Template struct {
	Name    string // path under templates/
	Display string
	Text    string
}

// RoleNames returns the roles in a stable order (by name).
func (d *Definitions) RoleNames() []string { return sortedKeys(d.Roles) }

// ModuleNames returns the catalog's modules by name.
func (d *Definitions) ModuleNames() []string { return sortedKeys(d.Modules) }

// Dir loads the site in folder dir. The definitions are returned even when
// some files have problems, so that later stages can report theirs in the
// same run; they are nil only when there is no site to read at all (no
// site.yaml, or one that is not YAML).
func Dir(dir string) (*Definitions, *diag.List) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		var l diag.List
		l.Add(diag.Pos{File: dir}, "", "there is no site folder here",
			"give the folder that holds site.yaml with -C DIR, or create one with kiln init DIR")
		return nil, &l
	}
	display := filepath.ToSlash(filepath.Clean(dir)) + "/"
	if display == "./" {
		display = ""
	}
	return load(os.DirFS(dir), dir, display)
}

// Example loads an example site embedded in the binary.
func Example(name string) (*Definitions, *diag.List) {
	f, ok := builtin.Example(name)
	if !ok {
		var l diag.List
		l.Add(diag.Pos{}, "", fmt.Sprintf("there is no embedded example called %q", name), diag.DidYouMean(name, builtin.Examples()))
		return nil, &l
	}
	return load(f, "", "(example "+name+")/")
}

func load(siteFS fs.FS, siteDir, display string) (*Definitions, *diag.List) {
	diags := &diag.List{}
	d := &Definitions{SiteFS: siteFS, SiteDir: siteDir, Display: display}

	data, err := ReadFile(siteFS, SiteFile)
	if err != nil {
		fix := "create it with kiln init, or point -C at the folder that holds it"
		if errors.Is(err, ErrTooLarge) {
			fix = "a site.yaml is a few KiB: is this the right file?"
		}
		diags.Add(diag.Pos{File: display + SiteFile}, "", "cannot read the site file: "+friendly(err), fix)
		return nil, diags
	}
	d.Site = defs.ParseSite(display+SiteFile, data, diags)
	siteParsed := d.Site != nil
	if d.Site == nil {
		d.Site = &defs.Site{File: display + SiteFile}
	}

	base, err := baseLayer(d.Site, siteFS, siteDir, display)
	if err != nil {
		diags.Add(d.Site.Design.Pos, "", err.Error(), "write design: tier3 (embedded), design: none, or the path of a design folder")
		return nil, diags
	}
	if base.FS != nil {
		d.Sources = append(d.Sources, base)
	}
	d.Sources = append(d.Sources, Layer{FS: siteFS, Display: display})

	if f, ok, err := d.Sources.read("design.yaml", nil); err != nil {
		diags.Add(diag.Pos{File: f.Display}, "", "cannot read the design file: "+friendly(err), unreadableFix(err))
	} else if ok {
		d.Design = defs.ParseDesign(f.Display, f.Data, diags)
	} else {
		diags.Add(diag.Pos{File: display + "design.yaml"}, "", "there is no design file",
			"with design: none the site folder must hold design.yaml, roles/ and catalog/ itself")
	}
	if d.Design == nil {
		d.Design = &defs.Design{File: display + "design.yaml"}
	}

	d.Roles = map[string]*defs.Role{}
	d.Unreadable = map[string]bool{}
	roles, bad := d.Sources.GlobEach("roles/*.yaml")
	d.unreadable(bad, diags, "role", func(rel string) string { return strings.TrimSuffix(path.Base(rel), ".yaml") })
	for _, f := range roles {
		name := strings.TrimSuffix(path.Base(f.Rel), ".yaml")
		r := defs.ParseRole(f.Display, f.Data, diags)
		if r == nil {
			d.Unreadable["role "+name] = true
			continue
		}
		if r.Name != "" && r.Name != name {
			diags.Add(r.KeyPos["name"], "role "+name, fmt.Sprintf("the role says its name is %q but its file is %s", r.Name, path.Base(f.Rel)),
				"make the two agree: a role's name is its file name")
		}
		r.Name = name
		d.Roles[name] = r
	}

	d.Modules = map[string]*defs.Module{}
	mods, bad := d.Sources.GlobEach("catalog/*/module.yaml")
	d.unreadable(bad, diags, "module", func(rel string) string { return path.Base(path.Dir(rel)) })
	for _, f := range mods {
		name := path.Base(path.Dir(f.Rel))
		m := defs.ParseModule(f.Display, f.Data, diags)
		if m == nil {
			d.Unreadable["module "+name] = true
			continue
		}
		if m.Name != "" && m.Name != name {
			diags.Add(m.KeyPos["name"], "module "+name, fmt.Sprintf("the module says its name is %q but its folder is catalog/%s", m.Name, name),
				"make the two agree: a module's name is its folder name")
		}
		m.Name = name
		d.Modules[name] = m
	}

	d.Templates = map[string]Template{}
	tmpls, bad := d.Sources.WalkEach("templates")
	d.unreadable(bad, diags, "template", func(rel string) string { return strings.TrimPrefix(rel, "templates/") })
	for _, f := range tmpls {
		name := strings.TrimPrefix(f.Rel, "templates/")
		d.Templates[name] = Template{Name: name, Display: f.Display, Text: string(f.Data)}
	}
	if !siteParsed {
		// site.yaml is not YAML: the design's files were read for their own
		// syntax errors, but checking an empty site against the design would
		// only add a message for every node and secret it lacks.
		return nil, diags
	}
	return d, diags
}

// baseLayer picks the layer under the site folder from site.yaml's design key.
func baseLayer(s *defs.Site, siteFS fs.FS, siteDir, display string) (Layer, error) {
	name := DefaultDesign
	if s != nil && s.Design.Value != "" {
		name = s.Design.Value
	}
	if name == "none" {
		return Layer{}, nil
	}
	if f, ok := builtin.Design(name); ok {
		return Layer{FS: f, Display: "(embedded " + name + ")/"}, nil
	}
	if strings.ContainsAny(name, "/.") && siteDir != "" {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(siteDir, p)
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return Layer{FS: os.DirFS(p), Display: filepath.ToSlash(filepath.Clean(p)) + "/"}, nil
		}
		return Layer{}, fmt.Errorf("the design folder %s does not exist", p)
	}
	hint := diag.DidYouMean(name, builtin.Designs())
	if siteDir != "" {
		if st, err := os.Stat(filepath.Join(siteDir, name)); err == nil && st.IsDir() {
			hint = fmt.Sprintf("for the folder %s beside site.yaml write design: ./%s", name, name)
		}
	}
	return Layer{}, fmt.Errorf("there is no embedded design called %q (%s)", name, hint)
}

func friendly(err error) string { return Friendly(err) }

func unreadableFix(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "a definition file is a few KiB: replace it with the file you meant"
	case errors.Is(err, syscall.ELOOP), errors.Is(err, fs.ErrNotExist):
		return "point the link at a real file, or remove it"
	case errors.Is(err, fs.ErrPermission):
		return "make it readable by the user running kiln (chmod a+r)"
	}
	return "remove it, or replace it with the definition file it should be"
}

// unreadable reports each file that could not be read, and marks what it
// defines (named by name from its path) as unreadable.
func (d *Definitions) unreadable(bad []FileError, diags *diag.List, what string, name func(rel string) string) {
	for _, b := range bad {
		what := "this file"
		if b.Folder {
			what = "this folder"
		}
		diags.Add(diag.Pos{File: b.Display}, "", "cannot read "+what+": "+b.Why(), unreadableFix(b.Err))
		rel := b.Display
		for _, l := range d.Sources {
			if strings.HasPrefix(rel, l.Display) {
				rel = strings.TrimPrefix(rel, l.Display)
				break
			}
		}
		d.Unreadable[what+" "+name(rel)] = true
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FS loads a site from any file system, e.g. one built in memory; display
// prefixes the file names in messages.
func FS(siteFS fs.FS, display string) (*Definitions, *diag.List) {
	return load(siteFS, "", display)
}
