#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seeds for the analyzer fuzz targets, cut from the lab's real captures.

Each TCP session's payloads, in capture order, become one seed in the
chunked format of tests/fuzz/app_fuzz.h: a control byte (bit 7: 1 = server
to client; bits 0-6: chunk length, 1-126) then the bytes. Sessions go to
the target of their server port (25/587 smtp, 143 imap, 110 pop3,
465/993/995/443 tls). Re-runnable; writes tests/fuzz/corpus/fuzz_PROTO/lab-*.

Every capture also gives seeds to the packet-level targets: fuzz_decode
(a link-type byte, then one frame; each distinct frame shape once) and
fuzz_worker (the first frames as [2-byte length][time step][frame]...).

usage: make_seeds.py CAPTURE.pcap ...
"""
import hashlib
import os
import struct
import subprocess
import sys


def frames(pcap):
    """(linktype, frame) of a classic pcap file (what tcpdump and scapy write)."""
    with open(pcap, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        link = struct.unpack(endian + "I", hdr[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            _, _, caplen, _ = struct.unpack(endian + "IIII", rec)
            yield link, f.read(caplen)


def write(target, data):
    d = "tests/fuzz/corpus/" + target
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "cap-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def packet_seeds(pcap):
    links = {1: 0, 101: 1, 12: 1, 113: 2, 276: 3, 0: 4}  # fuzz_decode's link order
    seen = set()
    worker = bytearray()
    for i, (link, frame) in enumerate(frames(pcap)):
        shape = (link, len(frame) // 64, frame[12:14], frame[23:24])
        if link in links and shape not in seen:
            seen.add(shape)
            write("fuzz_decode", bytes([links[link]]) + frame)
        if link == 1 and i < 64:
            worker += struct.pack(">HB", len(frame), 1) + frame
    if worker:
        write("fuzz_worker", bytes(worker))

TARGETS = {25: "smtp", 587: "smtp", 2525: "smtp", 143: "imap", 110: "pop3",
           465: "tls", 993: "tls", 995: "tls", 443: "tls"}


def main():
    for pcap in sys.argv[1:]:
        packet_seeds(pcap)
        out = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", "tcp.len > 0", "-T", "fields",
                              "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport",
                              "-e", "tcp.payload"], check=True, capture_output=True,
                             text=True).stdout
        sessions = {}
        for line in out.splitlines():
            stream, sport, dport, payload = line.split("\t")
            sport, dport = int(sport), int(dport)
            server = dport if dport in TARGETS else sport
            if server not in TARGETS:
                continue
            s2c = 1 if sport == server else 0
            data = bytes.fromhex(payload)
            chunks = sessions.setdefault((stream, server), bytearray())
            for i in range(0, len(data), 126):
                part = data[i:i + 126]
                chunks.append(s2c << 7 | len(part))
                chunks += part
        for (stream, server), seed in sessions.items():
            d = "tests/fuzz/corpus/fuzz_%s" % TARGETS[server]
            os.makedirs(d, exist_ok=True)
            name = "lab-" + hashlib.sha1(seed).hexdigest()[:16]
            with open(os.path.join(d, name), "wb") as f:
                f.write(seed)


if __name__ == "__main__":
    main()
