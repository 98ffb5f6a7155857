// Package backup makes and restores the archive of a site (kiln backup,
// kiln restore), computes what each node backs up (kiln backup plan), and
// checks that backups restore (kiln drill).
//
// An archive is a plain, uncompressed tar, so that a damaged byte can be
// pinned to the member it falls in. Its first member, MANIFEST, lists every
// other member with its sha256, size and mode, then the sha256 of its own
// lines (damage), then an HMAC-SHA256 of all that keyed from the site key
// (authenticity): whoever changes a member and recomputes the MANIFEST
// without the site key makes an archive kiln restore refuses before it
// writes anything. The site's secrets enter the archive encrypted with age to
// the site key (as kiln-secrets/<path>.age) and the site key itself never
// does: the archive may be kept anywhere, and restoring it needs a copy of
// secrets/age.key. Node identities are already encrypted in the site folder
// and go in as they are. A live SQLite database in the site folder (kiln
// serve's state) goes in as a consistent snapshot, never as a copy of a
// file being written.
package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/load"
)

// ManifestName is the archive's first member.
const ManifestName = "MANIFEST"

// SecretPrefix holds the site's secrets, encrypted by kiln backup.
const SecretPrefix = "kiln-secrets/"

// BackupsDir is where kiln backup puts archives by default, in the site
// folder (never itself archived).
const BackupsDir = "backups"

const manifestHead = "# kiln backup archive, format 2: sha256  size  mode  path\n"

// manifestHeadV1 is the head of archives made before they were
// authenticated; kiln restore refuses them (stripping the MAC and calling
// an archive format 1 would otherwise get round it).
const manifestHeadV1 = "# kiln backup archive, format 1: sha256  size  mode  path\n"

// macLine starts the MANIFEST's last line, the HMAC-SHA256 of everything
// before it.
const macLine = "# mac hmac-sha256 "

// macKey derives the archive authentication key from the site key, with
// a label of its own: the MAC key is never the age key itself, and a MAC
// made for something else with the same site key cannot pass for one.
func macKey(key *identity.Key) []byte {
	m := hmac.New(sha256.New, []byte(key.SecretText()))
	m.Write([]byte("kiln backup archive MANIFEST MAC, format 2"))
	return m.Sum(nil)
}

// manifestMAC is the MAC of a MANIFEST's text up to its mac line.
func manifestMAC(key *identity.Key, text []byte) string {
	m := hmac.New(sha256.New, macKey(key))
	m.Write(text)
	return hex.EncodeToString(m.Sum(nil))
}

// Member is one file of an archive.
type Member struct {
	Path   string
	Size   int64
	Mode   fs.FileMode
	SHA256 string
}

// Result says what Create put in the archive.
type Result struct {
	Members   []Member
	Encrypted []string // site paths of the secrets, stored encrypted
	Snapshots []string // live databases, stored as snapshots
	Skipped   []string // what was left out, and why
	Bytes     int64
}

// Create writes the archive of the site folder dir to w.
func Create(dir string, w io.Writer, progress func(string)) (*Result, error) {
	if progress == nil {
		progress = func(string) {}
	}
	key, ok, err := identity.LoadKey(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("the site has no key (%s) to encrypt its secrets in the archive to: run kiln identity -C %s to make one, then keep a copy of it off this machine", identity.KeyFile, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, load.SiteFile)); err != nil {
		return nil, fmt.Errorf("%s holds no %s: it is not a site folder", dir, load.SiteFile)
	}
	secrets := secretFiles(dir)
	files, skipped, err := walkSite(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{Skipped: skipped}
	type entry struct {
		Member
		data []byte
	}
	var entries []entry
	add := func(p string, mode fs.FileMode, data []byte) {
		sum := sha256.Sum256(data)
		entries = append(entries, entry{Member{Path: p, Size: int64(len(data)), Mode: mode.Perm(), SHA256: hex.EncodeToString(sum[:])}, data})
	}
	dbs := map[string]bool{}
	for _, f := range files {
		if isSQLite(filepath.Join(dir, f)) {
			dbs[f] = true
		}
	}
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f))
		switch {
		case f == identity.KeyFile:
			continue
		case sqliteSidecar(f, dbs):
			continue // part of a database snapshotted below
		case dbs[f]:
			progress("snapshot of the database " + f)
			data, err := snapshotDB(full)
			if err != nil {
				return nil, fmt.Errorf("cannot take a consistent snapshot of %s: %v", f, err)
			}
			add(f, 0o600, data)
			res.Snapshots = append(res.Snapshots, f)
			continue
		}
		st, err := os.Stat(full)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, err
		}
		if secrets[f] || strings.HasPrefix(f, "secrets/") {
			enc, err := identity.Encrypt(key.Recipient(), data)
			if err != nil {
				return nil, err
			}
			add(SecretPrefix+f+".age", 0o600, enc)
			res.Encrypted = append(res.Encrypted, f)
			continue
		}
		add(f, st.Mode(), data)
	}
	files2 := make([]archiveFile, len(entries))
	for i, e := range entries {
		files2[i] = archiveFile{Path: e.Path, Mode: e.Mode, Data: e.data}
		res.Members = append(res.Members, e.Member)
		res.Bytes += e.Size
	}
	if err := writeArchive(w, key, files2); err != nil {
		return nil, err
	}
	return res, nil
}

