# @summary HTCondor, configured through Puppet (not a shared file on NFS)
#   for the node's part in the pool: central manager, submit or execute.
#
# @param daemon_role
#   The node's part in the pool.
# @param central_manager
#   The pool's collector and negotiator.
# @param allow_write
#   Hosts allowed to join the pool.
# @param pool_password
#   The pool password daemons authenticate with; kiln derives it from the
#   site's secret (an {SSHA} string), the same on every node of the pool.
class kiln_condor (
  Enum['central_manager', 'submit', 'execute'] $daemon_role,
  Kiln::Hostname $central_manager,
  Array[String[1], 1] $allow_write,
  String[8] $pool_password,
) {
  package { 'condor':
    ensure => installed,
  }
  file { '/etc/condor/config.d/50-kiln.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_condor/50-kiln.conf.epp', {
        'daemon_role'     => $daemon_role,
        'central_manager' => $central_manager,
        'allow_write'     => $allow_write,
    }),
    require => Package['condor'],
    notify  => Service['condor'],
  }
  file { '/etc/condor/passwords.d':
    ensure  => directory,
    owner   => 'root',
    group   => 'root',
    mode    => '0700',
    require => Package['condor'],
  }
  # condor_store_cred writes the password file in HTCondor's own format; it
  # reads the password from a 0600 file, not from its command line.
  file { '/etc/condor/kiln-pool-password':
    ensure    => file,
    owner     => 'root',
    group     => 'root',
    mode      => '0600',
    show_diff => false,
    content   => Sensitive($pool_password),
    require   => Package['condor'],
    notify    => Exec['kiln_condor pool password'],
  }
  exec { 'kiln_condor pool password':
    command     => '/usr/sbin/condor_store_cred add -c -i /etc/condor/kiln-pool-password -f /etc/condor/passwords.d/POOL',
    refreshonly => true,
    require     => File['/etc/condor/passwords.d'],
    notify      => Service['condor'],
  }
  service { 'condor':
    ensure => running,
    enable => true,
  }
}
