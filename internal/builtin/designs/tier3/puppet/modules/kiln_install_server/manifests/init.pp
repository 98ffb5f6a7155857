# @summary The head's install server: HTTP on the private network only (port
#   80 of the private address, never the public one) and TFTP for PXE.
#
# The kiln build is published under docroot; kickstarts, the OS tree and the
# boot menus are served from there. DHCP and the per-node boot entries are
# the install chain's dnsmasq configuration, which kiln renders; this class
# runs dnsmasq and gives it the TFTP root.
#
# @param listen_address
#   The (private) address httpd binds to.
# @param http_port
#   The HTTP port kickstarts and install trees are served on.
# @param docroot
#   Where the build and the OS install tree are served from.
# @param tftp_root
#   The TFTP root for PXE boot loaders.
# @param mirror_url
#   A site mirror of the OS install tree, empty to serve the tree from docroot.
#   Kiln writes it into the kickstarts; the class lets httpd serve the local
#   tree only when it is empty.
# @param dhcp_pool_size
#   How many addresses the DHCP pool for unknown machines has; kiln renders the
#   pool into the dnsmasq configuration. Zero turns the pool off.
class kiln_install_server (
  Kiln::Ip $listen_address,
  Kiln::Port $http_port,
  Kiln::Absolutepath $docroot,
  Kiln::Absolutepath $tftp_root,
  String $mirror_url,
  Integer[0] $dhcp_pool_size,
) {
  package { ['httpd', 'dnsmasq']:
    ensure => installed,
  }

  # The stock configuration listens on every address; only ours may.
  exec { 'kiln_install_server stock Listen':
    command => "/usr/bin/sed -i -e 's/^Listen /#Listen (kiln: see conf.d\\/kiln.conf) /' /etc/httpd/conf/httpd.conf",
    onlyif  => "/usr/bin/grep -q '^Listen ' /etc/httpd/conf/httpd.conf",
    require => Package['httpd'],
    notify  => Service['httpd'],
  }
  file { $docroot:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }
  file { '/etc/httpd/conf.d/kiln.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_install_server/kiln.conf.epp', {
        'listen_address' => $listen_address,
        'http_port'      => $http_port,
        'docroot'        => $docroot,
        'serve_os'       => $mirror_url == '',
    }),
    require => Package['httpd'],
    notify  => Service['httpd'],
  }
  service { 'httpd':
    ensure => running,
    enable => true,
  }

  file { $tftp_root:
    ensure => directory,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
  }
  file { '/etc/dnsmasq.d/kiln-tftp.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "# Managed by Puppet (kiln_install_server).\nenable-tftp\ntftp-root=${tftp_root}\ntftp-secure\n",
    require => Package['dnsmasq'],
    notify  => Service['dnsmasq'],
  }
  service { 'dnsmasq':
    ensure  => running,
    enable  => true,
    require => File[$tftp_root],
  }
  if $dhcp_pool_size > 0 {
    # The pool is handed out on the private network only; a dnsmasq without
    # its interface binding would answer DHCP on the campus network.
    file { '/etc/dnsmasq.d/kiln-bind.conf':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => "# Managed by Puppet (kiln_install_server).\nlisten-address=${listen_address}\nbind-interfaces\n",
      require => Package['dnsmasq'],
      notify  => Service['dnsmasq'],
    }
  }
}
