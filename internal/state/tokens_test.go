package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func isTokenErr(err error) bool { var te *TokenError; return errors.As(err, &te) }

// A token is minted by each install boot, works for that install only,
// and is void once the node reports, after its time, and after reinstall.
func TestInstallTokenIsPerInstallAndVoidAfterUse(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	s.Sync(ctx, []string{"a", "b"})
	p := Policy{MaxBoots: 3, Window: time.Hour, TokenTTL: time.Hour}
	r1, err := s.Boot(ctx, "a", "10.0.0.1", "", p)
	if err != nil || len(r1.Token) != 64 {
		t.Fatalf("boot: %+v %v", r1, err)
	}
	r2, _ := s.Boot(ctx, "a", "10.0.0.1", "", p)
	if r2.Token == r1.Token {
		t.Fatal("two install boots got the same token")
	}
	if _, err := s.Secret(ctx, "a", "kickstart-a.cfg", r1.Token, "10.0.0.1", true); !isTokenErr(err) {
		t.Fatalf("the first boot's token after a second boot: %v", err)
	}
	rb, _ := s.Boot(ctx, "b", "10.0.0.2", "", p)
	if _, err := s.Secret(ctx, "a", "kickstart-a.cfg", rb.Token, "10.0.0.1", true); !isTokenErr(err) {
		t.Fatalf("b's token for a's kickstart: %v", err)
	}
	// Nothing of the token is in the file but its hash.
	raw, _ := os.ReadFile(s.Path())
	wal, _ := os.ReadFile(s.Path() + "-wal")
	if strings.Contains(string(raw)+string(wal), r2.Token) {
		t.Fatal("the token itself is in the state file")
	}
	if _, err := s.Secret(ctx, "a", "kickstart-a.cfg", r2.Token, "10.0.0.1", true); err != nil {
		t.Fatal(err)
	}
	if st := state(t, s, "a"); st.State != Installing {
		t.Fatalf("after the kickstart: %s", st.State)
	}
	// Once per token.
	var se *ServedError
	if _, err := s.Secret(ctx, "a", "kickstart-a.cfg", r2.Token, "10.0.0.1", true); !errors.As(err, &se) {
		t.Fatalf("the kickstart a second time: %v", err)
	}
	if _, err := s.Callback(ctx, "a", r2.Token, "installed", "", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	// Void after use: no second report, no file, not even after a reinstall.
	if _, err := s.Callback(ctx, "a", r2.Token, "failed", "x", "10.0.0.1"); !isTokenErr(err) {
		t.Fatalf("a report with the used token: %v", err)
	}
	s.Reinstall(ctx, "a", "root", "")
	for _, tok := range []string{r1.Token, r2.Token} {
		if _, err := s.Callback(ctx, "a", tok, "installed", "", "10.0.0.1"); !isTokenErr(err) {
			t.Fatalf("an old token after reinstall: %v", err)
		}
	}
	if st := state(t, s, "a"); st.State != NeedsReinstall {
		t.Fatalf("a is %s", st.State)
	}
	// Expiry.
	r3, _ := s.Boot(ctx, "a", "10.0.0.1", "", p)
	*clock = clock.Add(time.Hour)
	if _, err := s.Secret(ctx, "a", "kickstart-a.cfg", r3.Token, "10.0.0.1", true); !isTokenErr(err) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v", err)
	}
	if _, err := s.Callback(ctx, "a", r3.Token, "installed", "", "10.0.0.1"); !isTokenErr(err) {
		t.Fatalf("a report with an expired token: %v", err)
	}
	// Held as failed: void.
	r4, _ := s.Boot(ctx, "b", "10.0.0.2", "", Policy{MaxBoots: 1, Window: time.Hour})
	s.Boot(ctx, "b", "10.0.0.2", "", Policy{MaxBoots: 1, Window: time.Hour})
	if st := state(t, s, "b"); st.State != Failed {
		t.Fatalf("b is %s", st.State)
	}
	if _, err := s.Callback(ctx, "b", r4.Token, "installed", "", ""); !isTokenErr(err) {
		t.Fatalf("a held node's token: %v", err)
	}
}

