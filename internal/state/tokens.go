package state

// Install tokens, Puppet challenges, the pending list of unknown machines,
// and pruning the event log.
//
// An install token is 32 random bytes (hex), minted when kiln serve hands
// a node an install boot script (Boot, in ModeInstall). Only its SHA-256 is
// kept (table install_tokens); the token itself exists in the boot script
// and on the installer's kernel command line. It is the node's current
// token while the node is in install mode and until it expires
// (Policy.TokenTTL); the next install boot replaces it, and the node's
// "installed" or "failed" report, kiln reinstall, and being held as failed
// void it. Each secret-bearing file is served once per token (Secret).
//
// The Puppet challenge is minted the same way, once per install token
// (Challenge), kept hashed (table challenges), and used once by kiln
// autosign (UseChallenge); it then still authenticates the node's later
// reports (puppet-signed, configured) until it expires.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// DefaultTokenTTL is how long an install token lives at most.
const DefaultTokenTTL = 4 * time.Hour

// DefaultChallengeTTL is how long a Puppet challenge lives at most: the
// node's first Puppet run may wait for the Puppet server to exist.
const DefaultChallengeTTL = 72 * time.Hour

// TokenError is a request whose token (or challenge) is not the node's
// current one; Msg says why.
type TokenError struct{ Msg string }

func (e *TokenError) Error() string { return e.Msg }

// ServedError is a secret asked for a second time with the same token.
type ServedError struct{ Msg string }

func (e *ServedError) Error() string { return e.Msg }

// Hash is the hex SHA-256 of a token or challenge, as the state file
// keeps it.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (p Policy) tokenTTL() time.Duration {
	if p.TokenTTL > 0 {
		return p.TokenTTL
	}
	return DefaultTokenTTL
}

// mintToken gives node a new install token, voiding the one before.
func (t *tx) mintToken(node string, ttl time.Duration) (string, error) {
	c, err := t.conn()
	if err != nil {
		return "", err
	}
	tok, err := newSecret()
	if err != nil {
		return "", err
	}
	_, err = c.exec(t.ctx, `INSERT INTO install_tokens(node, hash, minted, expires, served) VALUES(?,?,?,?,'')
		ON CONFLICT(node) DO UPDATE SET hash=excluded.hash, minted=excluded.minted, expires=excluded.expires, served=''`,
		node, Hash(tok), t.now.UnixNano(), t.now.Add(ttl).UnixNano())
	return tok, err
}

// voidToken ends node's install token and (with challenge) its challenge.
func (t *tx) voidToken(node string, challenge bool) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	if _, err := c.exec(t.ctx, `DELETE FROM install_tokens WHERE node=?`, node); err != nil {
		return err
	}
	if challenge {
		_, err = c.exec(t.ctx, `DELETE FROM challenges WHERE node=?`, node)
	}
	return err
}

// checkToken checks that tok is n's current install token and returns
// what was served with it already.
func (t *tx) checkToken(n *Node, tok string) ([]string, error) {
	if tok == "" {
		return nil, &TokenError{Msg: "no token: " + n.Name + "'s boot script gives the URL with its install token"}
	}
	if !InstallMode(n.State) {
		return nil, &TokenError{Msg: fmt.Sprintf("%s is %s, so it has no install token (kiln reinstall %s; its next install boot gets a new one)", n.Name, n.State, n.Name)}
	}
	c, err := t.conn()
	if err != nil {
		return nil, err
	}
	var hash, served string
	var expires int64
	err = c.queryRow(t.ctx, `SELECT hash, expires, served FROM install_tokens WHERE node=?`, n.Name).Scan(&hash, &expires, &served)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &TokenError{Msg: "no install token is current for " + n.Name + " (its install boot script mints one)"}
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(Hash(tok))) != 1 {
		return nil, &TokenError{Msg: "wrong token for " + n.Name + " (not its current install token)"}
	}
	if !t.now.Before(tm(expires)) {
		return nil, &TokenError{Msg: fmt.Sprintf("%s's install token expired at %s (kiln serve --token-ttl); its next install boot gets a new one", n.Name, tm(expires).Format(time.RFC3339))}
	}
	var out []string
	if served != "" {
		out = strings.Split(served, "\n")
	}
	return out, nil
}

