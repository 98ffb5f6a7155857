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
// costs one fsync per batch rather than one per request. The one exception
// is a fetch that changes no state (Fetch): it is queued for the next batch
// and not waited for. The writer keeps its SQL prepared on its connection
// and works on an in-memory copy of the nodes table (see Store). The events table
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
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
//
// Besides the file, a Store keeps an in-memory copy of the nodes table:
// loaded at Open, changed only by the writer goroutine once a batch has
// committed, and reloaded when another process (kiln reinstall beside kiln
// serve) has written the file (SQLite's data_version, looked at before each
// batch and every quarter second while idle). Node and Nodes read that
// copy, not the file.
type Store struct {
	path   string
	read   *sql.DB
	write  *sql.DB
	ops    chan *op
	quit   chan struct{} // closed by Close: no more writes are taken
	stop   chan struct{} // closed once no write can still be queued: the writer drains and ends
	gate   sync.RWMutex  // held (read) while a write is being queued
	ended  bool          // under gate: Close has begun
	done   chan struct{}
	closed sync.Once
	now    func() time.Time

	mu    sync.RWMutex
	nodes map[string]*Node // the table as last committed; entries are replaced, never changed

	// repeats counts the queued repeat fetches not yet written, by node,
	// file and address: one op writes each (see Fetch).
	repeatMu sync.Mutex
	repeats  map[repeat]*pending

	onErr  atomic.Pointer[func(error)]
	events [4]*sql.Stmt // Events' queries on the read pool (see eventQueries)
	has    *sql.Stmt
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
CREATE TABLE IF NOT EXISTS install_tokens(
	node    TEXT PRIMARY KEY,
	hash    TEXT NOT NULL,
	minted  INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	served  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS challenges(
	node    TEXT PRIMARY KEY,
	hash    TEXT NOT NULL,
	minted  INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	used    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending(
	mac     TEXT PRIMARY KEY,
	first   INTEGER NOT NULL,
	last    INTEGER NOT NULL,
	remote  TEXT NOT NULL DEFAULT '',
	seen    INTEGER NOT NULL DEFAULT 1,
	role    TEXT NOT NULL DEFAULT '',
	status  TEXT NOT NULL DEFAULT 'pending'
);
INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '1');
-- Older kilns kept a key for HMAC node tokens here; tokens are random now.
DELETE FROM meta WHERE key LIKE 'key:%';
`

// Open opens (creating when missing) the state file at path.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("no state file given")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the folder of the state file: %w", err)
	}
	// The file holds token and challenge hashes and the event log: the
	// server's user alone reads it. SQLite makes its -wal and -shm files
	// with the database file's mode, so the file is made 0600 before
	// SQLite first opens it, and files an older kiln left 0644 are fixed.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(p, 0o600)
		}
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
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(p, 0o600)
		}
	}
	s := &Store{path: path, read: read, write: write, ops: make(chan *op, 1024),
		quit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}), now: time.Now}
	fail := func(err error) (*Store, error) {
		s.closeStmts()
		read.Close()
		write.Close()
		return nil, fmt.Errorf("the state file %s cannot be used: %w", path, err)
	}
	for i, q := range eventQueries() {
		if s.events[i], err = read.Prepare(q); err != nil {
			return fail(err)
		}
	}
	if s.has, err = read.Prepare(`SELECT 1 FROM events WHERE seq=?`); err != nil {
		return fail(err)
	}
	ctx := context.Background()
	w, err := s.connect(ctx)
	if err != nil {
		return fail(err)
	}
	if err := w.refresh(ctx, s); err != nil {
		w.close()
		return fail(err)
	}
	go s.writer(w)
	return s, nil
}

func (s *Store) closeStmts() {
	for _, st := range s.events {
		if st != nil {
			st.Close()
		}
	}
	if s.has != nil {
		s.has.Close()
	}
}

// Path is the state file's path.
func (s *Store) Path() string { return s.path }

// Close finishes the writes already asked for (those queued without
// waiting too) and closes the file.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.quit)
		// Wait for writes being queued right now, so that the writer's
		// last drain finds every one that was taken.
		s.gate.Lock()
		s.ended = true
		s.gate.Unlock()
		close(s.stop)
		<-s.done
		s.closeStmts()
	})
	err1 := s.read.Close()
	err2 := s.write.Close()
	return errors.Join(err1, err2)
}

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// SetErrorLog sets where the errors of writes nobody waits for go (see
// Fetch); by default they are dropped.
func (s *Store) SetErrorLog(f func(error)) { s.onErr.Store(&f) }

func (s *Store) logErr(err error) {
	if f := s.onErr.Load(); f != nil && *f != nil {
		(*f)(err)
	}
}

// ErrClosed is returned for writes asked for after Close.
var ErrClosed = errors.New("the state file is closed")

// op is one write: fn runs inside the batch's transaction; when it fails,
// what it did is undone and the rest of the batch goes on. done is nil for
// a write nobody waits for.
type op struct {
	fn   func(t *tx) error
	done chan error
	// drop, when set, is called if the op is answered without fn having
	// run (its batch could not begin, or failed before reaching it).
	drop func()
	ran  bool // fn was called (the writer's)
}

// do runs fn in a transaction shared with the other writes of the moment
// and returns once that transaction is durably committed.
func (s *Store) do(ctx context.Context, fn func(t *tx) error) error {
	o := &op{fn: fn, done: make(chan error, 1)}
	if err := s.enqueue(ctx, o); err != nil {
		return err
	}
	// Once queued, an op is always run and answered, even if ctx ends:
	// the caller must not think an event was lost when it was written.
	return <-o.done
}

// queue hands fn to the writer and returns at once: it runs in the next
// batch, and an error it meets goes to the error log (SetErrorLog).
func (s *Store) queue(ctx context.Context, fn func(t *tx) error) error {
	return s.enqueue(ctx, &op{fn: fn})
}

func (s *Store) enqueue(ctx context.Context, o *op) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.ended {
		return ErrClosed
	}
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	select {
	case s.ops <- o:
		return nil
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns once every write asked for before it (those queued
// without waiting too) is on disk.
func (s *Store) Flush(ctx context.Context) error {
	return s.do(ctx, func(*tx) error { return nil })
}

const maxBatch = 512

// idlePoll is how often the idle writer looks whether another process
// has written the file.
const idlePoll = 250 * time.Millisecond

func (s *Store) writer(w *wconn) {
	defer close(s.done)
	ctx := context.Background()
	batch := make([]*op, 0, maxBatch)
	idle := time.NewTimer(idlePoll)
	defer idle.Stop()
	for {
		batch = batch[:0]
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-idle.C:
			if w == nil {
				w, _ = s.connect(ctx)
			}
			if w != nil {
				if err := w.refresh(ctx, s); err != nil {
					s.logErr(fmt.Errorf("state file %s: %w", s.path, err))
					w.close()
					w = nil
				}
			}
			idle.Reset(idlePoll)
			continue
		case <-s.stop:
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
				w = s.runBatch(ctx, w, batch)
			}
			if w != nil {
				w.close()
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
		if !waited(batch) {
			batch = s.linger(batch)
		}
		w = s.runBatch(ctx, w, batch)
		idle.Reset(idlePoll)
	}
}

// linger is how long a batch that nobody waits for (repeat fetches, see
// Fetch) stays open for more writes: a commit costs more than a row, and
// those writes are answered already.
const linger = 2 * time.Millisecond

func waited(batch []*op) bool {
	for _, o := range batch {
		if o.done != nil {
			return true
		}
	}
	return false
}

// linger adds to a batch nobody waits for the writes that arrive within
// the linger time (up to a full batch). It sleeps rather than waking for
// each write: a write that is waited for and arrives meanwhile waits for
// the rest of those 2 ms too.
func (s *Store) linger(batch []*op) []*op {
	time.Sleep(linger)
	for len(batch) < maxBatch {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// wconn is the writer's connection with its prepared statements, parsed
// once and kept as long as the connection.
type wconn struct {
	c       *sql.Conn
	stmts   map[string]*sql.Stmt
	version int64 // PRAGMA data_version when the node copy was last known exact
}

func (s *Store) connect(ctx context.Context) (*wconn, error) {
	c, err := s.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &wconn{c: c, stmts: map[string]*sql.Stmt{}, version: -1}, nil
}

// stmt is q prepared on this connection (q is always a constant of this
// package, so the map stays small).
func (w *wconn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.c.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = st
	return st, nil
}

func (w *wconn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (w *wconn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := w.stmt(ctx, q)
	if err != nil {
		// A Row that carries the error: prepare fails again the same way.
		return w.c.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (w *wconn) close() {
	for _, st := range w.stmts {
		st.Close()
	}
	w.c.Close()
}

// refresh reloads the node copy when another connection has written the
// file since it was last known exact. Outside a transaction it reads the
// version first, so a write in between only causes one more reload.
func (w *wconn) refresh(ctx context.Context, s *Store) error {
	var v int64
	if err := w.queryRow(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return err
	}
	if v == w.version {
		return nil
	}
	nodes, err := loadNodes(ctx, w)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.nodes = nodes
	s.mu.Unlock()
	w.version = v
	return nil
}

func loadNodes(ctx context.Context, w *wconn) (map[string]*Node, error) {
	st, err := w.stmt(ctx, `SELECT `+nodeCols+` FROM nodes`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Node{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		out[n.Name] = n
	}
	return out, rows.Err()
}

// tx is what an op works with: the batch's transaction. Node rows and
// events are kept in memory and written at the end of the batch (events
// with sequence numbers given out here, in order), so an op that fails
// leaves nothing to undo in SQL unless it ran SQL itself (Conn), which a
// savepoint then undoes.
type tx struct {
	s   *Store
	w   *wconn
	ctx context.Context
	now time.Time
	seq int64 // the last event sequence number given out

	events []Event
	nodes  map[string]*staged

	// the running op
	opSeq    int64
	opEvents []Event
	opNodes  map[string]*staged
	sp       bool // a savepoint is open for it
}

// staged is a node row changed in this batch.
type staged struct {
	n      Node
	insert bool // a new row
}

// node returns a copy of the named node as this op sees it.
func (t *tx) node(name string) (*Node, error) {
	if st, ok := t.opNodes[name]; ok {
		n := st.n
		return &n, nil
	}
	if st, ok := t.nodes[name]; ok {
		n := st.n
		return &n, nil
	}
	// Only the writer changes s.nodes, and this is the writer.
	if c, ok := t.s.nodes[name]; ok {
		n := *c
		return &n, nil
	}
	return nil, fmt.Errorf("%w %q in the state file", ErrUnknownNode, name)
}

func (t *tx) exists(name string) bool {
	_, err := t.node(name)
	return err == nil
}

// put stages n's row; insert says it is new.
func (t *tx) put(n *Node, insert bool) {
	c := *n
	// As the table gives them back.
	c.Since, c.WindowStart, c.InstallStarted, c.InstalledAt, c.LastEventAt =
		tm(ns(c.Since)), tm(ns(c.WindowStart)), tm(ns(c.InstallStarted)), tm(ns(c.InstalledAt)), tm(ns(c.LastEventAt))
	if prev, ok := t.opNodes[n.Name]; ok && prev.insert {
		insert = true
	} else if prev, ok := t.nodes[n.Name]; ok && prev.insert {
		insert = true
	}
	t.opNodes[n.Name] = &staged{n: c, insert: insert}
}

// event adds an event to the batch and returns its sequence number.
func (t *tx) event(e Event) int64 {
	t.seq++
	e.Seq, e.Time = t.seq, t.now
	t.opEvents = append(t.opEvents, e)
	return e.Seq
}

// Conn is the batch's connection, for an op that runs SQL itself.
func (t *tx) conn() (*wconn, error) {
	if !t.sp {
		if _, err := t.w.exec(t.ctx, "SAVEPOINT op"); err != nil {
			return nil, err
		}
		t.sp = true
	}
	return t.w, nil
}

// runBatch commits a batch, answering each op. It returns the connection
// to use next (nil when this one broke).
func (s *Store) runBatch(ctx context.Context, w *wconn, batch []*op) *wconn {
	answer := func(o *op, err error) {
		if !o.ran && o.drop != nil {
			o.drop()
		}
		if o.done != nil {
			o.done <- err
		} else if err != nil {
			s.logErr(err)
		}
	}
	fail := func(err error) *wconn {
		for _, o := range batch {
			answer(o, err)
		}
		if w != nil {
			w.close()
		}
		return nil
	}
	if w == nil {
		c, err := s.connect(ctx)
		if err != nil {
			return fail(fmt.Errorf("state file %s: %w", s.path, err))
		}
		w = c
	}
	if _, err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fail(fmt.Errorf("state file %s: cannot begin a write: %w", s.path, err))
	}
	rollback := func(err error) *wconn {
		w.exec(ctx, "ROLLBACK")
		return fail(err)
	}
	// Holding the write lock: the node copy is made exact if another
	// process wrote, and the event counter is read.
	if err := w.refresh(ctx, s); err != nil {
		return rollback(fmt.Errorf("state file %s: %w", s.path, err))
	}
	t := &tx{s: s, w: w, ctx: ctx, now: s.now(), nodes: map[string]*staged{}}
	if err := w.queryRow(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name='events'), 0)`).Scan(&t.seq); err != nil {
		return rollback(fmt.Errorf("state file %s: %w", s.path, err))
	}
	errs := make([]error, len(batch))
	for i, o := range batch {
		t.opSeq, t.opEvents, t.opNodes, t.sp = t.seq, t.opEvents[:0], map[string]*staged{}, false
		o.ran = true
		err := safeRun(o.fn, t)
		if err != nil {
			t.seq = t.opSeq
			if t.sp {
				if _, rerr := w.exec(ctx, "ROLLBACK TO op"); rerr != nil {
					return rollback(rerr)
				}
			}
		} else {
			t.events = append(t.events, t.opEvents...)
			for k, v := range t.opNodes {
				t.nodes[k] = v
			}
		}
		if t.sp {
			if _, rerr := w.exec(ctx, "RELEASE op"); rerr != nil {
				return rollback(rerr)
			}
		}
		errs[i] = err
	}
	if err := t.flush(); err != nil {
		return rollback(fmt.Errorf("state file %s: %w", s.path, err))
	}
	if _, err := w.exec(ctx, "COMMIT"); err != nil {
		return rollback(fmt.Errorf("state file %s: commit failed: %w", s.path, err))
	}
	if len(t.nodes) > 0 {
		s.mu.Lock()
		for k, st := range t.nodes {
			n := st.n
			s.nodes[k] = &n
		}
		s.mu.Unlock()
	}
	for i, o := range batch {
		answer(o, errs[i])
	}
	return w
}

