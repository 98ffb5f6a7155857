package resolve_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/sitetest"
)

// The small site and the checks are package sitetest's, shared by the
// validate and resolve tests.
var baseSite = sitetest.BaseSite

type want = sitetest.Want

func siteFS(files map[string]string) fstest.MapFS { return sitetest.FS(files) }

func edit(t *testing.T, old, new string) string {
	t.Helper()
	return sitetest.Edit(t, old, new)
}

func problems(t *testing.T, fsys fstest.MapFS) []diag.Diagnostic {
	t.Helper()
	return sitetest.Problems(t, fsys)
}

func expect(t *testing.T, got []diag.Diagnostic, wants ...want) {
	t.Helper()
	sitetest.Expect(t, got, wants...)
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
			{Pos: "site/site.yaml:10:10", Where: "node puppet", What: []string{"the name puppet is also used by a node of role puppet (site/site.yaml:9:12)"}, Fix: []string{"give each node its own name"}},
		},
	}, {
		name: "a listed name that a count also makes",
		site: func(t *testing.T) string { return edit(t, "{name: nfs, ip:", "{name: int1, ip:") },
		want: []want{
			{Pos: "site/site.yaml:13:16", Where: "node int1", What: []string{"the name int1 is also used by a node of role nfs (site/site.yaml:12:9)"}},
		},
	}, {
		name: "two nodes with one address",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.2}") },
		want: []want{
			{Pos: "site/site.yaml:10:37", Where: "node ldap", What: []string{"address 10.1.0.2 on private is already node puppet's (site/site.yaml:9:41)"}, Fix: []string{"give each node its own address"}},
		},
	}, {
		name: "address of the network",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.0}") },
		want: []want{
			{Pos: "site/site.yaml:10:37", Where: "node ldap", What: []string{"address 10.1.0.0 on private is already the network's own address (site/site.yaml:5:19)"}},
		},
	}, {
		name: "broadcast address",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.255}") },
		want: []want{
			{Pos: "site/site.yaml:10:37", Where: "node ldap", What: []string{"already the network's broadcast address"}},
		},
	}, {
		name: "gateway address",
		site: func(t *testing.T) string {
			return edit(t, "{public: 192.0.2.11, private:", "{public: 192.0.2.1, private:")
		},
		want: []want{
			{Pos: "site/site.yaml:12:34", Where: "node nfs", What: []string{"address 192.0.2.1 on public is already the network's gateway (site/site.yaml:4:41)"}},
		},
	}, {
		name: "address outside its network",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.2.0.3}") },
		want: []want{
			{Pos: "site/site.yaml:10:37", Where: "node ldap", What: []string{"address 10.2.0.3 is outside the private network 10.1.0.0/24"}, Fix: []string{"use an address within 10.1.0.0/24"}},
		},
	}, {
		name: "start address outside its network",
		site: func(t *testing.T) string {
			return edit(t, "start: {private: 10.1.0.101}", "start: {private: 10.2.0.101}")
		},
		want: []want{
			{Pos: "site/site.yaml:14:39", Where: "role worker", What: []string{"address 10.2.0.101 is outside the private network 10.1.0.0/24"}},
		},
	}, {
		name: "count larger than the free addresses",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: 200,") },
		want: []want{
			{Pos: "site/site.yaml:14:12", Where: "role worker", What: []string{"count 200 needs 200 addresses on private from 10.1.0.101, but only 154 are free up to the end of 10.1.0.0/24"}, Fix: []string{"lower count", "widen the network"}},
		},
	}, {
		name: "count that fits only without the addresses others took",
		site: func(t *testing.T) string {
			s := edit(t, "worker: {count: 3,", "worker: {count: 154,")
			return strings.Replace(s, "{name: ldap, ip: {private: 10.1.0.3}}", "{name: ldap, ip: {private: 10.1.0.200}}", 1)
		},
		want: []want{
			{Pos: "site/site.yaml:14:12", Where: "role worker", What: []string{"count 154 needs 154 addresses", "only 153 are free"}},
		},
	}, {
		name: "count far beyond any network",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: 4000000000,") },
		want: []want{
			{Pos: "site/site.yaml:14:12", Where: "role worker", What: []string{"count 4000000000 is more nodes than kiln builds for one role"}, Fix: []string{"lower count"}},
		},
	}, {
		name: "count beyond a small network",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: 30000,") },
		want: []want{
			{Pos: "site/site.yaml:14:12", Where: "role worker", What: []string{"count 30000 needs 30000 addresses", "only 154 are free"}},
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
			{Pos: "site/site.yaml:14:59", Where: "node wn1", What: []string{"MAC 52:54:00:00:00:01 is also given to head priv0"}, Fix: []string{"each NIC has its own MAC"}},
		},
	}, {
		name: "MAC written differently is still the same",
		site: func(t *testing.T) string {
			return edit(t, `macs: ["52:54:00:00:01:01"]`, `macs: ["52-54-00-00-00-01"]`)
		},
		want: []want{
			{Pos: "site/site.yaml:14:59", Where: "node wn1", What: []string{"MAC 52:54:00:00:00:01 is also given to head priv0"}},
		},
	}, {
		name: "too few nodes for the design",
		site: func(t *testing.T) string {
			return edit(t, "  ldap: [{name: ldap, ip: {private: 10.1.0.3}}]", "  ldap: []")
		},
		want: []want{
			{Pos: "site/site.yaml:10:9", Where: "role ldap", What: []string{"the design needs 1 ldap node(s); this site has 0"}, Fix: []string{"roles/ldap.yaml"}},
		},
	}, {
		name: "role missing from nodes",
		site: func(t *testing.T) string { return edit(t, "  ldap: [{name: ldap, ip: {private: 10.1.0.3}}]\n", "") },
		want: []want{
			{Pos: "site/site.yaml:6:1", Where: "role ldap", What: []string{"the design needs 1 ldap node(s) and site.yaml has none"}, Fix: []string{"add ldap: under nodes:"}},
		},
	}, {
		name: "too many nodes for the design",
		site: func(t *testing.T) string {
			return edit(t, "  nfs: [{name: nfs, ip: {public: 192.0.2.11, private: 10.1.0.5}}]", "  nfs: [{name: nfs, ip: {public: 192.0.2.11, private: 10.1.0.5}}, {name: nfs2, ip: {public: 192.0.2.12, private: 10.1.0.6}}]")
		},
		want: []want{
			{Pos: "site/site.yaml:12:8", Where: "role nfs", What: []string{"the design allows 1 nfs node(s); this site has 2"}, Fix: []string{"remove nodes"}},
		},
	}, {
		name: "listed node without an address",
		site: func(t *testing.T) string { return edit(t, "{name: ldap, ip: {private: 10.1.0.3}}", "{name: ldap}") },
		want: []want{
			{Pos: "site/site.yaml:10:10", Where: "node ldap", What: []string{"no address on network private"}, Fix: []string{"add ip: {private: …}"}},
		},
	}, {
		name: "settings for a counted node that does not exist",
		site: func(t *testing.T) string {
			return edit(t, "worker: {count: 3,", `worker: {nodes: {wn4: {mac: {private: "52:54:00:00:01:04"}}}, count: 3,`)
		},
		want: []want{
			{Pos: "site/site.yaml:14:25", Where: "role worker", What: []string{`there is no node "wn4" among this role's 3 counted nodes`}, Fix: []string{`did you mean "wn1"?`, "the names run from wn1 to wn3"}},
		},
	}, {
		name: "gateway node without an address there",
		site: func(t *testing.T) string {
			return edit(t, "public: {cidr: 192.0.2.0/24, gateway: 192.0.2.1}", "public: {cidr: 192.0.2.0/24, gateway: wn1}")
		},
		want: []want{
			{Pos: "site/site.yaml:4:41", Where: "network public", What: []string{"node wn1 has no address on public, so it cannot be its gateway"}},
		},
	}, {
		name: "gateway that is no node",
		site: func(t *testing.T) string { return edit(t, "gateway: head, domain:", "gateway: haed, domain:") },
		want: []want{
			{Pos: "site/site.yaml:5:41", Where: "network private", What: []string{`gateway "haed" is neither an address nor a node of this site`}},
		},
	}, {
		name: "reference to a role with no nodes",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `base: {timezone: "${interactive[2].fqdn}"}`)
		},
		want: []want{
			{Pos: "site/site.yaml:16:20", Where: "node head: base.timezone", What: []string{"role interactive has 1 node(s), so there is no node number 2"}, Fix: []string{"${nfs.private.ip}"}},
		},
	}, {
		name: "reference to an unknown field",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `base: {timezone: "${cluster.zone}"}`)
		},
		want: []want{
			{Pos: "site/site.yaml:16:20", Where: "node head: base.timezone", What: []string{`the cluster has no field "zone" (name, domain, dn, os)`}},
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
