#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make bench`: the fast-path benchmark on synthetic workloads and on every
# real capture in tests/captures/real and tests/captures/lab. Numbers go to
# stdout; docs/performance.md records a run and how to read it.
set -eu
B=${1:-build}
caps=""
for c in tests/captures/real/*.pcap tests/captures/lab/*.pcap; do
	[ -f "$c" ] && caps="$caps $c"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
# shellcheck disable=SC2086
"$B/bench" $caps

# Export (tests/tools/export_bench.c): IPFIX encoding per core, the workers'
# record rate against it on each capture, and records per second through
# mutual TLS with acknowledgements to export_sink on loopback.
make --no-print-directory BUILD="$B" "$B/tools/export_bench" "$B/tools/export_sink" \
	"$B/tools/export_ca" >/dev/null
xb=$(mktemp -d /tmp/mailtap-bench-export.XXXXXX)
"$B/tools/export_ca" init --dir "$xb/pki" >/dev/null
"$B/tools/export_ca" issue --dir "$xb/pki" --appliance bench >/dev/null
"$B/tools/export_ca" issue --dir "$xb/pki" --collector collector.bench >/dev/null
"$B/tools/export_sink" --listen 127.0.0.1:0 --port-file "$xb/port" --out /dev/null \
	--discard --quiet --ca "$xb/pki/ca.crt" --cert "$xb/pki/collector.bench.crt" \
	--key "$xb/pki/collector.bench.key" &
xsink=$!
while [ ! -s "$xb/port" ]; do sleep 0.05; done
echo
# shellcheck disable=SC2086
"$B/tools/export_bench" --seconds 0.5 --tls "127.0.0.1:$(cat "$xb/port")" --server-name collector.bench \
	--ca "$xb/pki/ca.crt" --cert "$xb/pki/bench.crt" --key "$xb/pki/bench.key" \
	--spool "$xb/spool" $caps || echo "export_bench: FAILED"
kill "$xsink" 2>/dev/null
wait "$xsink" 2>/dev/null || true
rm -rf "$xb"
echo; sh tests/bench/bench_collector.sh "$B" # collector ingest into SQLite: records/s, CPU per record
