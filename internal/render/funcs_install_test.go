package render

import (
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/model"
)

// TestSHA512Crypt checks our $6$ hashes against the reference
// implementation: openssl passwd -6 (glibc's algorithm).
func TestSHA512Crypt(t *testing.T) {
	cases := []struct{ pw, salt string }{
		{"", "saltstring"},
		{"Hello world!", "saltstring"},
		{"a", "x"},
		{"correct horse battery staple", "0123456789abcdef"},
		{strings.Repeat("long password ", 20), "./ABCxyz"},
		{"ünïcödé pässwörd", "DeriveSaltabcdef"},
		{"sixty-four bytes exactly..................................!!!!", "s"},
		{"toolongsalt", "0123456789abcdefEXTRA"},
	}
	// Drepper's published test vector, independent of any local tool.
	if got, want := SHA512Crypt("Hello world!", "saltstring"), "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"; got != want {
		t.Errorf("SHA512Crypt(Hello world!) = %s, want %s", got, want)
	}
	// Two references: glibc's crypt(3) through python3 (what the installed
	// node verifies with) and openssl passwd -6. openssl refuses an empty
	// password and truncates long ones, so it checks the ordinary cases.
	checked := 0
	if py, err := exec.LookPath("python3"); err == nil {
		for _, c := range cases {
			cmd := exec.Command(py, "-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], '$6$'+sys.argv[2]))", c.pw, c.salt)
			out, err := cmd.Output()
			if err != nil {
				t.Logf("python3 crypt unavailable: %v", err)
				break
			}
			checked++
			if got, want := SHA512Crypt(c.pw, c.salt), strings.TrimSpace(string(out)); got != want {
				t.Errorf("SHA512Crypt(%q, %q)\n got %s\nwant %s (glibc)", c.pw, c.salt, got, want)
			}
		}
	}
	if openssl, err := exec.LookPath("openssl"); err == nil {
		for _, c := range cases {
			if c.pw == "" || len(c.pw) > 200 {
				continue
			}
			out, err := exec.Command(openssl, "passwd", "-6", "-salt", c.salt, c.pw).Output()
			if err != nil {
				t.Fatalf("openssl passwd: %v", err)
			}
			checked++
			if got, want := SHA512Crypt(c.pw, c.salt), strings.TrimSpace(string(out)); got != want {
				t.Errorf("SHA512Crypt(%q, %q)\n got %s\nwant %s (openssl)", c.pw, c.salt, got, want)
			}
		}
	}
	if checked == 0 {
		t.Skip("neither python3's crypt nor openssl is available to compare with")
	}
}

func TestDeriveSalt(t *testing.T) {
	a, b := DeriveSalt("pw", "wn1.example"), DeriveSalt("pw", "wn2.example")
	if len(a) != 16 || a == b || a != DeriveSalt("pw", "wn1.example") {
		t.Fatalf("salts %q %q: want 16 characters, stable, different per context", a, b)
	}
	for _, r := range a {
		if !strings.ContainsRune("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", r) {
			t.Fatalf("salt %q has %q, outside crypt's alphabet", a, r)
		}
	}
	if h := SHA512Crypt("pw", a); !strings.HasPrefix(h, "$6$"+a+"$") || len(h) != 3+16+1+86 {
		t.Fatalf("hash %q: want $6$<salt>$ and 86 characters of digest", h)
	}
}

func testCluster() *model.Cluster {
	c := &model.Cluster{Networks: []*model.Network{
		{Name: "pub", CIDR: "192.0.2.0/24"},
		{Name: "priv", CIDR: "10.0.0.0/28", Gateway: "10.0.0.1", DNS: []string{"10.0.0.1"}, Provisioning: true},
	}}
	for i, ip := range []string{"10.0.0.2", "10.0.0.3", "10.0.0.9", "10.0.0.14"} {
		c.Nodes = append(c.Nodes, &model.Node{Name: fmt.Sprintf("n%d", i), Interfaces: []*model.Interface{{Network: "priv", IP: ip}}})
	}
	c.Index()
	return c
}

