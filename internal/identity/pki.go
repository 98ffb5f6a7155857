package identity

// The site's certificate authority and the server certificates it signs.
//
// kiln init (and kiln identity) make a site CA — an ECDSA P-256 key and a
// self-signed certificate — kept beside the node identities:
//
//	identity/site-ca.crt        public: every node gets it (SiteCAPath)
//	identity/site-ca.key.age    private: age-encrypted to the site key
//
// A node whose catalog modules ask for a server certificate (a module's
// certificate: in the catalog) gets one signed by the CA, for every name
// and address it answers to, kept in its identity folder at the paths the
// module names (the key encrypted), so the kickstart puts them in place on
// that node only. Both go into backup archives with the rest of identity/.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// CACertFile and CAKeyFile are the site CA's files in the site folder.
const (
	CACertFile = Dir + "/site-ca.crt"
	CAKeyFile  = Dir + "/site-ca.key" + encSuffix
)

// SiteCAPath is where every node gets the site CA's certificate.
const SiteCAPath = "/etc/pki/tls/certs/kiln-site-ca.crt"

// Validity of what kiln signs. The CA and the certificates live on the
// cluster's private network only, where no browser rule on lifetimes
// applies; kiln identity renews a server certificate within renewBefore of
// its end, or as soon as the node's names or addresses change.
const (
	caValidity     = 20 * 365 * 24 * time.Hour
	serverValidity = 10 * 365 * 24 * time.Hour
	renewBefore    = 60 * 24 * time.Hour
)

// CertRequest asks for a server certificate on a node.
type CertRequest struct {
	Node     string
	CertPath string   // absolute path on the node of the certificate (PEM)
	KeyPath  string   // absolute path on the node of its key (PEM, 0600)
	Names    []string // DNS names; the first is the subject's CN
	IPs      []string
}

// LoadCACert returns the site CA's certificate (PEM); ok is false when the
// site has none.
func LoadCACert(site fs.FS) (pemData []byte, ok bool, err error) {
	data, err := fs.ReadFile(site, CACertFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if _, err := parseCert(data); err != nil {
		return nil, true, fmt.Errorf("%s: %v", CACertFile, err)
	}
	return data, true, nil
}

// SiteFiles are the files every node gets whatever its own identity: the
// site CA's certificate, when the site has one.
func SiteFiles(site fs.FS) ([]File, error) {
	data, ok, err := LoadCACert(site)
	if err != nil || !ok {
		return nil, err
	}
	return []File{{Path: SiteCAPath, Mode: 0o644, Data: data}}, nil
}

// EnsureCA makes the site CA when the site folder dir has none. The CA's
// name says which cluster it belongs to.
func EnsureCA(dir string, key *Key, cluster string) (created bool, err error) {
	site := os.DirFS(dir)
	_, hasCert, err := LoadCACert(site)
	if err != nil {
		return false, err
	}
	_, keyErr := fs.Stat(site, CAKeyFile)
	switch {
	case hasCert && keyErr == nil:
		return false, nil
	case hasCert || keyErr == nil:
		return false, fmt.Errorf("the site has only half of its CA (%s and %s go together): put back the missing one from a backup, or remove both to make a new CA (every server certificate must then be made again)", CACertFile, CAKeyFile)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, err
	}
	now := time.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cluster + " site CA (kiln)", Organization: []string{cluster}},
		NotBefore:             now,
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&priv.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return false, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return false, err
	}
	enc, err := Encrypt(key.Recipient(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return false, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a run killed in between leaves a key without a
	// certificate, which the next run reports rather than silently
	// replacing a CA that signed something.
	if err := os.MkdirAll(filepath.Join(dir, Dir), 0o755); err != nil {
		return false, err
	}
	if err := writeAtomic(filepath.Join(dir, filepath.FromSlash(CAKeyFile)), enc, 0o600); err != nil {
		return false, err
	}
	if err := writeAtomic(filepath.Join(dir, filepath.FromSlash(CACertFile)), certPEM, 0o644); err != nil {
		os.Remove(filepath.Join(dir, filepath.FromSlash(CAKeyFile)))
		return false, err
	}
	return true, nil
}

// loadCA reads the CA's certificate and key.
func loadCA(site fs.FS, key *Key) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	data, ok, err := LoadCACert(site)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("the site has no CA (%s): run kiln identity to make one", CACertFile)
	}
	cert, _ := parseCert(data)
	enc, err := fs.ReadFile(site, CAKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("the site's CA key %s: %v", CAKeyFile, err)
	}
	plain, err := Decrypt(key.Identity(), enc)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot decrypt %s: %v", CAKeyFile, err)
	}
	b, _ := pem.Decode(plain)
	if b == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", CAKeyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", CAKeyFile, err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s is not the key of %s", CAKeyFile, CACertFile)
	}
	return cert, priv, nil
}

