# @summary Mounts /home and /scratch from the storage server (autofs).
#
# @param server
#   The NFS server.
class gpufarm::nfs_client (
  String[1] $server,
) {
  package { ['nfs-utils', 'autofs']:
    ensure => installed,
  }
  file { '/etc/auto.master.d/gpufarm.autofs':
    ensure  => file,
    content => "/- /etc/auto.gpufarm\n",
    require => Package['autofs'],
    notify  => Service['autofs'],
  }
  file { '/etc/auto.gpufarm':
    ensure  => file,
    content => "/home -fstype=nfs4,rw,hard ${server}:/home\n/scratch -fstype=nfs4,rw,hard ${server}:/scratch\n",
    require => Package['autofs'],
    notify  => Service['autofs'],
  }
  service { 'autofs':
    ensure => running,
    enable => true,
  }
}
