// Package serve is kiln serve: the head node's provisioning service. It
// serves the build tree and the OS install tree over HTTP, hands each node
// the right boot script for its state, keeps every node's install state and
// an event log in the state file (internal/state), takes the nodes'
// callbacks, and runs dnsmasq for DHCP and TFTP.
//
// # URLs
//
// The build is served under /kiln/ and the OS install tree under /os/, the
// layout the install chain's templates write their URLs for
// (http://HEAD:PORT/kiln/kickstart-NODE.cfg, http://HEAD:PORT/os/el9/).
//
//	GET  /kiln/ipxe/boot.ipxe       the build's iPXE entry script (dnsmasq's boot file for
//	                                iPXE clients); with --discover, ours, which asks by MAC
//	GET  /kiln/ipxe/NODE.ipxe       the node's own script, decided at request time:
//	                                install (planned, needs-reinstall, booting, installing):
//	                                the build's ipxe/NODE.ipxe with ?token=T added to its
//	                                inst.ks= URL (or one of ours when the build has none);
//	                                local disk (installed, puppet-signed, configured): the
//	                                build's ipxe/localboot.ipxe; held with the reason (failed)
//	GET  /kiln/grub/NODE.cfg        the same decision for GRUB 2 (the UEFI chain: the
//	                                distribution's signed shim and GRUB, whose grub.cfg
//	                                and grub.cfg-01-MAC in the TFTP root hand over here):
//	                                the build's grub/NODE.cfg with ?token=T added to its
//	                                inst.ks= URL, or grub/localboot.cfg
//	GET  /tftp/PATH                 the TFTP root (the build dnsmasq config's tftp-root),
//	                                files only: UEFI HTTP boot loads shimx64.efi from here
//	GET  /boot.ipxe                 our entry script: chains to /boot/ipxe?mac=${mac:hexhyp}
//	GET  /boot/ipxe?mac=MAC         the same decision, by MAC (and discovery of unknown MACs)
//	GET  /kiln/PATH[?token=T]       a file of the build; a secret-bearing one (0600 in the
//	                                build) only to its own node, with its token, while it
//	                                installs; one that belongs to no node, never
//	GET  /os/PATH                   the OS install tree (--mirror DIR), files only
//	POST /kiln/installed/NODE?token=T   (form body status=installed or status=failed)
//	                                the kickstart's %post callback
//	POST /api/v1/nodes/NODE/REPORT?token=T
//	                                later reports: REPORT is installed, puppet-signed or
//	                                configured (the last two only after installed)
//	GET  /api/v1/nodes[/NODE]       state as JSON (what kiln status shows)
//	GET  /api/v1/events?node=&after=&limit=
//	                                the event log as JSON
//	GET  /metrics                   Prometheus metrics
//	GET  /healthz                   200 once a build is loaded
//	GET  /                          the dashboard; /nodes/NODE a node's page
//
// Nothing is listed: a folder is 404, and no path leaves the build or the
// install tree (the install tree is opened with os.Root, which refuses ..
// and symbolic links that point out of it).
//
// # Node tokens and the kickstart callback
//
// A node's token is the hex HMAC-SHA256 of "kiln-installed:" followed by
// the node's FQDN, keyed by the site secret puppet_autosign_key
// (--token-secret names another): the value a template writes with
//
//	{{ hmac "puppet_autosign_key" (printf "kiln-installed:%s" .Node.FQDN) }}
//
// When the site has no such secret, kiln serve keeps a random key in its
// state file; the tokens then exist only in the boot scripts it serves.
//
// The install boot script passes the kickstart as
//
//	inst.ks=http://HEAD:PORT/kiln/kickstart-NODE.cfg?token=TOKEN
//
// and the kickstart's %post reports the end of the install with
//
//	curl -fsS --retry 5 --data status=installed "http://HEAD:PORT/kiln/installed/NODE?token=TOKEN"
//
// (status=failed holds the node as failed with the reason), after which
// the node boots from its disk. A request with a wrong or missing token,
// or (with --check-address) from an address that is not the node's, gets
// 403 and is logged as a "denied" event. A node that boots into the
// installer --max-boots times within --boot-window without reporting
// "installed" is held as failed; kiln reinstall NODE releases it.
//
// Answers that change a node's state carry the sequence number of their
// event in the X-Kiln-Event header, and are sent only once the event is on
// disk: a boot script (which counts an install boot, or moves the node to
// booting, or holds it), the first kickstart fetch of an install (booting
// to installing), the callbacks; so do refusals (403, 409). A fetch that
// changes nothing (the kickstart again while the node installs, any other
// of its files) is logged in the next batch, without waiting: it is
// answered at once, with no X-Kiln-Event header, and its fetch event is
// written within milliseconds (lost only if kiln serve dies in between);
// the same node fetching the same file again before then adds to that
// event, whose detail counts them ("kickstart-wn1.cfg (3 times)").
package serve
