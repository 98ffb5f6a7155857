package resolve_test

import (
	"strings"
	"testing"

	"kiln.dev/kiln/internal/load"
	"kiln.dev/kiln/internal/resolve"
)

// TestRepositoriesForTheSiteDialect: the cluster holds the design's
// repositories of the site's dialect only, {major} filled in, a site's
// mirror in place of the design's URL and keys (the design's kept as
// Upstream), and a node needs the repositories of its packages and those
// they require.
func TestRepositoriesForTheSiteDialect(t *testing.T) {
	site := strings.Replace(baseSite, "domain: example.org\n", "domain: example.org\nos: el8\n", 1) +
		"repositories:\n  epel: {baseurl: \"http://10.1.0.1/os/repos/kiln-epel/\", gpgkey: [\"http://10.1.0.1/os/repos/keys/RPM-GPG-KEY-EPEL-{major}\"]}\n"
	d, diags := load.FS(siteFS(map[string]string{"site.yaml": site}), "site/")
	if d == nil || diags.Err() != nil {
		t.Fatalf("load: %v", diags.Err())
	}
	c, rd := resolve.Cluster(d)
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range c.Repositories {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); strings.Contains(got, "crb") || !strings.Contains(got, "powertools") {
		t.Errorf("el8's repositories are %q: want powertools, not crb (el9 and el10 only)", got)
	}
	epel := c.RepositoryOf("restic")
	if epel == nil || epel.Name != "epel" {
		t.Fatalf("restic comes from %v, want epel", epel)
	}
	if !epel.Mirrored || epel.BaseURL != "http://10.1.0.1/os/repos/kiln-epel/" || epel.MirrorList != "" ||
		len(epel.GPGKeys) != 1 || epel.GPGKeys[0] != "http://10.1.0.1/os/repos/keys/RPM-GPG-KEY-EPEL-8" {
		t.Errorf("the site's mirror of epel: %+v", epel)
	}
	if u := epel.Upstream; u == nil || !strings.Contains(u.MirrorList, "repo=epel-8&") || u.GPGKeys[0] != "https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-8" {
		t.Errorf("epel's upstream: %+v", u)
	}
	if ov := c.RepositoryOf("openvox-agent"); ov == nil || ov.BaseURL != "https://yum.voxpupuli.org/openvox8/el/8/$basearch" || ov.Mirrored {
		t.Errorf("openvox8 on el8: %+v", ov)
	}
	var need []string
	for _, r := range c.RepositoriesFor([]string{"condor"}) {
		need = append(need, r.Name)
	}
	if got := strings.Join(need, " "); got != "powertools epel htcondor" {
		t.Errorf("a node installing condor needs %q, want powertools epel htcondor (htcondor requires epel, which requires powertools)", got)
	}
}
