# @summary Mounts BeeGFS at /beegfs.
#
# @param mgmtd_host
#   The management daemon, on the storage network.
class genomics::beegfs_client (
  String[1] $mgmtd_host,
) {
  package { 'beegfs-client':
    ensure => installed,
  }
  file { '/etc/beegfs/genomics-client':
    ensure  => file,
    content => "${mgmtd_host}\n",
    require => Package['beegfs-client'],
  }
}
