package render

import (
	"strings"
	"testing"
	"testing/fstest"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/secretfmt"
	"kiln.dev/kiln/internal/validate"
)

// formatSite is a design-none site of two nodes running one module whose
// secret parameters declare their formats.
func formatSite(t *testing.T, artifacts string) fstest.MapFS {
	t.Helper()
	return fstest.MapFS{
		"site.yaml": {Data: []byte(`cluster: c1
domain: example.org
design: none
networks:
  lan: {cidr: 10.0.0.0/24}
nodes:
  box:
    count: 2
    start: {lan: 10.0.0.10}
secrets:
  token: {file: secrets/token}
`)},
		"secrets/token":  {Data: []byte("hunter2\n")},
		"design.yaml":    {Data: []byte("name: t\nnetworks:\n  - name: lan\n    provisioning: true\nsecrets:\n  - name: token\nartifacts:\n" + artifacts)},
		"roles/box.yaml": {Data: []byte("kind: physical\nnaming: box{n}\ninterfaces:\n  - {nic: lan0, network: lan}\nmodules:\n  svc: {}\n")},
		"catalog/svc/module.yaml": {Data: []byte(`class: kiln_svc
parameters:
  db_password: {type: secret, format: scram-sha-256, default: token}
  api_key: {type: secret, format: raw, default: token}
  ldap_pw: {type: secret, default: token}
  cookie: {type: secret, format: "hmac:cookie", default: token}
`)},
		"templates/classes.tmpl": {Data: []byte(`{{ range puppetClasses .Node }}{{ range .Params }}{{ .Name }}={{ .Value }}
{{ end }}{{ end }}`)},
		"templates/all.tmpl": {Data: []byte(`{{ range .Cluster.Nodes }}{{ range puppetClasses . }}{{ .Class }}{{ end }}{{ end }}`)},
	}
}

func buildFormats(t *testing.T, fsys fstest.MapFS) ([]File, error) {
	t.Helper()
	d, diags := load.FS(fsys, "site/")
	diags.Append(validate.Definitions(d))
	c, rd := resolve.Cluster(d)
	diags.Append(rd)
	if err := diags.Err(); err != nil {
		t.Fatalf("the test site has problems:\n%v", err)
	}
	files, bd := Build(d, c)
	return files, bd.Err()
}

// TestSecretParametersReachTheClassInTheirFormat: each secret parameter
// is written as its format says, in a 0600 file of the node.
func TestSecretParametersReachTheClassInTheirFormat(t *testing.T) {
	files, err := buildFormats(t, formatSite(t, "  - {template: classes.tmpl, path: 'c/{{.Node.Name}}', scope: node}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"db_password": secretfmt.ScramSHA256("hunter2", "token"),
		"api_key":     "hunter2",
		"ldap_pw":     secretfmt.SSHA("hunter2", "token"),
		"cookie":      secretfmt.HMAC("hunter2", "cookie"),
	}
	for _, f := range files {
		if f.Mode != 0o600 || !f.Secret {
			t.Errorf("%s: mode %o, secret %v; want 0600, secret", f.Path, f.Mode, f.Secret)
		}
		for name, v := range want {
			if !strings.Contains(string(f.Data), name+"="+v+"\n") {
				t.Errorf("%s lacks %s=%s:\n%s", f.Path, name, v, f.Data)
			}
		}
	}
}

// TestARawSecretNeverGoesIntoAFileOfSeveralNodes: a cluster-wide file
// listing every node's classes is refused when a class takes a secret raw.
func TestARawSecretNeverGoesIntoAFileOfSeveralNodes(t *testing.T) {
	_, err := buildFormats(t, formatSite(t, "  - {template: all.tmpl, path: all}\n"))
	if err == nil || !strings.Contains(err.Error(), "svc.api_key is a secret in format raw") {
		t.Fatalf("a shared file with a raw secret: %v, want it refused naming svc.api_key", err)
	}
}

// TestAnUnknownSecretFormatIsRefusedAtItsLine is kiln check's word on a
// format that is not one, or on a format for a parameter not secret.
func TestAnUnknownSecretFormatIsRefusedAtItsLine(t *testing.T) {
	fsys := formatSite(t, "")
	fsys["catalog/svc/module.yaml"] = &fstest.MapFile{Data: []byte(`class: kiln_svc
parameters:
  a: {type: secret, format: scram, default: token}
  b: {type: string, format: raw, default: x}
`)}
	d, diags := load.FS(fsys, "site/")
	diags.Append(validate.Definitions(d))
	msg := diags.Err().Error()
	for _, w := range []string{`site/catalog/svc/module.yaml:3:29: module svc parameter a: "scram" is not a secret format`, `site/catalog/svc/module.yaml:4:29: module svc parameter b: format "raw" is for secret parameters`} {
		if !strings.Contains(msg, w) {
			t.Errorf("kiln check does not say %q:\n%s", w, msg)
		}
	}
}

// TestNetworkScopeMakesOneFilePerNetworkAndLibDefinesAreShared: an
// artifact of scope network is rendered for each network (.Network), and
// a define under templates/_lib/ is seen by every template.
func TestNetworkScopeMakesOneFilePerNetworkAndLibDefinesAreShared(t *testing.T) {
	fsys := formatSite(t, "  - {template: zone.tmpl, path: 'zones/{{.Network.Name}}', scope: network}\n")
	fsys["site.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(fsys["site.yaml"].Data), "  lan: {cidr: 10.0.0.0/24}\n", "  lan: {cidr: 10.0.0.0/24}\n  san: {cidr: 10.9.0.0/24}\n", 1))}
	fsys["design.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(fsys["design.yaml"].Data), "    provisioning: true\n", "    provisioning: true\n  - name: san\n", 1))}
	fsys["templates/_lib/header.tmpl"] = &fstest.MapFile{Data: []byte(`{{ define "header" }}# {{ .Cluster.Name }}: written by kiln{{ end }}`)}
	fsys["templates/zone.tmpl"] = &fstest.MapFile{Data: []byte("{{ template \"header\" . }}\n{{ .Network.Name }} {{ .Network.CIDR }}\n")}
	files, err := buildFormats(t, fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path+": "+strings.ReplaceAll(string(f.Data), "\n", " | "))
	}
	want := "zones/lan: # c1: written by kiln | lan 10.0.0.0/24 |  ;; zones/san: # c1: written by kiln | san 10.9.0.0/24 | "
	if strings.Join(got, " ;; ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " ;; "), want)
	}
}
