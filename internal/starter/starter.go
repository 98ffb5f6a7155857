// Package starter writes a new site folder: a commented site.yaml for an
// embedded design, generated secrets, and the JSON Schemas the first line of
// site.yaml points editors at. It is what kiln init does.
package starter

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing/fstest"
	"text/template"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/schema"
)

// Options say what kind of site to write.
type Options struct {
	Design string // embedded design; default load.DefaultDesign
	// DesignDir is a design folder (kiln init --design PATH) instead of
	// an embedded design: its starter/site.yaml.tmpl when it has one, or
	// else a site.yaml generated from its roles.
	DesignDir   string
	Cluster     string // the cluster's name; default the folder's base name
	Workers     int    // how many workers
	ExampleMACs bool   // invent MACs for the workers (tests and benchmarks)
	Force       bool   // write into a folder that already has a site.yaml
}

// Result lists what Write did.
type Result struct {
	Written []string // paths relative to the folder
	Kept    []string // existing secrets left alone
}

// MaxWorkers bounds --workers as resolve.MaxCount bounds a role's count.
const MaxWorkers = 100_000

// Write creates the site folder dir. It refuses a folder that already holds
// a site.yaml unless Force is set, and never overwrites an existing secret.
func Write(dir string, o Options) (*Result, error) {
	if o.Design == "" {
		o.Design = load.DefaultDesign
	}
	if o.Workers < 0 || o.Workers > MaxWorkers {
		return nil, fmt.Errorf("--workers must be between 0 and %d, not %d", MaxWorkers, o.Workers)
	}
	if o.Cluster == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		o.Cluster = clusterName(filepath.Base(abs))
	}
	if _, err := os.Stat(filepath.Join(dir, load.SiteFile)); err == nil && !o.Force {
		return nil, fmt.Errorf("%s already holds a site.yaml; kiln init will not overwrite it (use --force to replace it; secrets are kept)", dir)
	}
	var text []byte
	var secrets []string
	var generated []byte
	designRef := o.Design
	if o.DesignDir != "" {
		abs, err := filepath.Abs(o.DesignDir)
		if err != nil {
			return nil, err
		}
		d, err := loadDesignDir(abs)
		if err != nil {
			return nil, err
		}
		designRef, secrets = abs, designSecrets(d)
		text, err = os.ReadFile(filepath.Join(abs, "starter", "site.yaml.tmpl"))
		if errors.Is(err, fs.ErrNotExist) {
			generated = generatedSite(d, abs, o.Cluster)
		} else if err != nil {
			return nil, err
		}
	} else {
		design, ok := builtin.Design(o.Design)
		if !ok {
			return nil, fmt.Errorf("there is no embedded design called %q", o.Design)
		}
		var err error
		text, err = fs.ReadFile(design, "starter/site.yaml.tmpl")
		if err != nil {
			return nil, fmt.Errorf("the design %s has no starter site (starter/site.yaml.tmpl)", o.Design)
		}
		if secrets, err = secretNames(o.Design); err != nil {
			return nil, err
		}
	}

	data := siteData{Cluster: o.Cluster, Dir: filepath.ToSlash(dir), Workers: o.Workers, Secrets: secrets, Design: designRef}
	data.Private, data.WorkerStart = privateNetwork(o.Workers)
	if o.ExampleMACs {
		for i := 1; i <= o.Workers; i++ {
			data.MACs = append(data.MACs, nodeMAC{Index: i, MAC: exampleMAC(i)})
		}
	}
	var site bytes.Buffer
	if generated != nil {
		site.Write(generated)
	} else {
		t, err := template.New("site.yaml").Option("missingkey=error").Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("the starter site of design %s: %v", designRef, err)
		}
		if err := t.Execute(&site, data); err != nil {
			return nil, fmt.Errorf("the starter site of design %s: %v", designRef, err)
		}
	}

	// Everything is prepared; now write. Secrets and schemas first, so that
	// a site.yaml on disk always has what it refers to.
	res := &Result{}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		return nil, err
	}
	for _, name := range secrets {
		rel := filepath.Join("secrets", name)
		ok, err := writeSecret(filepath.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		if ok {
			res.Written = append(res.Written, rel)
		} else {
			res.Kept = append(res.Kept, rel)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".schema"), 0o755); err != nil {
		return nil, err
	}
	for _, k := range schema.Names() {
		b, _ := schema.For(k)
		rel := filepath.Join(".schema", schema.Kinds[k].File)
		if err := WriteFileAtomic(filepath.Join(dir, rel), b, 0o644); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, rel)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, fs.ErrNotExist) {
		// Secrets stay out of version control in plain text; the build
		// folder is regenerated; kiln serve's state file (and its -wal,
		// -shm, dnsmasq config and leases) holds token hashes and the
		// event log.
		if err := WriteFileAtomic(ignore, []byte("/build/\n/.build.kiln-*\n/secrets/\n/backups/\n/kiln.db*\n"), 0o644); err != nil {
			return nil, err
		}
		res.Written = append(res.Written, ".gitignore")
	}
	if err := WriteFileAtomic(filepath.Join(dir, load.SiteFile), site.Bytes(), 0o644); err != nil {
		return nil, err
	}
	res.Written = append(res.Written, load.SiteFile)
	return res, nil
}

