package pxetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/state"
	"kiln.dev/kiln/internal/testutil"
)

// The private network of the test site, inside the test's own network
// namespace: no address outside it is ever configured. HTTP is on port 80,
// the install server's default: Debian's GRUB 2.06, which stands in for
// the distribution's in the UEFI test, has no host:port device syntax.
const (
	headIP     = "10.99.0.1"
	httpPort   = "80"
	knownMAC   = "52:54:00:99:00:01" // wn1's MAC in site.yaml: iPXE ROM (BIOS)
	biosMAC    = "52:54:00:99:00:03" // wn2's: BIOS firmware PXE over TFTP
	uefiMAC    = "52:54:00:99:00:04" // wn3's: UEFI firmware PXE, Secure Boot
	unknownMAC = "52:54:00:99:00:02" // a machine site.yaml does not know
	sbMAC      = "52:54:00:99:00:05" // another: UEFI Secure Boot, up to GRUB's menu
	knownIP    = "10.99.0.101"       // wn1's address
	biosIP     = "10.99.0.102"       // wn2's
	uefiIP     = "10.99.0.103"       // wn3's
	vmTimeout  = 150 * time.Second   // one boot takes 30-60 s under TCG
)

var base = "http://" + headIP + ":" + httpPort

// tools are the programs the test runs.
type tools struct {
	ip, qemu, dnsmasq, busybox, cpio, aptGet, aptCache, dpkgDeb, unshare, goCmd string
}

func needTools(t *testing.T) tools {
	t.Helper()
	tl := tools{
		ip:       testutil.NeedProgram(t, "ip"),
		qemu:     testutil.NeedProgram(t, "qemu-system-x86_64"),
		dnsmasq:  testutil.NeedProgram(t, "dnsmasq"),
		busybox:  testutil.NeedProgram(t, "busybox"),
		cpio:     testutil.NeedProgram(t, "cpio"),
		aptGet:   testutil.NeedProgram(t, "apt-get"),
		aptCache: testutil.NeedProgram(t, "apt-cache"),
		dpkgDeb:  testutil.NeedProgram(t, "dpkg-deb"),
		unshare:  testutil.NeedProgram(t, "unshare"),
		goCmd:    testutil.NeedProgram(t, "go"), // go test puts its own first in PATH
	}
	// The initrd has no libraries: busybox must be busybox-static's.
	if f, err := elf.Open(tl.busybox); err != nil {
		t.Fatalf("%s: %v", tl.busybox, err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				needFile(t, "", "busybox-static (the busybox in PATH, "+tl.busybox+", is dynamically linked)")
			}
		}
		f.Close()
	}
	// QEMU's e1000 boots with the iPXE ROM that ipxe-qemu installs.
	needFile(t, "/usr/lib/ipxe/qemu/efi-e1000.rom", "ipxe-qemu (Debian's iPXE ROMs for QEMU)")
	// What BIOS firmware PXE loads over TFTP.
	needFile(t, "/usr/lib/ipxe/undionly.kpxe", "ipxe (Debian's iPXE boot images)")
	// UEFI: the firmware and its variables, without and with Secure Boot.
	for _, f := range []string{ovmfCode, ovmfVars, ovmfCodeSB, ovmfVarsSB} {
		needFile(t, f, "ovmf (Debian's UEFI firmware for QEMU)")
	}
	return tl
}

// Debian's OVMF builds: plain, and with Secure Boot (SMM) beside the
// variable store with Microsoft's keys enrolled, which turns Secure Boot
// on.
const (
	ovmfCode   = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars   = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	ovmfCodeSB = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	ovmfVarsSB = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
)

// needFile skips (fails under CI) when path is missing.
func needFile(t *testing.T, path, what string) {
	t.Helper()
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing; scripts/test installs it (scripts/packages.txt)", what)
	}
	t.Skipf("%s is missing (scripts/test installs it)", what)
}

