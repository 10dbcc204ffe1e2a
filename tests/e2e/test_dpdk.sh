#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The DPDK path against the offline reader: a committed capture replayed
# through the real EAL and net_pcap (idle_exit = replay mode) must give the
# same flow records, in the same order, as `mailtapd --read`. Also checks
# that bad [dpdk] settings fail loudly, and, where net_tap can be made in a
# private network namespace, that two RX queues keep both directions of
# every flow on one worker.
#
# usage: sh tests/e2e/test_dpdk.sh BUILD_DIR [CAPTURE.pcap]
set -u

B=${1:?usage: test_dpdk.sh BUILD_DIR}
BIN=$B/mailtapd
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

CAP=${2:-$root/tests/captures/real/tcp_veth.pcap}
if [ ! -f "$CAP" ]; then
	CAP=$(find "$root/tests/captures" -name '*.pcap' 2>/dev/null | sort | head -n 1)
	[ -n "$CAP" ] || { echo "FAIL: no capture under tests/captures"; exit 1; }
	echo "note: tests/captures/real/tcp_veth.pcap missing, using $CAP"
fi
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }

tmp=$(mktemp -d)
ns=""
inj=""
prefixes="mt$$ mt$$x mt$$l mt$$r mt$$t"
cleanup() {
	[ -z "$inj" ] || kill "$inj" 2>/dev/null
	[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null
	for p in $prefixes; do rm -rf "/var/run/dpdk/$p"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }

# EAL options every run shares: no PCI scan, no hugepages, quiet EAL.
EAL="--no-pci --no-huge -m 512 --log-level=error"

# conf NAME EAL_ARGS [MORE [dpdk] LINES...]; idle_exit defaults to 1s.
conf() {
	name=$1
	eal=$2
	shift 2
	{
		echo "[dpdk]"
		echo "eal_args = $eal"
		case "$*" in *idle_exit*) ;; *) echo "idle_exit = 1s" ;; esac
		for l in "$@"; do echo "$l"; done
	} >"$tmp/$name.conf"
}

# net_pcap (DPDK 22.11) reads files at microsecond precision: a nanosecond
# capture would differ from --read in its sub-microsecond digits (and so in
# flow_id, which hashes the start time). Compare both paths on the same
# microsecond data.
"$PY" - "$CAP" "$tmp/cap.pcap" <<'EOF' || exit 1
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
d = open(src, 'rb').read()
m = d[:4]
if m in (b'\xd4\xc3\xb2\xa1', b'\xa1\xb2\xc3\xd4'):
    open(dst, 'wb').write(d)
    sys.exit(0)
if m not in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d'):
    sys.exit('%s: not a classic pcap file; give the DPDK test a .pcap' % src)
