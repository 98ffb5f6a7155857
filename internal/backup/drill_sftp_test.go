package backup

import "testing"

// kiln drill reaches an sftp: repository with ssh in batch mode; the host
// comes from the repository and nothing that ssh would read as an option.
func TestSFTPHost(t *testing.T) {
	for repo, want := range map[string]string{
		"sftp:kiln-backup-wn3@nfs.mytier3.local:/export/backup/restic/wn3/repo": "kiln-backup-wn3@nfs.mytier3.local",
		"sftp:nfs:/srv/restic":        "nfs",
		"sftp:-oProxyCommand=x:/repo": "",
		"sftp://user@host:22//repo":   "",
		"rest:http://head:8000/wn1":   "",
		"/export/backup/wn1":          "",
	} {
		got, ok := sftpHost(repo)
		if got != want || ok != (want != "") {
			t.Errorf("sftpHost(%q) = %q, %v; want %q", repo, got, ok, want)
		}
	}
}
