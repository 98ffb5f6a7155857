package main

import (
	"fmt"
	"io"
	"os"
	"sort"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/puppet"
	"kiln.dev/kiln/internal/render"
)

// maxCSR bounds what autosign reads from standard input: a CSR is a few
// kilobytes.
const maxCSR = 1 << 20

// autosignStdin is where autosign reads the request; tests replace it.
var autosignStdin io.Reader = os.Stdin

var autosignVerb = &verb{
	name:    "autosign",
	args:    "[-C DIR | --example NAME] CERTNAME < CSR.pem",
	summary: "Decide a Puppet certificate request (policy-based autosigning)",
	help: `Puppet's CA runs this with the requested certificate name and the
request (PEM) on standard input. It signs the request (exit 0) only when the
certname is a node of the site, the request names no other host, and it
carries that node's challenge password, the one the node's kickstart wrote
into csr_attributes.yaml (the design's autosign: setting). Anything else
exits 1 with the reason on standard error, and the request waits for
puppetserver ca sign. puppet.conf on the server (kiln_puppet::server):

  [server]
  autosign = /usr/local/sbin/kiln-autosign   # kiln autosign -C SITE "$1"

Examples:
  kiln autosign -C /etc/kiln/site wn1.mytier3.local < wn1.csr
`,
	run: func(c *cmdContext) int {
		pos, ok := c.parse(1, 1)
		if !ok {
			return exitUsage
		}
		certname := pos[0]
		refuse := func(format string, args ...any) int {
			fmt.Fprintf(c.stderr, "kiln autosign: not signing %s: %s\n", certname, fmt.Sprintf(format, args...))
			return exitDefs
		}
		data, err := io.ReadAll(io.LimitReader(autosignStdin, maxCSR+1))
		if err != nil {
			return refuse("cannot read the request: %v", err)
		}
		if len(data) > maxCSR {
			return refuse("the request is larger than %d bytes", maxCSR)
		}
		csr, err := puppet.ParseCSR(data)
		if err != nil {
			return refuse("%v", err)
		}
		s, ok := c.resolve()
		if !ok {
			return refuse("the site has errors (above)")
		}
		n := certNode(s.Cluster, certname, false)
		if n == nil {
			return refuse("it is not the FQDN of a node of %s", s.Cluster.Name)
		}
		tmpl := s.Defs.Design.Autosign.Value
		if tmpl == "" {
			return refuse("the design sets no autosign challenge (autosign: in design.yaml); sign by hand with puppetserver ca sign")
		}
		want, err := render.Snippet(s.Defs, s.Cluster, "the design's autosign challenge", tmpl, n)
		if err != nil {
			return refuse("%v", err)
		}
		if err := csr.Approve(n.FQDN, want); err != nil {
			return refuse("%v", err)
		}
		fmt.Fprintf(c.stderr, "kiln autosign: signing %s (%s, role %s): challenge verified\n", certname, n.Name, n.Role)
		return exitOK
	},
}

func sortedModuleNames(m map[string]*defs.Module) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
