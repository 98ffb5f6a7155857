// Package selector reads the node selectors every kiln verb that takes
// nodes accepts, one parser for all of them:
//
//	wn3              a node by name
//	wn[1-12]         a range (wn1 … wn12); wn[01-12] keeps the width,
//	                 wn[1-3,7] lists several
//	role:worker      every node of a role
//	group:rack2      every node of a group (a block of a role)
//	state:failed     every node in that install state
//	all              every node
//
// A verb calls Parse with its positional arguments, then Match with the
// nodes it knows and their states; the names come back in natural order
// (wn2 before wn10). A selector that matches nothing is an error that
// says what exists.
package selector

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/model"
)

// Node is what a selector looks at: a node's name, role and group.
type Node struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Group string `json:"group,omitempty"`
}

// States are the install states state:NAME accepts (the state package's,
// in lifecycle order).
var States = []string{"planned", "needs-reinstall", "booting", "installing", "installed", "puppet-signed", "configured", "failed"}

// MaxRange is the most names one range may stand for.
const MaxRange = 100000

type kind int

const (
	byName kind = iota
	byRole
	byGroup
	byState
	byAll
)

type term struct {
	raw   string
	kind  kind
	value string   // role, group or state
	names []string // byName: the name, or a range's names
}

// Selector is a parsed list of selectors; a node matches when any of them
// matches it.
type Selector struct{ terms []term }

// Empty reports whether no selector was given.
func (s *Selector) Empty() bool { return s == nil || len(s.terms) == 0 }

// String gives the selectors back as they were written.
func (s *Selector) String() string {
	var out []string
	for _, t := range s.terms {
		out = append(out, t.raw)
	}
	return strings.Join(out, " ")
}

// Parse reads selectors; an argument may hold several separated by
// spaces or commas outside brackets ("wn1,wn3").
func Parse(args []string) (*Selector, error) {
	s := &Selector{}
	for _, a := range args {
		for _, w := range split(a) {
			t, err := parseTerm(w)
			if err != nil {
				return nil, err
			}
			s.terms = append(s.terms, t)
		}
	}
	return s, nil
}

// split cuts at commas and white space outside brackets.
func split(a string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range a {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0 && (r == ',' || r == ' ' || r == '\t'):
			if i > start {
				out = append(out, a[start:i])
			}
			start = i + 1
		}
	}
	if start < len(a) {
		out = append(out, a[start:])
	}
	return out
}

func parseTerm(w string) (term, error) {
	if w == "all" {
		return term{raw: w, kind: byAll}, nil
	}
	if k, v, ok := strings.Cut(w, ":"); ok {
		var t term
		switch k {
		case "role":
			t = term{raw: w, kind: byRole, value: v}
		case "group":
			t = term{raw: w, kind: byGroup, value: v}
		case "state":
			if !slices.Contains(States, v) {
				return term{}, fmt.Errorf("%q: there is no state %q; %s", w, v, diag.DidYouMean(v, States))
			}
			t = term{raw: w, kind: byState, value: v}
		default:
			return term{}, fmt.Errorf("%q: a selector is NAME, NAME[1-12], role:ROLE, group:GROUP, state:STATE or all, not %q; %s",
				w, k+":", diag.DidYouMean(k, []string{"role", "group", "state"}))
		}
		if v == "" {
			return term{}, fmt.Errorf("%q: give a value after %s:, e.g. %s", w, k, map[string]string{"role": "role:worker", "group": "group:rack2", "state": "state:failed"}[k])
		}
		return t, nil
	}
	if strings.ContainsAny(w, "[]") {
		names, err := expand(w)
		if err != nil {
			return term{}, err
		}
		return term{raw: w, kind: byName, names: names}, nil
	}
	return term{raw: w, kind: byName, names: []string{w}}, nil
}

// expand turns prefix[a-b,c]suffix into its names.
func expand(w string) ([]string, error) {
	open := strings.IndexByte(w, '[')
	close := strings.IndexByte(w, ']')
	if open < 0 || close < open || strings.Count(w, "[") != 1 || strings.Count(w, "]") != 1 {
		return nil, fmt.Errorf("%q: a range is NAME[FIRST-LAST], e.g. wn[1-12], with one pair of brackets", w)
	}
	prefix, body, suffix := w[:open], w[open+1:close], w[close+1:]
	if body == "" {
		return nil, fmt.Errorf("%q: the brackets are empty; a range is NAME[FIRST-LAST], e.g. wn[1-12]", w)
	}
	var out []string
	for _, part := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA != nil || errB != nil || a < 0 || b < 0 || lo == "" || hi == "" {
			return nil, fmt.Errorf("%q: %q is not a number or a range of numbers (FIRST-LAST, e.g. 1-12)", w, part)
		}
		if b < a {
			return nil, fmt.Errorf("%q: the range %s runs backwards; write %d-%d", w, part, b, a)
		}
		if b-a+len(out) >= MaxRange {
			return nil, fmt.Errorf("%q: more than %d names", w, MaxRange)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo)
		}
		for i := a; i <= b; i++ {
			out = append(out, fmt.Sprintf("%s%0*d%s", prefix, width, i, suffix))
		}
	}
	return out, nil
}