e = '<' if m == b'\x4d\x3c\xb2\xa1' else '>'
out = [struct.pack(e + 'I', 0xa1b2c3d4) + d[4:24]]
off = 24
while off + 16 <= len(d):
    sec, ns, incl, orig = struct.unpack(e + 'IIII', d[off:off + 16])
    out.append(struct.pack(e + 'IIII', sec, ns // 1000, incl, orig))
    out.append(d[off + 16:off + 16 + incl])
    off += 16 + incl
open(dst, 'wb').write(b''.join(out))
print('note: nanosecond capture truncated to microseconds for both paths')
EOF

# --- 1. replay through net_pcap equals --read ---------------------------------
echo "capture: $CAP"
"$BIN" --read "$tmp/cap.pcap" --json "$tmp/A.json" -q || fail "--read exited $?"
conf dpdk "$EAL -l 0,1 --file-prefix mt$$ --vdev net_pcap0,rx_pcap=$tmp/cap.pcap"
timeout 120 "$BIN" -c "$tmp/dpdk.conf" --json "$tmp/B.json" -q 2>"$tmp/B.err"
rc=$?
if [ $rc -ne 0 ]; then
	fail "DPDK run exited $rc"
	cat "$tmp/B.err"
fi
grep '"event_type":"flow"' "$tmp/A.json" >"$tmp/A.flows"
grep '"event_type":"flow"' "$tmp/B.json" >"$tmp/B.flows"
na=$(wc -l <"$tmp/A.flows")
nb=$(wc -l <"$tmp/B.flows")
if [ "$na" -eq 0 ]; then
	fail "--read produced no flow records"
elif cmp -s "$tmp/A.flows" "$tmp/B.flows"; then
	pass "flow records byte-identical and in order (--read $na, DPDK $nb)"
else
	fail "flow records differ (--read $na, DPDK $nb):"
	diff "$tmp/A.flows" "$tmp/B.flows" | head -n 20
fi
"$PY" - "$tmp/A.json" "$tmp/B.json" <<'EOF' || failed=1
import json, sys
def final_stats(path):
    last = None
    for line in open(path):
        r = json.loads(line)
        if r.get('event_type') == 'stats':
            last = r
    if last is None:
        sys.exit('FAIL: no stats record in %s' % path)
    return last
a, b = final_stats(sys.argv[1]), final_stats(sys.argv[2])
bad = 0
for path in ('timestamp', 'stats.uptime', 'stats.capture.pkts',
             'stats.capture.bytes', 'stats.flow.created',
             'stats.output.records'):
    va, vb = a, b
    for k in path.split('.'):
        va, vb = va[k], vb[k]
    ok = va == vb
    bad |= not ok
    print('%s: final stats %s: --read %s, DPDK %s' %
          ('PASS' if ok else 'FAIL', path, va, vb))
for k in ('ring_drops',):
    if b['stats']['output'][k]:
        print('FAIL: DPDK output.%s = %s' % (k, b['stats']['output'][k]))
        bad = 1
sys.exit(bad)
EOF

# --- 2. configuration errors fail loudly ---------------------------------------
# expect_fail NAME PATTERN: the run must exit non-zero naming the problem.
expect_fail() {
	timeout 60 "$BIN" -c "$tmp/$1.conf" --json "$tmp/$1.json" -q 2>"$tmp/$1.err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "$2" "$tmp/$1.err"; then
		pass "$1: exit $rc, \"$(grep "$2" "$tmp/$1.err" | head -n 1)\""
	else
		fail "$1: exit $rc, expected a message matching \"$2\":"
		cat "$tmp/$1.err"
	fi
}
conf badport "$EAL -l 0,1 --file-prefix mt$$x --vdev net_pcap0,rx_pcap=$tmp/cap.pcap" \
	"ports = 7"
expect_fail badport "ports: port 7 does not exist"
conf lcores "$EAL -l 0,1 --file-prefix mt$$l --vdev net_pcap0,rx_pcap=$tmp/cap.pcap --vdev net_pcap1,rx_pcap=$tmp/cap.pcap" \
	"ports = 0 1"
expect_fail lcores "need 2 worker lcores"
# net_pcap gives one RX queue per rx_pcap file but no RSS to spread flows.
conf norss "$EAL --lcores 0@0,1@1,2@0 --file-prefix mt$$r --vdev net_pcap0,rx_pcap=$tmp/cap.pcap,rx_pcap=$tmp/cap.pcap" \
	"rx_queues = 2"
expect_fail norss "has no RSS"

# --- 3. two RX queues: net_tap in a private namespace ------------------------
# Of the virtual PMDs here only net_tap (and net_null, which has no real
# traffic) advertise RSS. net_tap accepts the RSS configuration, but without
# the multiq qdisc it cannot program its own BPF hash, so the queue is chosen
# by the kernel's tun driver, which hashes flows symmetrically. What this
# proves: two workers run, both receive, and no flow is split between them.
tap_test() {
	if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null 2>&1; then
		# Not a pass: CI runs as root with iproute2 and tun.
		echo "FAIL: rx_queues = 2 needs root, ip and /dev/net/tun"
		return 1
	fi
	ns=mtdpdk$$
	if ! ip netns add "$ns" 2>"$tmp/ns.err"; then
		echo "FAIL: rx_queues = 2: cannot create a namespace: $(cat "$tmp/ns.err")"
		ns=""
		return 1
	fi
	# No IPv6 on the tap: the kernel would send its own ND/MLD frames.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	# 64 TCP sessions with distinct ports: with two queues the chance that
	# a fair hash puts all on one is 2^-63.
	"$PY" - "$tmp/tap.pcap" <<'EOF' || return 1
import struct, sys
def frame(src, dst, sp, dp, seq, ack, flags, payload=b''):
    tcp = struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ln = 20 + len(tcp) + len(payload)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, ln, 0, 0x4000, 64, 6, 0, src, dst)
    mac_c, mac_s = b'\x02\x00\x00\x00\x00\x01', b'\x02\x00\x00\x00\x00\x02'
    eth = (mac_s + mac_c) if src[1] == 1 else (mac_c + mac_s)
    return eth + b'\x08\x00' + ip + tcp + payload
out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
t = 1700000000 * 1000000
srv = bytes([10, 2, 0, 1])
for i in range(64):
    cli = bytes([10, 1, i // 200, 1 + i % 200])
    cp, a, b = 40000 + i * 7, 1000, 5000
    hello, reply = b'EHLO c%d\r\n' % i, b'250 ok\r\n'
    pkts = [(cli, srv, cp, 25, a, 0, 0x02, b''),
            (srv, cli, 25, cp, b, a + 1, 0x12, b''),
            (cli, srv, cp, 25, a + 1, b + 1, 0x10, b''),
            (srv, cli, 25, cp, b + 1, a + 1, 0x18, reply),
            (cli, srv, cp, 25, a + 1, b + 1 + len(reply), 0x18, hello),
            (cli, srv, cp, 25, a + 1 + len(hello), b + 1 + len(reply), 0x11, b''),
            (srv, cli, 25, cp, b + 1 + len(reply), a + 2 + len(hello), 0x11, b''),
            (cli, srv, cp, 25, a + 2 + len(hello), b + 2 + len(reply), 0x10, b'')]
    for p in pkts:
        f = frame(*p)
        t += 100
        out.append(struct.pack('<IIII', t // 1000000, t % 1000000, len(f), len(f)) + f)
open(sys.argv[1], 'wb').write(b''.join(out))
EOF
	"$BIN" --read "$tmp/tap.pcap" --json "$tmp/T1.json" -q || { fail "--read of the tap traffic"; return 1; }
	conf tap "$EAL --lcores 0@0,1@1,2@0 --file-prefix mt$$t --vdev net_tap0,iface=mttap$$" \
		"rx_queues = 2" "idle_exit = 4s"
	# Started before mailtapd. Frames sent to the tap before the PMD reads
	# all its queues can be lost, so a readiness handshake comes first:
	# after the tap is up, one UDP probe to the discard port (10.9.0.1 ->
	# 10.9.0.2:9, a new source port each time so they spread over the
	# queues) every 20 ms until the port's telemetry shows every queue has
	# received one. The probe flows are left out of the comparison below.
	# Then the capture is sent (a small pause now and then so the tun
	# queues never overflow) and the per-queue counters are read.
	ip netns exec "$ns" "$PY" - "$tmp/tap.pcap" "mttap$$" \
		"/var/run/dpdk/mt$$t/dpdk_telemetry.v2" >"$tmp/inject.out" 2>&1 <<'EOF' &
import json, socket, struct, sys, time
path, ifname, tel = sys.argv[1:4]
deadline = time.time() + 30
while True:
    try:
        if int(open('/sys/class/net/%s/flags' % ifname).read(), 16) & 1:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit('%s never came up' % ifname)
    time.sleep(0.02)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
def queue_stats():
    t = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        t.connect(tel)
        t.recv(4096)
        t.send(b'/ethdev/stats,0')
        r = json.loads(t.recv(65536)).get('/ethdev/stats')
        return r['q_ipackets'][:2] if r else None
    finally:
        t.close()
def probe(sport):
    udp = struct.pack('!HHHH', sport, 9, 8 + 14, 0) + b'mailtap-probe\n'
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64,
                     17, 0, bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    return b'\x02\x00\x00\x00\x00\x0a\x02\x00\x00\x00\x00\x09\x08\x00' + ip + udp
probes = 0
while True:
    s.send(probe(50000 + probes))
    probes += 1
    time.sleep(0.02)
    try:
        q = queue_stats()
    except (OSError, ValueError, KeyError, TypeError):
        q = None
    if q and len(q) == 2 and all(q):
        break
    if time.time() > deadline:
        sys.exit('the PMD never received probes on every queue '
                 '(%d sent, per queue %s)' % (probes, q))
q0 = q
print('ready after %d probe frame(s)' % probes)
d = open(path, 'rb').read()
off, n = 24, 0
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off + 8:off + 12])[0]
    s.send(d[off + 16:off + 16 + incl])
    n += 1
    if n % 32 == 0:
        time.sleep(0.002)
    off += 16 + incl
time.sleep(0.5)
q = [a - b for a, b in zip(queue_stats(), q0)]
drops = open('/sys/class/net/%s/statistics/tx_dropped' % ifname).read().strip()
print('sent %d frames; per-queue packets after the probes %s; '
      'kernel tx_dropped %s' % (n, q, drops))
sys.exit(0 if all(q) else 3)
EOF
	inj=$!
	timeout 120 ip netns exec "$ns" "$BIN" -c "$tmp/tap.conf" --json "$tmp/T2.json" -q 2>"$tmp/tap.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "rx_queues = 2 run exited $rc"
		cat "$tmp/tap.err"
		return 1
	fi
	wait "$inj"
	irc=$?
	inj=""
	cat "$tmp/inject.out"
	[ $irc -eq 0 ] || fail "rx_queues = 2: not every queue received packets"
	"$PY" - "$tmp/T1.json" "$tmp/T2.json" <<'EOF' || failed=1
import json, sys
def flows(path):
    out = []
    for line in open(path):
        r = json.loads(line)
        if r.get('event_type') == 'flow' and r.get('src_ip') != '10.9.0.1':
            f = r['flow']
            out.append((r['src_ip'], r['src_port'], r['dest_ip'], r['dest_port'],
                        r['proto'], f['pkts_toserver'], f['pkts_toclient'],
                        f['bytes_toserver'], f['bytes_toclient'], f['reason'],
                        f.get('midstream', False)))
    return sorted(out)
a, b = flows(sys.argv[1]), flows(sys.argv[2])
if a and a == b:
    print('PASS: rx_queues = 2: the same %d flows (tuple, packets, bytes, end '
          'reason) as --read, none split across workers' % len(a))
    sys.exit(0)
print('FAIL: rx_queues = 2: --read %d flows, DPDK %d; differing:' % (len(a), len(b)))
for x in sorted(set(a) ^ set(b))[:20]:
    print('   ', x)
sys.exit(1)
EOF
}
tap_test || failed=1

[ $failed -eq 0 ] && echo "test_dpdk: all passed" || echo "test_dpdk: FAILED"
exit $failed
