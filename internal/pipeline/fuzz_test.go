package pipeline

import (
	"errors"
	"flag"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/resolve"
	"kiln.dev/kiln/internal/validate"
)

// brokenSites seed the fuzzer with the kinds of mistakes the validator
// knows, so that mutation starts close to the interesting branches.
var brokenSites = []string{
	"",
	"cluster: x\n",
	"- a\n- b\n",
	"cluster: [a]\ndomain: {b: c}\nnetworks: 3\nnodes: []\n",
	`cluster: c
domain: example.org
networks:
  public: {cidr: 192.0.2.0/24, gateway: 192.0.2.1}
  private: {cidr: 10.0.0.0/30, gateway: head, dns: [10.0.0.1, x]}
nodes:
  head: [{name: head, ip: {public: 192.0.2.1, private: 10.0.0.1}, mac: {private: "zz"}}]
  puppet: [{name: head, ip: {private: 10.0.0.2}}]
  ldap: {count: 3, start: {private: 10.0.0.2}, macs: [a, b, c, d]}
  worker: {count: 5, start: {private: 10.0.0.0}, nodes: {wn9: {}}}
parameters:
  condor: {daemon_role: boss, uid_domain: "${worker[*].fqdn}"}
  base: {timezone: "${nfs[7].private.ip}", ntp_servers: "${self.private.mac} ${cluster}"}
secrets:
  root_password: {file: ../etc/passwd}
`,
	`cluster: c
domain: example.org
design: none
networks: {}
nodes: {}
`,
	`cluster: c
domain: example.org
design: ../elsewhere
networks: {}
nodes: {}
`,
	"a: &x [*x]\nb: *x\n",
	"cluster: &a c\ndomain: *a\nnetworks:\n  private: &n {cidr: 10.0.0.0/8}\n  public: *n\nnodes:\n  worker: &w {count: 2, start: {private: 10.0.0.5}}\n  interactive: *w\n",
	"nodes:\n  worker:\n    count: 99999999999999999999\n",
	"nodes:\n  worker:\n    count: -3\n    macs: [\"52:54:00:00:00:01\"]\n",
	"networks:\n  private:\n    cidr: fd00::/64\n    gateway: fd00::1\nnodes:\n  worker: {count: 3, start: {private: \"fd00::ffff:ffff:ffff:fffe\"}}\n",
	"networks:\n  private:\n    cidr: 255.255.255.0/24\nnodes:\n  worker: {count: 300, start: {private: 255.255.255.250}}\n",
}

// bigNumber finds counts the fuzzer may write that would make a run build
// millions of nodes: correct behaviour, but far too slow to fuzz.
var bigNumber = regexp.MustCompile(`[0-9]{5,}|0x[0-9a-fA-F]{5,}|0o?[0-7]{7,}|0b[01]{17,}|[0-9_]{7,}`)

// FuzzSite feeds arbitrary site.yaml bytes, over the embedded tier3 design
// and the example's secrets, through load, validate and resolve: whatever
// the input, nothing panics and every problem comes back as a diagnostic
// with a file.
func FuzzSite(f *testing.F) {
	ex, _ := builtin.Example("tier3")
	example, err := fs.ReadFile(ex, "site.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range brokenSites {
		f.Add([]byte(s))
	}
	// The example with each line dropped in turn: a site with one mistake.
	lines := strings.SplitAfter(string(example), "\n")
	for i := range lines {
		f.Add([]byte(strings.Join(lines[:i], "") + strings.Join(lines[i+1:], "")))
	}
	secrets, _ := fs.Glob(ex, "secrets/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		if bigNumber.Match(data) {
			t.Skip("a count this large is slow, not wrong")
		}
		fsys := fstest.MapFS{"site.yaml": {Data: data}}
		for _, s := range secrets {
			b, _ := fs.ReadFile(ex, s)
			fsys[s] = &fstest.MapFile{Data: b, Mode: 0o600}
		}
		checkSite(t, fsys)
	})
}

