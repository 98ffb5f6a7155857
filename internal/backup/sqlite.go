package backup

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SnapshotSQLite copies the live SQLite database src to the new file dst
// consistently, while another process (kiln serve) may be writing it. The
// default runs the sqlite3 program's .backup, SQLite's online backup API.
//
// This is the seam for kiln serve's state package: a program that links a
// SQLite driver may set it to its own (VACUUM INTO through the driver, say)
// so that the head needs no sqlite3 program. Whatever it does, dst must be
// a complete database that opens on its own, with no -wal file beside it.
var SnapshotSQLite = sqlite3Backup

func sqlite3Backup(src, dst string) error {
	prog, err := exec.LookPath("sqlite3")
	if err != nil {
		return fmt.Errorf("the sqlite3 program is not installed, and a copy of a database that is being written is not a backup: install sqlite3 (package sqlite, or sqlite3 on Debian)")
	}
	if strings.ContainsAny(dst, "'\n") {
		return fmt.Errorf("cannot snapshot to %q", dst)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(prog, "-bail", src, ".timeout 10000", ".backup '"+dst+"'")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sqlite3 .backup: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// snapshotDB returns a consistent copy of the database at p.
func snapshotDB(p string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "kiln-snapshot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dst := filepath.Join(tmp, "snapshot.db")
	if err := SnapshotSQLite(p, dst); err != nil {
		return nil, err
	}
	if _, err := os.Stat(dst + "-wal"); err == nil {
		return nil, fmt.Errorf("the snapshot of %s left a -wal file beside it: it is not complete on its own", p)
	}
	return os.ReadFile(dst)
}

var sqliteMagic = []byte("SQLite format 3\x00")

// isSQLite reports whether the file is a SQLite database.
func isSQLite(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return bytes.Equal(head, sqliteMagic)
}

// sqliteSidecar reports whether f is the -wal, -shm or -journal file of
// one of the databases: the snapshot already holds what they add.
func sqliteSidecar(f string, dbs map[string]bool) bool {
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		if strings.HasSuffix(f, s) && dbs[strings.TrimSuffix(f, s)] {
			return true
		}
	}
	return false
}
