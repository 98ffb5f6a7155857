// Package injecttest plants hostile values into every text parameter of
// every module a design's roles run (and into the users' fields of
// site.yaml), and checks that each one is refused by kiln check, or that
// every file of the build that carries it still reads, in the program that
// reads it, to the same structure as with a harmless value in its place.
package injecttest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
	"mvdan.cc/sh/v3/syntax"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/kickstart"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/ptype"
	"kiln.dev/kiln/internal/testutil"
)

// A hostile class is one way a value tries to leave its place. The ones
// with a control character must all be refused by kiln check (every text
// type but text is one line, and no catalog parameter is text).
type class struct {
	name      string
	value     string
	multiline bool
	rule      bool // a valid nftables rule: kept in nftrule parameters too
}

var classes = []class{
	{"newline and directive", "UTC\n%post\ntouch /tmp/kiln-pwned\n%end", true, false},
	{"carriage return", "production\rserver = evil.example.org", true, false},
	{"heredoc terminator", "x\nKILN_EOF\ntouch /tmp/kiln-pwned\ncat <<'KILN_EOF'", true, false},
	{"LDIF continuation", "x\n uidNumber: 0\n\ndn: uid=evil,dc=x\nuidNumber: 0", true, false},
	{"NUL", "x\x00y", true, false},
	{"escape sequence", "x\x1b]0;owned\x07", true, false},
	{"quote breaking", `x'y"z\`, false, false},
	{"command substitution", "$(touch /tmp/kiln-pwned)`touch /tmp/kiln-pwned`$HOME", false, false},
	{"reference lookalike", "${HOME}", false, false},
	{"markup", `x"><disk type='block'><source dev='/dev/sda'/></disk><x a="`, false, false},
	{"nftables", `x"; } chain evil { type filter hook forward priority 0; accept; }`, false, false},
	{"words and comment", "x y #z --ntpservers=evil", false, false},
	{"LDIF-unsafe start", ": <x ", false, false},
	{"nftables rule with a quoted escape", `meta mark set 0x1 comment "x; } chain evil { accept; } #"`, false, true},
}

// shaped is the value as a parameter of type base gets it: under a path
// or URL prefix for those types, so that the type's first check passes and
// the hostile part is what is judged.
func shaped(base, v string) string {
	switch base {
	case "path":
		return "/srv/" + v
	case "url":
		return "http://x.example.org/" + v
	}
	return v
}

// harmless is the value of the same type put in the hostile one's place.
var harmless = map[string]string{
	"path": "/srv/kilnprobe", "url": "http://x.example.org/kilnprobe", "ifname": "kp0",
	"dn": "dc=kilnprobe", "nftrule": "counter",
}

func harmlessFor(base string) string {
	if v, ok := harmless[base]; ok {
		return v
	}
	return "kilnprobe"
}

// textual are the parameter types whose values are text.
var textual = []string{"string", "text", "path", "url", "dn", "ifname", "hostname", "secret", "enum", "nftrule", "ip", "cidr"}

type param struct {
	module, name, base string
	list               bool
}

// site is one site folder the corpus runs over.
type site struct {
	name   string
	dir    string
	yaml   *yaml.Node // site.yaml
	params []param
	os     string
}

func loadSite(t *testing.T, name string, src fs.FS) *site {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, src); err != nil {
		t.Fatal(err)
	}
	d, diags := load.Dir(dir)
	if d == nil {
		t.Fatal(diags.Err())
	}
	s := &site{name: name, dir: dir, os: d.Site.OS.Value}
	if s.os == "" {
		s.os = "el9"
	}
	used := map[string]bool{}
	for _, r := range d.Roles {
		for _, mp := range r.Modules {
			used[mp.Module.Value] = true
		}
	}
	for _, mn := range d.ModuleNames() {
		if !used[mn] {
			continue
		}
		m := d.Modules[mn]
		for pn, p := range m.Parameters {
			ty, err := ptype.Parse(p.Type.Value, p.Values)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(textual, ty.Base) {
				s.params = append(s.params, param{mn, pn, ty.Base, ty.List})
			}
		}
	}
	sort.Slice(s.params, func(i, j int) bool {
		return s.params[i].module+"."+s.params[i].name < s.params[j].module+"."+s.params[j].name
	})
	b, err := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	s.yaml = &n
	return s
}

