package render

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
)

func init() { funcGroups = append(funcGroups, bootFuncs) }

// bootFuncs serve the network boot loaders' templates (GRUB 2).
func bootFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		"grubPath":  grubPath,
		"grubQuote": grubQuote,
	}
}

// grubPath writes an http:// URL the way GRUB 2 opens a file over HTTP:
// (http,HOST)/PATH, or (http,HOST:PORT)/PATH for a port other than 80
// (the host:port form is Red Hat's GRUB patch "net: read bracketed ipv6
// addrs and port numbers", in EL8 and later and in GRUB 2.12). GRUB has no
// HTTPS, no query strings are needed, and a URL with a user, a query or a
// fragment is refused rather than silently cut.
func grubPath(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("grubPath: %v", err)
	}
	if p.Scheme != "http" || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" {
		return "", fmt.Errorf("grubPath: GRUB loads files over plain http://HOST[:PORT]/PATH only, not %q", u)
	}
	host := p.Host
	if p.Port() == "80" {
		host = p.Hostname()
	}
	path := p.EscapedPath()
	if path == "" {
		path = "/"
	}
	if strings.ContainsAny(host+path, "() \t\n'\"\\;$") {
		return "", fmt.Errorf("grubPath: %q has a character GRUB's device syntax cannot hold", u)
	}
	return "(http," + host + ")" + path, nil
}

// grubQuote quotes a word for a GRUB 2 script: single quotes, within which
// nothing is special; a single quote inside ends the quoted part, adds an
// escaped quote and starts a new quoted part.
func grubQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
