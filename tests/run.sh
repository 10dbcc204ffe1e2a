#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The test runner behind `make test`: every unit test (plain, then under
# ASan+UBSan), every end-to-end script in tests/e2e and a smoke run of the
# demo, one line each, then "N passed, N failed". Exit status is non-zero
# when anything failed.
B=${1:-build}
LOGDIR=$B/test-logs
mkdir -p "$LOGDIR"
pass=0
fail=0
failed=""

run() {
	name=$1
	shift
	log=$LOGDIR/$(echo "$name" | tr '/ ' '__').log
	start=$(date +%s)
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf 'PASS  %-40s %4ss\n' "$name" $(($(date +%s) - start))
	else
		fail=$((fail + 1))
		failed="$failed $name"
		printf 'FAIL  %-40s %4ss  (log: %s)\n' "$name" $(($(date +%s) - start)) "$log"
		tail -n 40 "$log" | sed 's/^/      | /'
	fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" "$t"
done
for t in "$B"/asan/test_*; do
	[ -x "$t" ] || continue
	run "asan/$(basename "$t")" "$t"
done
for s in tests/e2e/test_*.sh; do
	[ -f "$s" ] || continue
	run "e2e/$(basename "$s" .sh)" sh "$s" "$B"
done

# The demo (`make demo`) end to end, on loopback only: it must exit 0 and
# the collector's tables it prints (sessions per protocol, logins, alerts)
# must each have at least one row.
demo_smoke() {
	out=$LOGDIR/demo.out
	DEMO_CAPTURE='' DEMO_PORT=$((20000 + $$ % 10000)) sh tests/demo.sh "$B" >"$out" 2>&1
	rc=$?
	cat "$out"
	if [ $rc -ne 0 ]; then
		echo "demo smoke: tests/demo.sh exited $rc"
		return 1
	fi
	awk '/^Sessions per protocol/ { t = "sessions"; h = 0; next }
	     /^Logins \(auth records\)/ { t = "logins"; h = 0; next }
	     /^Alerts:/ { t = "alerts"; h = 0; next }
	     t != "" && /^ *$/ { t = ""; next }
	     t != "" && /\(none\)/ { next }
	     t != "" { if (h) rows[t]++; else h = 1 }
	     END { bad = 0
		   split("sessions logins alerts", want, " ")
		   for (i = 1; i <= 3; i++) {
			printf "demo smoke: %s table, %d rows\n", want[i], rows[want[i]]
			if (rows[want[i]] < 1) bad = 1
		   }
		   exit bad }' "$out"
}
run "demo" demo_smoke

echo "$pass passed, $fail failed"
if [ "$fail" -ne 0 ]; then
	echo "failed:$failed"
	exit 1
fi