func TestDHCPPool(t *testing.T) {
	c := testCluster()
	// Free: .4-.8 (5) and .10-.13 (4): the longest run wins.
	p, err := dhcpPool(c, "priv", 32)
	if err != nil || p != (Pool{Start: "10.0.0.4", End: "10.0.0.8", Size: 5}) {
		t.Fatalf("dhcpPool = %+v, %v", p, err)
	}
	if p, _ := dhcpPool(c, "priv", 2); p != (Pool{Start: "10.0.0.7", End: "10.0.0.8", Size: 2}) {
		t.Errorf("capped pool = %+v, want the top two of the run", p)
	}
	if p, err := dhcpPool(c, "priv", 0); err != nil || p.Size != 0 {
		t.Errorf("size 0 = %+v, %v; want no pool and no error", p, err)
	}
	for _, tc := range []struct {
		net  string
		max  int
		want string
	}{{"nope", 4, `no network "nope"`}, {"priv", -1, "must be 0"}} {
		if _, err := dhcpPool(c, tc.net, tc.max); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dhcpPool(%s, %d) error %v, want %q", tc.net, tc.max, err, tc.want)
		}
	}
	for i := 4; i <= 13; i++ {
		c.Nodes = append(c.Nodes, &model.Node{Interfaces: []*model.Interface{{Network: "priv", IP: fmt.Sprintf("10.0.0.%d", i)}}})
	}
	if _, err := dhcpPool(c, "priv", 4); err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Errorf("full network: error %v", err)
	}
}

func TestPtrNameAndProvisioning(t *testing.T) {
	for _, tc := range []struct{ ip, zone, want string }{
		{"10.10.0.101", "0.10.10.in-addr.arpa", "101"},
		{"10.10.3.7", "10.10.in-addr.arpa.", "7.3"},
	} {
		if got, err := ptrName(tc.ip, tc.zone); err != nil || got != tc.want {
			t.Errorf("ptrName(%s, %s) = %q, %v; want %q", tc.ip, tc.zone, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"10.11.0.1", "0.10.10.in-addr.arpa"}, {"fe80::1", "0.10.10.in-addr.arpa"}, {"x", "a"}} {
		if _, err := ptrName(bad[0], bad[1]); err == nil {
			t.Errorf("ptrName(%s, %s): no error", bad[0], bad[1])
		}
	}
	if n, err := provisioningNetwork(testCluster()); err != nil || n.Name != "priv" {
		t.Errorf("provisioning = %v, %v", n, err)
	}
	c := testCluster()
	c.Networks[1].Provisioning = false
	if _, err := provisioningNetwork(c); err == nil || !strings.Contains(err.Error(), "provisioning: true") {
		t.Errorf("no provisioning network: error %v", err)
	}
}

func TestZoneSerialFollowsTheRecords(t *testing.T) {
	if a, b := zoneSerial("z", "x=1"), zoneSerial("z", "x=2"); a == b || a == 0 || a > 0x7fffffff || a != zoneSerial("z", "x=1") {
		t.Errorf("zoneSerial: %d %d", a, b)
	}
}

// A gateway publishes the ports a node without a public interface opens
// to a parameter's networks, and nothing else.
func TestPublishedPortsAreTheFromPortsOfPrivateOnlyNodes(t *testing.T) {
	mod := &model.Module{Name: "squid", Ports: []model.Port{
		{Proto: "udp", Port: 3401, From: "monitors"},
		{Proto: "tcp", Port: 3128, Zone: "private"},
	}, Params: []*model.Param{{Name: "monitors", Value: []any{"192.0.2.0/24", "2001:db8::/32"}}}}
	private := &model.Node{Name: "proxy", Modules: []*model.Module{mod},
		Interfaces: []*model.Interface{{Network: "private", IP: "10.0.0.4"}}}
	public := &model.Node{Name: "int1", Modules: []*model.Module{mod},
		Interfaces: []*model.Interface{{Network: "public", IP: "192.0.2.9"}, {Network: "private", IP: "10.0.0.5"}}}
	got := publishedPorts(&model.Cluster{Nodes: []*model.Node{private, public}}, "public", "private")
	want := []PublishedPort{{Node: "proxy", IP: "10.0.0.4", Proto: "udp", Ports: []string{"3401"}, Sources: []string{"192.0.2.0/24"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("publishedPorts = %+v, want %+v", got, want)
	}
}
