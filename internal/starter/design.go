package starter

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/load"
)

// siteOver is a design folder seen as a site folder with design: none: a
// made-up site.yaml over the design's own files, so that the design loads
// without a site.
type siteOver struct {
	site fstest.MapFS
	dir  fs.FS
}

func (o siteOver) Open(name string) (fs.File, error) {
	if name == load.SiteFile {
		return o.site.Open(name)
	}
	return o.dir.Open(name)
}

// loadDesignDir reads the design in folder dir (design.yaml, roles/,
// catalog/, templates/).
func loadDesignDir(dir string) (*load.Definitions, error) {
	if _, err := os.Stat(filepath.Join(dir, "design.yaml")); err != nil {
		return nil, fmt.Errorf("%s is not a design folder (it has no design.yaml)", dir)
	}
	d, _ := load.FS(siteOver{site: fstest.MapFS{load.SiteFile: {Data: []byte("cluster: x\ndesign: none\n")}}, dir: os.DirFS(dir)}, filepath.ToSlash(filepath.Clean(dir))+"/")
	if d == nil || d.Design == nil {
		return nil, fmt.Errorf("cannot load the design in %s", dir)
	}
	return d, nil
}

// designSecrets are the secrets a design's templates and modules name.
func designSecrets(d *load.Definitions) []string {
	seen := map[string]bool{}
	for _, u := range d.Design.Secrets {
		seen[u.Name.Value] = true
	}
	for _, m := range d.Modules {
		for _, p := range m.Parameters {
			if p.Type.Value == "secret" && p.Default != nil && p.Default.Value != "" {
				seen[p.Default.Value] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// comment is one line of prose as a YAML comment's text.
func comment(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// generatedSite writes a commented site.yaml for design d (at path ref, as
// site.yaml's design: key says) from its networks, roles and secrets:
// each network an address block, each role its count and start addresses
// on its networks, each secret its file.
func generatedSite(d *load.Definitions, ref, cluster string) []byte {
	var b bytes.Buffer
	ds := d.Design
	name := ds.Name
	if name == "" {
		name = filepath.Base(ref)
	}
	fmt.Fprintf(&b, "# A site of the %s design, written by kiln init from the design's roles.\n", name)
	if ds.Description != "" {
		fmt.Fprintf(&b, "# %s\n", comment(ds.Description))
	}
	b.WriteString("# Replace the placeholder addresses with yours, set the counts, then\n# kiln check and kiln build.\n")
	fmt.Fprintf(&b, "cluster: %s\ndomain: %s.example.org   # the cluster's DNS domain\nos: el9\ndesign: %s\n\nnetworks:\n", cluster, cluster, yamlString(ref))
	octet := map[string]int{}
	for i, n := range ds.Networks {
		octet[n.Name.Value] = 100 + i
		note := comment(n.Doc)
		if n.Provisioning {
			note = strings.TrimSpace(note + " Nodes install over it.")
		}
		fmt.Fprintf(&b, "  %s:", n.Name.Value)
		if note != "" {
			fmt.Fprintf(&b, "   # %s", note)
		}
		// Each network its own domain: a file per network (a zone) has a
		// name of its own.
		fmt.Fprintf(&b, "\n    cidr: 10.%d.0.0/16\n    domain: %s.%s.internal\n", octet[n.Name.Value], n.Name.Value, cluster)
	}
	b.WriteString("\nnodes:\n")
	roles := d.RoleNames()
	for ri, rn := range roles {
		r := d.Roles[rn]
		count, bounds := 1, ""
		if r.Count != nil {
			count = max(r.Count.Min, 1)
			if r.Count.Max != nil {
				count = min(count, *r.Count.Max)
				bounds = fmt.Sprintf(", %d to %d nodes", r.Count.Min, *r.Count.Max)
			} else {
				bounds = fmt.Sprintf(", at least %d", r.Count.Min)
			}
		}
		kind := r.Kind.Value
		if kind == "" {
			kind = "physical"
		}
		if kind == "vm" && r.Host.Value != "" {
			kind = "VMs on " + r.Host.Value
		}
		fmt.Fprintf(&b, "  %s:   # %s (%s%s)\n    count: %d\n", rn, comment(r.Description), kind, bounds, count)
		var starts []string
		for _, i := range r.Interfaces {
			if o, ok := octet[i.Network.Value]; ok {
				starts = append(starts, fmt.Sprintf("%s: 10.%d.%d.1", i.Network.Value, o, ri+1))
			}
		}
		if len(starts) > 0 {
			fmt.Fprintf(&b, "    start: {%s}\n", strings.Join(starts, ", "))
		}
	}
	var required []string
	for _, mn := range d.ModuleNames() {
		m := d.Modules[mn]
		for _, pn := range sortedParams(m) {
			if p := m.Parameters[pn]; p.Required {
				required = append(required, fmt.Sprintf("#  %s: {%s: ...}   # required: %s", mn, pn, comment(p.Doc)))
			}
		}
	}
	if len(required) > 0 {
		b.WriteString("\n# Parameters the design's modules require: set each.\n#parameters:\n")
		b.WriteString(strings.Join(required, "\n") + "\n")
	}
	secrets := designSecrets(d)
	if len(secrets) > 0 {
		b.WriteString("\nsecrets:   # made by kiln init (random, 0600); keep them out of version control\n")
		docs := map[string]string{}
		for _, u := range ds.Secrets {
			docs[u.Name.Value] = u.Doc
		}
		for _, s := range secrets {
			fmt.Fprintf(&b, "  %s: {file: secrets/%s}", s, s)
			if docs[s] != "" {
				fmt.Fprintf(&b, "   # %s", comment(docs[s]))
			}
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

func sortedParams(m *defs.Module) []string {
	out := make([]string, 0, len(m.Parameters))
	for k := range m.Parameters {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// yamlString quotes a path for YAML when it needs it.
func yamlString(s string) string {
	if strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`") || strings.TrimSpace(s) != s {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}
