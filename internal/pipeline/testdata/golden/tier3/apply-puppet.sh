#!/bin/sh
# apply-puppet.sh: applies a manifest of this build (the seed's head-init.pp
# step) with puppet apply and the build's Puppet modules, before the Puppet
# server exists. Written by kiln for mytier3.
#
# Run as root on the machine the manifest is for, from the build folder:
#   sh apply-puppet.sh head-init.pp              # make the changes
#   sh apply-puppet.sh head-init.pp --noop       # show what it would change
set -eu

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "apply-puppet: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "name the manifest to apply, e.g. sh apply-puppet.sh head-init.pp"
manifest=$1
shift
case $manifest in
/*) ;;
*) manifest="$here/$manifest" ;;
esac
[ -r "$manifest" ] || die "there is no $manifest; run this from the build folder kiln wrote"
[ -d "$here/puppet/modules" ] || die "there is no $here/puppet/modules; this is not a whole kiln build"

PATH=$PATH:/opt/puppetlabs/bin
command -v puppet >/dev/null 2>&1 ||
	die "puppet is not installed; the kickstart installs the agent (or: dnf install openvox-agent from the openvox8 repository, see /etc/yum.repos.d/kiln.repo)"

# --detailed-exitcodes: 2 means changes were made, which is success here.
status=0
puppet apply --detailed-exitcodes --modulepath="$here/puppet/modules" "$@" "$manifest" || status=$?
case $status in
0) echo "apply-puppet: nothing to change" ;;
2) echo "apply-puppet: done" ;;
*) die "puppet apply failed (exit $status); the messages above say which resource" ;;
esac
