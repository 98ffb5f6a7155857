package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"kiln.dev/kiln/internal/backup"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/model"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/starter"
	"kiln.dev/kiln/internal/state"
)

var recoverVerb = &verb{
	name:    "recover",
	args:    "NODE | --head",
	summary: "Rebuild a failed node: new MAC, its files, and the steps to reinstall and restore it",
	help: `The failed-machine workflow. With --mac, records the replacement
machine's boot MAC in site.yaml (only that value changes; comments and
layout stay). Rebuilds the build folder, listing the files that changed
(with --mac, those that depend on the MAC), and prints what to do next, in
order: reinstall the node, what the installer puts back (its host keys),
and the restore of its backed-up state (kiln-restore on the node, item by
item in module order), after the roles it depends on.

With --run, kiln then waits (--wait, default 2h) until the node is back —
ssh as root answers and kiln-restore is installed, which Puppet does once
the node is configured — and runs kiln-restore run on it over ssh, its
output shown here. KILN_SSH replaces the ssh command (default
"ssh -o BatchMode=yes"), e.g. to add -i KEY or -p PORT.

With --head, the disaster case: the machine that installs the others is
gone. It checks what a rebuild needs (the newest backup archive reads
whole, the site key is there, the build has the USB key's kickstart),
warns when the site changed after the newest archive was made (a rebuild
would bring back the older site), and prints the steps in an order that
works with the head gone: restore and build on another computer first,
the USB key from that build, then the new head, the bootstrap, the VMs.
Exit 1 when a check fails.

Examples:
  kiln recover wn3 --mac 52:54:00:b0:01:33 -C mysite
  kiln recover --head -C mysite
`,
	flags: func(c *cmdContext, fs *flag.FlagSet) {
		c.dirFlag(fs)
		fs.StringVar(&c.bk.mac, "mac", "", "the boot `MAC` of the replacement machine")
		fs.BoolVar(&c.bk.run, "run", false, "wait until the node is back (ssh answers and kiln-restore is installed), then run its restore over ssh")
		fs.DurationVar(&c.bk.wait, "wait", 2*time.Hour, "with --run: how long (`DURATION`) to wait for the node")
		fs.BoolVar(&c.bk.head, "head", false, "the disaster case: check and print how to rebuild the head from the USB key and the latest backup")
		c.buildFlag(fs, "the build folder")
	},
	run: func(c *cmdContext) int {
		pos, ok := c.parse(0, 1)
		if !ok {
			return exitUsage
		}
		if c.bk.head {
			if len(pos) > 0 {
				c.usageError("--head names its node itself; give either NODE or --head")
				return exitUsage
			}
			return recoverHead(c)
		}
		if len(pos) == 0 {
			c.usageError("name the node to recover, or give --head")
			return exitUsage
		}
		name := pos[0]
		s, ok := c.resolve()
		if !ok {
			return exitDefs
		}
		n := s.Cluster.Node(name)
		if n == nil {
			fmt.Fprintf(c.stderr, "kiln recover: there is no node %s in the site%s\n", name, suggestNode(name, s.Cluster.NodeNames()))
			return exitDefs
		}
		if c.bk.mac != "" {
			edit, err := backup.EditMAC(c.dir, s.Cluster, name, c.bk.mac)
			if err != nil {
				fmt.Fprintf(c.stderr, "kiln recover: %v\n", err)
				return exitDefs
			}
			site := filepath.Join(c.dir, load.SiteFile)
			st, err := os.Stat(site)
			if err != nil {
				fmt.Fprintf(c.stderr, "kiln recover: %v\n", err)
				return exitDefs
			}
			if err := starter.WriteFileAtomic(site, edit.After, st.Mode().Perm()); err != nil {
				fmt.Fprintf(c.stderr, "kiln recover: %v\n", err)
				return exitDefs
			}
			if s, ok = c.resolve(); !ok {
				starter.WriteFileAtomic(site, edit.Before, st.Mode().Perm())
				fmt.Fprintf(c.stderr, "kiln recover: the new MAC makes the site invalid (above); site.yaml is left as it was\n")
				return exitDefs
			}
			n = s.Cluster.Node(name)
			fmt.Fprintf(c.stdout, "site.yaml:%d: %s %s MAC %s → %s\n", edit.Line, name, edit.NIC, edit.Old, edit.New)
		}
		files, err := s.Render()
		if err != nil {
			c.report(err)
			return exitDefs
		}
		dir := c.outDir()
		changes, err := output.Plan(dir, files, false)
		if err != nil {
			fmt.Fprintf(c.stderr, "kiln recover: %v\n", err)
			return exitDefs
		}
		if _, err := output.Write(dir, files); err != nil {
			fmt.Fprintf(c.stderr, "kiln recover: %v\n", err)
			return exitDefs
		}
		fmt.Fprintf(c.stdout, "rebuilt %s: %d files changed\n", dir, len(changes))
		for _, ch := range changes {
			fmt.Fprintf(c.stdout, "  %s %s\n", ch.Op, ch.Path)
		}

		fmt.Fprintf(c.stdout, "\nTo recover %s (%s, role %s):\n", n.Name, n.FQDN, n.Role)
		step := 0
		say := func(format string, a ...any) {
			step++
			fmt.Fprintf(c.stdout, "%2d. %s\n", step, fmt.Sprintf(format, a...))
		}
		if r := s.Cluster.Role(n.Role); r != nil && len(r.After) > 0 {
			say("Check that the roles %s needs first are up: %s.", n.Role, strings.Join(r.After, ", "))
		}
		if seq, err := markReinstall(c, s.Cluster, n.Name); err != nil {
			say("Make it install on its next boot: choose %s in the network boot menu (or boot the USB key). (%v)", n.Name, err)
		} else {
			say("Done now: marked for reinstall in kiln serve's state (event %d), so its next network boot installs it.", seq)
		}
		say("If the Puppet server still holds its old certificate, clean it there: puppetserver ca clean --certname %s", n.FQDN)
		say("Boot it. Its kickstart installs it and reports in; Puppet then configures it.")
		if identity.HasHostKeys(s.Defs.SiteFS, n.Name) {
			say("Nothing to do for its SSH host keys: the kickstart puts back the kept ones (identity/%s), so users see no change.", n.Name)
		} else {
			say("It gets NEW SSH host keys (the site keeps none for it: kiln identity -C %s makes them for next time); users will see \"host key changed\".", c.dir)
		}
		items := n.StateItems()
		if len(items) == 0 {
			say("It keeps no state to restore (its modules declare none): once configured, it is back.")
		} else {
			var tags []string
			for _, it := range items {
				tags = append(tags, it.Tag)
			}
			say("Once it is configured, restore its state on it, as root: kiln-restore run   (items, in this order: %s)", strings.Join(tags, ", "))
			for _, it := range items {
				how := "restic restore into place"
				if it.Dump != "" {
					how = "dump fed to: " + it.Restore
				}
				fmt.Fprintf(c.stdout, "      %-18s %s — %s\n", it.Tag, it.What(), how)
			}
			say("Check it: kiln-restore list shows the snapshots used; start the node's services again if a restore command stopped them.")
		}
		if len(n.Guests) > 0 {
			say("It hosts the VMs %s: recover each in turn (kiln recover NAME), in install order.", strings.Join(n.Guests, ", "))
		}
		if c.bk.run {
			if len(items) == 0 {
				fmt.Fprintf(c.stdout, "\n--run: %s has no state to restore; nothing to run.\n", n.Name)
				return exitOK
			}
			return runRestore(c, n)
		}
		return exitOK
	},
}

