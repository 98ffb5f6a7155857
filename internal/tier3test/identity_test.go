package tier3test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/kickstart"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/testutil"
)

// A node's kickstart puts back the SSH host keys the site keeps for it,
// byte for byte, so that a rebuilt node offers the keys its users know;
// the kickstart is 0600 and its %post passes shellcheck.
func TestKickstartPutsBackTheKeptHostKeys(t *testing.T) {
	sc := testutil.NeedProgram(t, "shellcheck")
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 1, ExampleMACs: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.Ensure(dir, "el9", []string{"wn1"}); err != nil {
		t.Fatal(err)
	}
	key, _, err := identity.LoadKey(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := identity.Load(os.DirFS(dir), key, "wn1")
	if err != nil || len(kept) == 0 {
		t.Fatalf("no kept keys for wn1: %v", err)
	}
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	var ks string
	for _, f := range files {
		if f.Path == "kickstart-wn1.cfg" {
			ks = string(f.Data)
			if f.Mode.Perm() != 0o600 {
				t.Errorf("the kickstart carries private keys but is %04o", f.Mode.Perm())
			}
		}
		if f.Path == "kickstart-wn2.cfg" && strings.Contains(string(f.Data), "ssh_host_") {
			t.Error("wn2, which has no kept keys, got some in its kickstart")
		}
	}
	for _, k := range kept {
		if !strings.Contains(ks, "cat >'"+k.Path+"' <<'KILN_EOF'\n"+string(k.Data)+"KILN_EOF\n") {
			t.Errorf("the kickstart does not write %s with the kept bytes", k.Path)
		}
	}
	if _, problems := kickstart.Lint("el9", ks); len(problems) > 0 {
		t.Errorf("the kickstart with the host keys does not lint: %v", problems)
	}
	_, post, ok := strings.Cut(ks, "\n%post\n")
	post, _, ok2 := strings.Cut(post, "\n%end")
	if !ok || !ok2 {
		t.Fatalf("the kickstart has no %s section", "%post … %end")
	}
	p := filepath.Join(t.TempDir(), "post.sh")
	os.WriteFile(p, []byte("#!/bin/sh\n"+post+"\n"), 0o600)
	if out, err := exec.Command(sc, "--format=gcc", p).CombinedOutput(); err != nil {
		t.Fatalf("the %%post with the host keys fails shellcheck:\n%s", out)
	}
}
