package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/testutil"
)

// TestAutosign feeds kiln autosign certificate requests made by openssl, as
// puppet ssl makes them from csr_attributes.yaml: it signs only a node of
// the cluster whose request carries that node's challenge, the hex
// HMAC-SHA256 of its FQDN keyed by the puppet_autosign_key secret (what the
// kickstart writes).
func TestAutosign(t *testing.T) {
	openssl := testutil.NeedProgram(t, "openssl")
	ex, _ := builtin.Example("tier3")
	key, err := fs.ReadFile(ex, "secrets/puppet_autosign_key")
	if err != nil {
		t.Fatal(err)
	}
	challenge := func(fqdn string) string {
		m := hmac.New(sha256.New, bytes.TrimRight(key, "\r\n"))
		m.Write([]byte(fqdn))
		return hex.EncodeToString(m.Sum(nil))
	}
	dir := t.TempDir()
	pkey := filepath.Join(dir, "key.pem")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pkey).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v\n%s", err, out)
	}
	// csr makes a request for cn with an optional challenge and alt names.
	csr := func(cn, pass string, altNames ...string) []byte {
		conf := "[req]\nprompt = no\ndistinguished_name = dn\n"
		if pass != "" {
			conf += "attributes = attrs\n"
		}
		if len(altNames) > 0 {
			conf += "req_extensions = ext\n"
		}
		conf += "[dn]\nCN = " + cn + "\n"
		if pass != "" {
			conf += "[attrs]\nchallengePassword = " + pass + "\n"
		}
		if len(altNames) > 0 {
			conf += "[ext]\nsubjectAltName = DNS:" + strings.Join(altNames, ",DNS:") + "\n"
		}
		cf := filepath.Join(dir, "req.cnf")
		if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "req", "-new", "-key", pkey, "-config", cf).Output()
		if err != nil {
			t.Fatalf("openssl req: %v", err)
		}
		return out
	}
	wn1, wn2 := "wn1.mytier3.local", "wn2.mytier3.local"
	cases := []struct {
		name     string
		certname string
		csr      []byte
		want     string // "" to sign, else a word of the refusal
	}{
		{"the node with its challenge", wn1, csr(wn1, challenge(wn1)), ""},
		{"a node on the public network", "int1.physics.example.edu", csr("int1.physics.example.edu", challenge("int1.physics.example.edu")), ""},
		{"the Puppet server itself", "puppet.mytier3.local", csr("puppet.mytier3.local", challenge("puppet.mytier3.local")), ""},
		{"wrong challenge", wn1, csr(wn1, strings.Repeat("0", 64)), "challenge password is wrong"},
		{"another node's challenge", wn1, csr(wn1, challenge(wn2)), "challenge password is wrong"},
		{"no challenge", wn1, csr(wn1, ""), "carries no challenge password"},
		{"foreign certname", "evil.example.org", csr("evil.example.org", challenge("evil.example.org")), "not the FQDN of a node of mytier3"},
		{"short name", "wn1", csr("wn1", challenge("wn1")), "not the FQDN of a node"},
		{"request for another name", wn2, csr(wn1, challenge(wn2)), "subject is CN=wn1.mytier3.local, not wn2.mytier3.local"},
		{"asks for more names", wn1, csr(wn1, challenge(wn1), wn1, "puppet.mytier3.local"), "alternative name puppet.mytier3.local"},
		{"garbage", wn1, []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), "cannot parse the certificate request"},
	}
	t.Cleanup(func() { autosignStdin = os.Stdin })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			autosignStdin = bytes.NewReader(c.csr)
			var stdout, stderr bytes.Buffer
			code := run([]string{"autosign", "--example", "tier3", c.certname}, &stdout, &stderr)
			switch {
			case c.want == "" && code != exitOK:
				t.Errorf("not signed (exit %d): %s", code, stderr.String())
			case c.want == "" && !strings.Contains(stderr.String(), "challenge verified"):
				t.Errorf("signed without saying so: %q", stderr.String())
			case c.want != "" && code != exitDefs:
				t.Errorf("exit %d, want 1 (refused): %s", code, stderr.String())
			case c.want != "" && !strings.Contains(stderr.String(), c.want):
				t.Errorf("refusal %q does not say %q", stderr.String(), c.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("wrote to standard output: %q", stdout.String())
			}
		})
	}
}
