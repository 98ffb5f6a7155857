package output

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln.dev/kiln/internal/render"
)

func files(gen string, n int) []render.File {
	out := make([]render.File, 0, n+1)
	for i := 0; i < n; i++ {
		out = append(out, render.File{
			Path:   fmt.Sprintf("nodes/n%05d/config", i),
			Data:   []byte(fmt.Sprintf("node %d generation %s\n%s", i, gen, strings.Repeat("x", 512))),
			Mode:   0o644,
			Origin: "config.tmpl@n" + fmt.Sprint(i),
		})
	}
	out = append(out, render.File{Path: "secret.txt", Data: []byte("s3cret " + gen), Mode: 0o600, Secret: true, Origin: "secret.tmpl"})
	return out
}

func TestWriteThenVerifyIsClean(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	res, err := Write(dir, files("a", 20))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 21 {
		t.Errorf("added %d files, want 21", len(res.Added))
	}
	problems, err := Verify(dir)
	if err != nil || len(problems) > 0 {
		t.Fatalf("fresh build does not verify: %v %v", problems, err)
	}
	st, err := os.Stat(filepath.Join(dir, "secret.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file has mode %v, want 0600", st.Mode().Perm())
	}
	for _, w := range []string{".build.kiln-new", ".build.kiln-old"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), w)); err == nil {
			t.Errorf("%s was left behind", w)
		}
	}
}

func TestRebuildKeepsUnchangedFilesAndReportsChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	first := files("a", 10)
	if _, err := Write(dir, first); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, "nodes/n00001/config"))

	second := files("a", 9) // n00009 removed
	second[3].Data = []byte("changed\n")
	second = append(second, render.File{Path: "new.txt", Data: []byte("new\n"), Mode: 0o644, Origin: "new.tmpl"})
	res, err := Write(dir, second)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Changed) != "[nodes/n00003/config]" || fmt.Sprint(res.Added) != "[new.txt]" || fmt.Sprint(res.Removed) != "[nodes/n00009/config]" {
		t.Errorf("changed %v, added %v, removed %v", res.Changed, res.Added, res.Removed)
	}
	after, _ := os.Stat(filepath.Join(dir, "nodes/n00001/config"))
	if !os.SameFile(before, after) {
		t.Error("an unchanged file was rewritten; it should be carried over (hard link)")
	}
	if problems, err := Verify(dir); err != nil || len(problems) > 0 {
		t.Fatalf("rebuild does not verify: %v %v", problems, err)
	}
}

func TestWriteRefusesAFolderThatIsNotABuild(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "thesis.tex")
	os.WriteFile(precious, []byte("years of work"), 0o644)
	_, err := Write(dir, files("a", 2))
	if err == nil || !strings.Contains(err.Error(), "not a kiln build") {
		t.Fatalf("Write into a folder with other files: err = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(precious); string(b) != "years of work" {
		t.Fatal("the folder's files were touched")
	}
}

func TestVerifyFindsTamperingAndStrays(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	if _, err := Write(dir, files("a", 3)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "nodes/n00001/config"), []byte("edited by hand"), 0o644)
	os.WriteFile(filepath.Join(dir, "stray"), nil, 0o644)
	os.Remove(filepath.Join(dir, "nodes/n00002/config"))
	problems, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{"n00001/config: contents differ", "stray: not in the manifest", "n00002/config: missing"} {
		if !strings.Contains(got, want) {
			t.Errorf("Verify did not report %q; it said:\n%s", want, got)
		}
	}
}

func TestSecondBuildWaitsForTheFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	unlock, err := lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = Write(dir, files("a", 1))
	if err == nil || !strings.Contains(err.Error(), "another kiln build") {
		t.Fatalf("err = %v, want a message that another build is running", err)
	}
}

// The child half of TestKilledBuildLeavesThePreviousTreeWhole: it writes
// generation after generation of a big tree until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("KILN_TEST_WRITE_FOREVER"); dir != "" {
		for g := 0; ; g++ {
			if _, err := Write(dir, files(fmt.Sprint("g", g), 3000)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	}
	os.Exit(m.Run())
}

