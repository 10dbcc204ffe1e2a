#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Checks mailtapd's flow counts against an independent implementation:
# for every capture under tests/captures/ (the real veth capture first), runs
# tshark's conversation tables (-z conv,tcp -z conv,udp) and mailtapd, and
# requires, for each conversation, the same client and server (address and
# port) and the same frames and bytes in each direction
# (tests/tools/tshark_conv.py does the matching; bytes are whole frames on
# the wire in both tools).
#
# Tunnelled captures are included: tshark's TCP table holds the inner
# conversation, counted in outer frames, which is exactly what mailtapd's
# flow reports. What mailtapd leaves out by design is named per capture
# below with --untracked: that conversation must be in tshark's table and
# must not be a mailtapd flow.
#
# tshark runs with IP reassembly off: mailtapd does not reassemble IP
# fragments (decode.h: a first fragment is decoded and tracked, later ones
# are counted in flow.not_tracked only), so tshark must attribute the frames
# the same way: first fragment to the TCP conversation, later ones to none.
#
# Needs tshark and python3 (mk/deps.sh pkgs_test); fails when tshark is
# missing rather than skipping.
#
# usage: sh tests/e2e/test_tshark_conv.sh BUILD_DIR   (exit 0 = all passed)
set -eu

build=${1:?usage: test_tshark_conv.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
caps=$(cd "$here/../captures" && pwd)
helper=$here/../tools/tshark_conv.py
bin=$build/mailtapd

if ! command -v tshark >/dev/null 2>&1; then
	echo "FAIL: test_tshark_conv: tshark not found (apt-get install tshark, or make deps-test)"
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL: test_tshark_conv: python3 not found"
	exit 1
fi
if [ ! -x "$bin" ]; then
	echo "FAIL: test_tshark_conv: $bin is missing or not executable (run make)"
	exit 1
fi

tmp=$(mktemp -d /tmp/mailtap-conv.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
n=0
for pcap in "$caps"/real/*.pcap "$caps"/synthetic/*.pcap "$caps"/app/*.pcap; do
	[ -e "$pcap" ] || continue
	name=${pcap#"$caps"/}
	set -- --label "$name" --tshark-opt ip.defragment:FALSE \
		--tshark-opt ipv6.defragment:FALSE
	case $name in
	synthetic/malformed.pcap)
		# 9 IPv6 extension headers before TCP: tshark decodes it, mailtapd
		# stops at MT_DECODE_MAX_IPV6_EXT (8) and counts err_ipv6_ext_too_many.
		set -- "$@" --untracked tcp:41004 ;;
	synthetic/vxlan.pcap)
		# The outer UDP datagrams to 4789 carry the tunnel: mailtapd reports
		# the inner TCP flow instead.
		set -- "$@" --untracked udp:4789 ;;
	synthetic/flow_timeouts.pcap)
		# A lookup comes back on the same ports after the UDP timeout: two
		# flows for mailtapd, one conversation for tshark.
		set -- "$@" --split-ok ;;
	esac
	conf=${pcap%.pcap}.conf
	n=$((n + 1))
	rc=0
	if [ -f "$conf" ]; then
		"$bin" --read "$pcap" --json "$tmp/out.json" -q -c "$conf" 2>"$tmp/stderr" || rc=$?
	else
		"$bin" --read "$pcap" --json "$tmp/out.json" -q 2>"$tmp/stderr" || rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		fail=$((fail + 1))
		echo "FAIL: $name: mailtapd failed: $(head -c 400 "$tmp/stderr")"
		continue
	fi
	rc=0
	python3 "$helper" "$@" "$pcap" "$tmp/out.json" >"$tmp/lines" || rc=$?
	cat "$tmp/lines"
	p=$(grep -c '^ok:' "$tmp/lines" || true)
	f=$(grep -c '^FAIL:' "$tmp/lines" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name: tshark_conv.py exited $rc"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done

if [ $n -eq 0 ]; then
	echo "FAIL: test_tshark_conv: no capture found under $caps"
	fail=$((fail + 1))
elif [ ! -f "$caps/real/tcp_veth.pcap" ]; then
	echo "FAIL: test_tshark_conv: real/tcp_veth.pcap is missing"
	fail=$((fail + 1))
fi
echo "test_tshark_conv: $pass passed, $fail failed"
[ $fail -eq 0 ]
