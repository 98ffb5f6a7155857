package tier3test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

func TestTheCondorTestJobCompilesAndRuns(t *testing.T) {
	cc := testutil.NeedProgram(t, "cc")
	_, files := build(t)
	dir := t.TempDir()
	writeOut(t, files, dir, "condor-test/hello.c")
	if out, err := exec.Command(cc, "-Wall", "-Werror", "-O2", "-o", filepath.Join(dir, "hello"), filepath.Join(dir, "hello.c")).CombinedOutput(); err != nil {
		t.Fatalf("hello.c does not compile cleanly: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "hello"), "7").Output()
	host, _ := os.Hostname()
	if err != nil || string(out) != "hello from "+host+", job 7\n" {
		t.Fatalf("hello 7 said %q (%v)", out, err)
	}
}

// HTCondor is not packaged in Debian 12, so the pool is played by two small
// stand-ins for condor_submit and condor_wait: submit runs each job of the
// submit file's queue here and writes its output, as the pool would. What
// is tested for real is the script: it compiles the job, reads the
// cluster id, waits, and checks every job's answer.
const fakeSubmit = `#!/bin/sh
set -eu
n=$(awk '$1 == "queue" { print $2 }' "$1")
i=0
while [ "$i" -lt "$n" ]; do
	if [ "${FAKE_CONDOR_LOSE_JOB:-}" != "$i" ]; then
		./hello "$i" >"hello.$i.out"
	fi
	i=$((i + 1))
done
: >hello.log
echo "Submitting job(s)...."
echo "$n job(s) submitted to cluster 42."
`

const fakeWait = `#!/bin/sh
[ "$1" = -wait ] && [ -f "$3" ]
`

func runCondorTest(t *testing.T, env ...string) (string, error) {
	t.Helper()
	testutil.NeedProgram(t, "cc")
	_, files := build(t)
	dir, bin, home := t.TempDir(), t.TempDir(), t.TempDir()
	writeOut(t, files, dir, "condor-test/hello.c", "condor-test/hello.sub", "condor-test/run-condor-test.sh")
	os.WriteFile(filepath.Join(bin, "condor_submit"), []byte(fakeSubmit), 0o755)
	os.WriteFile(filepath.Join(bin, "condor_wait"), []byte(fakeWait), 0o755)
	cmd := exec.Command("sh", filepath.Join(dir, "run-condor-test.sh"))
	cmd.Env = append(os.Environ(), append(env, "PATH="+bin+":"+os.Getenv("PATH"), "HOME="+home)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestTheCondorSmokeTestPassesWhenEveryJobAnswers(t *testing.T) {
	out, err := runCondorTest(t)
	if err != nil {
		t.Fatalf("run-condor-test.sh failed: %v\n%s", err, out)
	}
	for _, want := range []string{"submitted 4 job(s) as cluster 42", "all 4 job(s) answered", "the pool works"} {
		if !strings.Contains(out, want) {
			t.Errorf("the script did not say %q:\n%s", want, out)
		}
	}
}

func TestTheCondorSmokeTestFailsWhenAJobIsLost(t *testing.T) {
	out, err := runCondorTest(t, "FAKE_CONDOR_LOSE_JOB=2")
	if err == nil || !strings.Contains(out, "job 2 did not answer") {
		t.Fatalf("a lost job must fail the test, naming it: %v\n%s", err, out)
	}
}
