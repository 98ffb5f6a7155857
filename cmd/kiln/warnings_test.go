package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/state"
)

// A node added after kiln identity has no kept host keys: kiln check warns
// (exit 0) at its role's line; and kiln identity, making keys for a node
// the state file says is installed, warns that its key will change.
func TestHostKeyWarnings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 2, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	kiln := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != want {
			t.Fatalf("kiln %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	kiln(0, "identity", "-C", dir)
	if _, stderr := kiln(0, "check", "-C", dir); stderr != "" {
		t.Fatalf("every node has its keys, yet kiln check says:\n%s", stderr)
	}
	if err := os.RemoveAll(filepath.Join(dir, "identity", "wn2")); err != nil {
		t.Fatal(err)
	}
	stdout, stderr := kiln(0, "check", "-C", dir)
	want := dir + "/site.yaml:"
	if !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, ": warning: role worker: wn2 has no SSH host keys in identity/") || !strings.Contains(stderr, "run kiln identity") {
		t.Errorf("kiln check does not warn of wn2's missing keys at its role's line:\n%s", stderr)
	}
	if !strings.Contains(stdout, "no problems found (1 warning above") {
		t.Errorf("kiln check's summary: %s", stdout)
	}
	kiln(1, "check", "-C", dir, "--strict")

	st, err := state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Sync(ctx, []string{"wn1", "wn2"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"wn1", "wn2"} {
		if _, err := st.Report(ctx, n, "installed", "10.10.0.101"); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	_, stderr = kiln(0, "identity", "-C", dir)
	if !strings.Contains(stderr, "kiln identity: warning: wn2 is installed (") || !strings.Contains(stderr, "replace its own at the next reinstall") || strings.Contains(stderr, "wn1") {
		t.Errorf("kiln identity does not warn (only) of installed wn2 getting new keys:\n%s", stderr)
	}
	if _, stderr := kiln(0, "identity", "-C", dir); stderr != "" {
		t.Errorf("with every key kept, kiln identity still warns:\n%s", stderr)
	}
}
