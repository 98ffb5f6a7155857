package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// kiln man is roff that groff reads without a warning, and man shows
// every command with its flags.
func TestManPageIsCleanRoffWithEveryCommand(t *testing.T) {
	var page bytes.Buffer
	if code := run([]string{"man"}, &page, &bytes.Buffer{}); code != 0 {
		t.Fatalf("kiln man: status %d", code)
	}
	groff := testutil.NeedProgram(t, "groff")
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = bytes.NewReader(page.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("groff: %v\n%s", err, out)
	}
	cmd = exec.Command(groff, "-man", "-Tutf8", "-P-cbou")
	cmd.Stdin = bytes.NewReader(page.Bytes())
	text, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range verbs {
		if !strings.Contains(string(text), "kiln "+v.name) {
			t.Errorf("the man page lacks kiln %s", v.name)
		}
	}
	for _, want := range []string{"--db FILE", "-C DIR", "KILN_SITE", "NO_COLOR", "EXIT STATUS"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
}
