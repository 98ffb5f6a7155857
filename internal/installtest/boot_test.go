package installtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
)

// There is no PXELINUX or iPXE script checker in Debian, so these files
// are checked by a careful parser: every directive is one the program
// knows, every label a menu or DEFAULT names exists, and each node entry
// boots the installer with that node's kickstart.

var pxeDirectives = map[string]bool{"UI": true, "DEFAULT": true, "PROMPT": true, "TIMEOUT": true, "ONTIMEOUT": true,
	"MENU": true, "LABEL": true, "KERNEL": true, "APPEND": true, "IPAPPEND": true, "LOCALBOOT": true}

type pxeLabel struct {
	kernel, append string
	local          bool
}

func parsePXE(t *testing.T, name, text string) (map[string]string, map[string]*pxeLabel) {
	t.Helper()
	global := map[string]string{}
	labels := map[string]*pxeLabel{}
	var cur *pxeLabel
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		kw := strings.ToUpper(f[0])
		if !pxeDirectives[kw] {
			t.Errorf("%s:%d: unknown PXELINUX directive %q", name, i+1, f[0])
			continue
		}
		rest := strings.TrimSpace(line[strings.Index(line, f[0])+len(f[0]):])
		switch kw {
		case "LABEL":
			if len(f) != 2 {
				t.Errorf("%s:%d: LABEL needs one name", name, i+1)
			}
			if labels[f[1]] != nil {
				t.Errorf("%s:%d: label %s twice", name, i+1, f[1])
			}
			cur = &pxeLabel{}
			labels[f[1]] = cur
		case "KERNEL", "APPEND", "LOCALBOOT", "IPAPPEND":
			if cur == nil {
				t.Errorf("%s:%d: %s outside a LABEL", name, i+1, kw)
				continue
			}
			switch kw {
			case "KERNEL":
				cur.kernel = rest
			case "APPEND":
				cur.append = rest
			case "LOCALBOOT":
				cur.local = true
			case "IPAPPEND":
				if rest != "2" {
					t.Errorf("%s:%d: IPAPPEND %s (2 sends BOOTIF)", name, i+1, rest)
				}
			}
		case "MENU":
			// MENU TITLE/LABEL/DEFAULT — inside or outside a label
		default:
			if cur != nil {
				t.Errorf("%s:%d: global %s after a LABEL", name, i+1, kw)
			}
			global[kw] = rest
		}
	}
	for _, k := range []string{"DEFAULT", "ONTIMEOUT"} {
		if v, ok := global[k]; ok && labels[v] == nil {
			t.Errorf("%s: %s %s names no label", name, k, v)
		}
	}
	for l, x := range labels {
		if x.local == (x.kernel != "") {
			t.Errorf("%s: label %s must either LOCALBOOT or boot a KERNEL", name, l)
		}
		if x.kernel != "" && !strings.Contains(x.append, "initrd=") {
			t.Errorf("%s: label %s has no initrd", name, l)
		}
	}
	return global, labels
}

// ipxeCommands are the iPXE commands the scripts may use.
var ipxeCommands = map[string]bool{"iseq": true, "chain": true, "menu": true, "item": true, "choose": true,
	"goto": true, "exit": true, "kernel": true, "initrd": true, "boot": true}

var ipxeOps = regexp.MustCompile(`\s*(?:&&|\|\|)\s*`)

func checkIPXE(t *testing.T, name, text string) (labels map[string]bool, chains []string) {
	t.Helper()
	if !strings.HasPrefix(text, "#!ipxe\n") {
		t.Errorf("%s does not start with #!ipxe", name)
	}
	labels = map[string]bool{}
	var gotos []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if l, ok := strings.CutPrefix(line, ":"); ok {
			if labels[l] {
				t.Errorf("%s:%d: label %s twice", name, i+1, l)
			}
			labels[l] = true
			continue
		}
		for _, stmt := range ipxeOps.Split(line, -1) {
			f := strings.Fields(stmt)
			if len(f) == 0 {
				continue
			}
			if !ipxeCommands[f[0]] {
				t.Errorf("%s:%d: unknown iPXE command %q", name, i+1, f[0])
			}
			switch f[0] {
			case "goto":
				gotos = append(gotos, f[1])
			case "chain":
				chains = append(chains, f[len(f)-1])
			case "item":
				if len(f) > 1 && f[1] != "--key" {
					gotos = append(gotos, f[1])
				} else if len(f) > 3 {
					gotos = append(gotos, f[3])
				}
			}
		}
	}
	for _, g := range gotos {
		if !strings.HasPrefix(g, "${") && !labels[g] {
			t.Errorf("%s: goto/item target %s has no label", name, g)
		}
	}
	return labels, chains
}

