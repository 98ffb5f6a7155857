package resolve_test

import (
	"testing"

	"kiln.dev/kiln/internal/sitetest"
)

// TestWarnings: what resolves but is probably not meant is a warning at
// its place, never an error, and the site still resolves.
func TestWarnings(t *testing.T) {
	cases := []struct {
		name     string
		old, new string
		warnings []want
	}{{
		name: "a start address on the gateway",
		old:  "start: {public: 192.0.2.20, private: 10.1.0.20}", new: "start: {public: 192.0.2.1, private: 10.1.0.20}",
		warnings: []want{{Pos: "site/site.yaml:13:43", Where: "role interactive",
			What: []string{"start address 192.0.2.1 on public is already the network's gateway (site/site.yaml:4:41), so int1 takes the next free address instead"}}},
	}, {
		name: "a start address on a named node's",
		old:  "start: {private: 10.1.0.101}", new: "start: {private: 10.1.0.5}",
		warnings: []want{{Pos: "site/site.yaml:14:39", Where: "role worker", What: []string{"start address 10.1.0.5 on private is already node nfs's"}}},
	}, {
		name: "a time zone the tz database does not know",
		old:  "base: {timezone: Europe/Paris}", new: "base: {timezone: America/LosAngeles}",
		warnings: []want{{Pos: "site/site.yaml:16:20", Where: "base.timezone",
			What: []string{`the tz database does not know the time zone "America/LosAngeles"`}, Fix: []string{`did you mean "America/Los_Angeles"?`}}},
	}, {
		name: "a time zone in lower case",
		old:  "base: {timezone: Europe/Paris}", new: "base: {timezone: europe/paris}",
		warnings: []want{{Pos: "site/site.yaml:16:20", Where: "base.timezone", Fix: []string{`did you mean "Europe/Paris"?`}}},
	}, {
		name: "a known time zone",
		old:  "base: {timezone: Europe/Paris}", new: "base: {timezone: America/Argentina/Buenos_Aires}",
	}, {
		name: "counted nodes that step around a node's address past the start",
		old:  "ip: {private: 10.1.0.3}", new: "ip: {private: 10.1.0.102}",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The base site's MACs by name, so that its short list does not warn.
			fsys := siteFS(map[string]string{"site.yaml": replace(t, edit(t, tc.old, tc.new), baseMACs, `macs: {wn1: "52:54:00:00:01:01"}`)})
			expect(t, problems(t, fsys))
			expect(t, sitetest.Warnings(t, fsys), tc.warnings...)
		})
	}
}

func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	t.Fatalf("no %q", old)
	return s
}
