package validate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"kiln.dev/kiln/internal/diag"
	"kiln.dev/kiln/internal/ptype"
	"kiln.dev/kiln/internal/yamlx"
)

// posixName is what useradd and LDAP clients accept without surprises.
var posixName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// users checks the site's users and groups: names, unique ids, groups that
// exist, password secrets that exist.
func (v *checker) users() {
	s := v.d.Site
	groups := map[string]bool{}
	var groupNames []string
	gids := map[int]string{}
	for _, g := range s.Groups {
		where := "group " + g.Name.Value
		v.posixName(g.Name, where, "group")
		if groups[g.Name.Value] {
			v.diags.Add(g.Name.Pos, where, "the group is listed twice", "remove one of the two")
		}
		if err := ptype.CheckLine("the description", g.Doc); err != nil {
			v.diags.Add(g.KeyPos["doc"], where, err.Error(), "write the description on one line")
		}
		groups[g.Name.Value] = true
		groupNames = append(groupNames, g.Name.Value)
		if id, ok := v.posixID(g.GID, where, "gid"); ok {
			if other, dup := gids[id]; dup {
				v.diags.Add(g.GID.Pos, where, fmt.Sprintf("gid %d is also group %s's", id, other), "give each group its own gid")
			}
			gids[id] = g.Name.Value
		}
	}
	users := map[string]bool{}
	uids := map[int]string{}
	for _, u := range s.Users {
		where := "user " + u.Name.Value
		v.posixName(u.Name, where, "user")
		if users[u.Name.Value] {
			v.diags.Add(u.Name.Pos, where, "the user is listed twice", "remove one of the two")
		}
		users[u.Name.Value] = true
		if id, ok := v.posixID(u.UID, where, "uid"); ok {
			if other, dup := uids[id]; dup {
				v.diags.Add(u.UID.Pos, where, fmt.Sprintf("uid %d is also user %s's", id, other),
					"give each user their own uid; files on the NFS server belong to numbers, not names")
			}
			uids[id] = u.Name.Value
		}
		for _, g := range append([]yamlx.Scalar{u.Group}, u.Groups...) {
			if g.Value != "" && !groups[g.Value] {
				v.diags.Add(g.Pos, where, fmt.Sprintf("there is no group %q", g.Value),
					fix(diag.DidYouMean(g.Value, groupNames), fmt.Sprintf("list it under groups: with a gid, e.g. - {name: %s, gid: 5000}", g.Value)))
			}
		}
		for _, f := range []struct {
			s    yamlx.Scalar
			what string
		}{{u.FullName, "the full name"}, {u.Home, "the home folder"}, {u.Shell, "the shell"}} {
			if err := ptype.CheckLine(f.what, f.s.Value); err != nil {
				v.diags.Add(f.s.Pos, where, err.Error(), "write it on one line, without control characters; it becomes one line of the directory's LDIF")
			}
		}
		if h := u.Home.Value; h != "" && !strings.HasPrefix(h, "/") {
			v.diags.Add(u.Home.Pos, where, fmt.Sprintf("the home folder %q is not an absolute path", h), "write it from the root, e.g. /export/home/"+u.Name.Value)
		}
		if sh := u.Shell.Value; sh != "" && !strings.HasPrefix(sh, "/") {
			v.diags.Add(u.Shell.Pos, where, fmt.Sprintf("the shell %q is not an absolute path", sh), "e.g. /bin/bash")
		}
		if p := u.Password; p.Value != "" {
			if _, ok := s.Secrets[p.Value]; !ok {
				v.diags.Add(p.Pos, where, fmt.Sprintf("there is no secret called %q", p.Value),
					fix(diag.DidYouMean(p.Value, sortedKeys(s.Secrets)), fmt.Sprintf("list it under secrets: (%s: {file: secrets/%s}) and put the password in that file", p.Value, p.Value)))
			}
		}
		for _, k := range u.SSHKeys {
			if err := ptype.CheckLine("the SSH key", k.Value); err != nil {
				v.diags.Add(k.Pos, where, err.Error(), "paste the one line of the user's ~/.ssh/id_ed25519.pub, one key per item")
			} else if f := strings.Fields(k.Value); len(f) < 2 || !strings.HasPrefix(f[0], "ssh-") && !strings.HasPrefix(f[0], "ecdsa-") && !strings.HasPrefix(f[0], "sk-") {
				v.diags.Add(k.Pos, where, "this is not an SSH public key", "paste the one line of the user's ~/.ssh/id_ed25519.pub (it starts with ssh-ed25519)")
			} else if why := sshKeyProblem(k.Value); why != "" {
				v.diags.Add(k.Pos, where, why, "paste the whole line of the user's ~/.ssh/id_ed25519.pub again: sshd would refuse this key")
			}
		}
	}
}

func (v *checker) posixName(s yamlx.Scalar, where, what string) {
	if s.Value != "" && !posixName.MatchString(s.Value) {
		v.diags.Add(s.Pos, where, fmt.Sprintf("%q is not a usable %s name", s.Value, what),
			"use at most 32 lower case letters, digits, _ and -, starting with a letter")
	}
}

func (v *checker) posixID(s yamlx.Scalar, where, what string) (int, bool) {
	if s.Value == "" {
		return 0, false
	}
	id, err := strconv.Atoi(s.Value)
	if err != nil || id < 0 || id > 2147483647 {
		v.diags.Add(s.Pos, where, fmt.Sprintf("%s %q is not a number", what, s.Value), "write a whole number such as 5001")
		return 0, false
	}
	if id < 1000 {
		v.diags.Add(s.Pos, where, fmt.Sprintf("%s %d is in the range the OS keeps for system accounts", what, id), "use a number of 1000 or more (e.g. 5001)")
		return 0, false
	}
	return id, true
}

// sshKeyProblem says why sshd would not accept key (one authorized_keys
// line), as golang.org/x/crypto/ssh reads it: a truncated or mangled key
// is refused here rather than on the node, where root's or a user's login
// would fail. "" when the key parses.
func sshKeyProblem(key string) string {
	pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
	switch {
	case err != nil:
		return "this SSH public key does not parse (is it cut short, or a private key?)"
	case len(strings.TrimSpace(string(rest))) > 0:
		return "this holds more than one SSH key"
	case pub == nil:
		return "this is not an SSH public key"
	}
	return ""
}
