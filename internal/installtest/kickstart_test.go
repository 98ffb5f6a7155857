package installtest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/kickstart"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

var dialects = []string{"el9", "el10", "el8"}

// checkKickstarts lints every kickstart of a build in its dialect, checks
// root's password is only there as a SHA-512 crypt hash of the site's
// secret, and shellchecks every %post body (all at once, in one run).
func checkKickstarts(t *testing.T, b *built, shellcheckAll bool) {
	t.Helper()
	c := b.site.Cluster
	pw := secret(t, b.site, "root_password")
	kss := b.paths(`(^|/)kickstart-[^/]+\.cfg$`)
	if b.chain.usbKickstarts {
		if want := 2*len(c.Nodes) - countVMs(c); len(kss) != want {
			t.Fatalf("%d kickstarts, want %d (one per node, and again on the USB key for each physical node)", len(kss), want)
		}
	} else if len(kss) != len(c.Nodes) {
		t.Fatalf("%d kickstarts, want one per node (%d)", len(kss), len(c.Nodes))
	}
	dir := t.TempDir()
	var bodies []string
	seenRole := map[string]bool{}
	for _, p := range kss {
		f := b.files[p]
		text := string(f.Data)
		ks, probs := kickstart.Lint(c.OS, text)
		for _, pr := range probs {
			t.Errorf("%s (%s): %s", p, c.OS, pr)
		}
		if f.Mode.Perm() != 0o600 || !f.Secret {
			t.Errorf("%s: mode %04o, secret %v; a kickstart carries a password hash and must be 0600", p, f.Mode.Perm(), f.Secret)
		}
		if strings.Contains(text, pw) {
			t.Errorf("%s contains root's password in plain text", p)
		}
		rp := ks.Command("rootpw")
		if rp == nil {
			t.Errorf("%s has no rootpw", p)
		} else if _, crypted := rp.Flag("--iscrypted"); !crypted {
			t.Errorf("%s: rootpw without --iscrypted", p)
		} else if h := rp.Args[len(rp.Args)-1]; !verifies(pw, h) {
			t.Errorf("%s: rootpw hash %s is not the SHA-512 crypt hash of the site's root_password", p, h)
		}
		if n := c.Node(f.Node); n == nil {
			t.Errorf("%s belongs to no node (%q)", p, f.Node)
		} else {
			kickstartMatchesNode(t, p, ks, n, b.chain.nicsByMAC)
		}
		posts := ks.Section("%post")
		if len(posts) != 1 {
			t.Errorf("%s: %d %%post sections, want 1", p, len(posts))
			continue
		}
		node := f.Node
		if n := c.Node(node); n != nil && (shellcheckAll || !seenRole[n.Role]) && !strings.HasPrefix(p, "usb/") {
			seenRole[n.Role] = true
			bodies = append(bodies, writeFile(t, dir, strings.ReplaceAll(p, "/", "__")+".post.sh",
				"#!/bin/bash\n# %post of "+p+"\n"+posts[0].Body))
		}
	}
	sc := testutil.NeedProgram(t, "shellcheck")
	out, err := exec.Command(sc, append([]string{"--format=gcc", "--shell=bash"}, bodies...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck finds problems in %%post bodies:\n%s", out)
	}
}

// kickstartMatchesNode: the kickstart sets up each of the node's
// interfaces with its address from the model, and installs every package
// the node's modules need. An interface the installer can name (its MAC
// is known, or it is the NIC the node boots from) has a network line, the
// boot NIC's first with the host name; one it cannot gets a
// NetworkManager profile by name in %post, which its .link file completes
// once site.yaml gives the MAC. A design that does not name NICs by MAC
// (byMAC false) has a line for every interface, the first with the host name.
func kickstartMatchesNode(t *testing.T, p string, ks *kickstart.File, n *model.Node, byMAC bool) {
	t.Helper()
	nets := map[string]*kickstart.Line{}
	all := ks.All("network")
	for _, l := range all {
		dev, _ := l.Flag("--device")
		nets[dev] = l
	}
	var named, unnamed []*model.Interface
	if !byMAC {
		named = n.Interfaces
	} else if b := n.BootIface(); b != nil {
		named = append(named, b)
	}
	for _, i := range n.Interfaces {
		if i.Boot || !byMAC {
			continue
		}
		if i.MAC != "" {
			named = append(named, i)
		} else {
			unnamed = append(unnamed, i)
		}
	}
	if len(nets) != len(named) {
		t.Errorf("%s: %d network lines for %s's %d interfaces the installer can name", p, len(nets), n.Name, len(named))
	}
	if len(all) > 0 && len(named) > 0 {
		if dev, _ := all[0].Flag("--device"); dev != named[0].NIC {
			t.Errorf("%s: the first network line (which the installer's initramfs brings up) is %s, want the boot NIC %s", p, dev, named[0].NIC)
		}
	}
	for i, want := range named {
		l := nets[want.NIC]
		if l == nil {
			t.Errorf("%s: no network line for %s's %s", p, n.Name, want.NIC)
			continue
		}
		ip, _ := l.Flag("--ip")
		mask, _ := l.Flag("--netmask")
		gw, _ := l.Flag("--gateway")
		host, _ := l.Flag("--hostname")
		if bp, _ := l.Flag("--bootproto"); bp != "static" || ip != want.IP || mask != want.Netmask || gw != want.Gateway {
			t.Errorf("%s: %s is %s %s/%s gateway %q; the model says static %s/%s gateway %q", p, want.NIC, bp, ip, mask, gw, want.IP, want.Netmask, want.Gateway)
		}
		wantHost := "" // the host name goes on the first line only
		if i == 0 {
			wantHost = n.FQDN
		}
		if host != wantHost {
			t.Errorf("%s: %s sets host name %q, want %q", p, want.NIC, host, wantHost)
		}
	}
	post := ""
	if ps := ks.Section("%post"); len(ps) == 1 {
		post = ps[0].Body
	}
	for _, i := range n.Interfaces {
		if !byMAC {
			break
		}
		link := "/etc/systemd/network/10-kiln-" + i.NIC + ".link"
		if i.MAC != "" && !strings.Contains(post, link+" <<'KILN_EOF'\n# Written by kiln: the NIC with this MAC takes its name in the design.\n[Match]\nMACAddress="+i.MAC+"\n\n[Link]\nName="+i.NIC+"\n") {
			t.Errorf("%s: %%post does not bind %s to MAC %s in %s", p, i.NIC, i.MAC, link)
		}
	}
	for _, want := range unnamed {
		if !strings.Contains(post, "interface-name="+want.NIC+"\n") || !strings.Contains(post, fmt.Sprintf("address1=%s/%d\n", want.IP, want.Prefix)) {
			t.Errorf("%s: %%post has no NetworkManager profile for %s (%s/%d), whose MAC site.yaml does not give", p, want.NIC, want.IP, want.Prefix)
		}
	}
	if b := ks.Command("bootloader"); b != nil {
		if a, _ := b.Flag("--append"); strings.Contains(a, "net.ifnames=0") {
			t.Errorf("%s: bootloader --append=%q: net.ifnames=0 names NICs by probe order", p, a)
		}
	}
	pkgs := ks.Section("%packages")
	if len(pkgs) != 1 {
		t.Errorf("%s: %d %%packages sections", p, len(pkgs))
		return
	}
	listed := map[string]bool{}
	for _, l := range strings.Split(pkgs[0].Body, "\n") {
		listed[strings.TrimSpace(l)] = true
	}
	for _, pkg := range n.Packages {
		if !listed[pkg] {
			t.Errorf("%s: %%packages lacks %s, which %s's modules need", p, pkg, n.Name)
		}
	}
}

func countVMs(c *model.Cluster) int {
	n := 0
	for _, x := range c.Nodes {
		if x.Kind != "physical" {
			n++
		}
	}
	return n
}

// verifies checks a $6$ hash against a password, as login would.
func verifies(pw, hash string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "" || parts[1] != "6" {
		return false
	}
	return render.SHA512Crypt(pw, parts[2]) == hash
}

func secret(t testing.TB, s *pipeline.Site, name string) string {
	t.Helper()
	ref, ok := s.Defs.Site.Secrets[name]
	if !ok {
		t.Fatalf("the site has no secret %s", name)
	}
	data, err := fs.ReadFile(s.Defs.SiteFS, path.Clean(ref.File.Value))
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimRight(string(data), "\r\n")
	if len(v) < 8 {
		t.Fatalf("secret %s is too short to search for", name)
	}
	return v
}

func TestExampleKickstarts(t *testing.T) {
	checkKickstarts(t, example(t), true)
}

// The Slurm fixture's kickstarts, in its site's dialect (el9), with every
// %post shellchecked.
func TestSlurmKickstarts(t *testing.T) {
	b := slurm(t)
	if b.site.Cluster.OS != "el9" {
		t.Fatalf("the Slurm fixture's os is %s; its kickstarts are written for el9", b.site.Cluster.OS)
	}
	checkKickstarts(t, b, true)
}

// Every dialect: a starter site (all roles, 6 workers) built for each OS.
func TestKickstartsInEveryDialect(t *testing.T) {
	for _, os_ := range dialects {
		t.Run(os_, func(t *testing.T) {
			b := buildSource(t, pipeline.Source{Dir: starterSite(t, os_, 6)})
			if b.site.Cluster.OS != os_ {
				t.Fatalf("the site resolved to os %s", b.site.Cluster.OS)
			}
			checkKickstarts(t, b, false)
			wn := b.text(t, "kickstart-wn1.cfg")
			ks, _ := kickstart.Lint(os_, wn)
			// The dialect's own forms, beyond what the linter allows.
			if ks.Command("install") != nil || ks.Command("auth") != nil {
				t.Errorf("install or auth command in an %s kickstart", os_)
			}
			if got := ks.Command("timesource") != nil; got == (os_ == "el8") {
				t.Errorf("timesource present: %v on %s (el9 and later only)", got, os_)
			}
			if u := ks.Command("url"); u == nil {
				t.Error("a worker's kickstart has no url (install source)")
			}
			if !strings.Contains(b.text(t, "usb/README.txt"), "inst.ks=hd:LABEL=KILN:/ks/") {
				t.Errorf("usb/README.txt has no inst.ks boot line")
			}
			if !strings.Contains(b.text(t, "tftp/pxelinux.cfg/default"), "inst.ks=") {
				t.Errorf("pxelinux menu has no inst.ks= for %s", os_)
			}
		})
	}
}

// One node of each role, in each dialect, is kept as a golden file.
func TestKickstartGolden(t *testing.T) {
	for _, os_ := range dialects {
		b := buildSource(t, pipeline.Source{Dir: starterSite(t, os_, 2)})
		done := map[string]bool{}
		for _, n := range b.site.Cluster.Nodes {
			if done[n.Role] {
				continue
			}
			done[n.Role] = true
			name := "kickstart-" + n.Name + ".cfg"
			got := b.text(t, name)
			g := filepath.Join("testdata", "golden", os_, name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(g), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(g, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(g)
			if err != nil {
				t.Errorf("%s: %v (run go test ./internal/installtest -update)", g, err)
				continue
			}
			if string(want) != got {
				t.Errorf("%s differs from the build (run go test ./internal/installtest -update if meant):\n%s", g, firstDiff(string(want), got))
			}
		}
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("  line %d:\n    want: %s\n    got:  %s", i+1, w, g)
		}
	}
	return ""
}
