# @summary Exports the home and shared areas to the private network (NFSv4).
#
# @param exports
#   The folders exported; created if missing.
# @param clients
#   The network allowed to mount them.
class kiln_nfs::server (
  Array[Kiln::Absolutepath, 1] $exports,
  Kiln::Cidr $clients,
) {
  package { 'nfs-utils':
    ensure => installed,
  }
  file { $exports:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }
  file { '/etc/exports.d/kiln.exports':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_nfs/exports.epp', { 'exports' => $exports, 'clients' => $clients }),
    require => [Package['nfs-utils'], File[$exports]],
    notify  => Exec['kiln_nfs::server exportfs'],
  }
  # NFSv4 only: no NFSv3, so neither rpcbind nor mountd answers on the
  # network (the firewall opens 2049 alone).
  file { '/etc/nfs.conf.d/kiln.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "# Managed by Puppet (kiln_nfs::server): NFSv4 only.\n[nfsd]\nvers3=n\n",
    require => Package['nfs-utils'],
    notify  => Service['nfs-server'],
  }
  service { ['rpcbind.service', 'rpcbind.socket', 'rpc-statd.service']:
    ensure  => stopped,
    enable  => 'mask',
    require => Package['nfs-utils'],
    before  => Service['nfs-server'],
  }
  service { 'nfs-server':
    ensure  => running,
    enable  => true,
    require => File['/etc/exports.d/kiln.exports', '/etc/nfs.conf.d/kiln.conf'],
  }
  exec { 'kiln_nfs::server exportfs':
    command     => '/usr/sbin/exportfs -ra',
    refreshonly => true,
    require     => Service['nfs-server'],
  }
}
