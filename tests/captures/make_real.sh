#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Makes tests/captures/real/tcp_veth.pcap: real traffic between real programs,
# captured by tcpdump on a veth inside a network namespace.
#
# The lab is two network namespaces joined by one veth pair, with IPv4 and
# IPv6 documentation addresses (198.51.100.0/24, 2001:db8:1::/64) that exist
# only inside those namespaces; no packet leaves them. It runs, one after the
# other:
#   (a) curl sending one message over SMTP (EHLO, MAIL, RCPT, DATA, QUIT) to
#       a small SMTP responder on 198.51.100.2:25: several round trips, then
#       FIN from both sides;
#   (b) a POP3 client on 198.51.100.2:110 that talks (greeting, CAPA, USER)
#       and then closes with SO_LINGER {1, 0}, so the kernel sends a RST;
#   (c) session (a) again over IPv6, to [2001:db8:1::2]:25;
#   (d) a UDP exchange: three request/response datagrams to 198.51.100.2:7.
# The peers other than curl are tests/tools/lab_peer.py (standard library
# python3, bounded by timeouts). ARP, neighbour discovery and MLD frames the
# kernel sends on its own are captured too, as on any real link.
#
# Offloads (GRO, TSO, GSO, checksum) are switched off with ethtool so every
# captured frame is one real wire frame no larger than the MTU, with a real
# checksum. Without ethtool, the kernel may hand tcpdump super-frames bigger
# than the MTU (segmentation is done "later" on a veth), which would make the
# per-frame counts differ from a physical wire: the script then refuses to run.
#
# The output is committed: tests/captures/real/tcp_veth.pcap and its expected
# mailtapd output tcp_veth.json (made by running mailtapd on it, then checked
# against tshark, see tests/e2e/test_tshark_conv.sh). Re-running this script
# makes a new capture with new timestamps and ephemeral ports, so the .json
# must be regenerated and re-checked whenever the .pcap is replaced.
#
# Needs root, iproute2, tcpdump, ethtool, curl and python3. Re-runnable: every
# name carries this shell's PID, and everything the script made (processes,
# namespaces, temporary files) is removed on exit, whatever the exit path.
#
# usage: sh tests/captures/make_real.sh [OUTPUT.pcap]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/real/tcp_veth.pcap}
peer=$root/tests/tools/lab_peer.py

