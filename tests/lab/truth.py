# SPDX-License-Identifier: BSD-3-Clause
"""Writes NAME.truth.json: the ground truth of one lab capture.

    truth.py versions                          software versions as JSON
    truth.py CONFIG.json NAME PCAP CLIENT.json VERSIONS.json OUT.truth.json

Merges what lab.sh set up (addresses, software versions), what the client
side did and saw (CLIENT.json from labclient.py) and what is in the pcap.
Each client session is matched to a TCP connection of the capture: the
n-th connection opened towards the server (first SYN, in capture order) is
the n-th session. The match must be exact (same server address and port,
same client port where the client knew it), or this script fails: a truth
file never describes a connection that is not in its capture.

Standard library only (its own small pcap reader; tshark is used by
check.sh, not here).
"""
import datetime
import hashlib
import json
import platform
import re
import socket
import struct
import subprocess
import sys

PURPOSE = {
    "smtp_submission": "Submission on 587 without TLS: EHLO, AUTH PLAIN (alice, success), MAIL FROM, "
                       "two RCPT TO, DATA with a small text body, QUIT. Credentials visible in cleartext.",
    "smtp_submission_starttls": "Submission on 587: EHLO, STARTTLS, then EHLO and AUTH LOGIN (alice) and "
                                "one message inside TLS. Only the greeting, first EHLO and STARTTLS are "
                                "cleartext.",
    "smtp_mx_attachment": "MX delivery on 25 from another MTA: three RCPT TO (one unknown user, 550), a "
                          "multipart/mixed message with a text part and a PNG attachment, RFC 2047 subject.",
    "smtp_auth_failures": "One submission session on 587 (cleartext): AUTH LOGIN wrong password, AUTH "
                          "PLAIN (no initial response) wrong password, AUTH PLAIN success, QUIT.",
    "imap_session": "IMAP on 143 (cleartext): CAPABILITY, LOGIN wrong then right, SELECT INBOX (3 messages), "
                    "FETCH 1:* (BODY.PEEK[]), STORE 2 +FLAGS (\\Deleted), EXPUNGE, LOGOUT.",
    "pop3_session": "POP3 on 110 (cleartext): CAPA, USER/PASS wrong then right, STAT, LIST, RETR of each "
                    "of 3 messages, DELE 1, QUIT.",
    "imaps_sni": "IMAPS on 993 (implicit TLS, SNI mail.example.test, Python ssl): LOGIN, SELECT, FETCH of "
                 "headers, LOGOUT, all inside TLS.",
    "pop3s_sni": "POP3S on 995 over IPv6 (implicit TLS, SNI mail.example.test, curl): login, LIST, RETR 1.",
    "smtps_sni": "SMTPS on 465 (implicit TLS 1.2, so the server certificate is visible; SNI "
                 "mail.example.test, curl): AUTH PLAIN and one message.",
    "imap_starttls": "IMAP on 143 over IPv6: STARTTLS (SNI mail.example.test), then LOGIN, SELECT, FETCH "
                     "inside TLS.",
    "imap_bruteforce": "Brute force: 15 failed IMAP LOGINs for one user (dave) from one source, one "
                       "connection each, then one successful login.",
    "smtp_spraying": "Password spraying: AUTH PLAIN with one password against 12 distinct user names, one "
                     "submission connection each, from one source; all fail.",
    "imap_stuffing": "Distributed guessing: one user (erin) fails IMAP LOGIN from 10 distinct source "
                     "addresses, then succeeds from the last of them.",
    "imap_mass_download": "Mailbox exfiltration over IMAP: one session SELECTs a 60-message INBOX and "
                          "fetches every message (UID FETCH n (BODY[]), one command per message).",
    "pop3_mass_download": "Mailbox exfiltration over POP3: one session RETRs all 60 messages.",
    "starttls_stripping": "STARTTLS stripping: a relay in front of the server rewrites STARTTLS to "
                          "XXXXXXXA in the EHLO reply; the client (swaks --tls-optional) then does AUTH "
                          "PLAIN and sends a message in cleartext.",
    "starttls_stripping_454": "STARTTLS downgrade: a relay in front of the server answers the client's "
                              "STARTTLS with 454; the client goes on with AUTH LOGIN and a message in "
                              "cleartext.",
    "smtp_exploit": "Hostile SMTP on 25: a command before the greeting, Exim-style ${run{...}} expansion "
                    "strings, over-long command lines (2000 and 4096 bytes) and NUL bytes in commands; "
                    "Postfix rejects or survives them all.",
}


