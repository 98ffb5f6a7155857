// Package diagram draws the resolved cluster as SVG, with no program
// outside kiln: the wiring (networks, machines, NICs, VMs inside their
// host) and the install order (roles by stage, what waits for what, which
// role runs which module). The runbook embeds both; kiln graph writes them.
//
// The layout is computed here, in plain Go, from the model alone: it knows
// no role, module or network by name. Output is deterministic.
package diagram

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Fonts the pictures ask for, the first installed one wins. Text widths
// are estimated for DejaVu Sans, the widest of them, so labels fit.
const (
	fontSans = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
	fontMono = "DejaVu Sans Mono, Liberation Mono, Courier New, monospace"
)

// palette colours the networks, in the design's order.
var palette = []string{"#1864ab", "#c2410c", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#5f3dc4", "#8d6e00"}

func netColor(i int) string { return palette[i%len(palette)] }

// svg accumulates the elements of one picture.
type svg struct {
	b strings.Builder
}

func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// esc escapes text for an SVG text node or attribute value.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func (s *svg) rect(x, y, w, h, r float64, attrs string) {
	s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="%s" %s/>`+"\n", num(x), num(y), num(w), num(h), num(r), attrs)
}

func (s *svg) line(x1, y1, x2, y2 float64, attrs string) {
	s.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" %s/>`+"\n", num(x1), num(y1), num(x2), num(y2), attrs)
}

func (s *svg) circle(x, y, r float64, attrs string) {
	s.printf(`<circle cx="%s" cy="%s" r="%s" %s/>`+"\n", num(x), num(y), num(r), attrs)
}

// text writes one line of text; anchor is start, middle or end.
func (s *svg) text(x, y float64, size float64, anchor, attrs, t string) {
	if anchor == "" {
		anchor = "start"
	}
	s.printf(`<text x="%s" y="%s" font-size="%s" text-anchor="%s" %s>%s</text>`+"\n", num(x), num(y), num(size), anchor, attrs, esc(t))
}

// open starts a group with a tooltip (an SVG title, which also names the
// element for a screen reader and for a search of the file).
func (s *svg) open(class, title string) {
	s.printf(`<g class="%s"><title>%s</title>`+"\n", esc(class), esc(title))
}

func (s *svg) close() { s.b.WriteString("</g>\n") }

// document wraps the elements in an svg element of the given size.
func (s *svg) document(w, h float64, title, desc string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="img" font-family="%s">`+"\n",
		num(w), num(h), num(w), num(h), esc(fontSans))
	fmt.Fprintf(&b, "<title>%s</title>\n<desc>%s</desc>\n", esc(title), esc(desc))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", num(w), num(h))
	b.WriteString(s.b.String())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// textWidth estimates the width of a line of text in pixels: DejaVu Sans
// averages a little over 0.6 em a character (narrow letters less, capitals
// and digits more); bold adds a tenth.
func textWidth(t string, size float64, bold bool) float64 {
	w := 0.0
	for _, r := range t {
		switch {
		case strings.ContainsRune("iljtfI.,:;|!' ", r):
			w += 0.36
		case r >= 'A' && r <= 'Z' || r == 'm' || r == 'w' || r == 'M' || r == 'W':
			w += 0.74
		default:
			w += 0.62
		}
	}
	if bold {
		w *= 1.1
	}
	return w * size
}

// monoWidth is the width of monospaced text: 0.602 em a character.
func monoWidth(t string, size float64) float64 {
	return float64(len([]rune(t))) * 0.61 * size
}
