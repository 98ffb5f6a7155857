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
// POOL file's text, and the HMAC key getTokenSigningKey + generate_token
// sign tokens with when the file holds it. See docs/condor.md.
const (
	vectorSecret   = "example-only-condor-signing-key"
	vectorPoolFile = "dee26a04d42a4222051f1d53696231d772efab81a2d5bfb5ba5f4438d8ef52bb"
	vectorJWTKey   = "1655957ac78f709a19b0745085951734950c7ebd7eb527d264c888af122a99c4"
)

func vectorKey() string {
	m := hmac.New(sha256.New, []byte(vectorSecret))
	m.Write([]byte("kiln htcondor pool signing key"))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHTCondorSigningKeyFileIsPlainTextFromTheSecret(t *testing.T) {
	if got := vectorKey(); got != vectorPoolFile {
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
