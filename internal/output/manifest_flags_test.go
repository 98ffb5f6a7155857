package output

import (
	"bytes"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/render"
)

// A file's node and secrecy survive the manifest's round trip (kiln serve
// reads them), and a manifest written before they were recorded still
// reads.
func TestManifestNodeAndSecret(t *testing.T) {
	files := []render.File{
		{Path: "kickstart-wn1.cfg", Data: []byte("ks"), Mode: 0o600, Secret: true, Node: "wn1", Origin: "kickstart.tmpl@wn1"},
		{Path: "ipxe/wn1.ipxe", Data: []byte("#!ipxe"), Mode: 0o644, Node: "wn1", Origin: "ipxe.tmpl@wn1"},
		{Path: "hosts", Data: []byte("h"), Mode: 0o644, Origin: "hosts.tmpl"},
		{Path: "load.sh", Data: []byte("pw"), Mode: 0o700, Secret: true, Origin: "load.tmpl"},
	}
	text := Entries(files).Bytes()
	if !strings.Contains(string(text), "  2  0600  kickstart-wn1.cfg  kickstart.tmpl@wn1  node=wn1 secret\n") || !strings.Contains(string(text), "  1  0644  hosts  hosts.tmpl\n") ||
		!strings.Contains(string(text), "  2  0700  load.sh  load.tmpl  secret\n") {
		t.Fatalf("manifest:\n%s", text)
	}
	m, err := ParseManifest(bytes.NewReader(text), "MANIFEST")
	if err != nil {
		t.Fatal(err)
	}
	by := m.ByPath()
	if e := by["kickstart-wn1.cfg"]; e.Node != "wn1" || !e.Secret {
		t.Fatalf("kickstart: %+v", e)
	}
	if e := by["ipxe/wn1.ipxe"]; e.Node != "wn1" || e.Secret {
		t.Fatalf("ipxe: %+v", e)
	}
	old := "# kiln build manifest: sha256 size mode path origin\n" + strings.Repeat("a", 64) + "  1  0644  hosts  hosts.tmpl\n"
	if m, err := ParseManifest(strings.NewReader(old), "MANIFEST"); err != nil || len(m) != 1 || m[0].Origin != "hosts.tmpl" {
		t.Fatalf("an older manifest: %+v %v", m, err)
	}
	bad := strings.Repeat("a", 64) + "  1  0644  hosts  hosts.tmpl  owner=x\n"
	if _, err := ParseManifest(strings.NewReader(bad), "MANIFEST"); err == nil || !strings.Contains(err.Error(), "MANIFEST:1") {
		t.Fatalf("an unknown flag: %v", err)
	}
}
