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
password the restored site holds, on every node repository it can open
from here (a folder on this machine, an sftp: one over ssh with your keys
in batch mode, a rest: one), and lists the ones it cannot open as NOT
CHECKED (run kiln-backup check on those nodes). The site archive and the
node repositories are reported apart; "ok" only for what was checked.
Exits 1 on any difference or failed check; safe to run every night from
cron.

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
		// The site archive and the node repositories are separate claims:
		// each is reported for what was checked, and nothing unchecked is
		// called ok.
		for _, d := range res.Differences {
			fmt.Fprintf(c.stdout, "differs: %s\n", d)
		}
		if len(res.Differences) > 0 {
			fmt.Fprintf(c.stdout, "site archive: FAILED: the restored site builds %d files differently: the archive is stale (run kiln backup) or damaged\n", len(res.Differences))
		} else {
			fmt.Fprintf(c.stdout, "site archive: ok: %s restores (%d files) and builds the same %d files byte for byte as the site\n", archive, res.Members, res.Files)
		}
		for _, f := range res.Failed {
			fmt.Fprintf(c.stdout, "node repository: restic check FAILED: %s\n", f)
		}
		for _, r := range res.Checked {
			fmt.Fprintf(c.stdout, "node repository: restic check ok: %s\n", r)
		}
		for _, r := range res.NotChecked {
			fmt.Fprintf(c.stdout, "node repository: NOT CHECKED: %s\n", r)
		}
		repos := fmt.Sprintf("%d of %d node repositories checked", len(res.Checked), res.Repositories)
		switch {
		case res.Repositories == 0:
			repos = "the site has no node repositories"
		case len(res.Failed) > 0:
			repos = fmt.Sprintf("%d of %d node repositories FAILED restic check", len(res.Failed), res.Repositories)
		case !res.Complete():
			repos += fmt.Sprintf(", %d NOT CHECKED (out of reach from here: this drill proves nothing about them)", len(res.NotChecked))
		}
		switch {
		case !res.OK():
			fmt.Fprintf(c.stdout, "kiln drill: FAILED: %s; %s\n", map[bool]string{true: "site archive ok", false: "site archive FAILED"}[len(res.Differences) == 0], repos)
			return exitDefs
		case !res.Complete():
			fmt.Fprintf(c.stdout, "kiln drill: site archive ok; %s\n", repos)
			return exitOK
		}
		fmt.Fprintf(c.stdout, "kiln drill: ok: site archive ok; %s\n", repos)
		return exitOK
	},
}
