# @summary The cluster network's install server: kiln serve answers HTTP
#   (kickstarts, iPXE scripts, the OS tree) and runs dnsmasq for DHCP, TFTP
#   and DNS with the build's dhcp/dnsmasq.conf.
#
# kiln serve starts dnsmasq itself, so the distribution's dnsmasq service
# is kept off. The firmware fetches iPXE over TFTP; the boot loaders come
# from the ipxe-bootimgs-x86 package. kiln serve reads the kiln program in
# /usr/local/bin and the site folder in /etc/kiln/site (see the runbook).
#
# @param address
#   The cluster network address kiln serve and dnsmasq answer on.
# @param http_port
#   The HTTP port kiln serve listens on.
# @param tftp_root
#   The TFTP root, which holds the iPXE boot loaders.
# @param os_dir
#   The OS install tree, which kiln serve serves under /os/.
# @param dhcp_pool_size
#   Addresses for machines the site does not list; kiln writes the pool
#   into the build's dnsmasq configuration.
class gpufarm::provision (
  String[1] $address,
  Integer[1, 65535] $http_port,
  String[1] $tftp_root,
  String[1] $os_dir,
  Integer[0] $dhcp_pool_size,
) {
  package { ['dnsmasq', 'ipxe-bootimgs-x86']:
    ensure => installed,
  }
  service { 'dnsmasq':
    ensure  => stopped,
    enable  => false,
    require => Package['dnsmasq'],
  }
  file { [$tftp_root, $os_dir]:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }
  ['undionly.kpxe', 'ipxe-snponly-x86_64.efi'].each |$loader| {
    file { "${tftp_root}/${loader}":
      ensure  => file,
      source  => "/usr/share/ipxe/${loader}",
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      require => Package['ipxe-bootimgs-x86'],
    }
  }
  file { '/etc/systemd/system/kiln-serve.service':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => @("UNIT"),
      # Managed by Puppet (gpufarm::provision).
      [Unit]
      Description=kiln serve: installs the cluster's nodes
      After=network-online.target
      Wants=network-online.target

      [Service]
      ExecStart=/usr/local/bin/kiln serve -C /etc/kiln/site --listen ${address}:${http_port} \
        --dhcp dnsmasq --dnsmasq-conf dhcp/dnsmasq.conf --mirror ${os_dir}
      Restart=on-failure

      [Install]
      WantedBy=multi-user.target
      | UNIT
    notify  => Exec['gpufarm::provision daemon-reload'],
  }
  exec { 'gpufarm::provision daemon-reload':
    command     => '/usr/bin/systemctl daemon-reload',
    refreshonly => true,
  }
  service { 'kiln-serve':
    ensure    => running,
    enable    => true,
    require   => [Service['dnsmasq'], File[$tftp_root, $os_dir]],
    subscribe => Exec['gpufarm::provision daemon-reload'],
  }
}