type siteData struct {
	Cluster     string
	Dir         string
	Workers     int
	WorkerStart int
	Private     network
	MACs        []nodeMAC
	Secrets     []string
	// Design is what site.yaml's design: key says: an embedded design's
	// name, or a design folder's absolute path (kiln init --design).
	Design string
}

// nodeMAC is the MAC of the worker with this index (the template names it).
type nodeMAC struct {
	Index int
	MAC   string
}

type network struct {
	CIDR string
	base netip.Addr
}

// Addr is the n-th address of the network.
func (n network) Addr(i int) string {
	b := n.base.As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(i)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b).String()
}

// privateNetwork sizes the private network for the workers: the seed's /24
// when they fit after the service addresses, else the smallest larger one
// under 10.128.0.0/9 with the workers from the second /24 on.
func privateNetwork(workers int) (network, int) {
	if workers <= 150 {
		return network{CIDR: "10.10.0.0/24", base: netip.MustParseAddr("10.10.0.0")}, 101
	}
	need := 257 + workers + 1 // service addresses, workers, broadcast
	bits := 9
	for b := 23; b >= 9; b-- {
		if 1<<(32-b) >= need {
			bits = b
			break
		}
	}
	return network{CIDR: fmt.Sprintf("10.128.0.0/%d", bits), base: netip.MustParseAddr("10.128.0.0")}, 257
}

// exampleMAC invents the i-th worker's MAC in the locally administered range
// (02:…), so it never matches a real vendor's NIC.
func exampleMAC(i int) string {
	return fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
}

// secretNames lists the secrets the design's modules refer to by default.
func secretNames(design string) ([]string, error) {
	site := fstest.MapFS{load.SiteFile: {Data: []byte("design: " + design + "\n")}}
	d, _ := load.FS(site, "")
	if d == nil {
		return nil, fmt.Errorf("cannot load the design %s", design)
	}
	seen := map[string]bool{}
	for _, u := range d.Design.Secrets {
		seen[u.Name.Value] = true
	}
	for _, m := range d.Modules {
		for _, p := range m.Parameters {
			if p.Type.Value == "secret" && p.Default != nil && p.Default.Value != "" {
				seen[p.Default.Value] = true
			}
		}
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// writeSecret writes a new random secret unless the file already exists.
func writeSecret(path string) (bool, error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(base64.RawURLEncoding.EncodeToString(buf) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err == nil, err
}

// clusterName makes a folder name into a valid cluster name.
func clusterName(base string) string {
	var b []byte
	for _, r := range []byte(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, r)
		case r >= 'A' && r <= 'Z':
			b = append(b, r+'a'-'A')
		case r == '-' || r == '_' || r == '.':
			if len(b) > 0 && b[len(b)-1] != '-' {
				b = append(b, '-')
			}
		}
	}
	for len(b) > 0 && b[len(b)-1] == '-' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		b = append([]byte("c"), b...)
	}
	if len(b) > 32 {
		b = b[:32]
	}
	return string(b)
}

// WriteFileAtomic writes data to a temporary file beside path and renames
// it into place, so a reader never sees half a file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}
