package diagram

import (
	"fmt"
	"sort"
	"strings"

	"kiln.dev/kiln/internal/model"
)

// roleBox is one role in the install-order picture.
type roleBox struct {
	r          *model.Role
	x, y, w, h float64
	order      float64 // where it sits in its column, for fewer crossings
}

// Roles draws the design's order and make-up: the roles in columns by
// install stage (left first), an arrow from each role to those that wait
// for it (solid: after; dashed: a VM waits for its host), and below, which
// role runs which module, each module after those it requires.
func Roles(c *model.Cluster) []byte {
	const (
		margin = 16.0
		titleH = 40.0
		boxW   = 150.0
		boxH   = 58.0
		colGap = 46.0
		rowGap = 18.0
	)
	// Columns by stage.
	var cols [][]*roleBox
	boxes := map[string]*roleBox{}
	for i, r := range c.Roles {
		for len(cols) <= r.Stage {
			cols = append(cols, nil)
		}
		b := &roleBox{r: r, order: float64(i)}
		cols[r.Stage] = append(cols[r.Stage], b)
		boxes[r.Name] = b
	}
	// Order each column by where the roles it waits for sit (barycentre),
	// so arrows cross less; ties keep the cluster's order.
	for ci := 1; ci < len(cols); ci++ {
		for _, b := range cols[ci] {
			sum, n := 0.0, 0
			for _, p := range prerequisites(b.r) {
				if pb := boxes[p]; pb != nil {
					sum += pb.order
					n++
				}
			}
			if n > 0 {
				b.order = sum / float64(n)
			}
		}
		sort.SliceStable(cols[ci], func(i, j int) bool { return cols[ci][i].order < cols[ci][j].order })
		for i, b := range cols[ci] {
			b.order = float64(i) - float64(len(cols[ci])-1)/2
		}
	}
	if len(cols) > 0 {
		for i, b := range cols[0] {
			b.order = float64(i) - float64(len(cols[0])-1)/2
		}
	}
	tallest := 0
	for _, col := range cols {
		tallest = max(tallest, len(col))
	}
	graphH := float64(tallest)*boxH + float64(max(tallest-1, 0))*rowGap
	top := margin + titleH + 18
	for ci, col := range cols {
		colH := float64(len(col))*boxH + float64(max(len(col)-1, 0))*rowGap
		y := top + (graphH-colH)/2
		for _, b := range col {
			b.x = margin + float64(ci)*(boxW+colGap)
			b.y = y
			b.w, b.h = boxW, boxH
			y += boxH + rowGap
		}
	}

	// The module matrix below.
	mods := moduleOrder(c)
	labelW := 120.0
	for _, m := range mods {
		labelW = max(labelW, textWidth(m.name, 12, true)+textWidth(needs(m), 10, false)+36)
	}
	cellW := 64.0
	for _, r := range c.Roles {
		cellW = max(cellW, textWidth(r.Name, 11, true)+12)
	}
	graphW := float64(len(cols))*boxW + float64(max(len(cols)-1, 0))*colGap
	matrixW := labelW + float64(len(c.Roles))*cellW
	width := margin*2 + max(graphW, matrixW, 460)
	mTop := top + graphH + 56
	rowH := 22.0
	height := mTop + 30 + float64(len(mods))*rowH + 40 + margin

	var s svg
	s.printf(`<defs><marker id="roles-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#495057"/></marker></defs>` + "\n")
	s.text(margin, margin+16, 16, "start", `font-weight="bold" fill="#212529"`, c.Name+": install order")
	s.text(margin, margin+32, 11, "start", `fill="#495057"`, "Left to right: a role is installed once every role with an arrow into it is up. Solid: after; dashed: a VM and its host.")
	for ci := range cols {
		x := margin + float64(ci)*(boxW+colGap) + boxW/2
		s.text(x, top-8, 11, "middle", `fill="#6c757d"`, fmt.Sprintf("step %d", ci+1))
	}
	// Arrows first, under the boxes; none for a wait that another wait
	// implies (nfs after puppet and ldap, ldap after puppet: one arrow
	// from ldap), so the picture shows the order and not its every path.
	for _, r := range c.Roles {
		to := boxes[r.Name]
		for _, p := range prerequisites(r) {
			from := boxes[p]
			if from == nil || impliedBy(c, r, p) {
				continue
			}
			arrow(&s, from, to, !contains(r.After, p))
		}
	}
	for _, r := range c.Roles {
		b := boxes[r.Name]
		s.open("role", "role "+r.Name+": "+strings.Join(r.Nodes, " "))
		fill := "#f8f9fa"
		if r.Kind == "vm" {
			fill = "#ffffff"
		}
		dash := ""
		if r.Kind == "vm" {
			dash = ` stroke-dasharray="4 3"`
		}
		s.rect(b.x, b.y, b.w, b.h, 6, fmt.Sprintf(`fill="%s" stroke="#343a40" stroke-width="1.5"%s`, fill, dash))
		s.text(b.x+b.w/2, b.y+19, 13, "middle", `font-weight="bold" fill="#212529"`, r.Name)
		s.text(b.x+b.w/2, b.y+35, 11, "middle", `fill="#495057"`, nodeSummary(r, b.w-12))
		kind := r.Kind
		if r.Kind == "vm" && r.Host != "" {
			kind = "VM on " + r.Host
		}
		s.text(b.x+b.w/2, b.y+50, 10, "middle", `fill="#6c757d"`, kind)
		s.close()
	}

	// Which role runs which module.
	s.text(margin, mTop-22, 14, "start", `font-weight="bold" fill="#212529"`, "Modules of each role")
	s.text(margin, mTop-8, 11, "start", `fill="#495057"`, "● runs the module under Puppet   ◉ also applied by hand before the Puppet server is up (bootstrap)")
	for i, r := range c.Roles {
		x := margin + labelW + float64(i)*cellW + cellW/2
		s.text(x, mTop+16, 11, "middle", `font-weight="bold" fill="#212529"`, r.Name)
	}
	for j, m := range mods {
		y := mTop + 30 + float64(j)*rowH
		if j%2 == 0 {
			s.rect(margin, y, labelW+float64(len(c.Roles))*cellW, rowH, 0, `fill="#f1f3f5"`)
		}
		s.open("module", "module "+m.name)
		s.text(margin+8, y+15, 12, "start", `font-weight="bold" fill="#212529"`, m.name)
		if n := needs(m); n != "" {
			s.text(margin+labelW-10, y+15, 10, "end", `fill="#6c757d"`, n)
		}
		s.close()
		for i, r := range c.Roles {
			if !contains(r.Modules, m.name) {
				continue
			}
			x := margin + labelW + float64(i)*cellW + cellW/2
			if contains(r.Bootstrap, m.name) {
				s.circle(x, y+rowH/2, 7, `fill="none" stroke="#c2410c" stroke-width="2"`)
			}
			s.circle(x, y+rowH/2, 4.5, `fill="#1864ab"`)
		}
	}
	return s.document(width, height, c.Name+" install order and modules",
		fmt.Sprintf("The roles of %s in install order with what each waits for, and the modules each role runs.", c.Name))
}

