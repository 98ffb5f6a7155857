package diagram

import (
	"fmt"
	"strings"

	"kiln.dev/kiln/internal/model"
)

// collapseAt is the most machines of one role drawn one by one; a role
// with more is drawn as one stack (its title still names every machine).
const collapseAt = 4

// machine is one box of the wiring picture: a physical machine, or a stack
// of a role's machines.
type machine struct {
	name   string   // the box's heading
	sub    string   // what it is, in grey after the name
	names  []string // every node the box stands for
	rows   []nicRow
	guests []*model.Node
	y, h   float64
}

// nicRow is one cable: a NIC to a network.
type nicRow struct {
	nic, network string
	net          int // the network's index, for its colour and bus
	addr, mac    string
	y            float64
}

// Wiring draws the cluster's cabling: one vertical bus per network, every
// machine with a line from each NIC to its network (NIC name, address and
// MAC on the line), and the VMs inside the machine that hosts them, joined
// to the host's NIC on their network.
func Wiring(c *model.Cluster) []byte {
	nets := map[string]int{}
	for i, n := range c.Networks {
		nets[n.Name] = i
	}
	machines := wiringMachines(c, nets)

	const (
		margin  = 16.0
		head    = 28.0 // a box's heading
		rowH    = 36.0 // one NIC
		guestH  = 44.0 // one VM inside its host
		gap     = 14.0 // between boxes
		titleH  = 34.0 // the picture's title
		busHead = 44.0 // the networks' names above their buses
	)
	// Widths: the boxes, the room for the NIC labels, the buses' spacing.
	boxW, labelW, busGap := 230.0, 150.0, 120.0
	for _, m := range machines {
		boxW = max(boxW, textWidth(m.name, 14, true)+textWidth(m.sub, 11, false)+30)
		for _, r := range m.rows {
			labelW = max(labelW, monoWidth(r.nic+" · "+r.addr, 11), monoWidth(r.mac, 10))
		}
		for _, g := range m.guests {
			boxW = max(boxW, textWidth(g.Name, 12, true)+textWidth(vmSize(g), 11, false)+50, monoWidth(guestLine(g), 11)+50)
		}
	}
	for _, n := range c.Networks {
		busGap = max(busGap, textWidth(n.Name, 13, true)+24, monoWidth(n.CIDR, 11)+24)
	}
	boxX := margin
	bus0 := boxX + boxW + labelW + 36
	busX := func(i int) float64 { return bus0 + float64(i)*busGap }
	width := busX(max(len(c.Networks)-1, 0)) + busGap/2 + margin

	// Vertical layout.
	y := margin + titleH + busHead
	for _, m := range machines {
		m.y = y
		ry := y + head + rowH/2 + 2
		for i := range m.rows {
			m.rows[i].y = ry
			ry += rowH
		}
		m.h = head + float64(len(m.rows))*rowH + float64(len(m.guests))*(guestH+8) + 8
		if len(m.guests) > 0 {
			m.h += 4
		}
		y += m.h + gap
	}
	height := y - gap + margin + 8

	var s svg
	s.text(margin, margin+16, 16, "start", `font-weight="bold" fill="#212529"`, c.Name+": machines and cables")
	s.text(margin, margin+32, 11, "start", `fill="#495057"`, "Each line is a cable from a NIC to a network; VMs reach their network through their host's NIC.")

	// The networks: a bus each, its name and address range above it.
	top := margin + titleH + busHead - 8
	for i, n := range c.Networks {
		x := busX(i)
		s.open("network", fmt.Sprintf("network %s %s", n.Name, n.CIDR))
		s.text(x, margin+titleH+14, 13, "middle", fmt.Sprintf(`font-weight="bold" fill="%s"`, netColor(i)), n.Name)
		s.text(x, margin+titleH+28, 11, "middle", fmt.Sprintf(`font-family="%s" fill="#495057"`, esc(fontMono)), n.CIDR)
		s.line(x, top, x, height-margin, fmt.Sprintf(`stroke="%s" stroke-width="4" stroke-linecap="round"`, netColor(i)))
		s.close()
	}

	for _, m := range machines {
		s.open("machine", strings.Join(m.names, " "))
		s.rect(boxX, m.y, boxW, m.h, 6, `fill="#f8f9fa" stroke="#343a40" stroke-width="1.5"`)
		s.text(boxX+10, m.y+19, 14, "start", `font-weight="bold" fill="#212529"`, m.name)
		s.text(boxX+14+textWidth(m.name, 14, true), m.y+19, 11, "start", `fill="#6c757d"`, m.sub)
		for _, r := range m.rows {
			col := netColor(r.net)
			x2 := busX(r.net)
			// A white halo under the cable breaks the buses it crosses.
			s.line(boxX+boxW, r.y, x2, r.y, `stroke="#ffffff" stroke-width="7"`)
			s.line(boxX+boxW, r.y, x2, r.y, fmt.Sprintf(`stroke="%s" stroke-width="2"`, col))
			s.circle(x2, r.y, 5, fmt.Sprintf(`fill="%s"`, col))
			s.circle(boxX+boxW, r.y, 3.5, fmt.Sprintf(`fill="#ffffff" stroke="%s" stroke-width="2"`, col))
			s.text(boxX+boxW+10, r.y-6, 11, "start", fmt.Sprintf(`font-family="%s" fill="#212529"`, esc(fontMono)), r.nic+" · "+r.addr)
			if r.mac != "" {
				s.text(boxX+boxW+10, r.y+14, 10, "start", fmt.Sprintf(`font-family="%s" fill="#6c757d"`, esc(fontMono)), r.mac)
			}
			s.text(boxX+boxW-10, r.y+4, 11, "end", fmt.Sprintf(`fill="%s"`, col), r.network)
		}
		gy := m.y + head + float64(len(m.rows))*rowH + 6
		for _, g := range m.guests {
			drawGuest(&s, g, m, nets, boxX+12, gy, boxW-34, guestH, boxX+boxW)
			gy += guestH + 8
		}
		s.close()
	}
	return s.document(width, height, c.Name+" wiring",
		fmt.Sprintf("The networks of %s, its machines and their NICs, and the VMs inside their hosts.", c.Name))
}

