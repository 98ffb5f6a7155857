package serve

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/state"
)

// normMAC writes a MAC as lower-case colon-separated hex; "" when s is not
// a 6-byte MAC. iPXE sends ${mac:hexhyp} (52-54-00-…); people write colons.
func normMAC(s string) string {
	hw, err := net.ParseMAC(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
	if err != nil || len(hw) != 6 {
		return ""
	}
	return hw.String()
}

// ipxeText makes a string safe to echo in an iPXE script: no variable
// expansion, no line breaks.
func ipxeText(s string) string {
	s = strings.NewReplacer("$", "", "\n", " ", "\r", " ").Replace(s)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

func writeScript(w http.ResponseWriter, script string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(script))
}

// bootEntry is the script DHCP points iPXE at. It is the same for every
// machine: it asks again with the machine's MAC, so that what a node boots
// is decided from its state, at request time.
func (s *Server) bootEntry(w http.ResponseWriter, r *http.Request) {
	writeScript(w, fmt.Sprintf(`#!ipxe
# kiln serve: ask for this machine's own boot script.
chain --autofree %s/boot/ipxe?mac=${mac:hexhyp}&asset=${asset:uristring}&serial=${serial:uristring} || goto failed
exit
:failed
echo kiln: cannot fetch this machine's boot script from %s
echo kiln: check that kiln serve runs on the head node and that this network reaches it
prompt --timeout 60000 Press any key to try again, or wait a minute || goto retry
:retry
chain --autofree %s/boot.ipxe || exit
`, s.base(r), ipxeText(s.base(r)), s.base(r)))
}

// bootNode answers a machine's request for its boot script.
func (s *Server) bootNode(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("mac")
	mac := normMAC(raw)
	ip := remoteIP(r)
	if mac == "" {
		writeScript(w, fmt.Sprintf("#!ipxe\necho kiln: the boot request carried no usable MAC address (%q); iPXE sends it as ${mac:hexhyp}\nprompt --timeout 60000 || exit\nexit\n", ipxeText(raw)))
		return
	}
	snap := s.snap.Load()
	n := snap.byMAC[mac]
	if n == nil && s.cfg.Discover != "" && !s.cfg.AutoDiscover {
		s.pending(w, r, mac)
		return
	}
	if n == nil && s.cfg.Discover != "" {
		var err error
		n, err = s.discover(r.Context(), mac, ip)
		if err != nil {
			s.log.Error("discovery", "mac", mac, "remote", ip, "err", err)
			s.noteUnknown(r, mac, "discovery failed: "+err.Error())
			writeScript(w, fmt.Sprintf("#!ipxe\necho kiln: this machine (%s) is not in site.yaml, and discovery failed:\necho %s\necho kiln: see kiln serve's log on the head node\nprompt --timeout 300000 || exit\nexit\n", mac, ipxeText(err.Error())))
			return
		}
	}
	if n == nil {
		s.noteUnknown(r, mac, "no node of the site has this MAC")
		writeScript(w, fmt.Sprintf(`#!ipxe
echo kiln: this machine (%s) is not in site.yaml.
echo kiln: add its MAC to its node in site.yaml and run kiln build, or start kiln serve --discover ROLE.
prompt --timeout 300000 || exit
exit
`, mac))
		return
	}
	s.bootFor(w, r, n, "MAC "+mac, loaderIPXE)
}

// bootByName answers a request for a node's own iPXE script by its name
// (the install chain's entry script chains to ipxe/NODE.ipxe).
func (s *Server) bootByName(w http.ResponseWriter, r *http.Request, n *model.Node) {
	s.bootFor(w, r, n, "by name", loaderIPXE)
}

// loader is the boot loader a boot file is written for.
type loader int

const (
	loaderIPXE loader = iota // iPXE scripts (BIOS PXE, iPXE ROMs)
	loaderGRUB               // GRUB 2 files (the UEFI chain: signed shim and GRUB)
)

func (l loader) String() string {
	if l == loaderGRUB {
		return "grub"
	}
	return "ipxe"
}

// grubMessage is a GRUB 2 file that shows lines, waits, and leaves GRUB
// (the firmware then tries its next boot entry).
func grubMessage(wait time.Duration, lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("echo " + grubQuote("kiln: "+strings.NewReplacer("\n", " ", "\r", " ").Replace(l)) + "\n")
	}
	fmt.Fprintf(&b, "sleep %d\nexit\n", int(wait.Seconds()))
	return b.String()
}

