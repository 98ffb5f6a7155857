package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

// The node scripts the tier3 design builds back up real state with real
// restic into a local repository, and restore it under a new root with
// the same bytes, modes and links. The state is the nfs node's, with a
// second item added for the test: a dump/restore pair run through the
// sqlite3 program (the mechanism slapcat/slapadd use, with a lighter
// program).
func TestResticScriptsRoundTrip(t *testing.T) {
	restic := testutil.NeedProgram(t, "restic")
	sqlite := testutil.NeedProgram(t, "sqlite3")
	shellcheck := testutil.NeedProgram(t, "shellcheck")

	s, err := pipeline.Resolve(pipeline.Source{Example: "tier3"})
	if err != nil {
		t.Fatal(err)
	}
	nfs := s.Cluster.Node("nfs")
	var mod *model.Module
	for _, m := range nfs.Modules {
		if len(m.State) > 0 {
			mod = m
		}
	}
	if mod == nil {
		t.Fatal("the nfs node declares no state")
	}
	mod.State = append(mod.State, model.State{
		Dump:     `sqlite3 "$KILN_ROOT/var/lib/app/app.db" .dump`,
		Restore:  `mkdir -p "$KILN_ROOT/var/lib/app" && rm -f "$KILN_ROOT/var/lib/app/app.db" && sqlite3 "$KILN_ROOT/var/lib/app/app.db"`,
		Schedule: "hourly", Retention: 3,
	})
	files, diags := render.Build(s.Defs, s.Cluster)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	os.MkdirAll(bin, 0o755)
	for _, f := range files {
		if f.Path == "backup/nfs/kiln-backup" || f.Path == "backup/nfs/kiln-restore" {
			if err := os.WriteFile(filepath.Join(bin, filepath.Base(f.Path)), f.Data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := exec.Command(shellcheck, filepath.Join(bin, "kiln-backup"), filepath.Join(bin, "kiln-restore")).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}

	// The node's file system, under root1.
	root1 := filepath.Join(tmp, "root1")
	home := filepath.Join(root1, "export/home")
	write := func(rel string, data string, mode fs.FileMode) {
		p := filepath.Join(home, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
	write("alice/notes.txt", "private notes\n", 0o640)
	write("alice/bin/run.sh", "#!/bin/sh\necho run\n", 0o755)
	write("bob/data.bin", string(bytes.Repeat([]byte{0, 1, 2, 255}, 5000)), 0o600)
	os.Symlink("../alice/notes.txt", filepath.Join(home, "bob/link"))
	db := filepath.Join(root1, "var/lib/app/app.db")
	os.MkdirAll(filepath.Dir(db), 0o755)
	sql := func(dbfile, q string) string {
		out, err := exec.Command(sqlite, dbfile, q).CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3 %s: %v\n%s", q, err, out)
		}
		return string(out)
	}
	sql(db, "CREATE TABLE users(uid INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1001,'alice'),(1002,'bob');")

	pw := filepath.Join(tmp, "password")
	os.WriteFile(pw, []byte("test password\n"), 0o600)
	env := append(os.Environ(),
		"PATH="+filepath.Dir(restic)+":"+filepath.Dir(sqlite)+":/usr/bin:/bin",
		"RESTIC_REPOSITORY="+filepath.Join(tmp, "repo"),
		"RESTIC_PASSWORD_FILE="+pw,
		"RESTIC_CACHE_DIR="+filepath.Join(tmp, "cache"),
		"KILN_STATE_DIR="+filepath.Join(tmp, "stamps"),
		"TMPDIR="+tmp,
	)
	script := func(root string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env = append(env, "KILN_ROOT="+root)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(root string, args ...string) string {
		out, err := script(root, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}

	// Before init: a clear refusal.
	if out, err := script(root1, "kiln-backup", "run"); err == nil || !strings.Contains(out, "kiln-backup init") {
		t.Fatalf("a run before init: %v\n%s", err, out)
	}
	mustRun(root1, "kiln-backup", "init")
	out := mustRun(root1, "kiln-backup", "run")
	if !strings.Contains(out, "nfs_server.1 backed up") || !strings.Contains(out, "nfs_server.2 backed up") {
		t.Fatalf("first run:\n%s", out)
	}
	if out := mustRun(root1, "kiln-backup", "run"); !strings.Contains(out, "nothing is due") {
		t.Errorf("second run at once should find nothing due:\n%s", out)
	}

	// A dump command that fails leaves no snapshot and fails the run.
	before := snapshots(t, restic, env)
	if out, err := script(filepath.Join(tmp, "nowhere"), "kiln-backup", "run", "nfs_server.2"); err == nil || !strings.Contains(out, "dump command failed") {
		t.Errorf("a failing dump: %v\n%s", err, out)
	}
	if after := snapshots(t, restic, env); after != before {
		t.Errorf("a failing dump changed the snapshots: %d → %d", before, after)
	}
	// Retention: keep 14 of the paths item, 3 of the dump.
	for i := 0; i < 3; i++ {
		mustRun(root1, "kiln-backup", "run", "nfs_server.2")
	}
	if n := snapshots(t, restic, env); n != 1+3 {
		t.Errorf("after 4 dumps kept 3: %d snapshots in all, want 4", n)
	}

	// The node is rebuilt: restore onto an empty root.
	root2 := filepath.Join(tmp, "root2")
	out = mustRun(root2, "kiln-restore", "run")
	if !strings.Contains(out, "nfs_server.1 restored") || !strings.Contains(out, "nfs_server.2 restored") {
		t.Fatalf("restore:\n%s", out)
	}
	if d := diffTrees(filepath.Join(root1, "export"), filepath.Join(root2, "export")); d != "" {
		t.Errorf("the restored home areas differ: %s", d)
	}
	if a, b := sql(db, ".dump"), sql(filepath.Join(root2, "var/lib/app/app.db"), ".dump"); a != b {
		t.Errorf("the restored database differs:\n%s\nvs\n%s", a, b)
	}
	if out, err := script(root2, "kiln-restore", "run", "nosuch"); err == nil || !strings.Contains(out, "no item nosuch") {
		t.Errorf("restore of an unknown item: %v\n%s", err, out)
	}
	if out := mustRun(root1, "kiln-backup", "check"); !strings.Contains(out, "no errors were found") {
		t.Errorf("restic check:\n%s", out)
	}
}

func snapshots(t *testing.T, restic string, env []string) int {
	t.Helper()
	cmd := exec.Command(restic, "snapshots", "--json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("restic snapshots: %v", err)
	}
	var l []json.RawMessage
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// diffTrees compares two folders: names, types, modes, bytes, link targets.
func diffTrees(a, b string) string {
	list := func(root string) map[string]string {
		out := map[string]string{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			info, _ := d.Info()
			desc := info.Mode().String()
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				desc += " -> " + l
			case info.Mode().IsRegular():
				data, _ := os.ReadFile(p)
				desc += fmt.Sprintf(" %x", data)
			}
			out[rel] = desc
			return nil
		})
		return out
	}
	la, lb := list(a), list(b)
	if len(la) == 0 {
		return "nothing in " + a
	}
	for k, v := range la {
		if lb[k] != v {
			return fmt.Sprintf("%s: %.60s vs %.60s", k, v, lb[k])
		}
	}
	for k := range lb {
		if _, ok := la[k]; !ok {
			return k + " only in the restore"
		}
	}
	return ""
}

// A rebuilt node gets back the very host key bytes kept for it: the
// identity script the build makes (which the kickstart runs) writes them.
func TestIdentityScriptPutsBackSameKeys(t *testing.T) {
	sh := testutil.NeedProgram(t, "sh")
	shellcheck := testutil.NeedProgram(t, "shellcheck")
	dir := exampleSite(t)
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	var script render.File
	var knownHosts string
	for _, f := range files {
		switch f.Path {
		case "identity/wn1.sh":
			script = f
		case "ssh_known_hosts":
			knownHosts = string(f.Data)
		}
	}
	if !script.Secret || script.Mode != 0o600 {
		t.Errorf("identity/wn1.sh carries private keys: secret %v mode %o, want a 0600 secret", script.Secret, script.Mode)
	}
	p := filepath.Join(t.TempDir(), "wn1.sh")
	os.WriteFile(p, script.Data, 0o700)
	if out, err := exec.Command(shellcheck, p).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
	key, _, _ := identity.LoadKey(os.DirFS(dir))
	kept, err := identity.Load(os.DirFS(dir), key, "wn1")
	if err != nil {
		t.Fatal(err)
	}
	// Twice: a first install, then a rebuild over the installer's new keys.
	for round := 0; round < 2; round++ {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "etc/ssh"), 0o755)
		os.WriteFile(filepath.Join(root, "etc/ssh/ssh_host_ed25519_key"), []byte("the installer's fresh key\n"), 0o600)
		cmd := exec.Command(sh, p)
		cmd.Env = append(os.Environ(), "KILN_ROOT="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, f := range kept {
			got, err := os.ReadFile(filepath.Join(root, f.Path))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, f.Data) {
				t.Errorf("round %d: %s is not the kept key", round, f.Path)
			}
			st, _ := os.Stat(filepath.Join(root, f.Path))
			if st.Mode().Perm() != f.Mode {
				t.Errorf("%s: mode %o, want %o", f.Path, st.Mode().Perm(), f.Mode)
			}
		}
	}
	pub := strings.Fields(string(kept[3].Data)) // ssh_host_ed25519_key.pub
	if !strings.Contains(knownHosts, "wn1,wn1.mytier3.local,10.10.0.101 "+pub[0]+" "+pub[1]) {
		t.Errorf("ssh_known_hosts lacks wn1's ed25519 key:\n%s", knownHosts)
	}
	// A node without kept keys keeps the installer's: its script puts back
	// only what every node gets, the site CA's certificate (public).
	for _, f := range files {
		if f.Path == "identity/wn2.sh" && (f.Secret || bytes.Contains(f.Data, []byte("/etc/ssh/")) || bytes.Contains(f.Data, []byte("PRIVATE KEY")) ||
			!bytes.Contains(f.Data, []byte(identity.SiteCAPath)) || !bytes.Contains(f.Data, []byte("put back 1 identity files of wn2"))) {
			t.Errorf("identity/wn2.sh for a node without kept keys:\n%s", f.Data)
		}
	}
}
