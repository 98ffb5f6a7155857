package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/state"
	"kiln.dev/kiln/internal/validate"
)

// discover gives an unknown machine the next free node slot of the
// --discover role (kiln serve --discover ROLE --auto), through Claim, and
// reloads.
func (s *Server) discover(ctx context.Context, mac, remote string) (*model.Node, error) {
	s.discoverMu.Lock()
	defer s.discoverMu.Unlock()
	snap := s.snap.Load()
	if n := snap.byMAC[mac]; n != nil { // claimed while we waited
		return n, nil
	}
	if s.cfg.Source.Dir == "" || s.cfg.Source.Example != "" {
		return nil, errors.New("discovery writes site.yaml, so it needs a site folder (-C DIR), not an embedded example")
	}
	slot, err := Claim(s.cfg.Source.Dir, s.cfg.BuildDir, s.cfg.Discover, "", mac)
	if err != nil {
		return nil, err
	}
	seq, err := s.store.Record(ctx, state.Event{Node: slot.Name, Kind: state.KindDiscover,
		Detail: fmt.Sprintf("MAC %s claimed the free slot %s of role %s (written to site.yaml, rebuilt)", mac, slot.Name, s.cfg.Discover), Remote: remote, Actor: "kiln serve --discover --auto"})
	if err != nil {
		return nil, err
	}
	s.log.Info("discovered", "node", slot.Name, "mac", mac, "role", s.cfg.Discover, "event", seq)
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	n := s.snap.Load().byMAC[mac]
	if n == nil {
		return nil, fmt.Errorf("after the rebuild no node has the MAC %s", mac)
	}
	return n, nil
}

// Claim gives mac a node of role in the site folder dir: the named node
// (which must have no MAC yet), or the first, in address order, whose boot
// interface has none. The MAC is written into site.yaml (a text edit that
// keeps comments and layout, checked by loading the edited site before it
// is put in place atomically) and the site is rebuilt into buildDir. It
// returns the node (as the site had it before).
func Claim(dir, buildDir, role, node, mac string) (*model.Node, error) {
	if normMAC(mac) == "" {
		return nil, fmt.Errorf("%q is not a MAC address", mac)
	}
	mac = normMAC(mac)
	old0, err := resolveWith(dir, nil)
	if err != nil {
		return nil, err
	}
	c := old0.Cluster
	for _, n := range c.Nodes {
		for _, i := range n.Interfaces {
			if normMAC(i.MAC) == mac {
				return nil, fmt.Errorf("the MAC %s is %s's already", mac, n.Name)
			}
		}
	}
	if c.Role(role) == nil {
		return nil, fmt.Errorf("the site has no role %s", role)
	}
	var slot *model.Node
	var network string
	for _, n := range c.NodesOf(role) {
		i := n.BootIface()
		if i == nil || node != "" && n.Name != node {
			continue
		}
		if i.MAC == "" {
			slot, network = n, i.Network
			break
		}
		if node != "" {
			return nil, fmt.Errorf("%s has the MAC %s already", n.Name, i.MAC)
		}
	}
	if slot == nil {
		if node != "" {
			return nil, fmt.Errorf("role %s has no node %s with a boot interface", role, node)
		}
		return nil, fmt.Errorf("role %s has no free slot: each of its nodes has a MAC; raise its count in site.yaml", role)
	}
	sitePath := filepath.Join(dir, load.SiteFile)
	old, err := os.ReadFile(sitePath)
	if err != nil {
		return nil, err
	}
	edited, err := addMAC(old, role, slot, network, mac)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s's MAC into %s: %w", slot.Name, sitePath, err)
	}
	site, err := resolveWith(dir, edited)
	if err != nil {
		return nil, fmt.Errorf("the edited site.yaml would not load, so it was left alone: %w", err)
	}
	if got := site.Cluster.Node(slot.Name); got == nil || got.BootIface() == nil || normMAC(got.BootIface().MAC) != mac {
		return nil, fmt.Errorf("the edit did not give %s the MAC %s; site.yaml was left alone", slot.Name, mac)
	}
	files, err := site.Render()
	if err != nil {
		return nil, fmt.Errorf("the site with %s's MAC does not build, so site.yaml was left alone: %w", slot.Name, describe(err))
	}
	if err := writeAtomic(sitePath, edited); err != nil {
		return nil, err
	}
	if _, err := output.Write(buildDir, files); err != nil {
		return nil, fmt.Errorf("site.yaml now gives %s the MAC %s, but the rebuild failed: %w (run kiln build)", slot.Name, mac, err)
	}
	return slot, nil
}

