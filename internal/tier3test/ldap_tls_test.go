package tier3test

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"kiln.dev/kiln/internal/identity"
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
`

// The LDAP server as kiln_ldap::server makes it, from the empty config
// EPEL's package installs: its identity script puts the certificate, key
// and site CA in place, kiln-slapd-setup loads the schemas and applies the
// module's config.ldif (rendered by Puppet's own epp), slapd restarts on
// the module's listeners, load-ldap.sh loads the directory over the local
// socket. Then a client does what SSSD does: ldaps to the name in the
// client module's URI, the certificate checked against the site CA
// (demand). With another CA, or to a name the certificate does not carry,
// the search fails. The client's sssd.conf passes sssctl config-check.
func TestTheModuleConfiguresAnEmptySlapdForTLSAndClientsVerifyTheSiteCA(t *testing.T) {
	slapdBin := testutil.NeedProgram(t, "slapd")
	slapadd := testutil.NeedProgram(t, "slapadd")
	puppet := testutil.NeedProgram(t, "puppet")
	sssctl := testutil.NeedProgram(t, "sssctl")
	testutil.NeedProgram(t, "ldapadd")
	if os.Geteuid() != 0 {
		t.Skip("the client's host name is mapped to 127.0.0.1 in a mount namespace, which needs root")
	}
	unshare := testutil.NeedProgram(t, "unshare")

	site, files := build(t)
	ldap := site.Cluster.NodesWith("ldap_server")[0]
	client := site.Cluster.NodesWith("ldap_client")[0]
	base := fmt.Sprint(ldap.Param("ldap_server", "base_dn"))
	rootDN := fmt.Sprint(ldap.Param("ldap_server", "root_dn"))
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

	// The ldap node's identity, as its kickstart puts it in place.
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	writeOut(t, files, tmp, "identity/"+ldap.Name+".sh")
	runScript(t, tmp, ldap.Name+".sh", "KILN_ROOT="+root)
	if st, err := os.Stat(filepath.Join(root, cert.Key)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the server key: %v %v, want 0600", err, st)
	}
	if f := files["identity/"+client.Name+".sh"]; bytes.Contains(f.Data, []byte("PRIVATE KEY")) {
		t.Errorf("%s's identity script carries a private key; only the LDAP node gets one", client.Name)
	}
	caFile := filepath.Join(root, identity.SiteCAPath)

	// The module's files, and its templates rendered by Puppet with the
	// parameters the classes receive (the manager's hash from the ENC).
	mods := filepath.Join(tmp, "modules")
	for p, f := range files {
		if rest, ok := strings.CutPrefix(p, "puppet/modules/kiln_ldap/"); ok {
			dst := filepath.Join(mods, "kiln_ldap", rest)
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.WriteFile(dst, f.Data, 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	var enc struct {
		Classes map[string]map[string]any `yaml:"classes"`
	}
	if err := yaml.Unmarshal(files["puppet-enc/"+ldap.FQDN+".yaml"].Data, &enc); err != nil {
		t.Fatal(err)
	}
	hash := fmt.Sprint(enc.Classes[ldap.Module("ldap_server").Class]["root_password"])
	uri := fmt.Sprint(client.Param("ldap_client", "uri"))
	q := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	wrapper := fmt.Sprintf(`<%%= epp('kiln_ldap/config.ldif.epp', {'base_dn' => %s, 'root_dn' => %s, 'root_password' => %s, 'tls_cert' => %s, 'tls_key' => %s, 'tls_ca' => %s}) %%>KILN-SPLIT
