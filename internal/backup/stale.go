package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"kiln.dev/kiln/internal/identity"
)

// Changed lists what of the site folder dir differs from an archive's
// members: files changed, added or removed since the archive was made.
// Secrets (stored encrypted) and databases (snapshotted, and changing all
// the time) are not compared, nor the site key, which is never archived.
func Changed(dir string, members []Member) ([]string, error) {
	files, _, err := walkSite(dir)
	if err != nil {
		return nil, err
	}
	secrets := secretFiles(dir)
	skip := func(f string) bool {
		if f == identity.KeyFile || secrets[f] || strings.HasPrefix(f, "secrets/") || strings.HasPrefix(f, SecretPrefix) {
			return true
		}
		return isSQLite(filepath.Join(dir, filepath.FromSlash(f))) || strings.HasSuffix(f, "-wal") || strings.HasSuffix(f, "-shm") || strings.HasSuffix(f, "-journal")
	}
	archived := map[string]string{}
	for _, m := range members {
		if !skip(m.Path) && !strings.HasSuffix(m.Path, ".db") {
			archived[m.Path] = m.SHA256
		}
	}
	var out []string
	for _, f := range files {
		if skip(f) {
			continue
		}
		sum, ok := archived[f]
		delete(archived, f)
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		h := sha256.Sum256(data)
		switch {
		case !ok:
			out = append(out, f+" (new)")
		case hex.EncodeToString(h[:]) != sum:
			out = append(out, f+" (changed)")
		}
	}
	for f := range archived {
		out = append(out, f+" (removed)")
	}
	sort.Strings(out)
	return out, nil
}
