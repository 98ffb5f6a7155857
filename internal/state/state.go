// Package state keeps what kiln serve knows about each node between runs:
// its install state, when it entered it, how many times it has booted into
// the installer, and an append-only log of every event (boot requests, file
// fetches, callbacks, state changes, who did what).
//
// Everything lives in one SQLite file (pure Go, no cgo) in WAL mode with
// synchronous=FULL. Writes go through one goroutine that gathers the
// requests arriving together into a single transaction (group commit) and
// answers each caller only after that transaction is on disk: an event a
// caller was told about survives kill -9 and power loss, and a boot storm
// costs one fsync per batch rather than one per request. The events table
// refuses UPDATE and DELETE (triggers), so the log is append-only even to a
// careless sqlite3 session.
//
// Several processes may open the same file: kiln serve, and kiln status,
// events or reinstall beside it. SQLite's locking serialises their writes.
//
// The node states:
//
//	planned          in the site, never seen booting; boots into the installer
//	needs-reinstall  marked by an admin (kiln reinstall); boots into the installer
//	booting          served an install boot script
//	installing       fetched its kickstart
//	installed        its kickstart's %post reported "installed"; boots from disk
//	puppet-signed    reported its Puppet certificate signed
//	configured       reported its first Puppet run done
//	failed           held: booted into the installer MaxBoots times within
//	                 Window without reporting "installed"; boots nothing until
//	                 an admin runs kiln reinstall
package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// The states a node can be in.
const (
	Planned        = "planned"
	NeedsReinstall = "needs-reinstall"
	Booting        = "booting"
	Installing     = "installing"
	Installed      = "installed"
	PuppetSigned   = "puppet-signed"
	Configured     = "configured"
	Failed         = "failed"
)

// States lists every state in lifecycle order.
var States = []string{Planned, NeedsReinstall, Booting, Installing, Installed, PuppetSigned, Configured, Failed}

// InstallMode reports whether a node in state s boots into the installer.
func InstallMode(s string) bool {
	switch s {
	case Planned, NeedsReinstall, Booting, Installing:
		return true
	}
	return false
}

// Event kinds.
const (
	KindAdded    = "added"    // a node of the site was first seen
	KindBoot     = "boot"     // a node asked for its boot script
	KindFetch    = "fetch"    // a node fetched one of its own files
	KindReport   = "report"   // a node called back (installed, puppet-signed, configured)
	KindState    = "state"    // a node's state changed
	KindAdmin    = "admin"    // an admin acted (reinstall)
	KindDenied   = "denied"   // a request was refused (403)
	KindUnknown  = "unknown"  // an unknown machine booted
	KindDiscover = "discover" // an unknown machine was given a node slot
	KindServer   = "server"   // the server started, stopped, reloaded
)

// Node is a node's stored state.
type Node struct {
	Name           string    `json:"name"`
	State          string    `json:"state"`
	Reason         string    `json:"reason,omitempty"`
	Since          time.Time `json:"since"`
	Boots          int       `json:"install_boots"`
	WindowStart    time.Time `json:"window_start,omitzero"`
	InstallStarted time.Time `json:"install_started,omitzero"`
	InstalledAt    time.Time `json:"installed_at,omitzero"`
	LastEvent      string    `json:"last_event,omitempty"`
	LastEventAt    time.Time `json:"last_event_at,omitzero"`
	LastRemote     string    `json:"last_remote,omitempty"`
}

