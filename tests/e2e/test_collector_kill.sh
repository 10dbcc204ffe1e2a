#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Exactly once across crashes: an exporter streams 200,000 records (every
# record type) while the collector is killed with SIGKILL again and again
# and restarted on the same database. The exporter behaves as mailtapd's
# does: it keeps what is not acknowledged and sends it again after each
# reconnect. At the end the database must hold every record exactly once:
# the same count, and `query --format json` byte-identical, in order, to
# the JSON of the records the exporter generated; and the domain's row must
# show no gap (the replays were counted as duplicates, not stored).
#
# usage: sh tests/e2e/test_collector_kill.sh BUILD_DIR [RECORDS] [KILLS]
set -eu

B=${1:?usage: test_collector_kill.sh BUILD_DIR}
N=${2:-200000}
KILLS=${3:-6}
coll=$B/mailtap-collector
client=$B/tools/coll_client
for x in "$coll" "$client"; do
	[ -x "$x" ] || { echo "FAIL: $x missing (run make)"; exit 1; }
done
tmp=$(mktemp -d /tmp/mailtap-coll-kill.XXXXXX)
cpid=
kpid=
cleanup() {
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

"$coll" ca init --dir "$tmp/pki" >/dev/null
"$coll" ca issue --dir "$tmp/pki" --collector collector >/dev/null
"$coll" ca issue --dir "$tmp/pki" --appliance tap-01 >/dev/null
port=$((26000 + $$ % 20000))
cat >"$tmp/c.conf" <<EOF
[server]
listen = 127.0.0.1:$port
ca = $tmp/pki/ca.crt
cert = $tmp/pki/collector.crt
key = $tmp/pki/collector.key
[storage]
path = $tmp/c.db
synchronous = full
[metrics]
listen =
[appliance tap-01]
domains = 1
EOF

start_collector() {
	: >>"$tmp/collector.log"
	lines=$(grep -c "serving on" "$tmp/collector.log" || true)
	"$coll" serve -c "$tmp/c.conf" 2>>"$tmp/collector.log" &
	cpid=$!
	i=0
	while [ "$(grep -c "serving on" "$tmp/collector.log" || true)" -le "$lines" ]; do
		kill -0 "$cpid" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
start_collector || { cat "$tmp/collector.log"; echo "FAIL: collector does not start"; exit 1; }

stored() {
	sqlite3 "$tmp/c.db" "SELECT coalesce(sum(records), 0) FROM domains" 2>/dev/null || echo "?"
}

"$client" --connect 127.0.0.1:$port --ca "$tmp/pki/ca.crt" --cert "$tmp/pki/tap-01.crt" \
	--key "$tmp/pki/tap-01.key" --server-name collector --domain 1 --records "$N" \
	--json "$tmp/sent.json" --attempts 100000 --timeout 60 --replay-back 20 --quiet 2>"$tmp/client.log" &
kpid=$!

# Kill while records flow: wait for the first ones to be stored, then
# SIGKILL at uneven intervals and restart on the same database.
i=0
while [ "$(stored)" = 0 ] && [ $i -lt 400 ] && kill -0 $kpid 2>/dev/null; do
	i=$((i + 1))
	sleep 0.05
done
kills=0
mid=0
while [ $kills -lt "$KILLS" ] && kill -0 $kpid 2>/dev/null; do
	sleep "0.$((3 + (kills * 7) % 6))"
	kill -9 "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	kills=$((kills + 1))
	at=$(stored)
	if [ "$at" != "?" ] && [ "$at" -gt 0 ] && [ "$at" -lt "$N" ]; then
		mid=$((mid + 1))
	fi
	echo "  SIGKILL $kills with $at of $N records committed"
	sleep 0.2
	start_collector || { bad "restart $kills failed"; tail "$tmp/collector.log"; break; }
done

if wait $kpid; then
	ok "exporter done: every record acknowledged, across $kills kills of the collector"
else
	bad "exporter failed: $(tail -3 "$tmp/client.log")"
fi
kpid=
[ $mid -ge 3 ] && ok "$mid of the kills hit mid-stream" || bad "only $mid kills hit mid-stream"

n=$("$coll" query --db "$tmp/c.db" --format json | tee "$tmp/stored.json" | wc -l)
if [ "$n" -eq "$N" ]; then
	ok "count: $n records stored, as many as sent"
else
	bad "count: $n stored, $N sent"
fi
if cmp -s "$tmp/sent.json" "$tmp/stored.json"; then
	ok "content: query --format json identical to the exporter's records, in order"
else
	bad "content differs:"
	diff "$tmp/sent.json" "$tmp/stored.json" | head -c 1000
fi
row=$(sqlite3 "$tmp/c.db" "SELECT next_seq, records, gaps, duplicates FROM domains WHERE domain = 1")
dups=$(echo "$row" | cut -d'|' -f4)
if [ "$row" = "$N|$N|0|$dups" ]; then
	ok "domain 1: next sequence $N, $N records, no gap, $dups replayed records discarded as duplicates"
else
	bad "domain 1 row: $row"
fi
seqs=$(sqlite3 "$tmp/c.db" "SELECT count(DISTINCT seq), min(seq), max(seq) FROM (SELECT seq FROM flow UNION ALL SELECT seq FROM smtp UNION ALL SELECT seq FROM auth UNION ALL SELECT seq FROM imap UNION ALL SELECT seq FROM pop3 UNION ALL SELECT seq FROM tls UNION ALL SELECT seq FROM anomaly UNION ALL SELECT seq FROM alert UNION ALL SELECT seq FROM stats)")
[ "$seqs" = "$N|0|$((N - 1))" ] && ok "sequence numbers 0..$((N - 1)) each stored once" ||
	bad "sequence numbers: $seqs"
kill -TERM "$cpid"
wait "$cpid" || bad "collector exit status $?"
cpid=
echo "test_collector_kill: $pass passed, $fail failed"
[ $fail -eq 0 ]