// planted is a site.yaml with the given parameters (and the users' and
// groups' text fields, when users is set) set to value(base), and the line
// each planted value is on.
func (s *site) planted(ps []param, value func(base string) string, users bool) ([]byte, map[int]string) {
	doc := cloneNode(s.yaml)
	top := doc.Content[0]
	// The site's own values stay where nothing is planted (a required
	// parameter keeps its value when the hostile one is refused).
	params := getKey(top, "parameters")
	if params == nil {
		params = &yaml.Node{Kind: yaml.MappingNode}
		setKey(top, "parameters", params)
	}
	for _, p := range ps {
		m := getKey(params, p.module)
		if m == nil {
			m = &yaml.Node{Kind: yaml.MappingNode}
			setKey(params, p.module, m)
		}
		v := str(value(p.base))
		if p.list {
			v = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{v}}
		}
		setKey(m, p.name, v)
	}
	planted := map[string]bool{}
	for _, p := range ps {
		planted[p.module+"."+p.name] = true
	}
	if users {
		for i := 0; i+1 < len(top.Content); i += 2 {
			switch top.Content[i].Value {
			case "users":
				for _, u := range top.Content[i+1].Content {
					setKey(u, "full_name", str(value("string")))
					setKey(u, "shell", str("/bin/"+value("string")))
					setKey(u, "home", str("/export/home/"+value("string")))
				}
			case "groups":
				for _, g := range top.Content[i+1].Content {
					setKey(g, "doc", str(value("string")))
				}
			}
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		panic(err)
	}
	// Where each planted value landed.
	var again yaml.Node
	if err := yaml.Unmarshal(out, &again); err != nil {
		panic(fmt.Sprintf("%v\n%s", err, out))
	}
	lines := map[int]string{}
	t := again.Content[0]
	for i := 0; i+1 < len(t.Content); i += 2 {
		k, v := t.Content[i].Value, t.Content[i+1]
		switch {
		case k == "parameters":
			for j := 0; j+1 < len(v.Content); j += 2 {
				mod := v.Content[j].Value
				for l := 0; l+1 < len(v.Content[j+1].Content); l += 2 {
					val := v.Content[j+1].Content[l+1]
					if val.Kind == yaml.SequenceNode {
						val = val.Content[0]
					}
					if name := mod + "." + v.Content[j+1].Content[l].Value; planted[name] {
						lines[val.Line] = name
					}
				}
			}
		case users && (k == "users" || k == "groups"):
			for _, u := range v.Content {
				for l := 0; l+1 < len(u.Content); l += 2 {
					if f := u.Content[l].Value; f == "full_name" || f == "shell" || f == "home" || f == "doc" {
						lines[u.Content[l+1].Line] = k + "." + f
					}
				}
			}
		}
	}
	return out, lines
}

func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsAny(s, "\n\r\x00\x1b\x07") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func getKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}

func cloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = cloneNode(x)
	}
	return &c
}

// check resolves the site with this site.yaml: the diagnostics, or the
// resolved site.
func (s *site) check(t *testing.T, siteYAML []byte) (*pipeline.Site, []diag.Diagnostic) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), s.name)
	if err := os.CopyFS(dir, os.DirFS(s.dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), siteYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	var de *diag.Error
	if errors.As(err, &de) {
		return nil, de.Diagnostics
	}
	if err != nil {
		t.Fatal(err)
	}
	return ps, nil
}

