package secretfmt

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kiln.dev/kiln/internal/testutil"
)

const password = "correct horse battery staple"

// TestEveryFormatIsDeterministicAndSeeded: the same secret and seed give
// the same text (a build is byte-identical), another seed another salt.
func TestEveryFormatIsDeterministicAndSeeded(t *testing.T) {
	for _, f := range []string{"sha512crypt", "ssha", "scram-sha-256", "bcrypt"} {
		a, err := Encode(f, password, "alice")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Encode(f, password, "alice")
		c, _ := Encode(f, password, "bob")
		if a != b || a == c || strings.Contains(a, password) {
			t.Errorf("%s: %q then %q, for another seed %q: want stable, seeded, without the secret", f, a, b, c)
		}
	}
	if got, _ := Encode("raw", password, "x"); got != password {
		t.Errorf("raw = %q, want the secret", got)
	}
	if got, _ := Encode("", password, "x"); got != SSHA(password, "x") {
		t.Errorf("no format = %q, want the default ssha", got)
	}
	h1, _ := Encode("hmac:munge", password, "x")
	h2, _ := Encode("hmac:beegfs", password, "x")
	if len(h1) != 64 || h1 == h2 {
		t.Errorf("hmac per purpose: %q %q", h1, h2)
	}
}

func TestCheckRefusesUnknownFormats(t *testing.T) {
	for _, f := range []string{"md5", "hmac:", "hmac:two words", "SSHA", ""} {
		if Check(f) == nil {
			t.Errorf("Check(%q) = nil, want an error", f)
		}
	}
	for _, f := range []string{"raw", "sha512crypt", "ssha", "scram-sha-256", "bcrypt", "hmac:munge"} {
		if err := Check(f); err != nil {
			t.Errorf("Check(%q) = %v", f, err)
		}
	}
}

// TestSHA512CryptIsWhatMkpasswdAndOpensslWrite: glibc's crypt through
// mkpasswd (whois) and OpenSSL's passwd -6 hash the same with our salt.
func TestSHA512CryptIsWhatMkpasswdAndOpensslWrite(t *testing.T) {
	h, _ := Encode("sha512crypt", password, "wn1")
	salt := strings.Split(h, "$")[2]
	out, err := exec.Command(testutil.NeedProgram(t, "mkpasswd"), "-m", "sha-512", "-S", salt, password).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != h {
		t.Errorf("mkpasswd: %s\nkiln:     %s", got, h)
	}
	out, err = exec.Command(testutil.NeedProgram(t, "openssl"), "passwd", "-6", "-salt", salt, password).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != h {
		t.Errorf("openssl: %s\nkiln:    %s", got, h)
	}
}

// TestBcryptIsCheckedByHtpasswdAndXCrypto: Apache's htpasswd -v accepts
// the password against our hash (and refuses another), and so does
// golang.org/x/crypto/bcrypt.
func TestBcryptIsCheckedByHtpasswdAndXCrypto(t *testing.T) {
	h, err := Encode("bcrypt", password, "web")
	if err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte(password)); err != nil {
		t.Errorf("x/crypto/bcrypt refuses %s: %v", h, err)
	}
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte("alice:"+h+"\n"), 0o600)
	htpasswd := testutil.NeedProgram(t, "htpasswd")
	if out, err := exec.Command(htpasswd, "-vb", file, "alice", password).CombinedOutput(); err != nil {
		t.Errorf("htpasswd -v refuses the right password: %v\n%s", err, out)
	}
	if err := exec.Command(htpasswd, "-vb", file, "alice", "wrong").Run(); err == nil {
		t.Errorf("htpasswd -v accepts a wrong password")
	}
	if _, err := Bcrypt(strings.Repeat("x", 73), "s"); err == nil {
		t.Errorf("a 73-byte password is hashed; bcrypt would ignore its end")
	}
}

