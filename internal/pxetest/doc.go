// Package pxetest proves kiln serve with real machines: in a network
// namespace of its own, kiln serve (the CLI, with dnsmasq) serves the
// private network of a site made from the tier3 starter, and QEMU virtual
// machines network-boot from it by the chains real machines take:
//
//   - BIOS with Debian's iPXE ROM on the NIC: DHCP from dnsmasq, the
//     build's iPXE entry script over HTTP, the node's own script decided
//     by kiln serve at request time;
//   - BIOS PXE from the NIC's firmware: dnsmasq hands a plain PXE client
//     undionly.kpxe over TFTP, which chains to kiln serve as above. QEMU's
//     only BIOS network firmware is iPXE, which says so in its DHCP user
//     class; the test sets the user class at the ROM's prompt (SeaBIOS
//     copies the console to the serial port) so that dnsmasq sees what a
//     vendor's PXE ROM sends;
//   - UEFI (OVMF) with its own PXE client (a virtio NIC without option
//     ROM): the signed shim over TFTP, which loads the signed GRUB beside
//     it, which reads the build's grub.cfg and asks kiln serve for the
//     node's GRUB file, which loads the kernel and initrd over HTTP;
//   - the same with Secure Boot enforced (Microsoft's keys enrolled), as
//     far as GRUB showing the build's menu (see below);
//   - a machine with an unknown MAC, discovered into a free worker slot
//     (kiln serve --discover worker).
//
// Each install boot ends in an "installer" (Debian's kernel and a busybox
// initrd made by the test) that fetches the node's kickstart with its
// token, posts the kickstart's own %post callback, and powers off.
//
// The shim and GRUB are Debian's (shim-signed, grub-efi-amd64-signed),
// signed the way EL's are (shim by Microsoft's UEFI CA, GRUB by the
// distribution); EL's own cannot be fetched here. Debian's network GRUB
// differs from EL's in two ways the test works around: it reads its
// config from grub/ in the TFTP root (EL's from beside itself), and its
// signed image has no http module (EL's has), so it loads http.mod from
// the TFTP root, which GRUB refuses under Secure Boot: with Secure Boot
// on, the test checks the chain as far as GRUB showing the build's menu
// (shim verified by the firmware, GRUB by shim); the full install runs
// with Secure Boot off.
//
// kiln serve runs with its defaults: every node's boot script, secrets and
// reports are answered at the node's own address only (the test's own
// requests from the head's address get 403); the installer fetches the
// kickstart with the install token on its command line (once: a second
// fetch is refused), reads that token as the kickstart's own %post line
// does and posts the %post callback with it. The discovered machine joins
// with kiln serve --discover worker --auto and installs from the address
// dnsmasq leased it.
//
// The test needs root, network namespaces, QEMU and the Debian packages in
// scripts/packages.txt; -short skips it. The recipe it follows is in
// ../shared/notes/qemu-pxe-boot-test.md.
package pxetest
