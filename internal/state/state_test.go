package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func open(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "kiln.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clock := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return clock })
	return s, &clock
}

func state(t *testing.T, s *Store, name string) *Node {
	t.Helper()
	n, ok, err := s.Node(context.Background(), name)
	if err != nil || !ok {
		t.Fatalf("node %s: ok=%v err=%v", name, ok, err)
	}
	return n
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	added, err := s.Sync(ctx, []string{"wn1", "wn2"})
	if err != nil || added != 2 {
		t.Fatalf("sync: %d %v", added, err)
	}
	if added, _ := s.Sync(ctx, []string{"wn1", "wn2", "wn3"}); added != 1 {
		t.Fatalf("second sync added %d, want 1", added)
	}
	p := Policy{MaxBoots: 3, Window: time.Hour}

	r, err := s.Boot(ctx, "wn1", "10.0.0.5", "mac 52:54:00:00:00:01", p)
	if err != nil || r.Mode != ModeInstall || r.Node.State != Booting || r.Node.Boots != 1 {
		t.Fatalf("first boot: %+v %v", r, err)
	}
	*clock = clock.Add(time.Minute)
	if r, err = s.Fetch(ctx, "wn1", "kickstart-wn1.cfg", "10.0.0.5", true); err != nil || r.Node.State != Installing {
		t.Fatalf("kickstart fetch: %+v %v", r, err)
	}
	// Puppet cannot report before the install is done.
	_, err = s.Report(ctx, "wn1", "configured", "10.0.0.5")
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("configured before installed: got %v, want a conflict", err)
	}
	*clock = clock.Add(9 * time.Minute)
	r, err = s.Report(ctx, "wn1", "installed", "10.0.0.5")
	if err != nil || r.Node.State != Installed || r.InstallTime != 9*time.Minute || r.Node.Boots != 0 {
		t.Fatalf("installed: %+v %v", r, err)
	}
	if r, _ = s.Boot(ctx, "wn1", "10.0.0.5", "", p); r.Mode != ModeLocal {
		t.Fatalf("boot after install: %s, want local", r.Mode)
	}
	for _, what := range []string{"puppet-signed", "configured"} {
		if r, err = s.Report(ctx, "wn1", what, ""); err != nil || r.Node.State != reports[what] {
			t.Fatalf("%s: %+v %v", what, r, err)
		}
	}
	if _, err := s.Report(ctx, "wn1", "rebooted", ""); err == nil {
		t.Fatal("an unknown report was taken")
	}
	if _, err := s.Report(ctx, "nosuch", "installed", ""); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("report for an unknown node: %v", err)
	}
	// An admin marks it; its next boot installs again.
	if r, err = s.Reinstall(ctx, "wn1", "root@head", "new disk"); err != nil || r.Node.State != NeedsReinstall {
		t.Fatalf("reinstall: %+v %v", r, err)
	}
	if r, _ = s.Boot(ctx, "wn1", "", "", p); r.Mode != ModeInstall {
		t.Fatalf("boot after reinstall: %s", r.Mode)
	}
	evs, err := s.Events(ctx, Query{Node: "wn1"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind+":"+e.To)
	}
	want := "added:planned state:booting boot:install state:installing fetch: report: state:installed boot:local report: state:puppet-signed report: state:configured admin: state:needs-reinstall state:booting boot:install"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	last, _ := s.Events(ctx, Query{Node: "wn1", Limit: 2})
	if len(last) != 2 || last[1].Seq != evs[len(evs)-1].Seq || last[0].Seq >= last[1].Seq {
		t.Fatalf("the last two events, oldest first: %+v", last)
	}
}

