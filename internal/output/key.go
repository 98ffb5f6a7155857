package output

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// KeyName is the build's own key, 0600 in the build folder: the MANIFEST
// gives a file that carries a secret (a 0600 file) as an HMAC-SHA256 keyed
// by it, never as a plain sha256, which anyone who can read the MANIFEST
// could compare a guessed password with. The key is random, made with the
// first build of a folder and kept by every later one, so an unchanged
// build writes the same MANIFEST and unchanged files are still known by
// their sum. It is in no MANIFEST, so kiln serve never serves it.
const KeyName = ".kiln-manifest-key"

// ReadKey returns the key of the build in dir, or nil when it has none (a
// build written before keys, or no build).
func ReadKey(dir string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, KeyName))
	if err != nil {
		return nil
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil
	}
	return k
}

// newKey returns the key of dir's build, or a new one.
func newKey(dir string) ([]byte, error) {
	if k := ReadKey(dir); k != nil {
		return k, nil
	}
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

// keyedSum is what the MANIFEST lists for a secret-bearing file.
func keyedSum(key, data []byte) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	var s [32]byte
	m.Sum(s[:0])
	return s
}

// SameContent reports whether data is the file a MANIFEST entry (read with
// ReadManifest) lists: by its sha256, or for a keyed entry by the HMAC
// with the build's key (ReadKey; nil: no keyed entry matches).
func SameContent(key []byte, e Entry, data []byte) bool {
	var want string
	if e.Keyed {
		if key == nil {
			return false
		}
		s := keyedSum(key, data)
		want = hex.EncodeToString(s[:])
	} else {
		s := sha256.Sum256(data)
		want = hex.EncodeToString(s[:])
	}
	return hmac.Equal([]byte(want), []byte(e.SHA256))
}
