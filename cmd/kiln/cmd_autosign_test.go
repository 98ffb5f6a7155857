package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
	"kiln.dev/kiln/internal/testutil"
)

// TestAutosign feeds kiln autosign certificate requests made by openssl, as
// puppet ssl makes them from csr_attributes.yaml, with a kiln serve of the
// tier3 example running: it signs only a node of the cluster whose request
// carries the challenge kiln serve minted for that node's install, once,
// and asks for no extension the design does not declare.
func TestAutosign(t *testing.T) {
	openssl := testutil.NeedProgram(t, "openssl")
	work := t.TempDir()
	site, err := pipeline.Resolve(pipeline.Source{Example: "tier3"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := site.Render()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := output.Write(filepath.Join(work, "build"), files); err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Source: pipeline.Source{Example: "tier3"}, BuildDir: filepath.Join(work, "build"), StatePath: filepath.Join(work, "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	url := "http://" + ln.Addr().String()
	// Each node's install: a boot (its token), the challenge its %post fetches.
	challenges := map[string]string{}
	for _, n := range []string{"wn1", "wn2", "int1", "puppet"} {
		r, err := srv.Store().Boot(ctx, n, "", "", state.DefaultPolicy)
		if err != nil {
			t.Fatal(err)
		}
		ch, _, err := srv.Store().Challenge(ctx, n, r.Token, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if n := site.Cluster.Node(n); n != nil {
			challenges[n.FQDN] = ch
		}
	}
	challenge := func(fqdn string) string { return challenges[fqdn] }
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
		ext := ""
		if len(altNames) > 0 && altNames[0] == "pp_cli_auth" {
			ext = "1.3.6.1.4.1.34380.1.3.39 = ASN1:UTF8String:true\n"
			altNames = nil
		}
		if len(altNames) > 0 || ext != "" {
			conf += "req_extensions = ext\n"
		}
		conf += "[dn]\nCN = " + cn + "\n"
		if pass != "" {
			conf += "[attrs]\nchallengePassword = " + pass + "\n"
		}
		if len(altNames) > 0 {
			conf += "[ext]\nsubjectAltName = DNS:" + strings.Join(altNames, ",DNS:") + "\n"
		} else if ext != "" {
			conf += "[ext]\n" + ext
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
		{"asks for pp_cli_auth", wn1, csr(wn1, challenge(wn1), "pp_cli_auth"), "extension 1.3.6.1.4.1.34380.1.3.39, which the design does not declare"},
		{"the node with its challenge", wn1, csr(wn1, challenge(wn1)), ""},
		{"the same challenge again", wn1, csr(wn1, challenge(wn1)), "used already"},
		{"a node on the public network", "int1.physics.example.edu", csr("int1.physics.example.edu", challenge("int1.physics.example.edu")), ""},
		{"the Puppet server itself", "puppet.mytier3.local", csr("puppet.mytier3.local", challenge("puppet.mytier3.local")), ""},
		{"wrong challenge", wn2, csr(wn2, strings.Repeat("0", 64)), "wrong challenge for wn2"},
		{"another node's challenge", wn2, csr(wn2, challenge(wn1)), "wrong challenge for wn2"},
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
			code := run([]string{"autosign", "--example", "tier3", "--server", url, c.certname}, &stdout, &stderr)
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
