// Package pxetest proves kiln serve with a real machine: in a network
// namespace of its own, kiln serve (the CLI, with dnsmasq) serves the
// private network of a site made from the tier3 starter, and QEMU virtual
// machines PXE-boot from it with Debian's iPXE ROM: DHCP from dnsmasq, the
// build's iPXE entry script, the node's own script decided by kiln serve
// at request time, and an "installer" (Debian's kernel and a busybox
// initrd made by the test) that fetches the node's kickstart with the
// install token on its command line (once: a second fetch is refused),
// reads that token as the kickstart's own %post line does, posts the
// %post callback with it, and powers off. kiln serve runs with its
// defaults: every node's boot script, secrets and reports are answered at
// the node's own address only (the test's own requests from the head's
// address get 403). A second machine with an unknown MAC is discovered
// into a free worker slot (kiln serve --discover worker --auto) and
// installs from the address dnsmasq leased it.
//
// The test needs root, network namespaces, QEMU and the Debian packages in
// scripts/packages.txt; -short skips it. The recipe it follows is in
// ../shared/notes/qemu-pxe-boot-test.md.
package pxetest
