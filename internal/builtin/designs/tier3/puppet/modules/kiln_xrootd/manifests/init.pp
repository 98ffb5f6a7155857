# @summary xrootd data access for the cluster's own nodes. The server
#   answers on its private name and serves only allowed_hosts (xrd.allow:
#   every other client is disconnected at login); the firewall opens its
#   port on the private network only. A standalone server, or a redirector
#   with data servers under it.
#
# xrootd takes its host name from XRDNET_IDENTITY (xrootd 5.7.1 and later;
# older ones use the name the host's address resolves to). It exports
# XRDHOST itself, for its plug-ins: setting XRDHOST changes nothing.
#
# @param mode
#   standalone, redirector, or server (a data server under a redirector).
# @param redirector
#   For mode server, the redirector's host name.
# @param private_name
#   The name the server answers on and registers with.
# @param allowed_hosts
#   The only clients served: addresses, or exact host names that resolve.
# @param export_paths
#   The folders served; created if missing.
class kiln_xrootd (
  Enum['standalone', 'redirector', 'server'] $mode,
  String $redirector,
  Kiln::Hostname $private_name,
  Array[Variant[Kiln::Ip, Kiln::Hostname], 1] $allowed_hosts,
  Array[Kiln::Absolutepath, 1] $export_paths,
) {
  if $mode == 'server' and $redirector !~ Kiln::Hostname {
    fail('kiln_xrootd: a data server (mode server) needs the redirector parameter: the redirector\'s host name')
  }
  $export_paths.each |$p| {
    if $p =~ /\s/ {
      fail("kiln_xrootd: the export path '${p}' holds white space, which xrootd's configuration cannot hold")
    }
  }

  package { 'xrootd':
    ensure => installed,
  }
  # The folders served, with any missing parent; the folder itself stays
  # as it is if it exists (its owner and mode are the site's).
  $export_paths.each |$p| {
    exec { "kiln_xrootd mkdir ${p}":
      command => ['/usr/bin/mkdir', '-p', $p],
      creates => $p,
    }
    -> file { $p:
      ensure => directory,
    }
  }
  file { '/etc/xrootd/xrootd-kiln.cfg':
    ensure  => file,
    owner   => 'root',
    group   => 'xrootd',
    mode    => '0640',
    content => epp('kiln_xrootd/xrootd-kiln.cfg.epp', {
        'mode'          => $mode,
        'name'          => $private_name,
        'redirector'    => $redirector,
        'allowed_hosts' => $allowed_hosts,
        'export_paths'  => $export_paths,
    }),
    require => Package['xrootd'],
  }
  $daemons = $mode ? {
    'standalone' => ['xrootd'],
    default      => ['xrootd', 'cmsd'],
  }
  $daemons.each |$d| {
    file { "/etc/systemd/system/${d}@kiln.service.d":
      ensure => directory,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }
    # xrootd and cmsd take the host name they answer on from
    # XRDNET_IDENTITY.
    file { "/etc/systemd/system/${d}@kiln.service.d/kiln-identity.conf":
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0644',
      content => "# Managed by Puppet (kiln_xrootd).\n[Service]\nEnvironment=XRDNET_IDENTITY=${private_name}\n",
      notify  => Exec["kiln_xrootd ${d} daemon-reload"],
    }
    # The drop-in of earlier versions, which set XRDHOST to no effect.
    file { "/etc/systemd/system/${d}@kiln.service.d/kiln-host.conf":
      ensure => absent,
      notify => Exec["kiln_xrootd ${d} daemon-reload"],
    }
    exec { "kiln_xrootd ${d} daemon-reload":
      command     => '/usr/bin/systemctl daemon-reload',
      refreshonly => true,
    }
    service { "${d}@kiln":
      ensure    => running,
      enable    => true,
      require   => File[$export_paths],
      subscribe => [File['/etc/xrootd/xrootd-kiln.cfg'], Exec["kiln_xrootd ${d} daemon-reload"]],
    }
  }
}
