package pxetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dhcpClient is one kind of network-boot client, as it identifies itself
// in a DHCP DISCOVER.
type dhcpClient struct {
	name      string
	mac       string
	arch      uint16 // option 93, client system architecture (RFC 4578; 16: x64 UEFI HTTP)
	vendor    string // option 60
	userClass string // option 77 ("iPXE" from iPXE)
}

// dhcpOffer is what matters of the server's answer.
type dhcpOffer struct {
	bootFile string // option 67, else the BOOTP file field
	vendor   string // option 60 echoed
}

// checkDHCPAnswers asks kiln serve's dnsmasq, as each kind of client real
// machines have, for a boot file, from a veth port of the namespace's
// bridge: BIOS PXE firmware gets iPXE over TFTP, UEFI PXE firmware the
// signed shim, UEFI HTTP boot the shim's URL with option 60 "HTTPClient"
// echoed (UEFI 2.x, "HTTP Boot"), and iPXE kiln serve's script. The shim's
// URL is then fetched from kiln serve as the firmware would.
func checkDHCPAnswers(t *testing.T, tl tools, ns *netns, tftpShim []byte) {
	t.Helper()
	// The client is in a namespace of its own (its address would be a
	// martian source on the server's side), on a veth whose peer is a
	// port of the bridge.
	cns := ns.name + "c"
	if out, err := exec.Command(tl.ip, "netns", "add", cns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", cns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(tl.ip, "netns", "del", cns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", cns, err, out)
		}
	})
	for _, args := range [][]string{
		{"-n", ns.name, "link", "add", "dhcpb", "type", "veth", "peer", "name", "dhcpc", "netns", cns},
		{"-n", ns.name, "link", "set", "dhcpb", "master", "br0", "up"},
		{"-n", cns, "addr", "add", "10.99.0.250/24", "dev", "dhcpc"},
		{"-n", cns, "link", "set", "dhcpc", "up"},
	} {
		if out, err := exec.Command(tl.ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	conn := nsDHCPSocket(t, "/run/netns/"+cns, "dhcpc")
	defer conn.Close()
	httpShim := base + "/tftp/shimx64.efi"
	for _, tc := range []struct {
		c          dhcpClient
		file, echo string
	}{
		{dhcpClient{"BIOS PXE firmware", "52:54:00:99:01:01", 0, "PXEClient:Arch:00000:UNDI:002001", ""}, "undionly.kpxe", ""},
		{dhcpClient{"UEFI PXE firmware", "52:54:00:99:01:02", 7, "PXEClient:Arch:00007:UNDI:003016", ""}, "shimx64.efi", ""},
		{dhcpClient{"UEFI HTTP boot", "52:54:00:99:01:03", 16, "HTTPClient:Arch:00016:UNDI:003001", ""}, "http://" + headIP + ":" + httpPort + "/tftp/shimx64.efi", "HTTPClient"},
		{dhcpClient{"iPXE", "52:54:00:99:01:04", 0, "PXEClient:Arch:00000:UNDI:002001", "iPXE"}, "http://" + headIP + ":" + httpPort + "/kiln/ipxe/boot.ipxe", ""},
	} {
		got, err := discover(conn, tc.c)
		if err != nil {
			t.Errorf("%s: %v", tc.c.name, err)
			continue
		}
		if got.bootFile != tc.file || got.vendor != tc.echo {
			t.Errorf("%s: dnsmasq answered boot file %q, option 60 %q; want %q, %q", tc.c.name, got.bootFile, got.vendor, tc.file, tc.echo)
		} else {
			t.Logf("%s (arch %d): boot file %s%s", tc.c.name, tc.c.arch, got.bootFile, map[bool]string{true: ", option 60 " + got.vendor}[got.vendor != ""])
		}
	}
	// UEFI HTTP boot then loads the shim from kiln serve, which serves the
	// TFTP root's copy.
	code, body := get(t, nsClient(ns.path), "GET", httpShim)
	if code != 200 || !bytes.Equal([]byte(body), tftpShim) {
		t.Errorf("GET %s: %d, %d bytes; want the TFTP root's shimx64.efi (%d bytes)", httpShim, code, len(body), len(tftpShim))
	}
}

// nsDHCPSocket is a UDP socket on port 68 of device dev in the namespace,
// allowed to broadcast.
func nsDHCPSocket(t *testing.T, path, dev string) *net.UDPConn {
	t.Helper()
	c, err := inNetns(path, func() (*net.UDPConn, error) {
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			return nil, err
		}
		for _, o := range []int{unix.SO_BROADCAST, unix.SO_REUSEADDR} {
			if err := unix.SetsockoptInt(s, unix.SOL_SOCKET, o, 1); err != nil {
				unix.Close(s)
				return nil, err
			}
		}
		if err := unix.BindToDevice(s, dev); err != nil {
			unix.Close(s)
			return nil, err
		}
		if err := unix.Bind(s, &unix.SockaddrInet4{Port: 68}); err != nil {
			unix.Close(s)
			return nil, err
		}
		f := os.NewFile(uintptr(s), "dhcp")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		return c.(*net.UDPConn), nil
	})
	if err != nil {
		t.Fatalf("a DHCP client socket in %s on %s: %v", path, dev, err)
	}
	return c
}

