# modules.pp: the Puppet modules of mytier3's catalog and the class
# each module declares (the seed's puppetrepo.py wrote this file; kiln does
# now). The modules themselves are in modules/ (see the Puppetfile).
#
# Every node's compile stops here, with the module to install, when the
# environment lacks one of them, instead of failing later on a missing
# class in the middle of a node.
$kiln_catalog = {
  'backup'         => 'kiln_backup',
  'base'           => 'kiln_base',
  'condor'         => 'kiln_condor',
  'cvmfs'          => 'kiln_cvmfs',
  'firewall'       => 'kiln_firewall',
  'gateway'        => 'kiln_gateway',
  'install_server' => 'kiln_install_server',
  'ldap_client'    => 'kiln_ldap::client',
  'ldap_server'    => 'kiln_ldap::server',
  'nfs_client'     => 'kiln_nfs::client',
  'nfs_server'     => 'kiln_nfs::server',
  'puppet_agent'   => 'kiln_puppet::agent',
  'puppet_server'  => 'kiln_puppet::server',
  'squid'          => 'kiln_frontier_squid',
  'vm_host'        => 'kiln_vm_host',
  'xrootd'         => 'kiln_xrootd',
}
$kiln_catalog.each |$module, $class| {
  unless defined($class) {
    $fix = 'deploy the whole kiln build (or r10k deploy with its Puppetfile)'
    fail("catalog module ${module}: class ${class} is not in this environment; ${fix}")
  }
}