func TestKilledBuildLeavesThePreviousTreeWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("kills builds at many moments; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "build")
	if _, err := Write(dir, files("first", 3000)); err != nil {
		t.Fatal(err)
	}
	// Kill the writer at a spread of moments, so that some kills land while
	// files are written, some during the swap and some during cleanup.
	for i, delay := range []time.Duration{3, 10, 25, 40, 70, 110, 160, 230, 300, 400} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "KILN_TEST_WRITE_FOREVER="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 3 {
			t.Fatalf("kill %d: the writer failed on its own: %v\n%s", i, err, stderr.String())
		}
		problems, err := Verify(dir)
		if err != nil {
			t.Fatalf("kill %d after %v: %v", i, delay*time.Millisecond, err)
		}
		if len(problems) > 0 {
			t.Fatalf("kill %d after %v left a mixed tree:\n%s", i, delay*time.Millisecond, strings.Join(problems, "\n"))
		}
		// Every file is of one generation: the tree is one build, not a mix.
		gens := map[string]bool{}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, "config") {
				b, _ := os.ReadFile(p)
				gens[strings.Fields(string(b))[3]] = true
			}
			return nil
		})
		if len(gens) != 1 {
			t.Fatalf("kill %d: the tree mixes generations %v", i, gens)
		}
	}
	// The next build cleans up what the killed ones left beside the tree.
	if _, err := Write(dir, files("last", 3000)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if strings.Contains(e.Name(), "kiln-new") || strings.Contains(e.Name(), "kiln-old") {
			t.Errorf("%s was left behind after a good build", e.Name())
		}
	}
}

func TestRebuildingTheSameFilesTouchesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	if _, err := Write(dir, files("a", 5)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(dir)
	man, _ := os.Stat(filepath.Join(dir, render.ManifestName))
	res, err := Write(dir, files("a", 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unchanged) != 6 || len(res.Changed)+len(res.Added)+len(res.Removed) != 0 {
		t.Errorf("result %+v, want 6 unchanged", res)
	}
	after, _ := os.Stat(dir)
	man2, _ := os.Stat(filepath.Join(dir, render.ManifestName))
	if !os.SameFile(before, after) || !os.SameFile(man, man2) {
		t.Error("an unchanged build was swapped for a copy; it should be left as it is")
	}
	// A file edited by hand (its size differs) is put back by the next build.
	os.WriteFile(filepath.Join(dir, "nodes/n00001/config"), []byte("edited"), 0o644)
	if _, err := Write(dir, files("a", 5)); err != nil {
		t.Fatal(err)
	}
	if problems, err := Verify(dir); err != nil || len(problems) > 0 {
		t.Fatalf("after a hand edit the rebuild does not verify: %v %v", problems, err)
	}
}

// A build that fills the disk stops with the system's error, leaves the
// previous build whole and nothing beside it. It needs a small file system
// of its own: a tmpfs, mounted as root.
func TestAFullDiskLeavesThePreviousBuild(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	dir := filepath.Join(mnt, "build")
	if _, err := Write(dir, files("small", 3)); err != nil {
		t.Fatal(err)
	}
	big := files("big", 3)
	for i := range big {
		big[i].Data = bytes.Repeat([]byte("x"), 100<<10)
	}
	_, err := Write(dir, big)
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("a build larger than the disk: %v", err)
	}
	if problems, err := Verify(dir); err != nil || len(problems) > 0 {
		t.Errorf("the previous build does not verify: %v %v", problems, err)
	}
	if left, _ := filepath.Glob(filepath.Join(mnt, ".build.kiln-new*")); len(left) > 0 {
		t.Errorf("the failed build left %v", left)
	}
}

// A build leaves no lock file beside the build folder, whether it is
// committed, aborted or refused; a lock held by a build that just ended is
// taken again by the next one.
func TestBuildLeavesNoLockFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	lockFile := filepath.Join(filepath.Dir(dir), ".build.kiln-lock")
	gone := func(when string) {
		t.Helper()
		if _, err := os.Lstat(lockFile); err == nil {
			t.Errorf("%s: %s was left behind", when, lockFile)
		}
	}
	if _, err := Write(dir, files("a", 3)); err != nil {
		t.Fatal(err)
	}
	gone("after a build")
	tx, err := Begin(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(lockFile); err != nil {
		t.Errorf("a build in progress holds no lock file: %v", err)
	}
	tx.Abort()
	gone("after an aborted build")
	other := filepath.Join(t.TempDir(), "mine")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "notes"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(other, files("a", 1)); err == nil {
		t.Fatal("a folder that is not a build was written over")
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(other), ".mine.kiln-lock")); err == nil {
		t.Error("a refused build left its lock file")
	}
	// Two builds one after the other, and one that opened the old file
	// before it was removed: each gets the lock in turn.
	unlock, err := lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := os.OpenFile(lockFile, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	unlock()
	unlock2, err := lock(dir)
	if err != nil {
		t.Fatalf("the lock is not taken again after a build ended: %v", err)
	}
	if _, err := Write(dir, files("b", 1)); err == nil || !strings.Contains(err.Error(), "another kiln build") {
		t.Errorf("a second build ran beside one holding the lock: %v", err)
	}
	unlock2()
	gone("after the last build")
}
