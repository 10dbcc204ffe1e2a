#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The DPDK path against the offline reader: a committed capture replayed
# through the real EAL and net_pcap (idle_exit = replay mode) must give the
# same flow records, in the same order, as `mailtapd --read`. Also checks
# that bad [dpdk] settings fail loudly, and, where net_tap can be made in a
# private network namespace, that two RX queues keep both directions of
# every flow on one worker, that each worker's telemetry counts exactly its
# queue's packets, and that detection, fed by both workers, raises the same
# alerts on a brute force spread over them as `--read` does.
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
# proves: two workers run, both receive, no flow is split between them, each
# worker's telemetry matches its queue, and detection on the main lcore sees
# the events of both (mailtapd's own symmetric key is checked by
# tests/unit/test_rss.c, since no virtual PMD here applies it).
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
	# A real brute force (one source, 16 IMAP connections, tests/captures/lab)
	# follows the synthetic sessions: its flows land on both workers, and
	# detection on the main lcore must still see all of its events.
	BF=$root/tests/captures/lab/imap_bruteforce.pcap
	[ -f "$BF" ] || { fail "rx_queues = 2: $BF missing"; return 1; }
	"$BIN" --read "$BF" --json "$tmp/BF1.json" -q || { fail "--read of $BF"; return 1; }
	conf tap "$EAL --lcores 0@0,1@1,2@0 --file-prefix mt$$t --vdev net_tap0,iface=mttap$$" \
		"rx_queues = 2" "idle_exit = 4s"
	# Started before mailtapd. Frames sent to the tap before the PMD reads
	# all its queues can be lost, so a readiness handshake comes first:
	# after the tap is up, one UDP probe to the discard port (10.9.0.1 ->
	# 10.9.0.2:9, a new source port each time so they spread over the
	# queues) every 20 ms until the port's telemetry shows every queue has
	# received one. The probe flows are left out of the comparison below.
	# Then the capture is sent (a small pause now and then so the tun
	# queues never overflow) and the per-queue counters are read, beside
	# each worker's own (/mailtap/workers, /mailtap/worker_stats,LCORE):
	# every worker must have counted exactly the packets of its queue, and
	# the workers together the port's total. Then the brute force is sent
	# at five times its recorded speed (its connections stay in order,
	# 100 ms apart), and each worker's IMAP flow count must have grown.
	ip netns exec "$ns" "$PY" - "$tmp/tap.pcap" "mttap$$" \
		"/var/run/dpdk/mt$$t/dpdk_telemetry.v2" "$BF" "$tmp/workers.json" \
		>"$tmp/inject.out" 2>&1 <<'PYEOF' &
import json, socket, struct, sys, time
path, ifname, tel, bf, result = sys.argv[1:6]
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
def query(cmd):
    t = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        t.connect(tel)
        t.recv(4096)
        t.send(cmd.encode())
        return json.loads(t.recv(1 << 20)).get(cmd.split(',')[0])
    finally:
        t.close()
def queue_stats():
    r = query('/ethdev/stats,0')
    return r['q_ipackets'][:2] if r else None
def probe(sport):
    udp = struct.pack('!HHHH', sport, 9, 8 + 14, 0) + b'mailtap-probe\n'
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64,
                     17, 0, bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
    return b'\x02\x00\x00\x00\x00\x0a\x02\x00\x00\x00\x00\x09\x08\x00' + ip + udp
def frames(p):
    d = open(p, 'rb').read()
    off = 24
    while off + 16 <= len(d):
        sec, usec, incl = struct.unpack('<III', d[off:off + 12])
        yield sec + usec / 1e6, d[off + 16:off + 16 + incl]
        off += 16 + incl
def workers():
    """RX queue -> the telemetry of the worker reading it."""
    out = {}
    for lcore in query('/mailtap/workers'):
        w = query('/mailtap/worker_stats,%d' % lcore)
        out[w['queue']] = w
    return out
bad = 0
def check(what, ok, detail):
    global bad
    print('%s: rx_queues = 2: %s: %s' % ('PASS' if ok else 'FAIL', what, detail))
    bad |= not ok
def per_worker_equals_per_queue(stage):
    """Once the workers are idle the counts must agree exactly; until
    then they may lag by the packets still being processed."""
    for _ in range(30):
        w, e, total = workers(), query('/ethdev/stats,0'), query('/mailtap/stats')
        mine = [w[k]['capture_pkts'] for k in sorted(w)]
        ok = (sorted(w) == [0, 1] and mine == e['q_ipackets'][:2] and
              sum(mine) == e['ipackets'] == total['capture_pkts'])
        if ok:
            break
        time.sleep(0.1)
    check('per-worker telemetry after %s' % stage, ok,
          'workers on lcores %s counted %s packets, /ethdev/stats q_ipackets %s; '
          'sum %d, ipackets %d, /mailtap/stats capture_pkts %d' %
          ([w[k]['lcore'] for k in sorted(w)], mine, e['q_ipackets'][:2],
           sum(mine), e['ipackets'], total['capture_pkts']))
    return w
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
n = 0
for _, f in frames(path):
    s.send(f)
    n += 1
    if n % 32 == 0:
        time.sleep(0.002)
