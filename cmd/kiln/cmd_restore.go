package main

import (
	"errors"
	"fmt"

	"kiln.dev/kiln/internal/backup"
	"kiln.dev/kiln/internal/identity"
)

var restoreVerb = &verb{
	name:    "restore",
	args:    "FILE DIR --key KEYFILE",
	summary: "Check a backup archive and restore the site from it into a new folder",
	help: `Reads the whole archive first and checks every member against the sha256
in its MANIFEST: a corrupt, truncated or altered archive is refused, naming
the member, and nothing is written. Only then does the site appear in DIR
(which must not exist, or be empty), with its secrets decrypted by the site
key and the key itself in DIR/secrets/age.key. Then: kiln build -C DIR.

Example:
  kiln restore /media/usb/mytier3-20260101-020000.tar /root/mytier3 --key /media/usb/age.key
`,
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
			fmt.Fprintf(c.stderr, "kiln restore: the site key: %v\n", err)
			return exitDefs
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
		fmt.Fprintf(c.stdout, "restored %d files into %s, every checksum verified\nnext: kiln check -C %s && kiln build -C %s\n", len(members), pos[1], pos[1], pos[1])
		return exitOK
	},
}
