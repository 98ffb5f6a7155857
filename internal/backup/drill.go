package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"kiln.dev/kiln/internal/identity"
	"kiln.dev/kiln/internal/output"
	"kiln.dev/kiln/internal/pipeline"
)

// Latest returns the newest archive in the site's backups folder (by name:
// kiln backup names them by time).
func Latest(siteDir string) (string, error) {
	m, err := filepath.Glob(filepath.Join(siteDir, BackupsDir, "*.tar"))
	if err != nil {
		return "", err
	}
	if len(m) == 0 {
		return "", fmt.Errorf("there is no archive in %s: run kiln backup -C %s first, or name one with --archive", filepath.Join(siteDir, BackupsDir), siteDir)
	}
	sort.Strings(m)
	return m[len(m)-1], nil
}

// DrillResult is what a drill found.
type DrillResult struct {
	Archive     string
	Members     int
	Files       int      // files in the build
	Differences []string // build files that differ between the live site and the restored one
	Checked     []string // repositories restic check passed
	Failed      []string // repositories restic check failed, with why
	NotChecked  []string // repositories out of reach from here
}

// OK reports whether the drill found nothing wrong.
func (r *DrillResult) OK() bool { return len(r.Differences) == 0 && len(r.Failed) == 0 }

// Drill restores the archive into a scratch folder, builds both the live
// site and the restored one, and compares the builds file by file; then it
// runs restic check, with the password from the restored site, on every
// node repository that is a local folder here.
func Drill(siteDir, archive string, key *identity.Key, log io.Writer) (*DrillResult, error) {
	res := &DrillResult{Archive: archive}
	scratch, err := os.MkdirTemp("", "kiln-drill-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	restored := filepath.Join(scratch, "site")
	fmt.Fprintf(log, "restoring %s into a scratch folder\n", archive)
	members, err := Restore(archive, restored, key)
	if err != nil {
		return nil, fmt.Errorf("the archive does not restore: %w", err)
	}
	res.Members = len(members)

	live, err := build(siteDir)
	if err != nil {
		return nil, fmt.Errorf("the live site does not build: %w", err)
	}
	again, err := build(restored)
	if err != nil {
		return nil, fmt.Errorf("the restored site does not build: %w", err)
	}
	res.Files = len(live)
	res.Differences = compare(live, again)
	fmt.Fprintf(log, "built both: %d files, %d differ\n", len(live), len(res.Differences))

	s, err := pipeline.Resolve(pipeline.Source{Dir: restored})
	if err != nil {
		return nil, err
	}
	p := Compute(s.Defs, s.Cluster)
	seen := map[string]bool{}
	for _, r := range p.Rows {
		if r.Where == "" || seen[r.Where] {
			continue
		}
		seen[r.Where] = true
		dir := LocalRepository(r.Where)
		if dir == "" {
			res.NotChecked = append(res.NotChecked, fmt.Sprintf("%s (%s: run kiln-backup check there)", r.Where, r.Node))
			continue
		}
		if _, err := os.Stat(dir); err != nil {
			res.NotChecked = append(res.NotChecked, fmt.Sprintf("%s (%s: not a folder here)", r.Where, r.Node))
			continue
		}
		fmt.Fprintf(log, "restic check %s\n", r.Where)
		if err := resticCheck(s.Defs.Design.Backup.Module.Value, s.Defs.Design.Backup.Password.Value, restored, r, s); err != nil {
			res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", r.Where, err))
		} else {
			res.Checked = append(res.Checked, r.Where)
		}
	}
	return res, nil
}

func build(dir string) (output.Manifest, error) {
	s, err := pipeline.Resolve(pipeline.Source{Dir: dir})
	if err != nil {
		return nil, err
	}
	files, err := s.Render()
	if err != nil {
		return nil, err
	}
	return output.Entries(files), nil
}

func compare(a, b output.Manifest) []string {
	var out []string
	bb := b.ByPath()
	for _, e := range a {
		o, ok := bb[e.Path]
		switch {
		case !ok:
			out = append(out, e.Path+": only in the live build")
		case o.SHA256 != e.SHA256 || o.Mode != e.Mode:
			out = append(out, e.Path+": differs")
		}
	}
	aa := a.ByPath()
	for _, e := range b {
		if _, ok := aa[e.Path]; !ok {
			out = append(out, e.Path+": only in the restored build")
		}
	}
	sort.Strings(out)
	return out
}

// resticCheck runs restic check on a node's repository with the password
// the restored site holds for it.
func resticCheck(module, param, site string, r Row, s *pipeline.Site) error {
	prog, err := exec.LookPath("restic")
	if err != nil {
		return errors.New("the restic program is not installed here")
	}
	n := s.Cluster.Node(r.Node)
	name, _ := n.Param(module, param).(string)
	ref, ok := s.Defs.Site.Secrets[name]
	if !ok {
		return fmt.Errorf("the restored site has no secret %q", name)
	}
	pw, err := fs.ReadFile(os.DirFS(site), path.Clean(ref.File.Value))
	if err != nil {
		return err
	}
	pwFile := filepath.Join(site, ".restic-password")
	if err := os.WriteFile(pwFile, bytes.TrimRight(pw, "\r\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	cmd := exec.Command(prog, "--no-cache", "-r", r.Where, "check")
	cmd.Env = append(os.Environ(), "RESTIC_PASSWORD_FILE="+pwFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, lastLines(string(out), 3))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " / ")
}
