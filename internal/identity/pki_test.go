package identity

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var ldapReq = CertRequest{Node: "ldap", CertPath: "/etc/openldap/certs/kiln-ldap.crt", KeyPath: "/etc/openldap/certs/kiln-ldap.key",
	Names: []string{"ldap.mytier3.local", "ldap"}, IPs: []string{"10.10.0.3"}}

// The site CA is made once, its key kept encrypted; a node's certificate
// is signed by it for every name and address asked, verifies as a TLS
// server certificate, and comes back from the node's identity with its
// key (0600) and the CA every node gets.
func TestSiteCASignsTheServerCertificateKeptInTheNodesIdentity(t *testing.T) {
	dir := t.TempDir()
	key, _, err := EnsureKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if created, err := EnsureCA(dir, key, "mytier3"); err != nil || !created {
		t.Fatalf("EnsureCA: %v %v", created, err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	if created, err := EnsureCA(dir, key, "mytier3"); err != nil || created {
		t.Fatalf("a second EnsureCA made a new CA (%v, %v)", created, err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, CACertFile)); !bytes.Equal(again, caPEM) {
		t.Fatal("a second EnsureCA replaced the CA")
	}
	encKey, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if !bytes.HasPrefix(encKey, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) || bytes.Contains(encKey, []byte("PRIVATE KEY")) {
		t.Fatalf("the CA key is not kept encrypted:\n%s", encKey)
	}

	now := time.Now()
	made, err := EnsureCerts(dir, key, []CertRequest{ldapReq}, now)
	if err != nil || strings.Join(made, " ") != "ldap" {
		t.Fatalf("EnsureCerts made %v (%v)", made, err)
	}
	files, err := Load(os.DirFS(dir), key, "ldap")
	if err != nil || len(files) != 2 {
		t.Fatalf("the ldap node's identity: %v %+v", err, files)
	}
	certFile, keyFile := files[0], files[1]
	if certFile.Path != ldapReq.CertPath || certFile.Secret || keyFile.Path != ldapReq.KeyPath || !keyFile.Secret || keyFile.Mode != 0o600 {
		t.Fatalf("identity files %+v / %+v", certFile, keyFile)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cert, err := parseCert(certFile.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ldap.mytier3.local", "ldap", "10.10.0.3"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("the certificate does not verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "nfs.mytier3.local", Roots: roots}); err == nil {
		t.Error("the certificate verifies for a name it was not made for")
	}
	if !strings.Contains(string(keyFile.Data), "PRIVATE KEY") {
		t.Fatal("the key does not come back decrypted")
	}

	// Every node gets the CA, public.
	site, err := SiteFiles(os.DirFS(dir))
	if err != nil || len(site) != 1 || site[0].Path != SiteCAPath || site[0].Secret || !bytes.Equal(site[0].Data, caPEM) {
		t.Fatalf("SiteFiles: %v %+v", err, site)
	}

	// Nothing changed: nothing made. A new address, or a certificate near
	// its end: made again.
	if made, err := EnsureCerts(dir, key, []CertRequest{ldapReq}, now); err != nil || len(made) != 0 {
		t.Fatalf("EnsureCerts with nothing changed made %v (%v)", made, err)
	}
	moved := ldapReq
	moved.IPs = []string{"10.10.0.30"}
	if made, err := EnsureCerts(dir, key, []CertRequest{moved}, now); err != nil || len(made) != 1 {
		t.Fatalf("EnsureCerts after an address change made %v (%v)", made, err)
	}
	later := now.Add(serverValidity - 30*24*time.Hour)
	if made, err := EnsureCerts(dir, key, []CertRequest{moved}, later); err != nil || len(made) != 1 {
		t.Fatalf("EnsureCerts 30 days before the end made %v (%v)", made, err)
	}
}

// Half a CA is an error that says what to do, never a silent new CA.
func TestHalfACAIsReportedNotReplaced(t *testing.T) {
	dir := t.TempDir()
	key, _, _ := EnsureKey(dir)
	if _, err := EnsureCA(dir, key, "c"); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, CAKeyFile))
	_, err := EnsureCA(dir, key, "c")
	if err == nil || !strings.Contains(err.Error(), "only half of its CA") {
		t.Fatalf("EnsureCA with the key gone: %v", err)
	}
	if _, err := EnsureCerts(dir, key, []CertRequest{ldapReq}, time.Now()); err == nil {
		t.Fatal("EnsureCerts signed without the CA key")
	}
}
