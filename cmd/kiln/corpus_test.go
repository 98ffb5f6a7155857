package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"kiln.dev/kiln/internal/builtin"
)

// TestCorpus runs every case of testdata/corpus: a site (the embedded
// tier3 example, changed as the case says) that kiln check and kiln build
// must both refuse with exit status 1, at the FILE:LINE the case names and
// with its key words — no panic, nothing written, the site folder as it
// was, within a time and memory bound. A case marked "valid" must instead
// check and build.
//
// A case is a txtar archive. Its files replace or add files of the site
// folder; its comment holds one directive a line:
//
//	want FILE:LINE word…   a problem at FILE:LINE (FILE relative to the
//	                       site folder) whose text holds every word
//	sub FILE OLD => NEW    replace OLD (which must occur) by NEW in FILE;
//	                       \n, \t, \x00 and the like are Go escapes
//	suball FILE OLD => NEW the same, every occurrence
//	unquote FILE           the archive's FILE holds Go escapes (\x00, \xff)
//	symlink PATH TARGET    PATH becomes a symbolic link to TARGET
//	shadow PATH            copy the embedded design's PATH into the site
//	rm PATH / mkdir PATH   remove a file, make a folder
//	copydesign DIR         copy the embedded design into the site's DIR
//	mkfifo PATH            PATH becomes a named pipe
//	pad FILE BYTES         grow FILE with comment lines to BYTES bytes
//	reject TEXT            no problem may say TEXT (a follow-on)
//	valid                  the site must check and build
//	maxmem MiB             bytes allocated by each run (default 256)
//	maxtime SECONDS        wall time of each run (default 10)
//
// Lines starting with # are comments: what the case shows.
func TestCorpus(t *testing.T) {
	cases, err := filepath.Glob("testdata/corpus/*.txtar")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			runCorpusCase(t, ar)
		})
	}
}

type corpusWant struct {
	at    string
	words []string
}

