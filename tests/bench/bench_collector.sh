#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Collector ingest benchmark: N exporters (coll_client processes) send
# about M records each over TLS on loopback into mailtap-collector, which
# stores them in SQLite. Reports records per second (wall clock, first
# connection to last acknowledgement) and the collector's CPU time per
# record (both of its threads, from /proc: the event loop with TLS and
# decoding, and the SQLite writer), with synchronous=full and =normal, for
# three workloads:
#   lab        the records mailtapd makes from the bundled captures of real
#              mail traffic (tests/captures/lab, real), sent over and over
#              with their times moved forward each round (--replay --repeat),
#              without the `stats` record each capture file ends with: an
#              appliance writes one a minute, next to thousands of others,
#              but one per short capture made them 8% of the stream (and,
#              with their 190 columns, a fifth of the collector's CPU)
#   lab+stats  the same with those stats records kept (one in twelve)
#   flow       synthetic flow records, the bulk of a real appliance's output
#   synthetic  every record type with every field filled (the worst case)
#
# usage: sh tests/bench/bench_collector.sh BUILD_DIR [EXPORTERS] [RECORDS_EACH]
set -eu

B=${1:-build}
N=${2:-4}
M=${3:-250000}
coll=$B/mailtap-collector
client=$B/tools/coll_client

if [ ! -x "$client" ]; then
	${MAKE:-make} --no-print-directory BUILD="$B" "$client" >/dev/null
fi
tmp=$(mktemp -d /tmp/mailtap-bench-coll.XXXXXX)
cpid=
cleanup() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$coll" ca init --dir "$tmp/pki" >/dev/null 2>&1
"$coll" ca issue --dir "$tmp/pki" --collector collector >/dev/null 2>&1
"$coll" ca issue --dir "$tmp/pki" --appliance bench >/dev/null 2>&1

tck=$(getconf CLK_TCK)
port=$((21000 + $$ % 20000))

# cpu_ticks PID: user+system ticks of every thread of a process.
cpu_ticks() {
	cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{ t += $14 + $15 } END { print t + 0 }'
}

# The lab workload: the captures' records as IPFIX files.
lab=""
per_pass=0
for c in tests/captures/lab/*.pcap tests/captures/real/*.pcap; do
	[ -f "$c" ] || continue
	n=$(basename "$c" .pcap)
	"$B/mailtapd" --read "$c" --ipfix "$tmp/$n.ipfix" --json "$tmp/$n.json" -q 2>/dev/null || continue
	per_pass=$((per_pass + $(grep -vc '"event_type":"stats"' "$tmp/$n.json")))
	lab="$lab --replay $tmp/$n.ipfix"
done

# run SYNC WORKLOAD: one measurement.
run() {
	sync_mode=$1
	mix=$2
	rm -f "$tmp"/bench.db*
	domains=$(seq 1 "$N" | tr '\n' ' ')
	cat >"$tmp/c.conf" <<EOF
[server]
listen = 127.0.0.1:$port
ca = $tmp/pki/ca.crt
cert = $tmp/pki/collector.crt
key = $tmp/pki/collector.key
[storage]
path = $tmp/bench.db
synchronous = $sync_mode
[metrics]
listen =
[appliance bench]
domains = $domains
EOF
	: >"$tmp/log"
	"$coll" serve -c "$tmp/c.conf" 2>"$tmp/log" &
	cpid=$!
	i=0
	while ! grep -q "serving on" "$tmp/log"; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$tmp/log"; exit 1; }
		sleep 0.05
	done
	case $mix in
	flow) flag="--flow-only --records $M" ;;
	synthetic) flag="--records $M" ;;
	lab) flag="$lab --skip-type stats --repeat $(((M + per_pass - 1) / per_pass))" ;;
	lab+stats) flag="$lab --repeat $(((M + per_pass - 1) / per_pass))" ;;
	esac
	# Each exporter generates its records before it connects and prints
	# when its transfer started and ended (last acknowledgement): the
	# wall time is the earliest start to the latest end.
	c0=$(cpu_ticks "$cpid")
	"$client" --connect 127.0.0.1:$port --ca "$tmp/pki/ca.crt" --cert "$tmp/pki/bench.crt" \
		--key "$tmp/pki/bench.key" --server-name collector --domain 1 --procs "$N" \
		$flag --quiet --stats >"$tmp/stats" 2>"$tmp/client.log" ||
		{ cat "$tmp/client.log"; exit 1; }
	c1=$(cpu_ticks "$cpid")
	t0=$(awk '$1 == "coll_client-stats" { if (!s || $7 < s) s = $7 } END { printf "%.6f", s }' "$tmp/stats")
	t1=$(awk '$1 == "coll_client-stats" { if ($9 > e) e = $9 } END { printf "%.6f", e }' "$tmp/stats")
	kill "$cpid"
	wait "$cpid" || true
	cpid=
	stored=$(sqlite3 "$tmp/bench.db" "SELECT sum(records) FROM domains")
	awk -v n="$stored" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v tck="$tck" \
		-v mix="$mix" -v s="$sync_mode" -v e="$N" -v db="$(stat -c %s "$tmp/bench.db")" 'BEGIN {
		wall = t1 - t0; cpu = (c1 - c0) / tck;
		printf "%-9s %-6s %3d exporters %9d records  %6.2fs  %7.0f rec/s wall  %6.2fs cpu  %5.0f ns/rec  %7.0f rec/s per core  %4.0f B/rec on disk\n",
			mix, s, e, n, wall, n / wall, cpu, cpu * 1e9 / n, n / cpu, db / n }'
}

echo "collector ingest: $N exporters x ~$M records, TLS on loopback, SQLite WAL ($(nproc) cores)"
echo "  (wall: first connection to last acknowledgement; cpu: the collector's, both threads;"
echo "   per core = records / collector CPU seconds; the exporters share the same cores)"
for mix in lab lab+stats flow synthetic; do
	case $mix in lab*) [ -z "$lab" ] && continue ;; esac
	run full $mix
	run normal $mix
done
