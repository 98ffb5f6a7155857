package render

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
)

func init() { funcGroups = append(funcGroups, htcondorFuncs) }

// htcondorFuncs make an HTCondor pool's IDTOKENS credentials from a site
// secret: the pool signing key the central manager keeps, and the tokens
// kiln mints with it for the other members, as HTCondor's own
// condor_token_create would (src/condor_io/condor_auth_passwd.cpp and
// src/condor_utils/store_cred.cpp, HTCondor 25.0; see docs/condor.md).
// Each marks the file it is used in as secret-bearing.
func htcondorFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// htcondorSigningKey is the content of the pool signing key file
		// (/etc/condor/passwords.d/POOL) derived from the named secret:
		// 64 hex digits, text a Puppet file resource writes as it is.
		"htcondorSigningKey": func(secretName string) (string, error) {
			return r.htcondorKey(secretName)
		},
		// htcondorToken is an IDTOKEN signed with the pool signing key
		// derived from the named secret: issuer (the pool's TRUST_DOMAIN),
		// subject (the identity it proves, e.g. condor@DOMAIN), and a name
		// that makes the token's id (jti) unique, e.g. the node's FQDN.
		"htcondorToken": func(secretName, issuer, subject, name string) (string, error) {
			key, err := r.htcondorKey(secretName)
			if err != nil {
				return "", err
			}
			return htcondorToken(key, issuer, subject, name)
		},
	}
}

// htcondorKey is the pool signing key file kiln derives from a site
// secret: 64 hex digits, so the file is plain text (a Puppet catalog
// carries no binary) with no NUL or newline. HTCondor reads the file as
// binary and unscrambles it; the key is what that gives.
func (r *renderer) htcondorKey(secretName string) (string, error) {
	if r == nil {
		return "", fmt.Errorf("the HTCondor key of secret %s is made only while rendering", secretName)
	}
	s, err := r.secret(secretName)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, []byte(s))
	m.Write([]byte("kiln htcondor pool signing key"))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// htcondorScramble is HTCondor's simple_scramble
// (src/condor_utils/secure_file.cpp): XOR with DE AD BE EF, its own inverse.
// Password and signing key files hold their key scrambled.
func htcondorScramble(b []byte) []byte {
	pad := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ pad[i%4]
	}
	return out
}

// htcondorJWTKey is the HMAC key of the tokens signed with the pool
// signing key file's content: getTokenSigningKey reads the POOL file,
// unscrambles it and, for the POOL key, doubles it; generate_token and the
// server's check (setup_shared_keys) then take 32 bytes of HKDF-SHA256 with
// salt "htcondor" and info "master jwt".
func htcondorJWTKey(file string) ([]byte, error) {
	key := htcondorScramble([]byte(file))
	doubled := append(key, key...)
	return hkdf.Key(sha256.New, doubled, []byte("htcondor"), "master jwt", 32)
}

// htcondorToken signs an IDTOKEN (a JWT, HS256) as condor_token_create does,
// with key id POOL. It has no iat or exp: it does not expire, and a build
// stays reproducible; the jti is derived from the key and name, so one
// node's token can be revoked by its id (SEC_TOKEN_REVOCATION_EXPR).
func htcondorToken(key, issuer, subject, name string) (string, error) {
	if issuer == "" || strings.ContainsAny(issuer, ", \t\r\n") {
		return "", fmt.Errorf("HTCondor token issuer %q: a trust domain is one word, without spaces or commas", issuer)
	}
	if subject == "" {
		return "", fmt.Errorf("an HTCondor token needs a subject (the identity it proves, e.g. condor@%s)", issuer)
	}
	jwtKey, err := htcondorJWTKey(key)
	if err != nil {
		return "", err
	}
	id := hmac.New(sha256.New, jwtKey)
	id.Write([]byte("kiln jti\x00" + issuer + "\x00" + subject + "\x00" + name))
	header, err := json.Marshal(map[string]string{"alg": "HS256", "kid": "POOL"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]string{
		"iss": issuer,
		"jti": hex.EncodeToString(id.Sum(nil)[:16]),
		"sub": subject,
	})
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding
	signed := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	m := hmac.New(sha256.New, jwtKey)
	m.Write([]byte(signed))
	return signed + "." + b64.EncodeToString(m.Sum(nil)), nil
}
