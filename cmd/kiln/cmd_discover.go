package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"text/tabwriter"

	"kiln.dev/kiln/internal/serve"
	"kiln.dev/kiln/internal/state"
)

var discoverVerb = &verb{
	name:    "discover",
	args:    "",
	summary: "List the unknown machines that booted (the pending list); accept one into a node, or reject it",
	help: `kiln serve --discover ROLE puts every machine whose MAC site.yaml does
not know on a pending list in the state file (bounded: the 1,000 seen last)
instead of giving it a node: anyone on the provisioning network can make
up MACs, so a machine becomes a node only when an admin says so.

With no flag, lists the pending machines: MAC, the address they asked
from, when, how often, and the role they are meant for. --accept MAC
writes the MAC into site.yaml for the next free node of the role (or the
node --node names), rebuilds, and takes it off the list; kiln serve picks
the new build up and the machine installs at its next boot. --reject MAC
keeps it on the list as rejected: its boots get nothing.

(kiln serve --discover ROLE --auto gives each unknown machine the next
free node at once, without asking: only on a network you trust.)

Examples:
  kiln discover -C mysite
  kiln discover -C mysite --accept 52:54:00:12:34:56
  kiln discover -C mysite --accept 52:54:00:12:34:56 --node wn7
  kiln discover -C mysite --reject 52:54:00:de:ad:00
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dbFlags(fs)
		c.jsonFlag(fs)
		fs.StringVar(&c.sv.accept, "accept", "", "give this pending `MAC` a node: --node NAME, or the next free node of --role (default: the role kiln serve --discover named)")
		fs.StringVar(&c.sv.reject, "reject", "", "reject this pending `MAC`: its boots get nothing, and are not logged again")
		fs.StringVar(&c.sv.role, "role", "", "with --accept: the `ROLE` whose next free node the machine gets")
		fs.StringVar(&c.sv.node, "node", "", "with --accept: the node (`NAME`) the machine becomes (it must have no MAC yet)")
		c.buildFlag(fs, "with --accept: the build folder to rebuild")
	},
	run: func(c *cmdContext) int {
		if _, ok := c.parse(0, 0); !ok {
			return exitUsage
		}
		f := &c.sv
		if f.accept != "" && f.reject != "" {
			c.usageError("--accept and --reject go one at a time")
			return exitUsage
		}
		if f.accept == "" && (f.role != "" || f.node != "") {
			c.usageError("--role and --node go with --accept MAC")
			return exitUsage
		}
		st, ok := c.openState()
		if !ok {
			return exitDefs
		}
		defer st.Close()
		ctx := context.Background()
		list, err := st.PendingList(ctx)
		if err != nil {
			return c.fail(exitDefs, "%v", err)
		}
		find := func(mac string) *state.Pending {
			for i := range list {
				if list[i].MAC == mac {
					return &list[i]
				}
			}
			return nil
		}
		switch {
		case f.reject != "":
			mac := normalMAC(f.reject)
			if err := st.SettlePending(ctx, mac, false, "", whoami()); err != nil {
				return c.fail(exitDefs, "%v", err)
			}
			fmt.Fprintf(c.stdout, "%s: rejected; its boots get nothing\n", mac)
			return exitOK
		case f.accept != "":
			mac := normalMAC(f.accept)
			p := find(mac)
			if p == nil {
				return c.fail(exitDefs, "%v: %s (kiln discover lists the pending machines)", state.ErrNotPending, mac)
			}
			if c.example != "" {
				c.usageError("--accept writes site.yaml: give the site folder with -C, not --example")
				return exitUsage
			}
			role := f.role
			if role == "" && f.node != "" {
				if s, ok := c.resolve(); ok && s.Cluster.Node(f.node) != nil {
					role = s.Cluster.Node(f.node).Role
				}
			}
			if role == "" {
				role = p.Role
			}
			if role == "" {
				c.usageError("which role? --role ROLE (kiln serve ran without --discover ROLE)")
				return exitUsage
			}
			n, err := serve.Claim(c.dir, c.outDir(), role, f.node, mac)
			if err != nil {
				return c.fail(exitDefs, "%s: %v", mac, err)
			}
			if err := st.SettlePending(ctx, mac, true, " as "+n.Name, whoami()); err != nil && !errors.Is(err, state.ErrNotPending) {
				return c.fail(exitDefs, "%v", err)
			}
			fmt.Fprintf(c.stdout, "%s is now %s (role %s): written into site.yaml and rebuilt; it installs at its next network boot\n", mac, n.Name, role)
			return exitOK
		}
		if c.json {
			if list == nil {
				list = []state.Pending{}
			}
			c.printJSON(list)
			return exitOK
		}
		if len(list) == 0 {
			fmt.Fprintln(c.stdout, "no unknown machine has booted (kiln serve --discover ROLE lists them here)")
			return exitOK
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "MAC\tSTATUS\tROLE\tFROM\tLAST\tTIMES\tFIRST")
		for _, p := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p.MAC, p.Status, dash(p.Role), dash(p.Remote), p.Last.Local().Format("2006-01-02 15:04:05"), p.Seen, p.First.Local().Format("2006-01-02 15:04:05"))
		}
		w.Flush()
		return exitOK
	},
}

// normalMAC writes a MAC as kiln serve keeps it (lower-case, colons); an
// unparsable one is left as given, for the error to show.
func normalMAC(s string) string {
	hw, err := net.ParseMAC(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
	if err != nil || len(hw) != 6 {
		return s
	}
	return hw.String()
}
