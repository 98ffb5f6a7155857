package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
)

var identityVerb = &verb{
	name:    "identity",
	args:    "[import NODE FILE PATH-ON-NODE [public]]",
	summary: "Make the SSH host keys, site CA and server certificates nodes lack; import a grid host certificate",
	help: `Each node's identity — its SSH host keys, its TLS server certificate, and
any grid host certificate — is kept in the site folder under identity/NODE/,
private files encrypted with age to the site key (secrets/age.key). The
kickstart puts them back when the node is installed, so a rebuilt node has
the same host key.

With no arguments: makes the site key if the site has none, SSH host keys
(ecdsa and ed25519; rsa on sl5/sl6) for every node without them (kept ones
are never replaced), the site CA (identity/site-ca.crt, its key encrypted) if the
site has none, and a server certificate signed by it for every node whose
modules ask for one (the LDAP server): made again when the node's names or
addresses change or it ends within 60 days. kiln init does this for a new
site; run it again after such a change, then kiln build.

import NODE FILE PATH: keeps FILE as NODE's PATH (e.g. a grid host key at
/etc/grid-security/hostkey.pem), encrypted; add "public" for a file that is
not secret (the certificate), kept as it is.

Examples:
  kiln identity -C mysite
  kiln identity -C mysite import nfs hostkey.pem /etc/grid-security/hostkey.pem
  kiln identity -C mysite import nfs hostcert.pem /etc/grid-security/hostcert.pem public
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dirFlag(fs)
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 5)
		if !ok {
			return exitUsage
		}
		if len(pos) > 0 {
			return identityImport(c, pos)
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		_, created, err := identity.EnsureKey(c.dir)
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		if created {
			fmt.Fprintf(c.stdout, "made the site key %s/%s: keep a copy off this machine (without it the kept keys and the backups' secrets cannot be read)\n", c.dir, identity.KeyFile)
		}
		c.warnInstalledWithoutKeys(s.Cluster.NodeNames())
		made, err := identity.Ensure(c.dir, s.Cluster.OS, s.Cluster.NodeNames())
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		if len(made) == 0 {
			fmt.Fprintf(c.stdout, "every node's host keys are kept already (%d nodes)\n", len(s.Cluster.Nodes))
		} else {
			fmt.Fprintf(c.stdout, "made SSH host keys for %s; kiln build puts them in the kickstarts\n", strings.Join(made, " "))
		}
		if !ensureCerts(c, "kiln identity", c.dir, s.Cluster) {
			return exitDefs
		}
		return exitOK
	},
}

func identityImport(c *cmdContext, pos []string) int {
	if pos[0] != "import" || len(pos) < 4 || len(pos) == 5 && pos[4] != "public" {
		c.usageError("write kiln identity import NODE FILE PATH-ON-NODE [public]")
		return exitUsage
	}
	s, ok := c.resolve()
	if !ok {
		return exitDefs
	}
	node, file, target := pos[1], pos[2], pos[3]
	if s.Cluster.Node(node) == nil {
		return c.fail(exitDefs, "there is no node %s in the site", node)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	key, _, err := identity.EnsureKey(c.dir)
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	f := identity.File{Path: target, Mode: 0o600, Data: data, Secret: len(pos) == 4}
	if !f.Secret {
		f.Mode = 0o644
	}
	if err := identity.Save(c.dir, key.Recipient(), node, []identity.File{f}); err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	how := "encrypted"
	if !f.Secret {
		how = "as it is (public)"
	}
	fmt.Fprintf(c.stdout, "kept %s as %s's %s, %s; kiln build puts it in the node's kickstart\n", file, node, target, how)
	return exitOK
}

// initIdentities gives a new site its key and its nodes their SSH host
// keys (kiln init).
func initIdentities(c *cmdContext, dir string) bool {
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		c.report(err)
		fmt.Fprintf(c.stderr, "kiln init: no host keys made; fix site.yaml, then run kiln identity -C %s\n", dir)
		return false
	}
	_, created, err := identity.EnsureKey(dir)
	var made []string
	if err == nil {
		made, err = identity.Ensure(dir, s.Cluster.OS, s.Cluster.NodeNames())
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln init: %v\n", err)
		return false
	}
	if created {
		fmt.Fprintf(c.stdout, "made the site key %s: keep a copy off this machine (it opens the kept host keys and the backups' secrets)\n", identity.KeyFile)
	}
	if len(made) > 0 {
		fmt.Fprintf(c.stdout, "made SSH host keys for %d nodes in %s/\n", len(made), identity.Dir)
	}
	return ensureCerts(c, "kiln init", dir, s.Cluster)
}

// ensureCerts makes the site CA if the site has none, and the server
// certificates the nodes' modules ask for (a catalog module's
// certificate:), for every name and address of the node.
func ensureCerts(c *cmdContext, verb, dir string, cl *model.Cluster) bool {
	key, _, err := identity.EnsureKey(dir)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", verb, err)
		return false
	}
	created, err := identity.EnsureCA(dir, key, cl.Name)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", verb, err)
		return false
	}
	if created {
		fmt.Fprintf(c.stdout, "made the site CA %s (its key encrypted beside it); every node trusts it for the cluster's own services\n", identity.CACertFile)
	}
	made, err := identity.EnsureCerts(dir, key, certRequests(cl), time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", verb, err)
		return false
	}
	if len(made) > 0 {
		fmt.Fprintf(c.stdout, "made TLS server certificates for %s, signed by the site CA; kiln build puts them in their kickstarts\n", strings.Join(made, " "))
	}
	return true
}

// certRequests lists the server certificates the cluster's nodes need:
// one per module that asks, named by the node's FQDN, its short name and
// its name and address on each network.
func certRequests(cl *model.Cluster) []identity.CertRequest {
	var out []identity.CertRequest
	for _, n := range cl.Nodes {
		for _, m := range n.Modules {
			if m.Certificate == nil {
				continue
			}
			r := identity.CertRequest{Node: n.Name, CertPath: m.Certificate.Cert, KeyPath: m.Certificate.Key}
			seen := map[string]bool{}
			add := func(l *[]string, v string) {
				if v != "" && !seen[v] {
					seen[v] = true
					*l = append(*l, v)
				}
			}
			add(&r.Names, n.FQDN)
			add(&r.Names, n.Name)
			for _, i := range n.Interfaces {
				add(&r.Names, i.Hostname)
				add(&r.IPs, i.IP)
			}
			out = append(out, r)
		}
	}
	return out
}