// NoMatchError says which selectors matched no node.
type NoMatchError struct{ Msgs []string }

func (e *NoMatchError) Error() string { return strings.Join(e.Msgs, "; ") }

// Match returns the names of the nodes any selector matches, in natural
// order; states maps a node's name to its install state (nodes missing
// from it are planned). With no selector every node matches. A selector
// that matches no node is an error, as is a range with a name the site
// does not have.
func (s *Selector) Match(nodes []Node, states map[string]string) ([]string, error) {
	if s.Empty() {
		out := make([]string, len(nodes))
		for i, n := range nodes {
			out[i] = n.Name
		}
		SortNames(out)
		return out, nil
	}
	known := make(map[string]Node, len(nodes))
	var names, roles, groups []string
	for _, n := range nodes {
		known[n.Name] = n
		names = append(names, n.Name)
		if n.Role != "" && !slices.Contains(roles, n.Role) {
			roles = append(roles, n.Role)
		}
		if n.Group != "" && !slices.Contains(groups, n.Group) {
			groups = append(groups, n.Group)
		}
	}
	SortNames(names)
	seen := map[string]bool{}
	var out []string
	var bad []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, t := range s.terms {
		found := 0
		switch t.kind {
		case byAll:
			for _, n := range nodes {
				add(n.Name)
				found++
			}
		case byName:
			var missing []string
			for _, name := range t.names {
				if _, ok := known[name]; ok {
					add(name)
					found++
				} else {
					missing = append(missing, name)
				}
			}
			if len(t.names) == 1 && found == 0 {
				bad = append(bad, fmt.Sprintf("there is no node %q; %s", t.raw, hint(t.raw, names)))
				continue
			}
			if len(missing) > 0 {
				bad = append(bad, fmt.Sprintf("%s: there is no node %s", t.raw, summarize(missing)))
				continue
			}
		case byRole, byGroup:
			for _, n := range nodes {
				if t.kind == byRole && n.Role == t.value || t.kind == byGroup && n.Group == t.value {
					add(n.Name)
					found++
				}
			}
			if found == 0 {
				what, list := "role", roles
				if t.kind == byGroup {
					what, list = "group", groups
				}
				if len(list) == 0 {
					bad = append(bad, fmt.Sprintf("%s: no node has a %s", t.raw, what))
				} else {
					bad = append(bad, fmt.Sprintf("%s: there is no %s %q; %s", t.raw, what, t.value, diag.DidYouMean(t.value, list)))
				}
			}
		case byState:
			// No node in a state is an answer, not a mistake: kiln
			// status state:failed on a healthy cluster lists nothing.
			for _, n := range nodes {
				st := states[n.Name]
				if st == "" {
					st = "planned"
				}
				if st == t.value {
					add(n.Name)
				}
			}
		}
	}
	if len(bad) > 0 {
		return nil, &NoMatchError{Msgs: bad}
	}
	SortNames(out)
	return out, nil
}

func hint(w string, names []string) string {
	if len(names) == 0 {
		return "there are no nodes"
	}
	if s := diag.Suggest(w, names); s != "" {
		return `did you mean "` + s + `"?`
	}
	return "kiln show lists the nodes"
}

// summarize names at most a few of a list.
func summarize(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, … (%d names)", strings.Join(names[:3], ", "), len(names))
}

// Compare orders names naturally: runs of digits compare as numbers, so
// wn2 comes before wn10.
func Compare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return sign(c)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if c := da - db; c != 0 { // wn01 after wn1
				return sign(c)
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return sign(int(a[0]) - int(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return sign(len(a) - len(b))
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// SortNames sorts names in natural order.
func SortNames(names []string) { slices.SortFunc(names, Compare) }

// FromCluster lists a resolved site's nodes for Match.
func FromCluster(c *model.Cluster) []Node {
	out := make([]Node, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = Node{Name: n.Name, Role: n.Role, Group: n.Group}
	}
	return out
}
