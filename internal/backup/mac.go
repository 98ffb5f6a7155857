package backup

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/ptype"
)

// MACEdit is a change of one node's boot MAC in site.yaml.
type MACEdit struct {
	Node, NIC string
	Old, New  string
	Line      int
	Before    []byte // site.yaml as it was, to put back
	After     []byte
}

// EditMAC computes the edit of site.yaml in the site folder dir that gives
// the node's boot NIC the MAC mac: the one scalar that holds the old MAC is
// replaced, so every comment and every other byte of the file stays.
func EditMAC(dir string, c *model.Cluster, node, mac string) (*MACEdit, error) {
	n := c.Node(node)
	if n == nil {
		return nil, fmt.Errorf("there is no node %s in the site", node)
	}
	newMAC, err := ptype.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("%v; write it like 52:54:00:12:34:56", err)
	}
	i := n.BootIface()
	if i == nil {
		return nil, fmt.Errorf("%s has no network-boot interface, so no MAC to replace", node)
	}
	switch {
	case i.MACFrom.Layer == "computed":
		return nil, fmt.Errorf("%s is a VM whose MAC kiln derives from its name; a rebuilt VM keeps it, there is nothing to replace", node)
	case i.MAC == "" || i.MACFrom.Pos.Line == 0:
		return nil, fmt.Errorf("site.yaml gives %s %s no MAC yet; add it there (mac: or macs:), then run kiln build", node, i.NIC)
	case i.MAC == newMAC:
		return nil, fmt.Errorf("%s %s already has the MAC %s", node, i.NIC, newMAC)
	}
	for _, o := range c.Nodes {
		for _, oi := range o.Interfaces {
			if oi.MAC == newMAC {
				return nil, fmt.Errorf("the MAC %s is already %s's (%s); each NIC has its own", newMAC, o.Name, oi.NIC)
			}
		}
	}
	file := filepath.Join(dir, load.SiteFile)
	if !strings.HasSuffix(filepath.ToSlash(i.MACFrom.Pos.File), load.SiteFile) {
		return nil, fmt.Errorf("%s's MAC comes from %s, not site.yaml; edit it there", node, i.MACFrom.Pos)
	}
	before, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	lines := bytes.SplitAfter(before, []byte("\n"))
	pos := i.MACFrom.Pos
	if pos.Line > len(lines) {
		return nil, fmt.Errorf("site.yaml changed since it was read; run kiln recover again")
	}
	line := lines[pos.Line-1]
	off := runeOffset(line, pos.Col-1)
	if off < 0 {
		return nil, fmt.Errorf("cannot find %s's MAC at %s; edit it by hand", node, pos)
	}
	start, end, quoted := scalarAt(line, off)
	if got, err := ptype.ParseMAC(string(line[start:end])); err != nil || got != i.MAC {
		return nil, fmt.Errorf("cannot find %s's MAC %s at %s; edit it by hand", node, i.MAC, pos)
	}
	repl := newMAC
	if !quoted {
		repl = `"` + newMAC + `"`
	}
	var after bytes.Buffer
	for k, l := range lines {
		if k == pos.Line-1 {
			after.Write(l[:start])
			after.WriteString(repl)
			after.Write(l[end:])
			continue
		}
		after.Write(l)
	}
	return &MACEdit{Node: node, NIC: i.NIC, Old: i.MAC, New: newMAC, Line: pos.Line, Before: before, After: after.Bytes()}, nil
}

// runeOffset is the byte offset of the n-th rune of line, or -1.
func runeOffset(line []byte, n int) int {
	off := 0
	for k := 0; k < n; k++ {
		if off >= len(line) {
			return -1
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	if off >= len(line) {
		return -1
	}
	return off
}

// scalarAt finds the YAML scalar that starts at off: within its quotes if
// it has them.
func scalarAt(line []byte, off int) (start, end int, quoted bool) {
	if q := line[off]; q == '"' || q == '\'' {
		if k := bytes.IndexByte(line[off+1:], q); k >= 0 {
			return off + 1, off + 1 + k, true
		}
		return off, off, true
	}
	end = off
	for end < len(line) && !strings.ContainsRune(" \t\r\n,]}#", rune(line[end])) {
		end++
	}
	return off, end, false
}
