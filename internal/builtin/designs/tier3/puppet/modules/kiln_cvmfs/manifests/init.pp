# @summary The worker environment: the CernVM-FS client mounted by autofs
#   through the site squid, apptainer, and the grid CA certificates with
#   fetch-crl.
#
# What cvmfs_config setup does on Linux, done here: the cvmfs package's
# %pre already makes the cvmfs user and puts it in the fuse group; the
# class adds the /cvmfs map to autofs (auto.master.d) and keeps autofs
# running, and writes /etc/cvmfs/default.local.
#
# @param repositories
#   The repositories the node knows (CVMFS_REPOSITORIES).
# @param http_proxy
#   CVMFS_HTTP_PROXY, the site squid; empty for none (client profile single).
# @param quota_limit_mb
#   CVMFS_QUOTA_LIMIT, the cache's soft limit in MB.
# @param cache_base
#   CVMFS_CACHE_BASE, where the cache lives.
# @param ca_package
#   The package of grid CA certificates (osg-ca-certs, igtf-ca-certs or
#   ca-policy-egi-core).
# @param hep_oslibs
#   Whether to install HEP_OSlibs, for LHC software run natively.
class kiln_cvmfs (
  Array[Kiln::Hostname, 1] $repositories,
  Pattern[/\A[^\n\r]*\z/] $http_proxy,
  Integer[1000] $quota_limit_mb,
  Kiln::Absolutepath $cache_base,
  Enum['osg-ca-certs', 'igtf-ca-certs', 'ca-policy-egi-core'] $ca_package,
  Boolean $hep_oslibs,
) {
  include kiln::autofs
  package { ['cvmfs', 'cvmfs-config-default']:
    ensure => installed,
  }
  file { $cache_base:
    ensure  => directory,
    owner   => 'cvmfs',
    group   => 'cvmfs',
    mode    => '0700',
    seltype => 'cvmfs_cache_t',
    require => Package['cvmfs'],
  }
  file { '/etc/cvmfs/default.local':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_cvmfs/default.local.epp', {
        'repositories'   => $repositories,
        'http_proxy'     => $http_proxy,
        'quota_limit_mb' => $quota_limit_mb,
        'cache_base'     => $cache_base,
    }),
    require => [Package['cvmfs', 'cvmfs-config-default'], File[$cache_base]],
  }
  # Repositories already mounted take the new settings without an unmount.
  exec { 'kiln_cvmfs reload':
    command     => '/usr/bin/cvmfs_config reload',
    refreshonly => true,
    subscribe   => File['/etc/cvmfs/default.local'],
  }
  file { '/etc/auto.master.d/cvmfs.autofs':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "# Managed by Puppet (kiln_cvmfs).\n/cvmfs /etc/auto.cvmfs\n",
    require => Package['cvmfs', 'autofs'],
    notify  => Service['autofs'],
  }

  package { 'apptainer':
    ensure => installed,
  }

  package { [$ca_package, 'fetch-crl']:
    ensure => installed,
  }
  # EPEL's fetch-crl runs from a systemd timer on EL8 and later (every six
  # hours and at boot); the package leaves it disabled.
  service { 'fetch-crl.timer':
    ensure  => running,
    enable  => true,
    require => Package['fetch-crl', $ca_package],
  }

  if $hep_oslibs {
    package { 'HEP_OSlibs':
      ensure => installed,
    }
  }
}
