package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Colour goes to a terminal only, and never when NO_COLOR is set or TERM
// is dumb.
func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	if !colorOn(tty) {
		t.Error("no colour on a terminal")
	}
	if colorOn(file) || colorOn(&bytes.Buffer{}) {
		t.Error("colour into a file or a pipe")
	}
	t.Setenv("NO_COLOR", "1")
	if colorOn(tty) {
		t.Error("colour with NO_COLOR=1")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if colorOn(tty) {
		t.Error("colour with TERM=dumb")
	}

	// Every state's colour code has the same length, so tables stay
	// aligned.
	c := &cmdContext{color: true}
	want := len(c.paint(stateColor("planned"), "x"))
	for _, s := range []string{"failed", "installed", "booting", "configured", "needs-reinstall"} {
		if got := len(c.paint(stateColor(s), "x")); got != want {
			t.Errorf("%s: %d bytes of colour, planned has %d", s, got, want)
		}
	}
	if (&cmdContext{}).paint(stateColor("failed"), "failed") != "failed" {
		t.Error("paint coloured without colour on")
	}
}
