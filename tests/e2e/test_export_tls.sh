#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Record export over mutual TLS on loopback, end to end, with real parts:
# certificates made by the `ca` tool (collector/ca.c, as build/tools/
# export_ca), a real mbedTLS server (build/tools/export_sink: checks the
# client CN, decodes IPFIX, writes JSON lines, acknowledges), and mailtapd
# exporting what it reads. Checks:
#   - keys 0600, never overwritten;
#   - mutual TLS works and every record arrives exactly once, in order
#     (sequence order; within a priority class the order records were
#     made), equal to mailtapd's own JSON; identity = hmac reaches the wire;
#   - refused: a client certificate of another CA, a collector certificate
#     of another CA, TLS 1.1 (an mbedTLS client held to 1.1, and openssl
#     s_client -tls1_1), a wrong server name (mailtapd says so);
#   - collector unreachable for a while, then back: everything arrives once;
#   - mailtapd stopped (drain timeout) or killed (SIGKILL) with a full
#     spool, restarted: nothing lost; the spool files read by ipfixDump;
#   - the collector dying mid-stream (SIGKILL, before acknowledging):
#     nothing lost, nothing twice;
#   - spool full: low-priority records dropped first, every one counted;
#   - the DPDK path (net_pcap replay) exports the same way.
#
# usage: sh tests/e2e/test_export_tls.sh BUILD_DIR     (exit 0 = all passed)
set -u

