package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"kiln.dev/kiln/internal/backup"
	"kiln.dev/kiln/internal/identity"
)

var drillVerb = &verb{
	name:    "drill",
	args:    "",
	summary: "Prove the backups restore: restore, rebuild, compare, restic check",
	help: `Restores the newest archive (or --archive FILE) into a scratch folder,
builds both the live site and the restored one, and compares them file by
file: they must be byte-identical. Then runs restic check, with the
password the restored site holds, on every node repository that is a
folder on this machine, and lists the ones it cannot reach (run
kiln-backup check on those nodes). Exits 1 on any difference or failure;
safe to run every night from cron.

Example:
  kiln drill -C mysite
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dirFlag(fs)
		fs.StringVar(&c.bk.archive, "archive", "", "the archive to drill (`FILE`; default: the newest in the site's backups/)")
		fs.StringVar(&c.bk.key, "key", "", "the site key (`KEYFILE`; default: the site's secrets/age.key)")
	},
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		archive := c.bk.archive
		if archive == "" {
			var err error
			if archive, err = backup.Latest(c.dir); err != nil {
				fmt.Fprintf(c.stderr, "kiln drill: %v\n", err)
				return exitDefs
			}
		}
		keyFile := c.bk.key
		if keyFile == "" {
			keyFile = filepath.Join(c.dir, filepath.FromSlash(identity.KeyFile))
		}
		key, err := identity.ReadKeyFile(keyFile)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln drill: the site key: %v\n", err)
			return exitDefs
		}
		res, err := backup.Drill(c.dir, archive, key, c.stderr)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln drill: FAILED: %v\n", err)
			return exitDefs
		}
		for _, d := range res.Differences {
			fmt.Fprintf(c.stdout, "differs: %s\n", d)
		}
		for _, f := range res.Failed {
			fmt.Fprintf(c.stdout, "restic check FAILED: %s\n", f)
		}
		for _, r := range res.Checked {
			fmt.Fprintf(c.stdout, "restic check ok: %s\n", r)
		}
		for _, r := range res.NotChecked {
			fmt.Fprintf(c.stdout, "not checked from here: %s\n", r)
		}
		if !res.OK() {
			if len(res.Differences) > 0 {
				fmt.Fprintf(c.stdout, "kiln drill: FAILED: the restored site builds %d files differently: the archive is stale (run kiln backup) or damaged\n", len(res.Differences))
			} else {
				fmt.Fprintln(c.stdout, "kiln drill: FAILED: a node repository does not check out")
			}
			return exitDefs
		}
		fmt.Fprintf(c.stdout, "kiln drill: ok: %s restores (%d files) and builds the same %d files byte for byte; %d repositories checked\n",
			archive, res.Members, res.Files, len(res.Checked))
		return exitOK
	},
}
