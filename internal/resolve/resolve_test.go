package resolve_test

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

// The helpers below are those of package validate's tests: the two stages
// are tested over the same small site.

// baseSite is a small valid site over the embedded tier3 design. The cases
// below change one line of it (keeping line numbers) or add design files
// to the site folder, and expect the problem at an exact place.
//
// Lines: 1 cluster, 3 networks, 4 public, 5 private, 6 nodes, 8 head's entry,
// 9 puppet, 10 ldap, 11 proxy, 12 nfs, 13 interactive, 14 worker,
// 15 parameters, 16 base, 17 secrets, 18 site_secret, then the example's.
var baseSite = `cluster: small
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
` + exampleSecrets

// exampleSecrets is the embedded example's list of secrets, which follows
// the design's: the tests need not change when the design needs a new one.
var exampleSecrets = func() string {
	ex, _ := builtin.Example("tier3")
	b, _ := fs.ReadFile(ex, "site.yaml")
	_, after, _ := strings.Cut(string(b), "\nsecrets:\n")
	return after
}()

// siteFS is baseSite with the given files replaced or added, and the
// example's secret files.
func siteFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{"site.yaml": {Data: []byte(baseSite)}, "secrets/site_secret": {Data: []byte("x\n"), Mode: 0o600}}
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

// edit replaces old (which must be in baseSite) with new.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(baseSite, old) {
		t.Fatalf("the base site has no %q", old)
	}
	return strings.Replace(baseSite, old, new, 1)
}

// problems loads, validates and resolves a site as kiln check does.
func problems(t *testing.T, fsys fstest.MapFS) []diag.Diagnostic {
	t.Helper()
	d, diags := load.FS(fsys, "site/")
	all := &diag.List{}
	all.Append(diags)
	if d != nil {
		all.Append(validate.Definitions(d))
		_, rd := resolve.Cluster(d)
		all.Append(rd)
	}
	return all.Items()
}

// want is one expected problem: its exact place and "where", and words
// that its "what" and "fix" must contain.
type want struct {
	pos   string
	where string
	what  []string
	fix   []string
}

