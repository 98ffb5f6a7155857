# @summary Exports home and scratch to the cluster network.
#
# @param exports
#   The folders exported.
# @param clients
#   Who may mount them.
class gpufarm::nfs_server (
  Array[String[1], 1] $exports,
  String[1] $clients,
) {
  package { 'nfs-utils':
    ensure => installed,
  }
  file { $exports:
    ensure => directory,
  }
  file { '/etc/exports.d/gpufarm.exports':
    ensure  => file,
    content => $exports.map |$e| { "${e} ${clients}(rw,sync,no_subtree_check)\n" }.join(''),
    require => Package['nfs-utils'],
    notify  => Exec['exportfs -ra'],
  }
  service { 'nfs-server':
    ensure => running,
    enable => true,
  }
  exec { 'exportfs -ra':
    command     => '/usr/sbin/exportfs -ra',
    refreshonly => true,
    require     => Service['nfs-server'],
  }
}
