# @summary Takes the cluster's users and groups from its LDAP directory
#   (SSSD), with home directories created at first login.
#
# Over TLS only: ldaps:// (or StartTLS for an ldap:// URI), the server's
# certificate checked against the site CA that the kickstart put in place
# from kiln's identity (ldap_tls_reqcert = demand).
#
# @param uri
#   The LDAP server's URI, e.g. ldaps://ldap.mytier3.local/.
# @param base_dn
#   The directory's base DN.
class kiln_ldap::client (
  Pattern[/\Aldaps?:\/\/[^\s]+\z/] $uri,
  String[1] $base_dn,
) {
  # The site CA's certificate (kiln identity's SiteCAPath).
  $tls_ca = '/etc/pki/tls/certs/kiln-site-ca.crt'

  package { ['sssd', 'openldap-clients', 'oddjob-mkhomedir']:
    ensure => installed,
  }
  file { '/etc/sssd/sssd.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0600',
    content => epp('kiln_ldap/sssd.conf.epp', { 'uri' => $uri, 'base_dn' => $base_dn, 'tls_ca' => $tls_ca }),
    require => Package['sssd'],
    notify  => Service['sssd'],
  }
  file { '/etc/openldap/ldap.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "# Managed by Puppet (kiln_ldap::client).\nURI ${uri}\nBASE ${base_dn}\nTLS_CACERT ${tls_ca}\nTLS_REQCERT demand\n",
    require => Package['openldap-clients'],
  }
  exec { 'kiln_ldap::client authselect':
    command => '/usr/bin/authselect select sssd with-mkhomedir --force',
    unless  => "/bin/sh -c '/usr/bin/authselect current | /usr/bin/grep -q \"Profile ID: sssd\"'",
    require => Package['sssd', 'oddjob-mkhomedir'],
  }
  service { ['sssd', 'oddjobd']:
    ensure  => running,
    enable  => true,
    require => Exec['kiln_ldap::client authselect'],
  }
}
