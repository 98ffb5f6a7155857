// Package testutil holds what several packages' tests share: finding the
// real programs that check kiln's output, and building the example.
package testutil

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// NeedProgram returns the path of a program the test checks output with.
// When it is missing the test is skipped on a developer's machine, but
// fails in CI (CI is set), where scripts/test must have installed it.
func NeedProgram(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} { // root's tools, when PATH lacks them
		if st, err := os.Stat(dir + "/" + name); err == nil && !st.IsDir() {
			return dir + "/" + name
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; scripts/test installs it (add its Debian package to scripts/packages.txt)", name)
	}
	t.Skipf("%s is not installed (scripts/test installs it)", name)
	return ""
}

// FreePort returns a loopback TCP port that is free now, for a server the
// test starts on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
