package selector

import (
	"slices"
	"strings"
	"testing"
)

var site = []Node{
	{Name: "head", Role: "head"}, {Name: "nfs", Role: "nfs"},
	{Name: "wn1", Role: "worker", Group: "rack1"}, {Name: "wn2", Role: "worker", Group: "rack1"},
	{Name: "wn10", Role: "worker", Group: "rack2"}, {Name: "wn11", Role: "worker", Group: "rack2"},
	{Name: "wn3", Role: "worker", Group: "rack1"},
}

func match(t *testing.T, args ...string) ([]string, error) {
	t.Helper()
	s, err := Parse(args)
	if err != nil {
		return nil, err
	}
	return s.Match(site, map[string]string{"wn2": "failed", "wn10": "installed"})
}

func TestSelectorsPickNodesByNameRangeRoleGroupAndState(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "head nfs wn1 wn2 wn3 wn10 wn11"},
		{[]string{"all"}, "head nfs wn1 wn2 wn3 wn10 wn11"},
		{[]string{"wn[1-3]"}, "wn1 wn2 wn3"},
		{[]string{"wn[10-11,1]"}, "wn1 wn10 wn11"},
		{[]string{"role:worker"}, "wn1 wn2 wn3 wn10 wn11"},
		{[]string{"group:rack2", "head"}, "head wn10 wn11"},
		{[]string{"state:failed"}, "wn2"},
		{[]string{"state:planned"}, "head nfs wn1 wn3 wn11"},
		{[]string{"state:booting"}, ""},
		{[]string{"wn1,wn2 nfs"}, "nfs wn1 wn2"},
		{[]string{"wn1", "role:worker"}, "wn1 wn2 wn3 wn10 wn11"},
	} {
		got, err := match(t, c.args...)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.args, got, err, c.want)
		}
	}
}

func TestSelectorMistakesSayWhatExists(t *testing.T) {
	for _, c := range []struct{ arg, want string }{
		{"wn7x", `there is no node "wn7x"`},
		{"wm1", `did you mean "wn1"?`},
		{"wn[1-5]", "wn[1-5]: there is no node wn4, wn5"},
		{"role:wroker", `did you mean "worker"?`},
		{"group:rack9", `there is no group "rack9"`},
		{"state:faild", `did you mean "failed"?`},
		{"rol:worker", `did you mean "role"?`},
		{"wn[5-1]", "runs backwards; write 1-5"},
		{"wn[a-b]", `"a-b" is not a number`},
		{"wn[]", "the brackets are empty"},
		{"wn[1-2", "one pair of brackets"},
		{"role:", "give a value after role:"},
		{"wn[0-1000000]", "more than 100000 names"},
	} {
		_, err := match(t, c.arg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.arg, err, c.want)
		}
	}
}

func TestRangesKeepLeadingZeros(t *testing.T) {
	s, err := Parse([]string{"n[08-10]"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Match([]Node{{Name: "n08"}, {Name: "n09"}, {Name: "n10"}}, nil)
	if err != nil || strings.Join(got, " ") != "n08 n09 n10" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestNaturalOrderPutsWn2BeforeWn10(t *testing.T) {
	names := []string{"wn10", "wn2", "head", "wn1", "a10b2", "a10b10", "a9", "wn01", "int1"}
	SortNames(names)
	want := []string{"a9", "a10b2", "a10b10", "head", "int1", "wn1", "wn01", "wn2", "wn10"}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}
}
