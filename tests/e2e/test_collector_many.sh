#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Many appliances at once: 50 exporters (coll_client processes, each its
# own appliance with its own certificate and observation domain) send
# 100,000 records each, all at the same time, over TLS on loopback into
# one collector. Every record must be stored exactly once: 100,000 per
# domain, sequence numbers 0..99,999 each once, no gap and no duplicate;
# and for two of the appliances the stored records must be byte-identical
# (as EVE JSON) to what was generated.
#
# usage: sh tests/e2e/test_collector_many.sh BUILD_DIR [EXPORTERS] [RECORDS_EACH]
set -eu

B=${1:?usage: test_collector_many.sh BUILD_DIR}
P=${2:-50}
N=${3:-100000}
coll=$B/mailtap-collector
client=$B/tools/coll_client
for x in "$coll" "$client"; do
	[ -x "$x" ] || { echo "FAIL: $x missing (run make)"; exit 1; }
done
tmp=$(mktemp -d /tmp/mailtap-coll-many.XXXXXX)
cpid=
cleanup() {
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
t0=$(date +%s)

"$coll" ca init --dir "$tmp/pki" >/dev/null
"$coll" ca issue --dir "$tmp/pki" --collector collector >/dev/null
port=$((28000 + $$ % 20000))
{
	cat <<EOF
[server]
listen = 127.0.0.1:$port
ca = $tmp/pki/ca.crt
cert = $tmp/pki/collector.crt
key = $tmp/pki/collector.key
[storage]
path = $tmp/c.db
[metrics]
listen =
EOF
	i=0
	while [ $i -lt "$P" ]; do
		"$coll" ca issue --dir "$tmp/pki" --appliance "tap-$i" >/dev/null
		printf '[appliance tap-%d]\ndomains = %d\n' $i $((1000 + i))
		i=$((i + 1))
	done
} >"$tmp/c.conf"

: >"$tmp/collector.log"
"$coll" serve -c "$tmp/c.conf" 2>"$tmp/collector.log" &
cpid=$!
i=0
while ! grep -q "serving on" "$tmp/collector.log"; do
	kill -0 "$cpid" 2>/dev/null || { cat "$tmp/collector.log"; echo "FAIL: collector died"; exit 1; }
	i=$((i + 1))
	[ $i -gt 200 ] && { echo "FAIL: collector does not start"; exit 1; }
	sleep 0.05
done

# A fixed time base, so two of the exporters' records can be generated
# again below for the content check.
base=$(($(date +%s) / 3600 * 3600 - 3600))
t1=$(date +%s)
if "$client" --connect 127.0.0.1:$port --ca "$tmp/pki/ca.crt" --cert "$tmp/pki/tap-%u.crt" \
	--key "$tmp/pki/tap-%u.key" --server-name collector --domain 1000 --procs "$P" \
	--records "$N" --base-time $base --timeout 150 --quiet --stats >"$tmp/stats" 2>"$tmp/client.log"; then
	ok "$P exporters x $N records: every exporter got all its records acknowledged ($(($(date +%s) - t1))s)"
else
	bad "exporters failed:"
	tail -5 "$tmp/client.log"
fi
awk '$1 == "coll_client-stats" { n += $5; if (!s || $7 < s) s = $7; if ($9 > e) e = $9 }
	END { if (e > s) printf "  %d records in %.1fs: %.0f records/s through TLS into SQLite\n", n, e - s, n / (e - s) }' "$tmp/stats"
conn=$(grep -c "connected from" "$tmp/collector.log" || true)
[ "$conn" -eq "$P" ] && ok "$P appliances connected, once each" || bad "$conn connections for $P appliances"

rows=$(sqlite3 "$tmp/c.db" "SELECT count(*), sum(records = $N AND next_seq = $N AND gaps = 0 AND duplicates = 0) FROM domains")
[ "$rows" = "$P|$P" ] && ok "domains: all $P at next sequence $N, $N records each, no gap, no duplicate" ||
	bad "domains: $rows (want $P|$P)"
union=""
for t in flow stats smtp imap pop3 auth tls anomaly alert; do
	union="$union${union:+ UNION ALL }SELECT domain, seq FROM $t"
done
check=$(sqlite3 "$tmp/c.db" "SELECT count(*), sum(n = $N AND d = $N AND lo = 0 AND hi = $((N - 1))) FROM (SELECT domain, count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM ($union) GROUP BY domain)")
[ "$check" = "$P|$P" ] && ok "stored rows: every domain holds sequence numbers 0..$((N - 1)) exactly once ($((P * N)) rows)" ||
	bad "stored rows per domain: $check (want $P|$P)"

for k in 0 $((P - 1)); do
	"$client" --dump "$tmp/dump.bin" --domain $((1000 + k)) --records "$N" --base-time $base \
		--json "$tmp/want-$k.json" 2>/dev/null
	"$coll" query --db "$tmp/c.db" --appliance "tap-$k" --format json >"$tmp/got-$k.json"
	if cmp -s "$tmp/want-$k.json" "$tmp/got-$k.json"; then
		ok "tap-$k: the $N stored records are byte-identical to the generated ones, in order"
	else
		bad "tap-$k: stored records differ ($(wc -l <"$tmp/got-$k.json") lines)"
	fi
done

kill -TERM "$cpid"
wait "$cpid" || bad "collector exit status $?"
cpid=
echo "test_collector_many: $pass passed, $fail failed ($(($(date +%s) - t0))s in all)"
[ $fail -eq 0 ]
