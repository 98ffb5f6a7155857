# nodes.pp: every node of mytier3 with its classes and their
# parameters. Written by kiln from the site, the design and the catalog: edit
# those and rebuild, not this file. Read by the Puppet server when the
# classifier is manifests (environment.conf reads the whole manifests/
# folder); with the ENC (kiln enc) or Hiera it is the same classification,
# written another way.

# head: role head
node 'head.physics.example.edu' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-head@nfs.mytier3.local:/export/backup/restic/head/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'central_manager',
    network_interface => '10.10.0.1',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
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
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  class { 'kiln_vm_host':
    bridge           => 'br0',
    bridge_interface => 'priv0',
    image_dir        => '/var/lib/libvirt/images',
  }
  kiln::order({
    'kiln_backup'         => ['kiln_base'],
    'kiln_condor'         => ['kiln_base'],
    'kiln_firewall'       => ['kiln_base'],
    'kiln_gateway'        => ['kiln_base'],
    'kiln_install_server' => ['kiln_base'],
    'kiln_ldap::client'   => ['kiln_base'],
    'kiln_puppet::agent'  => ['kiln_base'],
    'kiln_vm_host'        => ['kiln_base'],
  })
}

# puppet: role puppet, a VM on head
node 'puppet.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-puppet@nfs.mytier3.local:/export/backup/restic/puppet/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  class { 'kiln_puppet::server':
    autosign      => true,
    certname      => 'puppet.mytier3.local',
    classifier    => 'enc',
    dns_alt_names => ['puppet', 'puppet.mytier3.local'],
    environment   => 'production',
    heap_mb       => 1024,
    kiln_command  => '/usr/local/bin/kiln',
    site_dir      => '/etc/kiln/site',
  }
  kiln::order({
    'kiln_backup'         => ['kiln_base'],
    'kiln_firewall'       => ['kiln_base'],
    'kiln_puppet::agent'  => ['kiln_base'],
    'kiln_puppet::server' => ['kiln_base'],
  })
}

# ldap: role ldap, a VM on head
node 'ldap.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-ldap@nfs.mytier3.local:/export/backup/restic/ldap/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::server':
    admin_bin     => '/root/bin',
    base_dn       => 'dc=physics,dc=example,dc=edu',
    root_dn       => 'cn=root,dc=physics,dc=example,dc=edu',
    root_password => '{SSHA}LHGJmUnWwNkdD4J56+9gwrgAjHN3uN+2VNSOCw==',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::server'  => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}

# proxy: role proxy, a VM on head
node 'proxy.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-proxy@nfs.mytier3.local:/export/backup/restic/proxy/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  class { 'kiln_frontier_squid':
    allowed_networks => ['10.10.0.0/24'],
    cache_dir_gb     => 20,
    cache_mem_mb     => 256,
    monitor_networks => ['128.142.0.0/16', '188.184.128.0/17', '188.185.128.0/17'],
    port             => 3128,
  }
  kiln::order({
    'kiln_backup'         => ['kiln_base'],
    'kiln_firewall'       => ['kiln_base'],
    'kiln_frontier_squid' => ['kiln_base'],
    'kiln_puppet::agent'  => ['kiln_base'],
  })
}

# nfs: role nfs
node 'nfs.physics.example.edu' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-nfs@head.mytier3.local:/export/backup/restic/nfs/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::server':
    clients => '10.10.0.0/24',
    exports => ['/export/home', '/export/share'],
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  class { 'kiln_xrootd':
    allowed_hosts => [
      '10.10.0.1',
      '10.10.0.2',
      '10.10.0.3',
      '10.10.0.4',
      '10.10.0.10',
      '10.10.0.20',
      '10.10.0.21',
      '10.10.0.101',
      '10.10.0.102',
      '10.10.0.103',
      '10.10.0.104',
    ],
    export_paths  => ['/export/share/data'],
    mode          => 'standalone',
    private_name  => 'nfs.mytier3.local',
    redirector    => '',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::server'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
    'kiln_xrootd'        => ['kiln_base'],
  })
}

