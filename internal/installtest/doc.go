// Package installtest checks the install chain the tier3 design builds —
// kickstarts, PXELINUX/GRUB/iPXE boot files, dnsmasq and ISC dhcpd
// configuration, BIND zones and the USB key — with the real programs that
// read them (dnsmasq --test, dhcpd -t, named-checkconf, named-checkzone,
// grub-script-check, shellcheck) and, for kickstarts, with kiln's own
// pykickstart-derived linter (package kickstart). It has only tests.
package installtest
