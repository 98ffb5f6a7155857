# @summary One setting of the node's puppet.conf, set with puppet config set
#   so that the agent and the server classes can share the file.
#
# @param section
#   The puppet.conf section: main, agent or server.
# @param setting
#   The setting's name.
# @param value
#   Its value.
define kiln_puppet::setting (
  Enum['main', 'agent', 'server'] $section,
  Pattern[/\A[a-z_]+\z/] $setting,
  Pattern[/\A[^'\n\\]*\z/] $value,
) {
  $puppet = '/opt/puppetlabs/bin/puppet'
  exec { "puppet.conf [${section}] ${setting}":
    command  => "${puppet} config set --section ${section} ${setting} '${value}'",
    unless   => "[ \"\$(${puppet} config print --section ${section} ${setting})\" = '${value}' ]",
    provider => shell,
  }
}
