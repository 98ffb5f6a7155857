package render

import (
	"fmt"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/model"
)

func init() { funcGroups = append(funcGroups, repoFuncs) }

// repoFuncs serve the package repositories of the design (design.yaml
// repositories:): the .repo file dnf reads, the same in the kickstart's
// %post and in what Puppet keeps.
func repoFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// repoFile is the dnf .repo text of the repositories that are not
		// part of the install tree, ids prefixed kiln- (no clash with a
		// distribution's own files), gpgcheck always on.
		"repoFile": RepoFile,
		// upstreams are the repositories as the design declares them,
		// before a site moved any to its mirror: what a mirror copies.
		"upstreams": func(repos []*model.Repository) []*model.Repository {
			out := make([]*model.Repository, len(repos))
			for i, rp := range repos {
				out[i] = rp
				if rp.Upstream != nil {
					out[i] = rp.Upstream
				}
			}
			return out
		},
		// urlBase is the last element of a URL's path: the file a key
		// URL names (RPM-GPG-KEY-EPEL-9).
		"urlBase": func(u string) string {
			u, _, _ = strings.Cut(u, "?")
			return u[strings.LastIndex(strings.TrimRight(u, "/"), "/")+1:]
		},
		// repoKeys are the key URLs of those repositories, each once.
		"repoKeys": func(repos []*model.Repository) []string {
			seen := map[string]bool{}
			var out []string
			for _, rp := range repos {
				if rp.InstallTree {
					continue
				}
				for _, k := range rp.GPGKeys {
					if !seen[k] {
						seen[k] = true
						out = append(out, k)
					}
				}
			}
			return out
		},
	}
}

// RepoFile renders repos as one dnf .repo file. Values were checked by
// kiln check (URLs without spaces, quotes or newlines; names of letters,
// digits, - _ .), so nothing here can break a line.
func RepoFile(repos []*model.Repository) string {
	var b strings.Builder
	for _, rp := range repos {
		if rp.InstallTree {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "[kiln-%s]\n", rp.Name)
		fmt.Fprintf(&b, "name=%s (kiln: design repository %s)\n", rp.Name, rp.Name)
		if rp.BaseURL != "" {
			fmt.Fprintf(&b, "baseurl=%s\n", rp.BaseURL)
		} else {
			fmt.Fprintf(&b, "mirrorlist=%s\n", rp.MirrorList)
		}
		b.WriteString("enabled=1\ngpgcheck=1\n")
		fmt.Fprintf(&b, "gpgkey=%s\n", strings.Join(rp.GPGKeys, " "))
		fmt.Fprintf(&b, "priority=%d\n", rp.Priority)
		if rp.ModuleHotfixes {
			b.WriteString("module_hotfixes=1\n")
		}
	}
	return b.String()
}
