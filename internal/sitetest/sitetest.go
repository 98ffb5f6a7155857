// Package sitetest holds what the validate and resolve tests share: a small
// valid site over the embedded tier3 design, ways to change one line of it,
// and a check that a run reports exactly the expected problems, each at its
// file:line:col with its "where" and the words of its message and fix.
package sitetest

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/validate"
)

// BaseSite is a small valid site over the embedded tier3 design. The cases
// below change one line of it (keeping line numbers) or add design files
// to the site folder, and expect the problem at an exact place.
//
// Lines: 1 cluster, 3 networks, 4 public, 5 private, 6 nodes, 8 head's entry,
// 9 puppet, 10 ldap, 11 proxy, 12 nfs, 13 interactive, 14 worker,
// 15 parameters, 16 base, 17 secrets, 18 site_secret, then the example's.
var BaseSite = `cluster: small
domain: example.org
networks:
  public: {cidr: 192.0.2.0/24, gateway: 192.0.2.1}
  private: {cidr: 10.1.0.0/24, gateway: head, domain: small.local}
nodes:
  head:
    - {name: head, ip: {public: 192.0.2.10, private: 10.1.0.1}, mac: {private: "52:54:00:00:00:01"}}
  puppet: [{name: puppet, ip: {private: 10.1.0.2}}]
  ldap: [{name: ldap, ip: {private: 10.1.0.3}}]
  proxy: [{name: proxy, ip: {private: 10.1.0.4}}]
  nfs: [{name: nfs, ip: {public: 192.0.2.11, private: 10.1.0.5}}]
  interactive: {count: 1, start: {public: 192.0.2.20, private: 10.1.0.20}}
  worker: {count: 3, start: {private: 10.1.0.101}, macs: ["52:54:00:00:01:01"]}
parameters:
  base: {timezone: Europe/Paris}
secrets:
  site_secret: {file: secrets/site_secret}
` + ExampleSecrets

// ExampleSecrets is the embedded example's list of secrets, which follows
// the design's: the tests need not change when the design needs a new one.
var ExampleSecrets = func() string {
	ex, _ := builtin.Example("tier3")
	b, _ := fs.ReadFile(ex, "site.yaml")
	_, after, _ := strings.Cut(string(b), "\nsecrets:\n")
	return after
}()

// FS is BaseSite with the given files replaced or added, and the
// example's secret files.
func FS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{"site.yaml": {Data: []byte(BaseSite)}, "secrets/site_secret": {Data: []byte("x\n"), Mode: 0o600}}
	ex, _ := builtin.Example("tier3")
	secrets, _ := fs.Glob(ex, "secrets/*")
	for _, s := range secrets {
		b, _ := fs.ReadFile(ex, s)
		fsys[s] = &fstest.MapFile{Data: b, Mode: 0o600}
	}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

// Edit replaces old (which must be in BaseSite) with new.
func Edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(BaseSite, old) {
		t.Fatalf("the base site has no %q", old)
	}
	return strings.Replace(BaseSite, old, new, 1)
}

// Problems loads, validates and resolves a site as kiln check does, and
// returns its errors (Warnings returns its warnings).
func Problems(t *testing.T, fsys fstest.MapFS) []diag.Diagnostic {
	t.Helper()
	var out []diag.Diagnostic
	for _, d := range check(fsys).Items() {
		if d.Severity == "" {
			out = append(out, d)
		}
	}
	return out
}

// Warnings loads, validates and resolves a site as kiln check does, and
// returns its warnings.
func Warnings(t *testing.T, fsys fstest.MapFS) []diag.Diagnostic {
	t.Helper()
	return check(fsys).Warnings()
}

func check(fsys fstest.MapFS) *diag.List {
	d, diags := load.FS(fsys, "site/")
	all := &diag.List{}
	all.Append(diags)
	if d != nil {
		all.Append(validate.Definitions(d))
		_, rd := resolve.Cluster(d)
		all.Append(rd)
	}
	return all
}

// Want is one expected problem: its exact place and "where", and words
// that its "what" and "fix" must contain.
type Want struct {
	Pos   string
	Where string
	What  []string
	Fix   []string
}

// Expect checks that got holds every wanted problem, and nothing else in
// the site's own files (the embedded design's files are not the subject).
func Expect(t *testing.T, got []diag.Diagnostic, wants ...Want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, d := range got {
			if used[i] || d.Pos.String() != w.Pos || d.Where != w.Where || !containsAll(d.What, w.What) || !containsAll(d.Fix, w.Fix) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("no problem at %s, where %q, saying %q, fixed by %q", w.Pos, w.Where, w.What, w.Fix)
		}
	}
	for i, d := range got {
		if !used[i] && (strings.HasPrefix(d.Pos.File, "site/") || d.Pos.File == "") {
			t.Errorf("unexpected problem: %s", d)
		}
	}
	if t.Failed() {
		for _, d := range got {
			t.Logf("got: %s", d)
		}
	}
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
