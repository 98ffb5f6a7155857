# @summary Frontier Squid, the caching proxy for conditions data and CVMFS.
#
# Frontier Squid regenerates its own squid.conf from the package's default
# and /etc/squid/customize.sh at every start, so the class manages
# customize.sh, never squid.conf itself; this customize.sh writes the whole
# squid.conf.
#
# @param port
#   The port clients use.
# @param allowed_networks
#   Networks allowed to use the proxy.
# @param monitor_networks
#   Networks allowed to read the SNMP statistics (the WLCG monitors).
# @param cache_mem_mb
#   Memory cache size in MiB.
# @param cache_dir_gb
#   Disk cache size in GiB.
class kiln_frontier_squid (
  Kiln::Port $port,
  Array[Kiln::Cidr, 1] $allowed_networks,
  Array[Kiln::Cidr] $monitor_networks,
  Integer[16] $cache_mem_mb,
  Integer[1] $cache_dir_gb,
) {
  package { 'frontier-squid':
    ensure => installed,
  }
  file { '/etc/squid/customize.sh':
    ensure  => file,
    owner   => 'root',
    group   => 'squid',
    mode    => '0755',
    content => epp('kiln_frontier_squid/customize.sh.epp', {
        'fqdn'             => $facts['networking']['fqdn'],
        'port'             => $port,
        'allowed_networks' => $allowed_networks,
        'monitor_networks' => $monitor_networks,
        'cache_mem_mb'     => $cache_mem_mb,
        'cache_dir_mb'     => $cache_dir_gb * 1024,
    }),
    require => Package['frontier-squid'],
    notify  => Service['frontier-squid'],
  }
  service { 'frontier-squid':
    ensure => running,
    enable => true,
  }
}
