package render

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"text/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	"kiln.dev/kiln/internal/diagram"
	"kiln.dev/kiln/internal/model"
)

func init() { funcGroups = append(funcGroups, runbookFuncs) }

// kilnCommands lists kiln's verbs and each one's flags, one verb a line
// ("recover C mac o"). cmd/kiln's tests keep it equal to the real command
// line (go test ./cmd/kiln -run TestCommandList -update rewrites it), so a
// runbook can show a command only once kiln has it.
//
//go:embed kiln-commands.txt
var kilnCommands string

// runbookFuncs serve the templates that document a cluster: its runbook
// in Markdown and HTML, and its pictures. None knows a role or module.
func runbookFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// markdown turns Markdown (GitHub's flavour: tables, autolinks)
		// into HTML, each heading with the id anchor gives it.
		"markdown": markdownHTML,
		// inlineSVG replaces each <img> of HTML whose source is an .svg
		// file of the build with the picture itself, so that the page
		// needs no other file.
		"inlineSVG": inlineSVG,
		"wiringSVG": func(c *model.Cluster) string { return string(diagram.Wiring(c)) },
		"rolesSVG":  func(c *model.Cluster) string { return string(diagram.Roles(c)) },
		// anchor is the id markdown gives a heading with this text: a
		// link to "#"+anchor TEXT finds it.
		"anchor": anchor,
		// mdCell makes a value safe in a Markdown table cell.
		"mdCell": func(v any) string {
			s := strings.ReplaceAll(fmt.Sprint(v), "|", `\|`)
			return strings.Join(strings.Fields(s), " ")
		},
		// kilnHas reports whether kiln has a verb, and each of the given
		// flags for it: kilnHas "recover" "mac".
		"kilnHas": kilnHas,
		// lineOf finds, in a text, the first line whose first word is word
		// and which contains with; it returns the rest of the line after
		// that word. A runbook quotes a built file's line this way rather
		// than compute it a second time.
		"lineOf": lineOf,
		// stages groups the roles by install stage, in install order.
		"stages": func(c *model.Cluster) [][]*model.Role {
			var out [][]*model.Role
			for _, r := range c.Roles {
				for len(out) <= r.Stage {
					out = append(out, nil)
				}
				out[r.Stage] = append(out[r.Stage], r)
			}
			return out
		},
		// waitingFor lists the roles that wait for a role: those with it
		// in their after list, and the VMs it hosts.
		"waitingFor": func(c *model.Cluster, role string) []string {
			var out []string
			for _, r := range c.Roles {
				if contains(r.After, role) || r.Host == role {
					out = append(out, r.Name)
				}
			}
			return out
		},
		// guestTotals adds up the sizes of the VMs a node hosts.
		"guestTotals": func(c *model.Cluster, n *model.Node) model.VMSize {
			var t model.VMSize
			for _, g := range n.Guests {
				if gn := c.Node(g); gn != nil && gn.VM != nil {
					t.VCPUs += gn.VM.VCPUs
					t.Memory += gn.VM.Memory
					t.Disk += gn.VM.Disk
				}
			}
			return t
		},
		// mib writes a size in MiB the way people say it (1536 → 1.5 GiB).
		"mib": diagram.MiB,
		// nodeRange names a list of nodes briefly: "wn1", "int1 and
		// int2", "wn1, wn2, wn3", or "wn1 … wn40 (40)" past five.
		"nodeRange": func(names []string) string {
			switch n := len(names); {
			case n == 0:
				return "none"
			case n == 2:
				return names[0] + " and " + names[1]
			case n <= 5:
				return strings.Join(names, ", ")
			default:
				return fmt.Sprintf("%s … %s (%d)", names[0], names[n-1], n)
			}
		},
		"add": func(a, b int) int { return a + b },
		// wordWith is the first word of a text that starts with one of the
		// prefixes, without it: wordWith ipxeScript "inst.ks=" "ks=" is
		// the kickstart's URL.
		"wordWith": func(text string, prefixes ...string) (string, error) {
			for _, w := range strings.Fields(text) {
				for _, p := range prefixes {
					if strings.HasPrefix(w, p) {
						return strings.TrimPrefix(w, p), nil
					}
				}
			}
			return "", fmt.Errorf("no word starts with %s", strings.Join(prefixes, " or "))
		},
		// urlPath is the path of a URL: /kiln/kickstart-wn1.cfg.
		"urlPath": func(u string) (string, error) {
			p, err := url.Parse(u)
			if err != nil {
				return "", err
			}
			return p.Path, nil
		},
		// stageTitle names the roles of one install stage: "ldap, proxy".
		"stageTitle": func(roles []*model.Role) string {
			names := make([]string, len(roles))
			for i, r := range roles {
				names[i] = r.Name
			}
			return strings.Join(names, ", ")
		},
		// has reports whether a list (of names, or a list parameter's
		// value) holds a value.
		"has": func(l any, s string) bool { return listHas(l, s) },
		// nodesWhere names the nodes on which a module's parameter has a
		// value (or, for a list, holds it), in install order:
		// nodesWhere .Cluster "slurm" "daemons" "slurmd".
		"nodesWhere": func(c *model.Cluster, module, param string, value any) []string {
			var out []string
			for _, n := range c.Nodes {
				if v := n.Param(module, param); v != nil && (fmt.Sprint(v) == fmt.Sprint(value) || listHas(v, fmt.Sprint(value))) {
					out = append(out, n.Name)
				}
			}
			return out
		},
		// onNode reports whether a location (a path, a URL, or an sftp
		// or scp style user@host:path) is on the node itself: a local path,
		// or a host that is one of the node's names or addresses.
		"onNode": onNode,
		// urlHost is the host (and port, if given) of a URL.
		"urlHost": func(u string) (string, error) {
			p, err := url.Parse(u)
			if err != nil {
				return "", err
			}
			return p.Host, nil
		},
		"pathDir":  path.Dir,
		"pathBase": path.Base,
	}
}