// checkSite runs the pipeline over fsys and checks the shape of its answer.
func checkSite(t *testing.T, fsys fs.FS) {
	t.Helper()
	// A hang is a bug too: no input may keep the check busy this long
	// (a clean site renders in well under a second).
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("the check took %v", d)
		}
	}()
	d, diags := load.FS(fsys, "site/")
	all := &diag.List{}
	all.Append(diags)
	if d != nil {
		all.Append(validate.Definitions(d))
		c, rd := resolve.Cluster(d)
		all.Append(rd)
		if all.Len() == 0 && !fuzzingShadow {
			// A site that checks clean must render, or say why.
			_, rd := render.Build(d, c)
			all.Append(rd)
		}
	}
	err := all.Err()
	if d == nil && err == nil {
		t.Fatal("no definitions and no problem reported")
	}
	if err == nil {
		return
	}
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("error is %T, not a diagnostic list: %v", err, err)
	}
	for _, dg := range de.Diagnostics {
		if dg.Pos.File == "" || dg.What == "" {
			t.Errorf("diagnostic without a file or a message: %q", dg.String())
		}
		if strings.Contains(dg.What, "%!") || strings.Contains(dg.Fix, "%!") {
			t.Errorf("badly formatted diagnostic: %q", dg.String())
		}
	}
}

// FuzzRole feeds arbitrary bytes as the site's own copy of a role file
// (roles/worker.yaml, shadowing the design's) through the whole check,
// over the example site: nothing panics, every problem has a file.
func FuzzRole(f *testing.F) {
	fuzzShadow(f, "roles/worker.yaml", "roles/*.yaml", []string{
		"interfaces: []\n",
		"kind: vm\nhost: worker\ninterfaces: [{nic: eth0, network: private}]\n",
		"count: {min: 5, max: 1}\ninterfaces: [{nic: priv0, network: private}]\nmodules: {nope: {}}\n",
		"after: [worker]\ninterfaces: [{nic: priv0, network: private, boot: true}, {nic: priv0, network: public, boot: true}]\n",
		"naming: \"{n}{n}\"\ninterfaces: [{nic: priv0, network: private}]\nmodules: {base: {ntp_servers: [[a]]}}\n",
		"<<: {kind: physical}\n---\nkind: vm\n",
		"description: \xff\n",
	})
}

// FuzzModule does the same with the site's copy of a catalog module
// (catalog/base/module.yaml).
func FuzzModule(f *testing.F) {
	fuzzShadow(f, "catalog/base/module.yaml", "catalog/*/module.yaml", []string{
		"class: kiln_base\nrequires: [firewall]\n",
		"class: Not::Valid\nparameters: {x: {type: list(list(int))}}\n",
		"class: kiln_base\nparameters: {timezone: {type: text, required: true, default: UTC}}\n",
		"class: kiln_base\nports: [{port: 70000, proto: sctp}]\nstate: [{dump: x}]\n",
		"class: kiln_base\nartifacts: [{template: ../../etc/passwd, path: /etc/shadow}]\n",
	})
}

// fuzzingShadow is set while FuzzRole or FuzzModule runs under -fuzz.
var fuzzingShadow bool

// fuzzShadow fuzzes the site's copy of file rel, seeded with every file of
// the embedded design matching pattern and the extra seeds.
func fuzzShadow(f *testing.F, rel, pattern string, extra []string) {
	ex, _ := builtin.Example("tier3")
	design, _ := builtin.Design("tier3")
	names, _ := fs.Glob(design, pattern)
	for _, n := range names {
		b, _ := fs.ReadFile(design, n)
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	site := fstest.MapFS{}
	_ = fs.WalkDir(ex, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(ex, p)
			site[p] = &fstest.MapFile{Data: b, Mode: 0o600}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if bigNumber.Match(data) {
			t.Skip("a count this large is slow, not wrong")
		}
		fsys := fstest.MapFS{}
		for k, v := range site {
			fsys[k] = v
		}
		fsys[rel] = &fstest.MapFile{Data: data, Mode: 0o600}
		// Under -fuzz most mutations of a role or module still check
		// clean, and rendering the whole site each time would hold the
		// fuzzer to a few inputs a minute: the seeds render (plain go
		// test), the fuzzer's own inputs are checked only.
		fuzzingShadow = flag.Lookup("test.fuzz").Value.String() != ""
		checkSite(t, fsys)
	})
}
