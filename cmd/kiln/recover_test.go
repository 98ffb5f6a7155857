package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/state"
)

// kiln recover marks the node for reinstall in kiln serve's state, so its
// next network boot installs it, as kiln reinstall would.
func TestRecoverMarksTheNodeForReinstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 2, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"recover", "-C", dir, "wn2", "--mac", "02:00:00:00:aa:02"}, &out, &errb); code != 0 {
		t.Fatalf("kiln recover: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "marked for reinstall in kiln serve's state") {
		t.Errorf("recover did not say it marked the node:\n%s", out.String())
	}
	st, err = state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, ok, err := st.Node(context.Background(), "wn2")
	if err != nil || !ok || n.State != "needs-reinstall" {
		t.Fatalf("wn2 in the state file: %+v %v %v, want needs-reinstall", n, ok, err)
	}
}
