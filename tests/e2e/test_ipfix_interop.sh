#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# IPFIX interoperability with tools nobody here wrote, on every capture
# with flows (tests/captures/real, tests/captures/lab, and a generated one
# of 300 mail sessions):
#   1. `mailtapd --read CAP --ipfix F --json J`: libfixbuf's
#      `ipfixDump --rfc5610` reads F and shows the same flow records
#      (addresses, ports, protocol, packets and bytes each way) as J, and
#      names mailtap's enterprise elements (from the RFC 5610 records);
#   2. mailtapd exporting over plaintext TCP (export.tls = no, ack = no) to
#      a listener on 127.0.0.1:4739 while tcpdump captures on lo: tshark's
#      cflow dissector (`-d tcp.port==4739,cflow`) finds the same flows.
# tests/tools/export_interop.py turns each reader's output into one sorted
# line per flow; the lines must be identical.
#
# Needs ipfixDump (libfixbuf-tools), tshark, tcpdump and python3; fails
# when one is missing rather than skipping.
#
# usage: sh tests/e2e/test_ipfix_interop.sh BUILD_DIR   (exit 0 = all passed)
set -u

build=${1:?usage: test_ipfix_interop.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/mailtapd
sink=$build/tools/export_sink
helper=$root/tests/tools/export_interop.py
port=4739

for t in ipfixDump tshark tcpdump python3; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "FAIL: test_ipfix_interop: $t not found (apt-get install libfixbuf-tools tshark tcpdump python3)"
		exit 1
	fi
done
for b in "$bin" "$sink"; do
	[ -x "$b" ] || { echo "FAIL: $b is missing (run make)"; exit 1; }
done

tmp=$(mktemp -d /tmp/mailtap-interop.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }

python3 "$root/tests/tools/export_mkpcap.py" "$tmp/generated.pcap" 300
caps=""
for c in "$root"/tests/captures/real/*.pcap "$root"/tests/captures/lab/*.pcap "$tmp/generated.pcap"; do
	[ -f "$c" ] && caps="$caps $c"
done

# ---- 1. RFC 5655 file read by ipfixDump --------------------------------------

for c in $caps; do
	name=$(basename "$c" .pcap)
	"$bin" --read "$c" --ipfix "$tmp/$name.ipfix" --json "$tmp/$name.json" -q 2>"$tmp/$name.err" || {
		fail "$name: mailtapd failed: $(cat "$tmp/$name.err")"
		continue
	}
	python3 "$helper" json "$tmp/$name.json" >"$tmp/$name.want"
	if ! ipfixDump --rfc5610 --in "$tmp/$name.ipfix" >"$tmp/$name.dump" 2>"$tmp/$name.dumperr"; then
		fail "$name: ipfixDump cannot read the file: $(head -n 3 "$tmp/$name.dumperr")"
		continue
	fi
	python3 "$helper" ipfixdump "$tmp/$name.dump" >"$tmp/$name.got"
	if [ ! -s "$tmp/$name.want" ]; then
		echo "note: $name has no flow records"
	elif cmp -s "$tmp/$name.want" "$tmp/$name.got"; then
		pass "ipfixDump: $name: the same $(wc -l <"$tmp/$name.want") flows as the JSON"
	else
		fail "ipfixDump: $name: flows differ (- JSON, + ipfixDump)"
		diff "$tmp/$name.want" "$tmp/$name.got" | head -n 8 | sed 's/^/    /'
	fi
done
# The RFC 5610 records name the enterprise elements.
if grep -q "flowReason" "$tmp/generated.dump" && grep -q "authUser" "$tmp/generated.dump"; then
	pass "ipfixDump --rfc5610: enterprise elements shown by name (flowReason, authUser)"
else
	fail "ipfixDump --rfc5610 does not name mailtap's elements"
fi

# ---- 2. plaintext TCP export on lo, read by tshark ---------------------------

if ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$port\$"; then
	echo "FAIL: port $port on 127.0.0.1 is taken; cannot run the tshark part"
	exit 1
fi
"$sink" --plain --no-ack --listen "127.0.0.1:$port" --port-file "$tmp/sink.port" \
	--out "$tmp/sink.json" 2>"$tmp/sink.log" &
spid=$!
pids="$pids $spid"
i=0
while [ ! -s "$tmp/sink.port" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "FAIL: the listener did not start: $(cat "$tmp/sink.log")"; exit 1; }
	sleep 0.05
done
tcpdump -i lo -U --immediate-mode -w "$tmp/lo.pcap" "tcp port $port" 2>"$tmp/tcpdump.log" &
tpid=$!
pids="$pids $tpid"
i=0
while ! grep -q "listening on" "$tmp/tcpdump.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "FAIL: tcpdump did not start: $(cat "$tmp/tcpdump.log")"; exit 1; }
	sleep 0.05
done
# One appliance exporting capture after capture: one spool, so the
# sequence numbers run on from one run to the next.
n=0
for c in $caps; do
	name=$(basename "$c" .pcap)
	n=$((n + 1))
	cat >"$tmp/plain.conf" <<EOF
[export]
collector = 127.0.0.1:$port
tls = no
ack = no
spool_dir = $tmp/spool
flush_interval = 100ms
EOF
	if ! "$bin" --read "$c" -c "$tmp/plain.conf" --json "$tmp/tcp-$n.json" -q 2>"$tmp/tcp-$n.err" ||
		! grep -q "0 records still spooled" "$tmp/tcp-$n.err"; then
		fail "$name: plaintext export failed: $(cat "$tmp/tcp-$n.err")"
	fi
done
sleep 1
kill "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
cat "$tmp"/tcp-*.json >"$tmp/tcp.json"
python3 "$helper" json "$tmp/tcp.json" >"$tmp/tcp.want"
python3 "$helper" tshark "$tmp/lo.pcap" "$port" >"$tmp/tcp.got"
if [ -s "$tmp/tcp.want" ] && cmp -s "$tmp/tcp.want" "$tmp/tcp.got"; then
	pass "tshark cflow: the same $(wc -l <"$tmp/tcp.want") flows over TCP port $port as the JSON ($n exports)"
else
	fail "tshark cflow: flows differ (- JSON, + tshark: $(wc -l <"$tmp/tcp.want") vs $(wc -l <"$tmp/tcp.got"))"
	diff "$tmp/tcp.want" "$tmp/tcp.got" | head -n 8 | sed 's/^/    /'
fi
# The listener decoded the stream with mailtap's own decoder as well.
if [ "$(wc -l <"$tmp/sink.json")" -eq "$(wc -l <"$tmp/tcp.json")" ]; then
	pass "the same stream decodes with mailtap's decoder ($(wc -l <"$tmp/tcp.json") records)"
else
	fail "the listener decoded $(wc -l <"$tmp/sink.json") of $(wc -l <"$tmp/tcp.json") records"
fi

if [ $failed -ne 0 ]; then
	echo "test_ipfix_interop: FAILED"
	exit 1
fi
echo "test_ipfix_interop: all passed"
