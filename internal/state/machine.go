package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Policy bounds install attempts: a node that boots into the installer
// MaxBoots times within Window without reporting "installed" is held as
// failed instead of being sent round again.
type Policy struct {
	MaxBoots int
	Window   time.Duration
}

// DefaultPolicy allows three install boots in six hours.
var DefaultPolicy = Policy{MaxBoots: 3, Window: 6 * time.Hour}

// Mode is what a node's boot script does.
type Mode string

const (
	ModeInstall Mode = "install" // boot the installer with the node's kickstart
	ModeLocal   Mode = "local"   // boot from the local disk
	ModeHeld    Mode = "held"    // failed: say why, boot nothing
)

// ErrUnknownNode is returned for a node the state file does not have.
var ErrUnknownNode = errors.New("no such node")

// ConflictError is a report that does not fit the node's state.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// Reports nodes make, and the state each one leads to.
var reports = map[string]string{
	"installed":     Installed,
	"puppet-signed": PuppetSigned,
	"configured":    Configured,
}

// IsReport reports whether what is a report a node may make.
func IsReport(what string) bool { _, ok := reports[what]; return ok }

// Result is the outcome of one write.
type Result struct {
	Node *Node // the node after the write
	Seq  int64 // the last event the write recorded
	Mode Mode  // for Boot: what the boot script does
	// InstallTime is, for an "installed" report, how long since the
	// kickstart was fetched (zero when unknown).
	InstallTime time.Duration
}

