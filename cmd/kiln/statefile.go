package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/selector"
	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

// What status, events and reinstall share: the state file kiln serve keeps.

// openState opens the state file of the site; it must exist already (only
// kiln serve creates it).
func (c *cmdContext) openState() (*state.Store, bool) {
	p := c.statePath()
	if _, err := os.Stat(p); err != nil {
		c.fail(exitDefs, "there is no state file at %s: kiln serve has not run for this site yet (or give --db FILE)", p)
		return nil, false
	}
	st, err := state.Open(p)
	if err != nil {
		c.fail(exitDefs, "%v", err)
		return nil, false
	}
	return st, true
}

// siteRecord is the site's nodes as the state file recorded them (kiln
// serve writes it at each load), so status and events work when
// site.yaml does not check. A state file from an older kiln has none:
// then the site is read, and when that fails too the nodes show without
// roles, with a note.
func (c *cmdContext) siteRecord(st *state.Store) (state.SiteRecord, error) {
	rec, err := st.Site(context.Background())
	if err != nil {
		return state.SiteRecord{}, err
	}
	if rec != nil {
		return *rec, nil
	}
	if s, err := pipeline.Resolve(c.source()); err == nil {
		return serve.SiteRecord(s.Cluster), nil
	}
	if !c.json {
		fmt.Fprintf(c.stderr, "kiln %s: note: the state file records no roles (kiln serve has not run since kiln was upgraded) and the site does not check: nodes show without roles\n", c.verb.name)
	}
	return state.SiteRecord{}, nil
}

// selectorNodes lists the views for selector.Match, with their states.
func selectorNodes(views []serve.NodeView) ([]selector.Node, map[string]string) {
	nodes := make([]selector.Node, len(views))
	states := make(map[string]string, len(views))
	for i, v := range views {
		nodes[i] = selector.Node{Name: v.Name, Role: v.Role, Group: v.Group}
		states[v.Name] = v.State
	}
	return nodes, states
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// pruneTime reads --prune: a date, an RFC 3339 time, or an age.
func pruneTime(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--prune %q is not a date (2006-01-02), a time (RFC 3339) or an age (720h)", v)
}

func nodeList(c *model.Cluster) []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Name
	}
	return out
}

// whoami names the admin for the event log: user@host, with sudo's user.
func whoami() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = fmt.Sprintf("uid %d", os.Getuid())
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}

// stateFilterFlag adds --state STATE, a filter; given a path (its old
// meaning), it says to use --db.
func (c *cmdContext) stateFilterFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.sv.stateFilter, "state", "", "show only the nodes in this install `STATE` (as state:STATE does)")
}

func (c *cmdContext) checkStateFilter() bool {
	v := c.sv.stateFilter
	if v == "" {
		return true
	}
	for _, s := range state.States {
		if v == s {
			return true
		}
	}
	if strings.ContainsAny(v, "/.") {
		c.usageError(fmt.Sprintf("--state filters by install state now (e.g. --state failed); give the state file %q with --db", v))
		return false
	}
	c.usageError(fmt.Sprintf("--state %q is not an install state; one of: %s", v, strings.Join(state.States, ", ")))
	return false
}
