# @summary The OpenLDAP server of the cluster's users and groups, with the
#   administrator's commands in place (admin_bin, e.g. /root/bin).
#
# The directory's suffix, manager DN and manager password are set in the
# cn=config database over ldapi:/// as root; the password arrives as an
# {SSHA} hash (kiln derives it from the site's secret), never in clear.
#
# @param base_dn
#   The directory's base DN.
# @param root_dn
#   The directory manager's DN.
# @param root_password
#   The directory manager's password as an {SSHA} hash.
# @param admin_bin
#   Where the LDAP admin commands are installed.
class kiln_ldap::server (
  String[1] $base_dn,
  String[1] $root_dn,
  Pattern[/\A\{SSHA\}[A-Za-z0-9+\/]+=*\z/] $root_password,
  Kiln::Absolutepath $admin_bin,
) {
  package { ['openldap-servers', 'openldap-clients']:
    ensure => installed,
  }
  service { 'slapd':
    ensure  => running,
    enable  => true,
    require => Package['openldap-servers'],
  }
  file { '/etc/openldap/kiln-config.ldif':
    ensure    => file,
    owner     => 'root',
    group     => 'root',
    mode      => '0600',
    show_diff => false,
    content   => Sensitive(epp('kiln_ldap/config.ldif.epp', {
          'base_dn'       => $base_dn,
          'root_dn'       => $root_dn,
          'root_password' => $root_password,
    })),
    require   => Package['openldap-servers'],
    notify    => Exec['kiln_ldap::server config'],
  }
  exec { 'kiln_ldap::server config':
    command     => '/usr/bin/ldapmodify -Q -Y EXTERNAL -H ldapi:/// -f /etc/openldap/kiln-config.ldif',
    refreshonly => true,
    require     => Service['slapd'],
  }

  file { $admin_bin:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0700',
  }
  ['ldap-adduser', 'ldap-deluser', 'ldap-passwd', 'ldap-search', 'ldap-backup'].each |$cmd| {
    file { "${admin_bin}/${cmd}":
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0700',
      content => epp("kiln_ldap/${cmd}.epp", { 'base_dn' => $base_dn, 'root_dn' => $root_dn }),
    }
  }
}