// sshCommand is the ssh to reach nodes with: KILN_SSH, or ssh that never
// asks for a password (a prompt would hang an unattended recover).
func sshCommand() []string {
	if s := strings.Fields(os.Getenv("KILN_SSH")); len(s) > 0 {
		return s
	}
	return []string{"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}
}

// runRestore waits until the node is back and configured (ssh answers and
// kiln-restore is installed), then runs its restore over ssh.
func runRestore(c *cmdContext, n *model.Node) int {
	ssh := sshCommand()
	target := "root@" + n.FQDN
	probe := func() error {
		cmd := exec.Command(ssh[0], append(ssh[1:], target, "command -v kiln-restore")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	deadline := time.Now().Add(c.bk.wait)
	fmt.Fprintf(c.stdout, "\n--run: waiting up to %v for %s (ssh %s, kiln-restore installed)\n", c.bk.wait, n.Name, target)
	for {
		err := probe()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(c.stderr, "kiln recover: %s did not come back within %v (last: %v); run kiln-restore run on it by hand once it is configured\n", n.Name, c.bk.wait, err)
			return exitDefs
		}
		time.Sleep(min(15*time.Second, max(time.Second, time.Until(deadline))))
	}
	fmt.Fprintf(c.stdout, "--run: %s is back; running kiln-restore run\n", n.Name)
	cmd := exec.Command(ssh[0], append(ssh[1:], target, "kiln-restore run")...)
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(c.stderr, "kiln recover: the restore on %s failed (%v); its messages are above\n", n.Name, err)
		return exitDefs
	}
	fmt.Fprintf(c.stdout, "--run: %s's state is restored\n", n.Name)
	return exitOK
}

func suggestNode(name string, names []string) string { return diag.Hint(name, names) }

// markReinstall marks a node needs-reinstall in kiln serve's state file,
// as kiln reinstall does; it says why not when the site has no state file
// (kiln serve has never run for it).
func markReinstall(c *cmdContext, cl *model.Cluster, node string) (int64, error) {
	p := c.statePath()
	if _, err := os.Stat(p); err != nil {
		return 0, fmt.Errorf("kiln serve has not run for this site, so there is no install state at %s to mark", p)
	}
	st, err := state.Open(p)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Sync(ctx, nodeList(cl)); err != nil {
		return 0, err
	}
	r, err := st.Reinstall(ctx, node, whoami(), "kiln recover")
	if err != nil {
		return 0, err
	}
	return r.Seq, nil
}

// recoverHead checks and prints the disaster case: the node that installs
// the others (the one running the module the design's serve: block names,
// else the one whose role configures itself with bootstrap modules, else
// the first in install order) rebuilt from its install file and the newest
// backup archive. Its files are the build's own for it and its VMs, by the
// artifacts' scope, whatever the design calls them.
func recoverHead(c *cmdContext) int {
	s, ok := c.resolve()
	if !ok {
		return exitDefs
	}
	cl := s.Cluster
	var head *model.Node
	if sv := s.Defs.Design.Serve; sv != nil && sv.Module.Value != "" {
		if l := cl.NodesWith(sv.Module.Value); len(l) > 0 {
			head = l[0]
		}
	}
	for _, n := range cl.Nodes {
		if head != nil {
			break
		}
		if r := cl.Role(n.Role); r != nil && len(r.Bootstrap) > 0 {
			head = n
		}
	}
	if head == nil && len(cl.Nodes) > 0 {
		head = cl.Nodes[0]
	}
	if head == nil {
		fmt.Fprintln(c.stderr, "kiln recover: the site has no nodes")
		return exitDefs
	}
	fmt.Fprintf(c.stdout, "Disaster recovery of %s (%s): a new machine from its install file and the latest backup.\n\nChecks:\n", head.Name, head.FQDN)
	failed, stale := false, false
	check := func(ok bool, format string, a ...any) {
		mark := "ok  "
		if !ok {
			mark, failed = "FAIL", true
		}
		fmt.Fprintf(c.stdout, "  %s %s\n", mark, fmt.Sprintf(format, a...))
	}
	warn := func(format string, a ...any) {
		stale = true
		fmt.Fprintf(c.stdout, "  WARN %s\n", fmt.Sprintf(format, a...))
	}
	archive, err := backup.Latest(c.dir)
	if err != nil {
		check(false, "%v", err)
	} else {
		scratch, err := os.MkdirTemp(c.dir, ".kiln-recover-head-")
		if err == nil {
			defer os.RemoveAll(scratch)
			var f *os.File
			if f, err = os.Open(archive); err == nil {
				var members []backup.Member
				// With the site key here, the archive is authenticated
				// too; without, only read whole (the key check below fails).
				key, _, _ := identity.LoadKey(os.DirFS(c.dir))
				members, err = backup.Verify(f, filepath.Join(scratch, "x"), key)
				f.Close()
				if err == nil && key != nil {
					check(true, "%s reads whole: %d members, every checksum right, made with this site's key; keep a copy OFF %s", archive, len(members), head.Name)
				} else if err == nil {
					check(true, "%s reads whole: %d members, every checksum right; keep a copy OFF %s", archive, len(members), head.Name)
				}
				if err == nil {
					// The archive is what a rebuild gets back: say so when
					// the site has moved on since it was made.
					if changed, cerr := backup.Changed(c.dir, members); cerr != nil {
						warn("cannot compare the site with %s: %v", archive, cerr)
					} else if len(changed) > 0 {
						list := strings.Join(changed, ", ")
						if len(changed) > 6 {
							list = fmt.Sprintf("%s and %d more", strings.Join(changed[:5], ", "), len(changed)-5)
						}
						warn("the site changed after %s was made (%s): a rebuild from it brings back the older site; run kiln backup -C %s now", archive, list, c.dir)
					} else {
						check(true, "%s holds the site as it is now (every definition file the same; secrets and the state database not compared)", archive)
					}
				}
			}
		}
		if err != nil {
			check(false, "%s: %v; make a new one with kiln backup -C %s", archive, err, c.dir)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, identity.KeyFile)); err == nil {
		check(true, "the site key %s is here; keep a copy OFF %s too, or the archive's secrets cannot be read", identity.KeyFile, head.Name)
	} else {
		check(false, "there is no site key %s: without it the archive's secrets cannot be read", identity.KeyFile)
	}
	files, err := s.Render()
	if err != nil {
		c.report(err)
		return exitDefs
	}
	// The install file: the design's serve: install_file for the head
	// (kiln's default name without one), and the build's other files of
	// the head with the same bytes (the tier3 USB key's copy, say).
	pattern := "kickstart-{node}.cfg"
	if sv := s.Defs.Design.Serve; sv != nil && sv.InstallFile.Value != "" {
		pattern = sv.InstallFile.Value
	}
	install := strings.ReplaceAll(pattern, "{node}", head.Name)
	byPath := map[string]render.File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	ks, haveKS := byPath[install]
	check(haveKS, "the build has %s's install file %s", head.Name, install)
	var copies []string
	for _, f := range files {
		if haveKS && f.Node == head.Name && f.Path != install && bytes.Equal(f.Data, ks.Data) {
			copies = append(copies, f.Path)
		}
	}
	// Files by the artifact's scope: a bootstrap-filtered node file is how
	// the node configures itself before its configuration server exists;
	// a vm-scoped file of a guest is how the guest is made.
	type declOf struct {
		scope     string
		bootstrap bool
	}
	decls := map[string]declOf{}
	for _, a := range s.Defs.Design.Artifacts {
		decls[a.Template.Value] = declOf{a.Scope.Value, a.Filter.Bootstrap}
	}
	for _, name := range s.Defs.ModuleNames() {
		for _, a := range s.Defs.Modules[name].Artifacts {
			decls[a.Template.Value] = declOf{a.Scope.Value, a.Filter.Bootstrap}
		}
	}
	filesOf := func(node string, keep func(declOf) bool) []render.File {
		var out []render.File
		for _, f := range files {
			tmpl, _, _ := strings.Cut(f.Origin, "@")
			if f.Node == node && keep(decls[tmpl]) {
				out = append(out, f)
			}
		}
		return out
	}
	describe := func(l []render.File) string {
		var parts []string
		for _, f := range l {
			d := f.Path
			if f.Doc != "" {
				d += " (" + strings.TrimSuffix(f.Doc, ".") + ")"
			}
			parts = append(parts, d)
		}
		return strings.Join(parts, "; ")
	}

	fmt.Fprintf(c.stdout, "\nSteps:\n")
	step := 0
	say := func(format string, a ...any) {
		step++
		fmt.Fprintf(c.stdout, "%2d. %s\n", step, fmt.Sprintf(format, a...))
	}
	// The head is gone, and with it the build: everything starts on
	// another computer, from the archive and the site key kept off the head.
	say("On another computer with kiln (a laptop): copy the newest archive and your copy of the site key there, and restore the site: kiln restore ARCHIVE site --key age.key")
	say("Build it there: kiln build -C site (the archive holds the definitions, not the build; this makes it again, byte for byte)")
	say("Cable the new machine as the old one (kiln show -C site %s lists its NICs and networks); if its MACs differ, put them in site/site.yaml (kiln recover %s --mac NEW -C site) and build again.", head.Name, head.Name)
	if len(copies) > 0 {
		say("Install it with its install file site/build/%s (the same file is in the build as %s).", install, strings.Join(copies, ", "))
	} else {
		say("Install it from the OS media with its install file site/build/%s.", install)
	}
	say("On the new %s: copy kiln, the archive and the site key to it, restore the site again: kiln restore ARCHIVE /etc/kiln/site --key age.key, and build: kiln build -C /etc/kiln/site", head.Name)
	if boot := filesOf(head.Name, func(d declOf) bool { return d.bootstrap }); len(boot) > 0 {
		say("Configure it before its configuration server exists, with the build's bootstrap files of %s: %s", head.Name, describe(boot))
	}
	for _, g := range head.Guests {
		if made := filesOf(g, func(d declOf) bool { return d.scope == "vm" }); len(made) > 0 {
			say("Recreate the VM %s from its files: %s; then restore its state: kiln recover %s -C /etc/kiln/site", g, describe(made), g)
		} else {
			say("Recreate the VM %s (the build has no VM file for it), then restore its state: kiln recover %s -C /etc/kiln/site", g, g)
		}
	}
	if items := head.StateItems(); len(items) > 0 {
		say("Restore %s's own state on it: kiln-restore run", head.Name)
	}
	say("Check the cluster: kiln status -C /etc/kiln/site, and kiln drill -C /etc/kiln/site once the backups run again.")
	if failed {
		fmt.Fprintln(c.stderr, "kiln recover: a check failed (above): fix it now, while the head still works")
		return exitDefs
	}
	if stale {
		fmt.Fprintf(c.stderr, "kiln recover: warning: the newest archive is not the site as it is (above): run kiln backup -C %s while the head still works\n", c.dir)
	}
	return exitOK
}
