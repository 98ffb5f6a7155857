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

// kiln discover lists the machines kiln serve put on the pending list,
// --accept writes one's MAC into site.yaml for the next free node of its
// role and rebuilds, --reject marks one rejected; nothing else changes
// site.yaml.
func TestDiscoverAcceptsAndRejectsPendingMachines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, mac := range []string{"52:54:00:aa:00:01", "52:54:00:aa:00:02"} {
		if _, err := st.NotePending(ctx, mac, "10.10.0.250", "worker"); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	site0, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	kiln := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append(args, "-C", dir), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := kiln("discover"); code != 0 || !strings.Contains(out, "52:54:00:aa:00:01") || !strings.Contains(out, "pending") {
		t.Fatalf("kiln discover: %d\n%s", code, out)
	}
	if site, _ := os.ReadFile(filepath.Join(dir, "site.yaml")); !bytes.Equal(site, site0) {
		t.Fatal("listing changed site.yaml")
	}
	if code, out := kiln("discover", "--accept", "52-54-00-AA-00-09"); code != exitDefs || !strings.Contains(out, "no such MAC in the pending list") {
		t.Fatalf("accepting a MAC that is not pending: %d\n%s", code, out)
	}
	code, out := kiln("discover", "--accept", "52-54-00-AA-00-01")
	if code != 0 || !strings.Contains(out, "52:54:00:aa:00:01 is now wn1 (role worker)") {
		t.Fatalf("kiln discover --accept: %d\n%s", code, out)
	}
	site, _ := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if !strings.Contains(string(site), "52:54:00:aa:00:01") {
		t.Fatalf("site.yaml lacks the accepted MAC:\n%s", site)
	}
	if _, err := os.Stat(filepath.Join(dir, "build", "MANIFEST")); err != nil {
		t.Fatalf("no rebuild: %v", err)
	}
	if code, out := kiln("discover", "--reject", "52:54:00:aa:00:02"); code != 0 || !strings.Contains(out, "rejected") {
		t.Fatalf("kiln discover --reject: %d\n%s", code, out)
	}
	code, out = kiln("discover", "--json")
	if code != 0 || strings.Contains(out, "52:54:00:aa:00:01") || !strings.Contains(out, `"status": "rejected"`) {
		t.Fatalf("the list after: %d\n%s", code, out)
	}
	// The event log says who did it.
	code, out = kiln("events", "-n", "0")
	if code != 0 || !strings.Contains(out, "MAC 52:54:00:aa:00:01 accepted as wn1") || !strings.Contains(out, "MAC 52:54:00:aa:00:02 rejected") {
		t.Fatalf("events: %d\n%s", code, out)
	}
	// --prune trims the log, and logs that it did.
	code, out = kiln("events", "--prune", "2999-01-01")
	if code != 0 || !strings.Contains(out, "pruned") {
		t.Fatalf("events --prune: %d\n%s", code, out)
	}
	if code, out = kiln("events", "-n", "0"); code != 0 || strings.Contains(out, "accepted as wn1") || !strings.Contains(out, "pruned") {
		t.Fatalf("events after --prune: %d\n%s", code, out)
	}
}
