package model

import (
	"fmt"
	"strings"
)

// StateItem is one piece of a node's state to back up, as the backup
// scripts, kiln backup plan and the runbook name it: a module's state
// entry, flattened and tagged.
type StateItem struct {
	// Tag names the item in the node's restic snapshots: the module and
	// the entry's place in its state list, e.g. ldap_server.1.
	Tag       string   `json:"tag"`
	Module    string   `json:"module"`
	Paths     []string `json:"paths,omitempty"` // absolute, as declared
	Dump      string   `json:"dump,omitempty"`
	Restore   string   `json:"restore,omitempty"`
	Schedule  string   `json:"schedule"`
	Retention int      `json:"retention"`
	Doc       string   `json:"doc,omitempty"`
}

// RelPaths are the item's paths relative to the root of the file system
// (export/home for /export/home): the scripts back up from a root that
// tests can move.
func (s StateItem) RelPaths() []string {
	out := make([]string, len(s.Paths))
	for i, p := range s.Paths {
		out[i] = strings.TrimLeft(p, "/")
	}
	return out
}

// DueMinutes is how old, in minutes, the last good backup of the item may
// be before an hourly run backs it up again: its period less half an hour,
// so that a timer's random delay never skips a period.
func (s StateItem) DueMinutes() int {
	switch s.Schedule {
	case "hourly":
		return 30
	case "weekly":
		return 7*24*60 - 30
	default:
		return 24*60 - 30
	}
}

// What says what the item holds, in a few words.
func (s StateItem) What() string {
	if s.Dump != "" {
		return "dump: " + s.Dump
	}
	return strings.Join(s.Paths, " ")
}

// StateItems lists the state of the node's modules, in the node's module
// order (a module after those it requires): the order to restore it in.
func (n *Node) StateItems() []StateItem {
	var out []StateItem
	for _, m := range n.Modules {
		for i, s := range m.State {
			out = append(out, StateItem{
				Tag: fmt.Sprintf("%s.%d", m.Name, i+1), Module: m.Name,
				Paths: s.Paths, Dump: s.Dump, Restore: s.Restore,
				Schedule: s.Schedule, Retention: s.Retention, Doc: s.Doc,
			})
		}
	}
	return out
}

// HasState reports whether any of the node's modules declares state.
func (n *Node) HasState() bool {
	for _, m := range n.Modules {
		if len(m.State) > 0 {
			return true
		}
	}
	return false
}
