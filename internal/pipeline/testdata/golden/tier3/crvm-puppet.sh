#!/bin/sh
# crvm-puppet.sh: creates the VM puppet (puppet.mytier3.local) on head and
# installs it from its kickstart, on the text console (no X11 needed).
# Written by kiln from the design's role puppet: 2 vCPU(s), 3072 MiB, 60 GiB.
#
# Run as root on head, from the build folder (kickstart-puppet.cfg beside it):
#   sh crvm-puppet.sh
# Running it again is harmless: an existing VM is left as it is.
# Watch the install with:  virsh console puppet
set -eu

name='puppet'
vcpus=2
memory_mib=3072
disk_gib=60
image_dir='/var/lib/libvirt/images'
bridge='br0'
here=$(cd "$(dirname "$0")" && pwd)
kickstart="$here/kickstart-puppet.cfg"
# The OS install tree on the head's install server (KILN_INSTALL_TREE
# overrides it, e.g. with a local mirror).
tree=${KILN_INSTALL_TREE:-http://10.10.0.1:80/os/el9/}
connect=${LIBVIRT_DEFAULT_URI:-qemu:///system}
meminfo=${KILN_MEMINFO:-/proc/meminfo}

say() { echo "crvm-$name: $*"; }
die() { echo "crvm-$name: $*" >&2; exit 1; }

if virsh -c "$connect" dominfo "$name" >/dev/null 2>&1; then
	say "the VM $name exists already; left as it is (to rebuild it: virsh destroy $name; virsh undefine $name --remove-all-storage; then run this again)"
	virsh -c "$connect" autostart "$name" >/dev/null
	exit 0
fi

[ -r "$kickstart" ] || die "there is no $kickstart; run this script from the build folder kiln wrote (kiln build)"
ip link show "$bridge" >/dev/null 2>&1 || [ -n "${KILN_DRY_RUN:-}" ] ||
	die "the bridge $bridge does not exist on this host; the head's network config creates it (see the runbook)"

mkdir -p "$image_dir"
free_kib=$(df -Pk "$image_dir" | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt $((disk_gib * 1024 * 1024)) ]; then
	die "$image_dir has $((free_kib / 1024 / 1024)) GiB free and the VM needs $disk_gib GiB; free some space, or make vm.disk of role puppet smaller"
fi
avail_kib=$(awk '$1 == "MemAvailable:" { print $2 }' "$meminfo")
if [ "${avail_kib:-0}" -lt $((memory_mib * 1024)) ]; then
	die "this host has $((${avail_kib:-0} / 1024)) MiB of memory available and the VM needs $memory_mib MiB; stop something, or make vm.memory of role puppet smaller"
fi

say "creating $name: $vcpus vCPU(s), $memory_mib MiB, $disk_gib GiB in $image_dir, on bridge $bridge"
# The kickstart carries this VM's root password hash and Puppet challenge:
# it goes into the installer's initrd from this folder, never over the network.
# ifname=NAME:MAC gives each NIC its design name by its MAC, as on the
# physical nodes (Anaconda keeps it as a systemd .link file).
set -- --connect "$connect" \
	--name "$name" \
	--vcpus "$vcpus" --memory "$memory_mib" \
	--disk "path=$image_dir/$name.qcow2,size=$disk_gib,format=qcow2,bus=virtio" \
	--network "bridge=$bridge,mac=52:54:00:17:7c:36,model=virtio" \
	--location "$tree" \
	--initrd-inject "$kickstart" \
	--extra-args "inst.ks=file:/kickstart-puppet.cfg console=ttyS0,115200n8 ifname=priv0:52:54:00:17:7c:36 inst.text" \
	--osinfo rocky9 \
	--graphics none --console pty,target_type=serial \
	--autostart --noautoconsole --wait -1
if [ -n "${KILN_DRY_RUN:-}" ]; then
	virt-install "$@" --dry-run
	exit 0
fi
virt-install "$@"
say "installed; it starts with $(hostname) (autostart is on)"
