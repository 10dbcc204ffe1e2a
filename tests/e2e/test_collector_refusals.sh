#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# What the collector must refuse, with real TLS on loopback: a client
# certificate from another CA, a certificate whose name is not on the
# allow-list, an appliance sending another appliance's observation domain,
# a client offering only TLS 1.1, bytes that are not TLS, valid TLS
# carrying bytes that are not IPFIX, and a connection that never finishes
# its handshake. Each must be closed with its reason in the log and in the
# refusals metric, store nothing, and leave the collector serving: while
# an appliance hangs half-way through a message and another never
# handshakes, a good appliance still gets all its records stored.
#
# usage: sh tests/e2e/test_collector_refusals.sh BUILD_DIR
set -eu

B=${1:?usage: test_collector_refusals.sh BUILD_DIR}
coll=$B/mailtap-collector
client=$B/tools/coll_client
for x in "$coll" "$client"; do
	[ -x "$x" ] || { echo "FAIL: $x missing (run make)"; exit 1; }
done
tmp=$(mktemp -d /tmp/mailtap-coll-refuse.XXXXXX)
cpid=
bg=
cleanup() {
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
	for p in $bg; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

"$coll" ca init --dir "$tmp/pki" >/dev/null
"$coll" ca issue --dir "$tmp/pki" --collector collector >/dev/null
for a in tap-01 tap-02 intruder; do
	"$coll" ca issue --dir "$tmp/pki" --appliance $a >/dev/null
done
# Another CA, with a certificate for a name that is on the allow-list.
"$coll" ca init --dir "$tmp/other" --cn "another lab CA" >/dev/null
"$coll" ca issue --dir "$tmp/other" --appliance tap-01 >/dev/null

start_collector() {
	port=$((24000 + ($$ + ${1:-0}) % 20000))
	mport=$((port + 1))
	cat >"$tmp/c.conf" <<EOF
[server]
listen = 127.0.0.1:$port
ca = $tmp/pki/ca.crt
cert = $tmp/pki/collector.crt
key = $tmp/pki/collector.key
handshake_timeout = 1s
[storage]
path = $tmp/c.db
batch_interval = 20ms
[metrics]
listen = 127.0.0.1:$mport
[appliance tap-01]
domains = 1
[appliance tap-02]
domains = 2
EOF
	: >>"$tmp/collector.log"
	"$coll" serve -c "$tmp/c.conf" 2>>"$tmp/collector.log" &
	cpid=$!
	i=0
	while ! grep -q "serving on 127.0.0.1:$port" "$tmp/collector.log"; do
		kill -0 "$cpid" 2>/dev/null || { cpid=; return 1; }
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
tries=0
until start_collector $tries; do
	tries=$((tries + 1))
	[ $tries -lt 5 ] || { cat "$tmp/collector.log"; echo "FAIL: collector does not start"; exit 1; }
done

# send NAME CERTDIR CERT [coll_client options]: one client; its status.
send() {
	name=$1
	dir=$2
	cert=$3
	shift 3
	"$client" --connect 127.0.0.1:$port --ca "$tmp/pki/ca.crt" --cert "$tmp/$dir/$cert.crt" \
		--key "$tmp/$dir/$cert.key" --server-name collector --timeout 20 --attempts 1 \
		"$@" >"$tmp/$name.out" 2>&1
}

# metric NAME: value of a metric line from /metrics.
metric() {
	python3 - "$mport" "$1" <<'EOF'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(line.split()[-1])
        break
else:
    print("missing")
EOF
}

# wait_metric NAME WANT SECONDS: polls the metric until it equals WANT (so
# a slow machine does not turn a fixed sleep into a failure); no verdict.
wait_metric() {
	i=0
	while [ "$(metric "$1")" != "$2" ] && [ $i -lt $(($3 * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# refused CASE REASON LOGTEXT: the client failed, the log says why, the
# metric counted it.
refused() {
	case_=$1
	reason=$2
	text=$3
	want=$4
	got=$(metric "mailtap_collector_refusals_total{reason=\"$reason\"}")
	if grep "refused" "$tmp/collector.log" | grep -q -- "$reason: .*$text" && [ "$got" = "$want" ]; then
		ok "$case_: refused ($reason), logged: $(grep "$reason: " "$tmp/collector.log" | tail -1 | sed 's/.*refused: //' | cut -c1-140)"
	else
		bad "$case_: reason $reason / \`$text' not logged, or metric $got != $want"
		tail -5 "$tmp/collector.log"
	fi
}

# Background trouble while everything else runs: a connection that never
# handshakes, and an appliance stuck half-way through a message. Both would
# hang on for a minute; the cleanup ends them.
python3 - "$port" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)
EOF
bg="$bg $!"
"$client" --connect 127.0.0.1:$port --ca "$tmp/pki/ca.crt" --cert "$tmp/pki/tap-02.crt" \
	--key "$tmp/pki/tap-02.key" --server-name collector --domain 2 --records 100 --stall 60 \
	--attempts 1 >"$tmp/stall.out" 2>&1 &
bg="$bg $!"
sleep 0.3

if send unknown_ca other tap-01 --domain 1 --records 10; then
	bad "unknown CA: client succeeded"
else
	refused "certificate from another CA" cert_verify "not correctly signed" 1
fi
if send intruder pki intruder --domain 1 --records 10; then
	bad "not on the allow-list: client succeeded"
else
	refused "certificate not on the allow-list" not_allowed "common name \`intruder' is not on the allow-list" 1
fi
if send wrong_domain pki tap-02 --domain 1 --records 10; then
	bad "another appliance's domain: client succeeded"
else
	refused "tap-02 sending tap-01's domain" domain_not_bound "observation domain 1 is not bound to appliance tap-02" 1
fi
if send tls11 pki tap-01 --domain 1 --records 10 --tls11; then
	bad "TLS 1.1: client succeeded"
else
	refused "TLS 1.1 only" tls_version "TLS 1.2 or later required" 1
fi
if "$client" --connect 127.0.0.1:$port --garbage --timeout 10 >"$tmp/garbage.out" 2>&1; then
	refused "bytes that are not TLS" tls_handshake "" 1
else
	bad "garbage: the collector kept the connection open: $(cat "$tmp/garbage.out")"
fi
if send garbage_ipfix pki tap-01 --domain 1 --records 10 --garbage-ipfix; then
	bad "garbage IPFIX: client succeeded"
else
	refused "valid TLS, then bytes that are not IPFIX" bad_ipfix "not an IPFIX message" 1
fi

# Meanwhile the good appliance is served, the stuck ones notwithstanding.
if send good pki tap-01 --domain 1 --records 20000 --json "$tmp/good.json"; then
	n=$("$coll" query --db "$tmp/c.db" --appliance tap-01 --format json | tee "$tmp/stored.json" | wc -l)
	if [ "$n" -eq 20000 ] && cmp -s "$tmp/good.json" "$tmp/stored.json"; then
		ok "good appliance served while two connections hang: 20000 records stored, identical"
	else
		bad "good appliance: $n records stored"
	fi
else
	bad "good appliance failed: $(cat "$tmp/good.out")"
fi
# Nothing of the refused ones was stored.
n=$("$coll" query --db "$tmp/c.db" --appliance tap-02 --format json | wc -l)
[ "$n" -eq 0 ] && ok "nothing stored for the refused and the stuck connections" ||
	bad "$n records stored for tap-02"
wait_metric 'mailtap_collector_refusals_total{reason="handshake_timeout"}' 1 15
refused "connection that never handshakes" handshake_timeout "no finished handshake after" 1
wait_metric 'mailtap_collector_connections{state="established"}' 1 15
est=$(metric 'mailtap_collector_connections{state="established"}')
[ "$est" = 1 ] && ok "the stuck appliance is still connected, harmlessly (1 established)" ||
	bad "established connections: $est (want the stuck one)"

kill -TERM "$cpid"
wait "$cpid" && ok "collector stopped cleanly with a stuck appliance connected" || bad "collector exit status $?"
cpid=
echo "test_collector_refusals: $pass passed, $fail failed"
[ $fail -eq 0 ]
