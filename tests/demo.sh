#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make demo`: the whole chain on one machine. Makes a lab CA and
# certificates with `mailtap-collector ca`, starts the collector on
# loopback, runs mailtapd on bundled captures of real mail traffic
# (tests/captures/lab, made by Postfix, Dovecot and real clients; else
# tests/captures/real) exporting over mutual TLS to it, stops the
# collector, and prints what the collector stored: sessions per protocol,
# logins, alerts, and the appliance's state, all read back with
# `mailtap-collector query` and `appliances`.
set -eu
B=${1:-build}
OUT=$B/demo
COLL=$B/mailtap-collector
MTD=$B/mailtapd
PORT=${DEMO_PORT:-14740}

caps=""
for c in tests/captures/lab/*.pcap; do
	[ -f "$c" ] && caps="$caps $c"
done
[ -n "$caps" ] || caps=tests/captures/real/tcp_veth.pcap
[ -n "${DEMO_CAPTURE:-}" ] && caps=$DEMO_CAPTURE

# A fresh lab every time: the CA tool never overwrites a key.
rm -rf "$OUT"
mkdir -p "$OUT"
cpid=
cleanup() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
	return 0
}
trap cleanup EXIT

echo "== mailtap demo =="
echo
echo "1. A lab CA and certificates (mailtap-collector ca, ECDSA P-256):"
"$COLL" ca init --dir "$OUT/pki" 2>&1 | sed 's/^/   /'
"$COLL" ca issue --dir "$OUT/pki" --collector collector --san localhost 2>&1 | sed 's/^/   /'
"$COLL" ca issue --dir "$OUT/pki" --appliance tap-01 2>&1 | sed 's/^/   /'

cat >"$OUT/collector.conf" <<EOF
[server]
listen = 127.0.0.1:$PORT
ca = $OUT/pki/ca.crt
cert = $OUT/pki/collector.crt
key = $OUT/pki/collector.key

[storage]
path = $OUT/collector.db

[metrics]
listen = 127.0.0.1:$((PORT + 1))

# The allow-list: certificate name -> observation domain(s).
[appliance tap-01]
domains = 1
EOF
cat >"$OUT/mailtap.conf" <<EOF
[export]
collector = 127.0.0.1:$PORT
server_name = collector
ca = $OUT/pki/ca.crt
cert = $OUT/pki/tap-01.crt
key = $OUT/pki/tap-01.key
domain_id = 1
spool_dir = $OUT/spool
EOF

echo
echo "2. The collector: $COLL serve -c $OUT/collector.conf"
"$COLL" serve -c "$OUT/collector.conf" 2>"$OUT/collector.log" &
cpid=$!
i=0
until grep -q "serving on" "$OUT/collector.log"; do
	if ! kill -0 "$cpid" 2>/dev/null || [ $i -gt 100 ]; then
		cat "$OUT/collector.log"
		echo "demo: the collector did not start (port $PORT busy? set DEMO_PORT)"
		exit 1
	fi
	i=$((i + 1))
	sleep 0.05
done
sed 's/^/   /' "$OUT/collector.log"

echo
echo "3. The appliance: mailtapd -c $OUT/mailtap.conf --read CAPTURE (export to the collector)"
n=0
for cap in $caps; do
	# Each run exits once the collector acknowledged all it sent.
	if ! "$MTD" -c "$OUT/mailtap.conf" --read "$cap" --json "$OUT/eve-$(basename "$cap" .pcap).json" \
		-q 2>>"$OUT/mailtapd.log"; then
		tail -5 "$OUT/mailtapd.log"
		echo "demo: mailtapd failed on $cap"
		exit 1
	fi
	n=$((n + 1))
done
echo "   $n captures replayed: $(echo $caps | tr ' ' '\n' | xargs -n1 basename | tr '\n' ' ')"
awk '/records acknowledged by/ { for (i = 1; i < NF; i++) if ($(i + 1) == "records" && $(i + 2) == "acknowledged") n += $i }
	END { printf "   %d records exported, every one acknowledged by the collector (log: %s)\n", n, FILENAME }' "$OUT/mailtapd.log"

echo
echo "4. The collector stops (SIGTERM: it commits and acknowledges what it holds)."
kill -TERM "$cpid"
wait "$cpid"
cpid=

echo
echo "== What the collector stored ($OUT/collector.db) =="
echo
"$COLL" query --db "$OUT/collector.db" --format json | python3 tests/tools/coll_summary.py
echo
echo "Logins of one user, as the query command shows them (query --type auth --user alice):"
"$COLL" query --db "$OUT/collector.db" --type auth --user alice --order time | sed 's/^/  /'
echo
"$COLL" appliances -c "$OUT/collector.conf" | sed 's/^/  /'
echo
echo "Try: $COLL query --db $OUT/collector.db --type alert"
echo "     $COLL query --db $OUT/collector.db --user alice --format json"
