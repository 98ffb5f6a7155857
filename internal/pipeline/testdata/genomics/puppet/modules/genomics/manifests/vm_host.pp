# @summary libvirt and the bridge the VMs join.
#
# @param bridge
#   The bridge the VMs' NICs join.
# @param image_dir
#   Where the VMs' disks are.
class genomics::vm_host (
  String[1] $bridge,
  String[1] $image_dir,
) {
  package { ['libvirt', 'qemu-kvm']:
    ensure => installed,
  }
  file { $image_dir:
    ensure => directory,
  }
  service { 'libvirtd':
    ensure  => running,
    enable  => true,
    require => Package['libvirt'],
  }
}
