# @summary The node's packet filter: the ruleset kiln renders for it from the
#   ports its modules declare, applied with nftables in kiln's own tables
#   (inet kiln, ip kiln_nat), so libvirt's and others' tables survive.
#
# Kiln writes each node's ruleset into the site module kiln_site beside the
# modules: files/firewall/CERTNAME.nft (nft -f). Open are the declared ports of the node's modules, per
# zone, and on a gateway NAT masquerading of the private network; everything
# else is dropped. The file is checked with nft -c before it replaces the old one, so a bad ruleset never reaches the kernel.
#
# @param mode
#   none leaves the node's firewall alone (the site manages it, NAT included);
#   managed applies kiln's ruleset; managed_plus_site adds site_rules to it.
# @param site_rules
#   Extra nftables rules (input chain) for mode managed_plus_site. Kiln renders
#   them into the ruleset; the class checks that the ruleset it applies has them.
# @param trusted_networks
#   Networks treated as the private zone. Kiln renders them into the ruleset;
#   the class checks that the ruleset it applies names them.
class kiln_firewall (
  Enum['none', 'managed', 'managed_plus_site'] $mode,
  Array[String[1]] $site_rules,
  Array[Kiln::Cidr] $trusted_networks,
) {
  if $mode != 'none' {
    $certname = $trusted['certname']
    $nft = file("kiln_site/firewall/${certname}.nft")

    # The ruleset and this classification come from the same kiln build; if
    # they disagree, the environment holds parts of two builds.
    $trusted_networks.each |$net| {
      unless $net in $nft {
        fail("kiln_firewall: the ruleset of ${certname} does not trust ${net}: redeploy the whole kiln build")
      }
    }
    if $mode == 'managed_plus_site' {
      $site_rules.each |$rule| {
        unless $rule in $nft {
          fail("kiln_firewall: the ruleset of ${certname} lacks the site rule '${rule}': redeploy the whole kiln build")
        }
      }
    }

    package { 'nftables':
      ensure => installed,
    }
    # firewalld would load its own rules over kiln's: stopped and masked.
    service { 'firewalld':
      ensure => stopped,
      enable => 'mask',
    }
    file { '/etc/sysconfig/nftables.conf':
      ensure       => file,
      owner        => 'root',
      group        => 'root',
      mode         => '0600',
      content      => $nft,
      validate_cmd => '/usr/sbin/nft -c -f %',
      require      => Package['nftables'],
      notify       => Exec['kiln_firewall load'],
    }
    exec { 'kiln_firewall load':
      command     => '/usr/sbin/nft -f /etc/sysconfig/nftables.conf',
      refreshonly => true,
    }
    # nftables.service loads the file at boot (nft -f: kiln's tables only).
    # Its reload and stop flush the whole ruleset, libvirt's included: reload
    # with kiln's exec (or nft -f), not systemctl reload nftables.
    service { 'nftables':
      enable  => true,
      require => File['/etc/sysconfig/nftables.conf'],
    }
  }
}
