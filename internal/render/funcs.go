package render

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"
	"unsafe"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/yamlx"
)

type yamlScalar = yamlx.Scalar

// funcGroups are the sets of functions templates may call, one per file of
// this package that defines some (funcs_*.go add theirs in init). Each is
// given the worker rendering, nil at parse time.
var funcGroups = []func(r *renderer) template.FuncMap{coreFuncs}

// funcs merges every group.
func funcs(r *renderer) template.FuncMap {
	m := template.FuncMap{}
	for _, g := range funcGroups {
		for k, v := range g(r) {
			m[k] = v
		}
	}
	return m
}

// coreFuncs are the general-purpose functions.
func coreFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		"join": func(sep string, l any) string {
			var parts []string
			switch v := l.(type) {
			case []string:
				parts = v
			case []any:
				for _, x := range v {
					parts = append(parts, fmt.Sprint(x))
				}
			default:
				return fmt.Sprint(l)
			}
			return strings.Join(parts, sep)
		},
		"json": func(v any) (string, error) {
			b, err := json.MarshalIndent(v, "", "  ")
			// b is never written again, so the string may share it: the
			// copy would be as big as cluster.json (27 MB at 10,000 nodes).
			return unsafe.String(unsafe.SliceData(b), len(b)), err
		},
		"upper":     strings.ToUpper,
		"lower":     strings.ToLower,
		"replace":   strings.ReplaceAll,
		"trim":      strings.TrimSpace,
		"hasPrefix": strings.HasPrefix,
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"quote": func(s any) string { return fmt.Sprintf("%q", fmt.Sprint(s)) },
		// shquote quotes a value for a POSIX shell, always (so that a value
		// that happens to be a command name, like head, is still a string):
		// it's becomes 'it'\''s'.
		"shquote": func(s any) string {
			return "'" + strings.ReplaceAll(fmt.Sprint(s), "'", `'\''`) + "'"
		},
		// fail stops the build with a message: a template's own check of
		// what it needs from the definitions.
		"fail": func(msg string, args ...any) (string, error) {
			return "", fmt.Errorf(msg, args...)
		},
		"add": func(a, b int) int { return a + b },
		// buffer collects text across a range in linear time:
		//   {{ $b := buffer }}{{ range ... }}{{ $b.Add " " .IP }}{{ end }}{{ $b.String }}
		// (growing a string with printf in a loop copies it every time,
		// which at 10,000 nodes is gigabytes).
		"buffer": func() *textBuffer { return &textBuffer{} },
		"sortStrings": func(l []string) []string {
			out := append([]string(nil), l...)
			sort.Strings(out)
			return out
		},
		// withItems is a new list: l and then items (the list itself is
		// shared between nodes and never changed), e.g. a node's packages
		// and one a parameter turns on.
		"withItems": func(l []string, items ...string) []string {
			return append(append(make([]string, 0, len(l)+len(items)), l...), items...)
		},
		"macDashes": func(mac string) string { return strings.ReplaceAll(strings.ToLower(mac), ":", "-") },
		// secret returns a secret's value and marks the file being rendered
		// as secret-bearing (written 0600, served to its node only).
		"secret": func(name string) (string, error) { return r.maskErr(r.secretMasked(name)) },
	}
}

// secret reads a secret for the file being rendered and marks the file as
// secret-bearing: every function that reads a secret, or derives a value
// from one, goes through here. r is nil only while templates are parsed.
func (r *renderer) secret(name string) (string, error) {
	if r == nil {
		return "", fmt.Errorf("secret %s is read only while rendering", name)
	}
	v, err := r.secretMasked(name)
	r.opaque = r.opaque || err == nil // what the caller makes of it is not recorded
	return v, err
}