// resolveWith resolves the site in dir with site.yaml replaced by data
// (nil: as it is).
func resolveWith(dir string, data []byte) (*pipeline.Site, error) {
	var fsys fs.FS = os.DirFS(dir)
	if data != nil {
		fsys = overlayFS{FS: fsys, name: load.SiteFile, data: data}
	}
	d, diags := load.FS(fsys, filepath.ToSlash(filepath.Clean(dir))+"/")
	if d == nil {
		return nil, describe(diags.Err())
	}
	diags.Append(validate.Definitions(d))
	c, rd := resolve.Cluster(d)
	diags.Append(rd)
	if err := diags.Err(); err != nil {
		return nil, describe(err)
	}
	return &pipeline.Site{Defs: d, Cluster: c}, nil
}

// overlayFS is a folder with one file replaced.
type overlayFS struct {
	fs.FS
	name string
	data []byte
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if name == o.name {
		return fstest.MapFS{o.name: &fstest.MapFile{Data: o.data, Mode: 0o644}}.Open(name)
	}
	return o.FS.Open(name)
}

func writeAtomic(p string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(p); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".site.yaml.kiln-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// addCounted writes a counted node's MAC into its count block rv, where
// the node is number idx: as a node: MAC line of macs: (a new macs: by
// name if there is none), into the interface's own list or map when macs:
// is per interface, or at the end of a list in node order when the list
// reaches just before it.
func addCounted(data []byte, lines [][]byte, role string, rv *yaml.Node, node *model.Node, idx int, network, quoted string) ([]byte, error) {
	countKey, _ := mapEntry(rv, "count")
	macsKey, macs := mapEntry(rv, "macs")
	if macs == nil {
		if countKey == nil {
			return nil, fmt.Errorf("nodes: %s: has no count:", role)
		}
		return insertLine(lines, countKey.Line, strings.Repeat(" ", countKey.Column-1)+"macs: {"+node.Name+": "+quoted+"}"), nil
	}
	if macs.Kind == yaml.MappingNode {
		if k, sub := mapEntry(macs, network); sub != nil && (sub.Kind == yaml.MappingNode || sub.Kind == yaml.SequenceNode) {
			macsKey, macs = k, sub // per interface
		} else {
			for _, i := range node.Interfaces {
				if k, sub := mapEntry(macs, i.NIC); i.Network == network && sub != nil && (sub.Kind == yaml.MappingNode || sub.Kind == yaml.SequenceNode) {
					macsKey, macs = k, sub
				}
			}
		}
	}
	switch macs.Kind {
	case yaml.MappingNode:
		if _, v := mapEntry(macs, node.Name); v != nil {
			return nil, fmt.Errorf("%s already has a MAC in macs: of %s", node.Name, role)
		}
		entry := node.Name + ": " + quoted
		if macs.Style&yaml.FlowStyle != 0 || len(macs.Content) == 0 {
			if len(macs.Content) > 0 {
				entry = ", " + entry
			}
			return insertFlowRaw(data, lines, macs, entry, '}')
		}
		lastKey := macs.Content[len(macs.Content)-2]
		return insertLine(lines, macs.Content[len(macs.Content)-1].Line, strings.Repeat(" ", lastKey.Column-1)+entry), nil
	case yaml.SequenceNode:
		if len(macs.Content) != idx-1 {
			return nil, fmt.Errorf("%s is node %d of its block of %s, but the macs: list has %d entries; place the MAC by hand, or write macs: by node name", node.Name, idx, role, len(macs.Content))
		}
		if macs.Style&yaml.FlowStyle != 0 || len(macs.Content) == 0 && macs.Line == macsKey.Line {
			return insertFlow(data, lines, macs, quoted, ']')
		}
		last := macs.Content[len(macs.Content)-1]
		return insertLine(lines, last.Line, strings.Repeat(" ", max(0, last.Column-3))+"- "+quoted), nil
	}
	return nil, fmt.Errorf("nodes: %s: macs: is neither a list nor a mapping", role)
}

// addMAC writes mac for node (of role, on network) into site.yaml's text,
// touching nothing else: in the count form (and a count block of the list
// form) into macs: (addCounted), in the list form into the node's mac:
// mapping (or a new mac: line under its name:).
func addMAC(data []byte, role string, node *model.Node, network, mac string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("site.yaml is not a mapping")
	}
	nodes := mapValue(doc.Content[0], "nodes")
	if nodes == nil {
		return nil, errors.New("site.yaml has no nodes:")
	}
	roleKey, rv := mapEntry(nodes, role)
	if rv == nil {
		return nil, fmt.Errorf("site.yaml has no nodes: %s:", role)
	}
	lines := splitLines(data)
	quoted := `"` + mac + `"`
	switch rv.Kind {
	case yaml.MappingNode:
		return addCounted(data, lines, role, rv, node, node.Index, network, quoted)
	case yaml.SequenceNode:
		for _, e := range rv.Content {
			nameKey, name := mapEntry(e, "name")
			if name == nil || name.Value != node.Name {
				continue
			}
			_, m := mapEntry(e, "mac")
			entry := network + ": " + quoted
			if m == nil {
				return insertLine(lines, nameKey.Line, strings.Repeat(" ", nameKey.Column-1)+"mac: {"+entry+"}"), nil
			}
			if m.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s's mac: is not a mapping of network to MAC", node.Name)
			}
			if m.Style&yaml.FlowStyle != 0 {
				if len(m.Content) > 0 {
					entry = ", " + entry
				}
				return insertFlowRaw(data, lines, m, entry, '}')
			}
			lastKey := m.Content[len(m.Content)-2]
			return insertLine(lines, m.Content[len(m.Content)-1].Line, strings.Repeat(" ", lastKey.Column-1)+entry), nil
		}
		// A count block of the list: numbers continue from block to block.
		first := 1
		for _, e := range rv.Content {
			if _, c := mapEntry(e, "count"); c != nil {
				n, err := strconv.Atoi(c.Value)
				if err != nil {
					return nil, fmt.Errorf("nodes: %s: a count is not a number", role)
				}
				if node.Index >= first && node.Index < first+n {
					return addCounted(data, lines, role, e, node, node.Index-first+1, network, quoted)
				}
				first += n
			}
		}
		return nil, fmt.Errorf("nodes: %s: has no node named %s", role, node.Name)
	}
	_ = roleKey
	return nil, fmt.Errorf("nodes: %s: is neither a list nor a mapping", role)
}