// The Puppet challenge: minted once per install token, used once.
func TestChallengeOnceAndUsedOnce(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	s.Sync(ctx, []string{"a"})
	r, _ := s.Boot(ctx, "a", "", "", DefaultPolicy)
	ch, _, err := s.Challenge(ctx, "a", r.Token, "", time.Hour)
	if err != nil || len(ch) != 64 {
		t.Fatalf("challenge: %q %v", ch, err)
	}
	var se *ServedError
	if _, _, err := s.Challenge(ctx, "a", r.Token, "", time.Hour); !errors.As(err, &se) {
		t.Fatalf("a second challenge with one token: %v", err)
	}
	if _, err := s.Callback(ctx, "a", r.Token, "installed", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseChallenge(ctx, "a", strings.Repeat("0", 64), ""); !isTokenErr(err) {
		t.Fatalf("a wrong challenge: %v", err)
	}
	if _, err := s.LateReport(ctx, "a", "configured", "nope", ""); !isTokenErr(err) {
		t.Fatalf("a late report with a wrong challenge: %v", err)
	}
	if r, err := s.UseChallenge(ctx, "a", ch, ""); err != nil || r.Node.State != PuppetSigned {
		t.Fatalf("autosign: %+v %v", r, err)
	}
	if _, err := s.UseChallenge(ctx, "a", ch, ""); !isTokenErr(err) || !strings.Contains(err.Error(), "used already") {
		t.Fatalf("the challenge a second time: %v", err)
	}
	if r, err := s.LateReport(ctx, "a", "configured", ch, ""); err != nil || r.Node.State != Configured {
		t.Fatalf("configured: %+v %v", r, err)
	}
	*clock = clock.Add(2 * time.Hour)
	if _, err := s.LateReport(ctx, "a", "configured", ch, ""); !isTokenErr(err) {
		t.Fatalf("an expired challenge: %v", err)
	}
	s.Reinstall(ctx, "a", "root", "")
	if _, err := s.LateReport(ctx, "a", "configured", ch, ""); !isTokenErr(err) {
		t.Fatalf("the old challenge after reinstall: %v", err)
	}
}

func TestPendingListIsBounded(t *testing.T) {
	ctx := context.Background()
	s, clock := open(t)
	for i := 0; i < MaxPending+20; i++ {
		*clock = clock.Add(time.Second)
		if _, err := s.NotePending(ctx, "02:00:00:00:"+string("0123456789abcdef"[i/256%16])+string("0123456789abcdef"[i/16%16])+":"+string("0123456789abcdef"[i%16])+"0", "10.0.0.9", "worker"); err != nil {
			t.Fatal(err)
		}
	}
	*clock = clock.Add(time.Second)
	p, _ := s.NotePending(ctx, "02:00:00:00:ff:f0", "10.0.0.9", "")
	p, _ = s.NotePending(ctx, "02:00:00:00:ff:f0", "10.0.0.8", "")
	if p.Seen != 2 || p.Remote != "10.0.0.8" || p.Status != "pending" {
		t.Fatalf("%+v", p)
	}
	list, err := s.PendingList(ctx)
	if err != nil || len(list) != MaxPending {
		t.Fatalf("%d entries, %v", len(list), err)
	}
	if err := s.SettlePending(ctx, "02:00:00:00:ff:f0", false, "", "root"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.PendingList(ctx); list[0].Status != "rejected" {
		t.Fatalf("%+v", list[0])
	}
	if err := s.SettlePending(ctx, "02:00:00:00:ff:f0", true, "", "root"); err != nil {
		t.Fatal(err)
	}
	if err := s.SettlePending(ctx, "02:00:00:00:ff:f0", true, "", "root"); !errors.Is(err, ErrNotPending) {
		t.Fatalf("%v", err)
	}
}

func TestPruneAndModes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A file an older kiln left readable by all.
	p := filepath.Join(dir, "kiln.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return clock })
	for i := 0; i < 10; i++ {
		s.Record(ctx, Event{Kind: KindUnknown, Detail: "x"})
		clock = clock.Add(time.Hour)
	}
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
	}
	n, err := s.Prune(ctx, time.Date(2025, 1, 1, 4, 30, 0, 0, time.UTC), "root")
	if err != nil || n != 5 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	evs, _ := s.Events(ctx, Query{})
	if len(evs) != 6 || !strings.Contains(evs[5].Detail, "pruned 5 events") {
		t.Fatalf("%+v", evs)
	}
	// Still append-only outside Prune.
	if err := s.do(ctx, func(t *tx) error {
		c, err := t.conn()
		if err != nil {
			return err
		}
		_, err = c.exec(t.ctx, `DELETE FROM events`)
		return err
	}); err == nil {
		t.Fatal("the events table took a DELETE")
	}
	s.Close()
	os.Chmod(p, 0o644)
	os.WriteFile(p+"-wal", nil, 0o644)
	s, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range []string{p, p + "-wal"} {
		if st, err := os.Stat(f); err == nil && st.Mode().Perm() != 0o600 {
			t.Fatalf("%s left %v", f, st.Mode())
		}
	}
}

// The HMAC key an older kiln kept in the file (it derived every node's
// token) is gone once this kiln opens it.
func TestOldTokenKeyIsRemoved(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "kiln.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	put := func(t *tx) error {
		c, err := t.conn()
		if err != nil {
			return err
		}
		_, err = c.exec(t.ctx, `INSERT INTO meta(key, value) VALUES('key:node-token', 'secretsecret')`)
		return err
	}
	if err := s.do(ctx, put); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key LIKE 'key:%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d old keys left: %v", n, err)
	}
}