func build(t *testing.T, ps *pipeline.Site) map[string][]byte {
	t.Helper()
	files, err := ps.Render()
	if err != nil {
		t.Fatalf("the build fails: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Data
	}
	return out
}

// TestHostileValues is the corpus: for each site and each hostile class,
// every text parameter (and user field) at once.
func TestHostileValues(t *testing.T) {
	progs := map[string]string{}
	for _, p := range []string{"bash", "xmllint", "ldapmodify", "nft", "unshare", "puppet"} {
		progs[p] = testutil.NeedProgram(t, p)
	}
	ex, ok := builtin.Example("tier3")
	if !ok {
		t.Fatal("no example tier3")
	}
	sites := []*site{loadSite(t, "tier3", ex), loadSite(t, "slurm", os.DirFS("../pipeline/testdata/slurm"))}
	// Site rules reach the ruleset only in this mode; the planted (and
	// refused) mode leaves this one in place.
	top := sites[0].yaml.Content[0]
	params := getKey(top, "parameters")
	setKey(params, "firewall", &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("mode"), str("managed_plus_site")}})
	var mu sync.Mutex
	var puppetFiles []string
	keep := t.TempDir() // outlives the subtests: Puppet reads it at the end
	t.Run("classes", func(t *testing.T) {
		for _, s := range sites {
			for _, c := range classes {
				t.Run(s.name+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					pp := corpus(t, s, c, progs, keep)
					mu.Lock()
					puppetFiles = append(puppetFiles, pp...)
					mu.Unlock()
				})
			}
		}
	})
	// Puppet starts slowly: every manifest of every class in one run.
	if testing.Short() {
		t.Logf("-short: %d manifests not given to puppet parser validate", len(puppetFiles))
	} else if len(puppetFiles) > 0 && !t.Failed() {
		out, err := exec.Command(progs["puppet"], append([]string{"parser", "validate"}, puppetFiles...)...).CombinedOutput()
		if err != nil {
			t.Errorf("puppet parser validate: %v\n%s", err, out)
		}
		t.Logf("puppet parser validate: %d manifests with hostile values", len(puppetFiles))
	}
}

