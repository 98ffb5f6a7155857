# @summary The Puppet server and CA of the cluster. It classifies nodes from
#   the current kiln site, signs certificates through kiln autosign, and is
#   itself a classified node (its firewall and networking come from Puppet).
#
# Classification: with enc, puppetserver asks kiln enc for each node, so a
# change made on the head (a new node, a new parameter) reaches the server
# with the site folder and no copy of nodes.pp; with manifests it reads the
# environment's manifests/ (site.pp, nodes.pp, modules.pp); with hiera,
# site.pp includes the classes the node's Hiera data lists.
#
# @param certname
#   The server's own certificate name.
# @param dns_alt_names
#   Other names agents may use to reach the server.
# @param autosign
#   Sign agents' certificates through kiln autosign (challenge checked);
#   false: sign by hand with puppetserver ca sign.
# @param environment
#   The Puppet environment the cluster's nodes use; the class makes its
#   folder, where the build's puppet/ folder is deployed. (Each agent's
#   environment is kiln_puppet::agent's.)
# @param classifier
#   How nodes are classified: enc, manifests or hiera.
# @param heap_mb
#   The server's Java heap in MiB: JAVA_ARGS -Xms and -Xmx in
#   /etc/sysconfig/puppetserver (the package ships 2 GiB). kiln check makes
#   sure the VM has room for it.
# @param site_dir
#   The kiln site folder on this server (site.yaml and its secrets), read by
#   kiln enc and kiln autosign.
# @param kiln_command
#   The kiln program on this server.
class kiln_puppet::server (
  Kiln::Hostname $certname,
  Array[Kiln::Hostname] $dns_alt_names,
  Boolean $autosign,
  Pattern[/\A[a-z0-9_]+\z/] $environment,
  Enum['enc', 'manifests', 'hiera'] $classifier,
  Integer[256] $heap_mb,
  Kiln::Absolutepath $site_dir,
  Kiln::Absolutepath $kiln_command,
) {
  package { 'openvox-server':
    ensure => installed,
  }

  file { '/usr/local/sbin/kiln-enc':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0755',
    content => epp('kiln_puppet/wrapper.epp', {
        'verb'         => 'enc',
        'kiln_command' => $kiln_command,
        'site_dir'     => $site_dir,
    }),
  }
  file { '/usr/local/sbin/kiln-autosign':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0755',
    content => epp('kiln_puppet/wrapper.epp', {
        'verb'         => 'autosign',
        'kiln_command' => $kiln_command,
        'site_dir'     => $site_dir,
    }),
  }

  # OpenVox server's JVM heap, both ends the same (no resizing pauses). Only
  # the two sizes at the head of JAVA_ARGS change; the rest of the
  # package's file (and any other options) stays.
  $sysconfig = '/etc/sysconfig/puppetserver'
  $heap = "-Xms${heap_mb}m -Xmx${heap_mb}m"
  $sizes = '-Xms[0-9]+[kmgKMG]? -Xmx[0-9]+[kmgKMG]?'
  exec { 'kiln_puppet: puppetserver heap':
    command => "sed -i -E 's/^JAVA_ARGS=\"${sizes}/JAVA_ARGS=\"${heap}/' ${sysconfig}",
    unless  => "grep -q '^JAVA_ARGS=\"${heap}[ \"]' ${sysconfig}",
    path    => ['/usr/bin', '/bin'],
    require => Package['openvox-server'],
    notify  => Service['puppetserver'],
  }

  $node_terminus = $classifier ? {
    'enc'   => 'exec',
    default => 'plain',
  }
  $settings = {
    'certname'       => ['main', $certname],
    'dns_alt_names'  => ['main', join($dns_alt_names, ',')],
    'autosign'       => ['server', $autosign ? { true => '/usr/local/sbin/kiln-autosign', default => 'false' }],
    'node_terminus'  => ['server', $node_terminus],
    'external_nodes' => ['server', $classifier ? { 'enc' => '/usr/local/sbin/kiln-enc', default => 'none' }],
  }
  $settings.each |$name, $s| {
    kiln_puppet::setting { "server ${name}":
      section => $s[0],
      setting => $name,
      value   => $s[1],
      require => Package['openvox-server'],
      notify  => Service['puppetserver'],
    }
  }
  # The environment kiln's build is deployed into (kiln modules export, or
  # rsync of build/puppet/), and the site folder kiln enc and kiln autosign
  # read. puppetserver runs as puppet; kiln writes the files that carry
  # hashes of secrets (Hiera data, nodes.pp) and the site's secrets 0600, so
  # the group puppet is given read access here, on every run.
  file { ["/etc/puppetlabs/code/environments/${environment}", $site_dir]:
    ensure  => directory,
    recurse => true,
    owner   => 'root',
    group   => 'puppet',
    mode    => 'u+rwX,g+rX,g-w,o-rwx',
    require => Package['openvox-server'],
  }
  service { 'puppetserver':
    ensure  => running,
    enable  => true,
    require => File['/usr/local/sbin/kiln-enc', '/usr/local/sbin/kiln-autosign'],
  }
}
