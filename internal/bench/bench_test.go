package bench

// The benchmarks of each stage — load, validate, resolve, render, write —
// and of the whole pipeline, at 100, 1,000, 10,000 and 50,000 workers:
//
//	go test ./internal/bench -run '^$' -bench . -benchmem
//	KILN_BENCH_LARGE=1 go test ./internal/bench -run '^$' -bench 'Build/nodes=50000' -benchtime 3x
//
// The 50,000-node cases run only with KILN_BENCH_LARGE set (they take a
// few minutes and a few GiB between them). A site is generated once per
// size and test binary. The tests at the end are small and quick: they
// check what the benchmarks rely on (a deterministic site, a one-node
// change rewriting only that node's files).

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/validate"
)

var sizes = []int{100, 1000, 10000, 50000}

// large is the size that runs only with KILN_BENCH_LARGE set.
const large = 50000

var (
	root     string
	siteMu   sync.Mutex
	siteDirs = map[int]string{}
)

func TestMain(m *testing.M) {
	var err error
	root, err = os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

// site returns the folder of the benchmark site with n workers, making it
// the first time.
func site(b testing.TB, n int) string {
	b.Helper()
	siteMu.Lock()
	defer siteMu.Unlock()
	if d, ok := siteDirs[n]; ok {
		return d
	}
	d := filepath.Join(root, fmt.Sprintf("site%d", n))
	if err := Site(d, n); err != nil {
		b.Fatal(err)
	}
	siteDirs[n] = d
	return d
}

// each runs f as a sub-benchmark per size.
func each(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			if n >= large && os.Getenv("KILN_BENCH_LARGE") == "" {
				b.Skip("set KILN_BENCH_LARGE=1 to run the 50,000-node benchmarks")
			}
			f(b, n)
		})
	}
}

func mustLoad(b testing.TB, dir string) *load.Definitions {
	b.Helper()
	d, diags := load.Dir(dir)
	if err := diags.Err(); err != nil || d == nil {
		b.Fatalf("load %s: %v", dir, err)
	}
	return d
}

func mustResolve(b testing.TB, dir string) (*load.Definitions, *model.Cluster) {
	b.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		b.Fatalf("resolve %s: %v", dir, err)
	}
	return s.Defs, s.Cluster
}

func mustRender(b testing.TB, d *load.Definitions, c *model.Cluster) []render.File {
	b.Helper()
	files, diags := render.Build(d, c)
	if err := diags.Err(); err != nil {
		b.Fatalf("render: %v", err)
	}
	return files
}

func renderDir(b testing.TB, dir string) []render.File {
	b.Helper()
	d, c := mustResolve(b, dir)
	return mustRender(b, d, c)
}

// reportTree adds the size of the output to a benchmark's figures.
func reportTree(b *testing.B, files []render.File) {
	var size int
	for _, f := range files {
		size += len(f.Data)
	}
	b.ReportMetric(float64(len(files)), "files")
	b.ReportMetric(float64(size)/(1<<20), "MiB")
}

func BenchmarkLoad(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		dir := site(b, n)
		b.ReportAllocs()
		for b.Loop() {
			mustLoad(b, dir)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		d := mustLoad(b, site(b, n))
		b.ReportAllocs()
		for b.Loop() {
			if err := validate.Definitions(d).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		d := mustLoad(b, site(b, n))
		b.ReportAllocs()
		for b.Loop() {
			if _, diags := resolve.Cluster(d); diags.Err() != nil {
				b.Fatal(diags.Err())
			}
		}
	})
}

func BenchmarkRender(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		d, c := mustResolve(b, site(b, n))
		var files []render.File
		b.ReportAllocs()
		for b.Loop() {
			files = mustRender(b, d, c)
		}
		reportTree(b, files)
	})
}

// BenchmarkCheck is kiln check: load, validate and resolve, then every
// artifact rendered as a build renders it, into a sink that keeps nothing.
func BenchmarkCheck(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		dir := site(b, n)
		b.ReportAllocs()
		for b.Loop() {
			s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
			if err != nil {
				b.Fatalf("resolve %s: %v", dir, err)
			}
			if err := s.Check(); err != nil {
				b.Fatalf("check %s: %v", dir, err)
			}
		}
	})
}

// BenchmarkWrite measures the write stage on its own: into an empty
// folder (fresh), over an identical build (unchanged: every file is
// hard-linked), and over a build that differs in one node (onenode).
func BenchmarkWrite(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		dir := site(b, n)
		d, c := mustResolve(b, dir)
		files := mustRender(b, d, c)
		out := filepath.Join(b.TempDir(), "build")

		b.Run("fresh", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				if err := os.RemoveAll(out); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := output.Write(out, files); err != nil {
					b.Fatal(err)
				}
			}
			reportTree(b, files)
		})
		b.Run("unchanged", func(b *testing.B) {
			if _, err := output.Write(out, files); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := output.Write(out, files)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Unchanged) != len(files) {
					b.Fatalf("%d of %d files unchanged", len(res.Unchanged), len(files))
				}
			}
		})
		b.Run("onenode", func(b *testing.B) {
			other := oneNodeVariant(b, n)
			sets := [2][]render.File{files, other}
			if _, err := output.Write(out, files); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			var rewritten int
			for b.Loop() {
				i++
				res, err := output.Write(out, sets[i%2])
				if err != nil {
					b.Fatal(err)
				}
				rewritten = len(res.Added) + len(res.Changed)
			}
			b.ReportMetric(float64(rewritten), "rewritten")
		})
	})
}

// oneNodeVariant renders the site of n workers with one worker's timezone
// changed, in a copy of the site.
func oneNodeVariant(b *testing.B, n int) []render.File {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "site")
	if err := Site(dir, n); err != nil {
		b.Fatal(err)
	}
	if err := SetTimezone(dir, Worker(1), "Europe/Zurich"); err != nil {
		b.Fatal(err)
	}
	return renderDir(b, dir)
}

