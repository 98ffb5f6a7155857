package puppet

import (
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// oidChallengePassword is PKCS#9 challengePassword, where puppet ssl puts
// the challenge_password of csr_attributes.yaml (custom_attributes,
// 1.2.840.113549.1.9.7).
var oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}

// CSR is what autosigning needs from a certificate signing request.
type CSR struct {
	CommonName string
	DNSNames   []string
	// Challenge is the challengePassword attribute; HasChallenge is false
	// when the request carries none.
	Challenge    string
	HasChallenge bool
	// Extensions are the OIDs (dotted) of the extensions the request asks
	// for, but subjectAltName (DNSNames): Puppet's pp_* authorisation
	// extensions among them (pp_cli_auth is 1.3.6.1.4.1.34380.1.3.39).
	Extensions []string
}

// oidSubjectAltName is the one extension Approve checks itself.
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// ParseCSR reads a PEM certificate signing request, checks its signature
// (the requester holds the key) and extracts the subject, the alternative
// names and the challenge password.
func ParseCSR(data []byte) (*CSR, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("the input is not a PEM certificate request")
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("the PEM block is a %s, not a CERTIFICATE REQUEST", block.Type)
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the certificate request: %v", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the certificate request's signature is not valid: %v", err)
	}
	out := &CSR{CommonName: req.Subject.CommonName, DNSNames: req.DNSNames}
	for _, e := range req.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			out.Extensions = append(out.Extensions, e.Id.String())
		}
	}
	var tbs struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}
	if _, err := asn1.Unmarshal(req.RawTBSCertificateRequest, &tbs); err != nil {
		return nil, fmt.Errorf("cannot read the certificate request's attributes: %v", err)
	}
	for _, raw := range tbs.Attributes {
		var attr struct {
			Type   asn1.ObjectIdentifier
			Values []asn1.RawValue `asn1:"set"`
		}
		if _, err := asn1.Unmarshal(raw.FullBytes, &attr); err != nil {
			return nil, fmt.Errorf("cannot read an attribute of the certificate request: %v", err)
		}
		if !attr.Type.Equal(oidChallengePassword) {
			continue
		}
		if out.HasChallenge || len(attr.Values) != 1 {
			return nil, errors.New("the certificate request has more than one challenge password")
		}
		var s string
		if _, err := asn1.Unmarshal(attr.Values[0].FullBytes, &s); err != nil {
			return nil, fmt.Errorf("the challenge password is not a string: %v", err)
		}
		out.Challenge, out.HasChallenge = s, true
	}
	return out, nil
}

// Check decides what autosigning can decide from the request alone: it
// must be for certname, name no other host, ask for no extension but
// those allowed (dotted OIDs), and carry a challenge password. Whether
// the challenge is the node's is kiln serve's to say.
func (c *CSR) Check(certname string, allowed []string) error {
	if !strings.EqualFold(c.CommonName, certname) {
		return fmt.Errorf("the request's subject is CN=%s, not %s", c.CommonName, certname)
	}
	for _, n := range c.DNSNames {
		if !strings.EqualFold(n, certname) {
			return fmt.Errorf("the request asks for the alternative name %s; only the Puppet server's own certificate may have other names, and its CA makes that one", n)
		}
	}
	for _, e := range c.Extensions {
		ok := false
		for _, a := range allowed {
			if a == e {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("the request asks for the extension %s, which the design does not declare (design.yaml autosign_extensions:); such a request is signed by hand or not at all", e)
		}
	}
	if !c.HasChallenge || c.Challenge == "" {
		return errors.New("the request carries no challenge password (csr_attributes.yaml, written by the node's kickstart, is missing)")
	}
	return nil
}

// Approve decides a policy-based autosign request: the request must be for
// certname, name no other host, and carry the expected challenge. The
// error says why a request is refused.
func (c *CSR) Approve(certname, challenge string) error {
	if !strings.EqualFold(c.CommonName, certname) {
		return fmt.Errorf("the request's subject is CN=%s, not %s", c.CommonName, certname)
	}
	for _, n := range c.DNSNames {
		if !strings.EqualFold(n, certname) {
			return fmt.Errorf("the request asks for the alternative name %s; only the Puppet server's own certificate may have other names, and its CA makes that one", n)
		}
	}
	if !c.HasChallenge {
		return errors.New("the request carries no challenge password (csr_attributes.yaml, written by the node's kickstart, is missing)")
	}
	if challenge == "" || subtle.ConstantTimeCompare([]byte(c.Challenge), []byte(challenge)) != 1 {
		return errors.New("the request's challenge password is wrong for this node")
	}
	return nil
}