// Event is one line of the log.
type Event struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Node   string    `json:"node,omitempty"`
	Kind   string    `json:"kind"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Remote string    `json:"remote,omitempty"`
}

// Store is an open state file.
type Store struct {
	path   string
	read   *sql.DB
	write  *sql.DB
	ops    chan *op
	quit   chan struct{}
	done   chan struct{}
	closed sync.Once
	now    func() time.Time
}

const schema = `
CREATE TABLE IF NOT EXISTS meta(
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes(
	name            TEXT PRIMARY KEY,
	state           TEXT NOT NULL,
	reason          TEXT NOT NULL DEFAULT '',
	since           INTEGER NOT NULL,
	boots           INTEGER NOT NULL DEFAULT 0,
	window_start    INTEGER NOT NULL DEFAULT 0,
	install_started INTEGER NOT NULL DEFAULT 0,
	installed_at    INTEGER NOT NULL DEFAULT 0,
	last_event      TEXT NOT NULL DEFAULT '',
	last_event_at   INTEGER NOT NULL DEFAULT 0,
	last_remote     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS events(
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	node   TEXT NOT NULL DEFAULT '',
	kind   TEXT NOT NULL,
	from_state TEXT NOT NULL DEFAULT '',
	to_state   TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '',
	actor  TEXT NOT NULL DEFAULT '',
	remote TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_node ON events(node, seq);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
	BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
	BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '1');
`

// Open opens (creating when missing) the state file at path.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("no state file given")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the folder of the state file: %w", err)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open the state file %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if _, err := write.Exec(schema); err != nil {
		write.Close()
		return nil, fmt.Errorf("the state file %s cannot be used: %w", path, err)
	}
	var v string
	if err := write.QueryRow(`SELECT value FROM meta WHERE key='schema'`).Scan(&v); err != nil || v != "1" {
		write.Close()
		return nil, fmt.Errorf("the state file %s has schema version %q; this kiln knows version 1", path, v)
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	// The file may hold the fallback token key (see Key): the server's
	// user alone reads it.
	_ = os.Chmod(path, 0o600)
	s := &Store{path: path, read: read, write: write, ops: make(chan *op, 1024),
		quit: make(chan struct{}), done: make(chan struct{}), now: time.Now}
	go s.writer()
	return s, nil
}

// Path is the state file's path.
func (s *Store) Path() string { return s.path }

// Close finishes the writes already asked for and closes the file.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.quit)
		<-s.done
	})
	err1 := s.read.Close()
	err2 := s.write.Close()
	return errors.Join(err1, err2)
}

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// ErrClosed is returned for writes asked for after Close.
var ErrClosed = errors.New("the state file is closed")

// op is one write: fn runs inside the batch's transaction, under its own
// savepoint, so one op's error undoes that op alone.
type op struct {
	fn   func(tx *sql.Conn, now time.Time) error
	done chan error
}

// do runs fn in a transaction shared with the other writes of the moment
// and returns once that transaction is durably committed.
func (s *Store) do(ctx context.Context, fn func(tx *sql.Conn, now time.Time) error) error {
	o := &op{fn: fn, done: make(chan error, 1)}
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	select {
	case s.ops <- o:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, an op is always run and answered, even if ctx ends:
	// the caller must not think an event was lost when it was written.
	return <-o.done
}

const maxBatch = 512

func (s *Store) writer() {
	defer close(s.done)
	ctx := context.Background()
	var conn *sql.Conn
	batch := make([]*op, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.quit:
			// Answer whatever was queued before the close.
			for {
				select {
				case o := <-s.ops:
					batch = append(batch, o)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				conn = s.runBatch(ctx, conn, batch)
			}
			if conn != nil {
				conn.Close()
			}
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break more
			}
		}
		conn = s.runBatch(ctx, conn, batch)
	}
}

// runBatch commits a batch, answering each op. It returns the connection
// to use next (nil when this one broke).
func (s *Store) runBatch(ctx context.Context, conn *sql.Conn, batch []*op) *sql.Conn {
	fail := func(err error) *sql.Conn {
		for _, o := range batch {
			o.done <- err
		}
		if conn != nil {
			conn.Close()
		}
		return nil
	}
	if conn == nil {
		c, err := s.write.Conn(ctx)
		if err != nil {
			return fail(fmt.Errorf("state file %s: %w", s.path, err))
		}
		conn = c
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fail(fmt.Errorf("state file %s: cannot begin a write: %w", s.path, err))
	}
	now := s.now()
	errs := make([]error, len(batch))
	for i, o := range batch {
		if _, err := conn.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			conn.ExecContext(ctx, "ROLLBACK")
			return fail(err)
		}
		err := safeRun(o.fn, conn, now)
		if err != nil {
			if _, rerr := conn.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
				conn.ExecContext(ctx, "ROLLBACK")
				return fail(rerr)
			}
		}
		if _, rerr := conn.ExecContext(ctx, "RELEASE op"); rerr != nil {
			conn.ExecContext(ctx, "ROLLBACK")
			return fail(rerr)
		}
		errs[i] = err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		return fail(fmt.Errorf("state file %s: commit failed: %w", s.path, err))
	}
	for i, o := range batch {
		o.done <- errs[i]
	}
	return conn
}

func safeRun(fn func(*sql.Conn, time.Time) error, c *sql.Conn, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in a state write: %v", r)
		}
	}()
	return fn(c, now)
}

// ---- reads ----

const nodeCols = `name, state, reason, since, boots, window_start, install_started, installed_at, last_event, last_event_at, last_remote`

type scanner interface{ Scan(...any) error }

func scanNode(r scanner) (*Node, error) {
	var n Node
	var since, ws, is, ia, le int64
	if err := r.Scan(&n.Name, &n.State, &n.Reason, &since, &n.Boots, &ws, &is, &ia, &n.LastEvent, &le, &n.LastRemote); err != nil {
		return nil, err
	}
	n.Since, n.WindowStart, n.InstallStarted, n.InstalledAt, n.LastEventAt = tm(since), tm(ws), tm(is), tm(ia), tm(le)
	return &n, nil
}

func tm(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Node returns a node's state; ok is false when the file has no such node.
func (s *Store) Node(ctx context.Context, name string) (*Node, bool, error) {
	n, err := scanNode(s.read.QueryRowContext(ctx, `SELECT `+nodeCols+` FROM nodes WHERE name=?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return n, true, nil
}

// Nodes returns every node, by name.
func (s *Store) Nodes(ctx context.Context) ([]*Node, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+nodeCols+` FROM nodes ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Query selects events.
type Query struct {
	Node  string // only this node's events ("" for all)
	After int64  // only events with a larger sequence number
	Limit int    // at most this many, the most recent (0: all)
}

// Events returns events in sequence order.
func (s *Store) Events(ctx context.Context, q Query) ([]Event, error) {
	where, args := "seq > ?", []any{q.After}
	if q.Node != "" {
		where += " AND node = ?"
		args = append(args, q.Node)
	}
	order, lim := "ASC", ""
	if q.Limit > 0 {
		order, lim = "DESC", fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT seq, at, node, kind, from_state, to_state, detail, actor, remote FROM events WHERE `+
		where+` ORDER BY seq `+order+lim, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Node, &e.Kind, &e.From, &e.To, &e.Detail, &e.Actor, &e.Remote); err != nil {
			return nil, err
		}
		e.Time = tm(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if q.Limit > 0 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// HasEvents reports which of the given sequence numbers are in the log.
func (s *Store) HasEvents(ctx context.Context, seqs []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(seqs))
	stmt, err := s.read.PrepareContext(ctx, `SELECT 1 FROM events WHERE seq=?`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, q := range seqs {
		var one int
		err := stmt.QueryRowContext(ctx, q).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		out[q] = err == nil
	}
	return out, nil
}

// Check runs SQLite's integrity check.
func (s *Store) Check(ctx context.Context) error {
	var r string
	if err := s.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&r); err != nil {
		return err
	}
	if r != "ok" {
		return fmt.Errorf("state file %s is damaged: %s", s.path, r)
	}
	return nil
}

// Key returns a random 32-byte key kept in the file, made on first use: the
// fallback for node tokens when the site declares no token secret.
func (s *Store) Key(ctx context.Context, name string) ([]byte, error) {
	var key []byte
	err := s.do(ctx, func(c *sql.Conn, _ time.Time) error {
		var v string
		err := c.QueryRowContext(ctx, `SELECT value FROM meta WHERE key=?`, "key:"+name).Scan(&v)
		if err == nil {
			key = []byte(v)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		v = fmt.Sprintf("%x", b)
		key = []byte(v)
		_, err = c.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)`, "key:"+name, v)
		return err
	})
	return key, err
}