// corpus runs one class over one site; it returns the Puppet manifests
// that carry the hostile values, for one puppet run at the end.
func corpus(t *testing.T, s *site, c class, progs map[string]string, keep string) []string {
	users := s.name == "tier3"
	hostile := func(base string) string { return shaped(base, c.value) }
	text, lines := s.planted(s.params, hostile, users)
	_, diags := s.check(t, text)
	refused := map[string]bool{}
	for _, d := range diags {
		what, ok := lines[d.Pos.Line]
		if !ok || filepath.Base(d.Pos.File) != "site.yaml" {
			t.Errorf("a problem away from the planted values: %s", d)
			continue
		}
		refused[what] = true
		if c.multiline && !strings.Contains(d.What, "holds") {
			t.Errorf("%s: refused without saying which character: %s", what, d)
		}
	}
	var accepted []param
	for _, p := range s.params {
		switch {
		case refused[p.module+"."+p.name]:
		case p.base == "nftrule" && !c.rule:
			// A site rule is nftables by design: its type keeps it inside
			// its chain (the nftables class is refused above), and what
			// the rule itself says is the site's choice.
			t.Logf("%s.%s (nftrule) = %q accepted: a rule is the site's own nftables", p.module, p.name, c.value)
		default:
			accepted = append(accepted, p)
		}
	}
	if c.multiline {
		for _, what := range lines {
			if !refused[what] {
				t.Errorf("%s = %q was not refused by kiln check", what, c.value)
			}
		}
		return nil
	}
	userFieldsOK := true
	for _, what := range lines {
		if strings.HasPrefix(what, "users.") || strings.HasPrefix(what, "groups.") {
			userFieldsOK = userFieldsOK && !refused[what]
		}
	}
	var names []string
	for _, p := range accepted {
		names = append(names, p.module+"."+p.name)
	}
	t.Logf("%s: %d of %d text parameters refused by kiln check; accepted and built: %s (users' fields too: %v)", c.name, len(s.params)-len(accepted), len(s.params), strings.Join(names, ", "), users && userFieldsOK)

	hText, _ := s.planted(accepted, hostile, users && userFieldsOK)
	bText, _ := s.planted(accepted, harmlessFor, users && userFieldsOK)
	hs, d1 := s.check(t, hText)
	bs, d2 := s.check(t, bText)
	if len(d1)+len(d2) > 0 {
		t.Fatalf("the accepted values do not check: %v %v", d1, d2)
	}
	H, B := build(t, hs), build(t, bs)
	var paths []string
	for p := range H {
		if _, ok := B[p]; !ok {
			t.Errorf("%s is in the build only with the hostile values", p)
		}
		paths = append(paths, p)
	}
	if len(H) != len(B) {
		t.Errorf("%d files with the hostile values, %d without", len(H), len(B))
	}
	sort.Strings(paths)
	work := t.TempDir()
	var xmlFiles, puppetFiles []string
	changed := 0
	readers := map[string]int{}
	for _, p := range paths {
		h, b := string(H[p]), string(B[p])
		if h == b {
			continue
		}
		changed++
		file := filepath.Join(work, strings.ReplaceAll(p, "/", "__"))
		if err := os.WriteFile(file, H[p], 0o600); err != nil {
			t.Fatal(err)
		}
		same := func(reader string, hs, bs string, err error) {
			t.Helper()
			readers[reader]++
			if err != nil {
				t.Errorf("%s: %s cannot read it: %v", p, reader, err)
			} else if hs != bs {
				t.Errorf("%s: %s reads a different structure with the hostile values:\n%s", p, reader, firstDiff(hs, bs))
			}
		}
		switch ext := filepath.Ext(p); {
		case strings.Contains(p, "kickstart") && ext == ".cfg":
			hs, err1 := kickstartShape(s.os, h)
			bs, _ := kickstartShape(s.os, b)
			same("the kickstart linter (and the %post shell)", hs, bs, err1)
		case ext == ".sh" || strings.HasPrefix(h, "#!/bin/sh") || strings.HasPrefix(h, "#!/bin/bash"):
			if out, err := exec.Command(progs["bash"], "-n", file).CombinedOutput(); err != nil {
				t.Errorf("%s: bash -n: %v\n%s", p, err, out)
			}
			hs, err := shellShape(h)
			bs, _ := shellShape(b)
			same("the shell parser", hs, bs, err)
		case ext == ".xml" || ext == ".svg":
			xmlFiles = append(xmlFiles, file)
			hs, err := xmlShape(h)
			bs, _ := xmlShape(b)
			same("the XML parser", hs, bs, err)
		case ext == ".ldif":
			hs, err := ldifShape(progs["ldapmodify"], file)
			bfile := file + ".harmless"
			os.WriteFile(bfile, B[p], 0o600)
			bs, _ := ldifShape(progs["ldapmodify"], bfile)
			same("ldapmodify -n", hs, bs, err)
		case ext == ".nft":
			hs, err := nftShape(progs, file)
			bfile := file + ".harmless"
			os.WriteFile(bfile, B[p], 0o600)
			bs, _ := nftShape(progs, bfile)
			same("nft (the ruleset loaded in a network namespace)", hs, bs, err)
		case ext == ".pp":
			kept := filepath.Join(keep, strings.NewReplacer(" ", "_", "/", "_").Replace(s.name+"-"+c.name)+"-"+filepath.Base(file))
			if err := os.WriteFile(kept, H[p], 0o600); err != nil {
				t.Fatal(err)
			}
			puppetFiles = append(puppetFiles, kept)
			same("Puppet (tokens outside strings)", puppetShape(h), puppetShape(b), nil)
		case ext == ".yaml" || ext == ".json":
			hs, err := dataShape(h)
			bs, _ := dataShape(b)
			same("the YAML/JSON parser", hs, bs, err)
		case ext == ".html":
			same("an HTML reader (tags)", tagShape(h), tagShape(b), nil)
		case ext == ".md":
			// Markdown shows code as it is: tags there are text; but a
			// shell block is pasted into a shell.
			hs, err := markdownShape(h)
			bs, _ := markdownShape(b)
			same("a Markdown reader (tags outside code; shell blocks)", hs, bs, err)
		default:
			same("a line reader (words per line)", lineShape(h), lineShape(b), nil)
		}
	}
	if len(xmlFiles) > 0 {
		if out, err := exec.Command(progs["xmllint"], append([]string{"--noout"}, xmlFiles...)...).CombinedOutput(); err != nil {
			t.Errorf("xmllint: %v\n%s", err, out)
		}
	}
	t.Logf("%s: %d files carry the hostile values, each read to the same structure: %v", c.name, changed, readers)
	return puppetFiles
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("  hostile:  %q\n  harmless: %q", x, y)
		}
	}
	return "(same lines)"
}

