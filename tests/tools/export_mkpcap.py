#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a capture of N complete mail sessions, alternately SMTP (EHLO,
AUTH PLAIN, MAIL, RCPT, DATA, QUIT) and POP3 (USER/PASS, STAT, RETR,
QUIT), each a TCP connection from its own client port, for the export
tests that need many records of every priority class: `flow` (low),
`smtp`/`pop3` (normal), `auth` (high). Standard library only; checksums
are correct so other tools read it too.

usage: export_mkpcap.py OUT.pcap SESSIONS
"""
import struct
import sys

CLIENT = bytes([10, 9, 0, 2])
SERVER = bytes([10, 9, 0, 1])
T0 = 1_700_000_000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    return eth + ip + tcp + payload


def session(i):
    """Frames of one session as (offset_us, bytes)."""
    cp = 20000 + i
    port = 25 if i % 2 else 110
    c_isn, s_isn = 1000, 5000
    out = []
    t = 0

    def add(fr):
        nonlocal t
        out.append((t, fr))
        t += 100

    c_seq, s_seq = c_isn, s_isn
    add(frame(CLIENT, SERVER, cp, port, c_seq, 0, 0x02))
    add(frame(SERVER, CLIENT, port, cp, s_seq, c_seq + 1, 0x12))
    c_seq += 1
    s_seq += 1
    add(frame(CLIENT, SERVER, cp, port, c_seq, s_seq, 0x10))
    body = b"Subject: test %d\r\n\r\nhello\r\n" % i
    smtp = [
        (False, b"220 mx.example ESMTP\r\n"),
        (True, b"EHLO client%d.example\r\n" % i),
        (False, b"250-mx.example\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"),
        # AUTH PLAIN \0user<n>\0secret
        (True, b"AUTH PLAIN " + __import__("base64").b64encode(
            b"\0user%d\0secret" % (i % 50)) + b"\r\n"),
        (False, b"235 2.7.0 Authentication successful\r\n" if i % 3
         else b"535 5.7.8 Authentication failed\r\n"),
        (True, b"MAIL FROM:<user%d@example.org>\r\n" % (i % 50)),
        (False, b"250 2.1.0 Ok\r\n"),
        (True, b"RCPT TO:<rcpt%d@example.net>\r\n" % i),
        (False, b"250 2.1.5 Ok\r\n"),
        (True, b"DATA\r\n"),
        (False, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
        (True, body + b".\r\n"),
        (False, b"250 2.0.0 Ok: queued\r\n"),
        (True, b"QUIT\r\n"),
        (False, b"221 2.0.0 Bye\r\n"),
    ]
    pop3 = [
        (False, b"+OK POP3 ready\r\n"),
        (True, b"USER user%d\r\n" % (i % 50)),
        (False, b"+OK\r\n"),
        (True, b"PASS secret\r\n"),
        (False, b"+OK logged in\r\n" if i % 3 else b"-ERR [AUTH] Authentication failed.\r\n"),
        (True, b"STAT\r\n"),
        (False, b"+OK 1 %d\r\n" % len(body)),
        (True, b"RETR 1\r\n"),
        (False, b"+OK %d octets\r\n" % len(body) + body + b".\r\n"),
        (True, b"QUIT\r\n"),
        (False, b"+OK bye\r\n"),
    ]
    dialogue = smtp if port == 25 else pop3
    for from_client, data in dialogue:
        if from_client:
            add(frame(CLIENT, SERVER, cp, port, c_seq, s_seq, 0x18, data))
            c_seq += len(data)
            add(frame(SERVER, CLIENT, port, cp, s_seq, c_seq, 0x10))
        else:
            add(frame(SERVER, CLIENT, port, cp, s_seq, c_seq, 0x18, data))
            s_seq += len(data)
            add(frame(CLIENT, SERVER, cp, port, c_seq, s_seq, 0x10))
    add(frame(SERVER, CLIENT, port, cp, s_seq, c_seq, 0x11))
    s_seq += 1
    add(frame(CLIENT, SERVER, cp, port, c_seq, s_seq, 0x11))
    c_seq += 1
    add(frame(SERVER, CLIENT, port, cp, s_seq, c_seq, 0x10))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n = int(sys.argv[2])
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            base = i * 20_000  # sessions 20 ms apart, never overlapping
            for off, fr in session(i):
                us = base + off
                f.write(struct.pack("<IIII", T0 + us // 1_000_000, us % 1_000_000,
                                    len(fr), len(fr)))
                f.write(fr)


if __name__ == "__main__":
    main()
