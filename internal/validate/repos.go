package validate

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"kiln.dev/kiln/internal/defs"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/yamlx"
)

// repositories checks the design's package repositories, the site's
// overrides of them, and that every package a node of the site would
// install comes from a repository of the site's dialect.
func (v *checker) repositories() {
	ds := v.d.Design
	seen := map[string]bool{}
	for i := range ds.Repositories {
		r := &ds.Repositories[i]
		where := "repository " + r.Name.Value
		if seen[r.Name.Value] {
			v.diags.Add(r.Name.Pos, where, fmt.Sprintf("repository %q is declared twice", r.Name.Value), "remove one of the two, or rename one")
		}
		seen[r.Name.Value] = true
		if r.Name.Value != "" && !repoName(r.Name.Value) {
			v.diags.Add(r.Name.Pos, where, fmt.Sprintf("%q is not a usable repository id", r.Name.Value), "use letters, digits, - and _ (dnf's repository ids), e.g. epel")
		}
		dialects := map[string]bool{}
		for _, d := range r.Dialects {
			v.oneOf(d, Dialects, where, "os")
			dialects[d.Value] = true
		}
		for _, m := range []struct {
			key  string
			urls defs.PerDialect
		}{{"baseurl", r.BaseURL}, {"mirrorlist", r.MirrorList}} {
			for _, d := range sortedKeys(m.urls.Each) {
				u := m.urls.Each[d]
				if !dialects[d] {
					v.diags.Add(u.Pos, where, fmt.Sprintf("%s for %q, which is not one of the repository's dialects", m.key, d), "add it to dialects:, or remove this line")
				}
				v.repoURL(u, where, m.key)
			}
			v.repoURL(m.urls.All, where, m.key)
		}
		for _, d := range r.Dialects {
			b, hasB := r.BaseURL.For(d.Value)
			_, hasL := r.MirrorList.For(d.Value)
			switch {
			case r.InstallTree && (hasB || hasL):
				v.diags.Add(r.KeyPos["install_tree"], where, "a repository of the install tree has no URL of its own", "remove install_tree: true, or the URLs (a site moves it with repositories: in site.yaml)")
			case r.InstallTree:
			case !hasB && !hasL:
				v.diags.Add(d.Pos, where, fmt.Sprintf("no baseurl or mirrorlist for %s", d.Value), fmt.Sprintf("add %s: URL under baseurl: (or mirrorlist:)", d.Value))
			case hasB && hasL:
				v.diags.Add(b.Pos, where, fmt.Sprintf("both a baseurl and a mirrorlist for %s", d.Value), "keep one of the two")
			}
		}
		if !r.InstallTree && len(r.GPGKey) == 0 {
			v.diags.Add(r.Pos, where, "the repository has no gpgkey: packages from it could not be checked", "add gpgkey: [URL of the key its packages are signed with] (see the repository's own .repo file or release package)")
		}
		for _, k := range r.GPGKey {
			v.repoURL(k, where, "gpgkey")
		}
		if r.Priority < 0 || r.Priority > 99 {
			v.diags.Add(r.KeyPos["priority"], where, fmt.Sprintf("priority %d is out of dnf's range", r.Priority), "use 1 (first) to 99 (dnf's default)")
		}
		for _, q := range r.Requires {
			if !v.hasRepo(q.Value) {
				v.diags.Add(q.Pos, where, fmt.Sprintf("requires unknown repository %q", q.Value), fix(diag.DidYouMean(q.Value, v.repoNames()), "name a repository declared under repositories:"))
			}
		}
		pseen := map[string]bool{}
		for _, p := range r.Provides {
			if pseen[p.Value] {
				v.diags.Add(p.Pos, where, fmt.Sprintf("package %q is listed twice", p.Value), "remove one of the two")
			}
			pseen[p.Value] = true
		}
	}

	s := v.d.Site
	var names []string
	for _, r := range ds.Repositories {
		names = append(names, r.Name.Value)
	}
	for _, name := range sortedKeys(s.Repositories) {
		o := s.Repositories[name]
		where := "site repository " + name
		var dr *defs.Repository
		for i := range ds.Repositories {
			if ds.Repositories[i].Name.Value == name {
				dr = &ds.Repositories[i]
			}
		}
		if dr == nil {
			v.diags.Add(o.Pos, where, fmt.Sprintf("the design has no repository %q", name), fix(diag.DidYouMean(name, names), "the design's repositories are: "+joinOr(names)))
			continue
		}
		switch {
		case o.BaseURL.Value != "" && o.MirrorList.Value != "":
			v.diags.Add(o.MirrorList.Pos, where, "both a baseurl and a mirrorlist", "keep one of the two")
		case o.BaseURL.Value == "" && o.MirrorList.Value == "" && len(o.GPGKey) == 0:
			v.diags.Add(o.Pos, where, "nothing to change", "give baseurl: (e.g. your mirror's URL), mirrorlist: or gpgkey:, or remove the entry")
		}
		v.repoURL(o.BaseURL, where, "baseurl")
		v.repoURL(o.MirrorList, where, "mirrorlist")
		for _, k := range o.GPGKey {
			v.repoURL(k, where, "gpgkey")
		}
		if dr.InstallTree && (o.BaseURL.Value != "" || o.MirrorList.Value != "") && len(o.GPGKey) == 0 {
			v.diags.Add(o.Pos, where, fmt.Sprintf("%s comes from the install tree in the design, which has no key for it; taken from a URL its packages need one", name),
				"add gpgkey: [the distribution's key URL, e.g. file:///etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9]")
		}
	}
	v.packages()
	v.adminKeys()
}

