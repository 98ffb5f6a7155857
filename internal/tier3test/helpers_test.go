package tier3test

import (
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
)

// build renders the embedded example; src overrides it when given.
func build(t *testing.T) (*pipeline.Site, map[string]render.File) {
	t.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Example: "tier3"})
	if err != nil {
		t.Fatalf("the example does not resolve:\n%v", err)
	}
	files, err := s.Render()
	if err != nil {
		t.Fatalf("the example does not render:\n%v", err)
	}
	m := map[string]render.File{}
	for _, f := range files {
		m[f.Path] = f
	}
	return s, m
}

// writeOut writes the named build files into dir with their modes.
func writeOut(t *testing.T, files map[string]render.File, dir string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		f, ok := files[p]
		if !ok {
			t.Fatalf("the build has no %s", p)
		}
		dst := filepath.Join(dir, filepath.Base(p))
		if err := os.WriteFile(dst, f.Data, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
}

// secretValue reads one of the example's secrets.
func secretValue(t *testing.T, s *pipeline.Site, name string) string {
	t.Helper()
	ref, ok := s.Defs.Site.Secrets[name]
	if !ok {
		t.Fatalf("the example has no secret %s", name)
	}
	data, err := fs.ReadFile(s.Defs.SiteFS, path.Clean(ref.File.Value))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(data), "\r\n")
}

// waitPort waits until something listens on addr.
func waitPort(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %v", addr, within)
}