// discover sends a DHCPDISCOVER as c (broadcast flag set) and returns the
// offer for it, retrying a few times (the bridge port may still be
// coming up).
func discover(conn *net.UDPConn, c dhcpClient) (*dhcpOffer, error) {
	hw, err := net.ParseMAC(c.mac)
	if err != nil {
		return nil, err
	}
	xid := binary.BigEndian.Uint32(hw[2:])
	p := make([]byte, 240, 400)
	p[0], p[1], p[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte address
	binary.BigEndian.PutUint32(p[4:], xid)
	binary.BigEndian.PutUint16(p[10:], 0x8000) // answer by broadcast: we have no address yet
	copy(p[28:], hw)
	copy(p[236:], []byte{99, 130, 83, 99})
	opt := func(code byte, v []byte) { p = append(append(p, code, byte(len(v))), v...) }
	opt(53, []byte{1}) // DHCPDISCOVER
	opt(60, []byte(c.vendor))
	opt(93, []byte{byte(c.arch >> 8), byte(c.arch)})
	opt(94, []byte{1, 3, 16}) // UNDI 3.16
	if c.userClass != "" {
		opt(77, []byte(c.userClass))
	}
	opt(55, []byte{1, 3, 6, 43, 60, 66, 67})
	p = append(p, 255)
	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	buf := make([]byte, 1500)
	for try := 0; try < 10; try++ {
		if _, err := conn.WriteToUDP(p, dst); err != nil {
			return nil, fmt.Errorf("sending DHCPDISCOVER: %w", err)
		}
		conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					break
				}
				return nil, err
			}
			if o := parseOffer(buf[:n], xid); o != nil {
				return o, nil
			}
		}
	}
	return nil, fmt.Errorf("no DHCPOFFER for %s within 10 tries", c.mac)
}

// parseOffer reads a DHCPOFFER with transaction id xid; nil for anything
// else.
func parseOffer(b []byte, xid uint32) *dhcpOffer {
	if len(b) < 240 || b[0] != 2 || binary.BigEndian.Uint32(b[4:]) != xid || !bytes.Equal(b[236:240], []byte{99, 130, 83, 99}) {
		return nil
	}
	o := &dhcpOffer{bootFile: string(bytes.TrimRight(b[108:236], "\x00"))}
	offer := false
	for i := 240; i < len(b) && b[i] != 255; {
		if b[i] == 0 {
			i++
			continue
		}
		if i+1 >= len(b) || i+2+int(b[i+1]) > len(b) {
			break
		}
		v := b[i+2 : i+2+int(b[i+1])]
		switch b[i] {
		case 53:
			offer = len(v) == 1 && v[0] == 2
		case 60:
			o.vendor = string(v)
		case 67:
			o.bootFile = string(bytes.TrimRight(v, "\x00"))
		}
		i += 2 + len(v)
	}
	if !offer {
		return nil
	}
	return o
}