die() {
	echo "make_real: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces)"
for tool in ip tcpdump ethtool curl; do
	command -v "$tool" >/dev/null 2>&1 || die "\`$tool' not found (apt-get install iproute2 tcpdump ethtool curl)"
done
# Debian's python3 (the one that has every module this needs) even when
# another python3 comes first on PATH.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
[ -f "$peer" ] || die "missing $peer"

ns_c=mtlab-cli-$$
ns_s=mtlab-srv-$$
if_c=mtc$$
if_s=mts$$
v4_c=198.51.100.1
v4_s=198.51.100.2
v6_c=2001:db8:1::1
v6_s=2001:db8:1::2
tmp=$(mktemp -d /tmp/mtlab.XXXXXX)
pids=""
tcpdump_pid=""

cleanup() {
	rc=$?
	set +e
	for p in $pids $tcpdump_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$ns_c" 2>/dev/null
	ip netns del "$ns_s" 2>/dev/null
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

in_c() { ip netns exec "$ns_c" "$@"; }
in_s() { ip netns exec "$ns_s" "$@"; }

# Starts a server in the server namespace and waits until it listens.
# $1 = tcp|udp, $2 = port, rest = lab_peer.py arguments.
start_server() {
	kind=$1 port=$2
	shift 2
	# Not through in_s: a function run with & is a subshell whose $! is
	# not the server's PID. `ip netns exec' execs, so $! is the server.
	ip netns exec "$ns_s" "$PY" "$peer" "$@" &
	last_server=$!
	pids="$pids $last_server"
	flag=-ltn
	[ "$kind" = udp ] && flag=-lun
	i=0
	until in_s ss -H "$flag" "sport = :$port" | grep -q .; do
		i=$((i + 1))
		[ $i -le 50 ] || die "server on $kind port $port did not start"
		sleep 0.1
	done
}

# Waits for the last server started to finish its sessions.
wait_server() {
	wait "$last_server" || die "server $* failed"
	pids=$(echo "$pids" | sed "s/ $last_server\$//")
}

echo "make_real: building lab ($ns_c <-> $ns_s)"
ip netns add "$ns_c"
ip netns add "$ns_s"
ip link add "$if_c" address 02:00:00:00:00:01 netns "$ns_c" type veth \
	peer name "$if_s" address 02:00:00:00:00:02 netns "$ns_s"
for side in c s; do
	eval "ns=\$ns_$side dev=\$if_$side v4=\$v4_$side v6=\$v6_$side"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" ethtool -K "$dev" gro off tso off gso off tx off rx off \
		>/dev/null 2>&1 || die "ethtool -K $dev failed: frames could exceed the MTU"
	ip -n "$ns" addr add "$v4/24" dev "$dev"
	ip -n "$ns" addr add "$v6/64" dev "$dev" nodad
	ip -n "$ns" link set "$dev" up
done

# Capture on the server side of the veth, both directions, whole frames.
# Immediate mode: otherwise the kernel holds the last packets in a ring block
# until its timeout, and stopping tcpdump loses them.
ip netns exec "$ns_s" tcpdump -i "$if_s" -n -s 0 -U --immediate-mode -Z root -w "$tmp/cap.pcap" \
	2>"$tmp/tcpdump.log" &
tcpdump_pid=$!
i=0
until grep -q "listening on" "$tmp/tcpdump.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 50 ] || die "tcpdump did not start: $(cat "$tmp/tcpdump.log")"
	sleep 0.1
done
sleep 0.5

printf 'From: alice@lab.example\r\nTo: bob@lab.example\r\nSubject: mailtap lab\r\n\r\nHello from the mailtap lab.\r\n' >"$tmp/msg.eml"

echo "make_real: (a) SMTP over IPv4, ended by FIN"
start_server tcp 25 smtp-server "$v4_s" 25 1
in_c curl -sS --max-time 10 --mail-from alice@lab.example \
	--mail-rcpt bob@lab.example --upload-file "$tmp/msg.eml" \
	"smtp://$v4_s:25/client.lab.example"
wait_server smtp-server v4
sleep 0.3

echo "make_real: (b) POP3 over IPv4, ended by RST (SO_LINGER 0)"
start_server tcp 110 pop3-server "$v4_s" 110 1
in_c "$PY" "$peer" pop3-rst-client "$v4_s" 110
wait_server pop3-server
sleep 0.3

echo "make_real: (c) SMTP over IPv6, ended by FIN"
start_server tcp 25 smtp-server "$v6_s" 25 1
in_c curl -sS --globoff --max-time 10 --mail-from alice@lab.example \
	--mail-rcpt bob@lab.example --upload-file "$tmp/msg.eml" \
	"smtp://[$v6_s]:25/client.lab.example"
wait_server smtp-server v6
sleep 0.3

echo "make_real: (d) UDP request/response over IPv4"
start_server udp 7 udp-server "$v4_s" 7 3
in_c "$PY" "$peer" udp-client "$v4_s" 7 3
wait_server udp-server
sleep 1

# TERM, not INT: sh starts background commands with SIGINT ignored.
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=""
grep -q "packets captured" "$tmp/tcpdump.log" || die "tcpdump failed: $(cat "$tmp/tcpdump.log")"

size=$(wc -c <"$tmp/cap.pcap")
[ "$size" -lt 102400 ] || die "capture is $size bytes, over the 100 KB budget"
mkdir -p "$(dirname "$out")"
mv "$tmp/cap.pcap" "$out"
echo "make_real: wrote $out ($size bytes; $(grep 'packets captured' "$tmp/tcpdump.log"))"
echo "make_real: now regenerate and re-check its .json (see the header of this script)"
