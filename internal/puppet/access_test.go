package puppet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// TestSSHDAccessDropInPassesSSHD checks the sshd drop-in every node gets
// (kiln_base, and the kickstart's copy) with sshd itself: it parses, and
// in force root logs in by key only and no password is asked.
func TestSSHDAccessDropInPassesSSHD(t *testing.T) {
	sshd := testutil.NeedProgram(t, "sshd")
	keygen := testutil.NeedProgram(t, "ssh-keygen")
	cl, build := buildSite(t, exampleSite(t))
	if len(cl.AdminKeys) == 0 {
		t.Fatal("the example lists no admin_keys")
	}
	conf := filepath.Join(build, "puppet", "modules", "kiln_site", "files", "sshd", "40-kiln-access.conf")
	want, err := os.ReadFile(conf)
	must(t, err)
	hostKey := filepath.Join(t.TempDir(), "hostkey")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	if out, err := exec.Command(sshd, "-t", "-f", conf, "-h", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t rejects %s: %v\n%s", conf, err, out)
	}
	out, err := exec.Command(sshd, "-T", "-f", conf, "-h", hostKey).CombinedOutput()
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s", err, out)
	}
	for _, line := range []string{"permitrootlogin without-password", "passwordauthentication no", "kbdinteractiveauthentication no"} {
		if !strings.Contains(string(out), "\n"+line+"\n") {
			t.Errorf("sshd's settings in force lack %q", line)
		}
	}
	// Each kickstart writes the same drop-in, and gives root the keys.
	for _, n := range cl.Nodes {
		ks, err := os.ReadFile(filepath.Join(build, "kickstart-"+n.Name+".cfg"))
		must(t, err)
		_, after, ok := strings.Cut(string(ks), "cat >/etc/ssh/sshd_config.d/40-kiln-access.conf <<'KILN_EOF'\n")
		body, _, ok2 := strings.Cut(after, "KILN_EOF\n")
		if !ok || !ok2 || body != string(want) {
			t.Errorf("kickstart-%s.cfg does not write the same sshd drop-in as kiln_base:\n%q\nwant\n%q", n.Name, body, want)
		}
		for _, k := range cl.AdminKeys {
			if !strings.Contains(string(ks), "sshkey --username=root \""+k+"\"\n") {
				t.Errorf("kickstart-%s.cfg does not give root the admin key %q", n.Name, k)
			}
		}
	}
}

// TestChronyConfigPassesChronyd renders kiln_base's chrony.conf with
// Puppet for the example's time servers and has chronyd parse it.
func TestChronyConfigPassesChronyd(t *testing.T) {
	puppet := testutil.NeedProgram(t, "puppet")
	chronyd := testutil.NeedProgram(t, "chronyd")
	cl, build := buildSite(t, exampleSite(t))
	servers, _ := cl.Nodes[0].Module("base").Param("ntp_servers").Value.([]any)
	if len(servers) == 0 {
		t.Fatal("the example's first node has no ntp_servers")
	}
	var quoted []string
	for _, s := range servers {
		quoted = append(quoted, "'"+s.(string)+"'")
	}
	epp := filepath.Join(build, "puppet", "modules", "kiln_base", "templates", "chrony.conf.epp")
	cmd := exec.Command(puppet, "epp", "render", "--values", "{servers => ["+strings.Join(quoted, ", ")+"]}", epp)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("puppet epp render: %v\n%s", err, out)
	}
	conf := filepath.Join(t.TempDir(), "chrony.conf")
	must(t, os.WriteFile(conf, out, 0o644))
	parsed, err := exec.Command(chronyd, "-p", "-f", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("chronyd -p rejects the rendered chrony.conf: %v\n%s\n%s", err, parsed, out)
	}
	for _, s := range servers {
		if !strings.Contains(string(parsed), "server "+s.(string)+" iburst") {
			t.Errorf("chronyd read no server %s:\n%s", s, parsed)
		}
	}
}
