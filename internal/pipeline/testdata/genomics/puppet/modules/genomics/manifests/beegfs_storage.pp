# @summary A BeeGFS storage service.
#
# @param mgmtd_host
#   The management daemon, on the storage network.
class genomics::beegfs_storage (
  String[1] $mgmtd_host,
) {
  package { 'beegfs-storage':
    ensure => installed,
  }
  file { '/etc/beegfs/genomics-mgmtd':
    ensure  => file,
    content => "${mgmtd_host}\n",
    require => Package['beegfs-storage'],
  }
}
