#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the synthetic captures in tests/captures/synthetic/.

Each capture exercises one part of mailtapd's decoder, flow table or TCP
reassembly (see CAPTURES at the end and each builder's docstring), around a
complete little TCP session on a mail port (25, 143 or 110) where that makes
sense, so that a flow record comes out of it. Everything is fixed:
addresses, MACs, ports, sequence numbers, IP ids and timestamps (from
2023-11-14T22:13:20Z, one millisecond apart unless a capture says
otherwise), so re-running the script rewrites byte-identical files. Frames
are built with scapy (python3-scapy); the pcap files are written here, which
keeps the format (pcap 2.4, microseconds, Ethernet) and the snap length
under our control. A capture that needs a non-default configuration gets a
NAME.conf beside it (CONFIGS), which the tests pass to mailtapd with -c.

Addresses are documentation ranges only (RFC 5737, RFC 3849).

The .pcap, .conf and expected .json files are committed. After changing
this script: run it, regenerate each changed .json with
`build/mailtapd --read NAME.pcap --json NAME.json -q [-c NAME.conf]`, and
check every changed .json by hand and with tshark
(tests/e2e/test_tshark_conv.sh) before committing it.

usage: tests/captures/make_synthetic.py [OUTDIR]   (default: synthetic/ here)
"""
import os
import struct
import sys

from scapy.all import (DNS, DNSQR, DNSRRMX, GRE, IP, TCP, UDP, VXLAN, Dot1AD,
                       Dot1Q, Ether,
                       IPOption_NOP, IPOption_Router_Alert, IPOption_RR,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw)

T0_US = 1700000000 * 1000000   # 2023-11-14T22:13:20Z
STEP_US = 1000                 # one frame per millisecond

MAC_C = "02:00:00:00:01:01"
MAC_S = "02:00:00:00:01:02"
MAC_TUN_A = "02:00:00:00:02:01"
MAC_TUN_B = "02:00:00:00:02:02"
V4_C, V4_S = "192.0.2.10", "192.0.2.25"
V6_C, V6_S = "2001:db8::10", "2001:db8::25"
TUN_A, TUN_B = "198.51.100.1", "203.0.113.1"

# Shortest Ethernet frame without its FCS. A NIC or a mirror port pads
# shorter frames with zeros (an Ethernet trailer the IP length excludes); a
# capture on the sending host, like the veth one, shows them unpadded.
ETH_MIN = 60

C, S = 0, 1  # directions: from the client, from the server

# What each kind of server says, one reply per client line, so a session
# has several round trips.
DIALOGUES = {
    25: [(S, b"220 mx.example.org ESMTP\r\n"),
         (C, b"EHLO client.example.org\r\n"),
         (S, b"250-mx.example.org\r\n250 8BITMIME\r\n"),
         (C, b"QUIT\r\n"),
         (S, b"221 2.0.0 Bye\r\n")],
    143: [(S, b"* OK IMAP4rev1 ready\r\n"),
          (C, b"a1 CAPABILITY\r\n"),
          (S, b"* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n"),
          (C, b"a2 LOGOUT\r\n"),
          (S, b"* BYE logging out\r\na2 OK done\r\n")],
    110: [(S, b"+OK POP3 ready\r\n"),
          (C, b"CAPA\r\n"),
          (S, b"+OK\r\nUSER\r\nUIDL\r\n.\r\n"),
          (C, b"QUIT\r\n"),
          (S, b"+OK bye\r\n")],
}


class Pcap:
    """A pcap file (2.4, microseconds, Ethernet) with a fixed clock."""

    def __init__(self, path, snaplen=None):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0,
                                 snaplen or 65535, 1))
        self.t = T0_US

    def add(self, frame, snaplen=None, gap_us=STEP_US, pad=False, at_us=None):
        """Writes a frame at the current time (or at T0 + at_us), then
        moves the clock on by gap_us."""
        if at_us is not None:
            assert T0_US + at_us >= self.t, "timestamps must not go back"
            self.t = T0_US + at_us
        data = bytes(frame)
        if pad and len(data) < ETH_MIN:
            data += bytes(ETH_MIN - len(data))
        cap = data if snaplen is None else data[:snaplen]
        sec, usec = divmod(self.t, 1000000)
        self.f.write(struct.pack("<IIII", sec, usec, len(cap), len(data)))
        self.f.write(cap)
        self.t += gap_us

    def close(self):
        self.f.close()


class Tcp:
    """One TCP connection: keeps both sides' sequence numbers and builds
    segments as IP packets. `l3(d, seg)` may wrap the TCP header (IP
    options, extension headers); `link(d, pkt)` puts the packet in a frame
    (Ethernet, VLAN tags, tunnels)."""

    def __init__(self, cport, sport, isn_c=1000000, isn_s=2000000, v6=False,
                 l3=None, link=None):
        self.port = {C: cport, S: sport}
        self.nxt = {C: isn_c, S: isn_s}
        self.v6 = v6
        self.l3 = l3 or self.plain_l3
        self.link = link or eth
        self.ipid = {C: 100, S: 500}

    def addr(self, d):
        if self.v6:
            return (V6_C, V6_S) if d == C else (V6_S, V6_C)
        return (V4_C, V4_S) if d == C else (V4_S, V4_C)

    def plain_l3(self, d, seg):
        src, dst = self.addr(d)
        if self.v6:
            return IPv6(src=src, dst=dst, hlim=64) / seg
        self.ipid[d] += 1
        return IP(src=src, dst=dst, id=self.ipid[d], ttl=64) / seg

    def tcp(self, d, flags, data=b"", seq=None, advance=True, opts=None):
        """A segment from side d. `seq` is relative to the side's next
        sequence number (negative for old data); `advance` moves it."""
        o = 1 - d
        s = self.nxt[d] + (seq or 0)
        ack = self.nxt[o] if "A" in flags else 0
        seg = TCP(sport=self.port[d], dport=self.port[o], seq=s & 0xffffffff,
                  ack=ack & 0xffffffff, flags=flags, window=65535,
                  options=opts or [])
        if data:
            seg = seg / Raw(data)
        if advance:
            self.nxt[d] = s + len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        return seg

    def pkt(self, d, flags, data=b"", **kw):
        return self.link(d, self.l3(d, self.tcp(d, flags, data, **kw)))

    # --- whole sessions -------------------------------------------------
    def open(self):
        mss = [("MSS", 1460), ("WScale", 7)]
        return [self.pkt(C, "S", opts=mss), self.pkt(S, "SA", opts=mss),
                self.pkt(C, "A")]

    def talk(self, dialogue):
        out = []
        for i, (d, data) in enumerate(dialogue):
            out.append(self.pkt(d, "PA", data))
            # The last line is acknowledged alone; the others by the reply.
            if i == len(dialogue) - 1:
                out.append(self.pkt(1 - d, "A"))
        return out

    def close(self, first=C):
        return [self.pkt(first, "FA"), self.pkt(1 - first, "FA"),
                self.pkt(first, "A")]

    def session(self):
        return self.open() + self.talk(DIALOGUES[self.port[S]]) + self.close()


def eth(d, pkt, tags=()):
    src, dst = (MAC_C, MAC_S) if d == C else (MAC_S, MAC_C)
    frame = Ether(src=src, dst=dst)
    for t in tags:
        frame = frame / t
    return frame / pkt


def write(outdir, name, frames, snaplen=None, pad=False):
    """frames: packets, or (time in microseconds from T0, packet) pairs."""
    pc = Pcap(os.path.join(outdir, name + ".pcap"), snaplen)
    for f in frames:
        at = None
        if isinstance(f, tuple):
            at, f = f
        pc.add(f, snaplen=snaplen, pad=pad, at_us=at)
    pc.close()


# --- link layer -----------------------------------------------------------

def vlan_8021q():
    """One 802.1Q tag (VLAN 100, priority 3) on every frame."""
    t = Tcp(40001, 25, link=lambda d, p: eth(d, p, [Dot1Q(vlan=100, prio=3)]))
    return t.session()


def qinq():
    """802.1ad outer tag (S-VLAN 200) over an 802.1Q inner tag (C-VLAN 100)."""
    t = Tcp(40002, 143, link=lambda d, p: eth(d, p, [Dot1AD(vlan=200), Dot1Q(vlan=100)]))
    return t.session()


# --- IPv4 -----------------------------------------------------------------

def ipv4_options():
    """Client packets carry Router Alert + NOP + Record Route (IHL 9),
    server packets Record Route alone (IHL 8)."""
    def l3(d, seg):
        src, dst = t.addr(d)
        if d == C:
            opts = [IPOption_Router_Alert(), IPOption_NOP(),
                    IPOption_RR(routers=["0.0.0.0"] * 3)]
        else:
            opts = [IPOption_RR(routers=["192.0.2.1", "0.0.0.0"])]
        t.ipid[d] += 1
        return IP(src=src, dst=dst, id=t.ipid[d], options=opts) / seg
    t = Tcp(40003, 110, l3=l3)
    return t.session()


def fragments(t, d, data, first_len, frag):
    """Segment `data` from side d split in two IP fragments: the first
    carries the TCP header and first_len - 20 bytes of data."""
    whole = t.l3(d, t.tcp(d, "PA", data))
    return [t.link(d, p) for p in frag(whole, first_len)]


def ipv4_frag():
    """The client's EHLO is sent as two IPv4 fragments: a first fragment
    (offset 0, MF) with the TCP header, then a later one (offset 32)."""
    def frag(whole, n):
        raw = bytes(whole)
        ihl = (raw[0] & 0x0f) * 4
        l4 = raw[ihl:]
        ip = whole[IP]
        hdr = dict(src=ip.src, dst=ip.dst, id=ip.id, ttl=ip.ttl, proto=6)
        return [IP(flags="MF", frag=0, **hdr) / Raw(l4[:n]),
                IP(flags=0, frag=n // 8, **hdr) / Raw(l4[n:])]
    t = Tcp(40004, 25)
    out = t.open()
    dlg = DIALOGUES[25]
    out.append(t.pkt(S, "PA", dlg[0][1]))
    out += fragments(t, C, b"EHLO " + b"a" * 60 + b".example.org\r\n", 32, frag)
    out += t.talk(dlg[2:])
    return out + t.close()


# --- IPv6 -----------------------------------------------------------------

def ipv6_ext():
    """Client packets: hop-by-hop, destination options, routing (type 0,
    segments left 0) and an atomic fragment header (offset 0, M 0) before
    TCP, the order RFC 8200 recommends; server packets: hop-by-hop only."""
    def l3(d, seg):
        src, dst = t.addr(d)
        p = IPv6(src=src, dst=dst, hlim=64) / IPv6ExtHdrHopByHop()
        if d == C:
            t.ipid[d] += 1
            p = (p / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(type=0, segleft=0)
                 / IPv6ExtHdrFragment(offset=0, m=0, id=t.ipid[d]))
        return p / seg
    t = Tcp(40005, 143, v6=True, l3=l3)
    return t.session()


def ipv6_frag():
    """The client's EHLO is sent as two IPv6 fragments (fragment header
    offset 0 M 1, then offset 32 M 0)."""
    def frag(whole, n):
        raw = bytes(whole)
        l4 = raw[40:]
        t.ipid[C] += 1
        ip = whole[IPv6]
        hdr = dict(src=ip.src, dst=ip.dst, hlim=64)
        return [IPv6(**hdr) / IPv6ExtHdrFragment(nh=6, offset=0, m=1, id=t.ipid[C]) / Raw(l4[:n]),
                IPv6(**hdr) / IPv6ExtHdrFragment(nh=6, offset=n // 8, m=0, id=t.ipid[C]) / Raw(l4[n:])]
    t = Tcp(40006, 25, v6=True)
    out = t.open()
    dlg = DIALOGUES[25]
    out.append(t.pkt(S, "PA", dlg[0][1]))
    out += fragments(t, C, b"EHLO " + b"b" * 60 + b".example.org\r\n", 32, frag)
    out += t.talk(dlg[2:])
    return out + t.close()


# --- tunnels --------------------------------------------------------------

def outer_ip(d, proto_payload, fixed=False):
    """Outer Ethernet + IPv4 between the tunnel endpoints. A mirror session
    (fixed=True) always goes from A to B; a tunnel follows the traffic."""
    if fixed or d == C:
        return Ether(src=MAC_TUN_A, dst=MAC_TUN_B) / IP(src=TUN_A, dst=TUN_B, id=7, ttl=63) / proto_payload
    return Ether(src=MAC_TUN_B, dst=MAC_TUN_A) / IP(src=TUN_B, dst=TUN_A, id=7, ttl=63) / proto_payload


def gre_ip():
    """IPv4 in GRE with a key (42): the key becomes the flow's tunnel_id."""
    t = Tcp(40007, 25, link=lambda d, p: outer_ip(d, GRE(key_present=1, key=42, proto=0x0800) / p))
    return t.session()


