package render

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"kiln.dev/kiln/internal/model"
)

func init() { funcGroups = append(funcGroups, sshKeyFuncs) }

// SSHKey is an ed25519 key pair in OpenSSH's formats.
type SSHKey struct {
	Private string // the private key file (openssh-key-v1, unencrypted)
	Public  string // the authorized_keys line: "ssh-ed25519 BASE64 COMMENT"
}

// SFTPRepository is a restic repository reached over sftp.
type SFTPRepository struct {
	User string
	Host string
	Port string // empty: ssh's default
	Path string // absolute
	Home string // the folder above Path
}

var (
	unixUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	sftpHost = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	// sftpPath is what may go in an authorized_keys command="…" and a
	// Puppet resource title as it is: no white space, quotes or backslash.
	sftpPath = regexp.MustCompile(`^(/[A-Za-z0-9._+@%=,-]+)+$`)
)

// sshKeyFuncs make per-node SSH keys from a site secret, and read restic's
// sftp repository addresses.
func sshKeyFuncs(r *renderer) template.FuncMap {
	return template.FuncMap{
		// sshKey derives an ed25519 key pair from a secret and a message
		// (a node's name): the same secret and message give the same key,
		// so builds are reproducible, and one node's key tells nothing of
		// another's. It marks the file secret-bearing.
		"sshKey": func(secretName, message, comment string) (SSHKey, error) {
			key, err := r.secret(secretName)
			if err != nil {
				return SSHKey{}, err
			}
			return deriveSSHKey(key, message, comment)
		},
		// sftpRepository reads a restic repository address of the forms
		// sftp:USER@HOST:/PATH and sftp://USER@HOST[:PORT]/PATH; any other
		// repository (a folder, s3:…, rest:…) gives nil. The user must be
		// a plain Unix account name and the path absolute, without white
		// space or quotes: both go into the repository host's
		// authorized_keys.
		"sftpRepository": parseSFTPRepository,
		// nodeNamed finds the node that answers to a name (its name, FQDN,
		// or a host name on one of its networks), or nil.
		"nodeNamed": func(c *model.Cluster, name string) *model.Node {
			for _, n := range c.Nodes {
				if n.Name == name || n.FQDN == name {
					return n
				}
				for _, i := range n.Interfaces {
					if i.Hostname == name {
						return n
					}
				}
			}
			return nil
		},
	}
}

func parseSFTPRepository(repo string) (*SFTPRepository, error) {
	rest, ok := strings.CutPrefix(repo, "sftp:")
	if !ok {
		return nil, nil
	}
	var dest, p, port string
	if u, ok := strings.CutPrefix(rest, "//"); ok {
		i := strings.IndexByte(u, '/')
		if i < 0 {
			return nil, fmt.Errorf("the repository %q has no path: write sftp://USER@HOST/PATH", repo)
		}
		dest, p = u[:i], u[i:]
		if h, pt, ok := strings.Cut(dest, ":"); ok {
			if n, err := strconv.Atoi(pt); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("the repository %q has a bad port %q", repo, pt)
			}
			dest, port = h, pt
		}
		p = "/" + strings.TrimLeft(p, "/")
	} else {
		d, pp, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("the repository %q has no path: write sftp:USER@HOST:/PATH", repo)
		}
		dest, p = d, pp
	}
	user, host, ok := strings.Cut(dest, "@")
	if !ok {
		return nil, fmt.Errorf("the repository %q names no user: write sftp:USER@HOST:/PATH, USER an account of the repository host that only this node uses", repo)
	}
	if !unixUser.MatchString(user) {
		return nil, fmt.Errorf("the repository %q: %q is not a Unix account name (lower-case letters, digits, - and _, at most 32, not starting with a digit or -)", repo, user)
	}
	if !sftpHost.MatchString(host) {
		return nil, fmt.Errorf("the repository %q: %q is not a host name", repo, host)
	}
	p = strings.TrimRight(p, "/")
	if !sftpPath.MatchString(p) || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "/./") {
		return nil, fmt.Errorf("the repository %q: the path %q must be absolute, without white space, quotes, backslashes or . and .. parts", repo, p)
	}
	home := p[:strings.LastIndexByte(p, '/')]
	if home == "" {
		return nil, fmt.Errorf("the repository %q: the path %q must be a folder inside another (the account's home)", repo, p)
	}
	return &SFTPRepository{User: user, Host: host, Port: port, Path: p, Home: home}, nil
}

// deriveSSHKey makes the key pair: the ed25519 seed is the HMAC-SHA256 of
// the message keyed by the secret.
func deriveSSHKey(secret, message, comment string) (SSHKey, error) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("kiln ssh key\x00" + message))
	seed := m.Sum(nil)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)

	wire := func(b []byte, parts ...[]byte) []byte {
		for _, p := range parts {
			b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
			b = append(b, p...)
		}
		return b
	}
	pubBlob := wire(nil, []byte("ssh-ed25519"), pub)
	// The check number only tells a right decryption from a wrong one; an
	// unencrypted key's can be anything, so it comes from the seed.
	check := sha256.Sum256(append([]byte("check"), seed...))
	var sec []byte
	sec = append(sec, check[:4]...)
	sec = append(sec, check[:4]...)
	sec = wire(sec, []byte("ssh-ed25519"), pub, priv, []byte(comment))
	for i := byte(1); len(sec)%8 != 0; i++ {
		sec = append(sec, i)
	}
	body := []byte("openssh-key-v1\x00")
	body = wire(body, []byte("none"), []byte("none"), nil)
	body = binary.BigEndian.AppendUint32(body, 1)
	body = wire(body, pubBlob, sec)

	b64 := base64.StdEncoding.EncodeToString(body)
	var out strings.Builder
	out.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n")
	for len(b64) > 70 {
		out.WriteString(b64[:70] + "\n")
		b64 = b64[70:]
	}
	out.WriteString(b64 + "\n-----END OPENSSH PRIVATE KEY-----\n")
	return SSHKey{
		Private: out.String(),
		Public:  "ssh-ed25519 " + base64.StdEncoding.EncodeToString(pubBlob) + " " + comment,
	}, nil
}
