package model

// User is an account of the cluster's directory.
type User struct {
	Name     string   `json:"name"`
	UID      int      `json:"uid"`
	Group    string   `json:"group"`
	GID      int      `json:"gid"`
	Groups   []string `json:"groups,omitempty"`
	FullName string   `json:"full_name"`
	// Home is the home folder the site gave, or "" to let the design's
	// templates choose (they know where homes are exported).
	Home  string `json:"home,omitempty"`
	Shell string `json:"shell"`
	// Password names the secret with the initial password, if any.
	Password string   `json:"password,omitempty"`
	SSHKeys  []string `json:"ssh_keys,omitempty"`
}

// Group is a group of the cluster's directory.
type Group struct {
	Name  string `json:"name"`
	GID   int    `json:"gid"`
	Admin bool   `json:"admin,omitempty"`
	Doc   string `json:"doc,omitempty"`
	// Members are the users with this group among their further groups
	// (not those for whom it is the primary group), by name.
	Members []string `json:"members,omitempty"`
}

// Group finds a group by name.
func (c *Cluster) Group(name string) *Group {
	for _, g := range c.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// Admins lists the users in an admin group (as primary or further group),
// in the site's order; the first is the one the directory starts with.
func (c *Cluster) Admins() []*User {
	var out []*User
	for _, u := range c.Users {
		for _, g := range append([]string{u.Group}, u.Groups...) {
			if mg := c.Group(g); mg != nil && mg.Admin {
				out = append(out, u)
				break
			}
		}
	}
	return out
}