// expect checks that got holds every wanted problem, and nothing else in
// the site's own files (the embedded design's files are not the subject).
func expect(t *testing.T, got []diag.Diagnostic, wants ...want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, d := range got {
			if used[i] || d.Pos.String() != w.pos || d.Where != w.where || !containsAll(d.What, w.what) || !containsAll(d.Fix, w.fix) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("no problem at %s, where %q, saying %q, fixed by %q", w.pos, w.where, w.what, w.fix)
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

// TestResolveMistakes: the problems that show only once counts are
// expanded into nodes and addresses allocated.
func TestResolveMistakes(t *testing.T) {
	cases := []struct {
		name string
		site func(t *testing.T) string
		want []want
	}{{
		name: "two nodes with one name",
		site: func(t *testing.T) string { return edit(t, "{name: ldap, ip:", "{name: puppet, ip:") },
		want: []want{
			{pos: "site/site.yaml:10:10", where: "node puppet", what: []string{"the name puppet is also used by a node of role puppet (site/site.yaml:9:12)"}, fix: []string{"give each node its own name"}},
		},
	}, {
		name: "a listed name that a count also makes",
		site: func(t *testing.T) string { return edit(t, "{name: nfs, ip:", "{name: int1, ip:") },
		want: []want{
			{pos: "site/site.yaml:13:16", where: "node int1", what: []string{"the name int1 is also used by a node of role nfs (site/site.yaml:12:9)"}},
		},
	}, {
		name: "two nodes with one address",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.2}") },
		want: []want{
			{pos: "site/site.yaml:10:37", where: "node ldap", what: []string{"address 10.1.0.2 on private is already node puppet's (site/site.yaml:9:41)"}, fix: []string{"give each node its own address"}},
		},
	}, {
		name: "address of the network",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.0}") },
		want: []want{
			{pos: "site/site.yaml:10:37", where: "node ldap", what: []string{"address 10.1.0.0 on private is already the network's own address (site/site.yaml:5:19)"}},
		},
	}, {
		name: "broadcast address",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.255}") },
		want: []want{
			{pos: "site/site.yaml:10:37", where: "node ldap", what: []string{"already the network's broadcast address"}},
		},
	}, {
		name: "gateway address",
		site: func(t *testing.T) string {
			return edit(t, "{public: 192.0.2.11, private:", "{public: 192.0.2.1, private:")
		},
		want: []want{
			{pos: "site/site.yaml:12:34", where: "node nfs", what: []string{"address 192.0.2.1 on public is already the network's gateway (site/site.yaml:4:41)"}},
		},
	}, {
		name: "address outside its network",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.2.0.3}") },
		want: []want{
			{pos: "site/site.yaml:10:37", where: "node ldap", what: []string{"address 10.2.0.3 is outside the private network 10.1.0.0/24"}, fix: []string{"use an address within 10.1.0.0/24"}},
		},
	}, {
		name: "start address outside its network",
		site: func(t *testing.T) string {
			return edit(t, "start: {private: 10.1.0.101}", "start: {private: 10.2.0.101}")
		},
		want: []want{
			{pos: "site/site.yaml:14:39", where: "role worker", what: []string{"address 10.2.0.101 is outside the private network 10.1.0.0/24"}},
		},
	}, {
		name: "count larger than the free addresses",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: 200,") },
		want: []want{
			{pos: "site/site.yaml:14:12", where: "role worker", what: []string{"count 200 needs 200 addresses on private from 10.1.0.101, but only 154 are free up to the end of 10.1.0.0/24"}, fix: []string{"lower count", "widen the network"}},
		},
	}, {
		name: "count that fits only without the addresses others took",
		site: func(t *testing.T) string {
			s := edit(t, "worker: {count: 3,", "worker: {count: 154,")
			return strings.Replace(s, "{name: ldap, ip: {private: 10.1.0.3}}", "{name: ldap, ip: {private: 10.1.0.200}}", 1)
		},
		want: []want{
			{pos: "site/site.yaml:14:12", where: "role worker", what: []string{"count 154 needs 154 addresses", "only 153 are free"}},
		},
	}, {
		name: "count far beyond any network",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: 4000000000,") },
		want: []want{
			{pos: "site/site.yaml:14:12", where: "role worker", what: []string{"count 4000000000 is more nodes than kiln builds for one role"}, fix: []string{"lower count"}},
		},
	}, {
		name: "count beyond a small network",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: 3000000,") },
		want: []want{
			{pos: "site/site.yaml:14:12", where: "role worker", what: []string{"count 3000000 needs 3000000 addresses", "only 154 are free"}},
		},
	}, {
		name: "counted nodes step around explicit addresses",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.102}") },
		want: nil,
	}, {
		name: "two NICs with one MAC",
		site: func(t *testing.T) string {
			return edit(t, `macs: ["52:54:00:00:01:01"]`, `macs: ["52:54:00:00:00:01"]`)
		},
		want: []want{
			{pos: "site/site.yaml:14:59", where: "node wn1", what: []string{"MAC 52:54:00:00:00:01 is also given to head eth1"}, fix: []string{"each NIC has its own MAC"}},
		},
	}, {
		name: "MAC written differently is still the same",
		site: func(t *testing.T) string {
			return edit(t, `macs: ["52:54:00:00:01:01"]`, `macs: ["52-54-00-00-00-01"]`)
		},
		want: []want{
			{pos: "site/site.yaml:14:59", where: "node wn1", what: []string{"MAC 52:54:00:00:00:01 is also given to head eth1"}},
		},
	}, {
		name: "too few nodes for the design",
		site: func(t *testing.T) string {
			return edit(t, "  ldap: [{name: ldap, ip: {private: 10.1.0.3}}]", "  ldap: []")
		},
		want: []want{
			{pos: "site/site.yaml:10:9", where: "role ldap", what: []string{"the design needs 1 ldap node(s); this site has 0"}, fix: []string{"roles/ldap.yaml"}},
		},
	}, {
		name: "role missing from nodes",
		site: func(t *testing.T) string { return edit(t, "  ldap: [{name: ldap, ip: {private: 10.1.0.3}}]\n", "") },
		want: []want{
			{pos: "site/site.yaml:6:1", where: "role ldap", what: []string{"the design needs 1 ldap node(s) and site.yaml has none"}, fix: []string{"add ldap: under nodes:"}},
		},
	}, {
		name: "too many nodes for the design",
		site: func(t *testing.T) string {
			return edit(t, "  nfs: [{name: nfs, ip: {public: 192.0.2.11, private: 10.1.0.5}}]", "  nfs: [{name: nfs, ip: {public: 192.0.2.11, private: 10.1.0.5}}, {name: nfs2, ip: {public: 192.0.2.12, private: 10.1.0.6}}]")
		},
		want: []want{
			{pos: "site/site.yaml:12:8", where: "role nfs", what: []string{"the design allows 1 nfs node(s); this site has 2"}, fix: []string{"remove nodes"}},
		},
	}, {
		name: "listed node without an address",
		site: func(t *testing.T) string { return edit(t, "{name: ldap, ip: {private: 10.1.0.3}}", "{name: ldap}") },
		want: []want{
			{pos: "site/site.yaml:10:10", where: "node ldap", what: []string{"no address on network private"}, fix: []string{"add ip: {private: …}"}},
		},
	}, {
		name: "settings for a counted node that does not exist",
		site: func(t *testing.T) string {
			return edit(t, "worker: {count: 3,", `worker: {nodes: {wn4: {mac: {private: "52:54:00:00:01:04"}}}, count: 3,`)
		},
		want: []want{
			{pos: "site/site.yaml:14:25", where: "role worker", what: []string{`there is no node "wn4" among this role's 3 counted nodes`}, fix: []string{`did you mean "wn1"?`, "the names run from wn1 to wn3"}},
		},
	}, {
		name: "gateway node without an address there",
		site: func(t *testing.T) string {
			return edit(t, "public: {cidr: 192.0.2.0/24, gateway: 192.0.2.1}", "public: {cidr: 192.0.2.0/24, gateway: wn1}")
		},
		want: []want{
			{pos: "site/site.yaml:4:41", where: "network public", what: []string{"node wn1 has no address on public, so it cannot be its gateway"}},
		},
	}, {
		name: "gateway that is no node",
		site: func(t *testing.T) string { return edit(t, "gateway: head, domain:", "gateway: haed, domain:") },
		want: []want{
			{pos: "site/site.yaml:5:41", where: "network private", what: []string{`gateway "haed" is neither an address nor a node of this site`}},
		},
	}, {
		name: "reference to a role with no nodes",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `base: {timezone: "${interactive[2].fqdn}"}`)
		},
		want: []want{
			{pos: "site/site.yaml:16:20", where: "node head: base.timezone", what: []string{"role interactive has 1 node(s), so there is no node number 2"}, fix: []string{"${nfs.private.ip}"}},
		},
	}, {
		name: "reference to an unknown field",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `base: {timezone: "${cluster.zone}"}`)
		},
		want: []want{
			{pos: "site/site.yaml:16:20", where: "node head: base.timezone", what: []string{`the cluster has no field "zone" (name, domain, dn, os)`}},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, problems(t, siteFS(map[string]string{"site.yaml": c.site(t)})), c.want...)
		})
	}
}

