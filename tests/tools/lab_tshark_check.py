#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Confirms mailtapd's protocol fields with tshark's own dissection.

For each capture: SMTP MAIL FROM / RCPT TO arguments (smtp.req.parameter),
IMAP LOGIN user names (imap.request), POP3 USER names (pop.request), TLS
SNI, JA3 and JA3S (tls.handshake.extensions_server_name, tls.handshake.ja3,
tls.handshake.ja3s) are read with tshark and compared, per client port, with the smtp, auth and
tls records mailtapd writes. Prints one line per capture; exits 1 on a
mismatch, or when tshark is missing.

usage: lab_tshark_check.py MAILTAPD CAPTURE.pcap [...]
"""
import base64
import binascii
import json
import shlex
import subprocess
import sys


def tshark(pcap, filt, *fields):
    cmd = ["tshark", "-n", "-r", pcap, "-Y", filt, "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def mailtap(mailtapd, pcap):
    out = subprocess.run([mailtapd, "--read", pcap, "--json", "-", "-q"], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def main():
    mailtapd = sys.argv[1]
    bad = 0
    for pcap in sys.argv[2:]:
        recs = mailtap(mailtapd, pcap)
        problems = []
        n = 0

        def rec(etype, port):
            return [r for r in recs if r["event_type"] == etype and r.get("src_port") == port]

        # SMTP envelope, in cleartext sessions.
        env = {}
        for port, cmd, param in tshark(pcap, "smtp.req.command", "tcp.srcport",
                                       "smtp.req.command", "smtp.req.parameter"):
            cmd = cmd.upper()
            # The address up to its closing bracket (it may hold spaces);
            # tshark stops at a NUL and mailtapd cuts lines at 512 bytes,
            # so only complete, ordinary-length addresses are compared.
            if cmd in ("MAIL", "RCPT"):
                arg = param.split(":", 1)[1] if ":" in param else ""
                addr = arg[:arg.find(">") + 1] if ">" in arg else ""
                if not addr or len(param) > 500:
                    env.setdefault(int(port), {"from": [], "rcpt": [], "skip": True})["skip"] = True
                    continue
                e = env.setdefault(int(port), {"from": [], "rcpt": [], "skip": False})
                e["from" if cmd == "MAIL" else "rcpt"].append(addr)
        for port, e in env.items():
            if e.get("skip"):
                continue
            got_from = [r["smtp"].get("mail_from") for r in rec("smtp", port)]
            got_rcpt = [x for r in rec("smtp", port) for x in r["smtp"].get("rcpt_to", [])]
            n += 1
            if got_from != e["from"] or got_rcpt != e["rcpt"]:
                problems.append("smtp %d: mailtapd %s -> %s, tshark %s -> %s"
                                % (port, got_from, got_rcpt, e["from"], e["rcpt"]))
        # IMAP LOGIN user names.
        users = {}
        for port, req in tshark(pcap, "imap.request", "tcp.srcport", "imap.request"):
            words = req.split(" ", 2)
            if len(words) == 3 and words[1].upper() == "LOGIN":
                try:
                    user = shlex.split(words[2])[0]
                except ValueError:
                    continue
                users.setdefault(int(port), []).append(user)
        # POP3 USER names.
        for port, cmd, param in tshark(pcap, "pop.request.command", "tcp.srcport",
                                       "pop.request.command", "pop.request.parameter"):
            if cmd.upper() == "USER":
                users.setdefault(int(port), []).append(param)
        checked = set()
        for port, want in users.items():
            checked.add(port)
            got = [r["auth"].get("user", "") for r in rec("auth", port)]
            n += 1
            if got != want:
                problems.append("auth %d: mailtapd %s, tshark %s" % (port, got, want))
        users = {}
        # SMTP AUTH user names tshark decodes: PLAIN's username_password
        # (base64 of authzid NUL user NUL password) and LOGIN's username.
        for port, up, un in tshark(pcap, "smtp.auth.username_password || smtp.auth.username",
                                   "tcp.srcport", "smtp.auth.username_password",
                                   "smtp.auth.username"):
            try:
                if up:
                    user = base64.b64decode(up).split(b"\0")[1].decode()
                else:
                    user = base64.b64decode(un).decode()
            except (binascii.Error, IndexError, UnicodeDecodeError):
                continue
            users.setdefault(int(port), []).append(user)
        for port, want in users.items():
            if port in checked:
                continue
            got = [r["auth"].get("user", "") for r in rec("auth", port)]
            n += 1
            if got != want:
                problems.append("auth %d: mailtapd %s, tshark %s" % (port, got, want))
        # TLS client hellos.
        for port, ja3, sni in tshark(pcap, "tls.handshake.type == 1", "tcp.srcport",
                                     "tls.handshake.ja3", "tls.handshake.extensions_server_name"):
            t = rec("tls", int(port))
            n += 1
            if len(t) != 1:
                problems.append("tls %s: %d tls records" % (port, len(t)))
            elif t[0]["tls"].get("ja3", {}).get("hash") != ja3 or t[0]["tls"].get("sni", "") != sni:
                problems.append("tls %s: mailtapd ja3 %s sni %s, tshark %s %s"
                                % (port, t[0]["tls"].get("ja3", {}).get("hash"),
                                   t[0]["tls"].get("sni"), ja3, sni))
        # TLS server hellos, by the client's port. A HelloRetryRequest is a
        # server hello too: every one on a connection must give the JA3S
        # mailtapd reports (tshark joins several in one frame with commas).
        for port, ja3s in tshark(pcap, "tls.handshake.type == 2", "tcp.dstport",
                                 "tls.handshake.ja3s"):
            for h in ja3s.split(","):
                t = rec("tls", int(port))
                n += 1
                got = t[0]["tls"].get("ja3s", {}).get("hash") if len(t) == 1 else None
                if len(t) != 1:
                    problems.append("tls %s: %d tls records for a server hello" % (port, len(t)))
                elif got != h:
                    problems.append("tls %s: mailtapd ja3s %s, tshark %s" % (port, got, h))
        name = pcap.rsplit("/", 1)[-1]
        if problems:
            bad += 1
            print("FAIL  %s" % name)
            for p in problems:
                print("      " + p)
        else:
            print("ok    %s: %d comparisons agree with tshark" % (name, n))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
