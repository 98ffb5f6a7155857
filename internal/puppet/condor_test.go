package puppet_test

import (
	"bufio"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kiln.dev/kiln/internal/model"
)

// htcondorTable reads one of the HTCondor name tables recorded in
// internal/tier3test/testdata/htcondor (see their headers for the tag and
// file), lower-cased: HTCondor's knob and metaknob names ignore case.
func htcondorTable(t *testing.T, names ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, name := range names {
		f, err := os.Open(filepath.Join("..", "tier3test", "testdata", "htcondor", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				out[strings.ToLower(l)] = true
			}
		}
		f.Close()
	}
	if len(out) < 50 {
		t.Fatalf("the HTCondor tables %v hold only %d names", names, len(out))
	}
	return out
}

var (
	condorUse  = regexp.MustCompile(`^use\s+([A-Za-z]+)\s*:\s*([A-Za-z0-9_]+)\s*$`)
	condorKnob = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$`)
)

// condorConfig reads an HTCondor configuration file as kiln writes it:
// knob = value lines and use CATEGORY : NAME lines; anything else fails.
func condorConfig(t *testing.T, where, text string) (knobs map[string]string, uses []string) {
	t.Helper()
	knobs = map[string]string{}
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if m := condorUse.FindStringSubmatch(l); m != nil {
			uses = append(uses, m[1]+":"+m[2])
		} else if m := condorKnob.FindStringSubmatch(l); m != nil {
			knobs[m[1]] = m[2]
		} else {
			t.Errorf("%s:%d: not a line HTCondor's configuration language has: %q", where, i+1, l)
		}
	}
	return knobs, uses
}

// catalogFile is the content of a file resource of a compiled catalog.
func catalogFile(c compiled, path string) (string, bool) {
	resources, _ := c.Catalog["resources"].([]any)
	for _, r := range resources {
		r := r.(map[string]any)
		if r["type"] == "File" && r["title"] == path {
			params, _ := r["parameters"].(map[string]any)
			s, ok := params["content"].(string)
			return s, ok
		}
	}
	return "", false
}

func catalogHasPackage(c compiled, name string) bool {
	resources, _ := c.Catalog["resources"].([]any)
	for _, r := range resources {
		r := r.(map[string]any)
		if r["type"] == "Package" && r["title"] == name {
			return true
		}
	}
	return false
}

// checkCondorPool checks, in every HTCondor node's compiled catalog of the
// example, what Puppet would write: each knob and metaknob of 50-kiln.conf
// is one HTCondor 25.0 has (param_info.in, the documented macros, the
// metaknob table), with the values a working pool needs; the central
// manager alone gets the pool signing key, every other member a token that
// key validates, and no catalog holds another node's credential; each
// member's firewall lets the private network reach 9618.
func checkCondorPool(t *testing.T, cl *model.Cluster, build string, all []compiled) {
	knobTable := htcondorTable(t, "param_info.txt", "config_macros.txt")
	metaTable := htcondorTable(t, "metaknobs.txt")
	nodes := cl.NodesWith("condor")
	byName := map[string]*model.Node{}
	for _, n := range nodes {
		byName[n.FQDN] = n
	}
	var out []compiled
	for _, c := range all {
		if byName[c.Certname] != nil {
			out = append(out, c)
		}
	}
	if len(out) != len(nodes) || len(nodes) < 3 {
		t.Fatalf("%d catalogs for the %d HTCondor nodes", len(out), len(nodes))
	}

	var key string
	tokens := map[string]string{}
	for _, c := range out {
		if c.Error != "" {
			t.Fatalf("%s: Puppet did not compile the catalog: %s", c.Certname, c.Error)
		}
		n := byName[c.Certname]
		role := fmt.Sprint(n.Param("condor", "daemon_role"))
		conf, ok := catalogFile(c, "/etc/condor/config.d/50-kiln.conf")
		if !ok {
			t.Fatalf("%s: the catalog writes no /etc/condor/config.d/50-kiln.conf", c.Certname)
		}
		where := c.Certname + ":/etc/condor/config.d/50-kiln.conf"
		knobs, uses := condorConfig(t, where, conf)
		for k := range knobs {
			if !knobTable[strings.ToLower(k)] {
				t.Errorf("%s: HTCondor 25.0 has no configuration knob %s", where, k)
			}
		}
		for _, u := range uses {
			if !metaTable[strings.ToLower(u)] {
				t.Errorf("%s: HTCondor 25.0 has no metaknob %s", where, u)
			}
		}
		wantRole := map[string]string{"central_manager": "ROLE:CentralManager", "submit": "ROLE:Submit", "execute": "ROLE:Execute"}[role]
		if strings.Join(uses, " ") != wantRole+" SECURITY:recommended_v24_0" {
			t.Errorf("%s: metaknobs %v, want %s and the recommended security", where, uses, wantRole)
		}
		private := n.Iface("private")
		want := map[string]string{
			"CONDOR_HOST":       fmt.Sprint(n.Param("condor", "central_manager")),
			"UID_DOMAIN":        "mytier3.local",
			"FILESYSTEM_DOMAIN": "mytier3.local",
			"TRUST_DOMAIN":      "mytier3.local",
			"TRUST_UID_DOMAIN":  "True",
			"NETWORK_INTERFACE": private.IP,
		}
		for k, v := range want {
			if knobs[k] != v {
				t.Errorf("%s: %s = %q, want %q", where, k, knobs[k], v)
			}
		}
		if got := catalogHasPackage(c, "gcc"); got != (role == "submit") {
			t.Errorf("%s (%s): package gcc in the catalog: %v", c.Certname, role, got)
		}
		pool, hasKey := catalogFile(c, "/etc/condor/passwords.d/POOL")
		token, hasToken := catalogFile(c, "/etc/condor/tokens.d/kiln")
		switch {
		case role == "central_manager" && hasKey && !hasToken:
			key = pool
		case role != "central_manager" && hasToken && !hasKey:
			tokens[c.Certname] = strings.TrimSuffix(token, "\n")
		default:
			t.Errorf("%s (%s): signing key in the catalog %v, token %v", c.Certname, role, hasKey, hasToken)
		}
	}
	if key == "" || len(tokens) != len(nodes)-1 {
		t.Fatalf("one signing key (got %q) and %d tokens (got %d) expected", key, len(nodes)-1, len(tokens))
	}
	jwtKey := signingKeyToJWTKey(t, key)
	for node, tok := range tokens {
		checkToken(t, node, tok, jwtKey, "mytier3.local")
	}
	// A catalog, of any node, holds its own credential and no other.
	for _, c := range all {
		raw, _ := json.Marshal(c.Catalog)
		if n := byName[c.Certname]; (n == nil || n.Param("condor", "daemon_role") != "central_manager") && strings.Contains(string(raw), key) {
			t.Errorf("%s: the catalog holds the pool signing key", c.Certname)
		}
		for node, tok := range tokens {
			if node != c.Certname && strings.Contains(string(raw), tok) {
				t.Errorf("%s: the catalog holds %s's token", c.Certname, node)
			}
		}
	}
	// The firewall of each member lets the private network reach 9618.
	for _, n := range nodes {
		nft, err := os.ReadFile(filepath.Join(build, "puppet/modules/kiln_site/files/firewall", n.FQDN+".nft"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`ip saddr @trusted4 tcp dport \{[^}]*\b9618\b[^}]*\} accept`).Match(nft) ||
			!strings.Contains(string(nft), "elements = { "+cl.Network("private").CIDR) {
			t.Errorf("%s: the nftables ruleset does not let the private network reach 9618:\n%s", n.FQDN, nft)
		}
	}
}

// signingKeyToJWTKey derives the HS256 key from the POOL file's content as
// HTCondor does: unscramble (XOR DE AD BE EF), double, HKDF-SHA256.
func signingKeyToJWTKey(t *testing.T, file string) []byte {
	pad := []byte{0xDE, 0xAD, 0xBE, 0xEF}
	k := make([]byte, len(file))
	for i := range k {
		k[i] = file[i] ^ pad[i%4]
	}
	jwtKey, err := hkdf.Key(sha256.New, append(k, k...), []byte("htcondor"), "master jwt", 32)
	if err != nil {
		t.Fatal(err)
	}
	return jwtKey
}

// checkToken checks a token the way the central manager's collector does:
// key id POOL, issuer its trust domain, a subject, and an HS256 signature.
func checkToken(t *testing.T, node, tok string, jwtKey []byte, trustDomain string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Errorf("%s: the token is not a JWT: %q", node, tok)
		return
	}
	m := hmac.New(sha256.New, jwtKey)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(m.Sum(nil)) != parts[2] {
		t.Errorf("%s: the token's signature is not the pool key's", node)
	}
	var header, payload map[string]any
	for i, v := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			t.Errorf("%s: token part %d is not base64url JSON", node, i)
			return
		}
	}
	if header["kid"] != "POOL" || payload["iss"] != trustDomain || payload["sub"] != fmt.Sprintf("condor@%s", trustDomain) {
		t.Errorf("%s: token header %v payload %v", node, header, payload)
	}
}
