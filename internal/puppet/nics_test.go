package puppet_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/model"
)

// checkNICLinks: kiln_base keeps, on every node, the .link file the
// node's kickstart wrote for each NIC whose MAC is known, byte for byte,
// and none for a NIC without one (whose file, if any, came from the boot).
func checkNICLinks(t *testing.T, cl *model.Cluster, build string, all []compiled) {
	t.Helper()
	byName := map[string]compiled{}
	for _, c := range all {
		byName[c.Certname] = c
	}
	checked := 0
	for _, n := range cl.Nodes {
		c, ok := byName[n.FQDN]
		if !ok {
			t.Errorf("no catalog for %s", n.FQDN)
			continue
		}
		ks, err := os.ReadFile(filepath.Join(build, "kickstart-"+n.Name+".cfg"))
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range n.Interfaces {
			path := "/etc/systemd/network/10-kiln-" + i.NIC + ".link"
			got, inCatalog := catalogFile(c, path)
			if i.MAC == "" {
				if inCatalog {
					t.Errorf("%s: kiln_base manages %s, yet site.yaml gives %s no MAC", n.Name, path, i.NIC)
				}
				continue
			}
			m := regexp.MustCompile(`(?s)cat >` + regexp.QuoteMeta(path) + ` <<'KILN_EOF'\n(.*?)KILN_EOF\n`).FindSubmatch(ks)
			if m == nil {
				t.Errorf("%s: the kickstart writes no %s", n.Name, path)
				continue
			}
			if !inCatalog || got != string(m[1]) {
				t.Errorf("%s: kiln_base's %s is %q, the kickstart's %q", n.Name, path, got, m[1])
				continue
			}
			if !strings.Contains(got, "MACAddress="+i.MAC+"\n") {
				t.Errorf("%s: %s does not match MAC %s:\n%s", n.Name, path, i.MAC, got)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no NIC of the example has a known MAC")
	}
}