# int1: role interactive
node 'int1.physics.example.edu' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-int1@nfs.mytier3.local:/export/backup/restic/int1/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'submit',
    network_interface => '10.10.0.20',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
  }
  class { 'kiln_cvmfs':
    ca_package     => 'osg-ca-certs',
    cache_base     => '/var/lib/cvmfs',
    hep_oslibs     => false,
    http_proxy     => 'http://proxy.mytier3.local:3128',
    quota_limit_mb => 20000,
    repositories   => ['atlas.cern.ch', 'atlas-condb.cern.ch', 'sft.cern.ch', 'grid.cern.ch', 'unpacked.cern.ch'],
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::client':
    mounts => ['/export/home', '/export/share'],
    server => 'nfs.mytier3.local',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_condor'        => ['kiln_base'],
    'kiln_cvmfs'         => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::client'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}

# int2: role interactive
node 'int2.physics.example.edu' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-int2@nfs.mytier3.local:/export/backup/restic/int2/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'submit',
    network_interface => '10.10.0.21',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
  }
  class { 'kiln_cvmfs':
    ca_package     => 'osg-ca-certs',
    cache_base     => '/var/lib/cvmfs',
    hep_oslibs     => false,
    http_proxy     => 'http://proxy.mytier3.local:3128',
    quota_limit_mb => 20000,
    repositories   => ['atlas.cern.ch', 'atlas-condb.cern.ch', 'sft.cern.ch', 'grid.cern.ch', 'unpacked.cern.ch'],
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::client':
    mounts => ['/export/home', '/export/share'],
    server => 'nfs.mytier3.local',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_condor'        => ['kiln_base'],
    'kiln_cvmfs'         => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::client'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}

# wn1: role worker
node 'wn1.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-wn1@nfs.mytier3.local:/export/backup/restic/wn1/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'execute',
    network_interface => '10.10.0.101',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
  }
  class { 'kiln_cvmfs':
    ca_package     => 'osg-ca-certs',
    cache_base     => '/var/lib/cvmfs',
    hep_oslibs     => false,
    http_proxy     => 'http://proxy.mytier3.local:3128',
    quota_limit_mb => 20000,
    repositories   => ['atlas.cern.ch', 'atlas-condb.cern.ch', 'sft.cern.ch', 'grid.cern.ch', 'unpacked.cern.ch'],
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::client':
    mounts => ['/export/home', '/export/share'],
    server => 'nfs.mytier3.local',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_condor'        => ['kiln_base'],
    'kiln_cvmfs'         => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::client'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}

# wn2: role worker
node 'wn2.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-wn2@nfs.mytier3.local:/export/backup/restic/wn2/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'execute',
    network_interface => '10.10.0.102',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
  }
  class { 'kiln_cvmfs':
    ca_package     => 'osg-ca-certs',
    cache_base     => '/var/lib/cvmfs',
    hep_oslibs     => false,
    http_proxy     => 'http://proxy.mytier3.local:3128',
    quota_limit_mb => 20000,
    repositories   => ['atlas.cern.ch', 'atlas-condb.cern.ch', 'sft.cern.ch', 'grid.cern.ch', 'unpacked.cern.ch'],
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::client':
    mounts => ['/export/home', '/export/share'],
    server => 'nfs.mytier3.local',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_condor'        => ['kiln_base'],
    'kiln_cvmfs'         => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::client'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}

# wn3: role worker
node 'wn3.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-wn3@nfs.mytier3.local:/export/backup/restic/wn3/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'execute',
    network_interface => '10.10.0.103',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
  }
  class { 'kiln_cvmfs':
    ca_package     => 'osg-ca-certs',
    cache_base     => '/var/lib/cvmfs',
    hep_oslibs     => false,
    http_proxy     => 'http://proxy.mytier3.local:3128',
    quota_limit_mb => 20000,
    repositories   => ['atlas.cern.ch', 'atlas-condb.cern.ch', 'sft.cern.ch', 'grid.cern.ch', 'unpacked.cern.ch'],
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::client':
    mounts => ['/export/home', '/export/share'],
    server => 'nfs.mytier3.local',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_condor'        => ['kiln_base'],
    'kiln_cvmfs'         => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::client'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}

# wn4: role worker
node 'wn4.mytier3.local' {
  class { 'kiln_base':
    admin_user  => 't3sysadmin',
    keyboard    => 'us',
    language    => 'en_US.UTF-8',
    ntp_servers => ['time.example.edu'],
    proxy_url   => '',
    selinux     => 'enforcing',
    timezone    => 'America/Chicago',
  }
  class { 'kiln_backup':
    password   => '{SSHA}zo6BrmFB/d3zfl+I5zrkjmriAPwH7AmXPBd/SA==',
    repository => 'sftp:kiln-backup-wn4@nfs.mytier3.local:/export/backup/restic/wn4/repo',
    ssh_key    => '{SSHA}uan89dlQAqay7xk3Jmp8JsC4FAmAWY7rcEao4g==',
  }
  class { 'kiln_condor':
    central_manager   => 'head.mytier3.local',
    daemon_role       => 'execute',
    network_interface => '10.10.0.104',
    submit_packages   => ['gcc'],
    uid_domain        => 'mytier3.local',
  }
  class { 'kiln_cvmfs':
    ca_package     => 'osg-ca-certs',
    cache_base     => '/var/lib/cvmfs',
    hep_oslibs     => false,
    http_proxy     => 'http://proxy.mytier3.local:3128',
    quota_limit_mb => 20000,
    repositories   => ['atlas.cern.ch', 'atlas-condb.cern.ch', 'sft.cern.ch', 'grid.cern.ch', 'unpacked.cern.ch'],
  }
  class { 'kiln_firewall':
    mode             => 'managed',
    site_rules       => [],
    trusted_networks => ['10.10.0.0/24'],
  }
  class { 'kiln_ldap::client':
    base_dn => 'dc=physics,dc=example,dc=edu',
    uri     => 'ldaps://ldap.mytier3.local/',
  }
  class { 'kiln_nfs::client':
    mounts => ['/export/home', '/export/share'],
    server => 'nfs.mytier3.local',
  }
  class { 'kiln_puppet::agent':
    environment => 'production',
    runinterval => 1800,
    server      => 'puppet.mytier3.local',
  }
  kiln::order({
    'kiln_backup'        => ['kiln_base'],
    'kiln_condor'        => ['kiln_base'],
    'kiln_cvmfs'         => ['kiln_base'],
    'kiln_firewall'      => ['kiln_base'],
    'kiln_ldap::client'  => ['kiln_base'],
    'kiln_nfs::client'   => ['kiln_base'],
    'kiln_puppet::agent' => ['kiln_base'],
  })
}
