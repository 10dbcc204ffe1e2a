#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The lab captures (real Postfix/Dovecot sessions, tests/lab) and the TLS
# captures, checked two independent ways: mailtapd's records against what
# the lab's clients did (NAME.truth.json: users, results, envelopes,
# attachment hashes, fetch counts, SNI), and mailtapd's protocol fields
# against tshark's own dissection of the same packets.
set -u
B=${1:-build}
command -v tshark >/dev/null 2>&1 || { echo "FAIL: tshark is not installed"; exit 1; }
rc=0
python3 tests/tools/lab_truth_check.py "$B/mailtapd" tests/captures/lab/*.pcap || rc=1
python3 tests/tools/lab_tshark_check.py "$B/mailtapd" tests/captures/lab/*.pcap \
	tests/captures/tls/*.pcap || rc=1
exit $rc
