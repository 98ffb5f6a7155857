package ptype

import "testing"

// A timezone is a tz database name: anything else that could not be one
// is refused; a well-formed name the database does not know is left to
// KnownZone (a warning, since the nodes' tzdata may be newer).
func TestTimezoneType(t *testing.T) {
	tz := Type{Base: "timezone"}
	for _, ok := range []string{"UTC", "Europe/Zurich", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "America/LosAngeles"} {
		if p := tz.CheckValue(ok); p != nil {
			t.Errorf("%q refused: %s", ok, p.What)
		}
	}
	for _, bad := range []string{"", "Europe/Zurich; rm -rf /", "Europe Zurich", "/etc/localtime", "../../x", "UTC\n%post"} {
		if p := tz.CheckValue(bad); p == nil {
			t.Errorf("%q accepted as a time zone name", bad)
		}
	}
	for zone, known := range map[string]bool{"UTC": true, "Europe/Zurich": true, "America/Los_Angeles": true, "America/LosAngeles": false, "Local": false, "": false} {
		if KnownZone(zone) != known {
			t.Errorf("KnownZone(%q) = %v", zone, !known)
		}
	}
}
