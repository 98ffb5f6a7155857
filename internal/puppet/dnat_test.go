package puppet_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kiln.dev/kiln/internal/testutil"
)

// TestGatewayPublishesProxySNMPToMonitorsOnly loads the head's and the
// proxy's generated rulesets, exactly as built, into network namespaces
// wired as the example is (the head's public NIC on a link with a WLCG
// monitor and an outsider, its private NIC on a link to the proxy, the
// head forwarding) and sends UDP to the head's public address, port 3401:
// the monitor gets the proxy's answer, which names the monitor's own
// address as the source the proxy saw (the proxy's ruleset admits only the
// monitor networks there, so no masquerading sneaks in); the outsider gets
// nothing and the proxy sees nothing of it. Sent straight to the proxy's
// private address (routed through the head, no DNAT), neither gets through:
// the head forwards only what its prerouting chain published.
func TestGatewayPublishesProxySNMPToMonitorsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespaces with the real kernel firewall: not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces, veth links and nftables need root")
	}
	ipProg := testutil.NeedProgram(t, "ip")
	nft := testutil.NeedProgram(t, "nft")
	sysctl := testutil.NeedProgram(t, "sysctl")

	cl, build := buildSite(t, exampleSite(t))
	gateways, squids := cl.NodesWith("gateway"), cl.NodesWith("squid")
	if len(gateways) != 1 || len(squids) != 1 {
		t.Fatalf("the example has %d gateways and %d squids, want one of each", len(gateways), len(squids))
	}
	head, proxy := gateways[0], squids[0]
	if proxy.Iface("public") != nil {
		t.Fatalf("%s has a public interface: nothing for the gateway to publish", proxy.FQDN)
	}
	pub, priv, proxyPriv := head.Iface("public"), head.Iface("private"), proxy.Iface("private")
	if pub == nil || priv == nil || proxyPriv == nil || pub.IP == "" || priv.IP == "" || proxyPriv.IP == "" {
		t.Fatalf("the head needs a public and a private address and the proxy a private one: %+v %+v %+v", pub, priv, proxyPriv)
	}
	pubNIC, _ := head.Module("gateway").Param("public_interface").Value.(string)
	if pubNIC == "" {
		t.Fatal("the gateway has no public_interface")
	}
	// The private NIC keeps the example's name unless it is the public one's.
	privNIC := priv.NIC
	if privNIC == "" || privNIC == pubNIC {
		privNIC = "priv0"
	}
	dir := filepath.Join(build, "puppet", "modules", "kiln_site", "files", "firewall")
	headRules, proxyRules := filepath.Join(dir, head.FQDN+".nft"), filepath.Join(dir, proxy.FQDN+".nft")
	for _, f := range []string{headRules, proxyRules} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}

	// A WLCG monitor (128.142.0.0/16 is CERN's) and an outsider on the
	// public network, beside the head.
	const monitorIP, outsiderIP, port = "128.142.7.7", "192.0.2.66", 3401
	prefix := fmt.Sprintf("kiln-dnat-%d-", os.Getpid())
	ns := map[string]string{}
	for _, n := range []string{"wan", "monitor", "outsider", "head", "proxy"} {
		ns[n] = prefix + n
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipProg, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	in := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(ipProg, append([]string{"netns", "exec", ns[name]}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("in %s: %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	for _, n := range []string{"wan", "monitor", "outsider", "head", "proxy"} {
		ip("netns", "add", ns[n])
		name := ns[n]
		t.Cleanup(func() { exec.Command(ipProg, "netns", "del", name).Run() })
		ip("-n", ns[n], "link", "set", "lo", "up")
	}
	// The public link: a bridge in "wan" with the head's public NIC, the
	// monitor's and the outsider's on it. Each veth is made in its own
	// namespace, so that names like eth0 never meet the machine's.
	ip("-n", ns["wan"], "link", "add", "name", "wanbr", "type", "bridge")
	for _, l := range []struct{ node, nic, port string }{
		{"head", pubNIC, "head"}, {"monitor", "m0", "monitor"}, {"outsider", "o0", "outsider"},
	} {
		ip("-n", ns[l.node], "link", "add", l.nic, "type", "veth", "peer", "name", l.port, "netns", ns["wan"])
		ip("-n", ns["wan"], "link", "set", l.port, "master", "wanbr", "up")
		ip("-n", ns[l.node], "link", "set", l.nic, "up")
	}
	ip("-n", ns["wan"], "link", "set", "wanbr", "up")
	// The private link, head to proxy.
	proxyNIC := proxyPriv.NIC
	if proxyNIC == "" {
		proxyNIC = "eth0"
	}
	ip("-n", ns["head"], "link", "add", privNIC, "type", "veth", "peer", "name", proxyNIC, "netns", ns["proxy"])
	ip("-n", ns["head"], "link", "set", privNIC, "up")
	ip("-n", ns["proxy"], "link", "set", proxyNIC, "up")

	ip("-n", ns["head"], "addr", "add", fmt.Sprintf("%s/%d", pub.IP, pub.Prefix), "dev", pubNIC)
	ip("-n", ns["head"], "addr", "add", fmt.Sprintf("%s/%d", priv.IP, priv.Prefix), "dev", privNIC)
	ip("-n", ns["head"], "route", "add", "default", "dev", pubNIC) // the whole world is on its public link here
	ip("-n", ns["proxy"], "addr", "add", fmt.Sprintf("%s/%d", proxyPriv.IP, proxyPriv.Prefix), "dev", proxyNIC)
	ip("-n", ns["proxy"], "route", "add", "default", "via", priv.IP)
	ip("-n", ns["monitor"], "addr", "add", monitorIP+"/16", "dev", "m0")
	ip("-n", ns["monitor"], "route", "add", "default", "dev", "m0")
	ip("-n", ns["outsider"], "addr", "add", outsiderIP+"/24", "dev", "o0")
	ip("-n", ns["outsider"], "route", "add", "default", "dev", "o0")
	// Both may also try the proxy's private address through the head.
	privNet := (&net.IPNet{IP: net.ParseIP(proxyPriv.IP).Mask(net.CIDRMask(proxyPriv.Prefix, 32)), Mask: net.CIDRMask(proxyPriv.Prefix, 32)}).String()
	for _, l := range []struct{ node, nic string }{{"monitor", "m0"}, {"outsider", "o0"}} {
		ip("-n", ns[l.node], "route", "add", privNet, "via", pub.IP, "dev", l.nic, "onlink")
	}
	in("head", sysctl, "-q", "-w", "net.ipv4.ip_forward=1") // kiln_gateway's job on a real head

	in("head", nft, "-f", headRules)
	in("proxy", nft, "-f", proxyRules)

	// The proxy's UDP responder: it answers with the source it saw.
	srv, err := udpIn(ns["proxy"], fmt.Sprintf("%s:%d", proxyPriv.IP, port))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			src := from.(*net.UDPAddr).IP.String()
			mu.Lock()
			seen = append(seen, src)
			mu.Unlock()
			srv.WriteTo([]byte("proxy saw "+src+" ask "+string(buf[:n])), from)
		}
	}()
	t.Cleanup(func() { srv.Close() })

	// ask sends one datagram from a namespace and returns the answer, or ""
	// when none came within wait.
	ask := func(from, to, msg string, wait time.Duration) string {
		t.Helper()
		c, err := udpIn(ns[from], ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		dst, err := net.ResolveUDPAddr("udp4", fmt.Sprintf("%s:%d", to, port))
		must(t, err)
		if _, err := c.WriteTo([]byte(msg), dst); err != nil {
			t.Fatalf("%s: sending to %s: %v", from, dst, err)
		}
		must(t, c.SetReadDeadline(time.Now().Add(wait)))
		buf := make([]byte, 512)
		n, _, err := c.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return ""
		}
		if err != nil {
			t.Fatalf("%s: reading the answer from %s: %v", from, dst, err)
		}
		return string(buf[:n])
	}

	want := "proxy saw " + monitorIP + " ask monitor-1"
	if got := ask("monitor", pub.IP, "monitor-1", 3*time.Second); got != want {
		t.Errorf("the monitor asked %s:%d (the head's public address): answer %q, want %q", pub.IP, port, got, want)
	}
	if got := ask("outsider", pub.IP, "outsider-1", time.Second); got != "" {
		t.Errorf("the outsider %s asked %s:%d and was answered: %q", outsiderIP, pub.IP, port, got)
	}
	if got := ask("outsider", proxyPriv.IP, "outsider-2", time.Second); got != "" {
		t.Errorf("the outsider %s reached %s:%d through the head without DNAT: %q", outsiderIP, proxyPriv.IP, port, got)
	}
	if got := ask("monitor", proxyPriv.IP, "monitor-2", time.Second); got != "" {
		t.Errorf("the monitor reached %s:%d through the head without DNAT (the forward rule must take only published traffic): %q", proxyPriv.IP, port, got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != monitorIP {
		t.Errorf("the proxy saw datagrams from %v, want only the monitor's one from %s", seen, monitorIP)
	}
	if t.Failed() {
		out, _ := exec.Command(ipProg, "netns", "exec", ns["head"], nft, "list", "ruleset").CombinedOutput()
		t.Logf("the head's ruleset as loaded:\n%s", out)
	}
}

// udpIn opens a UDP socket inside a network namespace (its name under
// /run/netns): the socket is made on an OS thread moved into the namespace
// and keeps it; the thread is never moved back (the goroutine ends locked,
// so Go discards it).
func udpIn(name, addr string) (net.PacketConn, error) {
	type result struct {
		c   net.PacketConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		path := filepath.Join("/run/netns", name)
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
		c, err := net.ListenPacket("udp4", addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}