// TestPXEInstall boots QEMU machines from kiln serve in a network
// namespace, by the chains real machines take, each ending in the node's
// install (the busybox installer plays the kickstart's %post callback) and
// then the local-boot form:
//
//   - known: BIOS with Debian's iPXE ROM on the NIC, which dnsmasq sends
//     straight to kiln serve's iPXE script over HTTP;
//   - bios-firmware-pxe: BIOS PXE from the NIC's firmware, which fetches
//     undionly.kpxe over dnsmasq's TFTP, which then chains to kiln serve;
//   - uefi-secure-boot: UEFI (OVMF) with Secure Boot enforced and
//     Microsoft's keys enrolled, its own PXE client on a virtio NIC without
//     option ROM, which fetches the signed shim over TFTP; shim loads the
//     signed GRUB, whose grub.cfg (the build's) hands over to kiln serve for
//     the node's GRUB file, which loads the signed kernel over HTTP;
//   - discovered: a machine with an unknown MAC is discovered into the free
//     worker slot and installs like the first.
func TestPXEInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU virtual machines over PXE (about three minutes); skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes a network namespace with a bridge and tap devices, and runs dnsmasq")
	}
	tl := needTools(t)
	start := time.Now()
	work := t.TempDir()
	// dnsmasq drops root for nobody, which must reach the TFTP root in it.
	for _, d := range []string{filepath.Dir(work), work} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ns := newNetns(t, tl.ip)

	// The slow preparations run side by side.
	var (
		wg                     sync.WaitGroup
		kern                   *kernelFiles
		efi                    *signedEFI
		kiln                   string
		kernErr, efiErr, goErr error
	)
	wg.Add(3)
	go func() { defer wg.Done(); kern, kernErr = debianKernel(tl) }()
	go func() { defer wg.Done(); efi, efiErr = debianSignedEFI(tl) }()
	go func() { defer wg.Done(); kiln, goErr = buildKiln(tl, work) }()
	site := makeSite(t, work)
	wg.Wait()
	if kernErr != nil {
		t.Fatalf("the installer's kernel from Debian's linux-image package: %v", kernErr)
	}
	if efiErr != nil {
		t.Fatalf("Debian's signed shim and GRUB: %v", efiErr)
	}
	if goErr != nil {
		t.Fatalf("building kiln: %v", goErr)
	}
	run(t, kiln, "build", "-C", site)
	mirror := filepath.Join(work, "mirror")
	pxe := filepath.Join(mirror, "el9", "images", "pxeboot") // where the tier3 boot files point
	if err := os.MkdirAll(pxe, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, kern.vmlinuz, filepath.Join(pxe, "vmlinuz"))
	makeInitrd(t, tl, work, kern.modules, filepath.Join(pxe, "initrd.img"))
	publishTFTP(t, site, efi)
	t.Logf("prepared in %v (kernel %s)", time.Since(start).Round(time.Millisecond), kern.vmlinuz)

	c := nsClient(ns.path)
	read := func(p string) []byte {
		data, err := os.ReadFile(filepath.Join(site, "build", p))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	localIPXE, localGRUB := read("ipxe/localboot.ipxe"), read("grub/localboot.cfg")

	t.Run("firmware", func(t *testing.T) {
		srv := startServe(t, tl, ns, kiln, site, mirror)
		for _, n := range []string{"wn1", "wn2", "wn3"} {
			if got := nodeState(t, c, n); got != state.Planned {
				t.Fatalf("before the boot %s is %s, want %s", n, got, state.Planned)
			}
		}
		t.Run("dhcp-answers", func(t *testing.T) {
			t.Parallel()
			shim, err := os.ReadFile(filepath.Join(site, "tftp", "shimx64.efi"))
			if err != nil {
				t.Fatal(err)
			}
			checkDHCPAnswers(t, tl, ns, shim)
		})
		// The machines boot side by side; each is its own node.
		t.Run("known", func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			serial := bootVM(t, tl, ns, vm{tap: "tap0", mac: knownMAC, work: work})
			t.Logf("iPXE ROM, %s: installed and powered off in %v", knownMAC, time.Since(t0).Round(time.Millisecond))
			checkInstalled(t, c, srv, serial, "wn1", knownMAC, knownIP)
			checkNextBoot(t, c, ns, tl.ip, "wn1", knownMAC, knownIP, localIPXE, localGRUB)
			// The build's entry script was what iPXE chained to (no --discover).
			if !hasEvent(t, c, "wn1", func(e state.Event) bool {
				return e.Kind == state.KindBoot && e.Remote == knownIP
			}) {
				t.Errorf("no boot event of wn1 from %s", knownIP)
			}
		})
		t.Run("bios-firmware-pxe", func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			serial := bootVM(t, tl, ns, vm{tap: "tap2", mac: biosMAC, work: work, firmwarePXE: true})
			t.Logf("BIOS firmware PXE, %s: installed and powered off in %v", biosMAC, time.Since(t0).Round(time.Millisecond))
			checkInstalled(t, c, srv, serial, "wn2", biosMAC, biosIP)
			checkNextBoot(t, c, ns, tl.ip, "wn2", biosMAC, biosIP, localIPXE, localGRUB)
			// The firmware fetched iPXE over dnsmasq's TFTP, and that
			// iPXE (not the ROM) asked kiln serve.
			if !srv.logHas("undionly.kpxe to " + biosIP) {
				t.Errorf("dnsmasq never sent undionly.kpxe to %s over TFTP; kiln serve's log:\n%s", biosIP, srv.log())
			}
			if !strings.Contains(serial, "user-class:string = PXEClient") {
				t.Errorf("the NIC firmware did not identify itself as a plain PXE client; console:\n%s", serial)
			}
		})
		t.Run("uefi-firmware-pxe", func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			serial := bootVM(t, tl, ns, vm{tap: "tap3", mac: uefiMAC, work: work, uefi: true})
			t.Logf("UEFI firmware PXE, %s: installed and powered off in %v", uefiMAC, time.Since(t0).Round(time.Millisecond))
			checkInstalled(t, c, srv, serial, "wn3", uefiMAC, uefiIP)
			checkNextBoot(t, c, ns, tl.ip, "wn3", uefiMAC, uefiIP, localIPXE, localGRUB)
			for _, f := range []string{"shimx64.efi", "grubx64.efi", "grub/grub.cfg"} {
				if !srv.logHas(f + " to " + uefiIP) {
					t.Errorf("dnsmasq never sent %s to %s over TFTP; kiln serve's log:\n%s", f, uefiIP, srv.log())
				}
			}
			if !hasEvent(t, c, "wn3", func(e state.Event) bool {
				return e.Kind == state.KindBoot && e.Remote == uefiIP && strings.Contains(e.Detail, "GRUB")
			}) {
				t.Errorf("no GRUB boot event of wn3 from %s", uefiIP)
			}
		})
		t.Run("uefi-secure-boot-loaders", func(t *testing.T) {
			t.Parallel()
			t0 := time.Now()
			serial := filepath.Join(work, "serial-tap4.log")
			menu := func() bool {
				data, _ := os.ReadFile(serial)
				return bytes.Contains(data, []byte("Install wn1 (worker"))
			}
			text := bootVM(t, tl, ns, vm{tap: "tap4", mac: sbMAC, work: work, uefi: true, secureBoot: true, until: menu})
			t.Logf("UEFI Secure Boot, %s: shim and GRUB ran, GRUB showed the build's menu after %v", sbMAC, time.Since(t0).Round(time.Millisecond))
			for _, want := range []string{"Fetching Netboot Image grubx64.efi", "GNU GRUB", "Install wn1 (worker"} {
				if !strings.Contains(text, want) {
					t.Errorf("with Secure Boot on, the console never showed %q:\n%s", want, text)
				}
			}
		})
	})
	if t.Failed() {
		return
	}

	t.Run("discovered", func(t *testing.T) {
		srv := startServe(t, tl, ns, kiln, site, mirror, "--discover", "worker", "--auto")
		if got := nodeState(t, c, "wn4"); got != state.Planned {
			t.Fatalf("before the boot wn4 is %s, want %s", got, state.Planned)
		}
		t0 := time.Now()
		serial := bootVM(t, tl, ns, vm{tap: "tap1", mac: unknownMAC, work: work})
		t.Logf("VM with %s: discovered, installed and powered off in %v", unknownMAC, time.Since(t0).Round(time.Millisecond))
		siteYAML, err := os.ReadFile(filepath.Join(site, "site.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(siteYAML, []byte(unknownMAC)) {
			t.Errorf("site.yaml does not have the discovered MAC %s:\n%s", unknownMAC, siteYAML)
		}
		if !bytes.Contains(siteYAML, []byte("# The site file of")) {
			t.Errorf("discovery lost site.yaml's comments:\n%s", siteYAML)
		}
		if !hasEvent(t, c, "wn4", func(e state.Event) bool {
			return e.Kind == state.KindDiscover && strings.Contains(e.Detail, unknownMAC)
		}) {
			t.Errorf("no discover event for wn4 with %s", unknownMAC)
		}
		// The pool address dnsmasq gave it, or wn4's own once the
		// rebuilt dnsmasq config knows the MAC.
		checkInstalled(t, c, srv, serial, "wn4", unknownMAC, "")
		checkNextBoot(t, c, ns, tl.ip, "wn4", unknownMAC, "", localIPXE, localGRUB)
	})
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// publishTFTP fills the site's TFTP root the way the runbook says: the
// build's tftp/ folder, iPXE's undionly.kpxe (the install server's Puppet
// class copies EL's), and the signed shim and GRUB (on a site, the install
// tree's EFI/BOOT/BOOTX64.EFI and grubx64.efi; here Debian's, signed the
// same way: shim by Microsoft's UEFI CA, GRUB by the distribution whose
// key shim carries). Debian's network GRUB reads its config from grub/ in
// the TFTP root (its built-in prefix), EL's from beside itself: the
// build's grub.cfg goes in both places.
func publishTFTP(t *testing.T, site string, efi *signedEFI) {
	t.Helper()
	tftp := filepath.Join(site, "tftp")
	build := filepath.Join(site, "build", "tftp")
	err := filepath.WalkDir(build, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(build, p)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tftp, rel)), 0o755); err != nil {
			return err
		}
		copyFile(t, p, filepath.Join(tftp, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tftp, "grub"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(build, "grub.cfg"), filepath.Join(tftp, "grub", "grub.cfg"))
	copyFile(t, "/usr/lib/ipxe/undionly.kpxe", filepath.Join(tftp, "undionly.kpxe"))
	copyFile(t, efi.shim, filepath.Join(tftp, "shimx64.efi"))
	copyFile(t, efi.grub, filepath.Join(tftp, "grubx64.efi"))
	mods := filepath.Join(tftp, "grub", "x86_64-efi")
	if err := os.MkdirAll(mods, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(efi.grubModules)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".mod") || strings.HasSuffix(n, ".lst") {
			copyFile(t, filepath.Join(efi.grubModules, n), filepath.Join(mods, n))
		}
	}
}

