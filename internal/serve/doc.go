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
//	GET  /kiln/ipxe/NODE.ipxe[?asset=A&serial=S]
//	                                the node's own script, decided at request time, and
//	                                answered only at the node's own address (and, when
//	                                site.yaml gives the node asset:, only when A or S is it):
//	                                install (planned, needs-reinstall, booting, installing):
//	                                the build's ipxe/NODE.ipxe with ?token=T added to its
//	                                inst.ks= URL, T a new install token (or one of ours
//	                                when the build has none);
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
//	                                &asset=${asset:uristring}&serial=${serial:uristring}
//	GET  /boot/ipxe?mac=MAC         the same decision, by MAC; an unknown MAC goes on the
//	                                pending list (--discover ROLE; kiln discover), or
//	                                claims a free node at once (--discover ROLE --auto)
//	GET  /kiln/PATH[?token=T]       a file of the build; a secret-bearing one (0600 in the
//	                                build) only to its own node's address, with its current
//	                                install token, once per token; one that belongs to no
//	                                node, never
//	GET  /os/PATH                   the OS install tree (--mirror DIR), files only
//	POST /kiln/installed/NODE?token=T   (form body status=installed or status=failed)
//	                                the kickstart's %post callback; the token is void after
//	POST /kiln/challenge/NODE?token=T   the node's Puppet autosign challenge, minted now,
//	                                once per token (the kickstart's %post)
//	POST /api/v1/nodes/NODE/REPORT?token=T|challenge=C
//	                                reports: installed or failed with the install token;
//	                                puppet-signed or configured (only after installed) with
//	                                the node's Puppet challenge
//	POST /api/v1/autosign           certname=FQDN&challenge=C: kiln autosign's question;
//	                                200 once for the node's current challenge, then 403
//	GET  /api/v1/nodes[/NODE]       state as JSON (what kiln status shows)
//	GET  /api/v1/events?node=&after=&limit=
//	                                the event log as JSON
//	GET  /metrics                   Prometheus metrics
//	GET  /healthz                   200 once a build is loaded
//	GET  /                          the dashboard; /nodes/NODE a node's page
//
// Every request must name this server in its Host header (421 otherwise:
// no DNS rebinding), and none may come from a browser page of another
// origin (Origin, Sec-Fetch-Site; 403). A report's body is 64 KiB at most
// (413) and must be a well-formed form with a status (400): nothing is
// ever taken as "installed" by default.
//
// Nothing is listed: a folder is 404, and no path leaves the build or the
// install tree (the install tree is opened with os.Root, which refuses ..
// and symbolic links that point out of it).
//
// # Install tokens and the kickstart callback
//
// Each install boot script kiln serve hands out mints the node's install
// token: 32 random bytes, hex. The state file keeps its SHA-256 only; the
// token exists in the boot script and on the installer's kernel command
// line. It is the node's current token while the node is in install mode,
// for --token-ttl (4h) at most; the next install boot replaces it, and the
// node's "installed" or "failed" report, kiln reinstall, or being held as
// failed voids it. It is never derived from the node's name.
//
// The install boot script passes the kickstart as
//
//	inst.ks=http://HEAD:PORT/kiln/kickstart-NODE.cfg?token=TOKEN
//
// The kickstart itself carries no token (it is one file of the build, the
// same for every install): its %post reads the token from /proc/cmdline,
// fetches the node's Puppet challenge with it, and reports the end of the
// install with
//
//	curl -fsS --retry 5 --data status=installed "http://HEAD:PORT/kiln/installed/NODE?token=TOKEN"
//
// (status=failed holds the node as failed with the reason), after which
// the node boots from its disk. A request for a node's boot script, its
// secrets or its reports from an address that is not the node's (site.yaml,
// or the lease kiln serve's dnsmasq gave its MAC), a token that is not the
// current one, or a secret fetched already with that token, gets 403 and
// is logged as a "denied" event (one a minute per address; the others are
// counted into the next). --check-address=false answers any address. A
// node that boots into the installer --max-boots times within
// --boot-window without reporting "installed" is held as failed;
// kiln reinstall NODE releases it. See docs/security.md.
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