// arrow joins two roles with a curve from the right of the first to the
// left of the second.
func arrow(s *svg, from, to *roleBox, dashed bool) {
	x1, y1 := from.x+from.w, from.y+from.h/2
	x2, y2 := to.x, to.y+to.h/2
	mid := (x1 + x2) / 2
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	s.printf(`<path d="M%s %sC%s %s %s %s %s %s" fill="none" stroke="#495057" stroke-width="1.6"%s marker-end="url(#roles-arrow)"><title>%s before %s</title></path>`+"\n",
		num(x1), num(y1), num(mid), num(y1), num(mid), num(y2), num(x2-2), num(y2), dash, esc(from.r.Name), esc(to.r.Name))
}

// prerequisites are the roles a role waits for: its after list and its host.
func prerequisites(r *model.Role) []string {
	out := append([]string(nil), r.After...)
	if r.Host != "" && !contains(out, r.Host) {
		out = append(out, r.Host)
	}
	return out
}

// impliedBy reports whether role r's wait for p follows from another of
// its waits: p comes before one of r's other prerequisites.
func impliedBy(c *model.Cluster, r *model.Role, p string) bool {
	for _, q := range prerequisites(r) {
		if q != p && reaches(c, q, p, map[string]bool{}) {
			return true
		}
	}
	return false
}

// reaches reports whether role from waits, directly or not, for role to.
func reaches(c *model.Cluster, from, to string, seen map[string]bool) bool {
	if seen[from] {
		return false
	}
	seen[from] = true
	r := c.Role(from)
	if r == nil {
		return false
	}
	for _, q := range prerequisites(r) {
		if q == to || reaches(c, q, to, seen) {
			return true
		}
	}
	return false
}

// nodeSummary says which machines a role has, within a width.
func nodeSummary(r *model.Role, w float64) string {
	switch len(r.Nodes) {
	case 0:
		return "no machines in this site"
	case 1:
		return "machine: " + r.Nodes[0]
	}
	all := "machines: " + strings.Join(r.Nodes, ", ")
	if textWidth(all, 11, false) <= w {
		return all
	}
	return fmt.Sprintf("%s … %s (%d machines)", r.Nodes[0], r.Nodes[len(r.Nodes)-1], len(r.Nodes))
}

type modInfo struct {
	name     string
	requires []string
	depth    int
}

func needs(m modInfo) string {
	if len(m.requires) == 0 {
		return ""
	}
	return "needs " + strings.Join(m.requires, ", ")
}

// moduleOrder lists the modules the roles run, each after those it
// requires (by depth), then by name.
func moduleOrder(c *model.Cluster) []modInfo {
	req := map[string][]string{}
	for _, r := range c.Roles {
		for _, m := range r.Modules {
			if _, ok := req[m]; !ok {
				req[m] = nil
			}
		}
	}
	for _, n := range c.Nodes {
		for _, m := range n.Modules {
			if _, ok := req[m.Name]; ok && req[m.Name] == nil {
				req[m.Name] = append([]string{}, m.Requires...)
			}
		}
	}
	depth := map[string]int{}
	var visit func(m string, seen map[string]bool) int
	visit = func(m string, seen map[string]bool) int {
		if d, ok := depth[m]; ok {
			return d
		}
		if seen[m] {
			return 0 // a cycle is validate's to report
		}
		seen[m] = true
		d := 0
		for _, p := range req[m] {
			d = max(d, visit(p, seen)+1)
		}
		depth[m] = d
		return d
	}
	var out []modInfo
	for m := range req {
		out = append(out, modInfo{name: m, requires: req[m], depth: visit(m, map[string]bool{})})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].depth != out[j].depth {
			return out[i].depth < out[j].depth
		}
		return out[i].name < out[j].name
	})
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