// archiveFile is one member to write.
type archiveFile struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// Manifest is the MANIFEST text of these members (sorted by path),
// authenticated with the site key.
func manifestText(key *identity.Key, files []archiveFile) []byte {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var man bytes.Buffer
	man.WriteString(manifestHead)
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&man, "%s  %d  %04o  %s\n", hex.EncodeToString(sum[:]), len(f.Data), f.Mode.Perm(), f.Path)
	}
	sum := sha256.Sum256(man.Bytes())
	fmt.Fprintf(&man, "# end %s\n", hex.EncodeToString(sum[:]))
	fmt.Fprintf(&man, "%s%s\n", macLine, manifestMAC(key, man.Bytes()))
	return man.Bytes()
}

// writeArchive writes the MANIFEST then the files, as a tar.
func writeArchive(w io.Writer, key *identity.Key, files []archiveFile) error {
	man := manifestText(key, files)
	tw := tar.NewWriter(w)
	write := func(name string, mode fs.FileMode, data []byte) error {
		hdr := &tar.Header{Name: name, Mode: int64(mode.Perm()), Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := write(ManifestName, 0o644, man); err != nil {
		return err
	}
	for _, f := range files {
		if err := write(f.Path, f.Mode, f.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// secretFiles lists the site's secret files as site.yaml names them (it
// may name files outside secrets/). A site.yaml that does not parse still
// has its secrets/ folder encrypted.
func secretFiles(dir string) map[string]bool {
	out := map[string]bool{}
	d, _ := load.Dir(dir)
	if d == nil || d.Site == nil {
		return out
	}
	for _, ref := range d.Site.Secrets {
		if ref != nil && ref.File.Value != "" {
			out[path.Clean(ref.File.Value)] = true
		}
	}
	return out
}

// walkSite lists the regular files of the site folder, relative and with
// forward slashes, sorted. It leaves out build folders (they are rebuilt),
// the backups folder, and hidden working files; the two hidden entries a
// site has on purpose (.gitignore, .schema) are kept.
func walkSite(dir string) (files, skipped []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") && name != ".gitignore" && name != ".schema" {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel == BackupsDir || isBuild(p) {
				skipped = append(skipped, rel+"/ (rebuilt by kiln build)")
				if rel == BackupsDir {
					skipped[len(skipped)-1] = rel + "/ (the archives themselves)"
				}
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			skipped = append(skipped, rel+" (not a regular file)")
			return nil
		}
		files = append(files, rel)
		return nil
	})
	sort.Strings(files)
	return files, skipped, err
}

// isBuild reports whether a folder is a kiln build (its MANIFEST says so).
func isBuild(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.HasPrefix(line, "# kiln build manifest")
}

// Problem is what is wrong with an archive, naming the member.
type Problem struct {
	Member string
	What   string
}

func (p *Problem) Error() string {
	if p.Member == "" {
		return "the archive " + p.What
	}
	return fmt.Sprintf("member %s: %s", p.Member, p.What)
}

// readManifest parses and checks the MANIFEST member: whole (its sha256)
// and, with key, made with that site key (its MAC). Without a key only
// damage is found, not tampering.
func readManifest(data []byte, key *identity.Key) ([]Member, error) {
	if bytes.HasPrefix(data, []byte(manifestHeadV1)) {
		return nil, &Problem{ManifestName, "is in format 1, which carries no authentication code: kiln cannot tell it from an altered archive; make a new archive with kiln backup (from the site, or from a restore of this one with an older kiln)"}
	}
	m := bytes.LastIndex(data, []byte(macLine))
	i := bytes.LastIndex(data, []byte("# end "))
	if !bytes.HasPrefix(data, []byte(manifestHead)) || i < 0 || m < i {
		return nil, &Problem{ManifestName, "is damaged or not a kiln backup manifest"}
	}
	sum := sha256.Sum256(data[:i])
	if strings.TrimSpace(string(data[i+len("# end "):m])) != hex.EncodeToString(sum[:]) {
		return nil, &Problem{ManifestName, "is damaged: its checksum does not match its lines"}
	}
	if key != nil {
		got := strings.TrimSpace(string(data[m+len(macLine):]))
		want := manifestMAC(key, data[:m])
		if !hmac.Equal([]byte(got), []byte(want)) {
			return nil, &Problem{ManifestName, "fails authentication: it was not made with this site key (the archive was altered and its MANIFEST recomputed, or it is another site's archive); nothing was written"}
		}
	}
	data = data[:m]
	var out []Member
	seen := map[string]bool{}
	for n, line := range strings.Split(string(data[len(manifestHead):i]), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "  ", 4)
		if len(f) != 4 {
			return nil, &Problem{ManifestName, fmt.Sprintf("line %d is damaged", n+2)}
		}
		size, err1 := strconv.ParseInt(f[1], 10, 64)
		mode, err2 := strconv.ParseUint(f[2], 8, 32)
		if err1 != nil || err2 != nil || len(f[0]) != 64 || size < 0 {
			return nil, &Problem{ManifestName, fmt.Sprintf("line %d is damaged", n+2)}
		}
		if err := checkMemberPath(f[3]); err != nil || seen[f[3]] {
			return nil, &Problem{ManifestName, fmt.Sprintf("line %d names %q, which is not a plain relative path or comes twice", n+2, f[3])}
		}
		seen[f[3]] = true
		out = append(out, Member{Path: f[3], Size: size, Mode: fs.FileMode(mode).Perm(), SHA256: f[0]})
	}
	return out, nil
}

func checkMemberPath(p string) error {
	if p == "" || p == ManifestName || path.IsAbs(p) || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." || !fs.ValidPath(p) {
		return errors.New("not a plain relative path")
	}
	return nil
}

