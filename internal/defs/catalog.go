package defs

import (
	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// Module is a catalog module: one service that a role can run.
type Module struct {
	Name        string            `yaml:"name" doc:"The module's name; must match its folder. Roles and other modules refer to it by this name."`
	Class       yamlx.Scalar      `yaml:"class,required" doc:"The Puppet class that implements the module, e.g. kiln_nfs::server."`
	Description string            `yaml:"description" doc:"One or two sentences for the runbook and kiln show."`
	Parameters  map[string]*Param `yaml:"parameters" doc:"The class parameters, each with a type and usually a default."`
	Ports       []Port            `yaml:"ports" doc:"Network ports the service opens, for the firewall."`
	State       []State           `yaml:"state" doc:"State on disk that must be backed up for the node to be rebuilt."`
	Requires    []yamlx.Scalar    `yaml:"requires" doc:"Modules that must be applied before this one on the same node."`
	Packages    []yamlx.Scalar    `yaml:"packages" doc:"OS packages the module installs (the kickstart's %packages), each provided by one of the design's repositories for the site's dialect."`
	Artifacts   []Artifact        `yaml:"artifacts" doc:"Files this module adds to the build, for the nodes that run it."`
	Certificate *Certificate      `yaml:"certificate" doc:"A TLS server certificate the node needs, signed by the site CA (kiln identity makes and renews it)."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
	File   string `yaml:"-"`
}

// Param declares one class parameter.
type Param struct {
	Type     yamlx.Scalar `yaml:"type,required" doc:"string, text, int, bool, ip, cidr, hostname, ifname, path, url, dn, nftrule, port, secret, timezone (a tz database name; one kiln's tz database does not know is a warning), enum, or list(T) of one of these. Every type but text is one line (no newline or other control character); text may span lines. path, url, ifname and dn also refuse characters that would need quoting where they land (spaces, quotes, $)."`
	Values   []string     `yaml:"values" doc:"For type enum: the allowed values."`
	Default  *yaml.Node   `yaml:"default" doc:"The value used when no role, site or node sets one. May refer to the cluster, e.g. ${nfs.private.ip}."`
	Format   yamlx.Scalar `yaml:"format" doc:"For type secret: the form the class receives, the one its consumer checks - raw (the secret itself; only files written 0600 for one node, never a file shared by nodes), sha512crypt (crypt(3) $6$), ssha (slapd's {SSHA}, the default), scram-sha-256 (PostgreSQL's SCRAM-SHA-256 verifier), bcrypt ($2b$, htpasswd and most web servers), or hmac:PURPOSE (the hex HMAC-SHA256 of PURPOSE keyed by the secret: a key for one use). Salts are derived from the secret, so builds are reproducible."`
	Required bool         `yaml:"required" doc:"The site must set this parameter (it has no sensible default)."`
	Doc      string       `yaml:"doc" doc:"What the parameter means, shown by kiln explain and in errors."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// Port is a port the module opens.
type Port struct {
	Proto yamlx.Scalar `yaml:"proto,required" doc:"tcp or udp."`
	Port  int          `yaml:"port,required" doc:"The port number."`
	Zone  yamlx.Scalar `yaml:"zone" doc:"The network of the design whose machines may reach it (e.g. public or private in the tier3 design). Give zone or from."`
	From  yamlx.Scalar `yaml:"from" doc:"Instead of a zone, the module parameter (a list(cidr)) naming the networks that may reach it, e.g. a monitoring service's; an empty list opens the port to none."`
	Doc   string       `yaml:"doc" doc:"What the port is for."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// State is state on disk to back up.
type State struct {
	Paths     []string     `yaml:"paths" doc:"Files or folders to back up as they are."`
	Dump      string       `yaml:"dump" doc:"A command whose standard output is the state, e.g. slapcat -n 1."`
	Restore   string       `yaml:"restore" doc:"The command that reads a dump back on standard input, e.g. slapadd -n 1."`
	Schedule  yamlx.Scalar `yaml:"schedule" doc:"hourly, daily (the default) or weekly."`
	Retention int          `yaml:"retention" doc:"How many snapshots to keep (default 7)."`
	Doc       string       `yaml:"doc" doc:"What this state is, in words for the runbook."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// Certificate asks for a server certificate on each node running the
// module, for every name and address the node answers to, signed by the
// site CA and kept in the node's identity (the key encrypted).
type Certificate struct {
	Cert yamlx.Scalar `yaml:"cert,required" doc:"Absolute path of the certificate (PEM) on the node."`
	Key  yamlx.Scalar `yaml:"key,required" doc:"Absolute path of its private key (PEM, 0600) on the node."`
	Doc  string       `yaml:"doc" doc:"What the certificate is for."`

	Pos    diag.Pos
	KeyPos map[string]diag.Pos
}

// ParseModule reads a catalog module file.
func ParseModule(file string, data []byte, diags *diag.List) *Module {
	n := yamlx.Parse(file, data, diags)
	if n == nil {
		return nil
	}
	m := &Module{File: file}
	(&yamlx.Decoder{File: file, Diags: diags}).Decode(n, m)
	for i := range m.Artifacts {
		m.Artifacts[i].File = file
	}
	return m
}
