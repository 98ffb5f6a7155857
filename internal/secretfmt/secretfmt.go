// Package secretfmt writes a secret in the form its consumer takes: the
// value itself (raw), or a hash or derived key each program checks it
// with — glibc's SHA-512 crypt, slapd's {SSHA}, PostgreSQL's SCRAM-SHA-256
// verifier, bcrypt, or an HMAC for one purpose. Every salt is derived from
// the secret and a seed with a keyed hash, so a build is byte-identical
// run after run and two seeds (two users, two nodes) get different hashes
// of one secret.
package secretfmt

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/blowfish"
)

// Formats are the forms a secret-typed parameter may declare; hmac takes
// its purpose after a colon (hmac:munge).
var Formats = []string{"raw", "sha512crypt", "ssha", "scram-sha-256", "bcrypt", "hmac:PURPOSE"}

// Default is the form of a secret parameter that declares none: slapd's,
// what the tier3 design's LDAP server takes.
const Default = "ssha"

// Check says whether format is one of Formats.
func Check(format string) error {
	switch format {
	case "raw", "sha512crypt", "ssha", "scram-sha-256", "bcrypt":
		return nil
	}
	if purpose, ok := strings.CutPrefix(format, "hmac:"); ok {
		if purpose == "" || strings.ContainsFunc(purpose, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return fmt.Errorf("hmac:%s needs a purpose of printable characters without spaces, e.g. hmac:munge", purpose)
		}
		return nil
	}
	return fmt.Errorf("%q is not a secret format", format)
}

// Raw says whether the format puts the secret itself in the file.
func Raw(format string) bool { return format == "raw" }

// Encode writes secret in format; seed varies the salt (a user's name, a
// parameter's) and is not secret.
func Encode(format, secret, seed string) (string, error) {
	if format == "" {
		format = Default
	}
	if err := Check(format); err != nil {
		return "", err
	}
	switch format {
	case "raw":
		return secret, nil
	case "sha512crypt":
		return SHA512Crypt(secret, DeriveSalt(secret, seed)), nil
	case "ssha":
		return SSHA(secret, seed), nil
	case "scram-sha-256":
		return ScramSHA256(secret, seed), nil
	case "bcrypt":
		return Bcrypt(secret, seed)
	}
	purpose, _ := strings.CutPrefix(format, "hmac:")
	return HMAC(secret, purpose), nil
}

// salt is n bytes derived from the secret and a label and seed: an HMAC
// keyed by the secret, so it says nothing about the secret.
func salt(secret, label, seed string, n int) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(label + "\x00" + seed))
	return m.Sum(nil)[:n]
}

// HMAC is the hex HMAC-SHA256 of purpose keyed by the secret: a key for
// one purpose that says nothing about the secret or the other purposes'.
func HMAC(secret, purpose string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return hex.EncodeToString(m.Sum(nil))
}

// SSHA is the {SSHA} userPassword value (salted SHA-1, as OpenLDAP checks
// it) with an 8-byte salt.
func SSHA(password, seed string) string {
	s := salt(password, "kiln ssha salt", seed, 8)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(s)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), s...))
}

// ScramIterations is PostgreSQL's default (scram_iterations) and RFC
// 7677's minimum.
const ScramIterations = 4096

// ScramSHA256 is PostgreSQL's stored form of a SCRAM-SHA-256 password
// (RFC 5802 and 7677, as src/common/scram-common.c writes it):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64,
// with a 16-byte salt (PostgreSQL's SCRAM_DEFAULT_SALT_LEN). The password
// goes in as its bytes: PostgreSQL's SASLprep leaves ASCII unchanged, and
// the secrets kiln init generates are ASCII.
func ScramSHA256(password, seed string) string {
	s := salt(password, "kiln scram-sha-256 salt", seed, 16)
	salted, err := pbkdf2.Key(sha256.New, password, s, ScramIterations, sha256.Size)
	if err != nil { // only for a length or iteration count out of range
		panic(err)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", ScramIterations, b64(s), b64(stored[:]), b64(server))
}

// BcryptCost is the work factor of Bcrypt: golang.org/x/crypto/bcrypt's
// and Apache htpasswd's default.
const BcryptCost = 10

// bcryptEncoding is bcrypt's own base-64 alphabet, without padding.
var bcryptEncoding = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)

