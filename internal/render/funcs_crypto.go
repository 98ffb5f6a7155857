package render

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"text/template"
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
			key, err := r.secret(secretName)
			if err != nil {
				return "", err
			}
			m := hmac.New(sha256.New, []byte(key))
			m.Write([]byte(message))
			return hex.EncodeToString(m.Sum(nil)), nil
		},
	}
}