// BenchmarkBuild is kiln build of a site into an empty build folder: load,
// validate, resolve, and render streamed into the new tree, as the command
// does it.
func BenchmarkBuild(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		dir := site(b, n)
		out := filepath.Join(b.TempDir(), "build")
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if err := os.RemoveAll(out); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			build(b, dir, out)
		}
		m, _, err := output.ReadManifest(out)
		if err != nil {
			b.Fatal(err)
		}
		var size int64
		for _, e := range m {
			size += e.Size
		}
		b.ReportMetric(float64(len(m)), "files")
		b.ReportMetric(float64(size)/(1<<20), "MiB")
	})
}

// BenchmarkOneNodeChanged is kiln build after one worker's parameter
// changed: the whole pipeline over an existing build, each iteration
// changing the same worker's timezone back and forth.
func BenchmarkOneNodeChanged(b *testing.B) {
	each(b, func(b *testing.B, n int) {
		dir := filepath.Join(b.TempDir(), "site")
		if err := Site(dir, n); err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(dir, "build")
		tz := [2]string{"Europe/Zurich", "Europe/Paris"}
		if err := SetTimezone(dir, Worker(1), tz[0]); err != nil {
			b.Fatal(err)
		}
		build(b, dir, out)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			if err := SetTimezone(dir, Worker(1), tz[i%2]); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			build(b, dir, out)
		}
	})
}

// build is kiln build: the site resolved, then streamed into out.
func build(b testing.TB, dir, out string) *output.Result {
	b.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	_, res, err := s.Write(out)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// TestSiteDeterministic: two benchmark sites of the same size, made in
// different folders, build byte-identical trees.
func TestSiteDeterministic(t *testing.T) {
	var man [2][]byte
	for i := range man {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("s%d", i))
		if err := Site(dir, 30); err != nil {
			t.Fatal(err)
		}
		files := renderDir(t, dir)
		man[i] = output.Entries(files).Bytes()
	}
	if !bytes.Equal(man[0], man[1]) {
		t.Fatalf("two benchmark sites of 30 workers build different trees:\n%s\n---\n%s", man[0], man[1])
	}
}

// TestOneNodeChange: after one worker's parameter changes, a rebuild
// rewrites only files of that node or shared by all (cluster and role
// files), and hard-links the rest from the previous tree.
func TestOneNodeChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if err := Site(dir, 30); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "build")
	node := Worker(7)
	if err := SetTimezone(dir, node, "Europe/Zurich"); err != nil {
		t.Fatal(err)
	}
	build(t, dir, out)
	inodes := map[string]uint64{}
	files := renderDir(t, dir)
	for _, f := range files {
		inodes[f.Path] = inode(t, filepath.Join(out, f.Path))
	}

	if err := SetTimezone(dir, node, "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	d, c := mustResolve(t, dir)
	// The build also writes kiln-nodes.json (kiln plan's node summary).
	files = append(mustRender(t, d, c), (&pipeline.Site{Defs: d, Cluster: c}).NodesSummary())
	res, err := output.Write(out, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added)+len(res.Removed) > 0 {
		t.Errorf("a parameter change added %v and removed %v", res.Added, res.Removed)
	}
	if len(res.Changed) == 0 {
		t.Errorf("changing %s's timezone changed no file", node)
	}
	byPath := map[string]render.File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	for _, p := range res.Changed {
		if f := byPath[p]; f.Node != "" && f.Node != node {
			t.Errorf("changing %s rewrote %s, a file of %s", node, p, f.Node)
		}
	}
	for _, p := range res.Unchanged {
		if got := inode(t, filepath.Join(out, p)); got != inodes[p] {
			t.Errorf("%s is unchanged but was rewritten, not hard-linked", p)
		}
	}
	if len(res.Changed)+len(res.Unchanged) != len(files) {
		t.Errorf("%d changed + %d unchanged != %d files", len(res.Changed), len(res.Unchanged), len(files))
	}
}

func inode(t testing.TB, p string) uint64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// BenchmarkWriteMany is the write stage on a synthetic tree shaped like
// the per-node artifacts to come (kickstart, PXE, Puppet data): five small
// files for each of 10,000 nodes, in five folders. It shows the cost per
// file of writing and of hard-linking, whatever the design builds today.
func BenchmarkWriteMany(b *testing.B) {
	const nodes = 10000
	kinds := []string{"kickstart", "pxelinux.cfg", "puppet", "ipxe", "firstboot"}
	var files []render.File
	for _, k := range kinds {
		for i := 1; i <= nodes; i++ {
			data := bytes.Repeat([]byte(fmt.Sprintf("# %s of %s\n", k, Worker(i))), 80) // ~2 KB
			files = append(files, render.File{Path: k + "/" + Worker(i), Data: data, Mode: 0o644, Origin: k + ".tmpl@" + Worker(i), Node: Worker(i)})
		}
	}
	slices.SortFunc(files, func(x, y render.File) int { return strings.Compare(x.Path, y.Path) })
	out := filepath.Join(b.TempDir(), "build")
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if err := os.RemoveAll(out); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := output.Write(out, files); err != nil {
				b.Fatal(err)
			}
		}
		reportTree(b, files)
	})
	b.Run("onenode", func(b *testing.B) {
		other := slices.Clone(files)
		for i, f := range other {
			if f.Node == Worker(1) {
				other[i].Data = append(slices.Clone(f.Data), "# changed\n"...)
			}
		}
		sets := [2][]render.File{files, other}
		if _, err := output.Write(out, files); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := output.Write(out, sets[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
