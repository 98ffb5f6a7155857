package render

import (
	"sort"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/load"
)

// LibDir is the folder under templates/ whose files hold definitions
// ({{ define "name" }}) every template of the design sees: shared pieces
// (a file header, a firewall rule set) written once.
const LibDir = "_lib/"

// IsLib says whether a template is a shared definition file, not one an
// artifact renders.
func IsLib(name string) bool { return strings.HasPrefix(name, LibDir) }

// parseTemplate parses a template of the design with the definitions of
// every file under templates/_lib/ (sorted by name: a later file's define
// of the same name wins, as text/template does).
func parseTemplate(d *load.Definitions, name, text string) (*template.Template, error) {
	t := template.New(name).Option("missingkey=error").Funcs(funcs(nil))
	var libs []string
	for n := range d.Templates {
		if IsLib(n) {
			libs = append(libs, n)
		}
	}
	sort.Strings(libs)
	for _, n := range libs {
		if _, err := t.New(n).Parse(d.Templates[n].Text); err != nil {
			return nil, err
		}
	}
	return t.Parse(text)
}
