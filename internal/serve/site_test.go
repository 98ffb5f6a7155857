package serve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
)

// The test site has its own small design (design: none), so these tests
// do not depend on the embedded tier3 design's install chain: a head, and
// workers on a network inside 127.0.0.0/8 so that each simulated node can
// send from its own address. Its kickstart's %post reads its install token
// from the kernel command line, as the tier3 one does.
var siteFiles = map[string]string{
	"design.yaml": `name: servetest
description: A small design for kiln serve's tests.
networks:
  - name: prov
    provisioning: true
    doc: The provisioning network.
artifacts:
  - template: hosts.tmpl
    path: hosts
    doc: Every node's address.
  - template: kickstart.tmpl
    path: kickstart-{{ .Node.Name }}.cfg
    scope: node
    doc: The node's kickstart; it carries its token.
  - template: node-info.tmpl
    path: nodes/{{ .Node.Name }}.txt
    scope: node
    doc: A public file of each node.
  - template: cluster-secret.tmpl
    path: cluster-secret.txt
    doc: A file with a secret of no single node.
  - template: dnsmasq.conf.tmpl
    path: dhcp/dnsmasq.conf
    doc: dnsmasq's config.
  - template: ipxe-node.tmpl
    path: ipxe/{{ .Node.Name }}.ipxe
    scope: node
    filter: {roles: [head]}
    doc: The head's iPXE install script, as an install chain writes one.
  - template: ipxe-local.tmpl
    path: ipxe/localboot.ipxe
    doc: The local-boot script.
  - template: grub-node.tmpl
    path: grub/{{ .Node.Name }}.cfg
    scope: node
    doc: The node's GRUB install file, as an install chain writes one.
  - template: grub-local.tmpl
    path: grub/localboot.cfg
    doc: The GRUB local-boot form.
secrets:
  - name: root_password
    doc: root's password.
`,
	"roles/head.yaml": `description: The head node.
kind: physical
naming: head
count: {min: 1, max: 1}
interfaces:
  - {nic: prov0, network: prov, boot: true}
modules:
  base: {}
`,
	"roles/worker.yaml": `description: Workers.
kind: physical
naming: wn{n}
count: {min: 1}
after: [head]
interfaces:
  - {nic: prov0, network: prov, boot: true}
modules:
  base: {}
`,
	"catalog/base/module.yaml": `class: servetest::base
description: Nothing much.
parameters:
  motd:
    type: string
    default: hello
    doc: A message.
`,
	"templates/hosts.tmpl": `{{- range .Cluster.Nodes }}
{{ .IP "prov" }}	{{ .Name }}
{{- end }}
`,
	"templates/kickstart.tmpl": `# kickstart of {{ .Node.Name }} ({{ .Node.Param "base" "motd" }})
rootpw --iscrypted {{ hmac "root_password" .Node.Name }}
%post
kiln_token=$(sed -n 's/.*[?&]token=\([0-9a-f]\{64\}\).*/\1/p' /proc/cmdline)
curl -fsS --data status=installed "http://head:8080/kiln/installed/{{ .Node.Name }}?token=${kiln_token}"
%end
`,
	"templates/node-info.tmpl": "{{ .Node.Name }} is a {{ .Node.Role }}\n",
	"templates/ipxe-node.tmpl": `#!ipxe
kernel http://head:8080/os/el9/images/pxeboot/vmlinuz initrd=initrd.img inst.ks=http://head:8080/kiln/kickstart-{{ .Node.Name }}.cfg inst.repo=http://head:8080/os/el9/ BOOTIF=01-${net0/mac:hexhyp}
initrd http://head:8080/os/el9/images/pxeboot/initrd.img
boot
`,
	"templates/ipxe-local.tmpl": "#!ipxe\nexit\n",
	"templates/grub-node.tmpl": `set default=install
menuentry 'Install {{ .Node.Name }}' --id install {
	linux (http,head:8080)/os/el9/images/pxeboot/vmlinuz 'inst.ks=http://head:8080/kiln/kickstart-{{ .Node.Name }}.cfg' ip=dhcp
	initrd (http,head:8080)/os/el9/images/pxeboot/initrd.img
}
`,
	"templates/grub-local.tmpl": "set default=local\nmenuentry 'Local disk' --id local {\n\texit\n}\n",
	"templates/cluster-secret.tmpl": `{{ secret "root_password" }}
`,
	"templates/dnsmasq.conf.tmpl": `# dnsmasq for {{ .Cluster.Name }} (tests: TFTP on loopback only)
port=0
bind-interfaces
listen-address=127.0.0.1
interface=lo
enable-tftp
tftp-root=TFTPROOT
`,
	"secrets/root_password":          "hunter2hunter2\n",
	"install/images/pxeboot/vmlinuz": "not a kernel\n",
}

