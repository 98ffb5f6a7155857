package main

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/builtin"
)

// kiln help serve shows the callback the tier3 kickstart really makes: the
// same curl options and the same URL path.
func TestServeHelpShowsTheKickstartsCallback(t *testing.T) {
	design, _ := builtin.Design("tier3")
	ks, err := fs.ReadFile(design, "templates/install/kickstart.cfg.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`curl (-fsS [^\n]*--data "status=\$\{status\}") \\\n\s*\{\{ shquote \(printf "%s(/kiln/installed/)%s"`).FindStringSubmatch(string(ks))
	if m == nil {
		t.Fatal("the kickstart template no longer reports with curl … /kiln/installed/NODE; update this test and kiln help serve")
	}
	want := "curl " + m[1] + ` \` + "\n" + `    "http://HEAD:PORT` + m[2] + `NODE?token=TOKEN"`
	if !strings.Contains(serveVerb.help, want) {
		t.Fatalf("kiln help serve does not show the kickstart's callback; want\n%s\nin\n%s", want, serveVerb.help)
	}
}
