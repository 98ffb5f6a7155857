package backup

import (
	"fmt"
	"strings"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// Row is one line of the backup plan: one item of one node's state.
type Row struct {
	Node      string `json:"node"`
	Module    string `json:"module"`
	Tag       string `json:"tag"`
	What      string `json:"what"`
	How       string `json:"how"`
	Schedule  string `json:"schedule"`
	Retention int    `json:"retention"`
	Where     string `json:"where"`
	// Problem says why the item is not safely backed up, if it is not.
	Problem string `json:"problem,omitempty"`
}

// Plan is what the site backs up: every node's state, and the nodes whose
// identity (host keys) the site keeps.
type Plan struct {
	Rows []Row `json:"rows"`
	// Identities lists the nodes with a kept identity; NoIdentity those
	// without (a rebuild gives them new host keys).
	Identities []string `json:"identities"`
	NoIdentity []string `json:"no_identity"`
}

// Compute makes the plan from the resolved cluster and the design's
// backup: declaration (which module holds each node's repository).
func Compute(d *load.Definitions, c *model.Cluster) *Plan {
	p := &Plan{Identities: []string{}, NoIdentity: []string{}}
	var mod, repoParam string
	if b := d.Design.Backup; b != nil {
		mod, repoParam = b.Module.Value, b.Repository.Value
	}
	for _, n := range c.Nodes {
		if d.SiteFS != nil && identity.HasHostKeys(d.SiteFS, n.Name) {
			p.Identities = append(p.Identities, n.Name)
		} else {
			p.NoIdentity = append(p.NoIdentity, n.Name)
		}
		for _, it := range n.StateItems() {
			r := Row{Node: n.Name, Module: it.Module, Tag: it.Tag, What: it.What(), Schedule: it.Schedule, Retention: it.Retention}
			if it.Dump != "" {
				r.How = "dump to restic; restore: " + it.Restore
			} else {
				r.How = "restic, files as they are"
			}
			switch repo, _ := n.Param(mod, repoParam).(string); {
			case mod == "":
				r.Problem = "the design names no backup module (backup: in design.yaml)"
			case !n.Has(mod):
				r.Problem = fmt.Sprintf("NOT BACKED UP: the node does not run module %s", mod)
			case repo == "":
				r.Problem = fmt.Sprintf("NOT BACKED UP: %s.%s is empty", mod, repoParam)
			default:
				r.Where = repo
				switch {
				case LocalRepository(repo) != "":
					r.Problem = "the repository is a folder on the node: unless another machine's disk is mounted there, a lost disk loses the backups too"
				case onNode(repo, n):
					r.Problem = "the repository is on the node itself: a lost disk loses the backups too"
				}
			}
			p.Rows = append(p.Rows, r)
		}
	}
	return p
}

// onNode reports whether a restic repository is kept on the node it backs
// up: a local path, or sftp to one of the node's own names.
func onNode(repo string, n *model.Node) bool {
	if strings.HasPrefix(repo, "/") || strings.HasPrefix(repo, "local:") {
		return true
	}
	if !strings.HasPrefix(repo, "sftp:") {
		return false
	}
	host := strings.TrimPrefix(repo, "sftp:")
	host = strings.TrimPrefix(host, "//")
	if i := strings.Index(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	names := []string{n.Name, n.FQDN}
	for _, i := range n.Interfaces {
		names = append(names, i.Hostname, i.IP)
	}
	for _, s := range names {
		if s != "" && strings.EqualFold(s, host) {
			return true
		}
	}
	return false
}

// LocalRepository returns the path of a repository kept in a local folder
// ("" for sftp, s3 and the other remote kinds).
func LocalRepository(repo string) string {
	if strings.HasPrefix(repo, "local:") {
		return strings.TrimPrefix(repo, "local:")
	}
	if strings.HasPrefix(repo, "/") {
		return repo
	}
	return ""
}
