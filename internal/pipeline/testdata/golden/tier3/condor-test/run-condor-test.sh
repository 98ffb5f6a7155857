#!/bin/sh
# The HTCondor smoke test of mytier3: compiles hello.c, submits one
# job per execute node, waits for them and checks that each one answered.
# The last step of the runbook. Written by kiln.
#
# Run on int1 as t3admin, with hello.c and hello.sub beside this script:
#   scp build/condor-test/* t3admin@int1:condor-test/
#   ssh t3admin@int1 sh condor-test/run-condor-test.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
wait_s=${KILN_CONDOR_WAIT:-900}

say() { echo "condor-test: $*"; }
die() { echo "condor-test: $*" >&2; exit 1; }

command -v condor_submit >/dev/null 2>&1 || die "condor_submit is not installed here; run this on int1, the pool's submit node"
command -v cc >/dev/null 2>&1 || die "there is no C compiler (cc); install gcc"
[ "$(id -un)" = 't3admin' ] || say "note: running as $(id -un), not t3admin; the jobs run as $(id -un)"

work=$(mktemp -d "${HOME:-/tmp}/condor-test.XXXXXX")
cp "$here/hello.c" "$here/hello.sub" "$work/"
cd "$work"
cc -O2 -o hello hello.c

condor_submit hello.sub >submit.out || die "condor_submit failed: $(cat submit.out); is the schedd running (condor_status -schedd)?"
jobs=$(awk '/job\(s\) submitted to cluster/ { print $1 }' submit.out)
cluster=$(awk '/job\(s\) submitted to cluster/ { sub(/\.$/, "", $NF); print $NF }' submit.out)
if [ -z "$jobs" ] || [ -z "$cluster" ]; then
	die "could not read the cluster id from condor_submit's answer: $(cat submit.out)"
fi
say "submitted $jobs job(s) as cluster $cluster; waiting up to $wait_s s (in $work)"

if ! condor_wait -wait "$wait_s" hello.log; then
	die "the jobs did not finish within $wait_s s; see condor_q -better-analyze $cluster and $work/hello.log"
fi

hosts=""
i=0
while [ "$i" -lt "$jobs" ]; do
	out="hello.$i.out"
	grep -q '^hello from ' "$out" 2>/dev/null || die "job $i did not answer (see $work/$out and hello.$i.err)"
	hosts="$hosts $(awk '{ print $3 }' "$out" | tr -d ,)"
	i=$((i + 1))
done
distinct=$(echo "$hosts" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
say "all $jobs job(s) answered, from: $distinct"
say "the pool works"