<%%= epp('kiln_ldap/sssd.conf.epp', {'uri' => %s, 'base_dn' => %s, 'tls_ca' => %s}) %%>`,
		q(base), q(rootDN), q(hash), q(filepath.Join(root, cert.Cert)), q(filepath.Join(root, cert.Key)), q(caFile),
		q(uri), q(base), q(identity.SiteCAPath))
	wf := filepath.Join(tmp, "render.epp")
	os.WriteFile(wf, []byte(wrapper), 0o600)
	cmd := exec.Command(puppet, "epp", "render", "--modulepath", mods, wf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("puppet epp render: %v\n%s", err, stderr.String())
	}
	configLDIF, sssdConf, ok := strings.Cut(string(out), "KILN-SPLIT\n")
	if !ok {
		t.Fatalf("puppet epp render said:\n%s", out)
	}

	// SSSD's own checker takes the client's sssd.conf; it demands TLS.
	sdir := filepath.Join(tmp, "sssd")
	os.MkdirAll(filepath.Join(sdir, "conf.d"), 0o700)
	sf := filepath.Join(sdir, "sssd.conf")
	os.WriteFile(sf, []byte(sssdConf), 0o600)
	if out, err := exec.Command(sssctl, "config-check", "-c", sf, "-s", filepath.Join(sdir, "conf.d")).CombinedOutput(); err != nil || !strings.Contains(string(out), "Issues identified by validators: 0") {
		t.Errorf("sssctl config-check: %v\n%s\n%s", err, out, sssdConf)
	}
	for _, want := range []string{"ldap_uri = " + uri + "\n", "ldap_tls_reqcert = demand\n", "ldap_tls_cacert = " + identity.SiteCAPath + "\n"} {
		if !strings.Contains(sssdConf, want) {
			t.Errorf("sssd.conf lacks %q:\n%s", want, sssdConf)
		}
	}
	if strings.Contains(sssdConf, "never_use_in_production") {
		t.Errorf("sssd.conf lets authentication go without TLS:\n%s", sssdConf)
	}

	// slapd from EPEL's empty config, on the package's listener (the
	// local socket) until the module has configured TLS.
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
	srv := startSlapdOn(t, slapdBin, conf, ldapi, "")

	lf := filepath.Join(tmp, "kiln-config.ldif")
	os.WriteFile(lf, []byte(configLDIF), 0o600)
	setup := filepath.Join(mods, "kiln_ldap/files/kiln-slapd-setup")
	env := []string{"KILN_LDAPI_URI=" + ldapi, "KILN_SCHEMA_DIR=/etc/ldap/schema"}
	first := runCmd(t, env, "sh", setup, lf)
	for _, s := range []string{"cosine", "nis", "inetorgperson"} {
		if !strings.Contains(first, "loading the "+s+" schema") {
			t.Errorf("kiln-slapd-setup did not load %s:\n%s", s, first)
		}
	}
	if again := runCmd(t, env, "sh", setup, lf); strings.Contains(again, "loading") {
		t.Errorf("a second kiln-slapd-setup loaded a schema again:\n%s", again)
	}

	// Restart on the module's listeners: ldaps and the socket, no ldap://.
	sysconfig := string(files["puppet/modules/kiln_ldap/files/slapd.sysconfig"].Data)
	m := regexp.MustCompile(`(?m)^SLAPD_URLS="([^"]*)"$`).FindStringSubmatch(sysconfig)
	if m == nil {
		t.Fatalf("slapd.sysconfig sets no SLAPD_URLS:\n%s", sysconfig)
	}
	port := testutil.FreePort(t)
	var listen []string
	for _, u := range strings.Fields(m[1]) {
		switch u {
		case "ldapi:///":
			listen = append(listen, ldapi)
		case "ldaps:///":
			listen = append(listen, fmt.Sprintf("ldaps://127.0.0.1:%d/", port))
		default:
			t.Errorf("slapd listens on %s: only ldaps:/// and ldapi:/// are expected", u)
		}
	}
	srv.stop()
	startSlapdOn(t, slapdBin, conf, strings.Join(listen, " "), fmt.Sprintf("127.0.0.1:%d", port))

	// The directory, loaded as the runbook says (on the server, its socket).
	dir := t.TempDir()
	writeOut(t, files, dir, "ldap/bootstrap.ldif", "ldap/users.ldif", "ldap/load-ldap.sh")
	if out := runScript(t, dir, "load-ldap.sh", "LDAP_URI="+ldapi); !strings.Contains(out, "1 user(s) added") {
		t.Errorf("load-ldap.sh said:\n%s", out)
	}

	// A client, with the server's name from the client module's URI
	// mapped to this machine, searches as SSSD does.
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "ldaps" {
		t.Fatalf("the client's URI %q is not ldaps://", uri)
	}
	hosts := filepath.Join(tmp, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost "+u.Hostname()+"\n"), 0o644)
	search := func(host, ca string) (string, error) {
		script := fmt.Sprintf(`mount --bind %s /etc/hosts && exec ldapsearch -x -LLL -o nettimeout=5 -H ldaps://%s:%d/ -b %s '(uid=alice)' uidNumber`,
			q(hosts), host, port, q(base))
		cmd := exec.Command(unshare, "-m", "sh", "-c", script)
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+ca, "LDAPTLS_REQCERT=demand", "LDAPCONF=/dev/null", "LDAPRC=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	found, err := search(u.Hostname(), caFile)
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
	if out, err := search("localhost", caFile); err == nil || !strings.Contains(out, "Can't contact LDAP server") {
		t.Errorf("a client that asked for localhost, which the LDAP server's certificate does not name: %v\n%s", err, out)
	}
	if found, err := search(u.Hostname(), caFile); err != nil || !strings.Contains(found, "uidNumber: 5101") {
		t.Fatalf("the server no longer answers the site CA's clients: %v\n%s", err, found)
	}
}

// startSlapdOn starts slapd on the listeners given, from the config folder
// conf, and waits for addr (a TCP address) or, without one, a moment for
// the socket.
func startSlapdOn(t *testing.T, slapdBin, conf, listen, addr string) *slapd {
	t.Helper()
	s := &slapd{conf: conf}
	s.cmd = exec.Command(slapdBin, "-d", "0", "-h", listen, "-F", conf)
	var logs bytes.Buffer
	s.cmd.Stderr = &logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := s.cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("slapd (%s) said:\n%s", listen, logs.String())
		}
	})
	if addr != "" {
		waitPort(t, addr, 10*time.Second)
		return s
	}
	sock, _ := url.PathUnescape(strings.TrimPrefix(strings.Fields(listen)[0], "ldapi://"))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("slapd made no socket %s:\n%s", sock, logs.String())
	return nil
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
