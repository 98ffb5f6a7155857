package puppet_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// csrAttributes is the heredoc in which a kickstart's %post writes the
// agent's csr_attributes.yaml.
var csrAttributes = regexp.MustCompile(`(?s)cat >\S*/csr_attributes\.yaml <<'KILN_EOF'\n(.*?)\nKILN_EOF\n`)

// TestAutosignKickstartRequests closes the loop between the install chain
// and the Puppet CA: the csr_attributes.yaml that each node's kickstart
// writes, turned into a request by Puppet's own code (as puppet ssl does on
// the node's first run), is signed by kiln autosign for that node, and for
// no other node.
func TestAutosignKickstartRequests(t *testing.T) {
	ruby := testutil.NeedProgram(t, "ruby")
	testutil.NeedProgram(t, "puppet")
	kiln := buildKiln(t)
	site := exampleSite(t)
	cl, build := buildSite(t, site)
	dir := t.TempDir()
	csrs := map[string][]byte{}
	for _, name := range []string{"wn1", "int1", "puppet"} {
		n := cl.Node(name)
		ks, err := os.ReadFile(filepath.Join(build, "kickstart-"+name+".cfg"))
		if err != nil {
			t.Fatalf("the build has no kickstart for %s: %v", name, err)
		}
		m := csrAttributes.FindSubmatch(ks)
		if m == nil {
			t.Fatalf("kickstart-%s.cfg writes no csr_attributes.yaml", name)
		}
		attrs := filepath.Join(dir, name+".yaml")
		must(t, os.WriteFile(attrs, m[1], 0o600))
		cmd := exec.Command(ruby, "testdata/csr.rb", n.FQDN, attrs)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		pem, err := cmd.Output()
		if err != nil {
			t.Fatalf("Puppet could not make %s's request: %v\n%s", name, err, stderr.String())
		}
		csrs[n.FQDN] = pem
	}
	for certname, pem := range csrs {
		for other := range csrs {
			cmd := exec.Command(kiln, "autosign", "-C", site, other)
			cmd.Stdin = bytes.NewReader(pem)
			out, err := cmd.CombinedOutput()
			if other == certname && err != nil {
				t.Errorf("%s's own request was refused: %v\n%s", certname, err, out)
			}
			if other != certname && err == nil {
				t.Errorf("%s's request was signed as %s", certname, other)
			}
		}
	}
}