// checkBoot checks a build's network boot files: the PXELINUX and GRUB
// menus when the design has them, and the iPXE scripts.
func checkBoot(t *testing.T, b *built) {
	t.Helper()
	if b.chain.pxe {
		checkPXE(t, b)
	} else if pxe := b.paths(`^tftp/`); len(pxe) != 0 {
		t.Errorf("PXELINUX or GRUB files in a design without PXE menus: %v", pxe)
	}
	checkIPXEScripts(t, b)
}

// checkPXE: one PXELINUX menu entry per node, installing it with its
// kickstart; per-MAC PXELINUX and GRUB files for every node with a boot
// MAC; a local-boot form.
func checkPXE(t *testing.T, b *built) {
	t.Helper()
	c := b.site.Cluster
	_, labels := parsePXE(t, "pxelinux.cfg/default", b.text(t, "tftp/pxelinux.cfg/default"))
	// A node is listed when its boot MAC is known: PXELINUX cannot put the
	// MAC of the NIC it booted from into ifname=, so the others boot by
	// iPXE or GRUB.
	listed := 0
	for _, n := range c.Nodes {
		l := labels[n.Name]
		bi := n.BootIface()
		if bi == nil || bi.MAC == "" {
			if l != nil {
				t.Errorf("the PXELINUX menu lists %s, whose boot MAC is unknown", n.Name)
			}
			continue
		}
		listed++
		if l == nil {
			t.Errorf("the PXELINUX menu has no entry for %s", n.Name)
			continue
		}
		if !strings.Contains(l.append, "/kiln/kickstart-"+n.Name+".cfg") {
			t.Errorf("PXELINUX entry %s does not install with its kickstart: %s", n.Name, l.append)
		}
		for _, i := range n.Interfaces {
			if i.MAC != "" && !strings.Contains(l.append, " ifname="+i.NIC+":"+i.MAC) {
				t.Errorf("PXELINUX entry %s does not name %s by its MAC %s: %s", n.Name, i.NIC, i.MAC, l.append)
			}
		}
		if strings.Contains(l.append, "net.ifnames=0") {
			t.Errorf("PXELINUX entry %s: net.ifnames=0 names NICs by probe order", n.Name)
		}
	}
	if len(labels) != listed+1 {
		t.Errorf("PXELINUX menu has %d labels, want one per node with a boot MAC (%d) and local", len(labels), listed)
	}
	withMAC := 0
	for _, n := range c.Nodes {
		bi := n.BootIface()
		if bi == nil || bi.MAC == "" {
			continue
		}
		withMAC++
		dashes := "01-" + strings.ReplaceAll(bi.MAC, ":", "-")
		g, ls := parsePXE(t, dashes, b.text(t, "tftp/pxelinux.cfg/"+dashes))
		if l := ls[g["DEFAULT"]]; l == nil || !strings.Contains(l.append, "kickstart-"+n.Name+".cfg") {
			t.Errorf("pxelinux.cfg/%s does not install %s by default", dashes, n.Name)
		}
		// The GRUB file by MAC hands over to the node's own GRUB file,
		// which kiln serve decides; that one installs by default.
		nodeGrub := "grub/" + n.Name + ".cfg"
		if grub := b.text(t, "tftp/grub.cfg-"+dashes); !regexp.MustCompile(`(?m)^configfile \(http,[^)]+\)/kiln/` + regexp.QuoteMeta(nodeGrub) + `$`).MatchString(grub) {
			t.Errorf("grub.cfg-%s does not hand over to %s over HTTP:\n%s", dashes, nodeGrub, grub)
		}
		if grub := b.text(t, nodeGrub); !strings.Contains(grub, "kickstart-"+n.Name+".cfg") || !strings.Contains(grub, "set default=install") {
			t.Errorf("%s does not install %s by default", nodeGrub, n.Name)
		}
		if f := b.files["tftp/pxelinux.cfg/"+dashes]; f.Node != n.Name {
			t.Errorf("pxelinux.cfg/%s belongs to %q, want %s", dashes, f.Node, n.Name)
		}
	}
	if got := len(b.paths(`^tftp/pxelinux\.cfg/01-`)); got != withMAC || got != len(b.paths(`^tftp/grub\.cfg-01-`)) {
		t.Errorf("%d per-MAC PXELINUX files, %d nodes with a boot MAC", got, withMAC)
	}
	if _, ls := parsePXE(t, "localboot", b.text(t, "tftp/pxelinux.cfg/localboot")); len(ls) != 1 || !ls["local"].local {
		t.Error("pxelinux.cfg/localboot does not boot the local disk")
	}
	checkGRUBPaths(t, b)
}

