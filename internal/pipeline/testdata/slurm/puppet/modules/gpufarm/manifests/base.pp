# @summary Time service on every node of the GPU farm.
#
# @param ntp_server
#   The NTP server chrony follows.
class gpufarm::base (
  String[1] $ntp_server,
) {
  package { 'chrony':
    ensure => installed,
  }
  file { '/etc/chrony.conf':
    ensure  => file,
    content => @("CHRONY"),
      # Managed by Puppet (gpufarm::base).
      server ${ntp_server} iburst
      driftfile /var/lib/chrony/drift
      makestep 1.0 3
      rtcsync
      | CHRONY
    require => Package['chrony'],
    notify  => Service['chronyd'],
  }
  service { 'chronyd':
    ensure => running,
    enable => true,
  }
}
