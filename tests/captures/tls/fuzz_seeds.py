# SPDX-License-Identifier: BSD-3-Clause
"""Turns the TLS captures beside this file into seeds for fuzz_tls in the
chunked format of tests/fuzz/app_fuzz.h: each chunk is one control byte
(bit 7: direction, 1 = server to client; bits 0-6: length, at most 126,
since 127 announces a gap) and its bytes. Per capture, one seed with the
segments as captured (cut to the limit) and, when shorter, one with only
the handshake (the segments up to the first application data), plus one seed for a gap
in the middle of a ClientHello.

usage: fuzz_seeds.py [CORPUS_DIR]   (default tests/fuzz/corpus/fuzz_tls)
"""
import glob
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SEED = 16384


def segments(path, server_ports=(25, 443, 465, 993, 995)):
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:]
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:tot - ihl]
        if not payload:
            continue
        dport = struct.unpack("!H", tcp[2:4])[0]
        out.append((0 if dport in server_ports else 1, payload))
    return out


def chunked(segs):
    out = bytearray()
    for d, p in segs:
        for i in range(0, len(p), 126):
            c = p[i:i + 126]
            out += bytes([(d << 7) | len(c)]) + c
    return bytes(out[:MAX_SEED])


def handshake_only(segs):
    res = []
    for d, p in segs:
        res.append((d, p))
        if p[:1] == b"\x17":
            break
    return res


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "..", "..", "fuzz", "corpus", "fuzz_tls")
    os.makedirs(out, exist_ok=True)
    for cap in sorted(glob.glob(os.path.join(HERE, "*.pcap"))):
        name = os.path.basename(cap)[:-5]
        segs = segments(cap)
        if name == "smtp_starttls":
            # Only the TLS part: the analyzer is not the SMTP one.
            c = [i for i, (d, p) in enumerate(segs) if d == 0 and p[:1] == b"\x16"][0]
            segs = segs[c:]
        with open(os.path.join(out, name + "-all"), "wb") as f:
            f.write(chunked(segs))
        hs = handshake_only(segs)
        if hs != segs:
            with open(os.path.join(out, name + "-hs"), "wb") as f:
                f.write(chunked(hs))
        if name == "https_tls12":
            ch = segs[0][1]
            seed = chunked([(0, ch[:100])]) + bytes([0x7F, 49]) + \
                chunked([(0, ch[150:])] + segs[1:3])
            with open(os.path.join(out, name + "-gap"), "wb") as f:
                f.write(seed)


if __name__ == "__main__":
    main()