// workerIP is the address of worker i (1-based).
func workerIP(i int) string { return fmt.Sprintf("127.20.%d.%d", (i+10)/250, (i+10)%250+1) }

// workerMAC is the MAC of worker i.
func workerMAC(i int) string { return fmt.Sprintf("52:54:00:10:%02x:%02x", i/256, i%256) }

// makeSite writes the test site with n workers, the first withMACs of
// them with MACs, and returns its folder.
func makeSite(t testing.TB, n, withMACs int) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range siteFiles {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "secrets/") {
			mode = 0o600
		}
		if p == "templates/dnsmasq.conf.tmpl" {
			os.MkdirAll(filepath.Join(dir, "tftp"), 0o755)
			data = strings.ReplaceAll(data, "TFTPROOT", filepath.Join(dir, "tftp"))
		}
		if err := os.WriteFile(full, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	var macs []string
	for i := 1; i <= withMACs; i++ {
		macs = append(macs, `"`+workerMAC(i)+`"`)
	}
	macLine := "    # macs: [] # none yet\n"
	if len(macs) > 0 {
		macLine = "    macs: [" + strings.Join(macs, ", ") + "]   # in node order\n"
	}
	site := `# The test site: keep this comment.
cluster: servetest
domain: example.org
os: el9
design: none

networks:
  prov:
    cidr: 127.20.0.0/16

nodes:
  head:
    - name: head
      ip: {prov: 127.20.0.1}
      mac: {prov: "52:54:00:00:00:01"}
  worker:
    count: ` + fmt.Sprint(n) + `
    start: {prov: ` + workerIP(1) + `}
` + macLine + `
secrets:
  root_password: {file: secrets/root_password}
`
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	buildSite(t, dir)
	return dir
}

// buildSite is kiln build -C dir.
func buildSite(t testing.TB, dir string) {
	t.Helper()
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		t.Fatalf("test site: %v", describe(err))
	}
	files, err := s.Render()
	if err != nil {
		t.Fatalf("test site: %v", describe(err))
	}
	if _, err := output.Write(filepath.Join(dir, "build"), files); err != nil {
		t.Fatal(err)
	}
}

// testConfig is the config the tests start from.
func testConfig(dir string) Config {
	return Config{
		Source:       pipeline.Source{Dir: dir},
		BuildDir:     filepath.Join(dir, "build"),
		StatePath:    filepath.Join(dir, "kiln.db"),
		Mirror:       filepath.Join(dir, "install"),
		PollInterval: 50 * time.Millisecond,
	}
}

// running is a server on a real loopback listener.
type running struct {
	*Server
	URL  string
	stop func()
}

// start runs a server for the test; it stops (SIGTERM's path) at cleanup.
func start(t testing.TB, cfg Config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, nil) }()
	r := &running{Server: s, URL: "http://" + ln.Addr().String()}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		s.Close()
	}
	t.Cleanup(r.stop)
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// get fetches a URL from the given source address ("" for any).
func get(t testing.TB, from, method, url string) (int, string, http.Header) {
	t.Helper()
	c := clientFrom(from)
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// post sends a form from the given source address.
func post(t testing.TB, from, url, form string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := clientFrom(from).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func clientFrom(from string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
