# @summary Mounts the NFS server's home and shared areas at the same paths,
#   on demand (autofs), so a node boots even when the server is down.
#
# @param server
#   The NFS server, by its private name.
# @param mounts
#   The folders mounted, at the same path as exported.
class kiln_nfs::client (
  Kiln::Hostname $server,
  Array[Kiln::Absolutepath] $mounts,
) {
  include kiln::autofs
  package { 'nfs-utils':
    ensure => installed,
  }
  file { '/etc/auto.master.d/kiln.autofs':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "# Managed by Puppet (kiln_nfs::client).\n/- /etc/auto.kiln\n",
    require => Package['autofs'],
    notify  => Service['autofs'],
  }
  file { '/etc/auto.kiln':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_nfs/auto.kiln.epp', { 'server' => $server, 'mounts' => $mounts }),
    require => Package['autofs'],
    notify  => Service['autofs'],
  }
  # SELinux lets logins use home folders that live on NFS (setsebool, not
  # selboolean: that type lives in the selinux_core module, which OpenVox's
  # agent vendors but a plain Puppet does not).
  exec { 'kiln_nfs::client use_nfs_home_dirs':
    command => 'setsebool -P use_nfs_home_dirs on',
    onlyif  => 'selinuxenabled',
    unless  => "getsebool use_nfs_home_dirs | grep -q -- '--> on\$'",
    path    => ['/usr/sbin', '/usr/bin'],
  }
}