// A node that never reports back is held as failed after MaxBoots install
// boots, and stays held (no more installs) until an admin acts.
func TestFailedAfterBoots(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	s.Sync(ctx, []string{"wn1"})
	p := Policy{MaxBoots: 3, Window: time.Hour}
	for i := 1; i <= 3; i++ {
		r, err := s.Boot(ctx, "wn1", "", "", p)
		if err != nil || r.Mode != ModeInstall || r.Node.Boots != i {
			t.Fatalf("boot %d: %+v %v", i, r, err)
		}
		s.Fetch(ctx, "wn1", "kickstart-wn1.cfg", "", true)
		*clock = clock.Add(10 * time.Minute)
	}
	r, err := s.Boot(ctx, "wn1", "", "", p)
	if err != nil || r.Mode != ModeHeld || r.Node.State != Failed {
		t.Fatalf("fourth boot: %+v %v", r, err)
	}
	if !strings.Contains(r.Node.Reason, "3 times") || !strings.Contains(r.Node.Reason, "kiln reinstall wn1") {
		t.Fatalf("reason does not say what happened and what to do: %q", r.Node.Reason)
	}
	for i := 0; i < 5; i++ {
		if r, _ = s.Boot(ctx, "wn1", "", "", p); r.Mode != ModeHeld {
			t.Fatalf("a failed node was sent to install again: %s", r.Mode)
		}
	}
	if r, _ = s.Reinstall(ctx, "wn1", "root", ""); r.Node.State != NeedsReinstall || r.Node.Boots != 0 || r.Node.Reason != "" {
		t.Fatalf("reinstall did not clear the failure: %+v", r.Node)
	}
	if r, _ = s.Boot(ctx, "wn1", "", "", p); r.Mode != ModeInstall {
		t.Fatalf("after reinstall: %s", r.Mode)
	}
	// Boots spread wider than the window do not add up.
	s.Sync(ctx, []string{"wn2"})
	for i := 0; i < 10; i++ {
		if r, _ = s.Boot(ctx, "wn2", "", "", p); r.Mode != ModeInstall {
			t.Fatalf("boot %d, two hours apart: %s", i, r.Mode)
		}
		*clock = clock.Add(2 * time.Hour)
	}
	// A late "installed" from a failed node is believed.
	s.Sync(ctx, []string{"wn3"})
	for i := 0; i < 4; i++ {
		s.Boot(ctx, "wn3", "", "", p)
	}
	if r, err = s.Report(ctx, "wn3", "installed", ""); err != nil || r.Node.State != Installed {
		t.Fatalf("late installed: %+v %v", r, err)
	}
}

func TestEventLogIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	seq, err := s.Record(ctx, Event{Kind: KindServer, Detail: "started"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE events SET detail='x' WHERE seq=?`, `DELETE FROM events WHERE seq=?`} {
		err := s.do(ctx, func(t *tx) error {
			c, err := t.conn()
			if err != nil {
				return err
			}
			_, err = c.exec(t.ctx, q, seq)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The failed op was undone alone; the store still writes.
	if _, err := s.Record(ctx, Event{Kind: KindServer, Detail: "still here"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, Event{}); err == nil {
		t.Fatal("an event without a kind was taken")
	}
}

// Concurrent writers share transactions, and each is answered with its
// own event; none is lost or duplicated.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var names []string
	for i := 0; i < 300; i++ {
		names = append(names, fmt.Sprintf("n%d", i))
	}
	if _, err := s.Sync(ctx, names); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seqs := map[int64]string{}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Boot(ctx, n, "", "", DefaultPolicy)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := seqs[r.Seq]; dup {
				t.Errorf("event %d given to %s and %s", r.Seq, other, n)
			}
			seqs[r.Seq] = n
		}()
	}
	wg.Wait()
	evs, _ := s.Events(ctx, Query{})
	byseq := map[int64]Event{}
	for _, e := range evs {
		byseq[e.Seq] = e
	}
	for q, n := range seqs {
		if e := byseq[q]; e.Node != n || e.Kind != KindBoot {
			t.Errorf("event %d: %+v, want %s's boot", q, e, n)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, _ := s.Nodes(ctx)
	for _, n := range nodes {
		if n.State != Booting {
			t.Errorf("%s is %s", n.Name, n.State)
		}
	}
}

func TestReopenAndClose(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "sub", "kiln.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	s.Sync(ctx, []string{"a"})
	s.Close()
	if _, err := s.Record(ctx, Event{Kind: KindServer}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	s, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := state(t, s, "a"); n.State != Planned {
		t.Fatalf("after reopen: %+v", n)
	}
	if _, err := Open(""); err == nil {
		t.Fatal("an empty path was taken")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x", "\x00")); err == nil {
		t.Fatal("a bad path was taken")
	}
}

// table reads the nodes table itself, by name.
func table(t *testing.T, s *Store) []*Node {
	t.Helper()
	rows, err := s.read.Query(`SELECT ` + nodeCols + ` FROM nodes ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// sameAsTable fails unless the in-memory copy (Nodes, Node) equals the
// nodes table.
func sameAsTable(t *testing.T, s *Store, when string) {
	t.Helper()
	got, _ := s.Nodes(context.Background())
	want := table(t, s)
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w *Node
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("%s: the in-memory copy differs from the table:\n copy  %+v\n table %+v", when, g, w)
			}
		}
	}
	for _, w := range want {
		if n, ok, _ := s.Node(context.Background(), w.Name); !ok || !reflect.DeepEqual(n, w) {
			t.Fatalf("%s: Node(%s) = %+v, the table has %+v", when, w.Name, n, w)
		}
	}
}

