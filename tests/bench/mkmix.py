#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Builds the "real mail mix" for `make bench` from the lab captures.

    mkmix.py IN.pcap OUT.pcap [COPIES [SPACING_S]]

IN is every lab capture merged into one classic pcap (mergecap -F pcap).
OUT holds COPIES copies of it (default 64), copy i started SPACING_S
seconds (default 50) after copy i-1 and merged in time order, so copies
overlap as sessions on a busy segment do. Each copy's hosts are moved to
their own addresses (IPv4 A.B.C.D -> 10.i.C.D, IPv6 words 3 and 6 = i),
with the IPv4 header and TCP/UDP/ICMPv6 checksums recomputed, so that
every copy is a set of new flows to every program that reads the file.

Repeating the captures with the same addresses and ports would let a
program that keeps per-flow state across the whole file (ndpiReader does:
it saw 60 flows in 64 copies and ran its dissectors on the first copy
only) skip the work it does for a new session.
"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def l4_fix(seg, proto, pseudo):
    """Returns seg with its TCP (6), UDP (17) or ICMPv6 (58) checksum
    recomputed over the pseudo-header; other protocols unchanged."""
    off = {6: 16, 17: 6, 58: 2}.get(proto)
    if off is None or len(seg) < off + 2:
        return seg
    seg = bytearray(seg)
    seg[off:off + 2] = b'\0\0'
    c = csum(pseudo + bytes(seg))
    if proto == 17 and c == 0:
        c = 0xffff
    seg[off:off + 2] = struct.pack('!H', c)
    return bytes(seg)


def remap(frame, i):
    """Moves one Ethernet frame's IP addresses into copy i's space."""
    if len(frame) < 14:
        return frame
    et = struct.unpack('!H', frame[12:14])[0]
    l3 = 14
    if et == 0x0800 and len(frame) >= l3 + 20:
        ihl = (frame[l3] & 0x0f) * 4
        tot = struct.unpack('!H', frame[l3 + 2:l3 + 4])[0]
        if ihl < 20 or len(frame) < l3 + ihl:
            return frame
        h = bytearray(frame[l3:l3 + ihl])
        h[12], h[13] = 10, i
        h[16], h[17] = 10, i
        h[10:12] = b'\0\0'
        h[10:12] = struct.pack('!H', csum(bytes(h)))
        end = min(len(frame), l3 + tot) if tot >= ihl else len(frame)
        seg = frame[l3 + ihl:end]
        frag = struct.unpack('!H', h[6:8])[0] & 0x3fff
        if not frag and end == l3 + tot:
            pseudo = bytes(h[12:20]) + struct.pack('!BBH', 0, h[9], len(seg))
            seg = l4_fix(seg, h[9], pseudo)
        return frame[:l3] + bytes(h) + seg + frame[end:]
    if et == 0x86dd and len(frame) >= l3 + 40:
        h = bytearray(frame[l3:l3 + 40])
        for a in (8, 24):
            h[a + 6:a + 8] = struct.pack('!H', i)
            h[a + 12:a + 14] = struct.pack('!H', i)
        plen = struct.unpack('!H', h[4:6])[0]
        end = min(len(frame), l3 + 40 + plen)
        seg = frame[l3 + 40:end]
        if end == l3 + 40 + plen:
            pseudo = bytes(h[8:40]) + struct.pack('!IxxxB', len(seg), h[6])
            seg = l4_fix(seg, h[6], pseudo)
        return frame[:l3] + bytes(h) + seg + frame[end:]
    return frame


def main():
    src, dst = sys.argv[1], sys.argv[2]
    copies = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    spacing = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    d = open(src, 'rb').read()
    magic = struct.unpack('<I', d[:4])[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        sys.exit('%s: need a little-endian classic pcap (mergecap -F pcap)' % src)
    nano = magic == 0xa1b23c4d
    if struct.unpack('<I', d[20:24])[0] != 1:
        sys.exit('%s: not Ethernet' % src)
    scale = 1000000000 if nano else 1000000
    pkts = []
    off = 24
    while off + 16 <= len(d):
        s, f, incl, orig = struct.unpack('<IIII', d[off:off + 16])
        pkts.append((s * scale + f, orig, d[off + 16:off + 16 + incl]))
        off += 16 + incl
    out = []
    for i in range(copies):
        shift = i * spacing * scale
        for n, (t, orig, fr) in enumerate(pkts):
            out.append((t + shift, i, n, orig, remap(fr, i)))
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    w = [d[:24]]
    for t, _, _, orig, fr in out:
        w.append(struct.pack('<IIII', t // scale, t % scale, len(fr), orig) + fr)
    open(dst, 'wb').write(b''.join(w))


if __name__ == '__main__':
    main()
