package puppet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/testutil"
)

// TestManifestsValidate runs the Puppet parser over every manifest and EPP
// template of the build (the shipped modules and the generated site.pp,
// nodes.pp and modules.pp, in each classifier's form, and the Slurm
// fixture's modules), and puppet-lint with warnings as failures.
func TestManifestsValidate(t *testing.T) {
	puppet := testutil.NeedProgram(t, "puppet")
	lint := testutil.NeedProgram(t, "puppet-lint")
	var pp, epp []string
	for _, mode := range classifiers {
		_, build := buildSite(t, exampleSite(t, "classifier: "+mode))
		for _, f := range findFiles(t, filepath.Join(build, "puppet"), ".pp") {
			if mode == classifiers[0] || strings.Contains(f, "/manifests/") && !strings.Contains(f, "/modules/") {
				pp = append(pp, f)
			}
		}
		if mode == classifiers[0] {
			epp = findFiles(t, filepath.Join(build, "puppet", "modules"), ".epp")
		}
	}
	// The Slurm fixture's own modules, too.
	pp = append(pp, findFiles(t, "../pipeline/testdata/slurm/puppet", ".pp")...)
	if len(pp) < 20 || len(epp) < 10 {
		t.Fatalf("found only %d manifests and %d EPP templates in the build", len(pp), len(epp))
	}
	run(t, puppet, append([]string{"parser", "validate", "--strict=error"}, pp...)...)
	run(t, puppet, append([]string{"epp", "validate"}, epp...)...)
	run(t, lint, append([]string{"--fail-on-warnings"}, pp...)...)
}

// TestFirewallRulesets checks every node's nftables ruleset with nft -c in
// the three firewall modes (site rules in managed_plus_site), in a network
// namespace of its own (unshare makes one when the test is not root).
func TestFirewallRulesets(t *testing.T) {
	nft := testutil.NeedProgram(t, "nft")
	unshare := testutil.NeedProgram(t, "unshare")
	sites := map[string]string{
		"managed": exampleSite(t),
		"managed_plus_site": exampleSiteWith(t, "firewall",
			"mode: managed_plus_site",
			`site_rules: ["ip saddr 192.0.2.0/24 tcp dport 8443 accept", "tcp dport 9100 counter drop"]`),
		"none": exampleSiteWith(t, "firewall", "mode: none"),
	}
	modes := make([]string, 0, len(sites))
	for m := range sites {
		modes = append(modes, m)
	}
	sort.Strings(modes)
	for _, mode := range modes {
		_, build := buildSite(t, sites[mode])
		dir := filepath.Join(build, "puppet", "modules", "kiln_site", "files", "firewall")
		nfts := findFiles(t, dir, ".nft")
		if len(nfts) != 11 {
			t.Fatalf("%s: %d nftables rulesets, want one per node (11)", mode, len(nfts))
		}
		for _, f := range nfts {
			inNetns(t, unshare, nft, "-c", "-f", f)
			data, _ := os.ReadFile(f)
			text := string(data)
			switch {
			case mode == "none" && strings.Contains(text, "table inet"):
				t.Errorf("%s: mode none, but the ruleset has tables", f)
			case mode != "none" && !strings.Contains(text, "policy drop"):
				t.Errorf("%s: mode %s, but nothing is dropped", f, mode)
			case mode == "managed_plus_site" && !strings.Contains(text, "tcp dport 9100 counter drop"):
				t.Errorf("%s: the site rule is missing", f)
			}
			isGateway := strings.HasPrefix(filepath.Base(f), "head.")
			if mode != "none" && isGateway != strings.Contains(text, "masquerade") {
				t.Errorf("%s: masquerading is %v, want it on the gateway (head) only", f, !isGateway)
			}
		}
	}
}

// exampleSiteWith is the example with site-wide parameters for one module.
func exampleSiteWith(t testing.TB, module string, params ...string) string {
	t.Helper()
	dir := exampleSite(t)
	p := filepath.Join(dir, "site.yaml")
	data, err := os.ReadFile(p)
	must(t, err)
	extra := "\nparameters:\n  " + module + ":\n    " + strings.Join(params, "\n    ") + "\n"
	data = []byte(strings.Replace(string(data), "\nparameters:\n", extra, 1))
	must(t, os.WriteFile(p, data, 0o600))
	return dir
}

// inNetns runs a firewall check in a fresh network namespace (as root
// directly, else as a mapped root user), so that it touches nothing of the
// machine's own.
func inNetns(t *testing.T, unshare, prog string, args ...string) {
	t.Helper()
	flags := []string{"--net"}
	if os.Geteuid() != 0 {
		flags = append(flags, "--map-root-user")
	}
	cmd := exec.Command(unshare, append(append(flags, prog), args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, out)
	}
}

func run(t *testing.T, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("%s %s: %v\n%s", filepath.Base(prog), args[0], err, out)
	}
}

func findFiles(t testing.TB, dir, ext string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			out = append(out, p)
		}
		return err
	})
	must(t, err)
	sort.Strings(out)
	return out
}

// TestFirewallReloadKeepsOtherTables loads the head's ruleset (the gateway,
// with NAT) twice into a network namespace that already holds tables like
// libvirt's, as kiln_firewall's reload does on a VM host: kiln's tables are
// replaced, the others survive with their rules.
func TestFirewallReloadKeepsOtherTables(t *testing.T) {
	nft := testutil.NeedProgram(t, "nft")
	unshare := testutil.NeedProgram(t, "unshare")
	sh := testutil.NeedProgram(t, "sh")
	_, build := buildSite(t, exampleSite(t))
	head := findFiles(t, filepath.Join(build, "puppet", "modules", "kiln_site", "files", "firewall"), ".nft")[0]
	if !strings.HasPrefix(filepath.Base(head), "head.") {
		t.Fatalf("the first ruleset is %s, want the head's", head)
	}
	libvirt := filepath.Join(t.TempDir(), "libvirt.nft")
	must(t, os.WriteFile(libvirt, []byte(`table ip libvirt_network {
	chain guest_output {
		ip saddr 192.168.122.0/24 accept
	}
}
table inet libvirt_test {
	chain forward {
		type filter hook forward priority filter; policy accept;
		counter accept
	}
}
`), 0o600))
	script := `set -e
nft -f "$1"
nft -f "$2"
nft -f "$2"
nft list ruleset`
	flags := []string{"--net"}
	if os.Geteuid() != 0 {
		flags = append(flags, "--map-root-user")
	}
	cmd := exec.Command(unshare, append(flags, sh, "-c", script, "sh", libvirt, head)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(nft)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loading the ruleset twice beside libvirt's tables: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{"table ip libvirt_network", "ip saddr 192.168.122.0/24 accept", "table inet libvirt_test", "table inet kiln", "table ip kiln_nat", "masquerade"} {
		if !strings.Contains(got, want) {
			t.Errorf("after two loads the ruleset lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "table inet kiln {"); n != 1 {
		t.Errorf("table inet kiln appears %d times after a reload, want once:\n%s", n, got)
	}
}
