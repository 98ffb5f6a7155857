package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
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
		err := s.do(ctx, func(c *sql.Conn, _ time.Time) error {
			_, err := c.ExecContext(ctx, q, seq)
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
	k1, err := s.Key(ctx, "node-token")
	if err != nil || len(k1) != 64 {
		t.Fatalf("key: %q %v", k1, err)
	}
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
	k2, _ := s.Key(ctx, "node-token")
	if string(k1) != string(k2) {
		t.Fatal("the key changed across a reopen")
	}
	if _, err := Open(""); err == nil {
		t.Fatal("an empty path was taken")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x", "\x00")); err == nil {
		t.Fatal("a bad path was taken")
	}
}