// TestHMACIsOpensslsHMACSHA256 checks the hmac format against openssl dgst.
func TestHMACIsOpensslsHMACSHA256(t *testing.T) {
	h, _ := Encode("hmac:munge", password, "")
	cmd := exec.Command(testutil.NeedProgram(t, "openssl"), "dgst", "-sha256", "-hmac", password)
	cmd.Stdin = strings.NewReader("munge")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), " "+h) {
		t.Errorf("openssl: %s, kiln: %s", out, h)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, addr string) {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

// TestSSHALetsTheRootDNBindInSlapd: a throwaway slapd on 127.0.0.1 whose
// database's olcRootPW is our {SSHA}; ldapwhoami binds with the password
// and not with another.
func TestSSHALetsTheRootDNBindInSlapd(t *testing.T) {
	slapd := testutil.NeedProgram(t, "slapd")
	slapadd := testutil.NeedProgram(t, "slapadd")
	whoami := testutil.NeedProgram(t, "ldapwhoami")
	dir := t.TempDir()
	conf, db := filepath.Join(dir, "slapd.d"), filepath.Join(dir, "db")
	os.Mkdir(conf, 0o700)
	os.Mkdir(db, 0o700)
	h, _ := Encode("ssha", password, "cn=admin,dc=example,dc=org")
	ldif := fmt.Sprintf(`dn: cn=config
objectClass: olcGlobal
cn: config

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=example,dc=org
olcDbDirectory: %s
olcRootDN: cn=admin,dc=example,dc=org
olcRootPW: %s
`, db, h)
	cmd := exec.Command(slapadd, "-n", "0", "-F", conf)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := exec.Command(slapd, "-d", "0", "-h", "ldap://"+addr+"/", "-F", conf)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitPort(t, addr)
	bind := func(pw string) error {
		return exec.Command(whoami, "-x", "-H", "ldap://"+addr+"/", "-D", "cn=admin,dc=example,dc=org", "-w", pw).Run()
	}
	if err := bind(password); err != nil {
		t.Errorf("ldapwhoami with the password: %v", err)
	}
	if bind("wrong") == nil {
		t.Errorf("ldapwhoami binds with a wrong password")
	}
}

// TestScramVerifierLogsIntoPostgreSQL: a throwaway PostgreSQL cluster on
// 127.0.0.1 that asks for scram-sha-256; a role whose password is our
// verifier logs in with psql and the password, and not with another.
func TestScramVerifierLogsIntoPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	initdb := testutil.NeedProgram(t, "initdb")
	pgctl := testutil.NeedProgram(t, "pg_ctl")
	psql := testutil.NeedProgram(t, "psql")
	dir := t.TempDir()
	// PostgreSQL refuses to run as root: as the postgres account when we are.
	var as []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres account to run PostgreSQL as")
		}
		if st, err := os.Stat(os.DevNull); err == nil && st.Mode().Perm()&0o002 == 0 {
			t.Fatalf("%s is mode %04o on this machine: initdb, run as postgres, cannot write to it (it should be 0666; something changed it)", os.DevNull, st.Mode().Perm())
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chown(dir, uid, gid)
		as = []string{testutil.NeedProgram(t, "setpriv"), "--reuid=" + u.Uid, "--regid=" + u.Gid, "--clear-groups", "--"}
	}
	command := func(args ...string) *exec.Cmd {
		all := append(append([]string{}, as...), args...)
		return exec.Command(all[0], all[1:]...)
	}
	data := filepath.Join(dir, "data")
	if out, err := command(initdb, "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off", port, dir)
	if out, err := command(pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	defer command(pgctl, "-D", data, "-m", "immediate", "-w", "stop").Run()
	verifier, _ := Encode("scram-sha-256", password, "app")
	// Through the local socket (trust): the role, its password given as
	// the verifier (PostgreSQL stores one it recognises as it is).
	sql := fmt.Sprintf("CREATE ROLE app LOGIN PASSWORD '%s'", verifier)
	if out, err := command(psql, "-h", dir, "-p", strconv.Itoa(port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput(); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	stored, err := command(psql, "-h", dir, "-p", strconv.Itoa(port), "-U", "postgres", "-d", "postgres", "-At", "-c", "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'").Output()
	if err != nil || strings.TrimSpace(string(stored)) != verifier {
		t.Fatalf("PostgreSQL stored %q (%v), not the verifier %q", stored, err, verifier)
	}
	login := func(pw string) ([]byte, error) {
		cmd := exec.Command(psql, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "app", "-d", "postgres", "-At", "-c", "SELECT current_user")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+pw, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=5")
		return cmd.CombinedOutput()
	}
	if out, err := login(password); err != nil || strings.TrimSpace(string(out)) != "app" {
		t.Errorf("psql over TCP with the password: %v\n%s", err, out)
	}
	if out, err := login("wrong"); err == nil {
		t.Errorf("psql logs in with a wrong password: %s", out)
	}
}