def gre_teb():
    """Transparent Ethernet bridging: a whole Ethernet frame in GRE (0x6558)."""
    t = Tcp(40008, 143, link=lambda d, p: outer_ip(d, GRE(proto=0x6558) / eth(d, p)))
    return t.session()


def erspan_ii_header(session, index, vlan=0):
    # Ver 1 | VLAN; COS 0 | En 3 (tags kept) | T 0 | session id; index.
    return struct.pack(">HHI", (1 << 12) | vlan, (3 << 11) | session, index & 0xfffff)


def erspan2():
    """ERSPAN type II (GRE 0x88be with a sequence number), session 7. The
    mirror session travels on VLAN 300; the mirrored frames carry their own
    802.1Q tag (VLAN 10), which is the one the flow must report."""
    seq = [0]

    def link(d, p):
        seq[0] += 1
        inner = eth(d, p, [Dot1Q(vlan=10)])
        gre = GRE(seqnum_present=1, sequence_number=seq[0], proto=0x88be)
        outer = (Ether(src=MAC_TUN_A, dst=MAC_TUN_B) / Dot1Q(vlan=300)
                 / IP(src=TUN_A, dst=TUN_B, id=7, ttl=63))
        return outer / gre / Raw(erspan_ii_header(7, seq[0])) / inner
    t = Tcp(40009, 25, link=link)
    return t.session()


