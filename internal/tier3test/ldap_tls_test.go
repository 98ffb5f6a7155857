package tier3test

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/pipeline"
	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

// emptyELConfig is the cn=config EPEL's openldap-servers starts slapd
// with: the core schema only, the config database open to root over the
// local socket, the monitor, and the data in {2}mdb under the package's
// placeholder suffix. Debian's slapd package would have cosine, nis and
// inetorgperson loaded already; this one has not, so the module must load
// them.
const emptyELConfig = `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=%[3]d+uidNumber=%[2]d,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}monitor,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {1}monitor

dn: olcDatabase={2}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {2}mdb
olcDbDirectory: %[4]s
olcSuffix: dc=my-domain,dc=com
olcRootDN: cn=Manager,dc=my-domain,dc=com
olcDbIndex: objectClass eq,pres
olcDbIndex: ou,cn,mail,surname,givenname eq,pres,sub
`

// moduleServer is an LDAP server configured as kiln_ldap::server does it.
type moduleServer struct {
	srv      *slapd
	port     int    // its ldaps port on 127.0.0.1
	caFile   string // the site CA, where the ldap node's identity script put it
	sssdConf string // kiln_ldap::client's sssd.conf, rendered by Puppet
	setup    [2]string
}

// testRoot stands for the temporary root the ldap node's identity goes to
// in the templates Puppet renders once for every test.
const testRoot = "/kiln-test-root"

var rendered struct {
	once        sync.Once
	config, sss string
	err         error
}

// renderModule renders the module's config.ldif.epp and sssd.conf.epp with
// Puppet's own epp, with the parameters the classes receive (the manager's
// hash from the ENC) and the TLS files under testRoot. Puppet takes
// seconds to start, so it runs once for the package.
func renderModule(t *testing.T, site *pipeline.Site, files map[string]render.File) (config, sssdConf string) {
	t.Helper()
	puppet := testutil.NeedProgram(t, "puppet")
	rendered.once.Do(func() {
		ldap := site.Cluster.NodesWith("ldap_server")[0]
		client := site.Cluster.NodesWith("ldap_client")[0]
		cert := ldap.Module("ldap_server").Certificate
		tmp, err := os.MkdirTemp("", "kiln-epp")
		if err != nil {
			rendered.err = err
			return
		}
		defer os.RemoveAll(tmp)
		mods := filepath.Join(tmp, "modules")
		for p, f := range files {
			if rest, ok := strings.CutPrefix(p, "puppet/modules/kiln_ldap/"); ok {
				dst := filepath.Join(mods, "kiln_ldap", rest)
				os.MkdirAll(filepath.Dir(dst), 0o755)
				if err := os.WriteFile(dst, f.Data, 0o600); err != nil {
					rendered.err = err
					return
				}
			}
		}
		var enc struct {
			Classes map[string]map[string]any `yaml:"classes"`
		}
		if err := yaml.Unmarshal(files["puppet-enc/"+ldap.FQDN+".yaml"].Data, &enc); err != nil {
			rendered.err = err
			return
		}
		hash := fmt.Sprint(enc.Classes[ldap.Module("ldap_server").Class]["root_password"])
		q := func(v any) string {
			return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(fmt.Sprint(v)) + "'"
		}
		wrapper := fmt.Sprintf(`<%%= epp('kiln_ldap/config.ldif.epp', {'base_dn' => %s, 'root_dn' => %s, 'root_password' => %s, 'tls_cert' => %s, 'tls_key' => %s, 'tls_ca' => %s}) %%>KILN-SPLIT
<%%= epp('kiln_ldap/sssd.conf.epp', {'uri' => %s, 'base_dn' => %s, 'tls_ca' => %s}) %%>`,
			q(ldap.Param("ldap_server", "base_dn")), q(ldap.Param("ldap_server", "root_dn")), q(hash),
			q(testRoot+cert.Cert), q(testRoot+cert.Key), q(testRoot+identity.SiteCAPath),
			q(client.Param("ldap_client", "uri")), q(client.Param("ldap_client", "base_dn")), q(identity.SiteCAPath))
		wf := filepath.Join(tmp, "render.epp")
		os.WriteFile(wf, []byte(wrapper), 0o600)
		cmd := exec.Command(puppet, "epp", "render", "--modulepath", mods, wf)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			rendered.err = fmt.Errorf("puppet epp render: %v\n%s", err, stderr.String())
			return
		}
		c, sc, ok := strings.Cut(string(out), "KILN-SPLIT\n")
		if !ok {
			rendered.err = fmt.Errorf("puppet epp render said:\n%s", out)
			return
		}
		rendered.config, rendered.sss = c, sc
	})
	if rendered.err != nil {
		t.Fatal(rendered.err)
	}
	return rendered.config, rendered.sss
}