func getNode(c *sql.Conn, name string) (*Node, error) {
	n, err := scanNode(c.QueryRowContext(context.Background(), `SELECT `+nodeCols+` FROM nodes WHERE name=?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w %q in the state file", ErrUnknownNode, name)
	}
	return n, err
}

func putNode(c *sql.Conn, n *Node) error {
	_, err := c.ExecContext(context.Background(), `UPDATE nodes SET state=?, reason=?, since=?, boots=?, window_start=?, install_started=?, installed_at=?,
		last_event=?, last_event_at=?, last_remote=? WHERE name=?`,
		n.State, n.Reason, ns(n.Since), n.Boots, ns(n.WindowStart), ns(n.InstallStarted), ns(n.InstalledAt),
		n.LastEvent, ns(n.LastEventAt), n.LastRemote, n.Name)
	return err
}

func addEvent(c *sql.Conn, now time.Time, e Event) (int64, error) {
	res, err := c.ExecContext(context.Background(), `INSERT INTO events(at, node, kind, from_state, to_state, detail, actor, remote) VALUES(?,?,?,?,?,?,?,?)`,
		now.UnixNano(), e.Node, e.Kind, e.From, e.To, e.Detail, e.Actor, e.Remote)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// setState moves n to state to, logging the change; a no-op when n is
// already there.
func setState(c *sql.Conn, now time.Time, n *Node, to, why, actor, remote string) (int64, error) {
	if n.State == to {
		return 0, nil
	}
	seq, err := addEvent(c, now, Event{Node: n.Name, Kind: KindState, From: n.State, To: to, Detail: why, Actor: actor, Remote: remote})
	if err != nil {
		return 0, err
	}
	n.State, n.Since = to, now
	return seq, nil
}

func touch(n *Node, now time.Time, what, remote string) {
	n.LastEvent, n.LastEventAt = what, now
	if remote != "" {
		n.LastRemote = remote
	}
}

// Sync makes sure every named node has a row (new ones start planned) and
// returns how many were added.
func (s *Store) Sync(ctx context.Context, names []string) (int, error) {
	added := 0
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		added = 0
		for _, name := range names {
			res, err := c.ExecContext(ctx, `INSERT OR IGNORE INTO nodes(name, state, since, last_event, last_event_at) VALUES(?,?,?,?,?)`,
				name, Planned, now.UnixNano(), KindAdded, now.UnixNano())
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				added++
				if _, err := addEvent(c, now, Event{Node: name, Kind: KindAdded, To: Planned, Detail: "in the site, not yet installed", Actor: "site"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return added, err
}

// Boot records a node asking for its boot script and decides what the
// script does: install (counting the boot against the policy), local disk,
// or held. detail describes the request (say, the MAC it came from).
func (s *Store) Boot(ctx context.Context, name, remote, detail string, p Policy) (*Result, error) {
	if p.MaxBoots < 1 {
		return nil, fmt.Errorf("the install boot limit must be at least 1, not %d", p.MaxBoots)
	}
	var r *Result
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		n, err := getNode(c, name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		var msg string
		switch {
		case n.State == Failed:
			r.Mode = ModeHeld
			msg = "held (failed): " + n.Reason
		case !InstallMode(n.State):
			r.Mode = ModeLocal
			msg = "local disk (" + n.State + ")"
		default:
			if n.WindowStart.IsZero() || now.Sub(n.WindowStart) > p.Window {
				n.Boots, n.WindowStart = 0, now
			}
			if n.Boots >= p.MaxBoots {
				r.Mode = ModeHeld
				n.Reason = fmt.Sprintf("booted into the installer %d times since %s without reporting \"installed\" (it was %s); check its console, then run kiln reinstall %s",
					n.Boots, n.WindowStart.Format(time.RFC3339), n.State, n.Name)
				if _, err := setState(c, now, n, Failed, n.Reason, "kiln serve", remote); err != nil {
					return err
				}
				msg = "held (failed): " + n.Reason
				break
			}
			r.Mode = ModeInstall
			n.Boots++
			if n.State == Installing || n.State == Booting {
				msg = fmt.Sprintf("install (boot %d of %d; the last attempt did not report installed)", n.Boots, p.MaxBoots)
			} else {
				msg = fmt.Sprintf("install (boot %d of %d)", n.Boots, p.MaxBoots)
			}
			if _, err := setState(c, now, n, Booting, "served an install boot script", "kiln serve", remote); err != nil {
				return err
			}
		}
		if detail != "" {
			msg += "; " + detail
		}
		seq, err := addEvent(c, now, Event{Node: n.Name, Kind: KindBoot, Detail: msg, Remote: remote, To: string(r.Mode)})
		if err != nil {
			return err
		}
		r.Seq = seq
		touch(n, now, KindBoot, remote)
		return putNode(c, n)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Fetch records a node fetching one of its own files. A kickstart fetch by
// a node on its way to install moves it to installing.
func (s *Store) Fetch(ctx context.Context, name, path, remote string, kickstart bool) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		n, err := getNode(c, name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		if kickstart && InstallMode(n.State) {
			if _, err := setState(c, now, n, Installing, "fetched its kickstart", "kiln serve", remote); err != nil {
				return err
			}
			n.InstallStarted = now
		}
		seq, err := addEvent(c, now, Event{Node: name, Kind: KindFetch, Detail: path, Remote: remote})
		if err != nil {
			return err
		}
		r.Seq = seq
		touch(n, now, KindFetch, remote)
		return putNode(c, n)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Report records a node's callback: installed, puppet-signed or configured.
// "installed" is taken in any state (the node did install) and flips the
// node to local boot; the later reports only follow "installed", so that a
// running Puppet agent cannot undo an admin's reinstall mark.
func (s *Store) Report(ctx context.Context, name, what, remote string) (*Result, error) {
	to, ok := reports[what]
	if !ok {
		return nil, fmt.Errorf("%q is not a report; nodes report installed, puppet-signed or configured", what)
	}
	var r *Result
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		n, err := getNode(c, name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		if to != Installed && n.State != Installed && n.State != PuppetSigned && n.State != Configured {
			return &ConflictError{Msg: fmt.Sprintf("%s reported %q but is %s; that report only follows \"installed\"", name, what, n.State)}
		}
		seq, err := addEvent(c, now, Event{Node: name, Kind: KindReport, Detail: what, Remote: remote})
		if err != nil {
			return err
		}
		r.Seq = seq
		if to == Installed {
			if !n.InstallStarted.IsZero() && InstallMode(n.State) {
				r.InstallTime = now.Sub(n.InstallStarted)
			}
			n.Boots, n.WindowStart, n.Reason = 0, time.Time{}, ""
			n.InstalledAt = now
		}
		sq, err := setState(c, now, n, to, "reported "+what, name, remote)
		if err != nil {
			return err
		}
		if sq != 0 {
			r.Seq = sq
		}
		touch(n, now, KindReport, remote)
		return putNode(c, n)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Reinstall marks a node for reinstall: its next boot installs, with a
// fresh count of install boots. actor says who asked (user@host).
func (s *Store) Reinstall(ctx context.Context, name, actor, why string) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		n, err := getNode(c, name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		detail := "marked for reinstall (was " + n.State + ")"
		if why != "" {
			detail += ": " + why
		}
		seq, err := addEvent(c, now, Event{Node: name, Kind: KindAdmin, Detail: detail, Actor: actor})
		if err != nil {
			return err
		}
		r.Seq = seq
		n.Boots, n.WindowStart, n.Reason, n.InstallStarted = 0, time.Time{}, "", time.Time{}
		if n.State == NeedsReinstall {
			// Already marked: a fresh count is all there is to do.
			n.Since = now
		} else if seq, err = setState(c, now, n, NeedsReinstall, detail, actor, ""); err != nil {
			return err
		} else {
			r.Seq = seq
		}
		touch(n, now, KindAdmin, "")
		return putNode(c, n)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Record appends an event that changes no state (a refused request, an
// unknown machine, the server starting). It returns its sequence number.
func (s *Store) Record(ctx context.Context, e Event) (int64, error) {
	if e.Kind == "" {
		return 0, errors.New("an event needs a kind")
	}
	var seq int64
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		var err error
		seq, err = addEvent(c, now, e)
		return err
	})
	return seq, err
}

// Fail holds a node as failed because it said its install went wrong (the
// kickstart's %post reported status=failed); it stays held until an admin
// marks it for reinstall.
func (s *Store) Fail(ctx context.Context, name, reason, remote string) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(c *sql.Conn, now time.Time) error {
		n, err := getNode(c, name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		seq, err := addEvent(c, now, Event{Node: name, Kind: KindReport, Detail: "failed: " + reason, Remote: remote})
		if err != nil {
			return err
		}
		r.Seq = seq
		n.Reason = reason + "; fix it, then run kiln reinstall " + name
		if sq, err := setState(c, now, n, Failed, reason, name, remote); err != nil {
			return err
		} else if sq != 0 {
			r.Seq = sq
		}
		touch(n, now, KindReport, remote)
		return putNode(c, n)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
