# @summary The head's install server: kiln serve, which answers HTTP
#   (kickstarts, boot scripts, the OS tree) on the private address only,
#   never the public one, and runs dnsmasq for DHCP, TFTP and DNS.
#
# Kiln renders the kiln-serve unit for this node into the site module
# (files/kiln-serve/CERTNAME.service); the class installs it and keeps the
# service running. kiln serve starts dnsmasq itself, so the distribution's
# dnsmasq service is kept off. kiln serve reads the kiln program in
# /usr/local/bin and the site folder in /etc/kiln/site (see the runbook).
#
# @param listen_address
#   The (private) address kiln serve answers HTTP on.
# @param http_port
#   The HTTP port kickstarts and install trees are served on.
# @param docroot
#   The folder served; the OS install tree goes in its os/ folder.
# @param tftp_root
#   The TFTP root for PXE boot loaders.
# @param mirror_url
#   A site mirror of the OS install tree (kiln writes it into the
#   kickstarts); empty: the tree is served from docroot/os.
# @param dhcp_pool_size
#   Addresses handed out to machines whose MAC the site does not list; kiln
#   writes the pool into kiln serve's dnsmasq configuration.
class kiln_install_server (
  Kiln::Ip $listen_address,
  Kiln::Port $http_port,
  Kiln::Absolutepath $docroot,
  Kiln::Absolutepath $tftp_root,
  String $mirror_url,
  Integer[0] $dhcp_pool_size,
) {
  $certname = $trusted['certname']
  $unit = file("kiln_site/kiln-serve/${certname}.service")
  # The unit and this classification come from the same kiln build.
  unless "--listen ${listen_address}:${http_port} " in $unit {
    $fix = 'redeploy the whole kiln build'
    fail("kiln_install_server: the kiln-serve unit of ${certname} does not listen on ${listen_address}:${http_port}; ${fix}")
  }

  package { 'dnsmasq':
    ensure => installed,
  }
  service { 'dnsmasq':
    ensure  => stopped,
    enable  => false,
    require => Package['dnsmasq'],
  }

  $folders = $mirror_url ? {
    ''      => [$docroot, "${docroot}/os", $tftp_root],
    default => [$docroot, $tftp_root],
  }
  file { $folders:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }

  # Machines whose NIC boots plain BIOS PXE get iPXE first (dnsmasq.conf),
  # which then asks kiln serve for the machine's own script with its token.
  # UEFI machines get the distribution's signed shim and GRUB instead
  # (Secure Boot), which the runbook copies from the install tree.
  package { 'ipxe-bootimgs-x86':
    ensure => installed,
  }
  file { "${tftp_root}/undionly.kpxe":
    ensure  => file,
    source  => '/usr/share/ipxe/undionly.kpxe',
    mode    => '0644',
    require => [Package['ipxe-bootimgs-x86'], File[$tftp_root]],
  }

  file { '/etc/systemd/system/kiln-serve.service':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => $unit,
    notify  => Exec['kiln_install_server daemon-reload'],
  }
  exec { 'kiln_install_server daemon-reload':
    command     => '/usr/bin/systemctl daemon-reload',
    refreshonly => true,
  }
  service { 'kiln-serve':
    ensure    => running,
    enable    => true,
    require   => [Service['dnsmasq'], File[$folders]],
    subscribe => Exec['kiln_install_server daemon-reload'],
  }
}