// EnsureCerts gives each request a certificate signed by the site CA,
// kept in the node's identity folder: made when the node has none, made
// again when the one it has was signed by another CA, lacks one of the
// names or addresses asked for, or ends within 60 days. It returns the
// nodes it made certificates for.
func EnsureCerts(dir string, key *Key, reqs []CertRequest, now time.Time) ([]string, error) {
	site := os.DirFS(dir)
	ca, caKey, err := loadCA(site, key)
	if err != nil {
		return nil, err
	}
	var made []string
	for _, r := range reqs {
		if err := CheckNode(r.Node); err != nil {
			return made, err
		}
		for _, p := range []string{r.CertPath, r.KeyPath} {
			if err := checkTarget(p); err != nil {
				return made, err
			}
		}
		if len(r.Names) == 0 {
			return made, fmt.Errorf("%s: a server certificate needs at least one name", r.Node)
		}
		root := filepath.Join(dir, Dir, r.Node)
		certFile := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(r.CertPath, "/")))
		keyFile := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(r.KeyPath, "/"))) + encSuffix
		if old, err := os.ReadFile(certFile); err == nil && certFits(old, ca, r, now) {
			if _, err := os.Stat(keyFile); err == nil {
				continue
			}
		}
		certPEM, keyPEM, err := issue(ca, caKey, r, now)
		if err != nil {
			return made, err
		}
		enc, err := Encrypt(key.Recipient(), keyPEM)
		if err != nil {
			return made, err
		}
		for _, f := range []string{certFile, keyFile} {
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				return made, err
			}
		}
		// A replaced pair: the key first, then its certificate.
		if err := writeAtomic(keyFile, enc, 0o644); err != nil {
			return made, err
		}
		if err := writeAtomic(certFile, certPEM, 0o644); err != nil {
			return made, err
		}
		made = append(made, r.Node)
	}
	return made, nil
}

// certFits reports whether a kept certificate still serves the request.
func certFits(data []byte, ca *x509.Certificate, r CertRequest, now time.Time) bool {
	c, err := parseCert(data)
	if err != nil || c.CheckSignatureFrom(ca) != nil || now.Add(renewBefore).After(c.NotAfter) {
		return false
	}
	for _, n := range r.Names {
		if c.VerifyHostname(n) != nil {
			return false
		}
	}
	for _, ip := range r.IPs {
		if c.VerifyHostname(ip) != nil {
			return false
		}
	}
	return true
}

// issue makes a key and a server certificate for a request.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, r CertRequest, now time.Time) (certPEM, keyPEM []byte, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	var ips []net.IP
	for _, s := range r.IPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, fmt.Errorf("%s: %q is not an IP address", r.Node, s)
		}
		ips = append(ips, ip)
	}
	names := append([]string(nil), r.Names...)
	sort.Strings(names[1:])
	notBefore := now.Add(-time.Hour)
	notAfter := notBefore.Add(serverValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: r.Names[0], Organization: ca.Subject.Organization},
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:       names,
		IPAddresses:    ips,
		SubjectKeyId:   keyID(&priv.PublicKey),
		AuthorityKeyId: ca.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &priv.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("it holds no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// serial is a random 128-bit serial number, as RFC 5280 and the CA/B
// rules ask (unpredictable, positive).
func serial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f
	b[0] |= 0x01
	return new(big.Int).SetBytes(b)
}

func keyID(pub *ecdsa.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return sum[:20]
}

// writeAtomic replaces p by data through a temporary file and a rename.
func writeAtomic(p string, data []byte, mode fs.FileMode) error {
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".new")
	if err := os.WriteFile(tmp, data, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