// adminKeys checks the administrators' public keys: one OpenSSH public key
// each, with nothing that would break the kickstart's quoted sshkey line.
func (v *checker) adminKeys() {
	for _, k := range v.d.Site.AdminKeys {
		f := strings.Fields(k.Value)
		ok := len(f) >= 2 && strings.IndexFunc(k.Value, func(r rune) bool { return r == '"' || r == '\\' || r < ' ' || r == 0x7f }) < 0
		if ok {
			switch {
			case f[0] == "ssh-ed25519", f[0] == "ssh-rsa", strings.HasPrefix(f[0], "ecdsa-sha2-nistp"), strings.HasPrefix(f[0], "sk-"):
			default:
				ok = false
			}
		}
		if ok {
			_, err := base64.StdEncoding.DecodeString(f[1])
			ok = err == nil
		}
		if !ok {
			v.diags.Add(k.Pos, "site admin_keys", "this is not an OpenSSH public key", "paste one line of ~/.ssh/id_ed25519.pub (ssh-ed25519 AAAA… comment), without quotes or backslashes")
		} else if why := sshKeyProblem(k.Value); why != "" {
			v.diags.Add(k.Pos, "site admin_keys", why, "paste the whole line of ~/.ssh/id_ed25519.pub again: sshd would refuse this key, and root could not log in with it")
		}
	}
}

// packages checks that every package a node of the site would install is
// provided by a repository of the site's dialect.
func (v *checker) packages() {
	os := v.d.Site.OS.Value
	if os == "" {
		os = "el9"
	}
	if !contains(Dialects, os) {
		return // reported by site()
	}
	provided := map[string]bool{}
	var have []string
	for _, r := range v.d.Design.Repositories {
		for _, d := range r.Dialects {
			if d.Value == os {
				have = append(have, r.Name.Value)
				for _, p := range r.Provides {
					provided[p.Value] = true
				}
			}
		}
	}
	// The modules of the roles the site has nodes of.
	used := map[string]bool{}
	for role := range v.d.Site.Nodes {
		if r := v.d.Roles[role]; r != nil {
			for _, mp := range r.Modules {
				used[mp.Module.Value] = true
			}
		}
	}
	mods := sortedKeys(used)
	for _, name := range mods {
		m := v.d.Modules[name]
		if m == nil {
			continue
		}
		for _, p := range m.Packages {
			if provided[p.Value] {
				continue
			}
			what := fmt.Sprintf("package %q is in no repository the design declares for %s", p.Value, os)
			if len(have) == 0 {
				what = fmt.Sprintf("package %q: the design declares no repository for %s", p.Value, os)
			}
			v.diags.Add(p.Pos, "module "+name, what,
				fmt.Sprintf("add it to the provides: of the repository that has it under repositories: in design.yaml (those for %s: %s), or declare that repository", os, joinOr(have)))
		}
	}
}

func repoName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// repoURL checks a repository URL: http, https, ftp or file, with nothing
// that would break the kickstart line or the .repo file it is written to.
func (v *checker) repoURL(s yamlx.Scalar, where, key string) {
	if s.Value == "" {
		return
	}
	u, err := url.Parse(strings.ReplaceAll(s.Value, "{major}", "9"))
	ok := err == nil && strings.IndexFunc(s.Value, func(r rune) bool { return r <= ' ' || r == '"' || r == '\'' || r == '\\' || r == 0x7f }) < 0
	if ok {
		switch u.Scheme {
		case "http", "https", "ftp":
			ok = u.Host != ""
		case "file":
			ok = strings.HasPrefix(u.Path, "/")
		default:
			ok = false
		}
	}
	if !ok {
		v.diags.Add(s.Pos, where, fmt.Sprintf("%s %q is not a usable URL", key, s.Value), "write an http://, https://, ftp:// or file:/// URL without spaces or quotes; dnf's $basearch and $releasever may appear")
	}
}

func (v *checker) repoNames() []string {
	var out []string
	for _, r := range v.d.Design.Repositories {
		out = append(out, r.Name.Value)
	}
	return out
}

func (v *checker) hasRepo(name string) bool { return contains(v.repoNames(), name) }