// The in-memory copy of the nodes table equals the table after every kind
// of write, after writes that fail alone, and after a batch that fails
// whole and is rolled back.
func TestNodeCacheFollowsCommits(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	p := Policy{MaxBoots: 2, Window: time.Hour}
	names := []string{"a", "b", "c", "d"}
	if _, err := s.Sync(ctx, names); err != nil {
		t.Fatal(err)
	}
	sameAsTable(t, s, "after sync")
	steps := []struct {
		what string
		do   func() error
	}{
		{"boot a", func() error { _, err := s.Boot(ctx, "a", "10.0.0.1", "mac", p); return err }},
		{"kickstart a", func() error { _, err := s.Fetch(ctx, "a", "kickstart-a.cfg", "10.0.0.1", true); return err }},
		{"kickstart a again", func() error { _, err := s.Fetch(ctx, "a", "kickstart-a.cfg", "10.0.0.9", true); return err }},
		{"other file of b", func() error { _, err := s.Fetch(ctx, "b", "b.yaml", "10.0.0.2", false); return err }},
		{"installed a", func() error { _, err := s.Report(ctx, "a", "installed", "10.0.0.1"); return err }},
		{"configured b (refused)", func() error {
			if _, err := s.Report(ctx, "b", "configured", ""); err == nil {
				return errors.New("taken")
			}
			return nil
		}},
		{"boot b thrice (held)", func() error {
			for range 3 {
				if _, err := s.Boot(ctx, "b", "", "", p); err != nil {
					return err
				}
			}
			return nil
		}},
		{"fail c", func() error { _, err := s.Fail(ctx, "c", "disk", "10.0.0.3"); return err }},
		{"reinstall b", func() error { _, err := s.Reinstall(ctx, "b", "root", "why"); return err }},
		{"unknown node", func() error {
			if _, err := s.Boot(ctx, "nosuch", "", "", p); !errors.Is(err, ErrUnknownNode) {
				return fmt.Errorf("got %v", err)
			}
			return nil
		}},
		{"sync e", func() error { _, err := s.Sync(ctx, []string{"a", "e"}); return err }},
		{"record", func() error { _, err := s.Record(ctx, Event{Kind: KindServer}); return err }},
	}
	for _, st := range steps {
		*clock = clock.Add(time.Minute)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		sameAsTable(t, s, st.what)
	}

	// Many writers at once, queued and waited for, in shared batches.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := names[i%len(names)]
			switch i % 4 {
			case 0:
				s.Boot(ctx, n, "", "", DefaultPolicy)
			case 1:
				s.Fetch(ctx, n, "kickstart-"+n+".cfg", "", true)
			case 2:
				s.Fetch(ctx, n, n+".yaml", "", false)
			case 3:
				s.Report(ctx, n, "installed", "")
			}
		}()
	}
	wg.Wait()
	s.Flush(ctx)
	sameAsTable(t, s, "after concurrent writes")

	// A batch that fails whole: its op changes a node, then its events
	// cannot be written (a row already has their number), so the commit
	// is rolled back; the copy must not keep the change.
	before := table(t, s)
	err := s.do(ctx, func(tx *tx) error {
		n, err := tx.node("d")
		if err != nil {
			return err
		}
		n.State, n.Boots = Installing, 42
		tx.put(n, false)
		c, err := tx.conn()
		if err != nil {
			return err
		}
		if _, err := c.exec(tx.ctx, `INSERT INTO events(seq, at, kind) VALUES(?, 0, 'x')`, tx.seq+1); err != nil {
			return err
		}
		tx.event(Event{Node: "d", Kind: KindState, To: Installing})
		return nil
	})
	if err == nil {
		t.Fatal("the batch with a clashing event number committed")
	}
	if after := table(t, s); !reflect.DeepEqual(before, after) {
		t.Fatal("the failed batch changed the table")
	}
	sameAsTable(t, s, "after a failed batch")
	if n, _, _ := s.Node(ctx, "d"); n.Boots == 42 {
		t.Fatal("the copy kept a change of a failed batch")
	}
	// And the store still writes.
	if _, err := s.Boot(ctx, "d", "", "", DefaultPolicy); err != nil {
		t.Fatal(err)
	}
	sameAsTable(t, s, "after a write following the failed batch")
}