// secretMasked reads a secret for a caller that hands every value it
// derives from it to mask: plan --diff can then show the file with those
// values masked instead of hiding it whole.
func (r *renderer) secretMasked(name string) (string, error) {
	if r == nil {
		return "", fmt.Errorf("secret %s is read only while rendering", name)
	}
	v, err := r.secrets.get(name)
	if err != nil {
		return "", err
	}
	r.usedSecret = true
	return v, nil
}

// mask records v as a secret value of the file being rendered and
// returns it.
func (r *renderer) mask(v string) string {
	if v != "" && !slices.Contains(r.masks, v) {
		r.masks = append(r.masks, v)
	}
	return v
}

func (r *renderer) maskErr(v string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return r.mask(v), nil
}

// secretStore reads the site's secrets once each.
type secretStore struct {
	d     *load.Definitions
	mu    sync.Mutex
	cache map[string]string
	// derived keeps values computed from a secret that cost real CPU (a
	// SHA-512 crypt hash is 5,000 rounds), so each is computed once per build.
	derived sync.Map // string → string
	// classes keeps each node's Puppet classes: nodes.pp, the ENC answer
	// and the Hiera data all list them (see puppetClasses).
	classes sync.Map // *model.Node → nodeClasses
	// siteFiles are the identity files every node gets (the site CA's
	// certificate), read once per build.
	siteOnce  sync.Once
	siteFiles []identity.File
	siteErr   error
	// The site key, parsed once per build, and the last nodes' decrypted
	// identities: a node's kickstarts and identity script read the same
	// files, and age decryption is an X25519 operation per file.
	keyOnce sync.Once
	key     *identity.Key
	keyErr  error
	idMu    sync.Mutex
	ids     map[string][]identity.File
}

// maxKeptIdentities bounds the decrypted identities kept at once: the
// renderer works node by node, so a few hundred cover a node's files
// without keeping 10,000 nodes' keys in memory.
const maxKeptIdentities = 256

// nodeIdentity is identity.Load for node, with the key parsed once and
// the result kept for the node's other files.
func (s *secretStore) nodeIdentity(site fs.FS, node string) ([]identity.File, error) {
	s.idMu.Lock()
	if f, ok := s.ids[node]; ok {
		s.idMu.Unlock()
		return f, nil
	}
	s.idMu.Unlock()
	s.keyOnce.Do(func() { s.key, _, s.keyErr = identity.LoadKey(site) })
	if s.keyErr != nil {
		return nil, s.keyErr
	}
	files, err := identity.Load(site, s.key, node)
	if err != nil {
		return nil, err
	}
	s.idMu.Lock()
	if s.ids == nil || len(s.ids) >= maxKeptIdentities {
		s.ids = map[string][]identity.File{}
	}
	s.ids[node] = files
	s.idMu.Unlock()
	return files, nil
}

// derive returns f's value for key, computing it once per build.
func (s *secretStore) derive(key string, f func() string) string {
	if v, ok := s.derived.Load(key); ok {
		return v.(string)
	}
	v, _ := s.derived.LoadOrStore(key, f())
	return v.(string)
}

func newSecrets(d *load.Definitions) *secretStore {
	return &secretStore{d: d, cache: map[string]string{}}
}

func (s *secretStore) get(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.cache[name]; ok {
		return v, nil
	}
	ref, ok := s.d.Site.Secrets[name]
	if !ok {
		return "", fmt.Errorf("there is no secret called %q in site.yaml", name)
	}
	data, err := fs.ReadFile(s.d.SiteFS, path.Clean(ref.File.Value))
	if err != nil {
		return "", fmt.Errorf("cannot read secret %s: %v", name, err)
	}
	v := strings.TrimRight(string(data), "\r\n")
	s.cache[name] = v
	return v, nil
}

// textBuffer is the buffer template function's accumulator.
type textBuffer struct{ b strings.Builder }

// Add appends the parts and prints nothing.
func (t *textBuffer) Add(parts ...any) string {
	for _, p := range parts {
		fmt.Fprint(&t.b, p)
	}
	return ""
}

func (t *textBuffer) String() string { return t.b.String() }
