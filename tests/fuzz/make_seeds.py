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

fuzz_mime gets every message a cleartext SMTP session carried: the
client's stream, reassembled by sequence number, from the first byte
after the server's 354 reply to DATA up to the terminating CRLF.CRLF
(dot-unstuffed, as the SMTP analyzer feeds the MIME parser), or the
chunks of BDAT ... LAST. The seed is fuzz_mime.c's two control bytes
(0x3f 0x00: 64-byte chunks, no gap) then the message.

--only TARGET[,TARGET...] writes only those corpora (smtp, imap, pop3,
tls, decode, worker, mime), e.g. to add the MIME seeds without touching
the others.

usage: make_seeds.py [--only TARGETS] CAPTURE.pcap ...
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


def packet_seeds(pcap, only=None):
    links = {1: 0, 101: 1, 12: 1, 113: 2, 276: 3, 0: 4}  # fuzz_decode's link order
    seen = set()
    worker = bytearray()
    for i, (link, frame) in enumerate(frames(pcap)):
        shape = (link, len(frame) // 64, frame[12:14], frame[23:24])
        if link in links and shape not in seen and (only is None or "decode" in only):
            seen.add(shape)
            write("fuzz_decode", bytes([links[link]]) + frame)
        if link == 1 and i < 64:
            worker += struct.pack(">HB", len(frame), 1) + frame
    if worker and (only is None or "worker" in only):
        write("fuzz_worker", bytes(worker))

TARGETS = {25: "smtp", 587: "smtp", 2525: "smtp", 143: "imap", 110: "pop3",
           465: "tls", 993: "tls", 995: "tls", 443: "tls"}


SMTP_PORTS = (25, 587, 2525)


def write_mime(msg):
    d = "tests/fuzz/corpus/fuzz_mime"
    os.makedirs(d, exist_ok=True)
    seed = b"\x3f\x00" + msg
    with open(os.path.join(d, "lab-" + hashlib.sha1(seed).hexdigest()[:16]), "wb") as f:
        f.write(seed)


class SmtpMessages:
    """Follows one SMTP session's command stream and collects the messages
    it carries. Client bytes arrive in order (reassembled); server bytes
    only matter for the 354 that lets a DATA body start: a client sends no
    body before it, and after a refused DATA its next bytes are a command."""

    def __init__(self):
        self.state = "cmd"      # cmd, wait354, body, bdat, tls
        self.buf = b""          # client bytes not yet consumed
        self.sbuf = b""         # server bytes not yet split into lines
        self.got354 = False
        self.body = b""
        self.chunk_left = 0
        self.chunk_last = False
        self.messages = []

    def server(self, data):
        self.sbuf += data
        while b"\n" in self.sbuf:
            line, self.sbuf = self.sbuf.split(b"\n", 1)
            if self.state == "wait354" and line.startswith(b"354"):
                self.got354 = True

    def client(self, data):
        self.buf += data
        while self.buf and self.state != "tls":
            if self.state == "wait354":
                self.state = "body" if self.got354 else "cmd"
                self.body = b""
            if self.state == "body":
                end = (b"\r\n" + self.buf).find(b"\r\n.\r\n")
                if end < 0:
                    return
                # The message ends with its last line's CRLF; the "."
                # line after it is the terminator.
                lines = self.buf[:end - 2].split(b"\r\n") if end else []
                self.buf = self.buf[end + 3:]
                self.messages.append(b"".join((ln[1:] if ln.startswith(b".") else ln) + b"\r\n"
                                              for ln in lines))
                self.state = "cmd"
            elif self.state == "bdat":
                take = self.buf[:self.chunk_left]
                self.body += take
                self.buf = self.buf[len(take):]
                self.chunk_left -= len(take)
                if self.chunk_left:
                    return
                if self.chunk_last:
                    self.messages.append(self.body)
                    self.body = b""
                self.state = "cmd"
            else:
                if self.buf[:1] == b"\x16":
                    self.state = "tls"   # STARTTLS went through: the rest is encrypted
                    return
                if b"\n" not in self.buf:
                    return
                line, self.buf = self.buf.split(b"\n", 1)
                words = line.strip().split()
                verb = words[0].upper() if words else b""
                if verb == b"DATA" and len(words) == 1:
                    self.state, self.got354 = "wait354", False
                elif verb == b"BDAT" and len(words) >= 2 and words[1].isdigit():
                    self.chunk_left = int(words[1])
                    self.chunk_last = len(words) > 2 and words[2].upper() == b"LAST"
                    self.state = "bdat"


def mime_seeds(pcap):
    """Writes each message of the capture's cleartext SMTP sessions."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", "tcp.len > 0", "-T", "fields",
                          "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport",
                          "-e", "tcp.seq", "-e", "tcp.payload"], check=True,
                         capture_output=True, text=True).stdout
    sessions = {}
    for line in out.splitlines():
        stream, sport, dport, seq, payload = line.split("\t")
        sport, dport, seq = int(sport), int(dport), int(seq)
        if dport not in SMTP_PORTS and sport not in SMTP_PORTS:
            continue
        c2s = dport in SMTP_PORTS
        sess = sessions.setdefault(stream, {"smtp": SmtpMessages(), True: None, False: None})
        # In-order bytes only: a retransmission gives what is new in it, a
        # segment past a hole ends that direction (a gap, no clean seed).
        nxt = sess[c2s]
        data = bytes.fromhex(payload)
        if nxt is None:
            nxt = seq
        if nxt < 0 or seq > nxt:
            sess[c2s] = -1
            continue
        data = data[nxt - seq:]
        sess[c2s] = nxt + len(data)
        if data:
            (sess["smtp"].client if c2s else sess["smtp"].server)(data)
    for sess in sessions.values():
        for msg in sess["smtp"].messages:
            write_mime(msg)


def main():
    args = sys.argv[1:]
    only = None
    if args[:1] == ["--only"]:
        only = set(args[1].split(","))
        args = args[2:]
    for pcap in args:
        if only is None or "mime" in only:
            mime_seeds(pcap)
        if only is not None and not only & {"smtp", "imap", "pop3", "tls", "decode", "worker"}:
            continue
        packet_seeds(pcap, only)
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
            if only is not None and TARGETS[server] not in only:
                continue
            d = "tests/fuzz/corpus/fuzz_%s" % TARGETS[server]
            os.makedirs(d, exist_ok=True)
            name = "lab-" + hashlib.sha1(seed).hexdigest()[:16]
            with open(os.path.join(d, name), "wb") as f:
                f.write(seed)


if __name__ == "__main__":
    main()
