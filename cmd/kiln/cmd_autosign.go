package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

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
	args:    "CERTNAME < CSR.pem",
	summary: "Decide a Puppet certificate request (policy-based autosigning)",
	help: `Puppet's CA runs this with the requested certificate name and the
request (PEM) on standard input. It signs the request (exit 0) only when the
certname is a node of the site, the request names no other host, asks for
no extension the design does not declare (design.yaml autosign_extensions:;
Puppet's pp_cli_auth and the like are refused), and carries the challenge
kiln serve minted for that node's current install (its kickstart's %post
fetched it into csr_attributes.yaml). The challenge is checked by kiln
serve (the state file is on the head, not here), which also uses it up:
a second request with the same challenge is refused. kiln serve's URL is
the design's autosign: setting, or --server. Anything else exits 1 with
the reason on standard error, and the request waits for puppetserver ca
sign. puppet.conf on the server (kiln_puppet::server):

  [server]
  autosign = /usr/local/sbin/kiln-autosign   # kiln autosign -C SITE "$1"

Examples:
  kiln autosign -C /etc/kiln/site wn1.mytier3.local < wn1.csr
  kiln autosign -C /etc/kiln/site --server http://10.10.0.1:8080 wn1.mytier3.local < wn1.csr
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		fs.StringVar(&c.sv.server, "server", "", "kiln serve's `URL` (default: the design's autosign: setting), which checks and uses up the challenge")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(1, 1)
		if !ok {
			return exitUsage
		}
		certname := pos[0]
		refuse := func(format string, args ...any) int {
			return c.fail(exitDefs, "not signing %s: %s", certname, fmt.Sprintf(format, args...))
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
		if err := csr.Check(n.FQDN, s.Defs.Design.AutosignExtensions); err != nil {
			return refuse("%v", err)
		}
		server := c.sv.server
		if server == "" {
			tmpl := s.Defs.Design.Autosign.Value
			if tmpl == "" {
				return refuse("the design names no kiln serve to check challenges with (autosign: in design.yaml), and --server is not given; sign by hand with puppetserver ca sign")
			}
			server, err = render.Snippet(s.Defs, s.Cluster, "the design's autosign setting", tmpl, n)
			if err != nil {
				return refuse("%v", err)
			}
		}
		server = strings.TrimRight(strings.TrimSpace(server), "/")
		if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return refuse("kiln serve's URL %q is not an http:// or https:// URL", server)
		}
		// kiln serve is on the provisioning network: never through a proxy.
		client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.PostForm(server+"/api/v1/autosign", url.Values{"certname": {n.FQDN}, "challenge": {csr.Challenge}})
		if err != nil {
			return refuse("cannot ask kiln serve at %s: %v", server, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return refuse("kiln serve at %s answers %s: %s", server, resp.Status, strings.TrimSpace(string(body)))
		}
		fmt.Fprintf(c.stderr, "kiln autosign: signing %s (%s, role %s): challenge verified and used by kiln serve\n", certname, n.Name, n.Role)
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
