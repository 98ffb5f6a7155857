# @summary The OpenLDAP server of the cluster's users and groups (EPEL's
#   openldap-servers), over TLS, with the administrator's commands in place
#   (admin_bin, e.g. /root/bin).
#
# slapd is configured in cn=config over ldapi:/// as root by
# kiln-slapd-setup: the cosine, nis and inetorgperson schemas the entries
# use, then the suffix, manager, access rules, indexes and TLS. The manager
# password arrives as an {SSHA} hash (kiln derives it from the site's
# secret), never in clear. slapd then listens on ldaps:/// (636) and the
# local socket only.
#
# TLS uses the server certificate kiln signed with the site CA for this
# node and the CA's certificate, which the kickstart put in place from the
# node's identity (kiln identity makes them; the key is 0600 root, and
# slapd, which runs as ldap, reads it through its group).
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
  # Where the kickstart put this node's certificate, its key and the site
  # CA (the catalog's ldap_server certificate: and kiln's site CA path).
  $tls_cert = '/etc/openldap/certs/kiln-ldap.crt'
  $tls_key = '/etc/openldap/certs/kiln-ldap.key'
  $tls_ca = '/etc/pki/tls/certs/kiln-site-ca.crt'

  package { ['openldap-servers', 'openldap-clients']:
    ensure => installed,
  }
  service { 'slapd':
    ensure  => running,
    enable  => true,
    require => Package['openldap-servers'],
  }
  # Only the permissions: the key's content is the node's identity.
  file { $tls_key:
    owner   => 'root',
    group   => 'ldap',
    mode    => '0640',
    require => Package['openldap-servers'],
  }
  file { '/usr/local/sbin/kiln-slapd-setup':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0700',
    content => file('kiln_ldap/kiln-slapd-setup'),
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
          'tls_cert'      => $tls_cert,
          'tls_key'       => $tls_key,
          'tls_ca'        => $tls_ca,
    })),
    require   => Package['openldap-servers'],
  }
  # Runs until it has applied the present kiln-config.ldif once: a failed
  # run (a missing certificate, say) is tried again at the next one.
  exec { 'kiln_ldap::server config':
    command => '/usr/local/sbin/kiln-slapd-setup /etc/openldap/kiln-config.ldif',
    unless  => '/usr/bin/cmp -s /etc/openldap/kiln-config.ldif /etc/openldap/kiln-config.ldif.applied',
    require => [Service['slapd'], File['/usr/local/sbin/kiln-slapd-setup', '/etc/openldap/kiln-config.ldif', $tls_key]],
  }
  # Then, with TLS configured, the listeners: ldaps and the local socket.
  file { '/etc/sysconfig/slapd':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => file('kiln_ldap/slapd.sysconfig'),
    require => Exec['kiln_ldap::server config'],
  }
  exec { 'kiln_ldap::server restart':
    command     => '/usr/bin/systemctl restart slapd',
    refreshonly => true,
    subscribe   => File['/etc/sysconfig/slapd'],
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