// moduleSlapd starts slapd from the empty configuration EPEL's package
// installs and configures it as kiln_ldap::server does: the ldap node's
// identity script puts the certificate, key and site CA in place (in a
// temporary root), the module's kiln-slapd-setup loads the schemas and
// applies the module's config.ldif (run twice, as Puppet would after a
// failure), and slapd restarts on the listeners of the module's
// slapd.sysconfig. The directory is empty.
func moduleSlapd(t *testing.T, site *pipeline.Site, files map[string]render.File) *moduleServer {
	t.Helper()
	slapdBin := testutil.NeedProgram(t, "slapd")
	slapadd := testutil.NeedProgram(t, "slapadd")
	testutil.NeedProgram(t, "ldapadd")
	ldap := site.Cluster.NodesWith("ldap_server")[0]
	configLDIF, sssdConf := renderModule(t, site, files)

	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	writeOut(t, files, tmp, "identity/"+ldap.Name+".sh")
	runScript(t, tmp, ldap.Name+".sh", "KILN_ROOT="+root)
	configLDIF = strings.ReplaceAll(configLDIF, testRoot+"/", root+"/")

	conf, db := filepath.Join(tmp, "slapd.d"), filepath.Join(tmp, "db")
	os.Mkdir(conf, 0o700)
	os.Mkdir(db, 0o700)
	cf := filepath.Join(tmp, "empty.ldif")
	os.WriteFile(cf, []byte(fmt.Sprintf(emptyELConfig, tmp, os.Geteuid(), os.Getegid(), db)), 0o600)
	if out, err := exec.Command(slapadd, "-n0", "-F", conf, "-l", cf).CombinedOutput(); err != nil {
		t.Fatalf("slapadd of the empty config: %v\n%s", err, out)
	}
	// A short folder for the socket: a unix socket's path is at most 107 bytes.
	sockDir, err := os.MkdirTemp("", "kiln-ldapi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	ldapi := "ldapi://" + url.PathEscape(filepath.Join(sockDir, "ldapi"))
	// The package's listener, the local socket, until TLS is configured.
	srv := &slapd{uri: ldapi, listen: ldapi, conf: conf, db: db, bin: slapdBin}
	srv.start(t)

	lf := filepath.Join(tmp, "kiln-config.ldif")
	os.WriteFile(lf, []byte(configLDIF), 0o600)
	sf := filepath.Join(tmp, "kiln-slapd-setup")
	os.WriteFile(sf, files["puppet/modules/kiln_ldap/files/kiln-slapd-setup"].Data, 0o700)
	env := []string{"KILN_LDAPI_URI=" + ldapi, "KILN_SCHEMA_DIR=/etc/ldap/schema"}
	m := &moduleServer{srv: srv, caFile: filepath.Join(root, identity.SiteCAPath), sssdConf: sssdConf}
	// Without the node's certificate: a clear refusal, nothing applied.
	bad := filepath.Join(tmp, "no-cert.ldif")
	os.WriteFile(bad, []byte(strings.ReplaceAll(configLDIF, root+"/", tmp+"/nowhere/")), 0o600)
	cmd := exec.Command("sh", sf, bad)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "is missing or empty: kiln identity makes") {
		t.Errorf("kiln-slapd-setup without the TLS files: %v\n%s", err, out)
	}
	m.setup[0] = runCmd(t, env, "sh", sf, lf)
	m.setup[1] = runCmd(t, env, "sh", sf, lf)

	// Restart on the module's listeners.
	sysconfig := string(files["puppet/modules/kiln_ldap/files/slapd.sysconfig"].Data)
	urls := regexp.MustCompile(`(?m)^SLAPD_URLS="([^"]*)"$`).FindStringSubmatch(sysconfig)
	if urls == nil {
		t.Fatalf("slapd.sysconfig sets no SLAPD_URLS:\n%s", sysconfig)
	}
	m.port = testutil.FreePort(t)
	var listen []string
	for _, u := range strings.Fields(urls[1]) {
		switch u {
		case "ldapi:///":
			listen = append(listen, ldapi)
		case "ldaps:///":
			srv.addr = fmt.Sprintf("127.0.0.1:%d", m.port)
			listen = append(listen, "ldaps://"+srv.addr+"/")
		default:
			t.Errorf("slapd listens on %s: only ldaps:/// and ldapi:/// are expected", u)
		}
	}
	if srv.addr == "" {
		t.Fatalf("slapd.sysconfig has slapd listen on no ldaps:/// (%s)", urls[1])
	}
	srv.stop()
	srv.listen = strings.Join(listen, " ")
	srv.start(t)
	return m
}

