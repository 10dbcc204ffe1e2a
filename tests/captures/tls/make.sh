#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Makes the TLS captures the TLS analyzer tests read: real handshakes between
# real programs (openssl s_server / s_client, curl, and Python's ssl module
# behind a tiny SMTP server), captured by tcpdump on the loopback interface
# of a network namespace this script creates, so no packet leaves it and
# the well-known ports (25, 443, 993, 995) are free to use. The certificates
# are made on the fly by the openssl CLI in a temporary directory.
#
#   https_tls12.pcap   curl -> s_server :443, TLS 1.2, ALPN h2,http/1.1
#                      offered and http/1.1 chosen, RSA self-signed cert
#   imaps_tls13.pcap   s_client -> s_server :993, TLS 1.3, SNI, ALPN imap,
#                      ECDSA cert (encrypted on the wire: not visible)
#   pop3s_frag.pcap    s_client -> s_server :995, TLS 1.2, a CA-signed leaf
#                      sent as a two-certificate chain; both sides use
#                      -max_send_frag 512 and the client offers long ALPN
#                      names, so the ClientHello and the Certificate each
#                      span several TLS records
#   smtp_starttls.pcap s_client -starttls smtp -> starttls_peer.py :25:
#                      EHLO, STARTTLS, then a TLS 1.2 handshake
#   grease_hello.pcap, hrr.pcap: written by synth.py (see there): GREASE
#                      and a HelloRetryRequest, which no program here sends
#
# The loopback MTU is set to 1500 and offloads are off, so every captured
# frame is one real wire-sized TCP segment and the handshakes are split
# across segments as on a real link.
#
# Afterwards ref.sh (beside this file) prints what tshark says about each
# capture (JA3, JA3S, SNI, ALPN, certificate) plus JA4 computed from tshark's
# dissection by ja4_ref.py; its output is committed as reference.txt and is
# where the expected values of tests/unit/test_tls.c come from. Re-running
# this script makes new keys, timestamps and ports: the expected values in
# test_tls.c must then be updated from the new reference.txt.
#
# Needs root, iproute2, ethtool, tcpdump, openssl, curl and python3.
# Re-runnable: names carry this shell's PID and everything the script made
# (processes, the namespace, temporary files) is removed on exit.
#
# usage: sh tests/captures/tls/make.sh [OUTPUT_DIR]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}