func runCorpusCase(t *testing.T, ar *txtar.Archive) {
	root := t.TempDir()
	site := filepath.Join(root, "site")
	out := filepath.Join(root, "out")
	copyExample(t, site)

	var wants []corpusWant
	var rejects []string
	valid := false
	maxMem, maxTime := 256.0, 10.0
	unquote := map[string]bool{}
	var after []func()
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		args := strings.Fields(rest)
		switch verb {
		case "want":
			if len(args) < 1 {
				t.Fatalf("want needs FILE:LINE: %q", line)
			}
			wants = append(wants, corpusWant{at: args[0], words: args[1:]})
		case "reject":
			rejects = append(rejects, rest)
		case "valid":
			valid = true
		case "maxmem":
			maxMem, _ = strconv.ParseFloat(args[0], 64)
		case "maxtime":
			maxTime, _ = strconv.ParseFloat(args[0], 64)
		case "unquote":
			unquote[args[0]] = true
		case "sub", "suball":
			all := verb == "suball"
			file, spec, _ := strings.Cut(rest, " ")
			old, new, ok := strings.Cut(spec, " =>")
			new = strings.TrimPrefix(new, " ")
			if !ok {
				t.Fatalf("sub needs OLD => NEW: %q", line)
			}
			after = append(after, func() {
				p := filepath.Join(site, file)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				o, n := goUnquote(t, old), goUnquote(t, new)
				if !bytes.Contains(b, []byte(o)) {
					t.Fatalf("sub: %q not found in %s", o, file)
				}
				times := 1
				if all {
					times = -1
				}
				writeFile(t, p, bytes.Replace(b, []byte(o), []byte(n), times))
			})
		case "symlink":
			after = append(after, func() {
				p := filepath.Join(site, args[0])
				os.Remove(p)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.Symlink(args[1], p); err != nil {
					t.Fatal(err)
				}
			})
		case "shadow":
			after = append(after, func() {
				d, _ := builtin.Design("tier3")
				b, err := fs.ReadFile(d, args[0])
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(site, args[0]), b)
			})
		case "rm":
			after = append(after, func() {
				if err := os.RemoveAll(filepath.Join(site, args[0])); err != nil {
					t.Fatal(err)
				}
			})
		case "mkdir":
			after = append(after, func() {
				if err := os.MkdirAll(filepath.Join(site, args[0]), 0o755); err != nil {
					t.Fatal(err)
				}
			})
		case "copydesign":
			after = append(after, func() {
				d, _ := builtin.Design("tier3")
				err := fs.WalkDir(d, ".", func(p string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() {
						return err
					}
					b, err := fs.ReadFile(d, p)
					if err != nil {
						return err
					}
					writeFile(t, filepath.Join(site, args[0], p), b)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		case "mkfifo":
			after = append(after, func() {
				p := filepath.Join(site, args[0])
				os.Remove(p)
				if err := syscall.Mkfifo(p, 0o600); err != nil {
					t.Fatal(err)
				}
			})
		case "pad":
			after = append(after, func() {
				p := filepath.Join(site, args[0])
				size, _ := strconv.Atoi(args[1])
				b, _ := os.ReadFile(p)
				line := "# " + strings.Repeat("padding ", 12) + "\n"
				var buf bytes.Buffer
				buf.Write(b)
				for buf.Len() < size {
					buf.WriteString(line)
				}
				writeFile(t, p, buf.Bytes())
			})
		default:
			t.Fatalf("unknown directive %q", line)
		}
	}
	for _, f := range ar.Files {
		data := f.Data
		if unquote[f.Name] {
			data = []byte(goUnquote(t, string(data)))
		}
		writeFile(t, filepath.Join(site, f.Name), data)
	}
	for _, f := range after {
		f()
	}
	if !valid && len(wants) == 0 {
		t.Fatal("a case needs a want line, or valid")
	}

	before := treeSum(t, site)
	for _, verb := range []string{"check", "build"} {
		args := []string{verb, "-C", site}
		if verb == "build" {
			args = append(args, "-o", out)
		}
		code, stdout, stderr, alloc, took := runMeasured(t, args)
		text := strings.ReplaceAll(stderr, site+"/", "")
		if took > time.Duration(maxTime*float64(time.Second)) {
			t.Errorf("kiln %s took %v, more than %gs", verb, took, maxTime)
		}
		if mib := float64(alloc) / (1 << 20); mib > maxMem {
			t.Errorf("kiln %s allocated %.0f MiB, more than %g MiB", verb, mib, maxMem)
		}
		if testing.Verbose() && verb == "check" {
			t.Logf("kiln check (%v, %.1f MiB):\n%s", took.Round(time.Millisecond), float64(alloc)/(1<<20), text)
		}
		if valid {
			if code != 0 {
				t.Errorf("kiln %s: exit %d, want 0\n%s%s", verb, code, stdout, text)
			}
			continue
		}
		if code != 1 {
			t.Errorf("kiln %s: exit %d, want 1\n%s%s", verb, code, stdout, text)
		}
		if strings.Contains(text, "panic") || strings.Contains(text, "goroutine ") {
			t.Errorf("kiln %s panicked:\n%s", verb, text)
		}
		for _, w := range wants {
			if !hasProblem(text, w) {
				t.Errorf("kiln %s: no problem at %s with %q in:\n%s", verb, w.at, w.words, text)
			}
		}
		for _, r := range rejects {
			if strings.Contains(strings.ToLower(text), strings.ToLower(r)) {
				t.Errorf("kiln %s: a problem says %q, which only follows from the one the case is about:\n%s", verb, r, text)
			}
		}
		if verb == "build" {
			if _, err := os.Stat(out); err == nil {
				t.Errorf("kiln build wrote %s although it failed", out)
			}
		}
	}
	if after := treeSum(t, site); after != before {
		t.Errorf("the site folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// hasProblem says whether one line of text is a problem at w.at (the
// position, then ':' or ' ') that holds every word of w, in any case.
func hasProblem(text string, w corpusWant) bool {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, w.at+":") && !strings.HasPrefix(l, w.at+" ") {
			continue
		}
		ok := true
		for _, word := range w.words {
			if !strings.Contains(strings.ToLower(l), strings.ToLower(word)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// runMeasured runs kiln in this process, with the bytes it allocated and
// the time it took; a panic is a failure of the case, not of the test run.
func runMeasured(t *testing.T, args []string) (code int, stdout, stderr string, alloc uint64, took time.Duration) {
	var o, e bytes.Buffer
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				code = -1
				fmt.Fprintf(&e, "panic: %v", r)
			}
		}()
		code = run(args, &o, &e)
	}()
	took = time.Since(start)
	runtime.ReadMemStats(&m1)
	return code, o.String(), e.String(), m1.TotalAlloc - m0.TotalAlloc, took
}

// goUnquote reads Go escapes (\n, \x00, \ufeff) in s; its own newlines
// are kept as they are.
func goUnquote(t *testing.T, s string) string {
	var b strings.Builder
	for i, l := range strings.SplitAfter(s, "\n") {
		body, nl := strings.CutSuffix(l, "\n")
		u, err := strconv.Unquote(`"` + strings.ReplaceAll(body, `"`, `\"`) + `"`)
		if err != nil {
			t.Fatalf("line %d: bad escape in %q: %v", i+1, l, err)
		}
		b.WriteString(u)
		if nl {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyExample writes the embedded tier3 example into dir.
func copyExample(t *testing.T, dir string) {
	ex, ok := builtin.Example("tier3")
	if !ok {
		t.Fatal("no embedded example")
	}
	err := fs.WalkDir(ex, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ex, p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dir, p), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// treeSum lists every entry under dir with its type, mode and content hash.
func treeSum(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err != nil {
			fmt.Fprintf(&b, "%s error %v\n", rel, err)
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		sum := ""
		switch {
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			sum = fmt.Sprintf("%x", sha256.Sum256(data))
		case info.Mode()&fs.ModeSymlink != 0:
			sum, _ = os.Readlink(p)
		}
		fmt.Fprintf(&b, "%s %v %s\n", rel, info.Mode(), sum)
		return nil
	})
	return b.String()
}