// Another process writing the file (kiln reinstall beside kiln serve) is
// seen: by the next write at once, by reads within the idle poll.
func TestNodeCacheSeesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "kiln.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Sync(ctx, []string{"a", "b"})
	s.Boot(ctx, "a", "", "", DefaultPolicy)
	s.Fetch(ctx, "a", "kickstart-a.cfg", "", true)
	s.Report(ctx, "a", "installed", "")

	other, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Reinstall(ctx, "a", "root", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Sync(ctx, []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	other.Close()

	deadline := time.Now().Add(5 * time.Second)
	for {
		n, ok, _ := s.Node(ctx, "a")
		if ok && n.State == NeedsReinstall {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a is still %+v in the copy, 5 s after another process marked it", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sameAsTable(t, s, "after another process wrote")
	// A write right after another process's: it works on the file's rows.
	other, _ = Open(p)
	other.Fail(ctx, "b", "bad disk", "")
	other.Close()
	if r, err := s.Boot(ctx, "b", "", "", DefaultPolicy); err != nil || r.Mode != ModeHeld {
		t.Fatalf("boot of b after another process failed it: %+v %v", r, err)
	}
	if r, err := s.Boot(ctx, "c", "", "", DefaultPolicy); err != nil || r.Mode != ModeInstall {
		t.Fatalf("boot of c, added by another process: %+v %v", r, err)
	}
	sameAsTable(t, s, "after writes on both sides")
	// Event numbers continue after the other process's.
	evs, _ := s.Events(ctx, Query{})
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("event numbers jump: %d then %d", evs[i-1].Seq, evs[i].Seq)
		}
	}
}

// A fetch that changes no state is answered before its event is written,
// without a sequence number; the event is in the log after the next batch.
// The first kickstart fetch, which moves the node to installing, waits.
func TestRepeatFetchIsQueued(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	s.Sync(ctx, []string{"a"})
	s.Boot(ctx, "a", "", "", DefaultPolicy)
	r, err := s.Fetch(ctx, "a", "kickstart-a.cfg", "10.0.0.1", true)
	if err != nil || r.Queued || r.Seq == 0 || r.Node.State != Installing {
		t.Fatalf("first kickstart fetch: %+v %v", r, err)
	}
	started := r.Node.InstallStarted
	if evs, _ := s.Events(ctx, Query{After: r.Seq - 1}); len(evs) != 1 || evs[0].Kind != KindFetch {
		t.Fatalf("the first fetch was answered before its event was written: %+v", evs)
	}
	*clock = clock.Add(time.Minute)
	for i, f := range []struct {
		path string
		ks   bool
	}{{"kickstart-a.cfg", true}, {"a.yaml", false}} {
		r, err = s.Fetch(ctx, "a", f.path, "10.0.0.2", f.ks)
		if err != nil || !r.Queued || r.Seq != 0 || r.Node.State != Installing {
			t.Fatalf("repeat fetch %d: %+v %v", i, r, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Events(ctx, Query{Node: "a"})
	var got []string
	for _, e := range evs {
		got = append(got, e.Kind+":"+e.Detail)
	}
	if want := "added:in the site, not yet installed state:served an install boot script boot:install (boot 1 of 3) state:fetched its kickstart fetch:kickstart-a.cfg fetch:kickstart-a.cfg fetch:a.yaml"; strings.Join(got, " ") != want {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	n := state(t, s, "a")
	if n.State != Installing || !n.InstallStarted.Equal(started) || n.LastRemote != "10.0.0.2" {
		t.Fatalf("after the repeats: %+v (install started %v)", n, started)
	}
	// Nothing queued is lost on Close.
	s.Fetch(ctx, "a", "a.yaml", "", false)
	s.Close()
	s2, err := Open(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if evs2, _ := s2.Events(ctx, Query{Node: "a"}); len(evs2) != len(evs)+1 {
		t.Fatalf("%d events after Close, want %d", len(evs2), len(evs)+1)
	}
}

// Close while writes are being asked for: every write that was taken (its
// call returned no error), waited for or not, is in the file afterwards.
func TestCloseKeepsEveryTakenWrite(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "kiln.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	s.Sync(ctx, []string{"a"})
	s.Boot(ctx, "a", "", "", DefaultPolicy)
	s.Fetch(ctx, "a", "kickstart-a.cfg", "", true)
	var taken atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				if i%5 == 0 {
					_, err = s.Record(ctx, Event{Kind: KindServer, Detail: fmt.Sprint(g, i)})
				} else {
					_, err = s.Fetch(ctx, "a", "a.yaml", "", false)
				}
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				taken.Add(1)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	s.Close()
	wg.Wait()
	s, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, _ := s.Events(ctx, Query{})
	n := 0
	for _, e := range evs {
		switch {
		case e.Kind == KindServer:
			n++
		case e.Kind == KindFetch && e.Detail != "kickstart-a.cfg":
			n += FetchTimes(e.Detail)
		}
	}
	if int64(n) != taken.Load() {
		t.Fatalf("%d writes were taken, %d are in the file", taken.Load(), n)
	}
	t.Logf("%d writes taken before Close", n)
}

// A node fetching the same file again and again costs one event a batch,
// which counts the fetches; none is lost.
func TestRepeatFetchesAreCountedInOneEvent(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	s.Sync(ctx, []string{"a"})
	s.Boot(ctx, "a", "", "", DefaultPolicy)
	if _, err := s.Fetch(ctx, "a", "kickstart-a.cfg", "", true); err != nil {
		t.Fatal(err)
	}
	const n = 500
	for range n {
		if r, err := s.Fetch(ctx, "a", "a.yaml", "10.0.0.1", false); err != nil || !r.Queued {
			t.Fatalf("%+v %v", r, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Events(ctx, Query{Node: "a"})
	rows, times := 0, 0
	for _, e := range evs {
		if e.Kind == KindFetch && strings.HasPrefix(e.Detail, "a.yaml") {
			rows++
			times += FetchTimes(e.Detail)
		}
	}
	if times != n || rows > n/2 {
		t.Fatalf("%d fetches logged as %d events counting %d", n, rows, times)
	}
	if FetchTimes("a.yaml") != 1 || FetchTimes("a.yaml (7 times)") != 7 || FetchTimes("odd (name) (x times)") != 1 {
		t.Error("FetchTimes misreads a detail")
	}
}

// A repeat fetch counted into a fetch whose op could not be queued (its
// caller's context ended while the queue was full, or Close began) must
// not be answered as taken and then never written: every fetch whose call
// returned no error is in the log.
func TestRepeatFetchIsNotLostWhenTheFirstOneCannotBeQueued(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	s.Sync(ctx, []string{"a"})
	s.Boot(ctx, "a", "", "", DefaultPolicy)
	if _, err := s.Fetch(ctx, "a", "kickstart-a.cfg", "", true); err != nil {
		t.Fatal(err)
	}
	// Hold the writer in a batch and fill the queue behind it.
	started, release := make(chan struct{}), make(chan struct{})
	if err := s.queue(ctx, func(*tx) error { close(started); <-release; return nil }); err != nil {
		t.Fatal(err)
	}
	<-started
	for len(s.ops) < cap(s.ops) {
		if err := s.queue(ctx, func(*tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// The first fetch waits for room in the queue.
	actx, cancel := context.WithCancel(ctx)
	aErr := make(chan error, 1)
	go func() {
		_, err := s.Fetch(actx, "a", "a.yaml", "10.0.0.1", false)
		aErr <- err
	}()
	k := repeat{"a", "a.yaml", "10.0.0.1", false}
	for {
		s.repeatMu.Lock()
		_, ok := s.repeats[k]
		s.repeatMu.Unlock()
		if ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// A repeat of it arrives meanwhile.
	bErr := make(chan error, 1)
	go func() {
		_, err := s.Fetch(ctx, "a", "a.yaml", "10.0.0.1", false)
		bErr <- err
	}()
	select {
	case <-bErr:
		bErr <- nil // answered at once (counted into the first)
	case <-time.After(100 * time.Millisecond):
	}
	// The first gives up.
	cancel()
	if err := <-aErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first fetch: %v", err)
	}
	close(release)
	taken := 0
	if err := <-bErr; err == nil {
		taken++
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Events(ctx, Query{Node: "a"})
	logged := 0
	for _, e := range evs {
		if e.Kind == KindFetch && strings.HasPrefix(e.Detail, "a.yaml") {
			logged += FetchTimes(e.Detail)
		}
	}
	if logged != taken {
		t.Fatalf("%d fetches were taken (answered without error), %d are in the log", taken, logged)
	}
}

// A queued fetch whose batch cannot even begin (the file is locked by
// another process for longer than the busy timeout) is lost, with an error
// in the log; but the same node fetching the same file afterwards must be
// logged again, not counted into the op that was dropped.
func TestRepeatFetchIsLoggedAfterABatchThatCouldNotBegin(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	s.Sync(ctx, []string{"a"})
	s.Boot(ctx, "a", "", "", DefaultPolicy)
	if _, err := s.Fetch(ctx, "a", "kickstart-a.cfg", "", true); err != nil {
		t.Fatal(err)
	}
	// A short busy timeout on the writer's connection, and another
	// connection holding the write lock.
	if err := s.do(ctx, func(t *tx) error {
		c, err := t.conn()
		if err != nil {
			return err
		}
		_, err = c.exec(t.ctx, `PRAGMA busy_timeout=100`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 10)
	s.SetErrorLog(func(err error) { failed <- err })
	if r, err := s.Fetch(ctx, "a", "a.yaml", "10.0.0.1", false); err != nil || !r.Queued {
		t.Fatalf("%+v %v", r, err)
	}
	select {
	case err := <-failed:
		t.Logf("the locked batch failed: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the batch did not fail while the file was locked")
	}
	if _, err := lock.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	// The file is free again: this fetch must be logged.
	if r, err := s.Fetch(ctx, "a", "a.yaml", "10.0.0.1", false); err != nil || !r.Queued {
		t.Fatalf("%+v %v", r, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Events(ctx, Query{Node: "a"})
	logged := 0
	for _, e := range evs {
		if e.Kind == KindFetch && strings.HasPrefix(e.Detail, "a.yaml") {
			logged += FetchTimes(e.Detail)
		}
	}
	if logged != 1 {
		t.Fatalf("%d fetches of a.yaml logged after the file was free again, want 1", logged)
	}
}
