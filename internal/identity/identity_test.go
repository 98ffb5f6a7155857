package identity

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"kiln.dev/kiln/internal/testutil"
)

// A node's keys go into the site folder encrypted and come back, on a
// "rebuild" (a second Load, from a restored copy of the folder), as the
// very same bytes.
func TestHostKeysRoundTrip(t *testing.T) {
	dir := t.TempDir()
	made, err := Ensure(dir, "el9", []string{"wn1", "wn2"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(made, " ") != "wn1 wn2" {
		t.Fatalf("made keys for %v, want wn1 wn2", made)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("site key: %v, mode %v; want 0600", err, st.Mode())
	}
	key, ok, err := LoadKey(os.DirFS(dir))
	if err != nil || !ok {
		t.Fatalf("LoadKey: %v %v", ok, err)
	}
	first, err := Load(os.DirFS(dir), key, "wn1")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range first {
		paths = append(paths, f.Path)
		if f.Secret {
			// The private key must not be in the site folder in plain text.
			enc, err := os.ReadFile(filepath.Join(dir, Dir, "wn1", f.Path+encSuffix))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(enc, f.Data[40:80]) || !bytes.HasPrefix(enc, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) {
				t.Errorf("%s is not kept encrypted", f.Path)
			}
			if f.Mode != 0o600 {
				t.Errorf("%s: mode %o, want 0600", f.Path, f.Mode)
			}
		}
	}
	want := "/etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub"
	if got := strings.Join(paths, " "); got != want {
		t.Fatalf("files:\n got %s\nwant %s", got, want)
	}

	// Each private key parses and matches its public half.
	for i := 0; i < len(first); i += 2 {
		signer, err := ssh.ParsePrivateKey(first[i].Data)
		if err != nil {
			t.Fatalf("%s: %v", first[i].Path, err)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(first[i+1].Data)
		if err != nil {
			t.Fatalf("%s: %v", first[i+1].Path, err)
		}
		if !bytes.Equal(signer.PublicKey().Marshal(), pub.Marshal()) {
			t.Errorf("%s does not match %s", first[i].Path, first[i+1].Path)
		}
	}

	// Ensure again: nothing new, nothing replaced.
	made, err = Ensure(dir, "el9", []string{"wn1", "wn2", "wn3"})
	if err != nil || strings.Join(made, " ") != "wn3" {
		t.Fatalf("second Ensure made %v (%v), want only wn3", made, err)
	}

	// A copy of the folder (a restore) gives the same bytes.
	copyDir := t.TempDir()
	if err := os.CopyFS(copyDir, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	again, err := Load(os.DirFS(copyDir), key, "wn1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if !bytes.Equal(first[i].Data, again[i].Data) {
			t.Errorf("%s changed across the copy", first[i].Path)
		}
	}
	other, _ := Load(os.DirFS(dir), key, "wn2")
	if bytes.Equal(other[2].Data, first[2].Data) {
		t.Error("wn1 and wn2 have the same host key")
	}
}

// ssh-keygen, the program sshd's world uses, reads the keys kiln makes.
func TestHostKeysReadBySSHKeygen(t *testing.T) {
	keygen := testutil.NeedProgram(t, "ssh-keygen")
	files, err := NewHostKeys("wn1", "el9")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < len(files); i += 2 {
		p := filepath.Join(dir, filepath.Base(files[i].Path))
		if err := os.WriteFile(p, files[i].Data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(keygen, "-y", "-f", p).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -y %s: %v\n%s", p, err, out)
		}
		want := strings.Fields(string(files[i+1].Data))
		if got := strings.Fields(string(out)); len(got) < 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("ssh-keygen derives %q from %s, want %q", out, files[i].Path, files[i+1].Data)
		}
	}
}

func TestLoadWrongKeyAndBadNames(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(dir, "el9", []string{"wn1"}); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	k2, _, err := EnsureKey(other)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(os.DirFS(dir), k2, "wn1")
	if err == nil || !strings.Contains(err.Error(), "encrypted to another key") {
		t.Errorf("decrypting with another site's key: %v", err)
	}
	_, err = Load(os.DirFS(dir), nil, "wn1")
	if err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("decrypting without a key: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b", ".hidden"} {
		if _, err := Ensure(dir, "el9", []string{bad}); err == nil {
			t.Errorf("Ensure accepted the node name %q", bad)
		}
	}
	if files, err := Load(os.DirFS(dir), k2, "nosuch"); err != nil || files != nil {
		t.Errorf("a node without identity: %v %v, want none and no error", files, err)
	}
	if _, err := ParseKey([]byte("not a key\n")); err == nil {
		t.Error("ParseKey accepted garbage")
	}
}

func TestImportKeepsExisting(t *testing.T) {
	dir := t.TempDir()
	key, _, err := EnsureKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert := []File{
		{Path: "/etc/grid-security/hostcert.pem", Mode: 0o644, Data: []byte("CERT\n")},
		{Path: "/etc/grid-security/hostkey.pem", Mode: 0o600, Data: []byte("KEY\n"), Secret: true},
	}
	if err := Save(dir, key.Recipient(), "nfs", cert); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, key.Recipient(), "nfs", cert[1:]); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a second import replaced the key: %v", err)
	}
	if err := Save(dir, key.Recipient(), "nfs", []File{{Path: "../x", Data: []byte("x")}}); err == nil {
		t.Error("Save accepted a relative target path")
	}
	// SSH keys still get made for a node whose certificate came first.
	if made, err := Ensure(dir, "el9", []string{"nfs"}); err != nil || len(made) != 1 {
		t.Fatalf("Ensure after import: %v %v", made, err)
	}
	files, err := Load(os.DirFS(dir), key, "nfs")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 || files[0].Path != "/etc/grid-security/hostcert.pem" || string(files[1].Data) != "KEY\n" || !files[1].Secret {
		t.Errorf("identity after import: %+v", files[:2])
	}
}

func TestLegacyDialectsKeepRSAHostKeys(t *testing.T) {
	files, err := NewHostKeys("wn1", "sl6")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != "/etc/ssh/ssh_host_rsa_key" {
		t.Fatalf("sl6 host keys: %v", files)
	}
	if _, err := ssh.ParsePrivateKey(files[0].Data); err != nil {
		t.Fatal(err)
	}
}
