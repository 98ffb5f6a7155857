#!/bin/sh
# Puts back the identity kiln keeps for nfs (its SSH host keys, its
# TLS server certificate, any grid host certificate imported for it, and the
# site CA's certificate every node trusts), replacing the fresh keys the
# installer made, so that users see the same host key after a rebuild.
# The kickstart's %post runs it; on a running node, run it as root and then
# restart sshd. KILN_ROOT=DIR writes under DIR instead of / (tests).
set -eu
root=${KILN_ROOT:-}
umask 077

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
	restorecon '/etc/pki/tls/certs/kiln-site-ca.crt' || true
fi
echo "kiln: put back 1 identity files of nfs"