// TestAllocation: counted nodes take the next free addresses, around the
// network, broadcast and gateway addresses and any given explicitly.
func TestAllocation(t *testing.T) {
	site := edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.102}")
	site = strings.Replace(site, "start: {private: 10.1.0.101}", "start: {private: 10.1.0.100}", 1)
	d, diags := load.FS(siteFS(map[string]string{"site.yaml": site}), "site/")
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	c, rd := resolve.Cluster(d)
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range c.Nodes {
		got[n.Name] = n.IP("private")
	}
	for name, ip := range map[string]string{"wn1": "10.1.0.100", "wn2": "10.1.0.101", "wn3": "10.1.0.103", "ldap": "10.1.0.102", "int1": "10.1.0.20"} {
		if got[name] != ip {
			t.Errorf("%s has %s on private, want %s", name, got[name], ip)
		}
	}
	if vm := c.Node("puppet"); vm == nil || vm.Host != "head" {
		t.Errorf("the puppet vm is not placed on head: %+v", vm)
	}
}

// A network whose cidr is wrong is reported once, where it is written, not
// again by every parameter whose default refers to the network or to a
// node's address on it (in the embedded catalog's files).
func TestABadNetworkIsReportedOnceNotByEveryReferenceToIt(t *testing.T) {
	got := problems(t, siteFS(map[string]string{"site.yaml": edit(t, "cidr: 10.1.0.0/24", "cidr: 10.1.0.0/33")}))
	if len(got) != 1 || got[0].Pos.String() != "site/site.yaml:5:19" {
		for _, d := range got {
			t.Logf("got: %s", d)
		}
		t.Fatalf("want the one problem at site/site.yaml:5:19, got %d", len(got))
	}
}
