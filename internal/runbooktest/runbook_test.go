package runbooktest

import (
	"bytes"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

var sites = []struct {
	name string
	src  pipeline.Source
}{
	{"tier3", pipeline.Source{Example: "tier3"}},
	{"slurm", pipeline.Source{Dir: "../pipeline/testdata/slurm"}},
}

type build struct {
	files map[string]render.File
	dirs  map[string]bool
	site  *pipeline.Site
}

func newBuild(t *testing.T, src pipeline.Source) *build {
	t.Helper()
	s, err := pipeline.Resolve(src)
	if err != nil {
		t.Fatal(err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	b := &build{files: map[string]render.File{}, dirs: map[string]bool{}, site: s}
	for _, f := range files {
		b.files[f.Path] = f
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			b.dirs[d] = true
		}
	}
	return b
}

func (b *build) text(t *testing.T, p string) string {
	t.Helper()
	f, ok := b.files[p]
	if !ok {
		t.Fatalf("the build has no %s", p)
	}
	return string(f.Data)
}

var (
	idAttr   = regexp.MustCompile(`\sid="([^"]+)"`)
	hrefAttr = regexp.MustCompile(`\shref="([^"]+)"`)
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// Every link of the runbook leads somewhere: an anchor to a heading of the
// page, anything else to a file of the build. Both forms are checked, and
// the page has the links the Markdown has.
func TestRunbookLinksResolve(t *testing.T) {
	for _, s := range sites {
		t.Run(s.name, func(t *testing.T) {
			b := newBuild(t, s.src)
			page := b.text(t, "runbook.html")
			ids := map[string]bool{}
			for _, m := range idAttr.FindAllStringSubmatch(page, -1) {
				if ids[m[1]] {
					t.Errorf("two elements have the id %q", m[1])
				}
				ids[m[1]] = true
			}
			hrefs := hrefAttr.FindAllStringSubmatch(page, -1)
			anchors, files := 0, 0
			for _, m := range hrefs {
				h := html.UnescapeString(m[1])
				switch {
				case strings.HasPrefix(h, "#"):
					anchors++
					if !ids[h[1:]] {
						t.Errorf("runbook.html links to %s, which no element has as its id", h)
					}
				case strings.Contains(h, "://") || strings.HasPrefix(h, "mailto:"):
					t.Errorf("runbook.html links outside the build: %s", h)
				default:
					files++
					if _, ok := b.files[h]; !ok {
						t.Errorf("runbook.html links to %s, which the build does not have", h)
					}
				}
			}
			if anchors < 5 || files < 2 {
				t.Errorf("runbook.html has %d links to its headings and %d to files; a runbook with its contents and pictures has more", anchors, files)
			}
			md := b.text(t, "runbook.md")
			if n := len(mdLink.FindAllString(md, -1)); n != len(hrefs)+strings.Count(page, `class="diagram"`) {
				t.Errorf("runbook.md has %d links and images, runbook.html %d links and %d pictures", n, len(hrefs), strings.Count(page, `class="diagram"`))
			}
			// The page stands alone: no file it would have to load.
			for _, bad := range []string{"<img", "<script", "<link", "src="} {
				if strings.Contains(page, bad) {
					t.Errorf("runbook.html contains %s: the page must need no other file", bad)
				}
			}
		})
	}
}

var (
	codeBlock = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	codeSpan  = regexp.MustCompile("`([^`\n]+)`")
	pathLike  = regexp.MustCompile(`^[A-Za-z0-9_.*-]+(/[A-Za-z0-9_.*-]*)*$`)
	fileExt   = regexp.MustCompile(`\.(sh|cfg|xml|ldif|pp|yaml|svg|md|html|txt|conf|json|ipxe|c|sub|kiln)$`)
)

// buildPaths lists what the runbook's commands and code name as files of
// the build: a relative path with a folder or a file extension, or a path
// under the build folder on the head (BUILD/...), globs included.
func buildPaths(md, buildDir string) []string {
	var code []string
	for _, m := range codeBlock.FindAllStringSubmatch(md, -1) {
		code = append(code, m[1])
	}
	for _, m := range codeSpan.FindAllStringSubmatch(codeBlock.ReplaceAllString(md, ""), -1) {
		code = append(code, m[1])
	}
	var out []string
	for _, c := range code {
		for _, w := range strings.Fields(c) {
			w = strings.Trim(w, `"'();,`)
			if strings.HasPrefix(w, "#") || strings.Contains(w, "@") || strings.Contains(w, "=") {
				continue
			}
			if buildDir != "" && strings.HasPrefix(w, buildDir+"/") {
				w = strings.TrimPrefix(w, buildDir+"/")
				if w == "" || w == "." {
					continue
				}
			} else if strings.HasPrefix(w, "/") || strings.Contains(w, ":") {
				continue // on a node, not in the build
			}
			w = strings.TrimSuffix(strings.TrimSuffix(w, "/."), "/")
			if !pathLike.MatchString(w) || w == "site.yaml" || !(strings.Contains(w, "/") || fileExt.MatchString(w)) {
				continue
			}
			out = append(out, w)
		}
	}
	return out
}

// A command of the runbook that names a file names one the build has.
func TestRunbookNamesOnlyBuiltFiles(t *testing.T) {
	for _, s := range sites {
		t.Run(s.name, func(t *testing.T) {
			b := newBuild(t, s.src)
			buildDir := "/etc/kiln/site/build"
			paths := buildPaths(b.text(t, "runbook.md"), buildDir)
			for _, p := range paths {
				if _, ok := b.files[p]; ok || b.dirs[p] {
					continue
				}
				found := false
				for f := range b.files {
					if ok, _ := path.Match(p, f); ok {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("the runbook names %s, which is not in the build", p)
				}
			}
			if s.name == "tier3" && len(paths) < 10 {
				t.Errorf("found only %d file names in the tier3 runbook's commands: %v", len(paths), paths)
			}
		})
	}
}

// The tier3 runbook gives, for each machine, what someone installing it
// needs: its name, its MACs, its boot line or install script, and the
// recovery of each role.
func TestTier3RunbookCoversEveryMachine(t *testing.T) {
	b := newBuild(t, pipeline.Source{Example: "tier3"})
	md := b.text(t, "runbook.md")
	c := b.site.Cluster
	for _, n := range c.Nodes {
		if !strings.Contains(md, "**"+n.Name+"**") {
			t.Errorf("the runbook has no entry for %s", n.Name)
		}
		for _, i := range n.Interfaces {
			if i.MAC != "" && !strings.Contains(md, i.MAC) {
				t.Errorf("the runbook does not give %s's MAC %s on %s", n.Name, i.MAC, i.NIC)
			}
		}
		if n.Kind == "vm" && !strings.Contains(md, "sh crvm-"+n.Name+".sh") {
			t.Errorf("the runbook does not say how to create the VM %s", n.Name)
		}
	}
	readme := b.text(t, "usb/README.txt")
	for _, l := range strings.Split(readme, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == c.Nodes[0].Name && strings.Contains(l, "kickstart-") {
			if !strings.Contains(md, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), f[0]))) {
				t.Errorf("the runbook does not give the first machine's boot line %q", l)
			}
		}
	}
	for _, r := range c.Roles {
		if len(r.Nodes) > 0 && !strings.Contains(md, "\n### If ") {
			t.Errorf("the runbook has no recovery for role %s", r.Name)
		}
	}
	for i, want := range []string{"## Step 1: head", "## Step 2: puppet", "## Step 3: ldap, proxy", "## Step 4: nfs", "## Step 5: interactive, worker"} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("step %d: the runbook has no heading %q", i+1, want)
		}
	}
}

