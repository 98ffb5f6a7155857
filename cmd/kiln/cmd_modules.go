package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/render"
)

var modulesVerb = &verb{
	name:    "modules",
	args:    "export DIR",
	summary: "Write the site's Puppet environment: the module tree, modules.pp and the classification",
	help: `kiln modules export writes the Puppet environment of the build into DIR:
the modules the design ships (with each node's generated files in the site
module), manifests/ (site.pp, nodes.pp, modules.pp), Hiera data and the
Puppetfile. It is what the seed's puppetrepo.py did, from the current site.
The folder is replaced atomically, like a build: run it on the Puppet server
straight into the environment. DIR must be empty, missing, or an earlier
export (it holds a MANIFEST). Files that carry hashes of secrets are 0600;
--group puppet gives puppetserver's group read access to the whole tree.

Examples:
  kiln modules export --example tier3 /tmp/production
  kiln modules export -C /etc/kiln/site --group puppet /etc/puppetlabs/code/environments/production
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.siteFlags(fs)
		fs.StringVar(&c.pp.group, "group", "", "give this `GROUP` (puppetserver's, e.g. puppet) read access to the exported tree")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(2, 2)
		if !ok {
			return exitUsage
		}
		if pos[0] != "export" {
			c.usageError(fmt.Sprintf("unknown modules command %q; the one there is: export", pos[0]))
			return exitUsage
		}
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		root := puppetEnvironment(s.Defs.Design)
		if root == "" {
			return c.fail(exitDefs, "the design ships no Puppet modules (no copy: artifact of a folder with manifests)")
		}
		files, err := s.Render()
		if err != nil {
			c.report(err)
			return exitDefs
		}
		var env []render.File
		for _, f := range files {
			if rel, ok := strings.CutPrefix(f.Path, root+"/"); ok {
				f.Path = rel
				env = append(env, f)
			}
		}
		gid := -1
		if c.pp.group != "" {
			g, err := user.LookupGroup(c.pp.group)
			if err != nil {
				return c.fail(exitDefs, "there is no group %q on this machine", c.pp.group)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if _, ok, err := output.ReadManifest(pos[1]); err == nil && !ok {
			// e.g. the environment the puppetserver package made.
			return c.fail(exitDefs, "%s exists and is not an earlier export (it has no MANIFEST); move it aside (mv %s %s.orig) and export again", pos[1], pos[1], pos[1])
		}
		if _, err := output.Write(pos[1], env); err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		if gid >= 0 {
			if err := groupReadable(pos[1], gid); err != nil {
				return c.fail(exitDefs, "exported, but cannot give group %s access: %v", c.pp.group, err)
			}
		}
		fmt.Fprintf(c.stdout, "exported the Puppet environment of %s: %d files in %s\n", s.Cluster.Name, len(env), pos[1])
		return exitOK
	},
}

// puppetEnvironment is the build folder that holds the Puppet environment:
// the parent of the folder a copy artifact writes Puppet modules into.
func puppetEnvironment(d *defs.Design) string {
	for _, a := range d.Artifacts {
		if a.Copy.Value == "" {
			continue
		}
		if dir := path.Dir(path.Clean(a.Path.Value)); dir != "." {
			return dir
		}
	}
	return ""
}

// puppetFlags are modules export's.
type puppetFlags struct {
	group string
}

// groupReadable gives group gid read access to every file and folder of
// the tree, and nothing to others.
func groupReadable(dir string, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return err
		}
		mode := info.Mode().Perm()&^0o077 | 0o040
		if d.IsDir() {
			mode |= 0o010
		}
		return os.Chmod(p, mode)
	})
}
