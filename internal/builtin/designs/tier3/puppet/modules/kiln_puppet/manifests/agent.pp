# @summary The Puppet agent that keeps the node configured: its server,
#   environment and run interval, the same settings the kickstart wrote.
#
# @param server
#   The Puppet server the agent talks to.
# @param environment
#   The Puppet environment.
# @param runinterval
#   Seconds between agent runs.
class kiln_puppet::agent (
  Kiln::Hostname $server,
  Pattern[/\A[a-z0-9_]+\z/] $environment,
  Integer[60] $runinterval,
) {
  package { 'openvox-agent':
    ensure => installed,
  }
  kiln_puppet::setting {
    'agent server':
      section => 'main',
      setting => 'server',
      value   => $server;
    'agent environment':
      section => 'main',
      setting => 'environment',
      value   => $environment;
    'agent runinterval':
      section => 'main',
      setting => 'runinterval',
      value   => String($runinterval);
  }
  service { 'puppet':
    ensure    => running,
    enable    => true,
    require   => Package['openvox-agent'],
    subscribe => Kiln_puppet::Setting['agent server', 'agent environment', 'agent runinterval'],
  }
}
