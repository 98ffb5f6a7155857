package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// colorOn says whether output to w may carry colour: w is a terminal,
// NO_COLOR (no-color.org) is unset or empty, and TERM is not dumb.
func colorOn(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// paint wraps s in an ANSI colour when c.color is on.
func (c *cmdContext) paint(code, s string) string {
	if !c.color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// stateColor is the colour of an install state: red for failed, green
// when installed or later, yellow while installing. Every code has two
// digits, so coloured cells stay aligned in a tabwriter table.
func stateColor(s string) string {
	switch s {
	case "failed":
		return "31"
	case "installed", "puppet-signed", "configured":
		return "32"
	case "booting", "installing", "needs-reinstall":
		return "33"
	}
	return "39"
}