// kickstartShape is what the kickstart linter reads: its problems, each
// command with its number of arguments, each section with its options, and
// the shell structure of %pre and %post.
func kickstartShape(dialect, text string) (string, error) {
	f, probs := kickstart.Lint(dialect, text)
	var b strings.Builder
	for _, p := range probs {
		fmt.Fprintf(&b, "problem %s\n", p.Msg)
	}
	for _, c := range f.Commands {
		fmt.Fprintf(&b, "%s/%d\n", c.Name, len(c.Args))
	}
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "%s %q\n", s.Name, s.Args)
		if s.Name == "%post" || s.Name == "%pre" {
			sh, err := shellShape(s.Body)
			if err != nil {
				return "", fmt.Errorf("%s: %v", s.Name, err)
			}
			b.WriteString(sh + "\n")
		}
	}
	if len(probs) > 0 {
		return b.String(), fmt.Errorf("%v", probs)
	}
	return b.String(), nil
}

// shellShape is the syntax tree of a shell script with every word that
// expands to itself (quoted, or plain without glob characters) written W:
// a value that stays one quoted word leaves it as it was.
func shellShape(src string) (string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(false)).Parse(strings.NewReader(src), "")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case nil:
			return false
		case *syntax.Word:
			if staticWord(x) {
				b.WriteString("W ")
				return false
			}
		case *syntax.Lit:
			b.WriteString("Lit ")
			return false
		}
		fmt.Fprintf(&b, "%T ", n)
		return true
	})
	return b.String(), nil
}

func staticWord(w *syntax.Word) bool {
	for _, p := range w.Parts {
		switch x := p.(type) {
		case *syntax.SglQuoted:
			if x.Dollar {
				return false
			}
		case *syntax.Lit:
			if strings.ContainsAny(x.Value, "*?[~") {
				return false
			}
		case *syntax.DblQuoted:
			for _, q := range x.Parts {
				if _, ok := q.(*syntax.Lit); !ok {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// xmlShape is the element tree: names, attribute names, text as T.
func xmlShape(src string) (string, error) {
	d := newXMLDecoder(src)
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return b.String(), nil
			}
			return "", err
		}
		fmt.Fprintln(&b, xmlToken(tok))
	}
}

// ldifShape is what ldapmodify -n reads: each entry and the attribute
// names it adds (not their values).
func ldifShape(prog, file string) (string, error) {
	out, err := exec.Command(prog, "-n", "-v", "-a", "-x", "-H", "ldap://127.0.0.1:1/", "-f", file).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	var b strings.Builder
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "add "), strings.HasPrefix(l, "!adding new entry"), strings.HasPrefix(l, "adding new entry"):
			fmt.Fprintln(&b, l)
		}
	}
	return b.String(), nil
}

