package render

import "testing"

func TestGRUBPathWritesGRUBsHTTPDevice(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.10.0.1:80/kiln/grub/wn1.cfg":          "(http,10.10.0.1)/kiln/grub/wn1.cfg",
		"http://10.10.0.1/os/el9/images/pxeboot/vmlinuz": "(http,10.10.0.1)/os/el9/images/pxeboot/vmlinuz",
		"http://10.99.0.1:8080/kiln/grub/wn1.cfg":        "(http,10.99.0.1:8080)/kiln/grub/wn1.cfg",
		"http://mirror.example.org/alma/9/":              "(http,mirror.example.org)/alma/9/",
	} {
		if got, err := grubPath(in); err != nil || got != want {
			t.Errorf("grubPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// GRUB has no HTTPS; a query, a user or a character of GRUB's syntax
	// is an error, not a path GRUB would read otherwise.
	for _, in := range []string{"https://mirror.example.org/alma/9/", "http://mirror/x?y=1", "http://u:p@mirror/x", "http://mirror/a;reboot", "ftp://mirror/x", "/local/path"} {
		if got, err := grubPath(in); err == nil {
			t.Errorf("grubPath(%q) = %q, want an error", in, got)
		}
	}
}

func TestGRUBQuoteKeepsEverythingLiteral(t *testing.T) {
	if got, want := grubQuote(`it's $x; "y"`), `'it'\''s $x; "y"'`; got != want {
		t.Errorf("grubQuote = %s, want %s", got, want)
	}
}
