#!/bin/sh
# Usage: kiln-make-bridge BRIDGE NIC
# Moves NIC's IPv4 configuration onto a new bridge BRIDGE and enslaves NIC to
# it, with NetworkManager. Installed by Puppet (kiln_vm_host).
set -eu
bridge=$1
nic=$2
con=$(nmcli -g GENERAL.CONNECTION device show "$nic")
if [ -z "$con" ]; then
	echo "kiln-make-bridge: $nic has no active connection to take the addresses from" >&2
	exit 1
fi
method=$(nmcli -g ipv4.method connection show "$con")
addrs=$(nmcli -g ipv4.addresses connection show "$con" | tr -d ' ' | tr '|' ',')
gw=$(nmcli -g ipv4.gateway connection show "$con")
dns=$(nmcli -g ipv4.dns connection show "$con" | tr -d ' ' | tr '|' ',')
if ! nmcli -t -f NAME connection show | grep -qx "$bridge"; then
	nmcli connection add type bridge con-name "$bridge" ifname "$bridge" stp no \
		ipv4.method "$method" ${addrs:+ipv4.addresses "$addrs"} ${gw:+ipv4.gateway "$gw"} ${dns:+ipv4.dns "$dns"} ipv6.method ignore
fi
if ! nmcli -t -f NAME connection show | grep -qx "$bridge-port-$nic"; then
	nmcli connection add type bridge-slave con-name "$bridge-port-$nic" ifname "$nic" master "$bridge"
fi
nmcli connection modify "$con" connection.autoconnect no
nmcli connection up "$bridge"
nmcli connection up "$bridge-port-$nic"