def erspan_iii_header(session, timestamp, hwid=1):
    # Ver 2 | VLAN 0; COS 0 | BSO 0 | T 0 | session id; timestamp; SGT 0;
    # P 0 | FT 0 (Ethernet) | HW ID | D 0 | Gra 3 | O 1 (sub-header follows).
    w = (0 << 15) | (0 << 10) | (hwid << 4) | (0 << 3) | (3 << 1) | 1
    hdr = struct.pack(">HHIHH", 2 << 12, session, timestamp, 0, w)
    # Platform-specific sub-header, platform id 3: port id 5, timestamp high.
    sub = struct.pack(">II", (3 << 26) | 5, 0)
    return hdr + sub


def erspan3():
    """ERSPAN type III (GRE 0x22eb with a sequence number), session 9, with
    the optional 8-byte platform-specific sub-header (O bit set)."""
    seq = [0]

    def link(d, p):
        seq[0] += 1
        gre = GRE(seqnum_present=1, sequence_number=seq[0], proto=0x22eb)
        return outer_ip(d, gre / Raw(erspan_iii_header(9, 1000 * seq[0])) / eth(d, p), fixed=True)
    t = Tcp(40010, 110, link=link)
    return t.session()


def vxlan():
    """VXLAN (UDP 4789), VNI 5001. As real VTEPs do, the outer UDP source
    port is fixed per direction (a hash of the inner flow)."""
    def link(d, p):
        sport = 49200 if d == C else 49201
        return outer_ip(d, UDP(sport=sport, dport=4789) / VXLAN(flags=0x08, vni=5001) / eth(d, p))
    t = Tcp(40011, 25, link=link)
    return t.session()


