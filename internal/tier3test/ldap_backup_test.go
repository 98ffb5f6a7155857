package tier3test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/render"
	"kiln.dev/kiln/internal/testutil"
)

// The LDAP node's generated backup and restore scripts carry the directory
// through real slapcat, Debian's restic and real slapadd: load the
// directory into slapd, back it up, lose the database, restore it, and the
// admin binds again. The catalog's commands name EL's database 2, as this
// server (configured as the module does) has it, and the system's slapd
// and folders: the item's two commands are pointed at this server's
// folders and nothing else changes.
func TestLDAPStateGoesThroughResticAndBack(t *testing.T) {
	restic := testutil.NeedProgram(t, "restic")
	site, files := build(t)
	ldap := site.Cluster.NodesWith("ldap_server")[0]
	base := fmt.Sprint(ldap.Param("ldap_server", "base_dn"))
	srv := moduleSlapd(t, site, files).srv

	dir := t.TempDir()
	writeOut(t, files, dir, "ldap/bootstrap.ldif", "ldap/users.ldif", "ldap/load-ldap.sh")
	runScript(t, dir, "load-ldap.sh", "LDAP_URI="+srv.uri)

	// The ldap node's state item, pointed at this server.
	mod := ldap.Module("ldap_server")
	if len(mod.State) != 1 || !strings.HasPrefix(mod.State[0].Dump, "slapcat") || !strings.Contains(mod.State[0].Restore, "slapadd") {
		t.Fatalf("the catalog's ldap_server state is not a slapcat/slapadd pair: %+v", mod.State)
	}
	mod.State[0].Dump = strings.Replace(mod.State[0].Dump, "slapcat ", "slapcat -F "+srv.conf+" ", 1)
	mod.State[0].Restore = fmt.Sprintf("find %s -maxdepth 1 -name '*.mdb' -exec mv -f {} \"$KILN_ROOT/aside/\" \\; && slapadd -F %s -n 2 -q", srv.db, srv.conf)
	list, diags := render.Build(site.Defs, site.Cluster)
	if err := diags.Err(); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, f := range list {
		if f.Path == "backup/"+ldap.Name+"/kiln-backup" || f.Path == "backup/"+ldap.Name+"/kiln-restore" {
			if err := os.WriteFile(filepath.Join(bin, filepath.Base(f.Path)), f.Data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	os.MkdirAll(filepath.Join(root, "aside"), 0o755)
	pw := filepath.Join(tmp, "restic-password")
	os.WriteFile(pw, []byte("test password\n"), 0o600)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env = append(os.Environ(),
			"PATH="+filepath.Dir(restic)+":/usr/sbin:/usr/bin:/sbin:/bin",
			"RESTIC_REPOSITORY="+filepath.Join(tmp, "repo"),
			"RESTIC_PASSWORD_FILE="+pw,
			"RESTIC_CACHE_DIR="+filepath.Join(tmp, "cache"),
			"KILN_STATE_DIR="+filepath.Join(tmp, "stamps"),
			"KILN_ROOT="+root,
			"TMPDIR="+tmp)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("kiln-backup", "init")
	run("kiln-backup", "run")

	// The machine dies: slapd stops, its database is gone. The rebuilt
	// node restores the item, and slapd starts on the restored data.
	srv.stop()
	run("kiln-restore", "run", "ldap_server.1")
	srv.start(t)
	aside, _ := filepath.Glob(filepath.Join(root, "aside", "*.mdb"))
	if len(aside) == 0 {
		t.Error("the restore did not move the old database aside")
	}
	admin := site.Cluster.Admins()[0]
	apw := filepath.Join(tmp, "admin-password")
	os.WriteFile(apw, []byte(secretValue(t, site, admin.Password)), 0o600)
	userDN := "uid=" + admin.Name + ",ou=People," + base
	if out, err := exec.Command("ldapwhoami", "-x", "-H", srv.uri, "-D", userDN, "-y", apw).CombinedOutput(); err != nil {
		t.Fatalf("after the restic round trip the admin cannot bind: %v\n%s", err, out)
	}
	out, err := exec.Command("ldapsearch", "-LLL", "-x", "-H", srv.uri, "-b", base, "(uid=alice)", "uidNumber").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "uidNumber: 5101") {
		t.Fatalf("alice is not back: %v\n%s", err, out)
	}
}
