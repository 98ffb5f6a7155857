package diag

import "testing"

func TestSuggest(t *testing.T) {
	verbs := []string{"init", "check", "build", "plan", "show", "explain", "schema", "version"}
	for _, c := range []struct{ word, want string }{
		{"biuld", "build"}, // two letters swapped: one typo
		{"chekc", "check"}, // swapped at the end
		{"buidl", "build"},
		{"shwo", "show"},
		{"buil", "build"},  // one letter missing
		{"Build", "build"}, // case does not count
		{"versoin", "version"},
		{"frobnicate", ""}, // nothing close
		{"x", ""},
	} {
		if got := Suggest(c.word, verbs); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if got := DidYouMean("tcpp", []string{"tcp", "udp"}); got != `did you mean "tcp"?` {
		t.Errorf("DidYouMean: %q", got)
	}
	if got := DidYouMean("icmp", []string{"tcp", "udp"}); got != "valid choices: tcp, udp" {
		t.Errorf("DidYouMean with nothing close: %q", got)
	}
}
