package pxetest

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
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
// namespace: no address outside it is ever configured.
const (
	headIP     = "10.99.0.1"
	httpPort   = "8080"
	knownMAC   = "52:54:00:99:00:01" // wn1's MAC in site.yaml
	knownIP    = "10.99.0.101"       // wn1's address
	unknownMAC = "52:54:00:99:00:02" // a machine site.yaml does not know
	vmTimeout  = 100 * time.Second   // one boot takes 30-40 s under TCG
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
	return tl
}

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

// TestPXEInstall: a machine with a known MAC PXE-boots from kiln serve in
// a network namespace, installs (the busybox installer plays the
// kickstart's %post callback), and is then given the local-boot script;
// a machine with an unknown MAC is discovered into the free worker slot
// and installs the same way.
func TestPXEInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU virtual machines over PXE (about a minute and a half); skipped with -short")
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
		wg             sync.WaitGroup
		kernel, e1000  string
		kiln           string
		kernErr, goErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); kernel, e1000, kernErr = debianKernel(tl) }()
	go func() { defer wg.Done(); kiln, goErr = buildKiln(tl, work) }()
	site := makeSite(t, work)
	wg.Wait()
	if kernErr != nil {
		t.Fatalf("the installer's kernel from Debian's linux-image package: %v", kernErr)
	}
	if goErr != nil {
		t.Fatalf("building kiln: %v", goErr)
	}
	run(t, kiln, "build", "-C", site)
	mirror := filepath.Join(work, "mirror")
	pxe := filepath.Join(mirror, "el9", "images", "pxeboot") // where the tier3 iPXE scripts point
	if err := os.MkdirAll(pxe, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, kernel, filepath.Join(pxe, "vmlinuz"))
	makeInitrd(t, tl, work, e1000, filepath.Join(pxe, "initrd.img"))
	t.Logf("prepared in %v (kernel %s)", time.Since(start).Round(time.Millisecond), kernel)

	c := nsClient(ns.path)
	localBoot, err := os.ReadFile(filepath.Join(site, "build", "ipxe", "localboot.ipxe"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("known", func(t *testing.T) {
		srv := startServe(t, tl, ns, kiln, site, mirror)
		if got := nodeState(t, c, "wn1"); got != state.Planned {
			t.Fatalf("before the boot wn1 is %s, want %s", got, state.Planned)
		}
		t0 := time.Now()
		serial := bootVM(t, tl, ns, "tap0", knownMAC, work)
		t.Logf("VM with %s: installed and powered off in %v", knownMAC, time.Since(t0).Round(time.Millisecond))
		checkInstalled(t, c, srv, ns, tl.ip, serial, "wn1", knownMAC, knownIP, localBoot)
		// The build's entry script was what iPXE chained to (no --discover).
		if !hasEvent(t, c, "wn1", func(e state.Event) bool {
			return e.Kind == state.KindBoot && e.Remote == knownIP
		}) {
			t.Errorf("no boot event of wn1 from %s", knownIP)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("discovered", func(t *testing.T) {
		srv := startServe(t, tl, ns, kiln, site, mirror, "--discover", "worker", "--auto")
		if got := nodeState(t, c, "wn2"); got != state.Planned {
			t.Fatalf("before the boot wn2 is %s, want %s", got, state.Planned)
		}
		t0 := time.Now()
		serial := bootVM(t, tl, ns, "tap1", unknownMAC, work)
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
		if !hasEvent(t, c, "wn2", func(e state.Event) bool {
			return e.Kind == state.KindDiscover && strings.Contains(e.Detail, unknownMAC)
		}) {
			t.Errorf("no discover event for wn2 with %s", unknownMAC)
		}
		// The pool address dnsmasq gave it, or wn2's own once the
		// rebuilt dnsmasq config knows the MAC.
		checkInstalled(t, c, srv, ns, tl.ip, serial, "wn2", unknownMAC, "", localBoot)
	})
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// checkInstalled checks that node went booting → installing → installed,
// that the VM's installer said so, and that its next boot is local.
func checkInstalled(t *testing.T, c *http.Client, srv *server, ns *netns, ipTool, serial, node, mac, ip string, localBoot []byte) {
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
	// The next boot, by name (the build's entry script) and by MAC (kiln
	// serve's own), is the local-boot form, for the node's own address; the
	// head's address is another machine's, and gets nothing.
	if ip == "" {
		var v struct {
			Node struct {
				IP string `json:"ip"`
			} `json:"node"`
		}
		getJSON(t, c, base+"/api/v1/nodes/"+node, &v)
		ip = v.Node.IP
	}
	urls := []string{base + "/kiln/ipxe/" + node + ".ipxe", base + "/boot/ipxe?mac=" + strings.ReplaceAll(mac, ":", "-")}
	for _, u := range urls {
		if code, body := get(t, c, "GET", u); code != 403 {
			t.Errorf("GET %s from the head's address (not %s's): %d, want 403\n%s", u, node, code, body)
		}
	}
	// The VM is off: its address goes on the bridge for the next boot's requests.
	if out, err := exec.Command(ipTool, "-n", ns.name, "addr", "add", ip+"/32", "dev", "br0").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add %s: %v: %s", ip, err, out)
	}
	defer exec.Command(ipTool, "-n", ns.name, "addr", "del", ip+"/32", "dev", "br0").Run()
	nc := nsClientFrom(ns.path, ip)
	for _, u := range urls {
		code, body := get(t, nc, "GET", u)
		if code != 200 || body != string(localBoot) {
			t.Errorf("GET %s from %s after the install: %d\n%s\nwant the local-boot script:\n%s", u, ip, code, body, localBoot)
		}
	}
	if got := nodeState(t, c, node); got != state.Installed {
		t.Errorf("%s is %s after booting locally, want %s", node, got, state.Installed)
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
// address and two tap devices for the VMs on it.
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
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				ch <- result{err: err}
				return
			}
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
			if err != nil {
				ch <- result{err: fmt.Errorf("setns %s: %w", path, err)}
				return
			}
			var d net.Dialer
			if from != "" {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
			}
			c, err := d.DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
	}
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

// bootVM boots a QEMU machine with the given MAC on tap in the namespace
// (BIOS, e1000 with Debian's iPXE ROM, no disk, software emulation) and
// waits for it to power off. It returns the serial console's text.
func bootVM(t *testing.T, tl tools, ns *netns, tap, mac, work string) string {
	t.Helper()
	serial := filepath.Join(work, "serial-"+tap+".log")
	ctx, cancel := context.WithTimeout(context.Background(), vmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.ip, "netns", "exec", ns.name, tl.qemu,
		"-accel", "tcg", "-m", "512", "-display", "none", "-monitor", "none",
		"-serial", "file:"+serial, "-no-reboot",
		"-netdev", "tap,id=n0,ifname="+tap+",script=no,downscript=no",
		"-device", "e1000,netdev=n0,mac="+mac, "-boot", "n")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	console, _ := os.ReadFile(serial)
	if ctx.Err() != nil {
		t.Fatalf("the VM (%s) did not power off within %v (SeaBIOS and iPXE print to VGA only: see kiln serve's log); its serial console:\n%s", mac, vmTimeout, console)
	}
	if err != nil {
		t.Fatalf("qemu: %v\n%s\nserial console:\n%s", err, out, console)
	}
	return string(console)
}

// makeSite writes a tier3 starter site whose private network is the
// namespace's: the head (the install server) on 10.99.0.1, HTTP on 8080,
// two workers of which wn1 has the known MAC and wn2 none (a free slot).
func makeSite(t *testing.T, work string) string {
	t.Helper()
	dir := filepath.Join(work, "site")
	if _, err := starter.Write(dir, starter.Options{Cluster: "pxe", Workers: 2}); err != nil {
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
	edit(`    # macs: ["aa:bb:cc:dd:ee:10", "aa:bb:cc:dd:ee:11"]   # in node order`, `    macs: ["`+knownMAC+`"]   # wn2 is left for discovery`)
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

// debianKernel returns Debian's amd64 kernel and its e1000 module, taken
// from the linux-image package that linux-image-amd64 points at (apt-get
// download, dpkg-deb -x). They are kept in a cache folder by package
// version ($KILN_PXETEST_CACHE, else the user's cache folder).
func debianKernel(tl tools) (kernel, e1000 string, err error) {
	out, err := exec.Command(tl.aptCache, "depends", "linux-image-amd64").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache depends linux-image-amd64: %v: %s", err, out)
	}
	m := regexp.MustCompile(`Depends: (linux-image-[0-9][^\s]*-amd64)\b`).FindSubmatch(out)
	if m == nil {
		return "", "", fmt.Errorf("apt-cache depends linux-image-amd64 names no kernel package:\n%s", out)
	}
	pkg := string(m[1])
	out, err = exec.Command(tl.aptCache, "show", "--no-all-versions", pkg).CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache show %s: %v: %s", pkg, err, out)
	}
	v := regexp.MustCompile(`(?m)^Version: (\S+)`).FindSubmatch(out)
	if v == nil {
		return "", "", fmt.Errorf("apt-cache show %s has no version", pkg)
	}
	cache := os.Getenv("KILN_PXETEST_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		cache = filepath.Join(d, "kiln-pxetest")
	}
	dir := filepath.Join(cache, pkg+"_"+strings.ReplaceAll(string(v[1]), ":", "%3a"))
	kernel, e1000 = filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "e1000.ko")
	if _, err := os.Stat(e1000); err == nil {
		return kernel, e1000, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", err
	}
	tmp, err := os.MkdirTemp(cache, "download-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	dl := exec.Command(tl.aptGet, "download", pkg+"="+string(v[1]))
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("apt-get download %s: %v: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", "", fmt.Errorf("apt-get download %s left %d .deb files", pkg, len(debs))
	}
	x := filepath.Join(tmp, "x")
	if out, err := exec.Command(tl.dpkgDeb, "-x", debs[0], x).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("dpkg-deb -x %s: %v: %s", debs[0], err, out)
	}
	vmlinuz, _ := filepath.Glob(filepath.Join(x, "boot", "vmlinuz-*"))
	mods, _ := filepath.Glob(filepath.Join(x, "lib", "modules", "*", "kernel", "drivers", "net", "ethernet", "intel", "e1000", "e1000.ko"))
	if len(vmlinuz) != 1 || len(mods) != 1 {
		return "", "", fmt.Errorf("%s: want one boot/vmlinuz-* and one e1000.ko (uncompressed), found %v and %v", pkg, vmlinuz, mods)
	}
	stage := filepath.Join(tmp, "out")
	if err := os.Mkdir(stage, 0o755); err != nil {
		return "", "", err
	}
	for src, dst := range map[string]string{vmlinuz[0]: "vmlinuz", mods[0]: "e1000.ko"} {
		if err := os.Rename(src, filepath.Join(stage, dst)); err != nil {
			return "", "", err
		}
	}
	if err := os.Rename(stage, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(e1000); serr != nil { // not another run's
			return "", "", err
		}
	}
	return kernel, e1000, nil
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
insmod /e1000.ko || fail "insmod e1000.ko"
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

// makeInitrd writes the installer's initrd: busybox-static, the e1000
// module and the scripts, as an uncompressed newc cpio archive.
func makeInitrd(t *testing.T, tl tools, work, e1000, out string) {
	t.Helper()
	root := filepath.Join(work, "initrd")
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, tl.busybox, filepath.Join(root, "bin", "busybox"))
	copyFile(t, e1000, filepath.Join(root, "e1000.ko"))
	for name, text := range map[string]string{"init": installerInit, "udhcpc.sh": udhcpcScript} {
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
