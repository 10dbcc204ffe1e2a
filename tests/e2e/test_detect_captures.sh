#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Detection on the lab's real captures (tests/lab, tests/captures/lab).
# For every NAME.pcap there:
#   - with NAME.alerts.json beside it, the alert lines of
#     `mailtapd --read NAME.pcap --json - -q` (the lines with
#     "event_type":"alert", in order) must be exactly that file;
#   - without one, mailtapd must write no alert at all.
# The captures of benign sessions (BENIGN below) must also write no alert at
# all once the one policy detector they trip, cleartext credentials, is off:
# whatever else fires on them is a false positive.
#
# The expected files were checked by hand against NAME.truth.json (what the
# lab did: users, sources, passwords right or wrong, cleartext or not). The
# lab makes new captures on every run (new times, ports, flow ids), so when
# a capture is replaced its expected alerts are remade with
#   build/mailtapd --read tests/captures/lab/NAME.pcap --json - -q |
#       grep '"event_type":"alert"' > tests/captures/lab/NAME.alerts.json
# and checked against the new truth file again before they are committed.
#
# usage: sh tests/e2e/test_detect_captures.sh BUILD_DIR   (exit 0 = all passed)
set -eu

build=${1:?usage: test_detect_captures.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
lab=$(cd "$here/../captures/lab" 2>/dev/null && pwd) || lab=""
bin=$build/mailtapd

BENIGN="smtp_submission smtp_submission_starttls smtp_mx_attachment smtp_auth_failures
imap_session pop3_session imaps_sni pop3s_sni smtps_sni imap_starttls"

if [ ! -x "$bin" ]; then
	echo "FAIL: test_detect_captures: $bin is missing or not executable (run make)"
	exit 1
fi
if [ -z "$lab" ] || ! ls "$lab"/*.pcap >/dev/null 2>&1; then
	echo "FAIL: test_detect_captures: no lab captures in tests/captures/lab (sh tests/lab/lab.sh)"
	exit 1
fi

tmp=$(mktemp -d /tmp/mailtap-detect.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '[detect]\ncleartext_enable = no\n' >"$tmp/no_cleartext.conf"

pass=0
fail=0
ok() {
	pass=$((pass + 1))
	echo "ok: $*"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL: $*"
}

# alerts PCAP OUT [mailtapd options]: the alert lines of one run into OUT.
alerts() {
	a_pcap=$1
	a_out=$2
	shift 2
	if ! "$bin" --read "$a_pcap" --json "$tmp/all.json" -q "$@" 2>"$tmp/stderr"; then
		bad "$(basename "$a_pcap"): mailtapd failed: $(head -c 400 "$tmp/stderr")"
		return 1
	fi
	grep '"event_type":"alert"' "$tmp/all.json" >"$a_out" || true
}

for pcap in "$lab"/*.pcap; do
	name=$(basename "$pcap" .pcap)
	want=$lab/$name.alerts.json
	alerts "$pcap" "$tmp/got.json" || continue
	if [ -f "$want" ]; then
		if cmp -s "$want" "$tmp/got.json"; then
			ok "$name: $(wc -l <"$want" | tr -d ' ') alert(s) as expected"
		else
			bad "$name: alerts differ from $name.alerts.json (- expected, + mailtapd):"
			diff -u "$want" "$tmp/got.json" | sed -n '3,40p' | cut -c1-400 | sed 's/^/    /'
		fi
	elif [ -s "$tmp/got.json" ]; then
		bad "$name: no $name.alerts.json, so no alert expected, but got:"
		cut -c1-400 "$tmp/got.json" | sed 's/^/    /'
	else
		ok "$name: no alert"
	fi
done

for name in $BENIGN; do
	pcap=$lab/$name.pcap
	if [ ! -f "$pcap" ]; then
		bad "$name: benign capture missing (sh tests/lab/lab.sh $name)"
		continue
	fi
	alerts "$pcap" "$tmp/got.json" -c "$tmp/no_cleartext.conf" || continue
	if [ -s "$tmp/got.json" ]; then
		bad "$name: benign, yet alerts besides cleartext credentials:"
		cut -c1-400 "$tmp/got.json" | sed 's/^/    /'
	else
		ok "$name: benign, no alert besides cleartext credentials"
	fi
done

# All benign sessions as one stream, in time order: what detection learns
# from one session (this server offers STARTTLS, this source failed once)
# must not turn another benign session into an alert.
if command -v mergecap >/dev/null 2>&1; then
	set --
	for name in $BENIGN; do
		[ -f "$lab/$name.pcap" ] && set -- "$@" "$lab/$name.pcap"
	done
	if mergecap -F pcap -w "$tmp/benign.pcap" "$@" 2>"$tmp/stderr"; then
		if alerts "$tmp/benign.pcap" "$tmp/got.json" -c "$tmp/no_cleartext.conf"; then
			if [ -s "$tmp/got.json" ]; then
				bad "benign captures merged: alerts besides cleartext credentials:"
				cut -c1-400 "$tmp/got.json" | sed 's/^/    /'
			else
				ok "benign captures merged ($# captures): no alert besides cleartext credentials"
			fi
		fi
	else
		bad "mergecap failed: $(head -c 200 "$tmp/stderr")"
	fi
else
	echo "note: mergecap (tshark) not installed: merged benign replay skipped"
fi

echo "test_detect_captures: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