// grubQuote single-quotes a word for GRUB 2's script language.
func grubQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// bootGRUB answers GRUB's request for a node's own GRUB file by its name
// (the UEFI chain's grub.cfg and grub.cfg-01-MAC hand over to
// grub/NODE.cfg): the same decision as for iPXE, in GRUB's language.
func (s *Server) bootGRUB(w http.ResponseWriter, r *http.Request, n *model.Node) {
	s.bootFor(w, r, n, "GRUB, by name", loaderGRUB)
}

// pending puts an unknown machine on the pending list (kiln discover) and
// tells it to wait; a rejected one is told so, and not logged again.
func (s *Server) pending(w http.ResponseWriter, r *http.Request, mac string) {
	s.metrics.boots.inc("unknown")
	status, err := s.store.PendingStatus(r.Context(), mac)
	if err != nil {
		s.storeError(w, err)
		return
	}
	if status == "rejected" {
		writeScript(w, "#!ipxe\necho kiln: this machine ("+mac+") was rejected (kiln discover --reject).\nprompt --timeout 300000 || exit\nexit\n")
		return
	}
	if !s.seenRecently(mac) {
		p, err := s.store.NotePending(r.Context(), mac, remoteIP(r), s.cfg.Discover)
		if err != nil {
			s.storeError(w, err)
			return
		}
		if p.Seen == 1 {
			s.log.Warn("unknown machine: on the pending list (kiln discover)", "mac", mac, "remote", remoteIP(r))
			s.store.Record(r.Context(), state.Event{Kind: state.KindUnknown, Detail: "MAC " + mac + ": not in site.yaml; on the pending list (kiln discover --accept " + mac + ")", Remote: remoteIP(r)})
		}
	}
	writeScript(w, fmt.Sprintf(`#!ipxe
echo kiln: this machine (%s) is not in site.yaml. It waits on the pending list:
echo kiln: on the head node, kiln discover lists it and kiln discover --accept %s gives it a node.
prompt --timeout 60000 || goto retry
:retry
chain --autofree %s/boot.ipxe || exit
`, mac, mac, s.base(r)))
}

// seenRecently reports whether mac asked within the last ten minutes (and
// notes that it asks now): a machine looping in PXE is logged once.
func (s *Server) seenRecently(mac string) bool {
	now := time.Now()
	s.unknownMu.Lock()
	defer s.unknownMu.Unlock()
	last, seen := s.unknown[mac]
	if seen && now.Sub(last) <= 10*time.Minute {
		return true
	}
	s.unknown[mac] = now
	if len(s.unknown) > 10000 { // bound the memory an address flood can take
		for k, t := range s.unknown {
			if now.Sub(t) > 10*time.Minute {
				delete(s.unknown, k)
			}
		}
	}
	return false
}

