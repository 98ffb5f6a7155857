package render

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/secretfmt"
)

func init() { funcGroups = append(funcGroups, installFuncs) }

// installFuncs serve the install chain's templates: kickstarts (password
// hashes), DHCP (the dynamic pool), DNS (reverse names, serials) and shell
// (quoting). None of them knows any role or module.
func installFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// sha512crypt is the SHA-512 crypt ($6$) hash of the named secret,
		// for rootpw --iscrypted. The salt is derived from the secret and
		// context (an HMAC), so builds are byte-identical and two contexts
		// (say, two nodes) get different hashes of the same password.
		"sha512crypt": func(secretName, context string) (string, error) {
			pw, err := r.secretMasked(secretName)
			if err != nil {
				return "", err
			}
			return r.mask(r.secrets.derive("sha512crypt\x00"+secretName+"\x00"+context, func() string {
				return SHA512Crypt(pw, DeriveSalt(pw, context))
			})), nil
		},
		// in reports whether v is one of the values: {{ if in .Cluster.OS "el8" "el9" }}.
		"in": func(v string, set ...string) bool {
			for _, s := range set {
				if v == s {
					return true
				}
			}
			return false
		},
		// first is the first node of a list; what says what was looked for,
		// for the error when there is none.
		"first": func(what string, l []*model.Node) (*model.Node, error) {
			if len(l) == 0 {
				return nil, fmt.Errorf("the cluster has no %s", what)
			}
			return l[0], nil
		},
		"provisioning": provisioningNetwork,
		"dhcpPool":     dhcpPool,
		"ptrName":      ptrName,
		"zoneSerial":   zoneSerial,
	}
}

// provisioningNetwork is the network nodes install over.
func provisioningNetwork(c *model.Cluster) (*model.Network, error) {
	for _, n := range c.Networks {
		if n.Provisioning {
			if n.CIDR == "" {
				return nil, fmt.Errorf("the provisioning network %s has no address plan in site.yaml", n.Name)
			}
			return n, nil
		}
	}
	return nil, errors.New("the design marks no network as provisioning: true, so nodes have nothing to install over")
}

// Pool is a range of addresses handed out to machines DHCP does not know.
type Pool struct {
	Start, End string
	Size       int
}

// dhcpPool picks the dynamic DHCP range of a network: the longest run of
// addresses that no node, gateway or name server uses (the highest such
// run on a tie), at most max addresses from its top. Machines whose MAC
// the site does not list boot from it and are picked from the menu. A max
// of 0 means no pool (Size 0).
func dhcpPool(c *model.Cluster, network string, max int) (Pool, error) {
	net := c.Network(network)
	if net == nil {
		return Pool{}, fmt.Errorf("there is no network %q", network)
	}
	if max < 0 {
		return Pool{}, fmt.Errorf("the DHCP pool size must be 0 (no pool) or more, not %d", max)
	}
	if max == 0 {
		return Pool{}, nil // no pool: only machines with a listed MAC get an address
	}
	p, err := netip.ParsePrefix(net.CIDR)
	if err != nil || !p.Addr().Is4() {
		return Pool{}, fmt.Errorf("network %s: %q is not an IPv4 network; the DHCP pool needs one", network, net.CIDR)
	}
	base := be32(p.Addr())
	size := uint64(1) << (32 - p.Bits())
	if size < 4 {
		return Pool{}, fmt.Errorf("network %s (%s) is too small for a DHCP pool", network, net.CIDR)
	}
	first, last := base+1, base+uint32(size-2)
	used := []uint32{}
	mark := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() && p.Contains(a) {
			used = append(used, be32(a))
		}
	}
	mark(net.Gateway)
	for _, d := range net.DNS {
		mark(d)
	}
	for _, n := range c.Nodes {
		if i := n.Iface(network); i != nil {
			mark(i.IP)
		}
	}
	sort.Slice(used, func(i, j int) bool { return used[i] < used[j] })
	var bestLo, bestHi uint32
	var bestLen uint64
	lo := first
	consider := func(a, b uint32) { // free run a..b inclusive
		if b < a {
			return
		}
		if l := uint64(b-a) + 1; l >= bestLen {
			bestLo, bestHi, bestLen = a, b, l
		}
	}
	for _, u := range used {
		if u < lo {
			continue
		}
		if u > lo {
			consider(lo, u-1)
		}
		lo = u + 1
		if lo == 0 || lo > last {
			lo = last + 1
			break
		}
	}
	if lo <= last {
		consider(lo, last)
	}
	if bestLen == 0 {
		return Pool{}, fmt.Errorf("network %s (%s) has no free address left for a DHCP pool", network, net.CIDR)
	}
	if bestLen > uint64(max) {
		bestLo = bestHi - uint32(max) + 1
		bestLen = uint64(max)
	}
	return Pool{Start: ip4(bestLo).String(), End: ip4(bestHi).String(), Size: int(bestLen)}, nil
}

func be32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func ip4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// ptrName is the owner name of an IPv4 address in a reverse zone, relative
// to the zone: 10.10.0.101 in 0.10.10.in-addr.arpa is "101".
func ptrName(ip, zone string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("ptrName: %q is not an IPv4 address", ip)
	}
	b := a.As4()
	full := fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0])
	zone = strings.TrimSuffix(strings.ToLower(zone), ".")
	rel, ok := strings.CutSuffix(full, "."+zone)
	if !ok || rel == "" {
		return "", fmt.Errorf("ptrName: %s is not inside the reverse zone %s", ip, zone)
	}
	return rel, nil
}

// zoneSerial is a DNS zone serial derived from the zone's content: it
// changes whenever a record does and stays the same otherwise, so builds
// stay byte-identical. It is not monotonic: secondaries must be told to
// transfer (rndc retransfer) rather than compare serials.
func zoneSerial(parts ...any) uint32 {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	v := binary.BigEndian.Uint32(h.Sum(nil)) & 0x7fffffff
	if v == 0 {
		v = 1
	}
	return v
}

// SHA512Crypt is glibc's SHA-512 crypt ("$6$") with the default 5000
// rounds (see secretfmt.SHA512Crypt).
func SHA512Crypt(password, salt string) string { return secretfmt.SHA512Crypt(password, salt) }

// DeriveSalt makes a 16-character crypt salt from a password and a
// context (see secretfmt.DeriveSalt).
func DeriveSalt(password, context string) string { return secretfmt.DeriveSalt(password, context) }
