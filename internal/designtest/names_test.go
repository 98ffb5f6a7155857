package designtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// allowed are string literals that spell a tier3 name but mean something
// else, each with why.
var allowed = map[string]string{
	"cmd/kiln/cmd_identity.go: public":             "kiln identity import's keyword for a file kept unencrypted, not the network",
	"cmd/kiln/cmd_backup.go: backup":               "the kiln backup verb",
	"cmd/kiln/cmd_backup.go: head":                 "kiln backup's --head flag (the install server, whatever the design calls it)",
	"cmd/kiln/cmd_recover.go: .kiln-recover-head-": "the temporary folder of kiln recover --head",
	"cmd/kiln/cmd_recover.go: head":                "kiln recover's --head flag (the install server, whatever the design calls it)",
	"cmd/kiln/suggest.go: puppet-signed":           "the install state after the node's Puppet certificate is signed",
	"internal/selector/selector.go: puppet-signed": "the install state, which state:puppet-signed selects",
	"internal/selector/selector.go: role:worker":   "the example in the message for a bare role: (any role name would do)",
	"internal/resolve/refs.go: gateway":            "a network's gateway in ${NODE.NETWORK.gateway}, not the module",
	"internal/state/machine.go: puppet-signed":     "the install state after the node's Puppet certificate is signed",
	"internal/state/state.go: puppet-signed":       "the install state after the node's Puppet certificate is signed",
	// A leak left: the accounts a username parameter may not take are
	// the EL packages' of the tier3 design; they belong in the design.
	"internal/ptype/ptype.go: condor": "system account (see above)",
	"internal/ptype/ptype.go: ldap":   "system account (see above)",
	"internal/ptype/ptype.go: squid":  "system account (see above)",
	"internal/ptype/ptype.go: xrootd": "system account (see above)",
	"internal/ptype/ptype.go: cvmfs":  "system account (see above)",
	"internal/ptype/ptype.go: puppet": "system account (see above)",
}

// skipped are packages whose literals are another program's vocabulary:
// pykickstart's grammar has its own firewall, nfs and --proxy.
var skipped = []string{"internal/kickstart/"}

// TestGoCodeNamesNoTier3RoleModuleOrNetwork: kiln's Go code (tests and
// messages aside) names none of the tier3 design's roles, catalog modules
// or networks, so any design works without a change to it. A string
// literal with a space is a message; any other that holds such a name as
// a word (a key, a path, a file name) is code that knows tier3.
func TestGoCodeNamesNoTier3RoleModuleOrNetwork(t *testing.T) {
	design := "../builtin/designs/tier3"
	var names []string
	for _, dir := range []string{"roles", "catalog"} {
		entries, err := os.ReadDir(filepath.Join(design, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	data, err := os.ReadFile(filepath.Join(design, "design.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Networks []struct{ Name string } `yaml:"networks"`
	}
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	for _, n := range d.Networks {
		names = append(names, n.Name)
	}
	if !contains(names, "public") || !contains(names, "install_server") || !contains(names, "head") {
		t.Fatalf("the tier3 names found are incomplete: %v", names)
	}
	word := map[string]*regexp.Regexp{}
	for _, n := range names {
		word[n] = regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(n) + `($|[^A-Za-z0-9_])`)
	}
	var found []string
	for _, root := range []string{"../../cmd", ".."} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasSuffix(p, "internal/builtin/designs")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			// internal/... and cmd/... relative to the module root.
			rel := strings.TrimPrefix(strings.TrimPrefix(filepath.ToSlash(p), "../../"), "../")
			if !strings.HasPrefix(rel, "cmd/") {
				rel = "internal/" + rel
			}
			for _, sk := range skipped {
				if strings.HasPrefix(rel, sk) {
					return nil
				}
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n.(type) {
				case *ast.ImportSpec:
					return false // a package path
				case *ast.Field:
					if fl := n.(*ast.Field); fl.Tag != nil {
						return false // a struct tag names the JSON or YAML key
					}
				}
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || strings.ContainsAny(s, " \n") {
					return true // a message, or prose
				}
				for _, name := range names {
					if word[name].MatchString(s) {
						if _, ok := allowed[rel+": "+strings.Trim(s, "\"")]; !ok {
							found = append(found, rel+": "+strconv.Quote(s)+" names tier3's "+name)
						}
					}
				}
				return true
			})
			return nil
		})
	}
	sort.Strings(found)
	for _, f := range found {
		t.Error(f)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
