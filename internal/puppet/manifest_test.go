package puppet

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseClasses(t *testing.T) {
	src := `# A class with every kind of parameter list entry.
class demo::server (
  Enum['a', 'b'] $mode,                       # comment with $fake, and (
  Array[Pattern[/\A[^'\n\\]*\z/]] $names = ['x, y', "z ${mode}"],
  Hash[String, Array[Integer]] $map = { 'k' => [1, 2] },
  $untyped = undef,
  Integer $n = 3 / 2,
  String $s = "a \" quoted ${f({ 'x' => 1 })} string",
) inherits demo {
  class { 'demo::other': x => 1 }
  Class['demo'] -> Class['demo::server']
}
/* class fake ( $not_a_param ) { } */
class demo {
  $text = @("EOT"/L)
    It's a "heredoc" with ${x} and a ) and class nope ($y) {
    | EOT
  $other = @(END)
    don't
    -END
}
define demo::thing (String $x) {
}
`
	cs, err := ParseClasses("demo.pp", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("found %d classes, want demo::server and demo", len(cs))
	}
	c := cs[0]
	if c.Name != "demo::server" || c.Line != 2 {
		t.Errorf("first class %s at line %d, want demo::server at 2", c.Name, c.Line)
	}
	want := []Param{
		{Name: "mode", Type: "Enum['a','b']", Line: 3},
		{Name: "names", Type: `Array[Pattern[/\A[^'\n\\]*\z/]]`, HasDefault: true, Line: 4},
		{Name: "map", Type: "Hash[String,Array[Integer]]", HasDefault: true, Line: 5},
		{Name: "untyped", HasDefault: true, Line: 6},
		{Name: "n", Type: "Integer", HasDefault: true, Line: 7},
		{Name: "s", Type: "String", HasDefault: true, Line: 8},
	}
	if !reflect.DeepEqual(c.Params, want) {
		t.Errorf("parameters:\n got %+v\nwant %+v", c.Params, want)
	}
	if cs[1].Name != "demo" || len(cs[1].Params) != 0 {
		t.Errorf("second class: %+v", cs[1])
	}
}

func TestParseClassesErrors(t *testing.T) {
	for name, src := range map[string]string{
		"open string":  "class a (\n  String $x = 'oops,\n) {}\n",
		"open list":    "class a (\n  String $x,\n",
		"open comment": "/* class a () {}\n",
		"open regex":   "class a (\n  Pattern[/x] $y,\n) {}\n",
		"open heredoc": "class a {\n  $x = @(EOT)\n  text\n}\n",
	} {
		if _, err := ParseClasses("bad.pp", []byte(src)); err == nil || !strings.HasPrefix(err.Error(), "bad.pp:") {
			t.Errorf("%s: err = %v, want an error naming bad.pp and the line", name, err)
		}
	}
}
