package serve

import (
	"fmt"
	"slices"
	"strings"

	"kiln.dev/kiln/internal/defs"
)

// namedPath is a file of the build kiln serve hands out, named by the
// design's serve: block or a flag (not kiln's built-in default), which the
// build is expected to have.
type namedPath struct {
	key, pattern, by string
}

// fromDesign takes what the design's serve: block names for every path
// not given (by a flag): the design says what kiln serve hands out.
func (c *Config) fromDesign(s *defs.ServeUse) {
	take := func(field *string, key string, v string, flag string) {
		switch {
		case *field != "":
			c.named = append(c.named, namedPath{key, *field, flag})
		case v != "":
			*field = v
			c.named = append(c.named, namedPath{key, v, "the design's serve: " + key})
		}
	}
	var d defs.ServeUse
	if s != nil {
		d = *s
	}
	take(&c.IPXEScript, "boot_script", d.BootScript.Value, "--ipxe-script")
	take(&c.LocalScript, "local_boot", d.LocalBoot.Value, "--local-script")
	take(&c.GRUBScript, "grub_script", d.GRUBScript.Value, "--grub-script")
	take(&c.GRUBLocal, "grub_local", d.GRUBLocal.Value, "--grub-local")
	take(&c.Kickstart, "install_file", d.InstallFile.Value, "--kickstart")
	if c.Kernel == "" {
		c.Kernel = d.Kernel.Value
	}
	if c.Initrd == "" {
		c.Initrd = d.Initrd.Value
	}
	if c.DnsmasqConf == "" {
		c.DnsmasqConf = d.DnsmasqConf.Value
	}
}

// warnMissing logs, once a build is loaded, each file the design (or a
// flag) names that the build lacks: kiln serve then writes its own boot
// script, or has no install file to hand out.
func (s *Server) warnMissing(snap *snapshot) {
	for _, p := range s.cfg.named {
		var missing []string
		if strings.Contains(p.pattern, "{node}") {
			for _, n := range snap.cluster.Nodes {
				if _, ok := snap.files[strings.ReplaceAll(p.pattern, "{node}", n.Name)]; !ok {
					missing = append(missing, n.Name)
				}
			}
		} else if _, ok := snap.files[p.pattern]; !ok {
			missing = []string{""}
		}
		if len(missing) == 0 {
			continue
		}
		what := p.pattern
		if missing[0] != "" {
			shown := missing[:min(len(missing), 3)]
			what = fmt.Sprintf("%s for %d node(s): %s", p.pattern, len(missing), strings.Join(shown, ", "))
			if len(missing) > len(shown) {
				what += ", …"
			}
		}
		fallback := "nodes get none"
		if slices.Contains([]string{"boot_script", "local_boot", "grub_script", "grub_local"}, p.key) {
			fallback = "kiln serve writes its own"
		}
		s.log.Warn(fmt.Sprintf("the build lacks %s, which %s names (%s): build it, or fix the name", what, p.by, fallback), "file", p.pattern)
	}
}