var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// markdownHTML converts Markdown to HTML a piece at a time (see
// markdownPieces), so that a runbook of 50,000 machines is never one
// syntax tree: that tree was the build's peak of memory. The pieces share
// one parser context, so heading IDs stay unique across them.
func markdownHTML(src string) (string, error) {
	return markdownIn(src, 64<<10)
}

func markdownIn(src string, min int) (string, error) {
	var b bytes.Buffer
	b.Grow(len(src) * 2)
	ctx := parser.NewContext()
	for _, piece := range markdownPieces(src, min) {
		if err := md.Convert([]byte(piece), &b, parser.WithContext(ctx)); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// linkRefDef and htmlBlock find what can tie blocks together across blank
// lines: a link reference definition (used anywhere in the document) and
// raw HTML (a comment or <pre> may hold blank lines).
var (
	linkRefDef = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:`)
	htmlBlock  = regexp.MustCompile(`(?m)^ {0,3}<`)
)

// markdownPieces cuts src into pieces of at least min bytes that convert
// on their own to what the whole would: only before a line that follows a
// blank line, outside a fenced code block, and starts a new top-level
// block that cannot continue an earlier one (a heading, a paragraph, a
// table — not a list item, an indented line, a quote or HTML). A document
// with link reference definitions or raw HTML stays whole.
func markdownPieces(src string, min int) []string {
	if len(src) <= min || linkRefDef.MatchString(src) || htmlBlock.MatchString(src) {
		return []string{src}
	}
	var pieces []string
	start, blank := 0, false
	fence := "" // the open fence's marker, "" outside one
	for i := 0; i < len(src); {
		end := strings.IndexByte(src[i:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += i + 1
		}
		line := src[i:end]
		trimmed := strings.TrimLeft(line, " ")
		if len(line)-len(trimmed) <= 3 && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			switch {
			case fence == "":
				fence = trimmed[:3]
			case strings.Trim(strings.TrimSpace(trimmed), fence[:1]) == "" && strings.HasPrefix(trimmed, fence):
				fence = "" // a closing fence: the marker alone, no info string
			}
		} else if fence == "" && blank && i-start >= min && startsBlock(line) {
			pieces = append(pieces, src[start:i])
			start = i
		}
		blank = fence == "" && strings.TrimSpace(line) == ""
		i = end
	}
	return append(pieces, src[start:])
}

// startsBlock reports whether a line after a blank line starts a block
// that no earlier block can take in.
func startsBlock(line string) bool {
	if line == "" {
		return false
	}
	switch c := line[0]; {
	case c == '#' || c == '|':
		return true
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return true
	}
	return false
}

func anchor(text string) string {
	return string(parser.NewContext().IDs().Generate([]byte(text), ast.KindHeading))
}

var svgImg = regexp.MustCompile(`<img src="([^"]+\.svg)" alt="([^"]*)"[^>]*>`)

func inlineSVG(b *BuildIndex, html string) (string, error) {
	var err error
	out := svgImg.ReplaceAllStringFunc(html, func(tag string) string {
		m := svgImg.FindStringSubmatch(tag)
		pic, e := b.Text(m[1])
		if e != nil {
			err = fmt.Errorf("the page shows %s: %v", m[1], e)
			return tag
		}
		return fmt.Sprintf(`<span class="diagram" role="img" aria-label="%s">%s</span>`, m[2], strings.TrimSpace(pic))
	})
	return out, err
}

func kilnHas(verb string, flags ...string) bool {
	sc := bufio.NewScanner(strings.NewReader(kilnCommands))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != verb {
			continue
		}
		for _, want := range flags {
			if !contains(f[1:], strings.TrimLeft(want, "-")) {
				return false
			}
		}
		return true
	}
	return false
}

func lineOf(text, word, with string) (string, error) {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == word && strings.Contains(l, with) {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), word)), nil
		}
	}
	return "", fmt.Errorf("no line starts with %q and contains %q", word, with)
}

func onNode(loc string, n *model.Node) bool {
	if strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "local:") {
		return true
	}
	host := loc
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	} else if i := strings.Index(host, ":"); i >= 0 && !strings.Contains(host[:i], "@") {
		host = host[i+1:] // a scheme such as sftp: before user@host
	}
	host = strings.TrimPrefix(host, "//")
	if i := strings.Index(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	names := []string{n.Name, n.FQDN}
	for _, i := range n.Interfaces {
		names = append(names, i.Hostname, i.IP)
	}
	for _, s := range names {
		if s != "" && strings.EqualFold(s, host) {
			return true
		}
	}
	return false
}

// listHas reports whether l, a []string or a []any, holds s.
func listHas(l any, s string) bool {
	switch v := l.(type) {
	case []string:
		return contains(v, s)
	case []any:
		for _, x := range v {
			if fmt.Sprint(x) == s {
				return true
			}
		}
	}
	return false
}