time.sleep(0.5)
q = [a - b for a, b in zip(queue_stats(), q0)]
drops = open('/sys/class/net/%s/statistics/tx_dropped' % ifname).read().strip()
print('sent %d frames; per-queue packets after the probes %s; '
      'kernel tx_dropped %s' % (n, q, drops))
check('every queue received packets', all(q), 'per queue %s' % q)
w1 = per_worker_equals_per_queue('the synthetic sessions')
prev = None
for t, f in frames(bf):
    if prev is not None:
        time.sleep(max(0.0, (t - prev) / 5))
    prev = t
    s.send(f)
time.sleep(0.5)
w2 = per_worker_equals_per_queue('the brute force')
imap = [w2[k]['app_detected_imap'] - w1[k]['app_detected_imap'] for k in (0, 1)]
json.dump({'imap_flows_per_queue': imap}, open(result, 'w'))
check('the brute force reached both workers', all(imap),
      'new IMAP flows per worker %s' % imap)
sys.exit(bad)
PYEOF
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
	[ $irc -eq 0 ] || fail "rx_queues = 2: the injector's checks failed (exit $irc)"
	[ -f "$tmp/workers.json" ] || { fail "rx_queues = 2: no per-worker result"; return 1; }
	"$PY" - "$tmp/T1.json" "$tmp/BF1.json" "$tmp/T2.json" "$tmp/workers.json" <<'PYEOF' || failed=1
import json, sys
BF_NET = '198.51.100.'
def records(path, kind):
    return [r for r in map(json.loads, open(path)) if r.get('event_type') == kind]
def flows(path, keep):
    out = []
    for r in records(path, 'flow'):
        if r.get('src_ip') != '10.9.0.1' and keep(r['src_ip']):
            f = r['flow']
            out.append((r['src_ip'], r['src_port'], r['dest_ip'], r['dest_port'],
                        r['proto'], r.get('app_proto'), f['pkts_toserver'],
                        f['pkts_toclient'], f['bytes_toserver'], f['bytes_toclient'],
                        f['reason'], f.get('midstream', False)))
    return sorted(out)
def alerts(path):
    # The signature text carries the attack's duration, which the faster
    # replay shortens; the id, detector, source, user and server may not
    # change, nor the evidence counted when the alert was raised.
    return sorted((a['signature_id'], a['detector'], a.get('source'), a.get('user'),
                   a.get('server'), a['update'], a.get('attempts'), a.get('failures'),
                   a.get('successes'))
                  for a in (r['alert'] for r in records(path, 'alert')))
t1, bf1, t2, per_worker = sys.argv[1:5]
bad = 0
def verdict(ok, msg, a=None, b=None):
    global bad
    print('%s: rx_queues = 2: %s' % ('PASS' if ok else 'FAIL', msg))
    if not ok:
        bad = 1
        for x in sorted(set(a or []) ^ set(b or []))[:20]:
            print('   ', x)
a, b = flows(t1, lambda ip: True), flows(t2, lambda ip: not ip.startswith(BF_NET))
verdict(a and a == b, 'the same %d synthetic flows (tuple, packets, bytes, end '
        'reason) as --read, none split across workers (DPDK %d)' % (len(a), len(b)), a, b)
a, b = flows(bf1, lambda ip: True), flows(t2, lambda ip: ip.startswith(BF_NET))
q = json.load(open(per_worker))['imap_flows_per_queue']
verdict(a and a == b, 'the same %d brute-force flows as --read (DPDK %d)'
        % (len(a), len(b)), a, b)
verdict(sum(q) == len(a) and all(q), 'the workers counted %s of those %d IMAP '
        'flows: one source\'s flows on both' % (q, len(a)))
a, b = alerts(bf1) + alerts(t1), alerts(t2)
verdict(a and a == b, 'detection over both workers raises the %d alerts of --read '
        '(%s)' % (len(a), ', '.join('%s %s %s %s' % (x[1], x[0], x[2], x[3])
                                    for x in a)), a, b)
sys.exit(bad)
PYEOF
}
tap_test || failed=1

[ $failed -eq 0 ] && echo "test_dpdk: all passed" || echo "test_dpdk: FAILED"
exit $failed
