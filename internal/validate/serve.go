package validate

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"kiln.dev/kiln/internal/diag"
)

// serve checks the design's serve: block: each path is a plain path in
// the build, and a per-node one says where the node's name goes.
func (v *checker) serve() {
	s := v.d.Design.Serve
	if s == nil {
		return
	}
	where := "design serve"
	perNode := map[string]bool{"boot_script": true, "grub_script": true, "install_file": true}
	for _, p := range s.Named() {
		val := p.Path.Value
		probe := strings.ReplaceAll(val, "{node}", "n")
		if path.Clean(probe) != probe || !fs.ValidPath(probe) || strings.ContainsAny(val, "\n\r$ '\"") {
			v.diags.Add(p.Path.Pos, where, fmt.Sprintf("%s: %q is not a plain relative path in the build", p.Key, val), "write it as the artifact's path, e.g. ipxe/{node}.ipxe")
			continue
		}
		if perNode[p.Key] && !strings.Contains(val, "{node}") {
			v.diags.Add(p.Path.Pos, where, fmt.Sprintf("%s: %q names one file for every node", p.Key, val), "put {node} where the node's name goes, e.g. ipxe/{node}.ipxe")
		}
		if !perNode[p.Key] && strings.Contains(val, "{node}") {
			v.diags.Add(p.Path.Pos, where, fmt.Sprintf("%s: %q has {node}, but it is one file for the whole cluster", p.Key, val), "remove {node}")
		}
	}
	if m := s.Module.Value; m != "" {
		if _, ok := v.d.Modules[m]; !ok {
			v.diags.Add(s.Module.Pos, where, fmt.Sprintf("module: %q is not a module of the catalog", m), diag.DidYouMean(m, v.d.ModuleNames()))
		}
	}
	for _, k := range []struct {
		key string
		val string
	}{{"kernel", s.Kernel.Value}, {"initrd", s.Initrd.Value}} {
		if strings.ContainsAny(k.val, "\n\r$ '\"") {
			v.diags.Add(s.KeyPos[k.key], where, fmt.Sprintf("%s: %q has characters an iPXE script or a kernel command line cannot carry", k.key, k.val), "give a path in the install tree such as images/pxeboot/vmlinuz, or a plain URL")
		}
	}
}
