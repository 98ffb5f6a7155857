package tier3test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// Every shell script the build writes passes shellcheck, in the dialect its
// #! line names.
func TestEveryBuiltScriptPassesShellcheck(t *testing.T) {
	sc := testutil.NeedProgram(t, "shellcheck")
	_, files := build(t)
	dir := t.TempDir()
	var scripts []string
	for p, f := range files {
		if !strings.HasPrefix(string(f.Data), "#!/bin/sh") && !strings.HasPrefix(string(f.Data), "#!/bin/bash") {
			continue
		}
		dst := filepath.Join(dir, strings.ReplaceAll(p, "/", "__"))
		if err := os.WriteFile(dst, f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, dst)
	}
	if len(scripts) == 0 {
		t.Fatal("the build has no shell scripts; this test would check nothing")
	}
	out, err := exec.Command(sc, append([]string{"--format=gcc"}, scripts...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck found problems in the built scripts (file names are build paths with / as __):\n%s", out)
	}
	t.Logf("%d scripts pass shellcheck", len(scripts))
}
