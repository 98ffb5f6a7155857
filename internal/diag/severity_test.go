package diag

import (
	"strings"
	"testing"
)

// Warnings are printed with the word "warning", are not errors (Len, Err),
// travel with the errors when there are some, and --strict makes them
// errors.
func TestWarnings(t *testing.T) {
	var l List
	l.Warn(Pos{File: "site.yaml", Line: 3, Col: 5}, "role worker", "a short list", "add them")
	if l.Len() != 0 || l.Err() != nil {
		t.Fatalf("a warning counts as an error: Len %d, Err %v", l.Len(), l.Err())
	}
	w := l.Warnings()
	if len(w) != 1 || w[0].String() != "site.yaml:3:5: warning: role worker: a short list — add them" {
		t.Fatalf("warnings: %v", w)
	}
	l.Add(Pos{File: "site.yaml", Line: 1}, "", "broken", "")
	e, _ := l.Err().(*Error)
	if e == nil || e.Errors() != 1 || len(e.Diagnostics) != 2 || !strings.Contains(e.Error(), "warning: role worker") {
		t.Fatalf("errors with a warning: %#v", e)
	}
	l.Strict()
	if l.Len() != 2 || len(l.Warnings()) != 0 {
		t.Fatalf("after Strict: %d errors, %d warnings", l.Len(), len(l.Warnings()))
	}
}