// Chromium renders the page alone (no other file beside it) to a PNG and
// to a PDF; both have real content. The PNG is the top of the page: the
// title, the contents and the start of the cabling.
func TestRunbookRendersInChromium(t *testing.T) {
	chromium := testutil.NeedProgram(t, "chromium")
	for _, s := range sites {
		t.Run(s.name, func(t *testing.T) {
			b := newBuild(t, s.src)
			dir := t.TempDir()
			page := filepath.Join(dir, "runbook.html")
			if err := os.WriteFile(page, b.files["runbook.html"].Data, 0o644); err != nil {
				t.Fatal(err)
			}
			pngFile, pdfFile := filepath.Join(dir, "runbook.png"), filepath.Join(dir, "runbook.pdf")
			base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--user-data-dir=" + filepath.Join(dir, "profile"), "--hide-scrollbars"}
			for _, args := range [][]string{
				{"--window-size=1100,2400", "--screenshot=" + pngFile},
				{"--no-pdf-header-footer", "--print-to-pdf=" + pdfFile},
			} {
				cmd := exec.Command(chromium, append(append(base, args...), "file://"+page)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("chromium %s: %v\n%s", args[len(args)-1], err, out)
				}
			}
			if dst := os.Getenv("KILN_RUNBOOK_SHOTS"); dst != "" { // to look at them
				for _, f := range []string{pngFile, pdfFile} {
					data, _ := os.ReadFile(f)
					os.WriteFile(filepath.Join(dst, s.name+"-"+filepath.Base(f)), data, 0o644)
				}
			}
			data, err := os.ReadFile(pngFile)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("the screenshot is not a PNG: %v", err)
			}
			if ink := inked(img); ink < 0.02 {
				t.Errorf("the screenshot is %.1f%% ink: the page looks empty", ink*100)
			}
			pdf, err := os.ReadFile(pdfFile)
			if err != nil {
				t.Fatal(err)
			}
			pages := bytes.Count(pdf, []byte("/Type /Page\n")) + bytes.Count(pdf, []byte("/Type /Page/")) + bytes.Count(pdf, []byte("/Type /Page "))
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 20_000 {
				t.Errorf("the PDF is %d bytes and starts %q", len(pdf), pdf[:min(8, len(pdf))])
			}
			minPages := 2
			if s.name == "tier3" {
				minPages = 8
			}
			if pages < minPages {
				t.Errorf("the PDF has %d pages; the runbook should fill at least %d", pages, minPages)
			}
			t.Logf("%s: PNG %dx%d %d bytes; PDF %d bytes, %d pages", s.name, img.Bounds().Dx(), img.Bounds().Dy(), len(data), len(pdf), pages)
		})
	}
}

// inked is the share of pixels that are not near-white.
func inked(img image.Image) float64 {
	bnd := img.Bounds()
	n, ink := 0, 0
	for y := bnd.Min.Y; y < bnd.Max.Y; y += 2 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			n++
			if r < 0xe000 || g < 0xe000 || b < 0xe000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(n)
}