// markServed adds what to the things served with n's current token.
func (t *tx) markServed(node string, served []string, what string) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	_, err = c.exec(t.ctx, `UPDATE install_tokens SET served=? WHERE node=?`, strings.Join(append(served, what), "\n"), node)
	return err
}

// Secret records a node fetching one of its secret-bearing files with
// its install token. It is refused (TokenError) unless tok is the node's
// current token, and (ServedError) when that token already fetched path:
// each secret leaves once per install. A kickstart fetch moves the node
// to installing.
func (s *Store) Secret(ctx context.Context, name, path, tok, remote string, kickstart bool) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		n, err := t.node(name)
		if err != nil {
			return err
		}
		served, err := t.checkToken(n, tok)
		if err != nil {
			return err
		}
		if slices.Contains(served, path) {
			return &ServedError{Msg: fmt.Sprintf("%s was served to %s once already with this token; secrets leave once per install (kiln reinstall %s for another)", path, name, name)}
		}
		if err := t.markServed(name, served, path); err != nil {
			return err
		}
		r = &Result{Node: n}
		if kickstart && n.State != Installing {
			setState(t, n, Installing, "fetched its kickstart", "kiln serve", remote)
			n.InstallStarted = t.now
		}
		r.Seq = t.event(Event{Node: name, Kind: KindFetch, Detail: path + " (secret, served once)", Remote: remote})
		touch(n, t.now, KindFetch, remote)
		t.put(n, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Callback takes the kickstart's %post report, "installed" or "failed",
// with the node's install token; the token is void from then on.
func (s *Store) Callback(ctx context.Context, name, tok, status, reason, remote string) (*Result, error) {
	if status != "installed" && status != "failed" {
		return nil, fmt.Errorf("status must be installed or failed, not %q", status)
	}
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		n, err := t.node(name)
		if err != nil {
			return err
		}
		if _, err := t.checkToken(n, tok); err != nil {
			return err
		}
		if err := t.voidToken(name, false); err != nil {
			return err
		}
		if status == "failed" {
			r, err = failTx(t, name, reason, remote)
		} else {
			r, err = reportTx(t, name, "installed", remote)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Challenge mints the node's Puppet autosign challenge, once per install
// token, and returns it: kiln keeps only its hash.
func (s *Store) Challenge(ctx context.Context, name, tok, remote string, ttl time.Duration) (string, *Result, error) {
	if ttl <= 0 {
		ttl = DefaultChallengeTTL
	}
	var ch string
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		n, err := t.node(name)
		if err != nil {
			return err
		}
		served, err := t.checkToken(n, tok)
		if err != nil {
			return err
		}
		const what = "(Puppet challenge)"
		if slices.Contains(served, what) {
			return &ServedError{Msg: fmt.Sprintf("%s's Puppet challenge was handed out once already with this token", name)}
		}
		if err := t.markServed(name, served, what); err != nil {
			return err
		}
		if ch, err = newSecret(); err != nil {
			return err
		}
		c, err := t.conn()
		if err != nil {
			return err
		}
		if _, err := c.exec(t.ctx, `INSERT INTO challenges(node, hash, minted, expires, used) VALUES(?,?,?,?,0)
			ON CONFLICT(node) DO UPDATE SET hash=excluded.hash, minted=excluded.minted, expires=excluded.expires, used=0`,
			name, Hash(ch), t.now.UnixNano(), t.now.Add(ttl).UnixNano()); err != nil {
			return err
		}
		r = &Result{Node: n}
		r.Seq = t.event(Event{Node: name, Kind: KindFetch, Detail: "its Puppet challenge (minted, served once)", Remote: remote})
		touch(n, t.now, KindFetch, remote)
		t.put(n, false)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return ch, r, nil
}

// challengeRow checks ch against node's challenge.
func (t *tx) challengeRow(node, ch string) (used bool, err error) {
	if ch == "" {
		return false, &TokenError{Msg: "no challenge given"}
	}
	c, err := t.conn()
	if err != nil {
		return false, err
	}
	var hash string
	var expires, u int64
	err = c.queryRow(t.ctx, `SELECT hash, expires, used FROM challenges WHERE node=?`, node).Scan(&hash, &expires, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return false, &TokenError{Msg: node + " has no Puppet challenge (its kickstart's %post fetches one during its install)"}
	}
	if err != nil {
		return false, err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(Hash(ch))) != 1 {
		return false, &TokenError{Msg: "wrong challenge for " + node + " (not the one of its current install)"}
	}
	if !t.now.Before(tm(expires)) {
		return false, &TokenError{Msg: fmt.Sprintf("%s's Puppet challenge expired at %s; sign by hand (puppetserver ca sign) or reinstall", node, tm(expires).Format(time.RFC3339))}
	}
	return u != 0, nil
}

// UseChallenge is kiln autosign's question: does this request carry the
// node's current challenge? It does once: the challenge is then used, and
// the node is puppet-signed.
func (s *Store) UseChallenge(ctx context.Context, name, ch, remote string) (*Result, error) {
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		n, err := t.node(name)
		if err != nil {
			return err
		}
		used, err := t.challengeRow(name, ch)
		if err != nil {
			return err
		}
		if used {
			return &TokenError{Msg: name + "'s Puppet challenge was used already: a second request with it is refused (puppetserver ca clean, then kiln reinstall, for a new one)"}
		}
		c, err := t.conn()
		if err != nil {
			return err
		}
		if _, err := c.exec(t.ctx, `UPDATE challenges SET used=1 WHERE node=?`, name); err != nil {
			return err
		}
		r = &Result{Node: n}
		r.Seq = t.event(Event{Node: name, Kind: KindReport, Detail: "autosign: its certificate request carried its challenge (now used)", Remote: remote})
		if n.State == Installed {
			if sq := setState(t, n, PuppetSigned, "certificate signed (kiln autosign)", "kiln autosign", remote); sq != 0 {
				r.Seq = sq
			}
		}
		touch(n, t.now, KindReport, remote)
		t.put(n, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// LateReport takes a report that follows "installed" (puppet-signed,
// configured): the install token is void by then, so the node proves
// itself with its Puppet challenge (its csr_attributes.yaml).
func (s *Store) LateReport(ctx context.Context, name, what, ch, remote string) (*Result, error) {
	if what == "installed" || !IsReport(what) {
		return nil, fmt.Errorf("%q is not a report that follows installed", what)
	}
	var r *Result
	err := s.do(ctx, func(t *tx) error {
		if _, err := t.node(name); err != nil {
			return err
		}
		if _, err := t.challengeRow(name, ch); err != nil {
			return err
		}
		var err error
		r, err = reportTx(t, name, what, remote)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ---- unknown machines ----

// MaxPending bounds the pending list: past it, the machines seen longest
// ago are dropped.
const MaxPending = 1000

// Pending is an unknown machine that asked for a boot script.
type Pending struct {
	MAC    string    `json:"mac"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Remote string    `json:"remote"`
	Seen   int       `json:"seen"`
	Role   string    `json:"role,omitempty"`
	Status string    `json:"status"` // pending or rejected
}

// NotePending records an unknown MAC in the pending list (role: the
// --discover role it would go to, if any); it returns the entry.
func (s *Store) NotePending(ctx context.Context, mac, remote, role string) (*Pending, error) {
	var p Pending
	err := s.do(ctx, func(t *tx) error {
		c, err := t.conn()
		if err != nil {
			return err
		}
		now := t.now.UnixNano()
		if _, err := c.exec(t.ctx, `INSERT INTO pending(mac, first, last, remote, seen, role) VALUES(?,?,?,?,1,?)
			ON CONFLICT(mac) DO UPDATE SET last=excluded.last, remote=excluded.remote, seen=seen+1,
			role=CASE WHEN excluded.role != '' THEN excluded.role ELSE role END`, mac, now, now, remote, role); err != nil {
			return err
		}
		if _, err := c.exec(t.ctx, `DELETE FROM pending WHERE mac IN (SELECT mac FROM pending ORDER BY last DESC LIMIT -1 OFFSET ?)`, MaxPending); err != nil {
			return err
		}
		var first, last int64
		err = c.queryRow(t.ctx, `SELECT mac, first, last, remote, seen, role, status FROM pending WHERE mac=?`, mac).
			Scan(&p.MAC, &first, &last, &p.Remote, &p.Seen, &p.Role, &p.Status)
		p.First, p.Last = tm(first), tm(last)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// PendingList returns the pending list, most recently seen first.
func (s *Store) PendingList(ctx context.Context) ([]Pending, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT mac, first, last, remote, seen, role, status FROM pending ORDER BY last DESC, mac`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		var first, last int64
		if err := rows.Scan(&p.MAC, &first, &last, &p.Remote, &p.Seen, &p.Role, &p.Status); err != nil {
			return nil, err
		}
		p.First, p.Last = tm(first), tm(last)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PendingStatus is mac's status on the pending list ("" when it is not
// on it): a read, no write.
func (s *Store) PendingStatus(ctx context.Context, mac string) (string, error) {
	var st string
	err := s.read.QueryRowContext(ctx, `SELECT status FROM pending WHERE mac=?`, mac).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return st, err
}

// ErrNotPending is returned for a MAC the pending list does not have.
var ErrNotPending = errors.New("no such MAC in the pending list")

// SettlePending takes mac off the pending list (accepted: the admin gave
// it a node) or marks it rejected (its boots are then answered with
// nothing and not logged again).
func (s *Store) SettlePending(ctx context.Context, mac string, accept bool, detail, actor string) error {
	return s.do(ctx, func(t *tx) error {
		c, err := t.conn()
		if err != nil {
			return err
		}
		var res sql.Result
		if accept {
			res, err = c.exec(t.ctx, `DELETE FROM pending WHERE mac=?`, mac)
		} else {
			res, err = c.exec(t.ctx, `UPDATE pending SET status='rejected' WHERE mac=?`, mac)
		}
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("%w: %s (kiln discover lists it)", ErrNotPending, mac)
		}
		what := "rejected"
		if accept {
			what = "accepted"
		}
		t.event(Event{Kind: KindDiscover, Detail: "MAC " + mac + " " + what + detail, Actor: actor})
		return nil
	})
}

// ---- pruning ----

// Prune deletes the events older than before (the log is otherwise
// append-only) and logs that it did; it returns how many went.
func (s *Store) Prune(ctx context.Context, before time.Time, actor string) (int64, error) {
	var n int64
	err := s.do(ctx, func(t *tx) error {
		c, err := t.conn()
		if err != nil {
			return err
		}
		// The trigger that keeps the log append-only is lifted inside
		// this transaction only.
		if _, err := c.exec(t.ctx, `DROP TRIGGER IF EXISTS events_append_only_delete`); err != nil {
			return err
		}
		// Times past 2262 do not fit in the nanoseconds the log keeps.
		cut := int64(math.MaxInt64)
		if before.Before(time.Unix(0, math.MaxInt64)) {
			cut = before.UnixNano()
		}
		res, err := c.exec(t.ctx, `DELETE FROM events WHERE at < ?`, cut)
		if err != nil {
			return err
		}
		if _, err := c.exec(t.ctx, `CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
	BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END`); err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		t.event(Event{Kind: KindAdmin, Detail: fmt.Sprintf("pruned %d events older than %s", n, before.UTC().Format(time.RFC3339)), Actor: actor})
		return nil
	})
	return n, err
}