def run(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=20).stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.SubprocessError):
        return None


def first(text, pattern=None):
    if not text:
        return None
    line = text.splitlines()[0]
    if pattern:
        m = re.search(pattern, text)
        return m.group(1) if m else line
    return line


def versions():
    pkgs = {}
    for p in ("postfix", "dovecot-core", "dovecot-imapd", "dovecot-pop3d", "swaks", "curl",
              "openssl", "tcpdump", "python3", "libnet-ssleay-perl"):
        pkgs[p] = run(["dpkg-query", "-W", "-f", "${Version}", p])
    return {
        "postfix": first(run(["postconf", "-d", "-h", "mail_version"])),
        "dovecot": first(run(["dovecot", "--version"])),
        "swaks": first(run(["swaks", "--version"]), r"swaks version (\S+)"),
        "python": first(run(["/usr/bin/python3", "--version"]), r"Python (\S+)"),
        "curl": first(run(["curl", "--version"])),
        "openssl": first(run(["openssl", "version"])),
        "tcpdump": first(run(["tcpdump", "--version"])),
        "kernel": platform.release(),
        "debian": first(run(["cat", "/etc/debian_version"])),
        "debian_packages": pkgs,
    }


# --- pcap ----------------------------------------------------------------------

def read_pcap(path):
    """Yields (ts, frame bytes) from a classic pcap file."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = hdr[:4]
        if magic == b"\xd4\xc3\xb2\xa1":
            endian, nano = "<", False
        elif magic == b"\xa1\xb2\xc3\xd4":
            endian, nano = ">", False
        elif magic == b"\x4d\x3c\xb2\xa1":
            endian, nano = "<", True
        else:
            raise ValueError("%s: not a classic pcap file" % path)
        linktype = struct.unpack(endian + "I", hdr[20:24])[0]
        if linktype != 1:
            raise ValueError("%s: link type %d, expected Ethernet" % (path, linktype))
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(endian + "IIII", rec)
            yield sec + frac / (1e9 if nano else 1e6), f.read(incl)


def tcp_of(frame):
    """(src, sport, dst, dport, flags, payload length) of a TCP frame, or None."""
    et = struct.unpack("!H", frame[12:14])[0]
    off = 14
    while et in (0x8100, 0x88A8):
        et = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if et == 0x0800:
        ihl = (frame[off] & 0x0F) * 4
        if frame[off + 9] != 6:
            return None
        total = struct.unpack("!H", frame[off + 2:off + 4])[0]
        src = socket.inet_ntop(socket.AF_INET, frame[off + 12:off + 16])
        dst = socket.inet_ntop(socket.AF_INET, frame[off + 16:off + 20])
        l4, end = off + ihl, off + total
    elif et == 0x86DD:
        if frame[off + 6] != 6:
            return None  # no extension headers in this lab
        plen = struct.unpack("!H", frame[off + 4:off + 6])[0]
        src = socket.inet_ntop(socket.AF_INET6, frame[off + 8:off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[off + 24:off + 40])
        l4, end = off + 40, off + 40 + plen
    else:
        return None
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    doff = (frame[l4 + 12] >> 4) * 4
    flags = frame[l4 + 13]
    return src, sport, dst, dport, flags, end - l4 - doff


def pcap_facts(path):
    conns = []          # in order of first SYN
    by_key = {}
    packets = 0
    ts0 = ts1 = None
    for ts, frame in read_pcap(path):
        packets += 1
        ts0 = ts if ts0 is None else ts0
        ts1 = ts
        t = tcp_of(frame)
        if not t:
            continue
        src, sport, dst, dport, flags, plen = t
        key = (src, sport, dst, dport)
        rkey = (dst, dport, src, sport)
        if flags & 0x12 == 0x02 and key not in by_key:
            c = {"client": (src, sport), "server": (dst, dport), "c2s": [0, 0], "s2c": [0, 0],
                 "rst": False, "fin": 0}
            conns.append(c)
            by_key[key] = (c, "c2s")
            by_key[rkey] = (c, "s2c")
        if key in by_key:
            c, d = by_key[key]
            c[d][0] += 1
            c[d][1] += plen
            c["rst"] = c["rst"] or bool(flags & 0x04)
            c["fin"] += 1 if flags & 0x01 else 0
    return {"packets": packets, "duration_s": round((ts1 or 0) - (ts0 or 0), 3)}, conns


def same_ip(a, b):
    return socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a) == \
        socket.inet_pton(socket.AF_INET6 if ":" in b else socket.AF_INET, b)


def summarize(sessions):
    attempts = [a for s in sessions for a in s.get("auth", [])]
    msgs = [t for s in sessions for t in s.get("transactions", []) if t.get("accepted")]
    fetched = 0
    for s in sessions:
        if "messages_fetched" in s:
            fetched += s["messages_fetched"]
        else:
            fetched += sum(f.get("messages", 0) for f in s.get("fetch", []))
        fetched += s.get("messages_retrieved", 0)
    return {
        "sessions": len(sessions),
        "client_addresses": sorted({s["client"]["ip"] for s in sessions}),
        "server_endpoints": sorted({"%s:%d" % (s["server"]["ip"], s["server"]["port"]) for s in sessions}),
        "auth_attempts": len(attempts),
        "auth_successes": sum(1 for a in attempts if a["result"] == "success"),
        "auth_failures": sum(1 for a in attempts if a["result"] == "failure"),
        "auth_cleartext": sum(1 for a in attempts if a["cleartext"]),
        "users_tried": sorted({a["user"] for a in attempts}),
        "messages_submitted": len(msgs),
        "messages_fetched_or_retrieved": fetched,
        "tls_sessions": sum(1 for s in sessions if s.get("tls") != "none"),
    }


def main():
    if sys.argv[1:] == ["versions"]:
        json.dump(versions(), sys.stdout, indent=1)
        return
    cfg_path, name, pcap, client_path, ver_path, out_path = sys.argv[1:7]
    cfg = json.load(open(cfg_path))
    client = json.load(open(client_path))
    sessions = client["sessions"]
    facts, conns = pcap_facts(pcap)
    if len(conns) != len(sessions):
        sys.exit("truth: %s: %d TCP connections in the capture, %d client sessions"
                 % (name, len(conns), len(sessions)))
    for i, (s, c) in enumerate(zip(sessions, conns)):
        sip, sport = c["server"]
        cip, cport = c["client"]
        if not same_ip(sip, s["server"]["ip"]) or sport != s["server"]["port"]:
            sys.exit("truth: %s: session %d is to %s:%d, connection %d to %s:%d"
                     % (name, i, s["server"]["ip"], s["server"]["port"], i, sip, sport))
        if s["client"]["port"] is not None and (s["client"]["port"] != cport or not same_ip(cip, s["client"]["ip"])):
            sys.exit("truth: %s: session %d from %s:%s, connection from %s:%d"
                     % (name, i, s["client"]["ip"], s["client"]["port"], cip, cport))
        if not same_ip(cip, s["client"]["ip"]):
            sys.exit("truth: %s: session %d expected from %s, connection from %s" % (name, i, s["client"]["ip"], cip))
        s["client"] = {"ip": cip, "port": cport}
        s["tcp"] = {"packets_c2s": c["c2s"][0], "packets_s2c": c["s2c"][0],
                    "payload_bytes_c2s": c["c2s"][1], "payload_bytes_s2c": c["s2c"][1],
                    "reset_seen": c["rst"]}
        s["index"] = i
    data = open(pcap, "rb").read()
    truth = {
        "capture": name + ".pcap",
        "scenario": name,
        "purpose": PURPOSE.get(name, ""),
        "made_by": "tests/lab/lab.sh (see tests/lab/README.md)",
        "made_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": json.load(open(ver_path)),
        "network": {
            "capture_point": "server side of the veth pair, inside the server network namespace; "
                             "both directions; GRO/GSO/TSO off, so every frame is a wire frame",
            "server": {"ipv4": cfg["srv4"], "ipv6": cfg["srv6"], "mac": cfg["srv_mac"],
                       "name": cfg["host"]},
            "client": {"ipv4": cfg["cli4"], "ipv6": cfg["cli6"], "mac": cfg["cli_mac"],
                       "extra_ipv4": cfg["extra4"]},
            "mitm_relay_ipv4": cfg["mitm4"],
            "tls_certificate": cfg.get("cert", {}),
        },
        "pcap": {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                 "linktype": "EN10MB", "tcp_connections": len(conns), **facts},
        "summary": summarize(sessions),
        "sessions": sessions,
    }
    with open(out_path, "w") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
