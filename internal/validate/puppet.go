package validate

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/puppet"
)

// artifactKind checks that an artifact is either a template or a copied
// folder, and the rules that go with each.
func (v *checker) artifactKind(a *defs.Artifact, where string) {
	switch {
	case a.Template.Value == "" && a.Copy.Value == "":
		v.diags.Add(a.Pos, where, "the artifact names neither a template nor a folder to copy", "add template: NAME (under templates/) or copy: FOLDER")
		return
	case a.Template.Value != "" && a.Copy.Value != "":
		v.diags.Add(a.Copy.Pos, where, "the artifact names both a template and a folder to copy", "keep one: an artifact is either rendered or copied")
		return
	}
	if a.ENC && a.Scope.Value != "node" {
		v.diags.Add(a.KeyPos["enc"], where, "the ENC artifact must have scope node: kiln enc prints one node's answer", "set scope: node")
	}
	if a.Copy.Value == "" {
		return
	}
	if a.Scope.Value != "" && a.Scope.Value != "cluster" {
		v.diags.Add(a.Scope.Pos, where, "a copied folder is the same for the whole cluster", "remove scope:, or render a template per node instead")
	}
	if a.ENC {
		v.diags.Add(a.KeyPos["enc"], where, "a copied folder cannot be the ENC answer", "mark a node-scoped template artifact with enc: true")
	}
	src := path.Clean(a.Copy.Value)
	if strings.HasPrefix(src, "../") || src == ".." || strings.HasPrefix(a.Copy.Value, "/") || src == "." {
		v.diags.Add(a.Copy.Pos, where, fmt.Sprintf("%q is not a folder inside the design", a.Copy.Value), "name a folder relative to design.yaml, e.g. puppet/modules")
		return
	}
	files, err := v.d.Sources.Walk(src)
	if err != nil {
		v.diags.Add(a.Copy.Pos, where, "cannot read the folder: "+err.Error(), "check the folder's permissions")
		return
	}
	if len(files) == 0 {
		v.diags.Add(a.Copy.Pos, where, fmt.Sprintf("there is no folder %q (or it is empty) in the design or the site folder", src), "create it, or remove the artifact")
	}
}

// puppet checks what the design says about Puppet: at most one ENC
// artifact, and that every catalog module's class takes exactly the
// parameters the module declares (the parity check).
func (v *checker) puppet() {
	var encs []*defs.Artifact
	for i := range v.d.Design.Artifacts {
		if v.d.Design.Artifacts[i].ENC {
			encs = append(encs, &v.d.Design.Artifacts[i])
		}
	}
	for _, name := range v.d.ModuleNames() {
		for i := range v.d.Modules[name].Artifacts {
			if v.d.Modules[name].Artifacts[i].ENC {
				encs = append(encs, &v.d.Modules[name].Artifacts[i])
			}
		}
	}
	for _, a := range encs[min(1, len(encs)):] {
		v.diags.Add(a.KeyPos["enc"], "artifact "+a.Template.Value, fmt.Sprintf("%s is already the ENC artifact; kiln enc prints one answer per node", encs[0].Template.Value),
			"keep enc: true on one artifact")
	}
	v.parity()
}

