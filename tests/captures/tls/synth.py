# SPDX-License-Identifier: BSD-3-Clause
"""Writes the two synthetic TLS captures that no program on this machine
can produce (OpenSSL neither sends GREASE nor, by default, makes a
HelloRetryRequest that we can pin down), as real Ethernet/IPv4/TCP pcaps so
tshark dissects them like any capture (ref.sh):

  grease_hello.pcap  a Chrome-shaped ClientHello with GREASE in the cipher
                     suites, extensions, supported_groups, key_share,
                     supported_versions and signature_algorithms. Its
                     non-GREASE ciphers, extensions and signature
                     algorithms are those of the example in FoxIO's JA4.md,
                     so its JA4 must be the documented
                     t13d1516h2_8daaf6152771_e5627efa2ab1. A TLS 1.3
                     ServerHello, CCS and one encrypted record answer it.
  hrr.pcap           TLS 1.3 with a HelloRetryRequest: ClientHello,
                     HRR + CCS, CCS + second ClientHello, ServerHello +
                     encrypted records.

Deterministic (no randomness): re-running it rewrites identical files.
usage: synth.py [OUTPUT_DIR]
"""
import os
import struct
import sys

CLIENT = (bytes([192, 0, 2, 1]), 40000)
SERVER = (bytes([192, 0, 2, 25]), 443)
HRR_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def u8(v):
    return struct.pack("!B", v)


def u16(v):
    return struct.pack("!H", v)


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def u16s(vals):
    return b"".join(u16(v) for v in vals)


def ext(t, body):
    return u16(t) + vec16(body)


def handshake(t, body):
    return u8(t) + struct.pack("!I", len(body))[1:] + body


def record(t, body, ver=0x0303):
    return u8(t) + u16(ver) + vec16(body)


def fill(seed, n):
    return bytes((seed + 7 * i) & 0xFF for i in range(n))


def client_hello(exts, ciphers, sid):
    body = u16(0x0303) + fill(1, 32) + vec8(sid) + vec16(u16s(ciphers)) + vec8(b"\x00")
    return handshake(1, body + vec16(b"".join(exts)))


def server_hello(random, sid, cipher, exts):
    body = u16(0x0303) + random + vec8(sid) + u16(cipher) + u8(0)
    return handshake(2, body + vec16(b"".join(exts)))


def grease_flow():
    sid = fill(0x40, 32)
    ciphers = [0x0A0A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030,
               0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    sni = b"mail.example.test"
    exts = [
        ext(0x2A2A, b""),
        ext(0x0000, vec16(u8(0) + vec16(sni))),
        ext(0x0017, b""),
        ext(0xFF01, b"\x00"),
        ext(0x000A, vec16(u16s([0x3A3A, 0x001D, 0x0017, 0x0018]))),
        ext(0x000B, vec8(b"\x00")),
        ext(0x0023, b""),
        ext(0x0010, vec16(vec8(b"h2") + vec8(b"http/1.1"))),
        ext(0x0005, b"\x01\x00\x00\x00\x00"),
        ext(0x000D, vec16(u16s([0x4A4A, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                0x0501, 0x0806, 0x0601]))),
        ext(0x0012, b""),
        ext(0x0033, vec16(u16(0x5A5A) + vec16(b"\x00") + u16(0x001D) + vec16(fill(9, 32)))),
        ext(0x002D, vec8(b"\x01")),
        ext(0x002B, vec8(u16s([0x6A6A, 0x0304, 0x0303]))),
        ext(0x001B, vec8(u16(0x0002))),
        ext(0x4469, vec16(vec8(b"h2"))),
        ext(0xFAFA, b"\x00"),
        ext(0x0015, bytes(40)),
    ]
    ch = record(0x16, client_hello(exts, ciphers, sid), 0x0301)
    sh = server_hello(fill(3, 32), sid, 0x1301,
                      [ext(0x002B, u16(0x0304)),
                       ext(0x0033, u16(0x001D) + vec16(fill(5, 32)))])
    s = record(0x16, sh) + record(0x14, b"\x01") + record(0x17, fill(11, 90))
    c = record(0x14, b"\x01") + record(0x17, fill(13, 60))
    return [(0, ch), (1, s), (0, c)]


def hrr_flow():
    sid = fill(0x50, 32)
    ciphers = [0x1302, 0x1303, 0x1301, 0x00FF]
    common = [
        ext(0x0000, vec16(u8(0) + vec16(b"imap.example.test"))),
        ext(0x000A, vec16(u16s([0x001D, 0x0017]))),
        ext(0x000D, vec16(u16s([0x0403, 0x0804, 0x0401]))),
        ext(0x002B, vec8(u16s([0x0304]))),
    ]
    ch1 = client_hello(common + [ext(0x0033, vec16(u16(0x001D) + vec16(fill(21, 32))))],
                       ciphers, sid)
    ch2 = client_hello(common + [ext(0x0033, vec16(u16(0x0017) + vec16(fill(22, 65))))],
                       ciphers, sid)
    hrr = server_hello(HRR_RANDOM, sid, 0x1302,
                       [ext(0x002B, u16(0x0304)), ext(0x0033, u16(0x0017))])
    sh = server_hello(fill(4, 32), sid, 0x1302,
                      [ext(0x002B, u16(0x0304)),
                       ext(0x0033, u16(0x0017) + vec16(fill(6, 65)))])
    return [
        (0, record(0x16, ch1, 0x0301)),
        (1, record(0x16, hrr) + record(0x14, b"\x01")),
        (0, record(0x14, b"\x01") + record(0x16, ch2)),
        (1, record(0x16, sh) + record(0x17, fill(12, 120))),
        (0, record(0x17, fill(14, 40))),
    ]


def csum(b):
    if len(b) & 1:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src[0] + dst[0] + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + u16(csum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000,
                     64, 6, 0, src[0], dst[0])
    ip = ip[:10] + u16(csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    return eth + ip + tcp + payload


def write(path, flow):
    seq = [1000, 5000]
    t = 1714557600
    frames = []
    ends = [(CLIENT, SERVER), (SERVER, CLIENT)]
    frames.append(frame(CLIENT, SERVER, seq[0] - 1, 0, 0x02, b""))
    frames.append(frame(SERVER, CLIENT, seq[1] - 1, seq[0], 0x12, b""))
    frames.append(frame(CLIENT, SERVER, seq[0], seq[1], 0x10, b""))
    for d, data in flow:
        src, dst = ends[d]
        frames.append(frame(src, dst, seq[d], seq[1 - d], 0x18, data))
        seq[d] += len(data)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", t, i * 1000, len(fr), len(fr)))
            f.write(fr)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    write(os.path.join(out, "grease_hello.pcap"), grease_flow())
    write(os.path.join(out, "hrr.pcap"), hrr_flow())


if __name__ == "__main__":
    main()
