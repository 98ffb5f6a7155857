# @summary kiln serve and dnsmasq install the other nodes over the mgmt network.
#
# @param address
#   The address HTTP, DHCP, TFTP and DNS answer on.
# @param http_port
#   kiln serve's HTTP port.
# @param tftp_root
#   The TFTP root with the iPXE boot loaders.
class genomics::provision (
  String[1] $address,
  Integer[1, 65535] $http_port,
  String[1] $tftp_root,
) {
  package { ['dnsmasq', 'ipxe-bootimgs-x86']:
    ensure => installed,
  }
  file { $tftp_root:
    ensure => directory,
  }
  file { '/etc/kiln/serve.env':
    ensure  => file,
    content => "KILN_LISTEN=${address}:${http_port}\n",
  }
}