// checkNextBoot: the node's next boot, by name (the build's entry script,
// the GRUB hand-over) and by MAC (kiln serve's own), is the local-boot
// form, and leaves the node installed.
func checkNextBoot(t *testing.T, c *http.Client, ns *netns, ipTool, node, mac, ip string, localIPXE, localGRUB []byte) {
	t.Helper()
	if ip == "" {
		var v struct {
			Node struct {
				IP string `json:"ip"`
			} `json:"node"`
		}
		getJSON(t, c, base+"/api/v1/nodes/"+node, &v)
		ip = v.Node.IP
	}
	want := map[string][]byte{
		base + "/kiln/ipxe/" + node + ".ipxe":                        localIPXE,
		base + "/boot/ipxe?mac=" + strings.ReplaceAll(mac, ":", "-"): localIPXE,
		base + "/kiln/grub/" + node + ".cfg":                         localGRUB,
	}
	// The head's address is another machine's: it gets nothing.
	for u := range want {
		if code, body := get(t, c, "GET", u); code != 403 {
			t.Errorf("GET %s from the head's address (not %s's): %d, want 403\n%s", u, node, code, body)
		}
	}
	// The VM is off: its address goes on the bridge for the next boot's
	// requests, which get the local-boot form.
	if out, err := exec.Command(ipTool, "-n", ns.name, "addr", "add", ip+"/32", "dev", "br0").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add %s: %v: %s", ip, err, out)
	}
	defer exec.Command(ipTool, "-n", ns.name, "addr", "del", ip+"/32", "dev", "br0").Run()
	nc := nsClientFrom(ns.path, ip)
	for u, w := range want {
		code, body := get(t, nc, "GET", u)
		if code != 200 || body != string(w) {
			t.Errorf("GET %s from %s after the install: %d\n%s\nwant the local-boot form:\n%s", u, ip, code, body, w)
		}
	}
	if got := nodeState(t, c, node); got != state.Installed {
		t.Errorf("%s is %s after booting locally, want %s", node, got, state.Installed)
	}
}

