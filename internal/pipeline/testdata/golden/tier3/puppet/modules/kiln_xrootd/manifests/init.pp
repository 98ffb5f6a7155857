# @summary xrootd data access. A standalone server or a redirector answers on
#   its public name; a data server clustered under a redirector registers
#   with its private name.
#
# @param mode
#   standalone, redirector, or server (a data server under a redirector).
# @param redirector
#   For mode server, the redirector's host name.
# @param public_name
#   The name a standalone server or a redirector answers on.
# @param private_name
#   The name a data server under a redirector answers on.
# @param export_paths
#   The folders served.
class kiln_xrootd (
  Enum['standalone', 'redirector', 'server'] $mode,
  String $redirector,
  String $public_name,
  Kiln::Hostname $private_name,
  Array[Kiln::Absolutepath, 1] $export_paths,
) {
  if $mode == 'server' and $redirector == '' {
    fail('kiln_xrootd: a data server (mode server) needs the redirector parameter')
  }
  $name_used = $mode ? {
    'server' => $private_name,
    default  => $public_name,
  }
  if $name_used !~ Kiln::Hostname {
    fail("kiln_xrootd: mode ${mode} answers on its public name, and this node has none; set public_name or use mode server")
  }

  package { 'xrootd':
    ensure => installed,
  }
  file { '/etc/xrootd/xrootd-kiln.cfg':
    ensure  => file,
    owner   => 'root',
    group   => 'xrootd',
    mode    => '0644',
    content => epp('kiln_xrootd/xrootd-kiln.cfg.epp', {
        'mode'         => $mode,
        'name'         => $name_used,
        'redirector'   => $redirector,
        'export_paths' => $export_paths,
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
    }
    # xrootd and cmsd take their host name from XRDHOST.
    file { "/etc/systemd/system/${d}@kiln.service.d/kiln-host.conf":
      ensure  => file,
      content => "# Managed by Puppet (kiln_xrootd).\n[Service]\nEnvironment=XRDHOST=${name_used}\n",
      notify  => Exec["kiln_xrootd ${d} daemon-reload"],
    }
    exec { "kiln_xrootd ${d} daemon-reload":
      command     => '/usr/bin/systemctl daemon-reload',
      refreshonly => true,
    }
    service { "${d}@kiln":
      ensure    => running,
      enable    => true,
      subscribe => [File['/etc/xrootd/xrootd-kiln.cfg'], Exec["kiln_xrootd ${d} daemon-reload"]],
    }
  }
}
