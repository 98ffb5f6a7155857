package tier3test

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slapd is a real OpenLDAP server in temporary folders, configured the
// way kiln_ldap::server configures EPEL's (see moduleSlapd).
type slapd struct {
	uri    string // where the tests reach it as root on the server: its local socket
	listen string // its listeners (slapd -h)
	addr   string // the TCP address it listens on, once it has one
	conf   string // the cn=config folder, for slapcat and slapadd
	db     string // the directory's database folder
	bin    string
	cmd    *exec.Cmd
}

func (s *slapd) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "-d", "0", "-h", s.listen, "-F", s.conf)
	var logs bytes.Buffer
	s.cmd.Stderr = &logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, listen := s.cmd, s.listen
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("slapd (%s) said:\n%s", listen, logs.String())
		}
	})
	if s.addr != "" {
		waitPort(t, s.addr, 10*time.Second)
	}
	sock, _ := url.PathUnescape(strings.TrimPrefix(s.uri, "ldapi://"))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("slapd answers on no socket %s:\n%s", sock, logs.String())
}

func (s *slapd) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// run runs one of the build's scripts as its runbook says, with the
// test server's address.
func runScript(t *testing.T, dir, script string, env ...string) string {
	t.Helper()
	cmd := exec.Command("sh", filepath.Join(dir, script))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", script, err, out)
	}
	return string(out)
}

func TestTheDirectoryLoadsIntoRealSlapdAndTheAdminCanBind(t *testing.T) {
	site, files := build(t)
	ldap := site.Cluster.NodesWith("ldap_server")[0]
	base := fmt.Sprint(ldap.Param("ldap_server", "base_dn"))
	srv := moduleSlapd(t, site, files).srv

	dir := t.TempDir()
	writeOut(t, files, dir, "ldap/bootstrap.ldif", "ldap/users.ldif", "ldap/load-ldap.sh")
	out := runScript(t, dir, "load-ldap.sh", "LDAP_URI="+srv.uri)
	if !strings.Contains(out, "creating "+base) || !strings.Contains(out, "1 user(s) added, 2 in site.yaml") {
		t.Errorf("first load said:\n%s", out)
	}
	// Running it again changes nothing and says so.
	out = runScript(t, dir, "load-ldap.sh", "LDAP_URI="+srv.uri)
	if !strings.Contains(out, "already there") || !strings.Contains(out, "0 user(s) added") {
		t.Errorf("second load said:\n%s", out)
	}

	// The first administrator binds with the site's password, from a 0600
	// file as an admin would, and not with a wrong one.
	admin := site.Cluster.Admins()[0]
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(secretValue(t, site, admin.Password)), 0o600)
	userDN := "uid=" + admin.Name + ",ou=People," + base
	who, err := exec.Command("ldapwhoami", "-x", "-H", srv.uri, "-D", userDN, "-y", pw).CombinedOutput()
	if err != nil || !strings.Contains(string(who), "dn:"+userDN) {
		t.Fatalf("the admin cannot bind with the site's password: %v\n%s", err, who)
	}
	os.WriteFile(pw, []byte("not-the-password"), 0o600)
	if out, err := exec.Command("ldapwhoami", "-x", "-H", srv.uri, "-D", userDN, "-y", pw).CombinedOutput(); err == nil {
		t.Fatalf("a wrong password binds:\n%s", out)
	}

	// Every user of site.yaml is there as a POSIX account with its ids,
	// and the admin group lists the admin.
	search, err := exec.Command("ldapsearch", "-LLL", "-x", "-H", srv.uri, "-b", base, "(objectClass=posixAccount)", "uid", "uidNumber", "gidNumber", "homeDirectory").CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch: %v\n%s", err, search)
	}
	for _, u := range site.Cluster.Users {
		for _, want := range []string{"uid: " + u.Name, fmt.Sprintf("uidNumber: %d", u.UID)} {
			if !strings.Contains(string(search), want) {
				t.Errorf("the directory lacks %q:\n%s", want, search)
			}
		}
	}
	groups, _ := exec.Command("ldapsearch", "-LLL", "-x", "-H", srv.uri, "-b", "ou=Group,"+base, "(memberUid="+admin.Name+")", "cn").CombinedOutput()
	if !strings.Contains(string(groups), "cn: t3admins") {
		t.Errorf("the admin is in no admin group:\n%s", groups)
	}

	// The catalog backs the directory up with slapcat and restores it with
	// slapadd into emptied database files (ldap_server's state). Do the
	// same here: dump, stop, move the files aside, load, start, and the
	// admin still binds. (Database 2, as in the catalog: EL's numbering,
	// which this server has too.)
	dump, err := exec.Command("slapcat", "-F", srv.conf, "-n", "2").Output()
	if err != nil || !bytes.Contains(dump, []byte("uid: alice")) {
		t.Fatalf("slapcat: %v", err)
	}
	srv.stop()
	aside := t.TempDir()
	mdbs, _ := filepath.Glob(filepath.Join(srv.db, "*.mdb"))
	for _, f := range mdbs {
		os.Rename(f, filepath.Join(aside, filepath.Base(f)))
	}
	load := exec.Command("slapadd", "-F", srv.conf, "-n", "2", "-q")
	load.Stdin = bytes.NewReader(dump)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("slapadd of the dump: %v\n%s", err, out)
	}
	srv.start(t)
	os.WriteFile(pw, []byte(secretValue(t, site, admin.Password)), 0o600)
	if out, err := exec.Command("ldapwhoami", "-x", "-H", srv.uri, "-D", userDN, "-y", pw).CombinedOutput(); err != nil {
		t.Fatalf("after slapcat/slapadd the admin cannot bind: %v\n%s", err, out)
	}
}

func TestMakeHomesCreatesEachHomeOnceWithNumericOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to other users needs root")
	}
	site, files := build(t)
	dir, root := t.TempDir(), t.TempDir()
	writeOut(t, files, dir, "nfs/make-homes.sh")
	out := runScript(t, dir, "make-homes.sh", "KILN_ROOT="+root)
	for _, u := range site.Cluster.Users {
		home := filepath.Join(root, "export/home", u.Name)
		st, err := os.Stat(home)
		if err != nil {
			t.Fatalf("no home for %s: %v\n%s", u.Name, err, out)
		}
		uid, gid := ownerOf(st)
		if uid != u.UID || gid != u.GID || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: owner %d:%d mode %04o, want %d:%d 0700", home, uid, gid, st.Mode().Perm(), u.UID, u.GID)
		}
	}
	os.WriteFile(filepath.Join(root, "export/home/alice/thesis.tex"), []byte("work"), 0o600)
	out = runScript(t, dir, "make-homes.sh", "KILN_ROOT="+root)
	if !strings.Contains(out, "/export/home/alice exists, left alone") {
		t.Errorf("a second run should leave homes alone; it said:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "export/home/alice/thesis.tex")); string(b) != "work" {
		t.Error("a second run touched a user's files")
	}
}
