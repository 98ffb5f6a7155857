package output

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/render"
)

// The MANIFEST gives no plain sha256 of a file that carries a secret: one
// could test a guessed password against it. It lists such a file by an
// HMAC keyed by the build's own 0600 key, which later builds keep, so that
// unchanged files stay unchanged, kiln plan still sees what changed, and
// Verify, and kiln serve through ParseManifest, still check the file.
func TestManifestGivesNoPlainHashOfASecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	fs := files("a", 3)
	if _, err := Write(dir, fs); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(dir, render.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	plain := sha256.Sum256([]byte("s3cret a"))
	if bytes.Contains(man, []byte(hex.EncodeToString(plain[:]))) {
		t.Fatalf("the MANIFEST lists the secret file's plain sha256:\n%s", man)
	}
	var line string
	for _, l := range strings.Split(string(man), "\n") {
		if strings.Contains(l, "secret.txt") {
			line = l
		}
	}
	if !strings.HasSuffix(line, "secret keyed") {
		t.Errorf("the secret file's line %q is not marked keyed", line)
	}
	st, err := os.Stat(filepath.Join(dir, KeyName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the build's key: %v %v, want 0600", err, st)
	}
	key := ReadKey(dir)
	if got := EntriesKeyed(fs, key).Bytes(); !bytes.Equal(got, man) {
		t.Errorf("EntriesKeyed differs from the MANIFEST written:\n%s\n%s", got, man)
	}

	// The same build again: same key, same MANIFEST, nothing touched.
	res, err := Write(dir, files("a", 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unchanged) != 4 {
		t.Errorf("rebuild: %+v, want 4 unchanged", res)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, render.ManifestName)); !bytes.Equal(again, man) {
		t.Error("an unchanged rebuild wrote another MANIFEST")
	}

	// Plan sees a secret that changes, and one that does not.
	if ch, err := Plan(dir, files("a", 3), false); err != nil || len(ch) != 0 {
		t.Errorf("plan of the same files: %v %v", ch, err)
	}
	ch, err := Plan(dir, files("b", 3), true)
	if err != nil {
		t.Fatal(err)
	}
	var secretChange *Change
	for i := range ch {
		if ch[i].Path == "secret.txt" {
			secretChange = &ch[i]
		}
	}
	if secretChange == nil || secretChange.Op != "change" || !strings.Contains(secretChange.Diff, "not shown") {
		t.Errorf("plan of a changed secret: %+v", secretChange)
	}

	// kiln serve's reading: the file's sha256 when it matches, an empty
	// sum when it was changed by hand; Verify says so too.
	read := func() Entry {
		f, _ := os.Open(filepath.Join(dir, render.ManifestName))
		defer f.Close()
		m, err := ParseManifest(f, filepath.Join(dir, render.ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		return m.ByPath()["secret.txt"]
	}
	if e := read(); e.SHA256 != hex.EncodeToString(plain[:]) {
		t.Errorf("ParseManifest gives the secret file %q, want its sha256", e.SHA256)
	}
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("s3cret X"), 0o600)
	if e := read(); e.SHA256 != "" {
		t.Errorf("ParseManifest gives a changed secret file the sum %q", e.SHA256)
	}
	if p, err := Verify(dir); err != nil || len(p) != 1 || !strings.Contains(p[0], "secret.txt: contents differ") {
		t.Errorf("Verify after a hand edit of the secret: %v %v", p, err)
	}
}
