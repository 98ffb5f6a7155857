package puppet_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
	"kiln.dev/kiln/internal/testutil"
)

// csrAttributes is the line with which a kickstart's %post writes the
// agent's csr_attributes.yaml, from the challenge it fetched from kiln
// serve during the install.
var csrAttributes = regexp.MustCompile(`(?m)^printf -- .*"\$kiln_challenge" >\S*/csr_attributes\.yaml$`)

// TestAutosignKickstartRequests closes the loop between the install chain,
// kiln serve and the Puppet CA: the csr_attributes.yaml that each node's
// kickstart writes (its own shell line, run with the challenge kiln serve
// minted for the node's install), turned into a request by Puppet's own
// code (as puppet ssl does on the node's first run), is signed by kiln
// autosign for that node, once, and for no other node.
func TestAutosignKickstartRequests(t *testing.T) {
	ruby := testutil.NeedProgram(t, "ruby")
	testutil.NeedProgram(t, "puppet")
	kiln := buildKiln(t)
	site := exampleSite(t)
	cl, build := buildSite(t, site)
	dir := t.TempDir()
	url := startServe(t, site)
	csrs := map[string][]byte{}
	for _, name := range []string{"wn1", "int1", "puppet"} {
		n := cl.Node(name)
		ks, err := os.ReadFile(filepath.Join(build, "kickstart-"+name+".cfg"))
		if err != nil {
			t.Fatalf("the build has no kickstart for %s: %v", name, err)
		}
		line := csrAttributes.Find(ks)
		if line == nil {
			t.Fatalf("kickstart-%s.cfg writes no csr_attributes.yaml", name)
		}
		attrs := filepath.Join(dir, name+".yaml")
		sh := regexp.MustCompile(`>\S*/csr_attributes\.yaml$`).ReplaceAllLiteral(line, []byte(">"+attrs))
		cmd := exec.Command("sh", "-c", string(sh))
		cmd.Env = append(os.Environ(), "kiln_challenge="+serveChallenges[name])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s's csr_attributes line: %v\n%s", name, err, out)
		}
		cmd = exec.Command(ruby, "testdata/csr.rb", n.FQDN, attrs)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		pem, err := cmd.Output()
		if err != nil {
			t.Fatalf("Puppet could not make %s's request: %v\n%s", name, err, stderr.String())
		}
		csrs[n.FQDN] = pem
	}
	sign := func(certname string, pem []byte) ([]byte, error) {
		cmd := exec.Command(kiln, "autosign", "-C", site, "--server", url, certname)
		cmd.Stdin = bytes.NewReader(pem)
		return cmd.CombinedOutput()
	}
	for certname, pem := range csrs {
		for other := range csrs {
			if other == certname {
				continue
			}
			if _, err := sign(other, pem); err == nil {
				t.Errorf("%s's request was signed as %s", certname, other)
			}
		}
		if out, err := sign(certname, pem); err != nil {
			t.Errorf("%s's own request was refused: %v\n%s", certname, err, out)
		}
		if out, err := sign(certname, pem); err == nil || !bytes.Contains(out, []byte("used already")) {
			t.Errorf("%s's request was signed twice with one challenge: %v\n%s", certname, err, out)
		}
	}
}

// serveChallenges are the challenges startServe minted, by node.
var serveChallenges = map[string]string{}

// startServe runs kiln serve for site (in this process) and mints a
// challenge for wn1, int1 and puppet as their installs would; it returns
// kiln serve's URL.
func startServe(t *testing.T, site string) string {
	t.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: site})
	must(t, err)
	files, err := s.Render()
	must(t, err)
	work := t.TempDir()
	_, err = output.Write(filepath.Join(work, "build"), files)
	must(t, err)
	srv, err := serve.New(serve.Config{Source: pipeline.Source{Dir: site}, BuildDir: filepath.Join(work, "build"), StatePath: filepath.Join(work, "kiln.db")})
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	for _, n := range []string{"wn1", "int1", "puppet"} {
		r, err := srv.Store().Boot(ctx, n, "", "", state.DefaultPolicy)
		must(t, err)
		serveChallenges[n], _, err = srv.Store().Challenge(ctx, n, r.Token, "", 0)
		must(t, err)
	}
	return "http://" + ln.Addr().String()
}
