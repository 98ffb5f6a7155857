# @summary The Slurm daemons the node runs, and MUNGE under them.
#
# @param cluster_name
#   Slurm's ClusterName.
# @param daemons
#   The Slurm daemons this node runs.
# @param controller
#   The node running slurmctld.
# @param munge_key
#   The MUNGE key's secret, as an {SSHA} hash: kiln never gives Puppet the
#   key itself; the node's munge.key comes from the build.
class gpufarm::slurm (
  String[1] $cluster_name,
  Array[Enum['slurmctld', 'slurmd', 'slurmdbd']] $daemons,
  String[1] $controller,
  Pattern[/\A\{SSHA\}/] $munge_key,
) {
  package { ['slurm', 'munge']:
    ensure => installed,
  }
  file { '/etc/munge/munge.key':
    ensure  => file,
    owner   => 'munge',
    group   => 'munge',
    mode    => '0400',
    require => Package['munge'],
  }
  service { 'munge':
    ensure    => running,
    enable    => true,
    subscribe => File['/etc/munge/munge.key'],
  }
  $daemons.each |$d| {
    service { $d:
      ensure  => running,
      enable  => true,
      require => Service['munge'],
    }
  }
  file { '/etc/slurm/gpufarm-controller':
    ensure  => file,
    content => "# ${cluster_name}: slurmctld runs on ${controller}.\n",
  }
}
