package render

import (
	"fmt"
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

func init() { funcGroups = append(funcGroups, libFuncs) }

// libFuncs: include NAME DATA is what {{ template NAME DATA }} writes, as
// a string a template can pass on (to shquote, xml, printf): a shared
// definition (templates/_lib/) used as a value. The renderer binds it to
// the template being run (see renderer.clone).
func libFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			return "", fmt.Errorf("include %q is run only while rendering", name)
		},
	}
}

// bindInclude makes c's include run c's own definitions.
func bindInclude(c *template.Template) *template.Template {
	return c.Funcs(template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			if err := c.ExecuteTemplate(&b, name, data); err != nil {
				return "", err
			}
			return b.String(), nil
		},
	})
}