// Verify reads the whole archive and checks every member against the
// manifest: each listed member present once, whole, with its checksum, and
// nothing else. With key set the MANIFEST must carry the MAC that key
// makes, checked before any member is read; without, only damage is
// found. A sparse member, or one whose header size is not the MANIFEST's,
// is refused before its data is read, and no member is read past the size
// the MANIFEST gives it. With dst set it also writes each member under dst
// as it goes (dst is a scratch folder: Restore renames it into place only
// when everything checked out).
func Verify(r io.Reader, dst string, key *identity.Key) ([]Member, error) {
	return verify(r, dst, key, -1)
}

// verify is Verify with a bound on the sum of the MANIFEST's sizes (-1: none).
func verify(r io.Reader, dst string, key *identity.Key, bound int64) ([]Member, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, &Problem{"", "is empty, truncated, or not a tar file: " + tarErr(err)}
	}
	if hdr.Name != ManifestName {
		return nil, &Problem{hdr.Name, "comes first, where the MANIFEST should be: this is not a kiln backup archive"}
	}
	data, err := readAll(tr, 1<<26)
	if err != nil {
		return nil, &Problem{ManifestName, "is truncated: " + tarErr(err)}
	}
	members, err := readManifest(data, key)
	if err != nil {
		return nil, err
	}
	want := map[string]Member{}
	var total int64
	for _, m := range members {
		want[m.Path] = m
		total += m.Size
		if bound >= 0 && (total > bound || total < 0) {
			return nil, &Problem{ManifestName, fmt.Sprintf("gives its members more bytes than the archive holds (%d): it would expand as it is restored", bound)}
		}
	}
	got := map[string]bool{}
	last := ManifestName
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Problem{"", fmt.Sprintf("is damaged or truncated after member %s: %s", last, tarErr(err))}
		}
		m, ok := want[hdr.Name]
		if !ok || got[hdr.Name] {
			return nil, &Problem{hdr.Name, "is not in the manifest (or comes twice): the archive was altered"}
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, &Problem{hdr.Name, "is not a regular file"}
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return nil, &Problem{hdr.Name, "is a sparse file (kiln backup never writes one): it would expand as it is restored"}
			}
		}
		if hdr.Size != m.Size {
			return nil, &Problem{hdr.Name, fmt.Sprintf("has %d bytes, the manifest says %d", hdr.Size, m.Size)}
		}
		got[hdr.Name] = true
		last = hdr.Name
		h := sha256.New()
		var sink io.Writer = h
		var out *os.File
		if dst != "" {
			p := filepath.Join(dst, filepath.FromSlash(hdr.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return nil, err
			}
			out, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, err
			}
			sink = io.MultiWriter(h, out)
		}
		n, err := io.Copy(sink, io.LimitReader(tr, m.Size+1))
		if out != nil {
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return nil, &Problem{hdr.Name, "is truncated or unreadable: " + tarErr(err)}
		}
		if n != m.Size {
			return nil, &Problem{hdr.Name, fmt.Sprintf("has %d bytes, the manifest says %d", n, m.Size)}
		}
		if hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
			return nil, &Problem{hdr.Name, "is corrupt: its sha256 does not match the manifest"}
		}
	}
	for _, m := range members {
		if !got[m.Path] {
			return nil, &Problem{m.Path, "is missing: the archive is truncated"}
		}
	}
	return members, nil
}

