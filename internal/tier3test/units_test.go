package tier3test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// Every node's backup service and timer pass systemd-analyze verify (the
// service's program replaced by a stand-in: verify wants it to exist).
func TestBackupUnitsPassSystemdVerify(t *testing.T) {
	analyze := testutil.NeedProgram(t, "systemd-analyze")
	_, files := build(t)
	checked := 0
	for p, f := range files {
		if !strings.HasPrefix(p, "backup/") || !strings.HasSuffix(p, "/kiln-backup.service") {
			continue
		}
		timer, ok := files[strings.TrimSuffix(p, ".service")+".timer"]
		if !ok {
			t.Errorf("%s has no timer beside it", p)
			continue
		}
		dir := t.TempDir()
		svc := strings.ReplaceAll(string(f.Data), "/usr/local/sbin/kiln-backup", "/bin/true")
		os.WriteFile(filepath.Join(dir, "kiln-backup.service"), []byte(svc), 0o644)
		os.WriteFile(filepath.Join(dir, "kiln-backup.timer"), timer.Data, 0o644)
		out, err := exec.Command(analyze, "verify", filepath.Join(dir, "kiln-backup.service"), filepath.Join(dir, "kiln-backup.timer")).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("%s and its timer: systemd-analyze verify: %v\n%s", p, err, out)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("the example builds no backup units; this test would check nothing")
	}
	t.Logf("%d nodes' backup units verified", checked)
}
