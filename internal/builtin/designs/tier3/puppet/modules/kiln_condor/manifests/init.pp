# @summary HTCondor, configured through Puppet (not a shared file on NFS)
#   for the node's part in the pool: central manager, submit or execute.
#
# Daemons authenticate with IDTOKENS (docs/condor.md). The central manager
# keeps the pool signing key (/etc/condor/passwords.d/POOL) and so checks
# the tokens the others present; every other member holds only its own
# token (/etc/condor/tokens.d/kiln). Kiln makes both from the site secret
# condor_signing_key and puts them in the node's own Hiera data
# (secrets/CERTNAME/kiln_condor.yaml), so no other node's catalog has them.
#
# @param daemon_role
#   The node's part in the pool.
# @param central_manager
#   The pool's collector and negotiator (CONDOR_HOST).
# @param uid_domain
#   UID_DOMAIN, FILESYSTEM_DOMAIN and TRUST_DOMAIN, the same on every member.
# @param network_interface
#   The address HTCondor binds and advertises (the node's private one).
# @param submit_packages
#   Packages a submit node gets for its users (the smoke test needs gcc).
class kiln_condor (
  Enum['central_manager', 'submit', 'execute'] $daemon_role,
  Kiln::Hostname $central_manager,
  Kiln::Hostname $uid_domain,
  Kiln::Ip $network_interface,
  Array[String[1]] $submit_packages,
) {
  package { 'condor':
    ensure => installed,
  }
  if $daemon_role == 'submit' {
    package { $submit_packages:
      ensure => installed,
    }
  }
  file { '/etc/condor/config.d/50-kiln.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_condor/50-kiln.conf.epp', {
        'daemon_role'       => $daemon_role,
        'central_manager'   => $central_manager,
        'uid_domain'        => $uid_domain,
        'network_interface' => $network_interface,
    }),
    require => Package['condor'],
    notify  => Service['condor'],
  }
  if $daemon_role == 'central_manager' {
    # Written before the collector first starts: it would make a random
    # key of its own if the file were missing.
    $signing_key = lookup('kiln_condor::signing_key', String[1])
    file { '/etc/condor/passwords.d':
      ensure  => directory,
      owner   => 'root',
      group   => 'root',
      mode    => '0700',
      require => Package['condor'],
    }
    file { '/etc/condor/passwords.d/POOL':
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      show_diff => false,
      content   => Sensitive($signing_key),
      notify    => Service['condor'],
    }
  } else {
    # Only the central manager keeps the key (a POOL file here would be one
    # left by an earlier pool-password setup).
    file { '/etc/condor/passwords.d/POOL':
      ensure => absent,
      notify => Service['condor'],
    }
    $token = lookup('kiln_condor::token', String[1])
    file { '/etc/condor/tokens.d':
      ensure  => directory,
      owner   => 'root',
      group   => 'root',
      mode    => '0700',
      require => Package['condor'],
    }
    file { '/etc/condor/tokens.d/kiln':
      ensure    => file,
      owner     => 'root',
      group     => 'root',
      mode      => '0600',
      show_diff => false,
      content   => Sensitive("${token}\n"),
      notify    => Service['condor'],
    }
  }
  # The plain pool password an earlier kiln_condor fed condor_store_cred.
  file { '/etc/condor/kiln-pool-password':
    ensure => absent,
  }
  service { 'condor':
    ensure => running,
    enable => true,
  }
}
