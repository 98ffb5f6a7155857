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
  service { 'nfs-server':
    ensure  => running,
    enable  => true,
    require => File['/etc/exports.d/kiln.exports'],
  }
  exec { 'kiln_nfs::server exportfs':
    command     => '/usr/sbin/exportfs -ra',
    refreshonly => true,
    require     => Service['nfs-server'],
  }
}
