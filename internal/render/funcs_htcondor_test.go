package render

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// The vector was computed apart from kiln's code, by a Python
// re-implementation of HTCondor 25.0's steps (cryptography's HKDF): the
// POOL file condor_store_cred -f writes for the key, and the HMAC key
// getTokenSigningKey + generate_token sign tokens with. See docs/condor.md.
const (
	vectorSecret   = "example-only-condor-signing-key"
	vectorPoolFile = "usjb3ejMjtu6mYyO6p+M3e6Yj4nvyYvc6JSI3e2c2tjpn9uJv8+G3r+f2tq8y9zavMyLieqZjde6lduJ65/cjQ=="
	vectorJWTKey   = "726dacf56e0dc82f3f9b34f5608169a2926317677c5956d2fbf7e9ff0de8260e"
)

func vectorKey() string {
	m := hmac.New(sha256.New, []byte(vectorSecret))
	m.Write([]byte("kiln htcondor pool signing key"))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHTCondorSigningKeyFileIsWhatCondorStoreCredWrites(t *testing.T) {
	got := base64.StdEncoding.EncodeToString(htcondorScramble([]byte(vectorKey())))
	if got != vectorPoolFile {
		t.Fatalf("POOL file %s, want %s", got, vectorPoolFile)
	}
	if back := string(htcondorScramble(htcondorScramble([]byte("abcdefg")))); back != "abcdefg" {
		t.Fatalf("simple_scramble is its own inverse, got %q", back)
	}
}

func TestHTCondorTokenIsSignedWithTheKeyHTCondorDerives(t *testing.T) {
	k, err := htcondorJWTKey(vectorKey())
	if err != nil || hex.EncodeToString(k) != vectorJWTKey {
		t.Fatalf("JWT key %x (%v), want %s", k, err, vectorJWTKey)
	}
	tok, err := htcondorToken(vectorKey(), "mytier3.local", "condor@mytier3.local", "wn1.mytier3.local")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("a JWT has three parts: %q", tok)
	}
	// The server's check (setup_shared_keys): HS256 over header.payload as sent.
	want, _ := hex.DecodeString(vectorJWTKey)
	m := hmac.New(sha256.New, want)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if sig := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); sig != parts[2] {
		t.Fatalf("signature %s, want %s", parts[2], sig)
	}
	var header, payload map[string]any
	for i, v := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			t.Fatalf("part %d is not base64url JSON: %q", i, parts[i])
		}
	}
	// checkToken needs kid (a key the server has), iss (its TRUST_DOMAIN) and sub.
	if header["alg"] != "HS256" || header["kid"] != "POOL" || len(header) != 2 {
		t.Errorf("header %v", header)
	}
	if payload["iss"] != "mytier3.local" || payload["sub"] != "condor@mytier3.local" || len(payload["jti"].(string)) != 32 {
		t.Errorf("payload %v", payload)
	}
	if _, ok := payload["exp"]; ok {
		t.Errorf("the token expires: %v", payload)
	}
	other, _ := htcondorToken(vectorKey(), "mytier3.local", "condor@mytier3.local", "wn2.mytier3.local")
	again, _ := htcondorToken(vectorKey(), "mytier3.local", "condor@mytier3.local", "wn1.mytier3.local")
	if other == tok || again != tok {
		t.Errorf("tokens must be reproducible and differ by node")
	}
}

func TestHTCondorTokenRefusesATrustDomainWithASpace(t *testing.T) {
	for _, iss := range []string{"", "my pool", "a,b", "a\nb"} {
		if _, err := htcondorToken(vectorKey(), iss, "condor@x", "n"); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
	if _, err := htcondorToken(vectorKey(), "x", "", "n"); err == nil {
		t.Error("empty subject accepted")
	}
}
