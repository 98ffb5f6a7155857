package render

import (
	"fmt"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/secretfmt"
)

func init() { funcGroups = append(funcGroups, directoryFuncs) }

// directoryFuncs help templates write LDAP data.
func directoryFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// ssha is the {SSHA} userPassword value of the named secret: salted
		// SHA-1 as OpenLDAP checks it. The salt is derived from the secret
		// and seed (the user's name), so builds stay byte-identical and two
		// users with one password still get different hashes.
		"ssha": func(secretName, seed string) (string, error) {
			pw, err := r.secretMasked(secretName)
			if err != nil {
				return "", err
			}
			return r.mask(ssha(pw, seed)), nil
		},
		// rdnValue is the value of a DN's first component:
		// dc=physics,dc=example,dc=edu → physics.
		"rdnValue": func(dn string) (string, error) {
			first, _, _ := strings.Cut(dn, ",")
			_, v, ok := strings.Cut(first, "=")
			if !ok || strings.TrimSpace(v) == "" {
				return "", fmt.Errorf("%q is not a distinguished name (like dc=example,dc=edu)", dn)
			}
			return strings.TrimSpace(v), nil
		},
		// lastWord is the last space-separated word: a person's surname,
		// for LDAP's required sn.
		"lastWord": func(s string) string {
			f := strings.Fields(s)
			if len(f) == 0 {
				return s
			}
			return f[len(f)-1]
		},
	}
}

func ssha(password, seed string) string { return secretfmt.SSHA(password, seed) }
