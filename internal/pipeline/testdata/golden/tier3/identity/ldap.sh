#!/bin/sh
# Puts back the identity kiln keeps for ldap (its SSH host keys, its
# TLS server certificate, any grid host certificate imported for it, and the
# site CA's certificate every node trusts), replacing the fresh keys the
# installer made, so that users see the same host key after a rebuild.
# The kickstart's %post runs it; on a running node, run it as root and then
# restart sshd. KILN_ROOT=DIR writes under DIR instead of / (tests).
set -eu
root=${KILN_ROOT:-}
umask 077

mkdir -p "$root"'/etc/openldap/certs'
cat >"$root"'/etc/openldap/certs/kiln-ldap.crt'.kiln-new <<'KILN_EOF'
-----BEGIN CERTIFICATE-----
MIIB8zCCAZqgAwIBAgIQdU4+l1GYv2M4D7dncyRwAjAKBggqhkjOPQQDAjAzMRAw
DgYDVQQKEwdteXRpZXIzMR8wHQYDVQQDExZteXRpZXIzIHNpdGUgQ0EgKGtpbG4p
MB4XDTI2MTIwNDE0MjIzMloXDTM2MTIwMTE0MjIzMlowLzEQMA4GA1UEChMHbXl0
aWVyMzEbMBkGA1UEAxMSbGRhcC5teXRpZXIzLmxvY2FsMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEfw2U9QCy5ZCcjSkkp5kWvYZAV/rsWB/7sDMelD5TiJUcAOVf
YMkal43GrABL7QoikDeuEe7NcPm7Sff/Oj5YvKOBkzCBkDAOBgNVHQ8BAf8EBAMC
B4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFCBK8MR2a6lKF9HEvbtH
IRR0/MHjMB8GA1UdIwQYMBaAFOw5N0yLgbzE9kgcRyj0oXdgg31SMCkGA1UdEQQi
MCCCEmxkYXAubXl0aWVyMy5sb2NhbIIEbGRhcIcECgoAAzAKBggqhkjOPQQDAgNH
ADBEAiBGF/Ln499CXgOUiX1nezOzQv/WGXOmGlxxa5vQmut5zAIgbMuTur2DJ239
Ygcntk7b0S3A+yu1QfoFYrbBN5HYlXc=
-----END CERTIFICATE-----
KILN_EOF
chmod 0644 "$root"'/etc/openldap/certs/kiln-ldap.crt'.kiln-new
mv -f "$root"'/etc/openldap/certs/kiln-ldap.crt'.kiln-new "$root"'/etc/openldap/certs/kiln-ldap.crt'

mkdir -p "$root"'/etc/openldap/certs'
cat >"$root"'/etc/openldap/certs/kiln-ldap.key'.kiln-new <<'KILN_EOF'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgw+LZrx2fFF+Nt2tH
TH59kzAEfUjqSgz9TS+U0jIFxJKhRANCAAR/DZT1ALLlkJyNKSSnmRa9hkBX+uxY
H/uwMx6UPlOIlRwA5V9gyRqXjcasAEvtCiKQN64R7s1w+btJ9/86Pli8
-----END PRIVATE KEY-----
KILN_EOF
chmod 0600 "$root"'/etc/openldap/certs/kiln-ldap.key'.kiln-new
mv -f "$root"'/etc/openldap/certs/kiln-ldap.key'.kiln-new "$root"'/etc/openldap/certs/kiln-ldap.key'

mkdir -p "$root"'/etc/pki/tls/certs'
cat >"$root"'/etc/pki/tls/certs/kiln-site-ca.crt'.kiln-new <<'KILN_EOF'
-----BEGIN CERTIFICATE-----
MIIBqDCCAU+gAwIBAgIQF0FUARmyGiV4rRttK1laSzAKBggqhkjOPQQDAjAzMRAw
DgYDVQQKEwdteXRpZXIzMR8wHQYDVQQDExZteXRpZXIzIHNpdGUgQ0EgKGtpbG4p
MB4XDTI2MTIwNDE0MjIzMloXDTQ2MTEyOTE0MjIzMlowMzEQMA4GA1UEChMHbXl0
aWVyMzEfMB0GA1UEAxMWbXl0aWVyMyBzaXRlIENBIChraWxuKTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABNXlyik39i6euOOCOAJJ7EylIV4BHT5mS5kcTy5hJhcT
eEpf8vpcWmvbiAbDDvhjM5EcwSTwwDOpMaSKcjuUtPyjRTBDMA4GA1UdDwEB/wQE
AwIBhjASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1UdDgQWBBTsOTdMi4G8xPZIHEco
9KF3YIN9UjAKBggqhkjOPQQDAgNHADBEAiBmWD1tgc0aFKj8rRamWeQTzNM0x8aa
ywCQABFz9fRYKwIgLD5/8PvSYMY5s1vUswg7j+FCJesuZO7yLNDNafT4klQ=
-----END CERTIFICATE-----
KILN_EOF
chmod 0644 "$root"'/etc/pki/tls/certs/kiln-site-ca.crt'.kiln-new
mv -f "$root"'/etc/pki/tls/certs/kiln-site-ca.crt'.kiln-new "$root"'/etc/pki/tls/certs/kiln-site-ca.crt'

# SELinux labels of the files just written (on the node itself only).
if [ -z "$root" ] && command -v restorecon >/dev/null 2>&1; then
	restorecon '/etc/openldap/certs/kiln-ldap.crt' '/etc/openldap/certs/kiln-ldap.key' '/etc/pki/tls/certs/kiln-site-ca.crt' || true
fi
echo "kiln: put back 3 identity files of ldap"
