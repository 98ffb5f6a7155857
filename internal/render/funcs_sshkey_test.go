package render

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// ssh-keygen reads the derived private key and gives back its public half;
// the same secret and node give the same key, another node another one.
func TestDerivedSSHKeyIsOneOpenSSHReads(t *testing.T) {
	keygen := testutil.NeedProgram(t, "ssh-keygen")
	k, err := deriveSSHKey("s3cret", "wn1", "kiln-backup@wn1")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, []byte(k.Private), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-y", "-f", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	want := strings.Fields(k.Public)
	if len(got) < 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ssh-keygen says the public key is %q, kiln says %q", out, k.Public)
	}
	again, _ := deriveSSHKey("s3cret", "wn1", "kiln-backup@wn1")
	other, _ := deriveSSHKey("s3cret", "wn2", "kiln-backup@wn2")
	if again != k {
		t.Error("the same secret and node gave another key")
	}
	if strings.Fields(other.Public)[1] == want[1] {
		t.Error("two nodes got the same key")
	}
}

func TestSFTPRepositoryAddresses(t *testing.T) {
	for _, c := range []struct{ in, user, host, port, path, home, err string }{
		{in: "sftp:kiln-backup-wn1@nfs.priv:/export/backup/restic/wn1/repo", user: "kiln-backup-wn1", host: "nfs.priv", path: "/export/backup/restic/wn1/repo", home: "/export/backup/restic/wn1"},
		{in: "sftp://kb@head:2222//srv/b/wn1/", user: "kb", host: "head", port: "2222", path: "/srv/b/wn1", home: "/srv/b"},
		{in: "/srv/restic/wn1"},
		{in: "s3:s3.example.org/bucket"},
		{in: "sftp:nfs:/x/y", err: "names no user"},
		{in: "sftp:Root@nfs:/x/y", err: "not a Unix account name"},
		{in: "sftp:kb@nfs:/x/y z", err: "without white space"},
		{in: "sftp:kb@nfs:/x/\"y", err: "without white space"},
		{in: "sftp:kb@nfs:/x/../y", err: ".. parts"},
		{in: "sftp:kb@nfs:/repo", err: "inside another"},
		{in: "sftp:kb@nfs", err: "has no path"},
		{in: "sftp://kb@nfs:99999/x/y", err: "bad port"},
	} {
		r, err := parseSFTPRepository(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one saying %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if c.user == "" {
			if r != nil {
				t.Errorf("%s is not sftp, got %+v", c.in, r)
			}
			continue
		}
		if r == nil || r.User != c.user || r.Host != c.host || r.Port != c.port || r.Path != c.path || r.Home != c.home {
			t.Errorf("%s: got %+v", c.in, r)
		}
	}
}
