package resolve_test

import (
	"testing"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/sitetest"
)

const baseMACs = `macs: ["52:54:00:00:01:01"]`

// resolveSite resolves a site that must have no errors.
func resolveSite(t *testing.T, site string) *model.Cluster {
	t.Helper()
	fsys := siteFS(map[string]string{"site.yaml": site})
	expect(t, problems(t, fsys))
	d, _ := load.FS(fsys, "site/")
	c, _ := resolve.Cluster(d)
	return c
}

func macOf(t *testing.T, c *model.Cluster, node, network string) string {
	t.Helper()
	for _, n := range c.Nodes {
		if n.Name != node {
			continue
		}
		for _, i := range n.Interfaces {
			if i.Network == network {
				return i.MAC
			}
		}
	}
	t.Fatalf("no node %s with an interface on %s", node, network)
	return ""
}

// TestMACsByName: macs: as a map from node name, or per interface a list
// or a map, gives each NIC the MAC written next to its name.
func TestMACsByName(t *testing.T) {
	t.Run("node name to MAC", func(t *testing.T) {
		c := resolveSite(t, edit(t, baseMACs, `macs: {wn3: "52:54:00:00:01:03", wn1: "52:54:00:00:01:01"}`))
		for node, mac := range map[string]string{"wn1": "52:54:00:00:01:01", "wn2": "", "wn3": "52:54:00:00:01:03"} {
			if got := macOf(t, c, node, "private"); got != mac {
				t.Errorf("%s: MAC %q, want %q", node, got, mac)
			}
		}
		if w := sitetest.Warnings(t, siteFS(map[string]string{"site.yaml": edit(t, baseMACs, `macs: {wn3: "52:54:00:00:01:03"}`)})); len(w) != 0 {
			t.Errorf("a map that leaves nodes out warns: %v", w)
		}
	})
	t.Run("per interface, by network or NIC name", func(t *testing.T) {
		site := edit(t, "interactive: {count: 1, start: {public: 192.0.2.20, private: 10.1.0.20}}",
			`interactive: {count: 1, start: {public: 192.0.2.20, private: 10.1.0.20}, macs: {pub0: {int1: "52:54:00:00:02:01"}, private: ["52:54:00:00:02:02"]}}`)
		c := resolveSite(t, site)
		if got := macOf(t, c, "int1", "public"); got != "52:54:00:00:02:01" {
			t.Errorf("int1 public: %q", got)
		}
		if got := macOf(t, c, "int1", "private"); got != "52:54:00:00:02:02" {
			t.Errorf("int1 private: %q", got)
		}
	})
	t.Run("a gap in the list keeps later MACs on their nodes", func(t *testing.T) {
		site := edit(t, baseMACs, `macs: ["52:54:00:00:01:01", ~, "52:54:00:00:01:03"]`)
		c := resolveSite(t, site)
		if got := macOf(t, c, "wn2", "private"); got != "" {
			t.Errorf("wn2 took %q", got)
		}
		if got := macOf(t, c, "wn3", "private"); got != "52:54:00:00:01:03" {
			t.Errorf("wn3: %q", got)
		}
		expect(t, sitetest.Warnings(t, siteFS(map[string]string{"site.yaml": site})),
			want{Pos: "site/site.yaml:14:58", Where: "role worker", What: []string{"gives 2 for 3 nodes, so wn2 has no MAC", "in node order"}, Fix: []string{"macs: {wn2: …}"}})
	})
}

// TestMACMistakes: the ways a MAC can be given wrongly or twice.
func TestMACMistakes(t *testing.T) {
	cases := []struct {
		name     string
		macs     string
		want     []want
		warnings []want
	}{{
		name: "a short list warns, naming the nodes without a MAC",
		macs: baseMACs,
		warnings: []want{{Pos: "site/site.yaml:14:58", Where: "role worker",
			What: []string{"the list of MACs on private gives 1 for 3 nodes, so wn2 and wn3 have no MAC"}, Fix: []string{"write them by name"}}},
	}, {
		name: "more MACs than nodes",
		macs: `macs: ["52:54:00:00:01:01", "52:54:00:00:01:02", "52:54:00:00:01:03", "52:54:00:00:01:04"]`,
		want: []want{{Pos: "site/site.yaml:14:122", Where: "role worker", What: []string{"4 MACs are listed for 3 nodes"}, Fix: []string{"raise count"}}},
	}, {
		name: "a name that is not a node of the role",
		macs: `macs: {wn4: "52:54:00:00:01:04", wm2: "52:54:00:00:01:02"}`,
		want: []want{
			{Pos: "site/site.yaml:14:59", Where: "role worker", What: []string{`there is no node "wn4" among this role's 3 nodes`}, Fix: []string{"the names run from wn1 to wn3"}},
			{Pos: "site/site.yaml:14:85", Where: "role worker", What: []string{`there is no node "wm2"`}, Fix: []string{`did you mean "wn2"?`}},
		},
	}, {
		name: "an interface the role does not have",
		macs: `macs: {public: {wn1: "52:54:00:00:01:01"}}`,
		want: []want{{Pos: "site/site.yaml:14:59", Where: "role worker", What: []string{`this role has no interface "public"`}, Fix: []string{"the role's interfaces are on: private"}}},
	}, {
		name: "a node's MAC in the map and on its entry",
		macs: `macs: {wn2: "52:54:00:00:01:02"}, nodes: {wn2: {mac: {private: "52:54:00:00:01:09"}}}`,
		want: []want{{Pos: "site/site.yaml:14:115", Where: "node wn2",
			What: []string{"given twice: 52:54:00:00:01:02 at site/site.yaml:14:64 and 52:54:00:00:01:09 here"}, Fix: []string{"keep one of the two"}}},
	}, {
		name: "a node's MAC in the list and on its entry",
		macs: `macs: ["52:54:00:00:01:01"], nodes: {wn1: {mac: {private: "52:54:00:00:01:01"}}}`,
		want: []want{{Pos: "site/site.yaml:14:110", Where: "node wn1",
			What: []string{"given twice: 52:54:00:00:01:01 at site/site.yaml:14:59"}}},
		warnings: []want{{Pos: "site/site.yaml:14:58", Where: "role worker", What: []string{"so wn2 and wn3 have no MAC"}}},
	}, {
		name: "a list of lists",
		macs: `macs: {private: {wn1: ["52:54:00:00:01:01"]}}`,
		want: []want{{Pos: "site/site.yaml:14:74", Where: "nodes.worker.macs", What: []string{`expected the MAC of node "wn1", found a list`}}},
	}, {
		name: "not a MAC in the map",
		macs: `macs: {wn1: "52:54:00:00:01"}`,
		want: []want{{Pos: "site/site.yaml:14:64", Where: "role worker", What: []string{"not a MAC address"}}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := siteFS(map[string]string{"site.yaml": edit(t, baseMACs, tc.macs)})
			expect(t, problems(t, fsys), tc.want...)
			expect(t, sitetest.Warnings(t, fsys), tc.warnings...)
		})
	}
}
