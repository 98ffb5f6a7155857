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
	// Repositories is how many node repositories the site has.
	Repositories int
}

// OK reports whether the drill found nothing wrong in what it checked;
// Complete says whether it checked every node repository.
func (r *DrillResult) OK() bool { return len(r.Differences) == 0 && len(r.Failed) == 0 }

// Complete reports whether every node repository was checked.
func (r *DrillResult) Complete() bool { return len(r.NotChecked) == 0 }

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
		res.Repositories++
		remote := strings.HasPrefix(r.Where, "sftp:") || strings.HasPrefix(r.Where, "rest:")
		dir := LocalRepository(r.Where)
		if dir == "" && !remote {
			res.NotChecked = append(res.NotChecked, fmt.Sprintf("%s (%s: a kind of repository kiln drill does not open; run kiln-backup check on the node)", r.Where, r.Node))
			continue
		}
		if dir != "" {
			if _, err := os.Stat(dir); err != nil {
				res.NotChecked = append(res.NotChecked, fmt.Sprintf("%s (%s: not a folder on this machine; run kiln-backup check on the node)", r.Where, r.Node))
				continue
			}
		}
		module, pwParam := s.Defs.Design.Backup.Module.Value, s.Defs.Design.Backup.Password.Value
		if remote {
			// Reachable at all? Opening the repository (its config) says;
			// only a repository opened and then not checking out is a
			// failure, one out of reach is not checked.
			if err := restic(module, pwParam, restored, r, s, "cat", "config"); err != nil {
				res.NotChecked = append(res.NotChecked, fmt.Sprintf("%s (%s: cannot open it from here: %v; run kiln-backup check on the node)", r.Where, r.Node, err))
				continue
			}
		}
		fmt.Fprintf(log, "restic check %s\n", r.Where)
		if err := restic(module, pwParam, restored, r, s, "check"); err != nil {
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

// restic runs restic (check, or cat config) on a node's repository with
// the password the restored site holds for it. An sftp: repository is
// reached with ssh in batch mode (the keys of whoever runs the drill) and
// a short connect timeout, so that an unreachable one fails fast.
func restic(module, param, site string, r Row, s *pipeline.Site, args ...string) error {
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
	argv := []string{"--no-cache", "-r", r.Where}
	if host, ok := sftpHost(r.Where); ok {
		argv = append(argv, "-o", "sftp.command=ssh -o BatchMode=yes -o ConnectTimeout=10 "+host+" -s sftp")
	}
	cmd := exec.Command(prog, append(argv, args...)...)
	cmd.Env = append(os.Environ(), "RESTIC_PASSWORD_FILE="+pwFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, lastLines(string(out), 3))
	}
	return nil
}

// sftpHost is the user@host of an sftp:user@host:/path repository.
func sftpHost(repo string) (string, bool) {
	rest, ok := strings.CutPrefix(repo, "sftp:")
	if !ok || strings.HasPrefix(rest, "//") {
		return "", false
	}
	host, _, ok := strings.Cut(rest, ":")
	if !ok || host == "" || strings.HasPrefix(host, "-") {
		return "", false
	}
	return host, true
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " / ")
}
