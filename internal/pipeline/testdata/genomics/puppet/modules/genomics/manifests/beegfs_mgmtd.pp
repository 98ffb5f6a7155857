# @summary The BeeGFS management daemon, on one node of the cluster.
#
# @param port
#   Its port.
# @param connauth
#   BeeGFS's shared secret itself (the secret's raw format), for its
#   connAuthFile: only this node's catalog carries it.
class genomics::beegfs_mgmtd (
  Integer[1, 65535] $port,
  String[1] $connauth,
) {
  package { 'beegfs-mgmtd':
    ensure => installed,
  }
  file { '/etc/beegfs/connauthfile':
    ensure    => file,
    mode      => '0400',
    content   => Sensitive($connauth),
    show_diff => false,
    require   => Package['beegfs-mgmtd'],
  }
  file { '/etc/beegfs/genomics-mgmtd-port':
    ensure  => file,
    content => "${port}\n",
    require => Package['beegfs-mgmtd'],
  }
}
