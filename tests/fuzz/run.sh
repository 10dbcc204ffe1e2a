#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make fuzz`: runs every fuzz target for a short time, seeded from
# tests/fuzz/corpus/NAME (committed seeds) plus a scratch corpus in build/.
# Any crash fails the run and leaves the reproducer in build/fuzz/crashes.
set -u
B=${1:-build}
SECS=${2:-20}
fail=0
mkdir -p "$B/fuzz/crashes"
for bin in "$B"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	work="$B/fuzz/corpus-$name"
	mkdir -p "$work"
	seeds=""
	[ -d "tests/fuzz/corpus/$name" ] && seeds="tests/fuzz/corpus/$name"
	if "$bin" -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/fuzz/crashes/$name-" -print_final_stats=1 \
		"$work" $seeds >"$B/fuzz/$name.log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/fuzz/$name.log" | grep -o '[0-9]*$')
		cov=$(grep -o 'cov: [0-9]*' "$B/fuzz/$name.log" | tail -1)
		echo "PASS  $name  ${runs:-?} runs in ${SECS}s, $cov"
	else
		fail=1
		echo "FAIL  $name (log: $B/fuzz/$name.log)"
		tail -n 30 "$B/fuzz/$name.log" | sed 's/^/      | /'
	fi
done
exit $fail