func mapEntry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node { _, v := mapEntry(m, key); return v }

func splitLines(data []byte) [][]byte {
	return bytes.SplitAfter(data, []byte("\n"))
}

// insertLine puts text on a new line after line (1-based).
func insertLine(lines [][]byte, after int, text string) []byte {
	var b bytes.Buffer
	for i, l := range lines {
		b.Write(l)
		if i+1 == after {
			if !bytes.HasSuffix(l, []byte("\n")) {
				b.WriteByte('\n')
			}
			b.WriteString(text + "\n")
		}
	}
	return b.Bytes()
}

// insertFlow adds an item to a flow sequence.
func insertFlow(data []byte, lines [][]byte, n *yaml.Node, item string, closer byte) ([]byte, error) {
	if len(n.Content) > 0 {
		item = ", " + item
	}
	return insertFlowRaw(data, lines, n, item, closer)
}

// insertFlowRaw inserts text just before the closer of the flow collection
// that starts at n's position, skipping quoted strings and comments.
func insertFlowRaw(data []byte, lines [][]byte, n *yaml.Node, text string, closer byte) ([]byte, error) {
	off := 0
	for i := 0; i < n.Line-1 && i < len(lines); i++ {
		off += len(lines[i])
	}
	off += n.Column - 1
	depth := 0
	for i := off; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '\'':
			for i++; i < len(data) && data[i] != '\''; i++ {
			}
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				if c != closer {
					return nil, errors.New("unbalanced brackets")
				}
				out := make([]byte, 0, len(data)+len(text))
				out = append(out, data[:i]...)
				out = append(out, text...)
				return append(out, data[i:]...), nil
			}
		}
	}
	return nil, errors.New("cannot find the end of the list")
}