// checkInstalled checks that node went booting → installing → installed,
// and that the VM's installer said so.
func checkInstalled(t *testing.T, c *http.Client, srv *server, serial, node, mac, ip string) {
	t.Helper()
	if !strings.Contains(serial, "kiln-pxetest: kickstart refused the second time") {
		t.Errorf("the kickstart (it holds secrets) was served twice with one token")
	}
	if !strings.Contains(serial, "kiln-pxetest: callback done") {
		t.Errorf("the installer did not report back; its console:\n%s", serial)
	} else {
		t.Logf("the installer's console:\n%s", serial)
	}
	if !strings.Contains(serial, "kiln-pxetest: one token: inst.ks and %post") {
		t.Errorf("the token kiln serve put in inst.ks is not the one the kickstart's %%post reads from /proc/cmdline")
	}
	if ip != "" {
		if !srv.logHas("DHCPACK(br0) " + ip + " " + mac) {
			t.Errorf("dnsmasq gave %s no lease for %s; kiln serve's log:\n%s", mac, ip, srv.log())
		}
	} else if !srv.logHas("DHCPACK(br0) ") || !srv.logHas(" "+mac) {
		t.Errorf("dnsmasq gave %s no lease; kiln serve's log:\n%s", mac, srv.log())
	}
	var states []string
	var evs []state.Event
	getJSON(t, c, base+"/api/v1/events?node="+node, &evs)
	fetchedKS := false
	for _, e := range evs {
		if e.Kind == state.KindState {
			states = append(states, e.To)
		}
		if e.Kind == state.KindFetch && strings.Contains(e.Detail, "kickstart-"+node+".cfg") {
			fetchedKS = true
		}
	}
	if !subsequence(states, []string{state.Booting, state.Installing, state.Installed}) {
		t.Errorf("%s's state changes are %v, want booting → installing → installed; events:\n%s", node, states, dump(evs))
	}
	if !fetchedKS {
		t.Errorf("no event of %s fetching its kickstart; events:\n%s", node, dump(evs))
	}
	if got := nodeState(t, c, node); got != state.Installed {
		t.Errorf("%s is %s after the install, want %s", node, got, state.Installed)
	}
	out := run(t, srv.kiln, "status", "-C", srv.site)
	if !regexp.MustCompile(`(?m)^` + node + `\s+worker\s+installed\s`).MatchString(out) {
		t.Errorf("kiln status does not show %s installed:\n%s", node, out)
	}
}

func subsequence(have, want []string) bool {
	i := 0
	for _, s := range have {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

func dump(evs []state.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %d %s %s→%s %s (%s)\n", e.Seq, e.Kind, e.From, e.To, e.Detail, e.Remote)
	}
	return b.String()
}

func hasEvent(t *testing.T, c *http.Client, node string, ok func(state.Event) bool) bool {
	t.Helper()
	var evs []state.Event
	getJSON(t, c, base+"/api/v1/events?node="+node, &evs)
	for _, e := range evs {
		if ok(e) {
			return true
		}
	}
	t.Logf("%s's events:\n%s", node, dump(evs))
	return false
}

func nodeState(t *testing.T, c *http.Client, node string) string {
	t.Helper()
	var v struct {
		Node struct {
			State string `json:"state"`
		} `json:"node"`
	}
	getJSON(t, c, base+"/api/v1/nodes/"+node, &v)
	return v.Node.State
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	code, body := get(t, c, "GET", url)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
}

func get(t *testing.T, c *http.Client, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// netns is the test's network namespace: a bridge br0 with the head's
// address and five tap devices for the VMs on it.
type netns struct {
	name, path, ip string
}

func newNetns(t *testing.T, ip string) *netns {
	t.Helper()
	ns := &netns{name: fmt.Sprintf("kilnpxe%d", os.Getpid()), ip: ip}
	ns.path = "/run/netns/" + ns.name
	if out, err := exec.Command(ip, "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
	}
	// Registered first, so it runs last: after every process in it is gone.
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", ns.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
		}
	})
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "br0", "type", "bridge"},
		{"addr", "add", headIP + "/24", "dev", "br0"},
		{"link", "set", "br0", "up"},
		{"tuntap", "add", "tap0", "mode", "tap"},
		{"link", "set", "tap0", "master", "br0", "up"},
		{"tuntap", "add", "tap1", "mode", "tap"},
		{"link", "set", "tap1", "master", "br0", "up"},
		{"tuntap", "add", "tap2", "mode", "tap"},
		{"link", "set", "tap2", "master", "br0", "up"},
		{"tuntap", "add", "tap3", "mode", "tap"},
		{"link", "set", "tap3", "master", "br0", "up"},
		{"tuntap", "add", "tap4", "mode", "tap"},
		{"link", "set", "tap4", "master", "br0", "up"},
	} {
		if out, err := exec.Command(ip, append([]string{"-n", ns.name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
		}
	}
	return ns
}

// nsClient is an HTTP client whose connections are made inside the
// namespace: each dial runs on an OS thread moved into it (and never moved
// back: the goroutine ends locked, so Go discards the thread).
func nsClient(path string) *http.Client { return nsClientFrom(path, "") }

// nsClientFrom is nsClient sending from the address from ("": any).
func nsClientFrom(path, from string) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return inNetns(path, func() (net.Conn, error) {
			var d net.Dialer
			if from != "" {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
			}
			return d.DialContext(ctx, network, addr)
		})
	}
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
	}
}