// checkGRUBPaths: every file a GRUB file opens over HTTP is one kiln serve
// has: a file of the build under /kiln/ (kiln serve answers grub/NODE.cfg
// for the node), or the installer's kernel and initrd in the install
// tree's images/pxeboot/ under /os/. Every node has its GRUB file.
func checkGRUBPaths(t *testing.T, b *built) {
	t.Helper()
	// The install server's own address: a site mirror (mirror_url) is
	// another host, whose tree is the site's business.
	var server string
	for _, n := range b.site.Cluster.NodesWith("install_server") {
		server = fmt.Sprint(n.Param("install_server", "listen_address"))
	}
	ref := regexp.MustCompile(`\(http,([^):]+)(?::[0-9]+)?\)(/\S*)`)
	n := 0
	for _, p := range b.paths(`^(tftp/grub|grub/)`) {
		for _, m := range ref.FindAllStringSubmatch(b.text(t, p), -1) {
			if m[1] != server {
				continue
			}
			n++
			switch u := m[2]; {
			case strings.HasPrefix(u, "/kiln/"):
				if _, ok := b.files[strings.TrimPrefix(u, "/kiln/")]; !ok {
					t.Errorf("%s opens %s, which is not in the build", p, u)
				}
			case strings.HasPrefix(u, "/os/"):
				if !regexp.MustCompile(`^/os/[a-z0-9]+/images/pxeboot/(vmlinuz|initrd\.img)$`).MatchString(u) {
					t.Errorf("%s opens %s, not the installer's kernel or initrd in the install tree", p, u)
				}
			default:
				t.Errorf("%s opens %s, which kiln serve does not serve", p, u)
			}
		}
	}
	if n == 0 {
		t.Error("no GRUB file opens anything over HTTP")
	}
	for _, node := range b.site.Cluster.Nodes {
		if _, ok := b.files["grub/"+node.Name+".cfg"]; !ok {
			t.Errorf("%s has no GRUB file grub/%s.cfg", node.Name, node.Name)
		}
	}
}

