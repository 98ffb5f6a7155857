package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"kiln.dev/kiln/internal/backup"
)

// backupFlags are the flags of the backup and recovery verbs.
type backupFlags struct {
	key        string // restore, drill: the site key file
	archive    string // drill
	mac        string // recover
	head       bool   // recover --head
	run        bool   // recover --run
	wait       time.Duration
	noIdentity bool // init
}

var backupVerb = &verb{
	name:    "backup",
	args:    "[plan]",
	summary: "Archive the site, or show what every node backs up (plan)",
	help: `kiln backup writes one archive of the site folder: definitions, node
identities, kiln serve's state database (a consistent snapshot) and the
secrets, encrypted with age to the site key (secrets/age.key, which never
goes in). MANIFEST, its first member, has the sha256 of every other one
and an HMAC keyed from the site key, so kiln restore refuses an altered
archive.
Build folders are left out: kiln build makes them again. Copy the archive
off this machine; kiln restore puts it back, kiln drill proves it does.

kiln backup plan prints, from the catalog, what each node's restic scripts
back up: node, item, what, how, how often, snapshots kept and where.

Examples:
  kiln backup -C mysite                      # mysite/backups/mytier3-….tar
  kiln backup plan -C mysite
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dirFlag(fs)
		fs.StringVar(&c.out, "o", "", "the archive to write (`FILE`; default: backups/CLUSTER-TIME.tar in the site folder)")
		c.jsonFlag(fs)
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		if len(pos) == 1 {
			if pos[0] != "plan" {
				c.usageError(fmt.Sprintf("unknown argument %q (the one argument kiln backup takes is plan)", pos[0]))
				return exitUsage
			}
			return backupPlan(c)
		}
		if c.json {
			c.usageError("--json goes with kiln backup plan")
			return exitUsage
		}
		return backupArchive(c)
	},
}

func backupPlan(c *cmdContext) int {
	s, ok := c.resolve()
	if !ok {
		return exitDefs
	}
	p := backup.Compute(s.Defs, s.Cluster)
	if c.json {
		c.printJSON(p)
		return exitOK
	}
	if len(p.Rows) == 0 {
		fmt.Fprintln(c.stdout, "No module of any node declares state: the nodes have nothing to back up.")
	} else {
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tITEM\tWHAT\tHOW\tSCHEDULE\tKEEP\tWHERE")
		for _, r := range p.Rows {
			where := r.Where
			if r.Problem != "" {
				where = strings.TrimSpace(where + "  ⚠ " + r.Problem)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Node, r.Tag, r.What, r.How, r.Schedule, r.Retention, where)
		}
		tw.Flush()
	}
	fmt.Fprintf(c.stdout, "\nHost keys kept (identity/, age-encrypted) for %d of %d nodes", len(p.Identities), len(p.Identities)+len(p.NoIdentity))
	if len(p.NoIdentity) > 0 {
		fmt.Fprintf(c.stdout, "; none for %s: run kiln identity -C %s", strings.Join(p.NoIdentity, " "), c.dir)
	}
	fmt.Fprintf(c.stdout, ".\nThe site folder itself (definitions, identities, secrets, kiln serve's state): kiln backup -C %s.\n", c.dir)
	return exitOK
}

func backupArchive(c *cmdContext) int {
	s, ok := c.resolve()
	name := "site"
	if ok {
		name = s.Cluster.Name
	} else {
		fmt.Fprintf(c.stderr, "kiln backup: the site has problems (above); backing it up as it is\n")
	}
	out := c.out
	if out == "" {
		out = filepath.Join(c.dir, backup.BackupsDir, fmt.Sprintf("%s-%s.tar", name, time.Now().UTC().Format("20060102-150405")))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return c.fail(exitDefs, "%v", err)
	}
	fail := func(err error) int {
		f.Close()
		os.Remove(f.Name())
		return c.fail(exitDefs, "%v", err)
	}
	res, err := backup.Create(c.dir, f, func(msg string) { fmt.Fprintf(c.stderr, "kiln backup: %s\n", msg) })
	if err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		os.Remove(f.Name())
		return c.fail(exitDefs, "%v", err)
	}
	fmt.Fprintf(c.stdout, "wrote %s: %d files, %d bytes; %d secrets encrypted", out, len(res.Members), res.Bytes, len(res.Encrypted))
	if len(res.Snapshots) > 0 {
		fmt.Fprintf(c.stdout, ", snapshot of %s", strings.Join(res.Snapshots, ", "))
	}
	fmt.Fprintln(c.stdout)
	for _, s := range res.Skipped {
		fmt.Fprintf(c.stdout, "  left out: %s\n", s)
	}
	fmt.Fprintln(c.stdout, "Copy it off this machine; restoring it needs a copy of the site key (secrets/age.key) too.")
	return exitOK
}