// bootFor decides what node n boots, records it, and writes the script.
// Only the node's own address gets an answer: another's request counts no
// boot and gets no token.
func (s *Server) bootFor(w http.ResponseWriter, r *http.Request, n *model.Node, how string, ld loader) {
	ip := remoteIP(r)
	snap := s.snap.Load()
	if !s.nodeAddrOK(n, ip) {
		s.deny(w, r, n.Name, notAddress(n, ip, "its boot script ("+how+")"))
		return
	}
	if n.Asset != "" {
		// Bound to the machine: its firmware's asset tag or serial number
		// (iPXE's ${asset}, ${serial}) must be site.yaml's asset:.
		q := r.URL.Query()
		asset, serial := q.Get("asset"), q.Get("serial")
		if subtle.ConstantTimeCompare([]byte(asset), []byte(n.Asset)) != 1 && subtle.ConstantTimeCompare([]byte(serial), []byte(n.Asset)) != 1 {
			s.deny(w, r, n.Name, fmt.Sprintf("the machine at %s reports asset tag %q and serial %q; site.yaml binds %s to another machine (asset:)", ip, ipxeText(asset), ipxeText(serial), n.Name))
			return
		}
	}
	ks := strings.ReplaceAll(s.cfg.Kickstart, "{node}", n.Name)
	grubFile := strings.ReplaceAll(s.cfg.GRUBScript, "{node}", n.Name)
	_, hasKS := snap.files[ks]
	_, hasGRUB := snap.files[grubFile]
	if !hasKS || ld == loaderGRUB && !hasGRUB {
		cur, known, err := s.store.Node(r.Context(), n.Name)
		if err != nil {
			s.storeError(w, err)
			return
		}
		if !known || state.InstallMode(cur.State) {
			why := fmt.Sprintf("the build has no %s, so %s cannot install: build the install chain (kiln build), or name the kickstart with --kickstart", ks, n.Name)
			if hasKS {
				why = fmt.Sprintf("the build has no %s, so %s cannot install from GRUB: build the install chain (kiln build)", grubFile, n.Name)
			}
			seq, _ := s.store.Record(r.Context(), state.Event{Node: n.Name, Kind: state.KindBoot, Detail: "not booted: " + why, Remote: ip})
			seqHeader(w, seq)
			s.log.Error("cannot install", "node", n.Name, "why", why)
			if ld == loaderGRUB {
				writeScript(w, grubMessage(5*time.Minute, why))
				return
			}
			writeScript(w, fmt.Sprintf("#!ipxe\necho kiln: %s\nprompt --timeout 300000 || exit\nexit\n", ipxeText(why)))
			return
		}
	}
	res, err := s.store.Boot(r.Context(), n.Name, ip, how, s.cfg.Policy)
	if err != nil {
		s.storeError(w, err)
		return
	}
	seqHeader(w, res.Seq)
	s.metrics.boots.inc(string(res.Mode))
	s.log.Info("boot", "node", n.Name, "mode", res.Mode, "state", res.Node.State, "remote", ip, "loader", ld.String())
	if ld == loaderGRUB {
		switch res.Mode {
		case state.ModeInstall:
			writeScript(w, strings.Replace(s.grubInstall(snap, n, grubFile), tokenSlot, res.Token, 1))
		case state.ModeLocal:
			if f, ok := snap.files[s.cfg.GRUBLocal]; ok {
				writeScript(w, string(f.data))
				return
			}
			writeScript(w, grubMessage(0, fmt.Sprintf("%s is %s; booting from the local disk", n.Name, res.Node.State)))
		default:
			writeScript(w, grubMessage(5*time.Minute,
				n.Name+" is held as failed and will not be installed again by itself.",
				res.Node.Reason,
				"on the head node: kiln events "+n.Name+", then kiln reinstall "+n.Name))
		}
		return
	}
	switch res.Mode {
	case state.ModeInstall:
		writeScript(w, strings.Replace(s.installScript(r, snap, n, ks, res), tokenSlot, res.Token, 1))
	case state.ModeLocal:
		if f, ok := snap.files[s.cfg.LocalScript]; ok {
			writeScript(w, string(f.data))
			return
		}
		writeScript(w, fmt.Sprintf(`#!ipxe
echo kiln: %s is %s; booting from the local disk
iseq ${platform} efi && exit ||
sanboot --no-describe --drive 0x80 || exit
`, n.Name, res.Node.State))
	default:
		writeScript(w, fmt.Sprintf(`#!ipxe
echo kiln: %s is held as failed and will not be installed again by itself.
echo kiln: %s
echo kiln: on the head node: kiln events %s, then kiln reinstall %s
prompt --timeout 300000 || exit
exit
`, n.Name, ipxeText(res.Node.Reason), n.Name, n.Name))
	}
}