die() {
	echo "make.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it creates a network namespace)"
for tool in ip ethtool tcpdump openssl curl; do
	command -v "$tool" >/dev/null 2>&1 || die "\`$tool' not found (apt-get install iproute2 ethtool tcpdump openssl curl)"
done
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

ns=mttls-$$
tmp=$(mktemp -d /tmp/mttls.XXXXXX)
pids=""
tcpdump_pid=""

cleanup() {
	rc=$?
	set +e
	for p in $pids $tcpdump_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

in_ns() { ip netns exec "$ns" "$@"; }

wait_listen() {
	i=0
	until in_ns ss -H -ltn "sport = :$1" | grep -q .; do
		i=$((i + 1))
		[ $i -le 50 ] || die "nothing listens on port $1"
		sleep 0.1
	done
}

# capture_start NAME FILTER / capture_stop NAME
capture_start() {
	# Immediate mode: otherwise the last packets wait in a ring block and
	# stopping tcpdump loses them.
	ip netns exec "$ns" tcpdump -i lo -n -s 0 -U --immediate-mode -Z root \
		-w "$tmp/$1.pcap" "$2" 2>"$tmp/$1.log" &
	tcpdump_pid=$!
	i=0
	until grep -q "listening on" "$tmp/$1.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 50 ] || die "tcpdump did not start: $(cat "$tmp/$1.log")"
		sleep 0.1
	done
	sleep 0.3
}

capture_stop() {
	sleep 0.5
	# TERM, not INT: sh starts background commands with SIGINT ignored.
	kill -TERM "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=""
	grep -q "packets captured" "$tmp/$1.log" || die "tcpdump failed: $(cat "$tmp/$1.log")"
	size=$(wc -c <"$tmp/$1.pcap")
	[ "$size" -lt 65536 ] || die "$1.pcap is $size bytes, over the 64 KB budget"
	mkdir -p "$out"
	mv "$tmp/$1.pcap" "$out/$1.pcap"
	echo "make.sh: wrote $out/$1.pcap ($size bytes)"
}

# Background server in the namespace; `ip netns exec' execs, so $! is it.
server() {
	ip netns exec "$ns" "$@" &
	last_server=$!
	pids="$pids $last_server"
}

server_done() {
	wait "$last_server" 2>/dev/null || true
	pids=$(echo "$pids" | sed "s/ $last_server\$//")
}

echo "make.sh: certificates"
cd "$tmp"
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 3650 \
	-subj "/C=DE/O=mailtap test/CN=mail.example.test" -set_serial 0x4d41494c544150 \
	2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key \
	-out ec.crt -days 365 -subj "/CN=imap.example.test" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.crt -days 3650 -subj "/C=DE/O=mailtap test/CN=mailtap test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
	-subj "/C=DE/ST=Berlin/O=mailtap test/OU=pop/CN=pop.example.test" 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -set_serial 0x00ff0102030405060708 \
	-days 825 -out leaf.crt 2>/dev/null
cat leaf.crt ca.crt >chain.pem

echo "make.sh: namespace $ns"
ip netns add "$ns"
ip -n "$ns" link set lo mtu 1500
ip -n "$ns" link set lo up
in_ns ethtool -K lo tso off gso off gro off >/dev/null 2>&1 ||
	die "ethtool -K lo failed: frames could exceed the MTU"

echo "make.sh: (a) HTTPS, TLS 1.2, curl"
capture_start https_tls12 "tcp port 443"
server openssl s_server -quiet -naccept 1 -accept 443 -tls1_2 -cert rsa.crt -key rsa.key \
	-alpn http/1.1 -www
wait_listen 443
in_ns curl -sS -k --max-time 10 --tlsv1.2 --tls-max 1.2 \
	--resolve mail.example.test:443:127.0.0.1 https://mail.example.test/ >/dev/null
server_done
capture_stop https_tls12

echo "make.sh: (b) IMAPS, TLS 1.3, s_client"
capture_start imaps_tls13 "tcp port 993"
server openssl s_server -quiet -naccept 1 -accept 993 -tls1_3 -cert ec.crt -key ec.key \
	-alpn imap
wait_listen 993
(sleep 1; printf 'a LOGOUT\r\n'; sleep 1) |
	in_ns openssl s_client -quiet -connect 127.0.0.1:993 -servername imap.example.test \
		-alpn imap -tls1_3 >/dev/null 2>&1 || true
server_done
capture_stop imaps_tls13

echo "make.sh: (c) POP3S, TLS 1.2, fragmented handshake"
long=$(printf 'x-mailtap-%0100d' 0)
capture_start pop3s_frag "tcp port 995"
server openssl s_server -quiet -naccept 1 -accept 995 -tls1_2 -cert leaf.crt -key leaf.key \
	-cert_chain ca.crt -max_send_frag 512
wait_listen 995
(sleep 1; printf 'QUIT\r\n'; sleep 1) |
	in_ns openssl s_client -quiet -connect 127.0.0.1:995 -servername pop.example.test \
		-tls1_2 -max_send_frag 512 -alpn "pop3,$long-1,$long-2,$long-3,$long-4" \
		>/dev/null 2>&1 || true
server_done
capture_stop pop3s_frag

echo "make.sh: (d) SMTP STARTTLS"
capture_start smtp_starttls "tcp port 25"
server "$PY" "$here/starttls_peer.py" 127.0.0.1 25 rsa.crt rsa.key
wait_listen 25
(sleep 1; printf 'EHLO client.example.test\r\n'; sleep 0.5; printf 'QUIT\r\n'; sleep 1) |
	in_ns openssl s_client -quiet -starttls smtp -crlf -connect 127.0.0.1:25 \
		-servername mail.example.test >/dev/null 2>&1 || true
server_done
capture_stop smtp_starttls

echo "make.sh: (e) synthetic GREASE and HelloRetryRequest captures"
"$PY" "$here/synth.py" "$out"

echo "make.sh: done; now: sh $here/ref.sh $out >$out/reference.txt, then update test_tls.c and fuzz_seeds.py"