// drawGuest draws a VM inside its host, with a dashed line from its NIC to
// the host's NIC on the same network (the host bridges it there).
func drawGuest(s *svg, g *model.Node, host *machine, nets map[string]int, x, y, w, h, hostRight float64) {
	s.open("vm", g.Name)
	s.rect(x, y, w, h, 4, `fill="#ffffff" stroke="#868e96" stroke-dasharray="4 3"`)
	s.text(x+8, y+17, 12, "start", `font-weight="bold" fill="#212529"`, g.Name)
	s.text(x+w-8, y+17, 11, "end", `fill="#6c757d"`, vmSize(g))
	s.text(x+8, y+35, 11, "start", fmt.Sprintf(`font-family="%s" fill="#212529"`, esc(fontMono)), guestLine(g))
	for i, gi := range g.Interfaces {
		ni, ok := nets[gi.Network]
		if !ok {
			continue
		}
		vy := y + 31 - float64(i)*4
		col := netColor(ni)
		for _, r := range host.rows {
			if r.network == gi.Network {
				elbow := hostRight - 8 - float64(i)*4
				s.printf(`<path d="M%s %sH%sV%sH%s" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`+"\n",
					num(x+w), num(vy), num(elbow), num(r.y), num(hostRight), col)
				break
			}
		}
	}
	s.close()
}

func vmSize(n *model.Node) string {
	if n.VM == nil {
		return "VM"
	}
	return fmt.Sprintf("%d vCPU · %s · %d GiB", n.VM.VCPUs, MiB(n.VM.Memory), n.VM.Disk)
}

func guestLine(n *model.Node) string {
	var parts []string
	for _, i := range n.Interfaces {
		parts = append(parts, i.NIC+" · "+i.IP+" ("+i.Network+")")
	}
	return strings.Join(parts, ", ")
}

// MiB writes a memory size in MiB the way people say it: 2048 → 2 GiB,
// 1536 → 1.5 GiB, 512 → 512 MiB.
func MiB(m int) string {
	if m >= 1024 && m%256 == 0 {
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", float64(m)/1024), "0"), ".0") + " GiB"
	}
	return fmt.Sprintf("%d MiB", m)
}

// wiringMachines lists the boxes: every node that no other node hosts, in
// install order, a role's machines as one stack when there are many.
func wiringMachines(c *model.Cluster, nets map[string]int) []*machine {
	hosted := map[string]bool{}
	for _, n := range c.Nodes {
		for _, g := range n.Guests {
			hosted[g] = true
		}
	}
	byRole := map[string][]*model.Node{}
	var order []string
	for _, n := range c.Nodes {
		if hosted[n.Name] {
			continue
		}
		if _, ok := byRole[n.Role]; !ok {
			order = append(order, n.Role)
		}
		byRole[n.Role] = append(byRole[n.Role], n)
	}
	var out []*machine
	for _, role := range order {
		nodes := byRole[role]
		stack := len(nodes) > collapseAt
		for _, n := range nodes {
			stack = stack && len(n.Guests) == 0
		}
		if !stack {
			for _, n := range nodes {
				m := &machine{name: n.Name, sub: role + " · " + n.Kind, names: []string{n.Name}}
				for _, i := range n.Interfaces {
					m.rows = append(m.rows, nicRow{nic: i.NIC, network: i.Network, net: nets[i.Network], addr: orNone(i.IP), mac: i.MAC})
				}
				for _, g := range n.Guests {
					if gn := c.Node(g); gn != nil {
						m.guests = append(m.guests, gn)
					}
				}
				out = append(out, m)
			}
			continue
		}
		first, last := nodes[0], nodes[len(nodes)-1]
		m := &machine{name: first.Name + " … " + last.Name, sub: fmt.Sprintf("%s · %d machines", role, len(nodes))}
		for _, n := range nodes {
			m.names = append(m.names, n.Name)
		}
		for _, i := range first.Interfaces {
			r := nicRow{nic: i.NIC, network: i.Network, net: nets[i.Network], addr: orNone(i.IP)}
			if li := last.Iface(i.Network); li != nil && li.IP != i.IP {
				r.addr += " – " + li.IP
			}
			if i.MAC != "" {
				r.mac = i.MAC + " …"
			}
			m.rows = append(m.rows, r)
		}
		out = append(out, m)
	}
	return out
}

func orNone(ip string) string {
	if ip == "" {
		return "no address"
	}
	return ip
}
