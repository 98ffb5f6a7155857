package installtest

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/testutil"
)

// checkNetwork runs the real checkers over a build's DHCP, DNS and GRUB
// files, and proves they agree with the hosts file.
func checkNetwork(t *testing.T, b *built) {
	t.Helper()
	dir := t.TempDir()

	dnsmasq := testutil.NeedProgram(t, "dnsmasq")
	for _, p := range b.chain.dnsmasq {
		f := writeFile(t, dir, filepath.Base(p), b.text(t, p))
		out, err := exec.Command(dnsmasq, "--test", "--conf-file="+f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "syntax check OK") {
			t.Errorf("dnsmasq --test rejects %s: %v\n%s", p, err, out)
		}
	}

	if p := b.chain.dhcpd; p != "" {
		dhcpd := testutil.NeedProgram(t, "dhcpd")
		f := writeFile(t, dir, "dhcpd.conf", b.text(t, p))
		if out, err := exec.Command(dhcpd, "-t", "-4", "-cf", f).CombinedOutput(); err != nil {
			t.Errorf("dhcpd -t rejects %s: %v\n%s", p, err, out)
		}
	}

	net, c := b.site.Cluster.Networks[0], b.site.Cluster
	for _, n := range c.Networks {
		if n.Provisioning {
			net = n
		}
	}
	checkzone := testutil.NeedProgram(t, "named-checkzone")
	zones := map[string]string{net.Domain: "dns/db." + net.Domain, net.ReverseZone: "dns/db." + net.ReverseZone}
	for zone, p := range zones {
		zf := writeFile(t, dir, filepath.Base(p), b.text(t, p))
		if out, err := exec.Command(checkzone, "-k", "fail", "-n", "fail", "-i", "full", zone, zf).CombinedOutput(); err != nil {
			t.Errorf("named-checkzone %s rejects %s: %v\n%s", zone, p, err, out)
		}
	}
	checkconf := testutil.NeedProgram(t, "named-checkconf")
	nc := b.chain.namedConf
	writeFile(t, dir, filepath.Base(nc), b.text(t, nc))
	wrapper := writeFile(t, dir, "named.conf", "options { directory \""+dir+"\"; };\ninclude \""+filepath.Join(dir, filepath.Base(nc))+"\";\n")
	if out, err := exec.Command(checkconf, "-z", wrapper).CombinedOutput(); err != nil {
		t.Errorf("named-checkconf -z rejects %s with its zones: %v\n%s", nc, err, out)
	}

	grubs := b.paths(`^(tftp/grub|grub/)`)
	if !b.chain.pxe {
		if len(grubs) != 0 {
			t.Errorf("GRUB files in a design without PXE menus: %v", grubs)
		}
	} else {
		grub := testutil.NeedProgram(t, "grub-script-check")
		if len(grubs) < 2 {
			t.Errorf("only %d GRUB files", len(grubs))
		}
		for _, p := range grubs {
			gf := writeFile(t, dir, filepath.Base(p), b.text(t, p))
			if out, err := exec.Command(grub, gf).CombinedOutput(); err != nil {
				t.Errorf("grub-script-check rejects %s: %v\n%s", p, err, out)
			}
		}
	}

	agreeWithHosts(t, b)
}

