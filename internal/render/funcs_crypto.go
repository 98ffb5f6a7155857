package render

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/secretfmt"
)

func init() { funcGroups = append(funcGroups, cryptoFuncs) }

// cryptoFuncs derive values from secrets without putting the secret itself
// in the output. Each marks the file it is used in as secret-bearing.
func cryptoFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// hmac is the hex HMAC-SHA256 of message keyed by the named secret:
		// a per-node value (an autosign challenge, say) that the holder of
		// the key can check and nobody else can forge.
		"hmac": func(secretName, message string) (string, error) {
			key, err := r.secretMasked(secretName)
			if err != nil {
				return "", err
			}
			m := hmac.New(sha256.New, []byte(key))
			m.Write([]byte(message))
			return r.mask(hex.EncodeToString(m.Sum(nil))), nil
		},
		// secretAs is the named secret in a hashed format of a secret
		// parameter (sha512crypt, ssha, scram-sha-256, bcrypt,
		// hmac:PURPOSE), salted from the secret and seed (a user's name,
		// say); the secret itself is the secret function's.
		"secretAs": func(format, secretName, seed string) (string, error) {
			if format == "raw" {
				return "", fmt.Errorf("secretAs writes a hashed form; the secret itself is {{ secret %q }}", secretName)
			}
			if err := secretfmt.Check(format); err != nil {
				return "", fmt.Errorf("%v (formats: %s)", err, strings.Join(secretfmt.Formats, ", "))
			}
			pw, err := r.secretMasked(secretName)
			if err != nil {
				return "", err
			}
			if h := r.secrets.derive(format+"\x00"+secretName+"\x00"+seed, func() string {
				s, _ := secretfmt.Encode(format, pw, seed)
				return s
			}); h != "" {
				return r.mask(h), nil
			}
			return secretfmt.Encode(format, pw, seed)
		},
	}
}
