package pipeline

import (
	"fmt"
	"io/fs"
	"strings"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
)

// hostKeyWarnings warns of nodes without kept SSH host keys in a site that
// keeps them (identity/ holds some node's host keys): such a node makes new keys at
// each install, so a rebuilt machine greets every ssh client as a
// stranger, until kiln identity makes its keys. One warning per role, at
// its entry in site.yaml.
func hostKeyWarnings(d *load.Definitions, c *model.Cluster) *diag.List {
	l := &diag.List{}
	if d == nil || d.SiteFS == nil || c == nil {
		return l
	}
	if st, err := fs.Stat(d.SiteFS, identity.Dir); err != nil || !st.IsDir() {
		return l
	}
	var roles []string
	missing := map[string][]*model.Node{}
	keeps := false
	for _, n := range c.Nodes {
		if identity.CheckNode(n.Name) != nil {
			continue
		}
		if identity.HasHostKeys(d.SiteFS, n.Name) {
			keeps = true
			continue
		}
		if missing[n.Role] == nil {
			roles = append(roles, n.Role)
		}
		missing[n.Role] = append(missing[n.Role], n)
	}
	if !keeps {
		return l // the site does not keep host keys (an example, a site from before kiln identity)
	}
	for _, role := range roles {
		nodes := missing[role]
		names := make([]string, len(nodes))
		for i, n := range nodes {
			names[i] = n.Name
		}
		list := strings.Join(names, ", ")
		if len(names) > 8 {
			list = fmt.Sprintf("%s and %d more", strings.Join(names[:6], ", "), len(names)-6)
		}
		verb := "has"
		if len(names) > 1 {
			verb = "have"
		}
		l.Warn(nodes[0].Origin, "role "+role, fmt.Sprintf("%s %s no SSH host keys in %s/, which keeps the other nodes': installed now, %s would make new ones at each install", list, verb, identity.Dir, pronoun(len(names))),
			"run kiln identity, then kiln build")
	}
	return l
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "they"
}