// Bcrypt is the $2b$ bcrypt hash of the password (OpenBSD's algorithm,
// as golang.org/x/crypto/bcrypt and Apache's htpasswd check it) with a
// derived 16-byte salt; x/crypto/bcrypt only makes random ones. bcrypt
// reads at most 72 bytes of a password, so a longer one is refused.
func Bcrypt(password, seed string) (string, error) {
	if len(password) > 72 {
		return "", fmt.Errorf("bcrypt takes passwords of at most 72 bytes; this secret has %d (use a shorter secret or another format)", len(password))
	}
	s := salt(password, "kiln bcrypt salt", seed, 16)
	// The salt as bcrypt writes it (22 characters) and reads it back: the
	// last character carries 2 of its 6 bits.
	encSalt := bcryptEncoding.EncodeToString(s)
	s, _ = bcryptEncoding.DecodeString(encSalt)
	key := append([]byte(password), 0) // C bcrypt keys include the NUL
	c, err := blowfish.NewSaltedCipher(key, s)
	if err != nil {
		return "", err
	}
	for range 1 << BcryptCost {
		blowfish.ExpandKey(key, c)
		blowfish.ExpandKey(s, c)
	}
	data := []byte("OrpheanBeholderScryDoubt")
	for i := 0; i < 24; i += 8 {
		for range 64 {
			c.Encrypt(data[i:i+8], data[i:i+8])
		}
	}
	// Like every C bcrypt, 23 of the 24 bytes are written.
	return fmt.Sprintf("$2b$%02d$%s%s", BcryptCost, encSalt, bcryptEncoding.EncodeToString(data[:23])), nil
}

// cryptAlphabet is crypt(3)'s base-64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// DeriveSalt makes a 16-character crypt salt from a password and a
// context, deterministically: an HMAC keyed by the password, so the salt
// says nothing about the password and differs between contexts.
func DeriveSalt(password, context string) string {
	m := hmac.New(sha256.New, []byte(password))
	m.Write([]byte("kiln sha512crypt salt\x00" + context))
	sum := m.Sum(nil)
	out := make([]byte, 16)
	for i := range out {
		out[i] = cryptAlphabet[sum[i]&63]
	}
	return string(out)
}

// SHA512Crypt is glibc's SHA-512 crypt ("$6$", Ulrich Drepper's
// specification) with the default 5000 rounds. salt is cut to 16
// characters as crypt(3) does.
func SHA512Crypt(password, salt string) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	key, s := []byte(password), []byte(salt)

	b := sha512.New()
	b.Write(key)
	b.Write(s)
	b.Write(key)
	bsum := b.Sum(nil)

	a := sha512.New()
	a.Write(key)
	a.Write(s)
	for i := len(key); i > 0; i -= 64 {
		a.Write(bsum[:min(i, 64)])
	}
	for i := len(key); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(bsum)
		} else {
			a.Write(key)
		}
	}
	asum := a.Sum(nil)

	dp := sha512.New()
	for range key {
		dp.Write(key)
	}
	p := repeatTo(dp.Sum(nil), len(key))

	ds := sha512.New()
	for i := 0; i < 16+int(asum[0]); i++ {
		ds.Write(s)
	}
	sb := repeatTo(ds.Sum(nil), len(s))

	c := asum
	for i := 0; i < 5000; i++ {
		h := sha512.New()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sb)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString("$6$")
	out.WriteString(salt)
	out.WriteByte('$')
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for ; n > 0; n-- {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	for _, t := range [...][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
		{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
		{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
	} {
		enc(c[t[0]], c[t[1]], c[t[2]], 4)
	}
	enc(0, 0, c[63], 2)
	return out.String()
}

func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}