// The LDAP server as kiln_ldap::server makes it, from the empty config
// EPEL's package installs (moduleSlapd): the schemas are the module's doing,
// once. The directory loads as the runbook says, over the local socket.
// Then a client does what SSSD does: ldaps to the name in the client
// module's URI, the certificate checked against the site CA (demand). With
// another CA, or to a name the certificate does not carry, the search
// fails. The client's sssd.conf passes sssctl config-check.
func TestTheModuleConfiguresAnEmptySlapdForTLSAndClientsVerifyTheSiteCA(t *testing.T) {
	sssctl := testutil.NeedProgram(t, "sssctl")
	if os.Geteuid() != 0 {
		t.Skip("the client's host name is mapped to 127.0.0.1 in a mount namespace, which needs root")
	}
	unshare := testutil.NeedProgram(t, "unshare")

	site, files := build(t)
	ldap := site.Cluster.NodesWith("ldap_server")[0]
	client := site.Cluster.NodesWith("ldap_client")[0]
	base := fmt.Sprint(ldap.Param("ldap_server", "base_dn"))
	cert := ldap.Module("ldap_server").Certificate
	if cert == nil {
		t.Fatal("the ldap_server module asks for no certificate")
	}

	// The manifests name the paths the catalog and kiln identity use.
	server := string(files["puppet/modules/kiln_ldap/manifests/server.pp"].Data)
	clientPP := string(files["puppet/modules/kiln_ldap/manifests/client.pp"].Data)
	for _, c := range []struct{ src, v, want string }{
		{server, "tls_cert", cert.Cert}, {server, "tls_key", cert.Key},
		{server, "tls_ca", identity.SiteCAPath}, {clientPP, "tls_ca", identity.SiteCAPath},
	} {
		m := regexp.MustCompile(`\$` + c.v + ` = '([^']*)'`).FindStringSubmatch(c.src)
		if m == nil || m[1] != c.want {
			t.Errorf("the manifest's $%s is %v, want %s", c.v, m, c.want)
		}
	}
	// The key goes to the LDAP node only, by its identity script and its
	// kickstart; the site CA to every node.
	for _, n := range site.Cluster.Nodes {
		for _, p := range []string{"identity/" + n.Name + ".sh", "kickstart-" + n.Name + ".cfg"} {
			f, ok := files[p]
			if !ok {
				t.Fatalf("the build has no %s", p)
			}
			if has := bytes.Contains(f.Data, []byte("BEGIN PRIVATE KEY")); has != (n == ldap) || !bytes.Contains(f.Data, []byte(identity.SiteCAPath)) {
				t.Errorf("%s: TLS private key %v, want %v; site CA present: %v", p, has, n == ldap, bytes.Contains(f.Data, []byte(identity.SiteCAPath)))
			}
			if has := bytes.Contains(f.Data, []byte("BEGIN PRIVATE KEY")); has && (!f.Secret || f.Mode.Perm() != 0o600) {
				t.Errorf("%s carries a private key but is not a 0600 secret (mode %04o)", p, f.Mode.Perm())
			}
		}
	}

	m := moduleSlapd(t, site, files)
	for _, s := range []string{"cosine", "nis", "inetorgperson"} {
		if !strings.Contains(m.setup[0], "loading the "+s+" schema") {
			t.Errorf("kiln-slapd-setup did not load %s:\n%s", s, m.setup[0])
		}
	}
	if strings.Contains(m.setup[1], "loading") {
		t.Errorf("a second kiln-slapd-setup loaded a schema again:\n%s", m.setup[1])
	}

	// SSSD's own checker takes the client's sssd.conf; it demands TLS.
	uri := fmt.Sprint(client.Param("ldap_client", "uri"))
	sdir := t.TempDir()
	os.MkdirAll(filepath.Join(sdir, "conf.d"), 0o700)
	sf := filepath.Join(sdir, "sssd.conf")
	os.WriteFile(sf, []byte(m.sssdConf), 0o600)
	if out, err := exec.Command(sssctl, "config-check", "-c", sf, "-s", filepath.Join(sdir, "conf.d")).CombinedOutput(); err != nil || !strings.Contains(string(out), "Issues identified by validators: 0") {
		t.Errorf("sssctl config-check: %v\n%s\n%s", err, out, m.sssdConf)
	}
	for _, want := range []string{"ldap_uri = " + uri + "\n", "ldap_tls_reqcert = demand\n", "ldap_tls_cacert = " + identity.SiteCAPath + "\n"} {
		if !strings.Contains(m.sssdConf, want) {
			t.Errorf("sssd.conf lacks %q:\n%s", want, m.sssdConf)
		}
	}
	if strings.Contains(m.sssdConf, "never_use_in_production") {
		t.Errorf("sssd.conf lets authentication go without TLS:\n%s", m.sssdConf)
	}

	// The directory, loaded as the runbook says (on the server, its socket).
	dir := t.TempDir()
	writeOut(t, files, dir, "ldap/bootstrap.ldif", "ldap/users.ldif", "ldap/load-ldap.sh")
	if out := runScript(t, dir, "load-ldap.sh", "LDAP_URI="+m.srv.uri); !strings.Contains(out, "1 user(s) added") {
		t.Errorf("load-ldap.sh said:\n%s", out)
	}

	// A client, with the server's name from the client module's URI
	// mapped to this machine, searches as SSSD does.
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "ldaps" {
		t.Fatalf("the client's URI %q is not ldaps://", uri)
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost "+u.Hostname()+"\n"), 0o644)
	search := func(host, ca string) (string, error) {
		script := fmt.Sprintf(`mount --bind %s /etc/hosts && exec ldapsearch -x -LLL -o nettimeout=5 -H ldaps://%s:%d/ -b %s '(uid=alice)' uidNumber`,
			q(hosts), host, m.port, q(base))
		cmd := exec.Command(unshare, "-m", "sh", "-c", script)
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+ca, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	found, err := search(u.Hostname(), m.caFile)
	if err != nil || !strings.Contains(found, "uidNumber: 5101") {
		t.Fatalf("ldaps to %s, verified against the site CA: %v\n%s", u.Hostname(), err, found)
	}
	// Another CA: the handshake fails (libldap says only that it cannot
	// contact the server; the same server answers the right CA below).
	other := t.TempDir()
	okey, _, err := identity.EnsureKey(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := identity.EnsureCA(other, okey, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if out, err := search(u.Hostname(), filepath.Join(other, identity.CACertFile)); err == nil || !strings.Contains(out, "Can't contact LDAP server") {
		t.Errorf("a client trusting another CA: %v\n%s", err, out)
	}
	// A name the certificate does not carry: refused too.
	if out, err := search("localhost", m.caFile); err == nil || !strings.Contains(out, "Can't contact LDAP server") {
		t.Errorf("a client that asked for localhost, which the LDAP server's certificate does not name: %v\n%s", err, out)
	}
	if found, err := search(u.Hostname(), m.caFile); err != nil || !strings.Contains(found, "uidNumber: 5101") {
		t.Fatalf("the server no longer answers the site CA's clients: %v\n%s", err, found)
	}
}

// runCmd runs a command with extra environment and returns its output.
func runCmd(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
