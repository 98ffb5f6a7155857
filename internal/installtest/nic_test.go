package installtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/testutil"
)

// linkHeredoc is a .link file the kickstart's %post writes.
var linkHeredoc = regexp.MustCompile(`(?s)cat >/etc/systemd/network/(10-kiln-[A-Za-z0-9_.-]+\.link) <<'KILN_EOF'\n(.*?)KILN_EOF\n`)

// The .link files the example's kickstarts write, read by udev itself
// (udevadm test-builtin net_setup_link, systemd 252) in a mount and network
// namespace of their own: the NIC with a file's MAC takes the design's name,
// a NIC with another MAC keeps the one it has. The Puppet module's list
// (kiln_site/files/nics) names the same NICs and MACs.
func TestNICLinkFilesNameEachNICByItsMAC(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root (a network and mount namespace); CI runs as root")
		}
		t.Skip("needs root for a network and mount namespace")
	}
	udevadm := testutil.NeedProgram(t, "udevadm")
	unshare := testutil.NeedProgram(t, "unshare")
	ipCmd := testutil.NeedProgram(t, "ip")
	b := example(t)
	c := b.site.Cluster
	checked := 0
	for _, n := range c.Nodes {
		ks := b.text(t, "kickstart-"+n.Name+".cfg")
		files := map[string]string{}
		for _, m := range linkHeredoc.FindAllStringSubmatch(ks, -1) {
			files[m[1]] = m[2]
		}
		list := b.text(t, "puppet/modules/kiln_site/files/nics/"+n.FQDN)
		var fromPuppet []string
		for _, l := range strings.Split(list, "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				fromPuppet = append(fromPuppet, l)
			}
		}
		var want []string
		script := "set -e\nmkdir -p /run/systemd/network\nmount -t tmpfs kiln /run/systemd/network\nmount -t sysfs kiln /sys\n"
		for name, text := range files {
			script += fmt.Sprintf("cat >/run/systemd/network/%s <<'KILN_EOF'\n%sKILN_EOF\n", name, text)
		}
		for k, i := range n.Interfaces {
			if i.MAC == "" {
				if _, ok := files["10-kiln-"+i.NIC+".link"]; ok {
					t.Errorf("%s: %s has no MAC in site.yaml, yet the kickstart binds it to one", n.Name, i.NIC)
				}
				continue
			}
			want = append(want, i.NIC+" "+i.MAC)
			script += fmt.Sprintf("%s link add kt%d address %s type veth peer name kp%d\n", ipCmd, k, i.MAC, k)
			script += fmt.Sprintf("printf 'kt%d '; %s test-builtin net_setup_link /sys/class/net/kt%d 2>/dev/null | grep '^ID_NET_NAME='\n", k, udevadm, k)
		}
		if len(want) == 0 {
			continue
		}
		sort.Strings(want)
		sort.Strings(fromPuppet)
		if strings.Join(want, "\n") != strings.Join(fromPuppet, "\n") {
			t.Errorf("%s: kiln_site's NIC list is %q, want %q", n.Name, fromPuppet, want)
		}
		// A NIC whose MAC no file names keeps its own name.
		script += fmt.Sprintf("%s link add kx address 02:00:00:00:00:fe type veth peer name kxp\n", ipCmd)
		script += fmt.Sprintf("printf 'kx '; %s test-builtin net_setup_link /sys/class/net/kx 2>/dev/null | grep '^ID_NET_NAME='\n", udevadm)
		out, err := exec.Command(unshare, "--mount", "--net", "--propagation", "private", "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Errorf("%s: udevadm in a namespace: %v\n%s", n.Name, err, out)
			continue
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			dev, name, _ := strings.Cut(l, " ID_NET_NAME=")
			got[dev] = name
		}
		for k, i := range n.Interfaces {
			if i.MAC == "" {
				continue
			}
			if dev := fmt.Sprintf("kt%d", k); got[dev] != i.NIC {
				t.Errorf("%s: udev names the NIC with MAC %s %q, want %s (the .link files: %v)", n.Name, i.MAC, got[dev], i.NIC, files)
			}
		}
		if got["kx"] != "kx" {
			t.Errorf("%s: udev renames a NIC no .link file names to %q", n.Name, got["kx"])
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no node of the example has a NIC with a known MAC")
	}
	t.Logf("%d nodes' NICs named by their .link files", checked)
}

// A site that gives no MACs (kiln init without --example-macs) still
// installs every node: the boot NIC is named by the MAC the boot loader
// reports (iPXE's ${netX/mac}, GRUB's $net_default_mac, which
// grub-script-check accepts), its network line comes first, the NICs the
// installer cannot name get their profile in %post, and PXELINUX, which
// cannot report the MAC, lists no such node.
func TestNodesWithoutMACsAreNamedByTheNICTheyBootFrom(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := starter.Write(dir, starter.Options{Workers: 2, Cluster: "nomacs"}); err != nil {
		t.Fatal(err)
	}
	b := buildSource(t, pipeline.Source{Dir: dir})
	b.chain = &tier3
	grubCheck := testutil.NeedProgram(t, "grub-script-check")
	for _, n := range b.site.Cluster.Nodes {
		bi := n.BootIface()
		if n.Kind != "physical" || bi == nil {
			continue
		}
		if bi.MAC != "" {
			t.Fatalf("%s has a boot MAC (%s) in a site without MACs", n.Name, bi.MAC)
		}
		ipxe := b.text(t, "ipxe/"+n.Name+".ipxe")
		if !strings.Contains(ipxe, " ifname="+bi.NIC+":${netX/mac} ") {
			t.Errorf("ipxe/%s.ipxe does not name %s by the MAC of the NIC iPXE booted from:\n%s", n.Name, bi.NIC, ipxe)
		}
		grub := b.text(t, "grub/"+n.Name+".cfg")
		if !strings.Contains(grub, " ifname="+bi.NIC+":$net_default_mac BOOTIF=01-$net_default_mac") {
			t.Errorf("grub/%s.cfg does not name %s by GRUB's $net_default_mac:\n%s", n.Name, bi.NIC, grub)
		}
		gf := writeFile(t, t.TempDir(), n.Name+".cfg", grub)
		if out, err := exec.Command(grubCheck, gf).CombinedOutput(); err != nil {
			t.Errorf("grub-script-check rejects grub/%s.cfg: %v\n%s", n.Name, err, out)
		}
		if strings.Contains(b.text(t, "tftp/pxelinux.cfg/default"), "kickstart-"+n.Name+".cfg") {
			t.Errorf("the PXELINUX menu lists %s, whose boot MAC it cannot report", n.Name)
		}
	}
	checkKickstarts(t, b, false)
}
