# @summary The node's restic backups: restic, the node's kiln-backup and
#   kiln-restore scripts, the hourly timer, the repository password and the
#   node's SSH key; on a node that holds other nodes' sftp repositories, one
#   sftp-only account per client node.
#
# The files come from Hiera, not from class parameters: kiln writes each
# node's into data/backup/nodes/CERTNAME.yaml (0600 on the Puppet server,
# looked up by the certificate's name, so a node's catalog holds its own
# password and key and no other's), and every repository account into
# data/backup/repositories.yaml (public keys only).
#
# A repository account (kiln-backup-NODE by default) has its home above
# the repository, owned by root; its authorized_keys, also root's, lets
# the client node's key in for sftp only (restrict, command="internal-sftp"),
# and only that account can enter the repository folder (0700).
#
# @param repository
#   The node's restic repository.
# @param password
#   The repository password's secret. Puppet receives its {SSHA} hash here;
#   the password itself reaches only this node, in its Hiera data.
# @param ssh_key
#   The secret the node's SSH key is derived from (its {SSHA} hash here).
class kiln_backup (
  String[1] $repository,
  Pattern[/\A\{SSHA\}/] $password,
  Pattern[/\A\{SSHA\}/] $ssh_key,
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

  # This node's backup: the files kiln built for it.
  $file_type = Hash[Kiln::Absolutepath, Struct[{ 'mode' => Pattern[/\A0[0-7]{3}\z/], 'content' => String }]]
  $files = lookup('kiln_backup::files', $file_type, 'first', {})
  $files.each |$path, $f| {
    # A private file's content stays out of reports and diffs.
    $content = $f['mode'] ? {
      '0600'  => Sensitive($f['content']),
      default => $f['content'],
    }
    file { $path:
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => $f['mode'],
      content => $content,
      require => File['/etc/kiln/backup'],
    }
  }
  $units = ['/etc/systemd/system/kiln-backup.service', '/etc/systemd/system/kiln-backup.timer'].filter |$u| { $u in $files }
  unless $units.empty {
    exec { 'kiln_backup daemon-reload':
      command     => '/usr/bin/systemctl daemon-reload',
      refreshonly => true,
      subscribe   => File[$units],
    }
    service { 'kiln-backup.timer':
      ensure  => running,
      enable  => true,
      require => [Exec['kiln_backup daemon-reload'], Package['restic']],
    }
  }
  if '/usr/local/sbin/kiln-backup' in $files {
    # Creates the repository the first time (kiln-backup init leaves an
    # existing one alone: a rebuilt node finds its snapshots).
    exec { 'kiln-backup init':
      command => '/usr/local/sbin/kiln-backup init',
      unless  => '/usr/local/sbin/kiln-backup initialized',
      path    => ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'],
      require => [File[keys($files)], Package['restic']],
    }
  }

  # Other nodes' repositories kept here.
  $client_type = Array[Struct[{
        'host' => String[1],
        'node' => String[1],
        'user' => Pattern[/\A[a-z_][a-z0-9_-]{0,31}\z/],
        'home' => Kiln::Absolutepath,
        'path' => Kiln::Absolutepath,
        'key'  => Pattern[/\Assh-ed25519 [A-Za-z0-9+\/=]+ [^\n]*\z/],
  }]]
  $clients = lookup('kiln_backup::repositories', $client_type, 'first', []).filter |$c| { $c['host'] == $trusted['certname'] }
  $clients.map |$c| { $c['home'] }.map |$h| { regsubst($h, '/[^/]+\z', '') }.unique.each |$base| {
    exec { "kiln_backup mkdir ${base}":
      command => ['/usr/bin/mkdir', '-p', $base],
      creates => $base,
    }
  }
  $clients.each |$c| {
    group { $c['user']:
      ensure => present,
      system => true,
    }
    user { $c['user']:
      ensure     => present,
      system     => true,
      gid        => $c['user'],
      home       => $c['home'],
      managehome => false,
      shell      => '/sbin/nologin',
      comment    => "kiln backups of ${c['node']} (sftp only)",
      require    => Group[$c['user']],
    }
    file { $c['home']:
      ensure  => directory,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      require => Exec["kiln_backup mkdir ${regsubst($c['home'], '/[^/]+\z', '')}"],
    }
    file { "${c['home']}/.ssh":
      ensure  => directory,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      seltype => 'ssh_home_t',
    }
    file { "${c['home']}/.ssh/authorized_keys":
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      seltype => 'ssh_home_t',
      content => join([
          "# Managed by Puppet (kiln_backup): ${c['node']}'s key, sftp into its repository only.",
          "restrict,command=\"internal-sftp -d ${c['path']}\" ${c['key']}",
          '',
      ], "\n"),
    }
    file { $c['path']:
      ensure  => directory,
      owner   => $c['user'],
      group   => $c['user'],
      mode    => '0700',
      require => User[$c['user']],
    }
  }
}
