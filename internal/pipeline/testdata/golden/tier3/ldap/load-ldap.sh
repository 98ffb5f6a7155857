#!/bin/sh
# Loads mytier3's directory into the LDAP server ldap.mytier3.local: the base,
# the groups and the first administrator (bootstrap.ldif) once, then every
# user of users.ldif that is not there yet. Written by kiln; safe to run
# again after adding users to site.yaml and rebuilding.
#
# Run as root on ldap, with bootstrap.ldif and users.ldif beside this script:
#   scp -p build/ldap/* root@ldap.mytier3.local:/root/kiln-ldap/
#   ssh root@ldap.mytier3.local sh /root/kiln-ldap/load-ldap.sh
#
# It carries the directory manager's password, so it is 0600; the password
# goes to ldapadd in a 0600 file, never on a command line.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# slapd's local socket (root on the server); LDAP_URI=ldaps://… from elsewhere.
uri=${LDAP_URI:-ldapi:///}
base_dn='dc=physics,dc=example,dc=edu'
root_dn='cn=root,dc=physics,dc=example,dc=edu'

umask 077
pwfile=$(mktemp)
trap 'rm -f "$pwfile"' EXIT INT TERM
# printf is built into the shell: the password is in no process's arguments.
printf '%s' 'example-only-ldap-root-password-change-me' >"$pwfile"

exists() {
	ldapsearch -LLL -x -H "$uri" -D "$root_dn" -y "$pwfile" -b "$1" -s base dn >/dev/null 2>&1
}

if exists "$base_dn"; then
	echo "load-ldap: $base_dn is already there; bootstrap.ldif skipped"
else
	echo "load-ldap: creating $base_dn, its groups and the first administrator"
	ldapadd -x -H "$uri" -D "$root_dn" -y "$pwfile" -f "$here/bootstrap.ldif"
fi

added=0
missing=""
if ! exists "uid=t3admin,ou=People,$base_dn"; then
	missing="$missing t3admin"
fi
if ! exists "uid=alice,ou=People,$base_dn"; then
	missing="$missing alice"
fi
if [ -n "$missing" ]; then
	echo "load-ldap: adding$missing"
	# -c: go on past the entries that exist (the first administrator's).
	ldapadd -c -x -H "$uri" -D "$root_dn" -y "$pwfile" -f "$here/users.ldif" >/dev/null 2>&1 || true
	for u in $missing; do
		if exists "uid=$u,ou=People,$base_dn"; then
			added=$((added + 1))
		else
			echo "load-ldap: could not add $u; run ldapadd -c -x -H $uri -D '$root_dn' -W -f $here/users.ldif to see why" >&2
			exit 1
		fi
	done
fi
echo "load-ldap: done; $added user(s) added, 2 in site.yaml"
