package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/state"
)

// warned prints a resolved site's warnings on stderr (FILE:LINE:COL:
// warning: …), or, under --strict, reports them as the problems they then
// are and returns false.
func (c *cmdContext) warned(s *pipeline.Site) bool {
	if len(s.Warnings) == 0 {
		return true
	}
	if c.strict {
		l := &diag.List{}
		for _, w := range s.Warnings {
			l.Add(w.Pos, w.Where, w.What, w.Fix)
		}
		c.report(l.Err())
		return false
	}
	if c.json {
		return true // the verb puts them in its JSON
	}
	for _, w := range s.Warnings {
		fmt.Fprintln(c.stderr, w.String())
	}
	return true
}

// plural is "1 warning", "2 warnings".
func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// warnInstalledWithoutKeys warns, before kiln identity makes host keys,
// of nodes the state file says are installed and whose keys the site does
// not keep: the keys made now reach such a node only when it is
// reinstalled, which then changes its host key under every ssh client.
func (c *cmdContext) warnInstalledWithoutKeys(nodes []string) {
	p := c.statePath()
	if _, err := os.Stat(p); err != nil {
		return // kiln serve never ran: nothing is installed through it
	}
	site := os.DirFS(c.dir)
	var lacking []string
	for _, n := range nodes {
		if identity.CheckNode(n) == nil && !identity.HasHostKeys(site, n) {
			lacking = append(lacking, n)
		}
	}
	if len(lacking) == 0 {
		return
	}
	st, err := state.Open(p)
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln %s: warning: cannot read the state file to see which nodes are installed: %v\n", c.verb.name, err)
		return
	}
	defer st.Close()
	all, err := st.Nodes(context.Background())
	if err != nil {
		fmt.Fprintf(c.stderr, "kiln %s: warning: cannot read the state file to see which nodes are installed: %v\n", c.verb.name, err)
		return
	}
	installed := map[string]bool{}
	for _, n := range all {
		installed[n.Name] = !n.InstalledAt.IsZero()
	}
	var hit []string
	for _, n := range lacking {
		if installed[n] {
			hit = append(hit, n)
		}
	}
	if len(hit) == 0 {
		return
	}
	fmt.Fprintf(c.stderr, "kiln %s: warning: %s %s installed (%s) with host keys the site does not keep: the keys made now replace %s at the next reinstall, and ssh clients will then refuse the node until their known_hosts is updated — to keep a node's current keys instead, remove identity/NODE/etc/ssh and import them from the machine (kiln identity import NODE ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key, the same for .pub with public, and the ecdsa pair)\n",
		c.verb.name, strings.Join(hit, ", "), isAre(len(hit)), p, theirs(len(hit)))
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func theirs(n int) string {
	if n == 1 {
		return "its own"
	}
	return "theirs"
}
