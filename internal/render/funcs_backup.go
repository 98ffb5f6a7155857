package render

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"text/template"
	"unicode/utf8"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/model"
)

func init() { funcGroups = append(funcGroups, backupFuncs) }

// IdentityFile is one file of a node's kept identity as templates see it:
// enough to write it back with a shell here-document (Text) or, for a file
// that is not plain text, base64 -d (Base64).
type IdentityFile struct {
	Path   string // absolute path on the node
	Dir    string // its folder
	Mode   string // octal, e.g. 0600
	Secret bool
	IsText bool   // safe in a quoted here-document ending KILN_EOF
	Text   string // the content, for IsText
	Base64 string // the content in base64, 76 columns
}

// backupFuncs give templates the node identities kept in the site folder.
func backupFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// identityFiles lists the node's kept identity files (SSH host
		// keys, a TLS server certificate, an imported grid certificate),
		// decrypted with the site key, and the site CA's certificate that
		// every node gets.
		// It marks the file being rendered as secret-bearing when any of
		// them is private. A node without a kept identity gets only the
		// site's files.
		"identityFiles": func(node string) ([]IdentityFile, error) {
			if r == nil {
				return nil, nil
			}
			site := r.secrets.d.SiteFS
			st := r.secrets
			st.siteOnce.Do(func() { st.siteFiles, st.siteErr = identity.SiteFiles(site) })
			if st.siteErr != nil {
				return nil, st.siteErr
			}
			files := st.siteFiles
			if identity.Has(site, node) {
				own, err := st.nodeIdentity(site, node)
				if err != nil {
					return nil, err
				}
				// The node's own files, then the site's it does not
				// keep a copy of, by path.
				files = mergeIdentity(own, st.siteFiles)
			}
			out := make([]IdentityFile, len(files))
			for i, f := range files {
				if f.Secret {
					r.usedSecret, r.opaque = true, true
				}
				out[i] = IdentityFile{Path: f.Path, Dir: path.Dir(f.Path), Mode: fmt.Sprintf("%04o", f.Mode.Perm()), Secret: f.Secret,
					IsText: isHereDocText(f.Data), Text: string(f.Data), Base64: wrap76(base64.StdEncoding.EncodeToString(f.Data))}
				if !out[i].IsText {
					out[i].Text = ""
				}
			}
			return out, nil
		},
		// keptIdentity reports whether the site keeps the file at path on
		// the node (plain or encrypted) in the node's identity, without
		// reading it: e.g. whether kiln identity has made the server
		// certificate a module asks for.
		"keptIdentity": func(node, p string) bool {
			if r == nil || identity.CheckNode(node) != nil || !strings.HasPrefix(p, "/") {
				return false
			}
			site := r.secrets.d.SiteFS
			f := path.Join(identity.Dir, node, p)
			if _, err := fs.Stat(site, f); err == nil {
				return true
			}
			_, err := fs.Stat(site, f+".age")
			return err == nil
		},
		// hostKeys lists the node's kept SSH public host keys, one
		// "type base64" per entry (no comment), sorted by file name. They
		// are public: reading them needs no key and marks nothing secret.
		"hostKeys": func(node string) ([]string, error) {
			if r == nil {
				return nil, nil
			}
			site := r.secrets.d.SiteFS
			if !identity.Has(site, node) {
				return nil, nil
			}
			matches, err := fs.Glob(site, path.Join(identity.Dir, node, "etc/ssh/ssh_host_*_key.pub"))
			if err != nil {
				return nil, err
			}
			var out []string
			for _, m := range matches {
				data, err := fs.ReadFile(site, m)
				if err != nil {
					return nil, err
				}
				f := strings.Fields(string(data))
				if len(f) < 2 {
					return nil, fmt.Errorf("%s is not an SSH public key", m)
				}
				out = append(out, f[0]+" "+f[1])
			}
			return out, nil
		},
		// hostNames lists every name and address a node answers to: its
		// name, FQDN, and each interface's host name and IP, each once.
		"hostNames": func(n *model.Node) []string {
			seen := map[string]bool{}
			var out []string
			add := func(s string) {
				if s != "" && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
			add(n.Name)
			add(n.FQDN)
			for _, i := range n.Interfaces {
				add(i.Hostname)
				add(i.IP)
			}
			return out
		},
		// itemTags lists the tags of state items, in order.
		"itemTags": func(items []model.StateItem) []string {
			out := make([]string, len(items))
			for i, it := range items {
				out[i] = it.Tag
			}
			return out
		},
		// spreadMinute is a minute of the hour (0-59) that depends only on
		// name: cron entries of many nodes do not all fire at once.
		"spreadMinute": func(name string) int {
			h := fnv.New32a()
			h.Write([]byte(name))
			return int(h.Sum32() % 60)
		},
	}
}

// mergeIdentity adds to a node's own identity files the site-wide ones at
// paths it has none of, sorted by path.
func mergeIdentity(own, site []identity.File) []identity.File {
	out := append([]identity.File(nil), own...)
	for _, f := range site {
		if !slices.ContainsFunc(own, func(o identity.File) bool { return o.Path == f.Path }) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// isHereDocText reports whether data can be written back exactly by a
// quoted here-document: UTF-8 text without NUL or carriage returns, ending
// in a newline, with no line that would end the document early.
func isHereDocText(data []byte) bool {
	if len(data) == 0 || data[len(data)-1] != '\n' || !utf8.Valid(data) || bytes.ContainsAny(data, "\x00\r") {
		return false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if string(line) == "KILN_EOF" {
			return false
		}
	}
	return true
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteByte('\n')
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}