// ksArg finds the kickstart argument of a kernel command line (in a GRUB
// file it may be single-quoted: the URL ends before the quote).
var ksArg = regexp.MustCompile(`\b((?:inst\.)?ks=)([^\s'"]+)`)

// withToken adds the node's token to the kickstart URL of a boot file.
func withToken(data []byte, tok string) []byte {
	return ksArg.ReplaceAllFunc(data, func(m []byte) []byte {
		if bytes.Contains(m, []byte("token=")) {
			return m
		}
		sep := "?"
		if bytes.Contains(m, []byte("?")) {
			sep = "&"
		}
		return append(append([]byte{}, m...), []byte(sep+"token="+tok)...)
	})
}

// grubInstall is the build's GRUB install file of node n with tokenSlot
// added to its kickstart URL, where each boot's token goes.
func (s *Server) grubInstall(snap *snapshot, n *model.Node, grubFile string) string {
	if snap.memo != nil {
		if v, ok := snap.memo.grubs.Load(n.Name); ok {
			return v.(string)
		}
	}
	out := string(withToken(snap.files[grubFile].data, tokenSlot))
	if snap.memo != nil {
		snap.memo.grubs.Store(n.Name, out)
	}
	return out
}

// tokenSlot stands for the install token in a memoised script.
const tokenSlot = "\x00token\x00"

// installScript boots the installer with the node's kickstart: the build's
// iPXE script for the node with the token added to its kickstart URL, or,
// when the build has none, one of our own. The token is left as tokenSlot.
func (s *Server) installScript(r *http.Request, snap *snapshot, n *model.Node, ks string, res *state.Result) string {
	tok := tokenSlot
	if snap.memo != nil {
		if v, ok := snap.memo.scripts.Load(n.Name); ok {
			return v.(string)
		}
	}
	if f, ok := snap.files[strings.ReplaceAll(s.cfg.IPXEScript, "{node}", n.Name)]; ok && ksArg.Match(f.data) {
		out := withToken(f.data, tok)
		// A function of the build's file alone.
		if snap.memo != nil {
			snap.memo.scripts.Store(n.Name, string(out))
		}
		return string(out)
	}
	base := s.base(r)
	url := func(p string) string {
		if strings.Contains(p, "://") {
			return p
		}
		return base + "/os/" + strings.TrimLeft(p, "/")
	}
	kernel, initrd := url(s.cfg.Kernel), url(s.cfg.Initrd)
	args := []string{
		"initrd=" + path.Base(initrd), // UEFI iPXE needs it, or the kernel panics
		"inst.ks=" + base + "/kiln/" + ks + "?token=" + tok,
	}
	if s.cfg.Mirror != "" {
		args = append(args, "inst.repo="+base+"/os/")
	}
	args = append(args, "ip=dhcp")
	if s.cfg.KernelArgs != "" {
		args = append(args, s.cfg.KernelArgs)
	}
	return fmt.Sprintf(`#!ipxe
echo kiln: installing %s (install boot %d of %d)
kernel %s %s || goto failed
initrd %s || goto failed
boot || goto failed
:failed
echo kiln: the installer for %s could not be loaded from %s
echo kiln: check the install tree (kiln serve --mirror) and the log on the head node
prompt --timeout 60000 || exit
exit
`, n.Name, res.Node.Boots, s.cfg.Policy.MaxBoots, kernel, strings.Join(args, " "), initrd, n.Name, ipxeText(base))
}

// noteUnknown logs an unknown machine, at most once every ten minutes per
// MAC, so that a machine looping in PXE does not flood the log.
func (s *Server) noteUnknown(r *http.Request, mac, why string) {
	s.metrics.boots.inc("unknown")
	if s.seenRecently(mac) {
		return
	}
	s.log.Warn("unknown machine", "mac", mac, "remote", remoteIP(r), "why", why)
	s.store.Record(r.Context(), state.Event{Kind: state.KindUnknown, Detail: "MAC " + mac + ": " + why, Remote: remoteIP(r)})
}
