package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/model"
)

func TestYAMLValueWritesWhatJSONWould(t *testing.T) {
	for _, v := range []any{"", "plain text", `quo"te`, `back\slash`, "tab\there", "<html>&", "naïve", "\u2028", true, false, 0, -42, 7.5, []string{"a"}, nil} {
		got, err := yamlValue(v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		if want := strings.TrimRight(buf.String(), "\n"); got != want {
			t.Errorf("yamlValue(%#v) = %s, want %s", v, got, want)
		}
	}
}

// TestNodePortsOpensAFromPortToItsParametersNetworks: a port declared with
// from: is grouped with the networks its module's parameter holds on the
// node (IPv4 first), after the zones (in the design's network order, here
// storage before public); with none listed it is not opened.
func TestNodePortsOpensAFromPortToItsParametersNetworks(t *testing.T) {
	node := func(monitors any) *model.Node {
		return &model.Node{Modules: []*model.Module{{
			Name:   "squid",
			Params: []*model.Param{{Name: "monitors", Type: "list(cidr)", Value: monitors}},
			Ports: []model.Port{
				{Proto: "udp", Port: 3401, From: "monitors"},
				{Proto: "tcp", Port: 3128, Zone: "public", ZoneOrder: 1, Doc: "proxy"},
				{Proto: "tcp", Port: 22, Zone: "storage", ZoneOrder: 0, Doc: "SSH"},
			},
		}}}
	}
	got := nodePorts(node([]any{"2001:db8::/32", "192.0.2.0/24"}))
	want := []PortGroup{
		{Zone: "storage", Proto: "tcp", Ports: []string{"22"}, Docs: []string{"SSH"}},
		{Zone: "public", Proto: "tcp", Ports: []string{"3128"}, Docs: []string{"proxy"}},
		{Proto: "udp", Sources: []string{"192.0.2.0/24", "2001:db8::/32"}, Ports: []string{"3401"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nodePorts = %+v\nwant %+v", got, want)
	}
	got = nodePorts(node([]any{}))
	if len(got) != 2 || got[0].Zone != "storage" || got[1].Zone != "public" {
		t.Errorf("with no networks listed, the from: port is opened anyway: %+v", got)
	}
	if on := portsOn(node([]any{}), "public"); len(on) != 1 || on[0].Ports[0] != "3128" {
		t.Errorf("portsOn public = %+v, want the proxy port alone", on)
	}
}
