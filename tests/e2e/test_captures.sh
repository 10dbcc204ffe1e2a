#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Replays every committed capture through mailtapd and requires the exact
# expected output: for each tests/captures/*/NAME.pcap that has a NAME.json
# beside it, `mailtapd --read NAME.pcap --json OUT -q` (plus `-c NAME.conf`
# when that file exists) must write a file byte-identical to NAME.json. Then mailtapd runs twice on the same captures
# and must write identical output both times (time comes from packets, so a
# replay is deterministic).
#
# The expected files were made by mailtapd and checked by hand and against
# tshark (tests/e2e/test_tshark_conv.sh); when a change to mailtapd changes
# them on purpose, regenerate them with the command above and check the diff.
#
# usage: sh tests/e2e/test_captures.sh BUILD_DIR     (exit 0 = all passed)
set -eu

build=${1:?usage: test_captures.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
caps=$(cd "$here/../captures" && pwd)
bin=$build/mailtapd

if [ ! -x "$bin" ]; then
	echo "FAIL: test_captures: $bin is missing or not executable (run make)"
	exit 1
fi

tmp=$(mktemp -d /tmp/mailtap-captures.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
compared=0
ok() {
	pass=$((pass + 1))
	echo "ok: $*"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL: $*"
}

# run NAME.pcap OUT: mailtapd on one capture (with NAME.conf when there is
# one); 0 when it succeeded.
run() {
	r_pcap=$1
	r_out=$2
	r_conf=${r_pcap%.pcap}.conf
	if [ -f "$r_conf" ]; then
		set -- -c "$r_conf"
	else
		set --
	fi
	if "$bin" --read "$r_pcap" --json "$r_out" -q "$@" 2>"$tmp/stderr"; then
		return 0
	fi
	bad "${r_pcap#"$caps"/}: mailtapd failed: $(head -c 400 "$tmp/stderr")"
	return 1
}

for pcap in "$caps"/*/*.pcap; do
	[ -e "$pcap" ] || continue
	name=${pcap#"$caps"/}
	want=${pcap%.pcap}.json
	if [ ! -f "$want" ]; then
		echo "note: $name has no ${name%.pcap}.json beside it, not compared"
		continue
	fi
	compared=$((compared + 1))
	run "$pcap" "$tmp/out.json" || continue
	if cmp -s "$want" "$tmp/out.json"; then
		ok "$name: output identical to ${name%.pcap}.json"
	else
		bad "$name: output differs from ${name%.pcap}.json (- expected, + mailtapd):"
		diff -u "$want" "$tmp/out.json" | sed -n '3,40p' | sed 's/^/    /'
	fi
done

# Determinism: the real capture (timeouts, several flows, IPv4 and IPv6)
# and the reassembly one (out-of-order queue, gaps) twice each.
for name in real/tcp_veth.pcap synthetic/tcp_reassembly.pcap; do
	pcap=$caps/$name
	if [ ! -f "$pcap" ]; then
		bad "$name: missing, cannot check determinism"
		continue
	fi
	run "$pcap" "$tmp/a.json" || continue
	run "$pcap" "$tmp/b.json" || continue
	if [ -s "$tmp/a.json" ] && cmp -s "$tmp/a.json" "$tmp/b.json"; then
		ok "$name: two runs wrote identical output"
	else
		bad "$name: two runs wrote different (or empty) output"
		diff -u "$tmp/a.json" "$tmp/b.json" | sed -n '3,20p' | sed 's/^/    /'
	fi
done

if [ $compared -eq 0 ]; then
	bad "no capture with an expected .json found under $caps"
fi
echo "test_captures: $pass passed, $fail failed"
[ $fail -eq 0 ]
