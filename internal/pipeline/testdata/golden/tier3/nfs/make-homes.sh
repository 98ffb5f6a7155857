#!/bin/sh
# Creates the home folder of every user of mytier3 on the NFS export
# /export/home, owned by the user's numeric ids (the NFS server need not
# know the names yet). Existing homes are left as they are. Written by kiln.
#
# Run as root on nfs:  sh make-homes.sh
set -eu

root=${KILN_ROOT:-}

make_home() { # name uid gid home
	if [ -d "$root$4" ]; then
		echo "make-homes: $4 exists, left alone"
		return 0
	fi
	mkdir -p "$(dirname "$root$4")"
	if [ -d /etc/skel ]; then
		cp -R /etc/skel "$root$4"
	else
		mkdir "$root$4"
	fi
	chown -R "$2:$3" "$root$4"
	chmod 0700 "$root$4"
	echo "make-homes: made $4 for $1"
}

make_home 't3admin' 5001 5000 '/export/home/t3admin'
make_home 'alice' 5101 5000 '/export/home/alice'
