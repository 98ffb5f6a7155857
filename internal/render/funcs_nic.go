package render

import (
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/model"
)

func init() { funcGroups = append(funcGroups, nicFuncs) }

// nicFuncs name a node's NICs by their MACs: the installer's ifname=
// arguments, the systemd .link files of the installed system, and the
// interfaces in the order the kickstart lists them.
func nicFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		"ifnameArgs": ifnameArgs,
		"bootFirst":  bootFirst,
		"nicLink":    nicLink,
	}
}

// ifnameArgs is the installer's kernel arguments that give each NIC of n
// whose MAC is known its design name: "ifname=NAME:MAC …" (dracut.cmdline(7);
// Anaconda also writes each as a .link file on the installed system). NIC
// names are ifname-typed and MACs parsed, so neither needs quoting.
func ifnameArgs(n *model.Node) string {
	var out []string
	for _, i := range n.Interfaces {
		if i.MAC != "" {
			out = append(out, "ifname="+i.NIC+":"+strings.ToLower(i.MAC))
		}
	}
	return strings.Join(out, " ")
}

// bootFirst lists a node's interfaces with the boot interface first: the
// installer brings up the first network line of a kickstart in its
// initramfs, so that line must be the NIC it booted from, the one NIC
// it always knows by name.
func bootFirst(ifs []*model.Interface) []*model.Interface {
	out := make([]*model.Interface, 0, len(ifs))
	for _, i := range ifs {
		if i.Boot {
			out = append(out, i)
		}
	}
	for _, i := range ifs {
		if !i.Boot {
			out = append(out, i)
		}
	}
	return out
}

// nicLink is the systemd .link file (systemd.link(5)) that gives the NIC
// with this MAC its name, the form Red Hat documents for user-defined
// names ("Configuring user-defined network interface names by using
// systemd link files"), installed as /etc/systemd/network/10-kiln-NAME.link.
func nicLink(name, mac string) string {
	return "# Written by kiln: the NIC with this MAC takes its name in the design.\n" +
		"[Match]\nMACAddress=" + strings.ToLower(mac) + "\n\n[Link]\nName=" + name + "\n"
}