# --- TCP ------------------------------------------------------------------

def tcp_reassembly():
    """Client data sent out of order, with a retransmission, an overlap and
    a lost segment:
        [0,10) [20,30) [10,20) [0,10) again [30,40) [35,45) (5 new bytes)
        [50,58) ... [45,50) never seen; the server acknowledges 58, so
        reassembly declares a 5-byte gap toward the server."""
    data = b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
    assert len(data) == 58
    t = Tcp(40012, 25)
    out = t.open()
    out.append(t.pkt(S, "PA", b"220 mx.example.org ESMTP\r\n"))
    base = t.nxt[C]

    def piece(a, b):
        return t.pkt(C, "PA", data[a:b], seq=base + a - t.nxt[C], advance=False)
    for a, b in [(0, 10), (20, 30), (10, 20), (0, 10), (30, 40), (35, 45), (50, 58)]:
        out.append(piece(a, b))
    t.nxt[C] = base + len(data)
    out += t.talk([(S, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
                   (C, b"QUIT\r\n"), (S, b"221 2.0.0 Bye\r\n")])
    return out + t.close()


def midstream():
    """Two connections picked up without their handshake. The first, an
    IMAP session, is first seen from the server (port 143): the flow must
    still name the client as src. The second is on no analysed port
    (5000 <-> 50000): the higher port is taken as the client."""
    t = Tcp(40013, 143)
    out = [t.pkt(S, "PA", b"a1 OK CAPABILITY completed\r\n"),
           t.pkt(C, "PA", b"a2 LOGOUT\r\n"),
           t.pkt(S, "PA", b"* BYE logging out\r\na2 OK done\r\n"),
           t.pkt(C, "A")]
    out += t.close(first=S)
    u = Tcp(50000, 5000, isn_c=3000000, isn_s=4000000)
    out += [u.pkt(S, "PA", b"status: ready\n"), u.pkt(C, "PA", b"bye\n"),
            u.pkt(S, "A")]
    return out


def one_sided():
    """Asymmetric routing: only the client -> server half of an SMTP
    session is on this link (SYN, ACK, data, FIN; never a server packet).
    Frames are padded to 60 bytes as on a wire."""
    t = Tcp(40014, 25)
    out = [t.pkt(C, "S", opts=[("MSS", 1460)])]
    t.nxt[S] += 1  # the unseen SYN/ACK
    out.append(t.pkt(C, "A"))
    # The server's unseen banner (26 bytes) moves its sequence number.
    t.nxt[S] += 26
    out.append(t.pkt(C, "PA", b"EHLO client.example.org\r\n"))
    t.nxt[S] += 36
    # Typed by hand: the line end comes in a segment of its own, a frame
    # short enough to carry Ethernet padding that is not payload.
    out.append(t.pkt(C, "PA", b"QUIT"))
    out.append(t.pkt(C, "PA", b"\r\n"))
    t.nxt[S] += 15
    out.append(t.pkt(C, "FA"))
    t.nxt[S] += 1
    out.append(t.pkt(C, "A"))
    return out


# --- malformed frames ----------------------------------------------------

def malformed():
    """A normal SMTP session with malformed frames between its packets,
    each on its own 5-tuple: IPv4 header cut short, IPv4 IHL 4, TCP data
    offset 3, and an IPv6 packet whose extension chain (9 destination
    options headers before TCP) is longer than mailtapd walks (8). None of
    them may create a flow or disturb the session's flow."""
    t = Tcp(40015, 25)
    good = t.session()

    def bad_tcp(port):
        return (Ether(src=MAC_C, dst=MAC_S) /
                IP(src=V4_C, dst=V4_S, id=900 + port % 100) /
                TCP(sport=port, dport=25, seq=1, flags="S", window=65535))

    trunc_ip = bytes(bad_tcp(41001))[:14 + 12]          # 12 of 20 header bytes
    bad_ihl = bytearray(bytes(bad_tcp(41002)))
    bad_ihl[14] = 0x44                                  # IHL 4 = 16 bytes
    bad_doff = bytearray(bytes(bad_tcp(41003)))
    bad_doff[14 + 20 + 12] = 0x30                       # data offset 3 = 12 bytes
    chain = IPv6(src=V6_C, dst=V6_S, hlim=64)
    for _ in range(9):
        chain = chain / IPv6ExtHdrDestOpt()
    long_chain = (Ether(src=MAC_C, dst=MAC_S) / chain /
                  TCP(sport=41004, dport=25, seq=1, flags="S", window=65535))
    bad = [Raw(trunc_ip), Raw(bytes(bad_ihl)), Raw(bytes(bad_doff)), long_chain]
    out = []
    for i, f in enumerate(good):
        out.append(f)
        if i % 3 == 2 and bad:
            out.append(bad.pop(0))
    return out + bad


def snaplen():
    """A POP3 session captured with a 64-byte snap length: the frames with
    payload beyond it are cut (caplen < wire length) and their data is lost
    to reassembly. Flow bytes must still be wire lengths."""
    t = Tcp(40016, 110)
    return t.session()


# --- flow table: timeouts and eviction -----------------------------------

SEC = 1000000


def dns(cport, qid, answer=False):
    """An MX lookup (client port cport -> 53) or its answer, as an MTA
    makes before it delivers."""
    q = DNSQR(qname="example.org", qtype="MX")
    if answer:
        body = DNS(id=qid, qr=1, rd=1, ra=1, qd=q,
                   an=DNSRRMX(rrname="example.org", type="MX", ttl=300, preference=10,
                              exchange="mx.example.org"))
        return (Ether(src=MAC_S, dst=MAC_C) / IP(src=V4_S, dst=V4_C, id=qid)
                / UDP(sport=53, dport=cport) / body)
    return (Ether(src=MAC_C, dst=MAC_S) / IP(src=V4_C, dst=V4_S, id=qid)
            / UDP(sport=cport, dport=53) / DNS(id=qid, rd=1, qd=q))


def flow_timeouts():
    """Timeouts on packet time (defaults: closed 5 s, UDP 60 s).
        t=0     lookup A (port 5001) ... answer at t=2
        t=5     lookup B (5002), answered at once
        t=10    an SMTP session, closed by FIN at t=10.011
        t=61    lookup C (5003): the SMTP flow (closed for 50 s) ends now,
                reason fin; A (idle 59 s) must not end yet
        t=63.5  a new lookup on A's ports: A has been idle 61.5 s > 60 s, so
                A ends (reason timeout, 2 packets) and this starts a new flow
    At the end of the capture B, C and the new A end, oldest first."""
    out = [(0, dns(5001, 1)), (2 * SEC, dns(5001, 1, answer=True)),
           (5 * SEC, dns(5002, 2)), (5 * SEC + 1000, dns(5002, 2, answer=True))]
    t = Tcp(40017, 25)
    out += [(10 * SEC + i * STEP_US, f) for i, f in enumerate(t.session())]
    out += [(61 * SEC, dns(5003, 3)), (61 * SEC + 1000, dns(5003, 3, answer=True)),
            (63 * SEC + SEC // 2, dns(5001, 4)),
            (63 * SEC + SEC // 2 + 1000, dns(5001, 4, answer=True))]
    return out


def flow_evict():
    """Eviction with a two-flow table (flow_evict.conf: [flow] capacity 2).
    Lookup A (5001) at t=0, answered at t=2; lookup B (5002) at t=5; lookup
    C (5003) at t=6 finds the table full: A, idle for 4 s, is the flow idle
    the longest and must be the one evicted, not B (idle 1 s)."""
    return [(0, dns(5001, 1)), (2 * SEC, dns(5001, 1, answer=True)),
            (5 * SEC, dns(5002, 2)), (6 * SEC, dns(5003, 3)),
            (6 * SEC + SEC // 2, dns(5002, 2, answer=True)),
            (6 * SEC + SEC // 2 + 1000, dns(5003, 3, answer=True))]


# Configurations some captures are replayed with (NAME.conf beside NAME.pcap;
# the tests pass it to mailtapd with -c).
CONFIGS = {
    "flow_evict": "# Written by make_synthetic.py: a table of two flows, so the\n"
                  "# third lookup must evict the flow idle the longest.\n"
                  "[flow]\ncapacity = 2\n",
}


# name, builder, snap length, pad to ETH_MIN (as a tap on a wire shows it)
CAPTURES = [
    ("vlan_8021q", vlan_8021q, None, True),
    ("qinq", qinq, None, True),
    ("ipv4_options", ipv4_options, None, False),
    ("ipv4_frag", ipv4_frag, None, False),
    ("ipv6_ext", ipv6_ext, None, False),
    ("ipv6_frag", ipv6_frag, None, False),
    ("gre_ip", gre_ip, None, False),
    ("gre_teb", gre_teb, None, False),
    ("erspan2", erspan2, None, False),
    ("erspan3", erspan3, None, False),
    ("vxlan", vxlan, None, False),
    ("tcp_reassembly", tcp_reassembly, None, True),
    ("midstream", midstream, None, True),
    ("one_sided", one_sided, None, True),
    ("malformed", malformed, None, False),
    ("snaplen", snaplen, 64, False),
    ("flow_timeouts", flow_timeouts, None, False),
    ("flow_evict", flow_evict, None, False),
]


def main(argv):
    outdir = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "synthetic")
    os.makedirs(outdir, exist_ok=True)
    for name, build, snap, pad in CAPTURES:
        write(outdir, name, build(), snaplen=snap, pad=pad)
        print("make_synthetic: wrote %s.pcap" % os.path.join(outdir, name))
        if name in CONFIGS:
            with open(os.path.join(outdir, name + ".conf"), "w") as f:
                f.write(CONFIGS[name])
            print("make_synthetic: wrote %s.conf" % os.path.join(outdir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
