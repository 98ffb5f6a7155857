package output

import (
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/render"
)

// TestPlanDiffMasksSecretValuesOfASecretFile: a change in a file with
// secrets is shown line by line, each secret value (the old one too, once
// the secret changed) replaced by «secret»; a file whose secrets the
// renderer could not list is still not shown.
func TestPlanDiffMasksSecretValuesOfASecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "build")
	file := func(pw, port string, masks []string, opaque bool) render.File {
		return render.File{Path: "classes.yaml", Mode: 0o600, Secret: true, Masks: masks, Opaque: opaque,
			Data: []byte("kiln_db:\n  password: 'SCRAM-SHA-256$" + pw + "'\n  port: " + port + "\n  token: 'hunter22'\n")}
	}
	if _, err := Write(dir, []render.File{file("aaaa1111", "5432", []string{"SCRAM-SHA-256$aaaa1111", "hunter22"}, false)}); err != nil {
		t.Fatal(err)
	}
	ch, err := Plan(dir, []render.File{file("aaab2222", "5433", []string{"SCRAM-SHA-256$aaab2222", "hunter22"}, false)}, true)
	if err != nil || len(ch) != 1 {
		t.Fatalf("plan: %v %v", ch, err)
	}
	d := ch[0].Diff
	for _, leak := range []string{"aaaa1111", "aaab2222", "hunter22", "aaa"} {
		if strings.Contains(d, leak) {
			t.Errorf("the diff shows %q:\n%s", leak, d)
		}
	}
	for _, want := range []string{"-  port: 5432", "+  port: 5433", "+  password: '«secret»'", "-  password: '«secret»'", "   token: '«secret»'"} {
		if !strings.Contains(d, want) {
			t.Errorf("the diff lacks %q:\n%s", want, d)
		}
	}
	ch, _ = Plan(dir, []render.File{file("aaab2222", "5433", []string{"SCRAM-SHA-256$aaab2222"}, true)}, true)
	if len(ch) != 1 || !strings.Contains(ch[0].Diff, "not shown") {
		t.Errorf("a file with secrets the renderer did not record is shown: %+v", ch)
	}
}
