# @summary Routes the private network out through the public one.
#
# The class turns on IPv4 forwarding and strict reverse-path filtering on both
# interfaces; the NAT masquerading itself is part of the ruleset kiln renders
# for the node's firewall (kiln_firewall, mode managed). With the firewall in
# mode none the site's own firewall must masquerade private_network.
#
# @param private_network
#   The network whose traffic is masqueraded.
# @param public_interface
#   The interface traffic leaves by.
# @param private_interface
#   The interface the private network arrives on.
class kiln_gateway (
  Kiln::Cidr $private_network,
  Pattern[/\A[A-Za-z0-9_.:-]+\z/] $public_interface,
  Pattern[/\A[A-Za-z0-9_.:-]+\z/] $private_interface,
) {
  if $public_interface == $private_interface {
    fail("kiln_gateway: the public and private interfaces are both ${public_interface}")
  }
  file { '/etc/sysctl.d/90-kiln-gateway.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => @("SYSCTL"),
      # Managed by Puppet (kiln_gateway): this node routes ${private_network}
      # (arriving on ${private_interface}) out by ${public_interface}.
      net.ipv4.ip_forward = 1
      net.ipv4.conf.${private_interface}.rp_filter = 1
      net.ipv4.conf.${public_interface}.rp_filter = 1
      | SYSCTL
    notify  => Exec['kiln_gateway sysctl'],
  }
  exec { 'kiln_gateway sysctl':
    command     => '/usr/sbin/sysctl -p /etc/sysctl.d/90-kiln-gateway.conf',
    refreshonly => true,
  }
}
