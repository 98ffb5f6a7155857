package pipeline

import (
	"strings"

	"kiln.dev/kiln/internal/diag"
)

// embeddedPrefix starts the name of every file of a design embedded in
// kiln, as load shows it ("(embedded tier3)/roles/head.yaml").
const embeddedPrefix = "(embedded "

// withoutFollowOns drops the problems located in an embedded design's
// files when any problem is in a file the user can edit. The embedded
// design checks clean on its own (its tests build it), so a problem that
// points into it was caused by something the site wrote — a value, a
// shadowed file — and is reported there; the user cannot edit the embedded
// file, and reading about it first only hides the real cause. When every
// problem is in the embedded design they are all kept: they are then the
// only lead.
func withoutFollowOns(l *diag.List) *diag.List {
	items := l.Items()
	own := false
	for _, d := range items {
		if d.Severity == "" && !strings.HasPrefix(d.Pos.File, embeddedPrefix) {
			own = true
			break
		}
	}
	if !own {
		return l
	}
	out := &diag.List{}
	for _, d := range items {
		if !strings.HasPrefix(d.Pos.File, embeddedPrefix) {
			out.Keep(d)
		}
	}
	return out
}
