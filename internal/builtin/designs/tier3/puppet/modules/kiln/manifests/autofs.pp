# @summary autofs, which more than one module adds a map to (kiln_nfs::client
#   for the NFS areas, kiln_cvmfs for /cvmfs): the package and the running
#   service, declared once. A module includes this class and has its map
#   file notify Service['autofs'].
class kiln::autofs {
  package { 'autofs':
    ensure => installed,
  }
  service { 'autofs':
    ensure  => running,
    enable  => true,
    require => Package['autofs'],
  }
}
