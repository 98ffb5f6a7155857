// Package identity keeps each node's identity — its SSH host keys, and any
// grid host certificate imported for it — in the site folder, so that a
// rebuilt node gets back the very same keys and its users never see "host
// key changed".
//
// The files live under identity/<node>/ at the path they have on the node:
//
//	identity/wn1/etc/ssh/ssh_host_ed25519_key.age   private: age-encrypted (armored)
//	identity/wn1/etc/ssh/ssh_host_ed25519_key.pub   public: as it is
//
// A private file is encrypted with age to the site key, an X25519 identity
// kept in secrets/age.key (0600, outside version control like the other
// secrets); the identity/ folder itself may be committed. Whoever holds
// secrets/age.key can decrypt every node's keys and every secret in a
// backup archive: keep a copy of it off the cluster (the USB key, a safe).
package identity

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

// KeyFile is the site key's path in the site folder.
const KeyFile = "secrets/age.key"

// Dir is the folder of the site that holds the node identities.
const Dir = "identity"

// encSuffix marks an encrypted file in the identity folder.
const encSuffix = ".age"

// File is one file of a node's identity, as it is on the node.
type File struct {
	Path   string      // absolute path on the node, e.g. /etc/ssh/ssh_host_rsa_key
	Mode   fs.FileMode // 0600 for a private file, 0644 for a public one
	Data   []byte
	Secret bool // kept encrypted in the site folder
}

// Key is a site's age key.
type Key struct {
	id *age.X25519Identity
}

// Recipient is the key's public half (age1…), which encrypts to it.
func (k *Key) Recipient() *age.X25519Recipient { return k.id.Recipient() }

// Identity is the key's private half, which decrypts.
func (k *Key) Identity() age.Identity { return k.id }

// ParseKey reads an age identity file: comment lines and one AGE-SECRET-KEY.
func ParseKey(data []byte) (*Key, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("it is not an age key file: %v", err)
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("it holds %d keys; a site key file holds exactly one", len(ids))
	}
	x, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, errors.New("it is not an X25519 age key (AGE-SECRET-KEY-1…)")
	}
	return &Key{id: x}, nil
}

// LoadKey reads the site key from a site folder (a directory or any fs.FS).
// ok is false when the site has none.
func LoadKey(site fs.FS) (k *Key, ok bool, err error) {
	data, err := fs.ReadFile(site, KeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	k, err = ParseKey(data)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %v", KeyFile, err)
	}
	return k, true, nil
}

// ReadKeyFile reads an age key file on disk, e.g. the copy given to kiln restore --key.
func ReadKeyFile(p string) (*Key, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return k, nil
}

// SecretText is the private key as age writes it (AGE-SECRET-KEY-1…),
// for deriving keys of other uses from it (never written anywhere by
// itself but in the key file).
func (k *Key) SecretText() string { return k.id.String() }

// KeyText is the key file's content.
func (k *Key) KeyText() []byte {
	return []byte(fmt.Sprintf("# The site key: it decrypts the node identities in identity/ and the\n# secrets in kiln backup archives. Keep a copy off the cluster.\n# public key: %s\n%s\n", k.Recipient(), k.id))
}

