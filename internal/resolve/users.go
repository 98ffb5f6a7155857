package resolve

import (
	"strconv"

	"kiln.dev/kiln/internal/model"
)

// users copies the site's users and groups into the model, with each
// user's primary gid and each group's further members. Validation has
// reported bad ids and unknown groups; they resolve to zero values here.
func (r *resolver) users() {
	s := r.d.Site
	byName := map[string]*model.Group{}
	for _, g := range s.Groups {
		gid, _ := strconv.Atoi(g.GID.Value)
		mg := &model.Group{Name: g.Name.Value, GID: gid, Admin: g.Admin, Doc: g.Doc}
		r.c.Groups = append(r.c.Groups, mg)
		byName[mg.Name] = mg
	}
	for _, u := range s.Users {
		uid, _ := strconv.Atoi(u.UID.Value)
		mu := &model.User{
			Name:     u.Name.Value,
			UID:      uid,
			Group:    u.Group.Value,
			FullName: u.FullName.Value,
			Home:     u.Home.Value,
			Shell:    orDefault(u.Shell.Value, "/bin/bash"),
			Password: u.Password.Value,
		}
		if mu.FullName == "" {
			mu.FullName = mu.Name
		}
		if g := byName[mu.Group]; g != nil {
			mu.GID = g.GID
		}
		for _, g := range u.Groups {
			mu.Groups = append(mu.Groups, g.Value)
			if mg := byName[g.Value]; mg != nil {
				mg.Members = append(mg.Members, mu.Name)
			}
		}
		for _, k := range u.SSHKeys {
			mu.SSHKeys = append(mu.SSHKeys, k.Value)
		}
		r.c.Users = append(r.c.Users, mu)
	}
}
