# head-init.pp: configures head before the Puppet server exists, with
# the modules its role marks as bootstrap (base, firewall, gateway, install_server, vm_host) and the same
# parameters nodes.pp gives them. Written by kiln; apply it on head with
#   sh apply-puppet.sh head-init.pp
# Once the Puppet server runs, the agent takes over with the full classification.

class { 'kiln_base':
  admin_user  => 't3sysadmin',
  keyboard    => 'us',
  language    => 'en_US.UTF-8',
  ntp_servers => ['time.example.edu'],
  proxy_url   => '',
  selinux     => 'enforcing',
  timezone    => 'America/Chicago',
}

class { 'kiln_firewall':
  mode             => 'managed',
  site_rules       => [],
  trusted_networks => ['10.10.0.0/24'],
}

class { 'kiln_gateway':
  private_interface => 'priv0',
  private_network   => '10.10.0.0/24',
  public_interface  => 'pub0',
}

class { 'kiln_install_server':
  dhcp_pool_size => 32,
  docroot        => '/var/www/kiln',
  http_port      => 80,
  listen_address => '10.10.0.1',
  mirror_url     => '',
  tftp_root      => '/var/lib/tftpboot',
}

class { 'kiln_vm_host':
  bridge           => 'br0',
  bridge_interface => 'priv0',
  image_dir        => '/var/lib/libvirt/images',
}

kiln::order({
  'kiln_firewall'       => ['kiln_base'],
  'kiln_gateway'        => ['kiln_base'],
  'kiln_install_server' => ['kiln_base'],
  'kiln_vm_host'        => ['kiln_base'],
})
