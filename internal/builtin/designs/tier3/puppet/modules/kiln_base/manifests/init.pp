# @summary What every node of the cluster has: time, time zone, package
#   repositories and proxy, the cluster's hosts file, its NIC names bound to
#   MACs, SELinux mode, console keyboard and locale.
#
# The hosts file comes from the site module kiln_site that every kiln build
# writes beside the modules (modules/kiln_site/files/hosts).
#
# @param timezone
#   The node's time zone, e.g. Europe/Zurich (a file under /usr/share/zoneinfo).
# @param ntp_servers
#   NTP servers chrony keeps time with.
# @param proxy_url
#   HTTP proxy for package downloads, empty for none.
# @param selinux
#   SELinux mode. Switching to or from disabled takes effect at the next boot.
# @param keyboard
#   Console keyboard layout (KEYMAP in /etc/vconsole.conf).
# @param language
#   System locale (LANG in /etc/locale.conf).
# @param admin_user
#   The local administrator the kickstart made (with the site's SSH keys),
#   kept in wheel; empty for none.
class kiln_base (
  String[1] $timezone,
  Array[Kiln::Hostname, 1] $ntp_servers,
  String $proxy_url,
  Enum['enforcing', 'permissive', 'disabled'] $selinux,
  Pattern[/\A[A-Za-z0-9_.-]+\z/] $keyboard,
  Pattern[/\A[A-Za-z0-9_.@-]+\z/] $language,
  Pattern[/\A([a-z_][a-z0-9_-]*)?\z/] $admin_user,
) {
  unless $timezone =~ /\A[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*\z/ {
    fail("kiln_base: '${timezone}' is not a time zone name such as Europe/Zurich")
  }

  package { 'chrony':
    ensure => installed,
  }
  file { '/etc/chrony.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_base/chrony.conf.epp', { 'servers' => $ntp_servers }),
    require => Package['chrony'],
    notify  => Service['chronyd'],
  }
  service { 'chronyd':
    ensure => running,
    enable => true,
  }

  file { '/etc/localtime':
    ensure => link,
    target => "/usr/share/zoneinfo/${timezone}",
  }

  file { '/etc/hosts':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => file('kiln_site/hosts'),
  }

  # The package repositories this node's packages come from (design.yaml
  # repositories:, a site's mirrors applied), gpgcheck on; the same file
  # the kickstart wrote. kiln writes it per node into kiln_site.
  file { '/etc/yum.repos.d/kiln.repo':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => file("kiln_site/repos/${trusted['certname']}.repo"),
  }

  # The design's NIC names, each bound to its NIC's MAC by a systemd .link
  # file (systemd.link(5)), the same files the kickstart wrote: the kernel's
  # ethN names follow probe order. kiln writes NAME MAC per line per node into
  # kiln_site. A rename applies at the next boot; the initramfs gets the files.
  $nic_lines = file("kiln_site/nics/${trusted['certname']}").split("\n").filter |$l| {
    $l =~ /\A[A-Za-z0-9_.-]+ [0-9a-f]{2}(:[0-9a-f]{2}){5}\z/
  }
  unless empty($nic_lines) {
    file { '/etc/systemd/network':
      ensure => directory,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }
    $nic_lines.each |$l| {
      $f = $l.split(' ')
      file { "/etc/systemd/network/10-kiln-${f[0]}.link":
        ensure  => file,
        owner   => 'root',
        group   => 'root',
        mode    => '0644',
        content => @("LINK"),
          # Written by kiln: the NIC with this MAC takes its name in the design.
          [Match]
          MACAddress=${f[1]}

          [Link]
          Name=${f[0]}
          | LINK
        notify  => Exec['kiln_base: initramfs with the NIC names'],
      }
    }
    exec { 'kiln_base: initramfs with the NIC names':
      command     => 'dracut -f --regenerate-all',
      path        => ['/usr/bin', '/usr/sbin'],
      refreshonly => true,
      timeout     => 900,
    }
  }

  file { '/etc/dnf/dnf.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('kiln_base/dnf.conf.epp', { 'proxy_url' => $proxy_url }),
  }

  file { '/etc/selinux/config':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "# Managed by Puppet (kiln_base).\nSELINUX=${selinux}\nSELINUXTYPE=targeted\n",
  }
  if $selinux != 'disabled' {
    $runtime = $selinux ? {
      'enforcing' => '1',
      default     => '0',
    }
    exec { "setenforce ${runtime}":
      path   => ['/usr/sbin', '/usr/bin'],
      onlyif => "sh -c 'selinuxenabled && [ \"\$(getenforce)\" != ${selinux.capitalize} ]'",
    }
  }

  file { '/etc/vconsole.conf':
    ensure  => file,
    content => "# Managed by Puppet (kiln_base).\nKEYMAP=${keyboard}\n",
  }
  file { '/etc/locale.conf':
    ensure  => file,
    content => "# Managed by Puppet (kiln_base).\nLANG=${language}\n",
  }

  # sshd offers only the host key types kiln keeps for the node (its
  # identity, put back by the kickstart), so a rebuilt node offers no key
  # its users have not seen before. EL9's sshd reads drop-in files.
  if versioncmp($facts['os']['release']['major'], '9') >= 0 {
    file { '/etc/ssh/sshd_config.d/10-kiln-hostkeys.conf':
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0600',
      content => @(KEYS),
        # Managed by Puppet (kiln_base): the host keys kiln keeps.
        HostKey /etc/ssh/ssh_host_ecdsa_key
        HostKey /etc/ssh/ssh_host_ed25519_key
        | KEYS
    }
    ~> Exec['kiln_base: reload sshd']
    # Root by the site's admin_keys only, no passwords (kiln writes the
    # drop-in; empty of settings when the site lists no admin_keys).
    file { '/etc/ssh/sshd_config.d/40-kiln-access.conf':
      ensure       => file,
      owner        => 'root',
      group        => 'root',
      mode         => '0600',
      content      => file('kiln_site/sshd/40-kiln-access.conf'),
      validate_cmd => '/usr/sbin/sshd -t -f %',
    }
    ~> exec { 'kiln_base: reload sshd':
      command     => 'systemctl reload sshd',
      path        => ['/usr/bin', '/usr/sbin'],
      refreshonly => true,
    }
  }
  if $admin_user != '' {
    user { $admin_user:
      ensure     => present,
      groups     => ['wheel'],
      membership => minimum,
      managehome => true,
    }
  }
}