// parity compares each catalog module's parameters with the parameter list
// of its Puppet class, when the design ships the class's manifests (in a
// copied folder). A parameter on one side only is an error naming both
// files. Designs that ship no manifests at all are not checked.
func (v *checker) parity() {
	classes := map[string]*puppet.Class{}
	var roots []string
	scanned := map[string]bool{}
	for _, a := range v.copyArtifacts() {
		if scanned[path.Clean(a.Copy.Value)] {
			continue // the same folder, copied twice
		}
		scanned[path.Clean(a.Copy.Value)] = true
		files, err := v.d.Sources.Walk(path.Clean(a.Copy.Value))
		if err != nil {
			continue // reported by artifactKind
		}
		shipped := false
		for _, f := range files {
			if !strings.HasSuffix(f.Rel, ".pp") || !strings.Contains(f.Rel, "/manifests/") {
				continue
			}
			shipped = true
			found, err := puppet.ParseClasses(f.Display, f.Data)
			if err != nil {
				v.diags.Add(diag.Pos{File: f.Display}, "manifest", "cannot read the class definitions: "+err.Error(), "check the manifest with puppet parser validate")
				continue
			}
			for _, c := range found {
				if prev, dup := classes[c.Name]; dup {
					v.diags.Add(diag.Pos{File: c.File, Line: c.Line}, "class "+c.Name, "the class is also defined in "+prev.File, "keep one definition")
					continue
				}
				classes[c.Name] = c
			}
		}
		if shipped {
			roots = append(roots, path.Clean(a.Copy.Value))
		}
	}
	if len(roots) == 0 {
		return
	}
	for _, name := range v.d.ModuleNames() {
		m := v.d.Modules[name]
		if m.Class.Value == "" || !puppetClass.MatchString(m.Class.Value) {
			continue
		}
		where := "module " + name
		c := classes[m.Class.Value]
		if c == nil {
			v.diags.Add(m.Class.Pos, where, fmt.Sprintf("class %s is defined in no manifest under %s", m.Class.Value, strings.Join(roots, ", ")),
				fmt.Sprintf("write it in %s/%s, or correct class:", roots[0], classFile(m.Class.Value)))
			continue
		}
		for _, pn := range sortedKeys(m.Parameters) {
			p := m.Parameters[pn]
			cp := c.Param(pn)
			if cp == nil {
				v.diags.Add(p.Pos, where+" parameter "+pn, fmt.Sprintf("class %s in %s has no parameter $%s", c.Name, c.File, pn),
					fmt.Sprintf("add it to the class's parameter list (%s:%d), or remove it from %s", c.File, c.Line, m.File))
				continue
			}
			hasDefault := p.Default != nil && p.Default.Tag != "!!null"
			if !cp.HasDefault && !hasDefault && !p.Required {
				v.diags.Add(p.Pos, where+" parameter "+pn, fmt.Sprintf("neither the catalog nor class %s (%s:%d) gives $%s a value, so Puppet would fail on every node", c.Name, c.File, cp.Line, pn),
					"give the parameter a default in the catalog, or required: true")
			}
		}
		var extra []puppet.Param
		for _, cp := range c.Params {
			if _, ok := m.Parameters[cp.Name]; !ok {
				extra = append(extra, cp)
			}
		}
		sort.Slice(extra, func(i, j int) bool { return extra[i].Line < extra[j].Line })
		for _, cp := range extra {
			v.diags.Add(diag.Pos{File: c.File, Line: cp.Line}, "class "+c.Name, fmt.Sprintf("parameter $%s is not declared in %s", cp.Name, m.File),
				fmt.Sprintf("declare it under parameters: in %s, or remove it from the class", m.File))
		}
	}
}

// copyArtifacts lists the copy artifacts of the design and of the catalog's
// modules.
func (v *checker) copyArtifacts() []*defs.Artifact {
	var out []*defs.Artifact
	add := func(as []defs.Artifact) {
		for i := range as {
			if as[i].Copy.Value != "" {
				out = append(out, &as[i])
			}
		}
	}
	add(v.d.Design.Artifacts)
	for _, name := range v.d.ModuleNames() {
		add(v.d.Modules[name].Artifacts)
	}
	return out
}

// classFile is where Puppet's autoloader looks for a class, relative to
// the modules folder: a::b in a/manifests/b.pp, a in a/manifests/init.pp.
func classFile(class string) string {
	parts := strings.Split(class, "::")
	if len(parts) == 1 {
		return parts[0] + "/manifests/init.pp"
	}
	return parts[0] + "/manifests/" + strings.Join(parts[1:], "/") + ".pp"
}
