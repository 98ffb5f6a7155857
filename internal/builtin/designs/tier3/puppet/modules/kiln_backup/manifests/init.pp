# @summary The Puppet side of the node's restic backups: restic itself and
#   the folder of the backup configuration.
#
# Kiln builds each node's kiln-backup and kiln-restore scripts, their timer
# and the repository password file (build/backup/NODE/), which the install
# puts in place; this class keeps restic installed and the configuration
# folder private, and records the repository the scripts use.
#
# @param repository
#   The node's restic repository.
# @param password
#   The repository password's secret. Puppet receives only its {SSHA} hash
#   (kiln never passes a secret itself to Puppet); the password reaches the
#   node in /etc/kiln/backup/restic-password from the build.
class kiln_backup (
  String[1] $repository,
  Pattern[/\A\{SSHA\}/] $password,
) {
  package { 'restic':
    ensure => installed,
  }
  file { ['/etc/kiln', '/etc/kiln/backup']:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0700',
  }
  file { '/etc/kiln/backup/repository':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0600',
    content => "${repository}\n",
  }
}