// agreeWithHosts: every name and address in dnsmasq, dhcpd and the zones
// is the one the hosts file gives, and every provisioning-network name of
// the hosts file is in each.
func agreeWithHosts(t *testing.T, b *built) {
	t.Helper()
	hosts := hostsMap(t, b)
	c := b.site.Cluster
	var net = c.Networks[0]
	for _, n := range c.Networks {
		if n.Provisioning {
			net = n
		}
	}
	same := func(src, name, ip string) {
		if want, ok := hosts[name]; !ok {
			t.Errorf("%s has %s, which the hosts file lacks", src, name)
		} else if want != ip {
			t.Errorf("%s gives %s address %s; hosts gives %s", src, name, ip, want)
		}
	}
	// dnsmasq host-record=NAME[,NAME…],IP
	records := 0
	dnsmasq := b.text(t, b.chain.dnsmasq[0])
	for _, m := range regexp.MustCompile(`(?m)^host-record=(.*)$`).FindAllStringSubmatch(dnsmasq, -1) {
		parts := strings.Split(m[1], ",")
		ip := parts[len(parts)-1]
		for _, name := range parts[:len(parts)-1] {
			same("dnsmasq.conf host-record", name, ip)
			records++
		}
	}
	if records != len(hosts) {
		t.Errorf("dnsmasq.conf has %d host-record names, the hosts file %d", records, len(hosts))
	}
	// dhcp-host=MAC,IP,NAME,lease — and the MAC is the node's.
	nodesByName := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^dhcp-host=([^,]+),([^,]+),([^,]+),`).FindAllStringSubmatch(dnsmasq, -1) {
		n := c.Node(m[3])
		if n == nil {
			t.Errorf("dnsmasq.conf dhcp-host for unknown node %s", m[3])
			continue
		}
		nodesByName[m[3]] = true
		same("dnsmasq.conf dhcp-host", m[3]+"."+net.Domain, m[2])
		if i := n.Iface(net.Name); i == nil || i.MAC != m[1] {
			t.Errorf("dnsmasq.conf gives %s MAC %s", m[3], m[1])
		}
	}
	withMAC := 0
	for _, n := range c.Nodes {
		if i := n.Iface(net.Name); i != nil && i.MAC != "" {
			withMAC++
			if !nodesByName[n.Name] {
				t.Errorf("dnsmasq.conf has no dhcp-host for %s, whose MAC site.yaml gives", n.Name)
			}
		}
	}
	if len(nodesByName) != withMAC || withMAC == 0 {
		t.Errorf("dnsmasq.conf has %d dhcp-host lines; %d nodes have a MAC on %s", len(nodesByName), withMAC, net.Name)
	}
	if p := b.chain.dhcpd; p != "" {
		hostBlocks := regexp.MustCompile(`(?s)host (\S+) \{\s*hardware ethernet ([0-9a-f:]+);\s*fixed-address ([0-9.]+);`).FindAllStringSubmatch(b.text(t, p), -1)
		for _, m := range hostBlocks {
			same("dhcpd.conf", m[1]+"."+net.Domain, m[3])
			if !nodesByName[m[1]] {
				t.Errorf("dhcpd.conf has host %s that dnsmasq.conf lacks", m[1])
			}
			if i := c.Node(m[1]).Iface(net.Name); i.MAC != m[2] {
				t.Errorf("dhcpd.conf gives %s MAC %s, want %s", m[1], m[2], i.MAC)
			}
		}
		if len(hostBlocks) != len(nodesByName) || len(hostBlocks) == 0 {
			t.Errorf("dhcpd.conf has %d hosts, dnsmasq.conf %d", len(hostBlocks), len(nodesByName))
		}
	}
	// Zones: A records NAME IN A IP; PTR REL IN PTR FQDN.
	a := regexp.MustCompile(`(?m)^(\S+)\tIN\tA\t(\S+)$`).FindAllStringSubmatch(b.text(t, "dns/db."+net.Domain), -1)
	ptr := regexp.MustCompile(`(?m)^(\S+)\tIN\tPTR\t(\S+)\.$`).FindAllStringSubmatch(b.text(t, "dns/db."+net.ReverseZone), -1)
	want := 0
	for name := range hosts {
		if strings.HasSuffix(name, "."+net.Domain) {
			want++
		}
	}
	if len(a) != want || len(ptr) != want {
		t.Errorf("zones have %d A and %d PTR records; hosts has %d names in %s", len(a), len(ptr), want, net.Domain)
	}
	for _, m := range a {
		same("forward zone", m[1]+"."+net.Domain, m[2])
	}
	for _, m := range ptr {
		octets := strings.Split(m[1]+"."+strings.TrimSuffix(net.ReverseZone, ".in-addr.arpa"), ".")
		for i, j := 0, len(octets)-1; i < j; i, j = i+1, j-1 {
			octets[i], octets[j] = octets[j], octets[i]
		}
		same("reverse zone", m[2], strings.Join(octets, "."))
	}
}

func TestExampleNetworkFiles(t *testing.T) { checkNetwork(t, example(t)) }

func TestSlurmNetworkFiles(t *testing.T) { checkNetwork(t, slurm(t)) }

func TestNetworkFilesInEveryDialect(t *testing.T) {
	for _, os_ := range dialects {
		t.Run(os_, func(t *testing.T) {
			checkNetwork(t, buildSource(t, pipeline.Source{Dir: starterSite(t, os_, 3)}))
		})
	}
}

// The checkers do check: a broken file fails each of them.
func TestCheckersRejectBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		prog string
		args func(f string) []string
		text string
	}{
		{"dnsmasq", func(f string) []string { return []string{"--test", "--conf-file=" + f} }, "dhcp-range=10.0.0.300,10.0.0.1\n"},
		{"dhcpd", func(f string) []string { return []string{"-t", "-4", "-cf", f} }, "subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.5 }\n"},
		{"named-checkzone", func(f string) []string { return []string{"example.org", f} }, "$TTL 60\n@ IN SOA ns. h. ( 1 2 3 4 )\n"},
		{"grub-script-check", func(f string) []string { return []string{f} }, "menuentry 'x' {\n linux /vmlinuz\n"},
	}
	for i, c := range cases {
		p := testutil.NeedProgram(t, c.prog)
		f := writeFile(t, dir, "broken"+string(rune('a'+i)), c.text)
		if out, err := exec.Command(p, c.args(f)...).CombinedOutput(); err == nil {
			t.Errorf("%s accepts a broken file:\n%s", c.prog, out)
		}
	}
}
