# @summary Time and root's password on every node.
#
# @param ntp_server
#   The NTP server chrony follows.
# @param root_hash
#   root's password as its SHA-512 crypt hash (the secret's sha512crypt format).
class genomics::base (
  String[1] $ntp_server,
  Pattern[/\A\$6\$[.\/0-9A-Za-z]{1,16}\$[.\/0-9A-Za-z]{86}\z/] $root_hash,
) {
  package { 'chrony':
    ensure => installed,
  }
  file { '/etc/chrony.conf':
    ensure  => file,
    content => "# Managed by Puppet (genomics::base).\nserver ${ntp_server} iburst\ndriftfile /var/lib/chrony/drift\n",
    require => Package['chrony'],
  }
  user { 'root':
    password => Sensitive($root_hash),
  }
}
