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

// kiln plan speaks of machines first: after a MAC typo fixed, a worker
// removed, the interactive nodes moved and a site-wide time zone, it lists
// the node changes (installed nodes marked, the shared change said once),
// then the files. The node section is compared with a golden file
// (go test ./cmd/kiln -run TestPlanNodeSummary -update rewrites it).
func TestPlanNodeSummary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 4, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	kiln := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("kiln %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	kiln("build", "-C", dir)
	if out := kiln("plan", "-C", dir); !strings.Contains(out, "up to date") || strings.Contains(out, "nodes:") {
		t.Fatalf("right after a build, plan says:\n%s", out)
	}
	site, err := os.ReadFile(filepath.Join(dir, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := string(site)
	for _, r := range [][2]string{
		{`wn2: "02:00:00:00:00:02"`, `wn2: "02:00:00:00:00:22"`},
		{"count: 4", "count: 3"},
		{"\n      wn4: \"02:00:00:00:00:04\"", ""},
		{"start: {public: 192.0.2.20, private: 10.10.0.20}", "start: {public: 192.0.2.30, private: 10.10.0.20}"},
		{"timezone: UTC", "timezone: Europe/Zurich"},
	} {
		if !strings.Contains(edited, r[0]) {
			t.Fatalf("the starter site has no %q", r[0])
		}
		edited = strings.Replace(edited, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(filepath.Join(dir, "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Sync(ctx, []string{"wn1", "wn2", "wn3", "wn4", "int1"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"wn2", "int1"} {
		if _, err := st.Report(ctx, n, "installed", "10.10.0.9"); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out := kiln("plan", "-C", dir)
	nodes, files, ok := strings.Cut(out, "\nfiles:\n")
	if !ok {
		t.Fatalf("no files: section after the nodes:\n%s", out)
	}
	if !strings.Contains(files, "~ hosts\t(hosts.tmpl)") {
		t.Errorf("the files do not follow the nodes:\n%s", files)
	}
	golden := filepath.Join("testdata", "plan-nodes.golden")
	if *updateCommands {
		if err := os.WriteFile(golden, []byte(nodes), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if nodes != string(want) {
		t.Errorf("kiln plan's node section:\n%s\nwant (%s):\n%s", nodes, golden, want)
	}

	js := kiln("plan", "-C", dir, "--json")
	for _, w := range []string{`"op": "remove",`, `"node": "wn4"`, `"installed": true`, `"MAC on private 02:00:00:00:00:02 → 02:00:00:00:00:22"`} {
		if !strings.Contains(js, w) {
			t.Errorf("kiln plan --json has no %s:\n%s", w, js)
		}
	}
}
