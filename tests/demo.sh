#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make demo`: runs mailtapd on a capture bundled in the repository (made by
# real programs in network namespaces, see tests/captures/make_real.sh) and
# prints what it saw: one line per flow, then the appliance's counters.
set -eu
B=${1:-build}
CAP=${DEMO_CAPTURE:-tests/captures/real/tcp_veth.pcap}
OUT=$B/demo
mkdir -p "$OUT"

echo "== mailtap demo =="
echo "capture: $CAP"
echo "command: $B/mailtapd --read $CAP --json $OUT/eve.json"
echo
"$B/mailtapd" --read "$CAP" --json "$OUT/eve.json" 2>"$OUT/summary.txt"
python3 tests/tools/flowtable.py "$OUT/eve.json"
echo
cat "$OUT/summary.txt"
echo
echo "EVE JSON lines: $OUT/eve.json"
