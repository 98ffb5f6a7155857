package main

import (
	"flag"
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/render"
)

var encVerb = &verb{
	name:    "enc",
	args:    "CERTNAME",
	summary: "Print a node's Puppet classification (External Node Classifier)",
	help: `Prints, as ENC YAML, the node's environment, its classes with their
resolved parameters, and the top-scope parameters the environment's site.pp
reads. The answer is rendered from the site as it is now, so a change made
in site.yaml reaches the Puppet server without copying nodes.pp. CERTNAME is
the node's certificate name (its FQDN); its short name works too. An
unknown certname exits with status 1 and a message, and Puppet refuses the
node. puppet.conf on the server (kiln_puppet::server does this):

  [server]
  node_terminus = exec
  external_nodes = /usr/local/sbin/kiln-enc   # kiln enc -C SITE "$1"

Examples:
  kiln enc --example tier3 wn1.mytier3.local
  kiln enc -C /etc/kiln/site int1.physics.example.edu
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(1, 1)
		if !ok {
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		n := certNode(s.Cluster, pos[0], true)
		if n == nil {
			return c.fail(exitDefs, "%q is not a node of %s; kiln show lists the nodes and their FQDNs", pos[0], s.Cluster.Name)
		}
		decl := encArtifact(s.Defs.Design, s.Defs.Modules)
		if decl == nil {
			return c.fail(exitDefs, "the design has no ENC artifact; mark the node-scoped template that answers with enc: true in design.yaml")
		}
		f, err := render.NodeArtifact(s.Defs, s.Cluster, decl, n)
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		c.stdout.Write(f.Data)
		return exitOK
	},
}

// certNode finds the node whose FQDN is certname (certificate names are
// case-insensitive); byName also accepts its short name.
func certNode(cl *model.Cluster, certname string, byName bool) *model.Node {
	for _, n := range cl.Nodes {
		if strings.EqualFold(n.FQDN, certname) {
			return n
		}
	}
	if byName {
		return cl.Node(certname)
	}
	return nil
}

// encArtifact is the artifact marked enc: true, in the design or a module.
func encArtifact(d *defs.Design, mods map[string]*defs.Module) *defs.Artifact {
	for i := range d.Artifacts {
		if d.Artifacts[i].ENC {
			return &d.Artifacts[i]
		}
	}
	for _, name := range sortedModuleNames(mods) {
		m := mods[name]
		for i := range m.Artifacts {
			if m.Artifacts[i].ENC {
				return &m.Artifacts[i]
			}
		}
	}
	return nil
}
