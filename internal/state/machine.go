package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy bounds install attempts: a node that boots into the installer
// MaxBoots times within Window without reporting "installed" is held as
// failed instead of being sent round again.
type Policy struct {
	MaxBoots int
	Window   time.Duration
	// TokenTTL is how long an install token lives at most (0:
	// DefaultTokenTTL).
	TokenTTL time.Duration
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
	// Token is, for a Boot in ModeInstall, the node's new install token
	// (the state file keeps only its hash).
	Token string
	// Queued is true when the event was handed to the writer without
	// waiting for it (see Fetch): Node is the node before the fetch, and
	// Seq is 0.
	Queued bool
}

// setState moves n to state to, logging the change; a no-op when n is
// already there.
func setState(t *tx, n *Node, to, why, actor, remote string) int64 {
	if n.State == to {
		return 0
	}
	seq := t.event(Event{Node: n.Name, Kind: KindState, From: n.State, To: to, Detail: why, Actor: actor, Remote: remote})
	n.State, n.Since = to, t.now
	return seq
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
	err := s.do(ctx, func(t *tx) error {
		now := t.now
		added = 0
		for _, name := range names {
			if t.exists(name) {
				continue
			}
			added++
			t.put(&Node{Name: name, State: Planned, Since: now, LastEvent: KindAdded, LastEventAt: now}, true)
			t.event(Event{Node: name, Kind: KindAdded, To: Planned, Detail: "in the site, not yet installed", Actor: "site"})
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
	err := s.do(ctx, func(t *tx) error {
		now := t.now
		n, err := t.node(name)
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
				setState(t, n, Failed, n.Reason, "kiln serve", remote)
				msg = "held (failed): " + n.Reason
				if err := t.voidToken(n.Name, false); err != nil {
					return err
				}
				break
			}
			tok, err := t.mintToken(n.Name, p.tokenTTL())
			if err != nil {
				return err
			}
			r.Token = tok
			r.Mode = ModeInstall
			n.Boots++
			if n.State == Installing || n.State == Booting {
				msg = fmt.Sprintf("install (boot %d of %d; the last attempt did not report installed)", n.Boots, p.MaxBoots)
			} else {
				msg = fmt.Sprintf("install (boot %d of %d)", n.Boots, p.MaxBoots)
			}
			setState(t, n, Booting, "served an install boot script", "kiln serve", remote)
		}
		if detail != "" {
			msg += "; " + detail
		}
		seq := t.event(Event{Node: n.Name, Kind: KindBoot, Detail: msg, Remote: remote, To: string(r.Mode)})
		r.Seq = seq
		touch(n, now, KindBoot, remote)
		t.put(n, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Fetch records a node fetching one of its own files. A kickstart fetch by
// a node on its way to install (planned, needs-reinstall, booting) moves it
// to installing; that fetch returns once its events are on disk.
//
// A fetch that changes no state (any file but the kickstart, a kickstart
// fetched again while installing, or by a node that does not install) is
// queued to the writer without waiting: Fetch returns at once with
// Result.Queued set and no sequence number, and the fetch event is written
// in the next batch (lost only if the process dies first). The same node
// fetching the same file from the same address again before that batch
// adds to that event rather than making one each: its detail then says
// how many times ("kickstart-wn1.cfg (3 times)"), so a node (or a client)
// fetching in a loop costs one row a batch, not one a request. Should the
// node's state have changed by the time that batch runs, the fetch is
// recorded against the state it finds, as a waited-for one would be.
func (s *Store) Fetch(ctx context.Context, name, path, remote string, kickstart bool) (*Result, error) {
	var r *Result
	record := func(t *tx, detail string) error {
		now := t.now
		n, err := t.node(name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		if kickstart && InstallMode(n.State) && n.State != Installing {
			setState(t, n, Installing, "fetched its kickstart", "kiln serve", remote)
			n.InstallStarted = now
		}
		seq := t.event(Event{Node: name, Kind: KindFetch, Detail: detail, Remote: remote})
		r.Seq = seq
		touch(n, now, KindFetch, remote)
		t.put(n, false)
		return nil
	}
	if n, ok, _ := s.Node(ctx, name); ok && !(kickstart && InstallMode(n.State) && n.State != Installing) {
		k := repeat{name, path, remote, kickstart}
		for {
			s.repeatMu.Lock()
			if s.repeats == nil {
				s.repeats = map[repeat]*pending{}
			}
			p := s.repeats[k]
			if p == nil {
				break // s.repeatMu held: this fetch queues the op
			}
			select {
			case <-p.sent:
				// Its op is queued and has not run yet (it takes p out
				// of the map when it does): it counts this one.
				p.times++
				s.repeatMu.Unlock()
				return &Result{Node: n, Queued: true}, nil
			default:
			}
			// Its op is being queued: count on it only once it is.
			s.repeatMu.Unlock()
			select {
			case <-p.sent:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		p := &pending{times: 1, sent: make(chan struct{})}
		s.repeats[k] = p
		s.repeatMu.Unlock()
		forget := func() {
			s.repeatMu.Lock()
			if s.repeats[k] == p {
				delete(s.repeats, k)
			}
			s.repeatMu.Unlock()
		}
		err := s.enqueue(ctx, &op{drop: forget, fn: func(t *tx) error {
			s.repeatMu.Lock()
			times := p.times
			if s.repeats[k] == p {
				delete(s.repeats, k)
			}
			s.repeatMu.Unlock()
			detail := path
			if times > 1 {
				detail = fmt.Sprintf("%s (%d times)", path, times)
			}
			if err := record(t, detail); err != nil {
				return fmt.Errorf("%s's fetch of %s: %w", name, path, err)
			}
			return nil
		}})
		if err != nil {
			forget()
		}
		close(p.sent)
		if err != nil {
			return nil, err
		}
		return &Result{Node: n, Queued: true}, nil
	}
	if err := s.do(ctx, func(t *tx) error { return record(t, path) }); err != nil {
		return nil, err
	}
	return r, nil
}

// FetchTimes is how many fetches a fetch event stands for: 1, or the N of
// "PATH (N times)".
func FetchTimes(detail string) int {
	if rest, ok := strings.CutSuffix(detail, " times)"); ok {
		if i := strings.LastIndex(rest, " ("); i >= 0 {
			if n, err := strconv.Atoi(rest[i+2:]); err == nil && n > 1 {
				return n
			}
		}
	}
	return 1
}

// repeat names the repeat fetches one queued op writes.
type repeat struct {
	node, path, remote string
	kickstart          bool
}

// pending is the queued op of a repeat, not yet run.
type pending struct {
	times int           // the fetches it writes (under repeatMu)
	sent  chan struct{} // closed once the op is queued (or could not be: it is then out of the map)
}

// Report records a node's callback: installed, puppet-signed or configured.
// "installed" is taken in any state (the node did install) and flips the
// node to local boot; the later reports only follow "installed", so that a
// running Puppet agent cannot undo an admin's reinstall mark.
func (s *Store) Report(ctx context.Context, name, what, remote string) (*Result, error) {
	if !IsReport(what) {
		return nil, fmt.Errorf("%q is not a report; nodes report installed, puppet-signed or configured", what)
	}
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		var err error
		r, err = reportTx(t, name, what, remote)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// reportTx is Report inside a transaction.
func reportTx(t *tx, name, what, remote string) (*Result, error) {
	to, ok := reports[what]
	if !ok {
		return nil, fmt.Errorf("%q is not a report; nodes report installed, puppet-signed or configured", what)
	}
	r, err := func() (*Result, error) {
		now := t.now
		n, err := t.node(name)
		if err != nil {
			return nil, err
		}
		r := &Result{Node: n}
		if to != Installed && n.State != Installed && n.State != PuppetSigned && n.State != Configured {
			return nil, &ConflictError{Msg: fmt.Sprintf("%s reported %q but is %s; that report only follows \"installed\"", name, what, n.State)}
		}
		seq := t.event(Event{Node: name, Kind: KindReport, Detail: what, Remote: remote})
		r.Seq = seq
		if to == Installed {
			if !n.InstallStarted.IsZero() && InstallMode(n.State) {
				r.InstallTime = now.Sub(n.InstallStarted)
			}
			n.Boots, n.WindowStart, n.Reason = 0, time.Time{}, ""
			n.InstalledAt = now
		}
		if sq := setState(t, n, to, "reported "+what, name, remote); sq != 0 {
			r.Seq = sq
		}
		touch(n, now, KindReport, remote)
		t.put(n, false)
		return r, nil
	}()
	return r, err
}

// Reinstall marks a node for reinstall: its next boot installs, with a
// fresh count of install boots. actor says who asked (user@host).
func (s *Store) Reinstall(ctx context.Context, name, actor, why string) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		now := t.now
		n, err := t.node(name)
		if err != nil {
			return err
		}
		r = &Result{Node: n}
		detail := "marked for reinstall (was " + n.State + ")"
		if why != "" {
			detail += ": " + why
		}
		// A new install: the old token and challenge are void; the next
		// install boot mints new ones.
		if err := t.voidToken(name, true); err != nil {
			return err
		}
		seq := t.event(Event{Node: name, Kind: KindAdmin, Detail: detail, Actor: actor})
		r.Seq = seq
		n.Boots, n.WindowStart, n.Reason, n.InstallStarted = 0, time.Time{}, "", time.Time{}
		if n.State == NeedsReinstall {
			// Already marked: a fresh count is all there is to do.
			n.Since = now
		} else {
			r.Seq = setState(t, n, NeedsReinstall, detail, actor, "")
		}
		touch(n, now, KindAdmin, "")
		t.put(n, false)
		return nil
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
	err := s.do(ctx, func(t *tx) error {
		seq = t.event(e)
		return nil
	})
	return seq, err
}

// Fail holds a node as failed because it said its install went wrong (the
// kickstart's %post reported status=failed); it stays held until an admin
// marks it for reinstall.
func (s *Store) Fail(ctx context.Context, name, reason, remote string) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		var err error
		r, err = failTx(t, name, reason, remote)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// failTx is Fail inside a transaction.
func failTx(t *tx, name, reason, remote string) (*Result, error) {
	r, err := func() (*Result, error) {
		now := t.now
		n, err := t.node(name)
		if err != nil {
			return nil, err
		}
		r := &Result{Node: n}
		if err := t.voidToken(name, false); err != nil {
			return nil, err
		}
		seq := t.event(Event{Node: name, Kind: KindReport, Detail: "failed: " + reason, Remote: remote})
		r.Seq = seq
		n.Reason = reason + "; fix it, then run kiln reinstall " + name
		if sq := setState(t, n, Failed, reason, name, remote); sq != 0 {
			r.Seq = sq
		}
		touch(n, now, KindReport, remote)
		t.put(n, false)
		return r, nil
	}()
	return r, err
}
