package diagram_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/diagram"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
)

// svgText parses an SVG with encoding/xml and returns every text and
// title in it, one per line.
func svgText(t *testing.T, what string, data []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var b strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", what, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Space + " " + tok.Name.Local
			}
		case xml.CharData:
			b.Write(tok)
			b.WriteByte('\n')
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("%s: the root element is %q, not an SVG svg", what, root)
	}
	return b.String()
}

func clusters(t *testing.T) map[string]*model.Cluster {
	out := map[string]*model.Cluster{}
	for name, src := range map[string]pipeline.Source{"tier3": {Example: "tier3"}, "slurm": {Dir: "../pipeline/testdata/slurm"}} {
		s, err := pipeline.Resolve(src)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s.Cluster
	}
	out["big"] = bigCluster()
	return out
}

// Both pictures parse as SVG and name every machine; the wiring names
// every network, NIC address and MAC, the install order every role and
// module. Drawing twice gives the same bytes.
func TestPicturesNameEverything(t *testing.T) {
	for name, c := range clusters(t) {
		w, r := diagram.Wiring(c), diagram.Roles(c)
		if !bytes.Equal(w, diagram.Wiring(c)) || !bytes.Equal(r, diagram.Roles(c)) {
			t.Errorf("%s: two drawings differ", name)
		}
		wt, rt := svgText(t, name+" wiring", w), svgText(t, name+" roles", r)
		for _, n := range c.Nodes {
			for _, txt := range []string{wt, rt} {
				if !containsWord(txt, n.Name) {
					t.Errorf("%s: a picture does not name the machine %s", name, n.Name)
				}
			}
		}
		for _, n := range c.Networks {
			if !strings.Contains(wt, n.Name) || !strings.Contains(wt, n.CIDR) {
				t.Errorf("%s: the wiring does not name the network %s %s", name, n.Name, n.CIDR)
			}
		}
		for _, r := range c.Roles {
			if !containsWord(rt, r.Name) {
				t.Errorf("%s: the install order does not name the role %s", name, r.Name)
			}
			for _, m := range r.Modules {
				if !containsWord(rt, m) {
					t.Errorf("%s: the install order does not name the module %s", name, m)
				}
			}
		}
		if name != "big" {
			for _, n := range c.Nodes {
				for _, i := range n.Interfaces {
					if !strings.Contains(wt, i.IP) || i.MAC != "" && n.Kind != "vm" && !strings.Contains(wt, i.MAC) {
						t.Errorf("%s: the wiring does not show %s's %s (%s, %s)", name, n.Name, i.NIC, i.IP, i.MAC)
					}
				}
			}
		}
	}
}

// A role with many machines is drawn as one stack, so the picture stays
// the size of a page; its first and last address show the range.
func TestManyMachinesMakeOneStack(t *testing.T) {
	c := bigCluster()
	w := diagram.Wiring(c)
	txt := svgText(t, "wiring", w)
	if !strings.Contains(txt, "wn1 … wn40") || !strings.Contains(txt, "10.0.0.101 – 10.0.0.140") {
		t.Errorf("the 40 workers are not one stack with their address range:\n%s", txt)
	}
	if strings.Count(string(w), `class="machine"`) != 2 {
		t.Errorf("want 2 boxes (head, the workers' stack), got %d", strings.Count(string(w), `class="machine"`))
	}
}

func containsWord(text, w string) bool {
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		if f == w {
			return true
		}
	}
	return false
}

func bigCluster() *model.Cluster {
	c := &model.Cluster{Name: "big", Networks: []*model.Network{{Name: "lan", CIDR: "10.0.0.0/24"}}}
	head := &model.Node{Name: "head", Role: "head", Kind: "physical", Interfaces: []*model.Interface{{NIC: "eth0", Network: "lan", IP: "10.0.0.1", MAC: "02:00:00:00:00:01"}},
		Modules: []*model.Module{{Name: "base"}}}
	c.Nodes = append(c.Nodes, head)
	workers := &model.Role{Name: "worker", Kind: "physical", After: []string{"head"}, Stage: 1, Modules: []string{"base", "batch"}}
	for i := 1; i <= 40; i++ {
		n := &model.Node{Name: fmt.Sprintf("wn%d", i), Role: "worker", Kind: "physical", Index: i,
			Interfaces: []*model.Interface{{NIC: "eth0", Network: "lan", IP: fmt.Sprintf("10.0.0.%d", 100+i), MAC: fmt.Sprintf("02:00:00:00:01:%02x", i)}},
			Modules:    []*model.Module{{Name: "base"}, {Name: "batch", Requires: []string{"base"}}}}
		c.Nodes = append(c.Nodes, n)
		workers.Nodes = append(workers.Nodes, n.Name)
	}
	c.Roles = []*model.Role{{Name: "head", Kind: "physical", Modules: []string{"base"}, Nodes: []string{"head"}}, workers}
	c.Index()
	return c
}
