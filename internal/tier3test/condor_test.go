package tier3test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestTheCondorSmokeTestSubmitFileUsesOnlyHTCondorCommands checks each
// command of hello.sub against condor_submit's own table (submit_utils.h of
// HTCondor 25.0, recorded in testdata/htcondor/submit_keys.txt), and the
// values that make the job run as its submitter on another machine: the
// vanilla universe, the compiled program transferred there, the output
// back on exit, one job per execute node.
func TestTheCondorSmokeTestSubmitFileUsesOnlyHTCondorCommands(t *testing.T) {
	known := map[string]bool{}
	f, err := os.Open("testdata/htcondor/submit_keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			known[strings.ToLower(l)] = true
		}
	}
	if !known["executable"] || len(known) < 100 {
		t.Fatalf("testdata/htcondor/submit_keys.txt holds only %d commands", len(known))
	}
	_, files := build(t)
	sub := string(files["condor-test/hello.sub"].Data)
	cmd := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.+]*)\s*=\s*(.*)$`)
	got := map[string]string{}
	queue := ""
	for i, l := range strings.Split(sub, "\n") {
		l = strings.TrimSpace(l)
		switch m := cmd.FindStringSubmatch(l); {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "queue"):
			queue = l
		case m == nil:
			t.Errorf("hello.sub:%d: not a submit command: %q", i+1, l)
		case !known[strings.ToLower(m[1])]:
			t.Errorf("hello.sub:%d: condor_submit has no command %s", i+1, m[1])
		default:
			got[strings.ToLower(m[1])] = m[2]
		}
	}
	want := map[string]string{
		"universe": "vanilla", "executable": "hello", "arguments": "$(Process)",
		"should_transfer_files": "YES", "when_to_transfer_output": "ON_EXIT",
		"output": "hello.$(Process).out", "error": "hello.$(Process).err", "log": "hello.log",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("hello.sub: %s = %q, want %q", k, got[k], v)
		}
	}
	if queue != "queue 4" {
		t.Errorf("hello.sub: %q, want one job for each of the example's 4 execute nodes", queue)
	}
}