// eventRows is how many events one INSERT writes.
const eventRows = 64

// eventInsert[k] inserts k events.
var eventInsert = func() (q [eventRows + 1]string) {
	for k := 1; k <= eventRows; k++ {
		q[k] = `INSERT INTO events(seq, at, node, kind, from_state, to_state, detail, actor, remote) VALUES(?,?,?,?,?,?,?,?,?)` +
			strings.Repeat(`,(?,?,?,?,?,?,?,?,?)`, k-1)
	}
	return q
}()

// flush writes the batch's events and node rows.
func (t *tx) flush() error {
	evs := t.events
	for len(evs) > 0 {
		k := min(len(evs), eventRows)
		if k < eventRows && k > 8 {
			k = 8 // a few statement sizes only: 64, 8 and 1..8
		}
		q := eventInsert[k]
		args := make([]any, 0, 9*k)
		for _, e := range evs[:k] {
			args = append(args, e.Seq, e.Time.UnixNano(), e.Node, e.Kind, e.From, e.To, e.Detail, e.Actor, e.Remote)
		}
		if _, err := t.w.exec(t.ctx, q, args...); err != nil {
			return err
		}
		evs = evs[k:]
	}
	for _, st := range t.nodes {
		n := &st.n
		var err error
		if st.insert {
			_, err = t.w.exec(t.ctx, `INSERT INTO nodes(name, state, reason, since, boots, window_start, install_started, installed_at, last_event, last_event_at, last_remote)
				VALUES(?,?,?,?,?,?,?,?,?,?,?)`,
				n.Name, n.State, n.Reason, ns(n.Since), n.Boots, ns(n.WindowStart), ns(n.InstallStarted), ns(n.InstalledAt), n.LastEvent, ns(n.LastEventAt), n.LastRemote)
		} else {
			_, err = t.w.exec(t.ctx, `UPDATE nodes SET state=?, reason=?, since=?, boots=?, window_start=?, install_started=?, installed_at=?,
				last_event=?, last_event_at=?, last_remote=? WHERE name=?`,
				n.State, n.Reason, ns(n.Since), n.Boots, ns(n.WindowStart), ns(n.InstallStarted), ns(n.InstalledAt),
				n.LastEvent, ns(n.LastEventAt), n.LastRemote, n.Name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func safeRun(fn func(*tx) error, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in a state write: %v", r)
		}
	}()
	return fn(t)
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

// Node returns a copy of a node's state as last committed; ok is false
// when the file has no such node.
func (s *Store) Node(ctx context.Context, name string) (*Node, bool, error) {
	s.mu.RLock()
	c, ok := s.nodes[name]
	var n Node
	if ok {
		n = *c
	}
	s.mu.RUnlock()
	if !ok {
		return nil, false, nil
	}
	return &n, true, nil
}

// Nodes returns a copy of every node, by name.
func (s *Store) Nodes(ctx context.Context) ([]*Node, error) {
	s.mu.RLock()
	out := make([]*Node, 0, len(s.nodes))
	all := make([]Node, len(s.nodes))
	i := 0
	for _, c := range s.nodes {
		all[i] = *c
		out = append(out, &all[i])
		i++
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Query selects events.
type Query struct {
	Node  string // only this node's events ("" for all)
	After int64  // only events with a larger sequence number
	Limit int    // at most this many, the most recent (0: all)
}

// eventQueries are Events' four queries, indexed [node given][limit given].
func eventQueries() [4]string {
	var out [4]string
	for i := range out {
		where := "seq > ?"
		if i&2 != 0 {
			where += " AND node = ?"
		}
		order := " ORDER BY seq ASC"
		if i&1 != 0 {
			order = " ORDER BY seq DESC LIMIT ?"
		}
		out[i] = `SELECT seq, at, node, kind, from_state, to_state, detail, actor, remote FROM events WHERE ` + where + order
	}
	return out
}

// Events returns events in sequence order.
func (s *Store) Events(ctx context.Context, q Query) ([]Event, error) {
	i, args := 0, []any{q.After}
	if q.Node != "" {
		i |= 2
		args = append(args, q.Node)
	}
	if q.Limit > 0 {
		i |= 1
		args = append(args, q.Limit)
	}
	rows, err := s.events[i].QueryContext(ctx, args...)
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
		slices.Reverse(out)
	}
	return out, nil
}

// HasEvents reports which of the given sequence numbers are in the log.
func (s *Store) HasEvents(ctx context.Context, seqs []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(seqs))
	for _, q := range seqs {
		var one int
		err := s.has.QueryRowContext(ctx, q).Scan(&one)
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
