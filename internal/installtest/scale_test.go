package installtest

import (
	"testing"

	"kiln.dev/kiln/internal/pipeline"
)

// A generated 1,000-worker site passes every checker: the kickstart linter
// on every kickstart (shellcheck on one %post per role), dnsmasq, dhcpd,
// BIND and GRUB on the cluster-wide files, and the boot-file parser.
func TestThousandNodeSite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and checks a 1,000-node site")
	}
	b := buildSource(t, pipeline.Source{Dir: starterSite(t, "el9", 1000)})
	if n := len(b.site.Cluster.Nodes); n < 1000 {
		t.Fatalf("the site has %d nodes", n)
	}
	checkKickstarts(t, b, false)
	checkNetwork(t, b)
	checkBoot(t, b)
}