func tarErr(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "it ends early"
	}
	return strings.TrimPrefix(err.Error(), "archive/tar: ")
}

func readAll(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err == nil && int64(len(data)) > max {
		err = errors.New("too large")
	}
	return data, err
}

// Restore checks the archive file and, only when every member checks out,
// puts the site into dir (which must not exist, or be empty), decrypting
// its secrets with key and writing the key to dir/secrets/age.key. On any
// problem nothing is left in dir.
func Restore(file, dir string, key *identity.Key) ([]Member, error) {
	if key == nil {
		return nil, fmt.Errorf("restoring needs the site key (your copy of %s): it authenticates the archive and decrypts its secrets", identity.KeyFile)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty; restore into a new folder (kiln never overwrites a site)", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".kiln-restore-")
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// A plain tar holds every byte of its members: their sizes cannot add
	// up to more than the file.
	members, err := verify(bufio.NewReaderSize(f, 1<<20), tmp, key, st.Size())
	if err != nil {
		return nil, err
	}
	// Everything is checked; now decrypt the secrets and set the modes.
	for _, m := range members {
		p := filepath.Join(tmp, filepath.FromSlash(m.Path))
		if !strings.HasPrefix(m.Path, SecretPrefix) {
			if err := os.Chmod(p, RestoredMode(m.Path, m.Mode)); err != nil {
				return nil, err
			}
			continue
		}
		orig := strings.TrimSuffix(strings.TrimPrefix(m.Path, SecretPrefix), ".age")
		enc, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		plain, err := identity.Decrypt(key.Identity(), enc)
		if err != nil {
			return nil, fmt.Errorf("member %s: cannot decrypt: %v", m.Path, err)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(orig))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, plain, 0o600); err != nil {
			return nil, err
		}
		if err := os.Remove(p); err != nil {
			return nil, err
		}
	}
	os.RemoveAll(filepath.Join(tmp, strings.TrimSuffix(SecretPrefix, "/")))
	if key != nil {
		kp := filepath.Join(tmp, filepath.FromSlash(identity.KeyFile))
		if err := os.MkdirAll(filepath.Dir(kp), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(kp, key.KeyText(), 0o600); err != nil {
			return nil, err
		}
	}
	if err := fixDirModes(tmp); err != nil {
		return nil, err
	}
	os.Remove(dir) // an empty folder given as the target
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	done = true
	return members, nil
}

// RestoredMode is the mode a restored file gets: the one kiln itself would
// give it, whatever the archive says. A file only its owner could read
// stays so (0600, or 0700 with execute); any other is 0644, or 0755 with
// execute. Never setuid, setgid or sticky, never group- or world-writable;
// whatever is under secrets/ is 0600; definitions (YAML) and encrypted
// files (.age) are never executable.
func RestoredMode(p string, m fs.FileMode) fs.FileMode {
	exec := m&0o100 != 0
	switch path.Ext(p) {
	case ".yaml", ".yml", ".age", ".pub", ".db":
		exec = false
	}
	switch {
	case p == "secrets" || strings.HasPrefix(p, "secrets/"):
		return 0o600
	case m.Perm()&0o077 == 0 && exec:
		return 0o700
	case m.Perm()&0o077 == 0:
		return 0o600
	case exec:
		return 0o755
	}
	return 0o644
}

// fixDirModes opens up the folders Verify made 0700, except secrets/.
func fixDirModes(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		mode := fs.FileMode(0o755)
		if rel, _ := filepath.Rel(root, p); filepath.ToSlash(rel) == "secrets" {
			mode = 0o700
		}
		return os.Chmod(p, mode)
	})
}
