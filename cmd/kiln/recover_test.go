package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/state"
	"kiln.dev/kiln/internal/testutil"
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

// kiln recover --run waits for the node and runs its restore over ssh. The
// node is played by a real sshd on 127.0.0.1 whose sessions find the site's
// generated kiln-restore (and its restic repository) as a node would; the
// state comes back from a backup made with the generated kiln-backup.
func TestRecoverRunRestoresTheNodeOverSSH(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sshd runs as root")
	}
	sshd := testutil.NeedProgram(t, "sshd")
	keygen := testutil.NeedProgram(t, "ssh-keygen")
	restic := testutil.NeedProgram(t, "restic")
	testutil.NeedProgram(t, "ssh")

	tmp := t.TempDir()
	dir := filepath.Join(tmp, "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 1, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"build", "-C", dir}, &out, &errb); code != 0 {
		t.Fatalf("kiln build: %s%s", out.String(), errb.String())
	}
	// The node's scripts, where its sessions find them.
	bin := filepath.Join(tmp, "bin")
	os.MkdirAll(bin, 0o755)
	for _, name := range []string{"kiln-backup", "kiln-restore"} {
		data, err := os.ReadFile(filepath.Join(dir, "build/backup/nfs", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, name), data, 0o755)
	}
	nodeEnv := []string{
		"PATH=" + bin + ":" + filepath.Dir(restic) + ":/usr/bin:/bin",
		"RESTIC_REPOSITORY=" + filepath.Join(tmp, "repo"),
		"RESTIC_PASSWORD_FILE=" + filepath.Join(tmp, "restic-password"),
		"RESTIC_CACHE_DIR=" + filepath.Join(tmp, "cache"),
		"KILN_STATE_DIR=" + filepath.Join(tmp, "stamps"),
		"TMPDIR=" + tmp,
	}
	os.WriteFile(filepath.Join(tmp, "restic-password"), []byte("test\n"), 0o600)
	// The old machine's state, backed up.
	old := filepath.Join(tmp, "old")
	os.MkdirAll(filepath.Join(old, "export/home/alice"), 0o755)
	os.WriteFile(filepath.Join(old, "export/home/alice/thesis.tex"), []byte("chapter 1\n"), 0o640)
	for _, args := range [][]string{{"kiln-backup", "init"}, {"kiln-backup", "run"}} {
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env = append(append(os.Environ(), nodeEnv...), "KILN_ROOT="+old)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
	}

	// The new machine: sshd whose sessions have the node's environment and
	// restore under KILN_ROOT=new.
	fresh := filepath.Join(tmp, "new")
	os.MkdirAll(fresh, 0o755)
	for _, k := range []string{"host", "client"} {
		if b, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(tmp, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, b)
		}
	}
	pub, _ := os.ReadFile(filepath.Join(tmp, "client.pub"))
	os.WriteFile(filepath.Join(tmp, "authorized_keys"), pub, 0o600)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation folder
	port := testutil.FreePort(t)
	config := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
SetEnv %s KILN_ROOT=%s
`, port, filepath.Join(tmp, "host"), filepath.Join(tmp, "sshd.pid"), filepath.Join(tmp, "authorized_keys"), strings.Join(nodeEnv, " "), fresh)
	os.WriteFile(filepath.Join(tmp, "sshd_config"), []byte(config), 0o600)
	daemon := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(tmp, "sshd_config"))
	var logs bytes.Buffer
	daemon.Stderr = &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			t.Logf("sshd said:\n%s", logs.String())
		}
	}()
	t.Setenv("KILN_SSH", fmt.Sprintf("ssh -p %d -i %s -o HostName=127.0.0.1 -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
		port, filepath.Join(tmp, "client")))

	out.Reset()
	errb.Reset()
	if code := run([]string{"recover", "-C", dir, "nfs", "--run", "--wait", "30s"}, &out, &errb); code != 0 {
		t.Fatalf("kiln recover --run: exit %d\n%s%s", code, out.String(), errb.String())
	}
	got, err := os.ReadFile(filepath.Join(fresh, "export/home/alice/thesis.tex"))
	if err != nil || string(got) != "chapter 1\n" {
		t.Fatalf("the home area is not back on the new machine: %q %v\n%s%s", got, err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "nfs's state is restored") {
		t.Errorf("recover --run did not say it finished:\n%s", out.String())
	}
}

func TestRecoverRunGivesUpWhenTheNodeNeverComesBack(t *testing.T) {
	testutil.NeedProgram(t, "ssh")
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 1, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KILN_SSH", fmt.Sprintf("ssh -p %d -o HostName=127.0.0.1 -o BatchMode=yes -o ConnectTimeout=1", testutil.FreePort(t)))
	var out, errb bytes.Buffer
	code := run([]string{"recover", "-C", dir, "nfs", "--run", "--wait", "1s"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "did not come back within 1s") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// kiln recover --head works for any design: on the genomics fixture (after
// kiln identity and kiln backup) the head is the node running the module
// the design's serve: block names, its install file the design's, and its
// VM's files the vm-scoped ones, whatever they are called.
func TestRecoverHeadOfAnotherDesign(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	if err := os.CopyFS(dir, os.DirFS("../../internal/pipeline/testdata/genomics")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"identity", "-C", dir}, {"backup", "-C", dir}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("kiln %s: exit %d\n%s%s", args[0], code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"recover", "--head", "-C", dir}, &out, &errb); code != 0 {
		t.Fatalf("kiln recover --head: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"Disaster recovery of mgr1 ", "ok   the build has mgr1's install file install/mgr1.ks",
		"with its install file site/build/install/mgr1.ks.", "Recreate the VM pg1 from its files: vms/pg1.xml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("kiln recover --head does not say %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "USB") || strings.Contains(out.String(), "kickstart-") {
		t.Errorf("kiln recover --head speaks of what this design does not have:\n%s", out.String())
	}
}
