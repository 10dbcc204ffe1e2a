# SPDX-License-Identifier: BSD-3-Clause
"""Checks the lab captures against their truth files, with tshark.

    python3 tests/lab/check.py [DIR]        (default: tests/captures/lab)

For every DIR/NAME.pcap with a NAME.truth.json, independently of the code
that wrote them:
  - the pcap is at most 200 KiB, tshark reads as many frames and TCP
    conversations (-z conv,tcp) as the truth file says, and every IPv4 and
    TCP checksum is right (no offload artefacts);
  - tshark's SMTP, IMAP and POP dissectors see exactly the cleartext
    credential commands the truth file lists (smtp.req.command == "AUTH",
    imap.request contains "LOGIN", pop.request.command == "PASS"), and none
    of the ones it marks as sent inside TLS;
  - every cleartext password is in the raw bytes (as text or base64), and
    no password sent inside TLS is;
  - the TLS ClientHellos carry the SNI names the truth file lists; their
    JA3 hashes are printed.
Prints one summary line per capture and exits non-zero on any mismatch.
Needs tshark; not root.
"""
import base64
import collections
import json
import os
import subprocess
import sys

MAX_BYTES = 200 * 1024


def tshark(pcap, *args):
    p = subprocess.run(["tshark", "-n", "-r", pcap] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=120)
    return p.stdout.decode("utf-8", "replace").splitlines()


def count(pcap, flt):
    return len(tshark(pcap, "-Y", flt))


def conversations(pcap):
    n = 0
    for line in tshark(pcap, "-q", "-z", "conv,tcp"):
        if "<->" in line:
            n += 1
    return n


def password_forms(a):
    pw = a["password"].encode()
    forms = [pw, base64.b64encode(pw)]
    if a["mechanism"] == "PLAIN":
        forms.append(base64.b64encode(b"\0" + a["user"].encode() + b"\0" + pw))
    return forms


def check(path_pcap, path_truth):
    errors = []
    t = json.load(open(path_truth))
    raw = open(path_pcap, "rb").read()
    name = t["scenario"]
    if len(raw) > MAX_BYTES:
        errors.append("%d bytes, over %d" % (len(raw), MAX_BYTES))
    frames = len(tshark(path_pcap))
    if frames != t["pcap"]["packets"]:
        errors.append("tshark reads %d frames, truth says %d" % (frames, t["pcap"]["packets"]))
    bad_sums = len(tshark(path_pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                          "-Y", "tcp.checksum.status == 0 or ip.checksum.status == 0"))
    if bad_sums:
        errors.append("%d frames with a wrong IP or TCP checksum (offload left on?)" % bad_sums)
    conv = conversations(path_pcap)
    if conv != t["pcap"]["tcp_connections"]:
        errors.append("tshark sees %d TCP conversations, truth says %d" % (conv, t["pcap"]["tcp_connections"]))

    want = collections.Counter()
    snis = collections.Counter()
    for s in t["sessions"]:
        if s.get("tls", "none") != "none":
            snis[s.get("sni") or ""] += 1
        for a in s["auth"]:
            if a["cleartext"]:
                want[s["protocol"]] += 1
            forms = password_forms(a)
            found = any(f in raw for f in forms)
            if a["cleartext"] and not found:
                errors.append("cleartext password of %s not in the capture" % a["user"])
            if not a["cleartext"] and found:
                errors.append("password of %s sent inside TLS is visible in the capture" % a["user"])
    got = {
        "smtp": count(path_pcap, 'smtp.req.command == "AUTH"'),
        "imap": count(path_pcap, 'imap.request contains "LOGIN"'),
        "pop3": count(path_pcap, 'pop.request.command == "PASS" or pop.request.command == "AUTH"'),
    }
    for proto in ("smtp", "imap", "pop3"):
        if got[proto] != want[proto]:
            errors.append("%s: tshark sees %d cleartext credential commands, truth says %d"
                          % (proto, got[proto], want[proto]))

    hellos = tshark(path_pcap, "-Y", "tls.handshake.type == 1", "-T", "fields",
                    "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ja3")
    seen = collections.Counter(h.split("\t")[0] for h in hellos)
    ja3 = sorted({h.split("\t")[1] for h in hellos if "\t" in h})
    if seen != snis:
        errors.append("ClientHello SNI %s, truth says %s" % (dict(seen), dict(snis)))

    proto_frames = {p: count(path_pcap, p) for p in ("smtp", "imap", "pop", "tls")}
    summ = t["summary"]
    line = ("%-26s %7d B %5d frames %3d conns  smtp/imap/pop/tls frames %d/%d/%d/%d  "
            "auth %d (ok %d, fail %d, clear %d)  msgs %d/%d  sni %s  ja3 %s" % (
                name, len(raw), frames, conv, proto_frames["smtp"], proto_frames["imap"],
                proto_frames["pop"], proto_frames["tls"], summ["auth_attempts"], summ["auth_successes"],
                summ["auth_failures"], summ["auth_cleartext"], summ["messages_submitted"],
                summ["messages_fetched_or_retrieved"], ",".join(sorted(k for k in seen if k)) or "-",
                ",".join(j[:8] for j in ja3) or "-"))
    return line, errors


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "captures", "lab")
    names = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".pcap"))
    if not names:
        sys.exit("check: no captures in %s" % d)
    bad = 0
    for n in names:
        pt = os.path.join(d, n + ".truth.json")
        if not os.path.exists(pt):
            print("FAIL %s: no truth file" % n)
            bad += 1
            continue
        line, errors = check(os.path.join(d, n + ".pcap"), pt)
        print(("FAIL " if errors else "ok   ") + line)
        for e in errors:
            print("       - " + e)
        bad += bool(errors)
    print("%d passed, %d failed" % (len(names) - bad, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
