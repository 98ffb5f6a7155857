#!/bin/sh
# Puts back the identity kiln keeps for nfs (its SSH host keys,
# and any grid host certificate imported for it), replacing the fresh keys
# the installer made, so that users see the same host key after a rebuild.
# The kickstart's %post runs it; on a running node, run it as root and then
# restart sshd. KILN_ROOT=DIR writes under DIR instead of / (tests).
set -eu
# kiln keeps no identity for nfs yet: kiln identity -C SITE makes
# its SSH host keys. Until then the installer's own keys stay.
echo "kiln: no kept identity for nfs; the installer's host keys stay" >&2
