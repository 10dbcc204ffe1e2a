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