// EnsureKey returns the site key of the folder dir, creating it (0600) when
// the site has none.
func EnsureKey(dir string) (k *Key, created bool, err error) {
	k, ok, err := LoadKey(os.DirFS(dir))
	if err != nil || ok {
		return k, false, err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, false, err
	}
	k = &Key{id: id}
	p := filepath.Join(dir, filepath.FromSlash(KeyFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	_, err = f.Write(k.KeyText())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return nil, false, err
	}
	return k, true, nil
}

// Encrypt encrypts data to the key, armored (text, diff-friendly).
func Encrypt(r age.Recipient, data []byte) ([]byte, error) {
	var b bytes.Buffer
	a := armor.NewWriter(&b)
	w, err := age.Encrypt(a, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := a.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Decrypt reverses Encrypt; it also accepts unarmored age files.
func Decrypt(id age.Identity, data []byte) ([]byte, error) {
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(data, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) {
		src = armor.NewReader(src)
	}
	r, err := age.Decrypt(src, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, errors.New("it was encrypted to another key than this site's " + KeyFile)
		}
		return nil, err
	}
	return io.ReadAll(r)
}

// CheckNode refuses a node name that could leave the identity folder.
func CheckNode(node string) error {
	if node == "" || strings.ContainsAny(node, "/\\") || node == "." || node == ".." || strings.HasPrefix(node, ".") {
		return fmt.Errorf("%q is not a node name", node)
	}
	return nil
}

// Has reports whether the site keeps an identity for the node.
func Has(site fs.FS, node string) bool {
	if CheckNode(node) != nil {
		return false
	}
	st, err := fs.Stat(site, path.Join(Dir, node))
	return err == nil && st.IsDir()
}

// HasHostKeys reports whether the site keeps SSH host keys for the node.
func HasHostKeys(site fs.FS, node string) bool {
	if CheckNode(node) != nil {
		return false
	}
	_, err := fs.Stat(site, path.Join(Dir, node, "etc/ssh/ssh_host_ed25519_key"+encSuffix))
	return err == nil
}

// Load returns the node's identity files, decrypted, sorted by path. A node
// the site keeps no identity for has none (and needs no key).
func Load(site fs.FS, key *Key, node string) ([]File, error) {
	if err := CheckNode(node); err != nil {
		return nil, err
	}
	root := path.Join(Dir, node)
	if !Has(site, node) {
		return nil, nil
	}
	var out []File
	err := fs.WalkDir(site, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		data, err := fs.ReadFile(site, p)
		if err != nil {
			return err
		}
		f := File{Path: strings.TrimPrefix(p, root), Mode: 0o644, Data: data}
		if strings.HasSuffix(p, encSuffix) {
			if key == nil {
				return fmt.Errorf("%s is encrypted and the site has no key (%s): put back your copy of the site key", p, KeyFile)
			}
			plain, err := Decrypt(key.Identity(), data)
			if err != nil {
				return fmt.Errorf("cannot decrypt %s: %v", p, err)
			}
			f = File{Path: strings.TrimSuffix(f.Path, encSuffix), Mode: 0o600, Data: plain, Secret: true}
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Save adds files to the node's identity in the site folder dir (an
// imported grid host certificate, say): private ones encrypted to r. An
// existing file is never overwritten.
func Save(dir string, r age.Recipient, node string, files []File) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	return writeFiles(filepath.Join(dir, Dir, node), r, files, false)
}

// writeFiles writes identity files under root, refusing to replace any.
// With whole set, root is a fresh folder removed again on failure.
func writeFiles(root string, r age.Recipient, files []File, whole bool) error {
	fail := func(err error) error {
		if whole {
			os.RemoveAll(root)
		}
		return err
	}
	for _, f := range files {
		if err := checkTarget(f.Path); err != nil {
			return fail(err)
		}
		p := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(f.Path, "/")))
		data := f.Data
		if f.Secret {
			var err error
			if data, err = Encrypt(r, f.Data); err != nil {
				return fail(err)
			}
			p += encSuffix
		}
		if _, err := os.Lstat(p); err == nil {
			return fail(fmt.Errorf("%s already exists; kiln never replaces a kept identity (remove it first if you mean to)", p))
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
		if err := writeNew(p, data); err != nil {
			return fail(err)
		}
	}
	return nil
}

// checkTarget accepts an absolute, clean path on the node.
func checkTarget(p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" || strings.HasSuffix(p, encSuffix) {
		return fmt.Errorf("%q is not a clean absolute path on the node (and may not end in %s)", p, encSuffix)
	}
	return nil
}

func writeNew(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
	}
	return err
}

// HostKeyTypes are the SSH host key types kiln keeps for a node of an OS
// dialect. On EL7 and later: ecdsa and ed25519, which every current client
// prefers, and which take microseconds to make (an RSA key takes up to a
// second, hours for a 10,000-node site). On EL9 the tier3 base class lists
// only these as sshd's HostKey, so a rebuilt node offers no fresh key of
// any type; on EL7 and EL8 sshd also offers the RSA key it makes at first
// boot, which a rebuild changes, but clients that know the node's ed25519
// or ecdsa key ask for that one. The legacy dialects' OpenSSH (4.3 on SL5,
// 5.3 on SL6) knows neither, so they keep RSA.
func HostKeyTypes(osDialect string) []string {
	switch osDialect {
	case "sl5", "sl6":
		return []string{"rsa"}
	}
	return []string{"ecdsa", "ed25519"}
}

// NewHostKeys creates a fresh set of SSH host keys for a node, in the files
// and modes sshd reads.
func NewHostKeys(node, osDialect string) ([]File, error) {
	comment := "root@" + node
	var out []File
	for _, t := range HostKeyTypes(osDialect) {
		var priv crypto.Signer
		var err error
		switch t {
		case "ed25519":
			_, priv, err = ed25519.GenerateKey(rand.Reader)
		case "ecdsa":
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case "rsa":
			priv, err = rsa.GenerateKey(rand.Reader, 3072)
		}
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, comment)
		if err != nil {
			return nil, err
		}
		pub, err := ssh.NewPublicKey(priv.Public())
		if err != nil {
			return nil, err
		}
		line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n") + " " + comment + "\n"
		base := "/etc/ssh/ssh_host_" + t + "_key"
		out = append(out,
			File{Path: base, Mode: 0o600, Data: pem.EncodeToMemory(block), Secret: true},
			File{Path: base + ".pub", Mode: 0o644, Data: []byte(line)})
	}
	return out, nil
}

// Ensure gives every listed node that has no identity yet a fresh set of
// SSH host keys, creating the site key first if needed. It returns the
// nodes it made keys for, of the types the OS dialect uses. Keys are made
// on all cores (RSA, for the legacy dialects, takes a moment).
func Ensure(dir, osDialect string, nodes []string) ([]string, error) {
	key, _, err := EnsureKey(dir)
	if err != nil {
		return nil, err
	}
	site := os.DirFS(dir)
	var todo []string
	for _, n := range nodes {
		if err := CheckNode(n); err != nil {
			return nil, err
		}
		if !HasHostKeys(site, n) {
			todo = append(todo, n)
		}
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, n := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			files, err := NewHostKeys(n, osDialect)
			switch {
			case err != nil:
			case Has(site, n): // an imported certificate came first
				err = Save(dir, key.Recipient(), n, files)
			default:
				err = saveWhole(dir, key, n, files)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return todo, nil
}

// saveWhole writes a node's identity into a hidden folder and renames it
// into place, so a killed run never leaves half a set of keys.
func saveWhole(dir string, key *Key, node string, files []File) error {
	tmp := filepath.Join(dir, Dir, "."+node+".new")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := writeFiles(tmp, key.Recipient(), files, true); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, Dir, node)); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}
