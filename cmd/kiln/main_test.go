package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

// TestMain lets the scripts run kiln without building it: testscript
// re-executes this test binary as "kiln", which runs run() as main does.
// (testscript.Main is RunMain without its deprecated exit-code plumbing.)
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kiln": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the command-line scripts in testdata/script: each verb,
// its output, its error messages and its exit status.
//
// Besides testscript's own commands, a script may say
//
//	exits N kiln ARGS...
//
// to run a command that must end with exit status N exactly (! exec only
// says "not zero", and kiln's 1 and 2 mean different things), and
//
//	example-secrets DIR
//
// to give the site in DIR the secrets: block and secret files of the
// embedded example, which lists what the design needs: a script's site then
// follows the design without the cost of kiln init;
//
//	state-file FILE
//
// to make a state file as kiln serve leaves it for the example (see
// cmdStateFile), and sleep DURATION.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":           cmdExits,
			"example-secrets": cmdExampleSecrets,
			"state-file":      cmdStateFile,
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
		},
	})
}

// cmdStateFile makes a state file as kiln serve would leave it for the
// embedded example: every node recorded (wn1 and wn2 in group rack1, wn3
// and wn4 in rack2), wn2 failed, wn3 booting for an hour (stuck), the rest
// planned.
func cmdStateFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: state-file FILE")
	}
	s, err := pipeline.Resolve(pipeline.Source{Example: "tier3"})
	ts.Check(err)
	st, err := state.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer st.Close()
	ctx := context.Background()
	_, err = st.Sync(ctx, s.Cluster.NodeNames())
	ts.Check(err)
	rec := serve.SiteRecord(s.Cluster)
	for i, n := range rec.Nodes {
		switch n.Name {
		case "wn1", "wn2":
			rec.Nodes[i].Group = "rack1"
		case "wn3", "wn4":
			rec.Nodes[i].Group = "rack2"
		}
	}
	ts.Check(st.SetSite(ctx, rec))
	_, err = st.Fail(ctx, "wn2", "the disk is gone", "10.10.0.12")
	ts.Check(err)
	st.SetClock(func() time.Time { return time.Now().Add(-time.Hour) }) // stuck booting
	_, err = st.Boot(ctx, "wn3", "10.10.0.13", "MAC 52:54:00:00:00:13", state.DefaultPolicy)
	ts.Check(err)
	st.SetClock(time.Now)
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits STATUS COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit status", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func cmdExampleSecrets(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: example-secrets DIR")
	}
	ex, _ := builtin.Example("tier3")
	site, err := fs.ReadFile(ex, "site.yaml")
	ts.Check(err)
	_, block, ok := strings.Cut(string(site), "\nsecrets:\n")
	if !ok {
		ts.Fatalf("the example site has no secrets: block")
	}
	dir := ts.MkAbs(args[0])
	f, err := os.OpenFile(filepath.Join(dir, "site.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	ts.Check(err)
	_, err = f.WriteString("secrets:\n" + block)
	ts.Check(err)
	ts.Check(f.Close())
	files, _ := fs.Glob(ex, "secrets/*")
	ts.Check(os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
	for _, name := range files {
		b, err := fs.ReadFile(ex, name)
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o600))
	}
}