build=${1:?usage: test_export_tls.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/mailtapd
sink=$build/tools/export_sink
catool=$build/tools/export_ca
for b in "$bin" "$sink" "$catool"; do
	[ -x "$b" ] || { echo "FAIL: $b is missing (run make)"; exit 1; }
done
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 not found"; exit 1; }

tmp=$(mktemp -d /tmp/mailtap-export-tls.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "/var/run/dpdk/mtexp$$"
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${KEEP_TMP:-}" ] && trap - EXIT
trap 'exit 1' INT TERM

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }
# wait_log FILE TEXT SECONDS: waits until FILE contains TEXT (no verdict:
# the check that follows decides).
wait_log() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null && [ $i -lt $(($3 * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

pki=$tmp/pki
other=$tmp/other
cap=$tmp/mail.pcap
python3 "$root/tests/tools/export_mkpcap.py" "$cap" 300 || { echo "FAIL: cannot make $cap"; exit 1; }
python3 "$root/tests/tools/export_mkpcap.py" "$tmp/empty.pcap" 0
small=$root/tests/captures/real/tcp_veth.pcap

# ---- helpers ----------------------------------------------------------

# start_sink NAME [--listen-port P] [export_sink options...]: sets PORT and SINK_PID.
start_sink() {
	s_name=$1
	shift
	s_port=0
	if [ "${1:-}" = "--listen-port" ]; then
		s_port=$2
		shift 2
	fi
	rm -f "$tmp/$s_name.port"
	"$sink" --listen "127.0.0.1:$s_port" --port-file "$tmp/$s_name.port" \
		--out "$tmp/$s_name.rx.json" --state "$tmp/$s_name.state" "$@" \
		2>>"$tmp/$s_name.log" &
	SINK_PID=$!
	pids="$pids $SINK_PID"
	i=0
	while [ ! -s "$tmp/$s_name.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$SINK_PID" 2>/dev/null; then
			echo "FAIL: export_sink $s_name did not start:"
			sed 's/^/    /' "$tmp/$s_name.log"
			exit 1
		fi
		sleep 0.05
	done
	PORT=$(cat "$tmp/$s_name.port")
}

stop_sink() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

TLS_SINK="--ca $pki/ca.crt --cert $pki/collector.test.crt --key $pki/collector.test.key --expect-cn tap1"

# conf FILE PORT SPOOL [key=value ...]: an [export] section; pairs override.
conf() {
	c_file=$1
	c_port=$2
	c_spool=$3
	shift 3
	{
		echo "[export]"
		for kv in "collector=127.0.0.1:$c_port" "server_name=collector.test" \
			"ca=$pki/ca.crt" "cert=$pki/tap1.crt" "key=$pki/tap1.key" \
			"spool_dir=$c_spool" "reconnect_min=100ms" "reconnect_max=400ms" \
			"handshake_timeout=3s" "drain_timeout=15s" "flush_interval=200ms"; do
			k=${kv%%=*}
			over=""
			for o in "$@"; do
				[ "${o%%=*}" = "$k" ] && over=$o
			done
			[ -n "$over" ] && kv=$over
			echo "${kv%%=*} = ${kv#*=}"
		done
		for o in "$@"; do
			case " collector server_name ca cert key spool_dir reconnect_min reconnect_max handshake_timeout drain_timeout flush_interval " in
			*" ${o%%=*} "*) ;;
			*) echo "${o%%=*} = ${o#*=}" ;;
			esac
		done
	} >"$c_file"
}

# same_records EXPECTED GOT LABEL: the same records, each once, and in the
# same order within each priority class.
same_records() {
	sort "$1" >"$tmp/e.sorted"
	sort "$2" >"$tmp/g.sorted"
	if ! cmp -s "$tmp/e.sorted" "$tmp/g.sorted"; then
		fail "$3: records differ (- expected, + received; $(wc -l <"$1") vs $(wc -l <"$2") lines)"
		diff "$tmp/e.sorted" "$tmp/g.sorted" | head -n 6 | cut -c1-200 | sed 's/^/    /'
		return 1
	fi
	for cls in 'alert|auth' 'smtp|imap|pop3|tls|anomaly' 'flow|stats'; do
		grep -E "\"event_type\":\"($cls)\"" "$1" >"$tmp/e.cls" || true
		grep -E "\"event_type\":\"($cls)\"" "$2" >"$tmp/g.cls" || true
		if ! cmp -s "$tmp/e.cls" "$tmp/g.cls"; then
			fail "$3: records of class ($cls) arrived out of order"
			return 1
		fi
	done
	return 0
}

# counter NAME STDERR_FILE: a counter from mailtapd's exit summary (0 if absent).
counter() {
	v=$(awk -v n="$1" '$1 == n { print $2 }' "$2" | tail -n 1)
	echo "${v:-0}"
}

# ---- keys and certificates ----------------------------------------------

"$catool" init --dir "$pki" --cn "mailtap test CA" >"$tmp/ca.out" 2>&1 &&
	"$catool" issue --dir "$pki" --appliance tap1 >>"$tmp/ca.out" 2>&1 &&
	"$catool" issue --dir "$pki" --collector collector.test --san alt.test >>"$tmp/ca.out" 2>&1 &&
	"$catool" init --dir "$other" --cn "another CA" >>"$tmp/ca.out" 2>&1 &&
	"$catool" issue --dir "$other" --appliance tap1 >>"$tmp/ca.out" 2>&1 &&
	"$catool" issue --dir "$other" --collector collector.test >>"$tmp/ca.out" 2>&1
if [ $? -ne 0 ]; then
	echo "FAIL: the ca tool failed:"
	sed 's/^/    /' "$tmp/ca.out"
	exit 1
fi
modes=$(stat -c '%a' "$pki/ca.key" "$pki/tap1.key" "$pki/collector.test.key" | sort -u)
if [ "$modes" = "600" ]; then pass "ca: private keys are mode 0600"; else fail "ca: key modes $modes"; fi
before=$(md5sum "$pki/ca.key")
if "$catool" init --dir "$pki" >"$tmp/ca2.out" 2>&1; then
	fail "ca: init over an existing CA succeeded"
elif grep -q "refusing to overwrite" "$tmp/ca2.out" && [ "$(md5sum "$pki/ca.key")" = "$before" ]; then
	pass "ca: refuses to overwrite a key"
else
	fail "ca: overwrite refusal: $(cat "$tmp/ca2.out")"
fi
if command -v openssl >/dev/null 2>&1; then
	if openssl verify -CAfile "$pki/ca.crt" "$pki/tap1.crt" "$pki/collector.test.crt" >/dev/null 2>&1 &&
		openssl x509 -in "$pki/collector.test.crt" -noout -text | grep -q "DNS:collector.test, DNS:alt.test"; then
		pass "ca: openssl verifies the chain; collector certificate names collector.test and alt.test"
	else
		fail "ca: openssl does not verify the certificates"
	fi
fi

# ---- mutual TLS, every record once, in order ------------------------------

start_sink main $TLS_SINK
conf "$tmp/main.conf" "$PORT" "$tmp/spool-main"
if "$bin" --read "$cap" -c "$tmp/main.conf" --json "$tmp/main.json" -q 2>"$tmp/main.err"; then
	:
else
	fail "export: mailtapd exited $?: $(cat "$tmp/main.err")"
fi
stop_sink "$SINK_PID"
if grep -q "client CN \`tap1'" "$tmp/main.log" && grep -q "TLSv1.2" "$tmp/main.log"; then
	pass "tls: mutual-auth handshake (client CN tap1, TLS 1.2)"
else
	fail "tls: no mutual-auth handshake in the sink log: $(cat "$tmp/main.log")"
fi
if same_records "$tmp/main.json" "$tmp/main.rx.json" "export"; then
	pass "export: all $(wc -l <"$tmp/main.json") records arrived once, in order, equal to --json"
fi
if grep -q "0 duplicates dropped, 0 records missing" "$tmp/main.log"; then
	pass "export: sequence numbers without gap or repeat"
else
	fail "export: sink saw duplicates or gaps: $(tail -n 1 "$tmp/main.log")"
fi
if grep -q "0 records still spooled" "$tmp/main.err" && [ -z "$(ls "$tmp/spool-main"/*.ipfix 2>/dev/null)" ]; then
	pass "export: spool empty after acknowledgement"
else
	fail "export: spool not emptied: $(cat "$tmp/main.err"; ls "$tmp/spool-main")"
fi
# The exporter changes nothing: the same records as a run without it
# (stats aside, which now count the export).
"$bin" --read "$cap" --json "$tmp/plain.json" -q
grep -v '"event_type":"stats"' "$tmp/plain.json" >"$tmp/plain.nostats"
grep -v '"event_type":"stats"' "$tmp/main.json" >"$tmp/main.nostats"
if cmp -s "$tmp/plain.nostats" "$tmp/main.nostats"; then
	pass "export: records identical to mailtapd --read --json without export"
else
	fail "export: records differ from a run without export"
fi
if grep '"event_type":"stats"' "$tmp/main.rx.json" | grep -q '"export":{"records_queued":'; then
	pass "export: the stats record carries the export counters"
else
	fail "export: no export counters in the stats record"
fi

# ---- identity = hmac on the wire ------------------------------------------

head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/id.key"
echo >>"$tmp/id.key"
start_sink ident $TLS_SINK
conf "$tmp/ident.conf" "$PORT" "$tmp/spool-ident" "identity=hmac" "identity_key=$tmp/id.key"
"$bin" --read "$cap" -c "$tmp/ident.conf" --json "$tmp/ident.json" -q 2>"$tmp/ident.err"
stop_sink "$SINK_PID"
if ! grep -Eq '"(user|auth_user)":"user[0-9]' "$tmp/ident.rx.json" "$tmp/ident.json" &&
	grep -Eq '"user":"[0-9a-f]{64}"' "$tmp/ident.rx.json" &&
	grep -Eq '"auth_user":"[0-9a-f]{64}"' "$tmp/ident.rx.json" &&
	same_records "$tmp/ident.json" "$tmp/ident.rx.json" "identity"; then
	pass "identity: hmac user names in JSON and on the wire, no clear name"
else
	fail "identity: clear user names left, or hashes missing"
fi

# ---- refusals -------------------------------------------------------------

start_sink refuse $TLS_SINK
# A client certificate from another CA.
conf "$tmp/rogue.conf" "$PORT" "$tmp/spool-rogue" "cert=$other/tap1.crt" "key=$other/tap1.key" \
	"drain_timeout=1s"
"$bin" --read "$small" -c "$tmp/rogue.conf" -q 2>"$tmp/rogue.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "TLS handshake failed" "$tmp/rogue.err" &&
	grep -q "handshake with .* failed" "$tmp/refuse.log" && grep -q "still spooled" "$tmp/rogue.err" &&
	[ ! -s "$tmp/refuse.rx.json" ]; then
	pass "tls: a client certificate from another CA is refused (records stay spooled, exit 0)"
else
	fail "tls: foreign client certificate (rc $rc): $(cat "$tmp/rogue.err")"
fi
# The collector's certificate from another CA.
conf "$tmp/rogue2.conf" "$PORT" "$tmp/spool-rogue2" "ca=$other/ca.crt" "drain_timeout=1s"
"$bin" --read "$small" -c "$tmp/rogue2.conf" -q 2>"$tmp/rogue2.err"
if grep -q "TLS handshake failed.*verif" "$tmp/rogue2.err" && [ ! -s "$tmp/refuse.rx.json" ]; then
	pass "tls: a collector certificate from another CA is refused"
else
	fail "tls: foreign collector certificate: $(cat "$tmp/rogue2.err")"
fi
# A wrong server name.
conf "$tmp/name.conf" "$PORT" "$tmp/spool-name" "server_name=wrong.example" "drain_timeout=1s"
"$bin" --read "$small" -c "$tmp/name.conf" -q 2>"$tmp/name.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "TLS handshake failed" "$tmp/name.err" &&
	grep -q "wrong.example" "$tmp/name.err" && [ ! -s "$tmp/refuse.rx.json" ]; then
	pass "tls: a wrong server name is refused, and mailtapd says so: $(grep -m1 'handshake failed' "$tmp/name.err" | cut -c1-160)..."
else
	fail "tls: wrong server name (rc $rc): $(cat "$tmp/name.err")"
fi
# TLS 1.1: an mbedTLS client held to 1.1 with valid credentials, then
# the same client at 1.2 (which must work, so the version is the reason).
"$sink" --probe "127.0.0.1:$PORT" --max-tls 1.1 --ca "$pki/ca.crt" --cert "$pki/tap1.crt" \
	--key "$pki/tap1.key" --server-name collector.test >"$tmp/p11.out" 2>&1
rc11=$?
"$sink" --probe "127.0.0.1:$PORT" --max-tls 1.2 --ca "$pki/ca.crt" --cert "$pki/tap1.crt" \
	--key "$pki/tap1.key" --server-name collector.test >"$tmp/p12.out" 2>&1
rc12=$?
if [ $rc11 -eq 1 ] && [ $rc12 -eq 0 ] && grep -q "protocol not within min/max" "$tmp/refuse.log"; then
	pass "tls: TLS 1.1 refused (mbedTLS client at 1.1 fails, at 1.2 succeeds)"
else
	fail "tls: TLS 1.1 probe rc $rc11, TLS 1.2 probe rc $rc12: $(cat "$tmp/p11.out" "$tmp/p12.out")"
fi
if command -v openssl >/dev/null 2>&1; then
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 \
		-cipher 'DEFAULT:@SECLEVEL=0' -cert "$pki/tap1.crt" -key "$pki/tap1.key" \
		-CAfile "$pki/ca.crt" >"$tmp/s11.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q "alert protocol version" "$tmp/s11.out"; then
		pass "tls: openssl s_client -tls1_1 refused (protocol_version alert)"
	else
		fail "tls: openssl s_client -tls1_1 rc $rc: $(head -n 5 "$tmp/s11.out")"
	fi
fi
stop_sink "$SINK_PID"

# ---- collector unreachable for a while, then back -------------------------

start_sink gone $TLS_SINK
port=$PORT
stop_sink "$SINK_PID"
conf "$tmp/gone.conf" "$port" "$tmp/spool-gone" "drain_timeout=30s"
"$bin" --read "$cap" -c "$tmp/gone.conf" --json "$tmp/gone.json" -q 2>"$tmp/gone.err" &
mpid=$!
pids="$pids $mpid"
# The collector comes back once mailtapd has found it away (at least once),
# and not before 2 s have passed.
sleep 2
wait_log "$tmp/gone.err" "cannot connect" 30
start_sink gone --listen-port "$port" $TLS_SINK
wait "$mpid"
rc=$?
stop_sink "$SINK_PID"
if [ $rc -eq 0 ] && grep -q "cannot connect" "$tmp/gone.err" && grep -q "0 records still spooled" "$tmp/gone.err" &&
	same_records "$tmp/gone.json" "$tmp/gone.rx.json" "unreachable"; then
	pass "spool: collector away for 2s then back: every record once, in order"
else
	fail "spool: collector away then back (rc $rc): $(cat "$tmp/gone.err")"
fi

# ---- restart with a non-empty spool (clean stop, then SIGKILL) ------------

start_sink later $TLS_SINK
port=$PORT
stop_sink "$SINK_PID"
conf "$tmp/later.conf" "$port" "$tmp/spool-later" "drain_timeout=500ms"
"$bin" --read "$cap" -c "$tmp/later.conf" --json "$tmp/later1.json" -q 2>"$tmp/later1.err"
n1=$(wc -l <"$tmp/later1.json")
if grep -q "$n1 records (.* messages) still spooled" "$tmp/later1.err"; then
	pass "spool: collector down at exit: \"$(grep -o '[0-9]* records ([0-9]* messages) still spooled' "$tmp/later1.err")\", exit 0"
else
	fail "spool: expected $n1 records still spooled: $(cat "$tmp/later1.err")"
fi
# The spool files are plain RFC 5655 files.
dumped=0
for f in "$tmp/spool-later"/*.ipfix; do
	[ -f "$f" ] || continue
	if ! ipfixDump --rfc5610 --in "$f" >"$tmp/dump.txt" 2>"$tmp/dump.err"; then
		fail "spool: ipfixDump cannot read $(basename "$f"): $(head -n 3 "$tmp/dump.err")"
		dumped=-1
		break
	fi
	dumped=$((dumped + $(grep -c -- '--- data record' "$tmp/dump.txt")))
done
# ipfixDump also counts the RFC 5610 type records of each file's header.
if [ "$dumped" -ge "$n1" ]; then
	pass "spool: ipfixDump reads every spool file ($dumped data records incl. type records)"
elif [ "$dumped" -ge 0 ]; then
	fail "spool: ipfixDump found $dumped data records, fewer than $n1"
fi
# Second run, killed while it waits for the collector: its records are on disk.
conf "$tmp/later2.conf" "$port" "$tmp/spool-later" "drain_timeout=60s"
"$bin" --read "$small" -c "$tmp/later2.conf" -q 2>"$tmp/later2.err" &
mpid=$!
pids="$pids $mpid"
# Killed once its input is done and everything sits in the spool.
wait_log "$tmp/later2.err" "in the spool wait for" 30
kill -9 "$mpid" 2>/dev/null
wait "$mpid" 2>/dev/null
"$bin" --read "$small" --json "$tmp/later2.json" -q
start_sink later --listen-port "$port" $TLS_SINK
conf "$tmp/later3.conf" "$port" "$tmp/spool-later" "drain_timeout=20s"
"$bin" --read "$tmp/empty.pcap" -c "$tmp/later3.conf" --json "$tmp/later3.json" -q 2>"$tmp/later3.err"
stop_sink "$SINK_PID"
# Run 1 complete; run 2 as a run without export (its own JSON was lost with
# the process, and stats differ); run 3 is one stats record.
cat "$tmp/later1.json" "$tmp/later3.json" >"$tmp/later.want"
grep -v '"event_type":"stats"' "$tmp/later2.json" >>"$tmp/later.want"
grep -v '"event_type":"stats"' "$tmp/later.rx.json" | sort >"$tmp/later.got1"
grep -v '"event_type":"stats"' "$tmp/later.want" | sort >"$tmp/later.want1"
nstats=$(grep -c '"event_type":"stats"' "$tmp/later.rx.json")
if grep -q "spooled by an earlier run" "$tmp/later3.err" && cmp -s "$tmp/later.want1" "$tmp/later.got1" &&
	[ "$nstats" -eq 3 ] && grep -q "0 duplicates dropped, 0 records missing" "$tmp/later.log" &&
	grep -q "0 records still spooled" "$tmp/later3.err"; then
	pass "spool: restarted after a clean stop and after SIGKILL: nothing lost, nothing twice"
else
	fail "spool: restart with a non-empty spool lost or repeated records ($(wc -l <"$tmp/later.got1") of $(wc -l <"$tmp/later.want1"), $nstats stats): $(cat "$tmp/later3.err"; tail -n 1 "$tmp/later.log")"
fi

# ---- the collector dies mid-stream ------------------------------------------

start_sink dies --die-after 2 $TLS_SINK
port=$PORT
first=$SINK_PID
conf "$tmp/dies.conf" "$port" "$tmp/spool-dies" "message_size=2000" "drain_timeout=30s"
"$bin" --read "$cap" -c "$tmp/dies.conf" --json "$tmp/dies.json" -q 2>"$tmp/dies.err" &
mpid=$!
pids="$pids $mpid"
wait "$first" 2>/dev/null
start_sink dies --listen-port "$port" $TLS_SINK
wait "$mpid"
rc=$?
stop_sink "$SINK_PID"
if [ $rc -eq 0 ] && grep -q "dying after 2 messages" "$tmp/dies.log" &&
	same_records "$tmp/dies.json" "$tmp/dies.rx.json" "collector death"; then
	pass "export: collector killed before acknowledging, restarted: nothing lost, nothing twice"
else
	fail "export: collector death (rc $rc): $(cat "$tmp/dies.err")"
fi

# ---- spool full: low priority goes first, every drop counted ---------------

start_sink full $TLS_SINK
port=$PORT
stop_sink "$SINK_PID"
conf "$tmp/full.conf" "$port" "$tmp/spool-full" "spool_max=200k" "spool_segment=4k" \
	"drain_timeout=300ms"
"$bin" --read "$cap" -c "$tmp/full.conf" --json "$tmp/full.json" 2>"$tmp/full.err"
low=$(counter spool_dropped_low "$tmp/full.err")
normal=$(counter spool_dropped_normal "$tmp/full.err")
high=$(counter spool_dropped_high "$tmp/full.err")
start_sink full --listen-port "$port" $TLS_SINK
conf "$tmp/full2.conf" "$port" "$tmp/spool-full" "spool_max=200k" "spool_segment=4k"
"$bin" --read "$tmp/empty.pcap" -c "$tmp/full2.conf" -q 2>"$tmp/full2.err"
stop_sink "$SINK_PID"
want_low=$(grep -cE '"event_type":"(flow|stats)"' "$tmp/full.json")
want_norm=$(grep -cE '"event_type":"(smtp|imap|pop3|tls|anomaly)"' "$tmp/full.json")
want_high=$(grep -cE '"event_type":"(alert|auth)"' "$tmp/full.json")
# Without the second run's stats record (an empty capture: time 0), which
# may itself have found the spool full.
grep -v '"timestamp":"1970-' "$tmp/full.rx.json" >"$tmp/full.rx1.json"
got_low=$(grep -cE '"event_type":"(flow|stats)"' "$tmp/full.rx1.json")
got_norm=$(grep -cE '"event_type":"(smtp|imap|pop3|tls|anomaly)"' "$tmp/full.rx1.json")
got_high=$(grep -cE '"event_type":"(alert|auth)"' "$tmp/full.rx1.json")
if [ "$low" -gt 0 ] && [ "$high" -eq 0 ] && [ "$got_high" -eq "$want_high" ] &&
	[ $((want_low - got_low)) -eq "$low" ] && [ $((want_norm - got_norm)) -eq "$normal" ]; then
	pass "spool full: dropped $low low, $normal normal, 0 high records, each counted; all $want_high high arrived"
else
	fail "spool full: dropped low $low normal $normal high $high; received low $got_low/$want_low normal $got_norm/$want_norm high $got_high/$want_high"
fi

# ---- the DPDK path ----------------------------------------------------------

if [ -n "$(pkg-config --libs libdpdk 2>/dev/null)" ] || ldd "$bin" | grep -q librte_eal; then
	start_sink dpdk $TLS_SINK
	conf "$tmp/dpdk.conf" "$PORT" "$tmp/spool-dpdk"
	{
		echo "[dpdk]"
		echo "eal_args = -l 0,1 --no-pci --no-huge -m 512 --log-level=error --file-prefix mtexp$$ --vdev net_pcap0,rx_pcap=$cap"
		echo "idle_exit = 1s"
	} >>"$tmp/dpdk.conf"
	"$bin" -c "$tmp/dpdk.conf" --json "$tmp/dpdk.json" -q 2>"$tmp/dpdk.err"
	rc=$?
	stop_sink "$SINK_PID"
	if [ $rc -eq 0 ] && [ -s "$tmp/dpdk.json" ] && same_records "$tmp/dpdk.json" "$tmp/dpdk.rx.json" "dpdk"; then
		pass "dpdk: the DPDK path exports every record once, in order ($(wc -l <"$tmp/dpdk.json") records)"
	else
		fail "dpdk: export from the DPDK path (rc $rc): $(head -c 600 "$tmp/dpdk.err")"
	fi
fi

if [ $failed -ne 0 ]; then
	echo "test_export_tls: FAILED"
	exit 1
fi
echo "test_export_tls: all passed"