// checkIPXEScripts: the entry script chains to every node's own script
// (by MAC where the node's is known), each of which boots the installer
// with that node's kickstart; and there is a local-boot form.
func checkIPXEScripts(t *testing.T, b *built) {
	t.Helper()
	c := b.site.Cluster
	labelsChain, chains := checkIPXE(t, "boot.ipxe", b.text(t, "ipxe/boot.ipxe"))
	if !labelsChain["local"] || b.chain.ipxeMenu && !labelsChain["menu"] {
		t.Error("boot.ipxe lacks its menu or local labels")
	}
	chained := map[string]bool{}
	for _, ch := range chains {
		ch, _, _ = strings.Cut(ch, "?") // kiln serve's asset check reads the query
		chained[ch[strings.LastIndex(ch, "/")+1:]] = true
	}
	for _, n := range c.Nodes {
		if !chained[n.Name+".ipxe"] {
			t.Errorf("boot.ipxe never chains %s.ipxe", n.Name)
		}
		text := b.text(t, "ipxe/"+n.Name+".ipxe")
		checkIPXE(t, n.Name+".ipxe", text)
		for _, want := range []string{"\nkernel ", "\ninitrd ", "\nboot\n", "kickstart-" + n.Name + ".cfg"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s.ipxe lacks %q", n.Name, strings.TrimSpace(want))
			}
		}
		if bi := n.BootIface(); bi != nil && bi.MAC != "" && !strings.Contains(b.text(t, "ipxe/boot.ipxe"), "iseq ${net0/mac} "+bi.MAC+" ") {
			t.Errorf("boot.ipxe does not pick %s by its MAC", n.Name)
		}
	}
	checkIPXE(t, "localboot.ipxe", b.text(t, "ipxe/localboot.ipxe"))
}

func TestExampleBootFiles(t *testing.T) { checkBoot(t, example(t)) }

func TestSlurmBootFiles(t *testing.T) { checkBoot(t, slurm(t)) }

func TestBootFilesInEveryDialect(t *testing.T) {
	for _, os_ := range dialects {
		t.Run(os_, func(t *testing.T) { checkBoot(t, buildSource(t, pipeline.Source{Dir: starterSite(t, os_, 3)})) })
	}
}

// Changing one node's MAC in site.yaml changes that node's files and the
// cluster-wide DHCP tables that list every MAC — nothing else.
func TestMACChangeTouchesOnlyThatNode(t *testing.T) {
	dir := starterSite(t, "el9", 4)
	before := buildSource(t, pipeline.Source{Dir: dir})
	wn := before.site.Cluster.Node("wn3")
	if wn == nil || wn.BootIface() == nil || wn.BootIface().MAC == "" {
		t.Fatal("the starter site's wn3 has no boot MAC")
	}
	old := wn.BootIface().MAC
	site := filepath.Join(dir, "site.yaml")
	data, _ := os.ReadFile(site)
	if bytes.Count(data, []byte(old)) != 1 {
		t.Fatalf("site.yaml has MAC %s %d times", old, bytes.Count(data, []byte(old)))
	}
	if err := os.WriteFile(site, bytes.Replace(data, []byte(old), []byte("02:00:00:00:99:99"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	after := buildSource(t, pipeline.Source{Dir: dir})
	allowed := map[string]bool{"dhcp/dnsmasq.conf": true, "dhcp/dnsmasq-proxydhcp.conf": true, "dhcp/dhcpd.conf": true,
		"ipxe/boot.ipxe": true, "tftp/grub.cfg": true, "cluster.json": true, // the entry script and menu go by MAC
		"tftp/pxelinux.cfg/default": true, "usb/README.txt": true, // their boot lines name NICs by MAC (ifname=)
		"runbook.md": true, "runbook.html": true, "wiring.svg": true} // the cabling table and picture show every MAC
	var changed []string
	diff := func(p string, a, b render.File, inA, inB bool) {
		if inA && inB && bytes.Equal(a.Data, b.Data) {
			return
		}
		changed = append(changed, p)
		owner := a.Node
		if !inA {
			owner = b.Node
		}
		if owner != "wn3" && !allowed[p] {
			t.Errorf("%s changed, though it belongs to %q, not wn3", p, owner)
		}
	}
	for p, f := range before.files {
		g, ok := after.files[p]
		diff(p, f, g, true, ok)
	}
	for p, g := range after.files {
		if _, ok := before.files[p]; !ok {
			diff(p, render.File{}, g, false, true)
		}
	}
	for _, want := range []string{"tftp/pxelinux.cfg/01-02-00-00-00-99-99", "tftp/grub.cfg-01-02-00-00-00-99-99", "dhcp/dnsmasq.conf"} {
		if !contains(changed, want) {
			t.Errorf("%s did not change with the MAC", want)
		}
	}
	t.Logf("changed: %s", strings.Join(changed, " "))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