// inNetns runs fn on a thread of its own that has entered the network
// namespace at path. The thread stays in the namespace and is discarded
// with its goroutine (it stays locked); a socket fn makes keeps the
// namespace it was made in.
func inNetns[T any](path string, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			var zero T
			ch <- result{zero, fmt.Errorf("setns %s: %w", path, err)}
			return
		}
		v, err := fn()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

// server is a kiln serve process in the namespace.
type server struct {
	kiln, site string
	cmd        *exec.Cmd
	out        *syncBuffer
}

func (s *server) log() string          { return s.out.String() }
func (s *server) logHas(x string) bool { return strings.Contains(s.out.String(), x) }

// startServe runs kiln serve (with dnsmasq) in the namespace, in a mount
// namespace of its own whose /var/lib/misc is a tmpfs: dnsmasq keeps its
// lease file there, and the host's must not be touched. It stops at the
// end of the test.
func startServe(t *testing.T, tl tools, ns *netns, kiln, site, mirror string, extra ...string) *server {
	t.Helper()
	args := []string{"netns", "exec", ns.name, tl.unshare, "--mount", "--propagation", "private", "--",
		"sh", "-c", `mkdir -p /var/lib/misc && mount -t tmpfs kiln-pxetest /var/lib/misc && exec "$0" "$@"`,
		kiln, "serve", "-C", site, "--listen", headIP + ":" + httpPort, "--dhcp", "dnsmasq", "--mirror", mirror, "-v"}
	args = append(args, extra...)
	s := &server{kiln: kiln, site: site, out: &syncBuffer{}}
	s.cmd = exec.Command(tl.ip, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// ip netns exec, unshare and sh exec: the process is kiln serve,
		// which stops dnsmasq on SIGTERM.
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("kiln serve did not stop on SIGTERM within 15 s; killing it")
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) // its group: dnsmasq too
			<-exited
		}
		t.Logf("kiln serve %s's log:\n%s", strings.Join(extra, " "), s.log())
	})
	c := nsClient(ns.path)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("kiln serve exited: %v\n%s", s.cmd.ProcessState, s.log())
		default:
		}
		if resp, err := c.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && s.logHas("dnsmasq started") && s.logHas("DHCP, IP range") {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kiln serve and its dnsmasq not ready after 30 s:\n%s", s.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// vm is a machine to boot.
type vm struct {
	tap, mac, work string
	// uefi: OVMF booting from its own PXE client on a virtio NIC without
	// option ROM; secureBoot: with Secure Boot enforced (Microsoft's keys).
	uefi, secureBoot bool
	// firmwarePXE (BIOS): the NIC's firmware (the iPXE ROM, told to send
	// the DHCP user class of a plain PXE client) loads undionly.kpxe over
	// TFTP as a PXE ROM does, rather than going to kiln serve itself.
	firmwarePXE bool
	// until: stop the machine once it returns true (polled), rather than
	// waiting for it to power off.
	until func() bool
}

// bootVM boots a QEMU machine in the namespace (no disk, software
// emulation) and waits for it to power off. It returns the serial
// console's text.
func bootVM(t *testing.T, tl tools, ns *netns, m vm) string {
	t.Helper()
	serial := filepath.Join(m.work, "serial-"+m.tap+".log")
	ctx, cancel := context.WithTimeout(context.Background(), vmTimeout)
	defer cancel()
	args := []string{"netns", "exec", ns.name, tl.qemu,
		"-accel", "tcg", "-m", "512", "-display", "none", "-monitor", "none", "-no-reboot",
		"-netdev", "tap,id=n0,ifname=" + m.tap + ",script=no,downscript=no"}
	var console *consoleDriver
	switch {
	case m.uefi:
		code, varsFile := ovmfCode, ovmfVars
		args = append(args, "-machine", "q35")
		if m.secureBoot {
			code, varsFile = ovmfCodeSB, ovmfVarsSB
			args = append(args, "-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on")
		}
		vars := filepath.Join(m.work, "OVMF_VARS-"+m.tap+".fd")
		copyFile(t, varsFile, vars)
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars,
			"-device", "virtio-net-pci,netdev=n0,mac="+m.mac+",romfile=",
			"-serial", "file:"+serial)
	case m.firmwarePXE:
		// SeaBIOS copies the screen to the serial port and takes keys
		// from it (etc/sercon-port), so the test can answer the ROM's
		// prompt.
		port := filepath.Join(m.work, "sercon-port")
		if err := os.WriteFile(port, []byte{0xf8, 0x03}, 0o644); err != nil { // 0x3f8, COM1
			t.Fatal(err)
		}
		sock := filepath.Join(m.work, "serial-"+m.tap+".sock")
		args = append(args, "-fw_cfg", "name=etc/sercon-port,file="+port,
			"-chardev", "socket,id=s0,path="+sock+",server=on,wait=off", "-serial", "chardev:s0",
			"-device", "e1000,netdev=n0,mac="+m.mac)
		console = &consoleDriver{sock: sock}
	default:
		args = append(args, "-serial", "file:"+serial, "-device", "e1000,netdev=n0,mac="+m.mac)
	}
	args = append(args, "-boot", "n")
	cmd := exec.CommandContext(ctx, tl.ip, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if console != nil {
		go console.run(ctx)
	}
	stopped := make(chan bool, 1)
	if m.until != nil {
		go func() {
			for ctx.Err() == nil {
				if m.until() {
					stopped <- true
					cmd.Cancel()
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
	}
	err := cmd.Wait()
	select {
	case <-stopped:
		text, _ := os.ReadFile(serial)
		return string(text)
	default:
	}
	var text []byte
	if console != nil {
		text = console.text()
	} else {
		text, _ = os.ReadFile(serial)
	}
	if ctx.Err() != nil {
		t.Fatalf("the VM (%s) did not power off within %v; its serial console:\n%s", m.mac, vmTimeout, text)
	}
	if err != nil {
		t.Fatalf("qemu: %v\n%s\nserial console:\n%s", err, out.String(), text)
	}
	return string(text)
}

// consoleDriver is the BIOS machine's serial console (SeaBIOS's copy of the
// screen): it records it, and plays the NIC firmware's part of a plain PXE
// ROM. Debian's iPXE ROM is the only BIOS network firmware QEMU has, and it
// says "iPXE" in its DHCP user class, for which dnsmasq's config sends it
// to kiln serve directly; a vendor's PXE ROM sends no such class and is
// given undionly.kpxe over TFTP. So at the ROM's prompt the driver enters
// its shell, sets the user class a plain PXE client would not contradict,
// and lets it boot as PXE firmware does: DHCP, then the boot file over TFTP.
// (The first undionly.kpxe then finds that user class in the ROM's cached
// DHCP packet, asks as a plain client once more and is given undionly.kpxe
// again; the second asks as iPXE. A vendor's ROM caches no such class.)
type consoleDriver struct {
	sock string
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (d *consoleDriver) text() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return bytes.Clone(d.buf.Bytes())
}

func (d *consoleDriver) run(ctx context.Context) {
	var conn net.Conn
	for conn == nil {
		c, err := net.Dial("unix", d.sock)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	type step struct {
		wait string // what the console shows next
		send string
		// again: send it again every 300 ms until the next step's text
		// shows (the ROM may not read keys yet when the prompt appears)
		again bool
	}
	steps := []step{
		{"Press Ctrl-B for the iPXE command line", "\x02", true},
		{"iPXE>", "set user-class PXEClient\r", false},
		{"iPXE>", "show user-class\r", false},
		{"iPXE>", "autoboot\r", false},
	}
	chunk := make([]byte, 4096)
	// read adds what the console shows within wait to the record.
	read := func(wait time.Duration) ([]byte, error) {
		conn.SetReadDeadline(time.Now().Add(wait))
		n, err := conn.Read(chunk)
		d.mu.Lock()
		defer d.mu.Unlock()
		d.buf.Write(chunk[:n])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, err
		}
		return d.buf.Bytes(), nil
	}
	// send types s one key at a time, each once the one before is
	// echoed (SeaBIOS's keyboard buffer holds 16 keys; iPXE echoes what
	// it reads), or after a second.
	send := func(s string) {
		for _, b := range []byte(s) {
			mark := len(d.text())
			conn.Write([]byte{b})
			for t0 := time.Now(); time.Since(t0) < time.Second; {
				all, err := read(20 * time.Millisecond)
				if err != nil || len(all) > mark {
					break
				}
			}
		}
	}
	seen, resend, last := 0, "", time.Now()
	for {
		all, err := read(100 * time.Millisecond)
		if err != nil {
			return
		}
		if len(steps) == 0 {
			continue
		}
		i := bytes.Index(all[seen:], []byte(steps[0].wait))
		if i < 0 {
			if resend != "" && time.Since(last) > 300*time.Millisecond {
				send(resend)
				last = time.Now()
			}
			continue
		}
		seen += i + len(steps[0].wait)
		time.Sleep(300 * time.Millisecond)
		send(steps[0].send)
		resend, last = "", time.Now()
		if steps[0].again {
			resend = steps[0].send
		}
		steps = steps[1:]
	}
}

// makeSite writes a tier3 starter site whose private network is the
// namespace's: the head (the install server) on 10.99.0.1, HTTP on port
// 80, four workers of which wn1, wn2 and wn3 have MACs and wn4 none (a
// free slot).
func makeSite(t *testing.T, work string) string {
	t.Helper()
	dir := filepath.Join(work, "site")
	if _, err := starter.Write(dir, starter.Options{Cluster: "pxe", Workers: 4}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "site.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	edit := func(old, new string) {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("the starter site.yaml has no %q any more; update the test:\n%s", old, s)
		}
		s = strings.ReplaceAll(s, old, new)
	}
	edit("cidr: 10.10.0.0/24", "cidr: 10.99.0.0/24")
	edit("10.10.0.", "10.99.0.")
	edit("start: {private: 10.99.0.101}", "start: {private: "+knownIP+"}")
	edit("    # macs:\n    #   wn1: \"aa:bb:cc:dd:ee:10\"\n    #   wn2: \"aa:bb:cc:dd:ee:11\"", `    macs: {wn1: "`+knownMAC+`", wn2: "`+biosMAC+`", wn3: "`+uefiMAC+`"}   # wn4 is left for discovery`)
	tftp := filepath.Join(dir, "tftp")
	if err := os.MkdirAll(tftp, 0o755); err != nil {
		t.Fatal(err)
	}
	edit("parameters:\n  base:\n", "parameters:\n  install_server:\n    http_port: "+httpPort+"\n    tftp_root: "+tftp+"\n  base:\n")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildKiln builds the kiln command.
func buildKiln(tl tools, work string) (string, error) {
	bin := filepath.Join(work, "kiln")
	cmd := exec.Command(tl.goCmd, "build", "-o", bin, "kiln.dev/kiln/cmd/kiln")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// kernelFiles are the installer's kernel and the network modules its
// initrd loads, in load order.
type kernelFiles struct {
	vmlinuz string
	modules []string
}

// netModules are the modules of the NICs the VMs have (e1000; virtio-net
// and what it needs), in load order, as paths in the linux-image package.
var netModules = []string{
	"kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
	"kernel/net/core/failover.ko",
	"kernel/drivers/net/net_failover.ko",
	"kernel/drivers/virtio/virtio_ring.ko",
	"kernel/drivers/virtio/virtio.ko",
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko",
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
	"kernel/drivers/virtio/virtio_pci.ko",
	"kernel/drivers/net/virtio_net.ko",
}

// debianKernel returns Debian's amd64 kernel (signed for Secure Boot) and
// its network modules (signed too, as the kernel's lockdown then needs),
// taken from the linux-image package that linux-image-amd64 points at.
func debianKernel(tl tools) (*kernelFiles, error) {
	pkg, err := dependency(tl, "linux-image-amd64", `linux-image-[0-9][^\s]*-amd64`)
	if err != nil {
		return nil, err
	}
	want := map[string]string{"boot/vmlinuz-*": "vmlinuz"}
	k := &kernelFiles{}
	for _, m := range netModules {
		want["lib/modules/*/"+m] = filepath.Base(m)
	}
	dir, err := debFiles(tl, pkg, want)
	if err != nil {
		return nil, err
	}
	k.vmlinuz = filepath.Join(dir, "vmlinuz")
	for _, m := range netModules {
		k.modules = append(k.modules, filepath.Join(dir, filepath.Base(m)))
	}
	return k, nil
}

// signedEFI are Debian's shim, signed by Microsoft's UEFI CA, and Debian's
// network GRUB, signed by Debian (whose key shim carries).
type signedEFI struct{ shim, grub, grubModules string }

func debianSignedEFI(tl tools) (*signedEFI, error) {
	sdir, err := debFiles(tl, "shim-signed", map[string]string{"usr/lib/shim/shimx64.efi.signed": "shimx64.efi"})
	if err != nil {
		return nil, err
	}
	gdir, err := debFiles(tl, "grub-efi-amd64-signed", map[string]string{"usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed": "grubx64.efi"})
	if err != nil {
		return nil, err
	}
	// The same GRUB's modules: Debian's signed image has no http module
	// built in (EL's has), and loads it from the TFTP root when Secure
	// Boot is off.
	mdir, err := debFiles(tl, "grub-efi-amd64-bin", map[string]string{"usr/lib/grub/x86_64-efi": "x86_64-efi"})
	if err != nil {
		return nil, err
	}
	return &signedEFI{shim: filepath.Join(sdir, "shimx64.efi"), grub: filepath.Join(gdir, "grubx64.efi"), grubModules: filepath.Join(mdir, "x86_64-efi")}, nil
}

// dependency is the package meta names in its Depends matching re.
func dependency(tl tools, meta, re string) (string, error) {
	out, err := exec.Command(tl.aptCache, "depends", meta).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %v: %s", meta, err, out)
	}
	m := regexp.MustCompile(`Depends: (` + re + `)\b`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("apt-cache depends %s names no package like %s:\n%s", meta, re, out)
	}
	return string(m[1]), nil
}

// debFiles returns a folder holding files of Debian package pkg (its
// candidate version): want maps a glob in the package to a name in the
// folder. The files are kept in a cache folder by package version
// ($KILN_PXETEST_CACHE, else the user's cache folder), fetched with
// apt-get download and dpkg-deb -x.
func debFiles(tl tools, pkg string, want map[string]string) (string, error) {
	out, err := exec.Command(tl.aptCache, "show", "--no-all-versions", pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-cache show %s: %v: %s", pkg, err, out)
	}
	v := regexp.MustCompile(`(?m)^Version: (\S+)`).FindSubmatch(out)
	if v == nil {
		return "", fmt.Errorf("apt-cache show %s has no version", pkg)
	}
	cache := os.Getenv("KILN_PXETEST_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		cache = filepath.Join(d, "kiln-pxetest")
	}
	// The folder's name says what it holds, so that a new list of files
	// makes a new folder rather than reading an old one.
	var names []string
	for _, n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\x00")))
	dir := filepath.Join(cache, fmt.Sprintf("%s_%s_%x", pkg, strings.ReplaceAll(string(v[1]), ":", "%3a"), sum[:4]))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cache, "download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	dl := exec.Command(tl.aptGet, "download", pkg+"="+string(v[1]))
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %v: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s left %d .deb files", pkg, len(debs))
	}
	x := filepath.Join(tmp, "x")
	if out, err := exec.Command(tl.dpkgDeb, "-x", debs[0], x).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb -x %s: %v: %s", debs[0], err, out)
	}
	stage := filepath.Join(tmp, "out")
	if err := os.Mkdir(stage, 0o755); err != nil {
		return "", err
	}
	for glob, name := range want {
		m, _ := filepath.Glob(filepath.Join(x, glob))
		if len(m) != 1 {
			return "", fmt.Errorf("%s: want one %s (uncompressed), found %v", pkg, glob, m)
		}
		if err := os.Rename(m[0], filepath.Join(stage, name)); err != nil {
			return "", err
		}
	}
	if err := os.Rename(stage, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(dir); serr != nil { // not another run's
			return "", err
		}
	}
	return dir, nil
}

// installerInit is the initrd's /init: it plays the installer of the
// node's kickstart (the URL iPXE put on the kernel command line), and
// posts the callback the kickstart's own %post would.
const installerInit = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t devtmpfs dev /dev
exec >/dev/ttyS0 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
say() { echo "kiln-pxetest: $*"; }
fail() { say "FAILED: $*"; poweroff -f; }
say "installer started: $(cat /proc/cmdline)"
for m in $(cat /modules); do insmod "/$m" || fail "insmod $m"; done
dmesg | grep -i "secure boot" | sed 's/^\[[ 0-9.]*\] /kiln-pxetest: kernel: /'
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done
ip link set eth0 up || fail "no eth0"
udhcpc -i eth0 -s /udhcpc.sh -n -q -t 10 -T 2 || fail "no DHCP lease"
ks=$(sed -n 's/.*inst\.ks=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$ks" ] || fail "no inst.ks= on the kernel command line"
say "kickstart $ks"
wget -q -O /ks.cfg "$ks" || fail "cannot fetch the kickstart"
# The kickstart holds secrets: served once per install token.
if wget -q -O /ks2.cfg "$ks"; then say "kickstart served twice"; else say "kickstart refused the second time"; fi
# kiln serve added the token to inst.ks; the kickstart's %post reads it from
# the kernel command line: its own line, run here.
eval "$(grep '^kiln_token=' /ks.cfg | head -n 1)"
[ -n "$kiln_token" ] || fail "the kickstart's %post finds no token on the kernel command line"
if [ "${ks##*token=}" = "$kiln_token" ]; then say "one token: inst.ks and %post"; else say "tokens differ: inst.ks and %post"; fi
cb=$(grep -o "http://[^' ]*/kiln/installed/[^' ]*" /ks.cfg | head -n 1)
[ -n "$cb" ] || fail "the kickstart has no installed callback"
say "callback $cb"
wget -q -O /cb.out --post-data status=installed "$cb?token=$kiln_token" || fail "the callback was refused"
say "callback done: $(cat /cb.out)"
poweroff -f
`

const udhcpcScript = `#!/bin/sh
case "$1" in
bound|renew)
	ifconfig "$interface" "$ip" netmask "$subnet" up
	echo "kiln-pxetest: DHCP gave $interface $ip"
	;;
esac
`

// makeInitrd writes the installer's initrd: busybox-static, the network
// modules (loaded in order; the ones whose NIC is absent load and do
// nothing) and the scripts, as an uncompressed newc cpio archive.
func makeInitrd(t *testing.T, tl tools, work string, modules []string, out string) {
	t.Helper()
	root := filepath.Join(work, "initrd")
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, tl.busybox, filepath.Join(root, "bin", "busybox"))
	var names []string
	for _, m := range modules {
		copyFile(t, m, filepath.Join(root, filepath.Base(m)))
		names = append(names, filepath.Base(m))
	}
	for name, text := range map[string]string{"init": installerInit, "udhcpc.sh": udhcpcScript, "modules": strings.Join(names, "\n") + "\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"bin/busybox", "init", "udhcpc.sh"} {
		os.Chmod(filepath.Join(root, p), 0o755)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sh", "-c", `find . | LC_ALL=C sort | "$0" -o -H newc -R 0:0 --quiet`, tl.cpio)
	cmd.Dir = root
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cpio: %v: %s", err, stderr.String())
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a command and returns its output, failing the test if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
