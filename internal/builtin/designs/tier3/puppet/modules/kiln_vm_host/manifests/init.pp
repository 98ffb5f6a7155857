# @summary Runs the service VMs under libvirt, their NICs on a bridge onto
#   the private network.
#
# libvirt runs as its modular daemons on EL9 and later (virtqemud.socket and
# the others), as libvirtd on EL8.
#
# The bridge takes over the private NIC's addresses (NetworkManager); the VM
# definitions themselves are written by kiln (crvm-VM.sh) and live in
# /etc/libvirt/qemu.
#
# @param bridge
#   The bridge the VMs' NICs join.
# @param bridge_interface
#   The physical NIC enslaved to the bridge.
# @param image_dir
#   Where VM disk images live.
class kiln_vm_host (
  Pattern[/\A[A-Za-z0-9_.-]{1,15}\z/] $bridge,
  Pattern[/\A[A-Za-z0-9_.:-]{1,15}\z/] $bridge_interface,
  Kiln::Absolutepath $image_dir,
) {
  package { ['libvirt', 'qemu-kvm', 'virt-install']:
    ensure => installed,
  }
  if versioncmp($facts['os']['release']['major'], '9') >= 0 {
    # EL9 and later run libvirt as modular daemons, each started by its
    # sockets (virtqemud for the VMs, virtstoraged for their disks, ...);
    # the monolithic libvirtd stays off so the two never compete for
    # qemu:///system.
    $drivers = ['qemu', 'storage', 'network', 'nodedev', 'secret', 'interface', 'nwfilter']
    service { ['libvirtd.service', 'libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket']:
      ensure  => stopped,
      enable  => false,
      require => Package['libvirt'],
      before  => Service[$drivers.map |$d| { "virt${d}d.socket" }],
    }
    $drivers.each |$d| {
      service { ["virt${d}d.socket", "virt${d}d-ro.socket", "virt${d}d-admin.socket"]:
        ensure  => running,
        enable  => true,
        require => Package['libvirt'],
      }
    }
  } else {
    service { 'libvirtd':
      ensure  => running,
      enable  => true,
      require => Package['libvirt'],
    }
  }
  file { $image_dir:
    ensure  => directory,
    owner   => 'root',
    group   => 'root',
    mode    => '0711',
    require => Package['libvirt'],
  }
  file { '/usr/local/sbin/kiln-make-bridge':
    ensure => file,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
    source => 'puppet:///modules/kiln_vm_host/make-bridge.sh',
  }
  exec { "kiln_vm_host bridge ${bridge}":
    command => "/usr/local/sbin/kiln-make-bridge ${bridge} ${bridge_interface}",
    unless  => "/usr/bin/nmcli -t -f NAME connection show --active | /usr/bin/grep -qx ${bridge}",
    require => File['/usr/local/sbin/kiln-make-bridge'],
  }
}