// nftShape loads a ruleset into nftables in a network namespace of its
// own and lists it back: its tables, chains and sets, and how many rules
// each chain holds.
func nftShape(progs map[string]string, file string) (string, error) {
	out, err := exec.Command(progs["unshare"], "-rn", "sh", "-c", `"$1" -f "$2" && "$1" list ruleset`, "sh", progs["nft"], file).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	var b strings.Builder
	var stack []string
	rules := 0
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasSuffix(l, "{"):
			f := strings.Fields(l)
			if len(f) > 2 {
				f = f[:len(f)-1]
			}
			stack = append(stack, strings.Join(f, " "))
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", len(stack)-1), stack[len(stack)-1])
			rules = 0
		case l == "}":
			if n := len(stack); n > 0 {
				if strings.HasPrefix(stack[n-1], "chain ") {
					fmt.Fprintf(&b, "%s%d rules\n", strings.Repeat("  ", n), rules)
				}
				stack = stack[:n-1]
			}
		case len(stack) > 0 && strings.HasPrefix(stack[len(stack)-1], "chain ") && !strings.HasPrefix(l, "type "):
			rules++
		}
	}
	return b.String(), nil
}

var words = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S+`)

// lineShape is the number of words on each line, a quoted string counting
// as one.
func lineShape(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%d ", len(words.FindAllString(l, -1)))
	}
	return b.String()
}

var puppetString = regexp.MustCompile(`'(?:[^'\\]|\\.)*'`)

// puppetShape is a manifest with its single-quoted strings (where kiln
// writes values) emptied.
func puppetShape(s string) string { return puppetString.ReplaceAllString(s, "''") }

var fence = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")

// markdownShape is the tags outside code, and the shell structure of each
// sh block.
func markdownShape(s string) (string, error) {
	var b strings.Builder
	for _, m := range fence.FindAllStringSubmatch(s, -1) {
		if m[1] == "sh" {
			sh, err := shellShape(m[2])
			if err != nil {
				return "", fmt.Errorf("a shell block: %v\n%s", err, m[2])
			}
			b.WriteString(sh + "\n")
		}
	}
	rest := codeSpan.ReplaceAllString(fence.ReplaceAllString(s, "```"), "``")
	return b.String() + tagShape(rest), nil
}

var codeSpan = regexp.MustCompile("`[^`\n]*`")

var tags = regexp.MustCompile(`<(/?[A-Za-z][A-Za-z0-9-]*)`)

// tagShape is the sequence of tags a browser would see.
func tagShape(s string) string {
	var b strings.Builder
	for _, m := range tags.FindAllStringSubmatch(s, -1) {
		b.WriteString(m[1] + " ")
	}
	return fmt.Sprintf("%d lines; %s", strings.Count(s, "\n"), b.String())
}

// dataShape is a YAML or JSON document's structure, each string a "s".
func dataShape(s string) (string, error) {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return "", err
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				out[k] = walk(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e)
			}
			return out
		case string:
			return "s"
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	return string(bytes.TrimSpace(b)), err
}

func newXMLDecoder(s string) *xml.Decoder { return xml.NewDecoder(strings.NewReader(s)) }

func xmlToken(tok xml.Token) string {
	switch x := tok.(type) {
	case xml.StartElement:
		var attrs []string
		for _, a := range x.Attr {
			attrs = append(attrs, a.Name.Local)
		}
		return "<" + x.Name.Local + " " + strings.Join(attrs, " ")
	case xml.EndElement:
		return "</" + x.Name.Local
	case xml.CharData:
		if strings.TrimSpace(string(x)) == "" {
			return ""
		}
		return "T"
	case xml.Comment:
		return "C"
	case xml.ProcInst:
		return "?" + x.Target
	case xml.Directive:
		return "!"
	}
	return fmt.Sprintf("%T", tok)
}
