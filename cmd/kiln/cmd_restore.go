package main

import (
	"errors"
	"flag"
	"fmt"

	"kiln.dev/kiln/internal/backup"
	"kiln.dev/kiln/internal/identity"
)

var restoreVerb = &verb{
	name:    "restore",
	args:    "FILE DIR",
	summary: "Check a backup archive and restore the site from it into a new folder",
	help: `Checks first that the archive's MANIFEST was made with the site key (an
HMAC keyed from it: an archive altered and its MANIFEST recomputed, or
another site's, is refused), then reads the whole archive and checks every
member against the sha256 in the MANIFEST: a corrupt, truncated or altered
archive is refused, naming the member, and nothing is written. Sparse
members, and sizes adding up to more than the archive holds, are refused.
Only then does the site appear in DIR (which must not exist, or be empty),
with its secrets decrypted by the site key (0600) and the key itself in
DIR/secrets/age.key; every other file gets the mode kiln would give it
(0644 or 0755, 0600 or 0700 when only its owner could read it; never
setuid, never group- or world-writable). Then: kiln build -C DIR.

Example:
  kiln restore /media/usb/mytier3-20260101-020000.tar /root/mytier3 --key /media/usb/age.key
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		fs.StringVar(&c.bk.key, "key", "", "the site key (`KEYFILE`: your copy of secrets/age.key) that decrypts the archive's secrets")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(2, 2)
		if !ok {
			return exitUsage
		}
		if c.bk.key == "" {
			c.usageError("give the site key with --key (your copy of secrets/age.key): the archive's secrets are encrypted to it")
			return exitUsage
		}
		key, err := identity.ReadKeyFile(c.bk.key)
		if err != nil {
			return c.fail(exitDefs, "the site key: %v", err)
		}
		members, err := backup.Restore(pos[0], pos[1], key)
		if err != nil {
			var p *backup.Problem
			if errors.As(err, &p) {
				fmt.Fprintf(c.stderr, "kiln restore: %s: %v; nothing was restored\n", pos[0], err)
			} else {
				fmt.Fprintf(c.stderr, "kiln restore: %v; nothing was restored\n", err)
			}
			return exitDefs
		}
		fmt.Fprintf(c.stdout, "restored %d files into %s, the archive authenticated by the site key, every checksum verified\nnext: kiln check -C %s && kiln build -C %s\n", len(members), pos[1], pos[1], pos[1])
		return exitOK
	},
}
