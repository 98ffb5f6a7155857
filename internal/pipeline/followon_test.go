package pipeline

import (
	"testing"

	"kiln.dev/kiln/internal/diag"
)

func TestFollowOnsInTheEmbeddedDesignAreDroppedAfterTheSitesOwn(t *testing.T) {
	var l diag.List
	l.Add(diag.Pos{File: "site/site.yaml", Line: 4}, "site", "bad domain", "")
	l.Add(diag.Pos{File: "(embedded tier3)/catalog/base/module.yaml", Line: 9}, "", "default does not fit", "")
	got := withoutFollowOns(&l).Items()
	if len(got) != 1 || got[0].Pos.File != "site/site.yaml" {
		t.Fatalf("got %v, want only the site's problem", got)
	}
}

func TestProblemsOnlyInTheEmbeddedDesignAreKept(t *testing.T) {
	var l diag.List
	l.Add(diag.Pos{File: "(embedded tier3)/roles/head.yaml", Line: 1}, "", "a", "")
	l.Add(diag.Pos{File: "(embedded tier3)/design.yaml", Line: 2}, "", "b", "")
	if got := withoutFollowOns(&l).Items(); len(got) != 2 {
		t.Fatalf("got %v, want both", got)
	}
}
