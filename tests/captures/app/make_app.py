#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the protocol-recognition captures in tests/captures/app/.

Mail servers on ports that are not in the analyzer lists, greeting without
naming their protocol (Dovecot's "+OK Dovecot (Debian) ready.", "* OK
ready.", "220 mail.example.com ready"): mailtapd must hold the greeting
until the client's first command confirms the protocol, then analyse the
whole session from the greeting on, with the login and its outcome and no
"command before greeting" anomaly. not_mail.pcap has what must not be taken
for mail on such ports (FTP greets like SMTP), HTTP on the SMTP port (a
mail port speaking no mail protocol: app_proto "failed" and an
app_unknown_protocol anomaly) and TLS recognised by its ClientHello on an
unlisted port.

Built on make_synthetic.py's helpers (scapy; fixed addresses, sequence
numbers, IP ids and timestamps, so re-running rewrites identical files).
The TLS flow replays the TCP payloads of ../tls/https_tls12.pcap.

After changing this script: run it, regenerate each changed .json with
`build/mailtapd --read NAME.pcap --json NAME.json -q`, and check every
changed .json by hand before committing it.

usage: tests/captures/app/make_app.py [OUTDIR]   (default: this directory)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from scapy.all import TCP, rdpcap  # noqa: E402

from make_synthetic import C, S, Tcp, write  # noqa: E402


def session(cport, sport, dialogue):
    t = Tcp(cport, sport)
    return t.open() + t.talk(dialogue) + t.close()


def pop3_unusual_port():
    """POP3 on 1110: greeting without "POP3", CAPA, a failed and a good
    USER/PASS login, STAT, RETR of a two-line message, DELE, QUIT."""
    return session(40101, 1110, [
        (S, b"+OK Dovecot (Debian) ready.\r\n"),
        (C, b"CAPA\r\n"),
        (S, b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\n.\r\n"),
        (C, b"USER carol\r\n"),
        (S, b"+OK\r\n"),
        (C, b"PASS wrong\r\n"),
        (S, b"-ERR [AUTH] Authentication failed.\r\n"),
        (C, b"USER carol\r\n"),
        (S, b"+OK\r\n"),
        (C, b"PASS Carol.Singer42\r\n"),
        (S, b"+OK Logged in.\r\n"),
        (C, b"STAT\r\n"),
        (S, b"+OK 1 34\r\n"),
        (C, b"RETR 1\r\n"),
        (S, b"+OK 34 octets\r\nSubject: hello\r\n\r\nsee you at ten\r\n.\r\n"),
        (C, b"DELE 1\r\n"),
        (S, b"+OK Marked to be deleted.\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"+OK Logging out, messages deleted.\r\n"),
    ])


def imap_unusual_port():
    """IMAP on 1143: "* OK ready." names nothing; LOGIN, SELECT, a FETCH
    with a literal, LOGOUT."""
    return session(40102, 1143, [
        (S, b"* OK ready.\r\n"),
        (C, b"a1 LOGIN bob secret\r\n"),
        (S, b"a1 OK Logged in\r\n"),
        (C, b"a2 SELECT INBOX\r\n"),
        (S, b"* 1 EXISTS\r\n* 0 RECENT\r\na2 OK [READ-WRITE] Select completed.\r\n"),
        (C, b"a3 FETCH 1 BODY.PEEK[]\r\n"),
        (S, b"* 1 FETCH (BODY[] {19}\r\nSubject: hi\r\n\r\nyo\r\n)\r\na3 OK Fetch completed.\r\n"),
        (C, b"a4 LOGOUT\r\n"),
        (S, b"* BYE Logging out\r\na4 OK Logout completed.\r\n"),
    ])


def smtp_unusual_port():
    """SMTP on 2526: a multi-line greeting that never says SMTP, EHLO, AUTH
    PLAIN accepted, one message, QUIT."""
    return session(40103, 2526, [
        (S, b"220-mail.example.com\r\n220 mail.example.com ready\r\n"),
        (C, b"EHLO client.example.org\r\n"),
        (S, b"250-mail.example.com\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
        (C, b"AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n"),
        (S, b"235 2.7.0 Authentication successful\r\n"),
        (C, b"MAIL FROM:<bob@example.com>\r\n"),
        (S, b"250 2.1.0 Ok\r\n"),
        (C, b"RCPT TO:<alice@example.org>\r\n"),
        (S, b"250 2.1.5 Ok\r\n"),
        (C, b"DATA\r\n"),
        (S, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
        (C, b"From: bob@example.com\r\nTo: alice@example.org\r\nSubject: lunch\r\n\r\nnoon?\r\n.\r\n"),
        (S, b"250 2.0.0 Ok: queued as 4F1A2B\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 2.0.0 Bye\r\n"),
    ])


def tls_payloads():
    """The TCP payloads of ../tls/https_tls12.pcap, in order, by side."""
    out = []
    for p in rdpcap(os.path.join(os.path.dirname(HERE), "tls", "https_tls12.pcap")):
        if TCP in p and bytes(p[TCP].payload):
            out.append((C if p[TCP].dport == 443 else S, bytes(p[TCP].payload)))
    return out


def not_mail():
    """FTP on 2121 (its "220" is a candidate SMTP greeting until the client
    says USER), HTTP on the SMTP port 25, then TLS on 8443."""
    ftp = session(40104, 2121, [
        (S, b"220 ProFTPD Server (Debian) [192.0.2.25]\r\n"),
        (C, b"USER anonymous\r\n"),
        (S, b"331 Anonymous login ok, send your complete email address as your password\r\n"),
        (C, b"PASS guest@\r\n"),
        (S, b"230 Anonymous access granted, restrictions apply\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 Goodbye.\r\n"),
    ])
    http = session(40105, 25, [
        (C, b"GET / HTTP/1.1\r\nHost: mail.example.com\r\n\r\n"),
        (S, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    ])
    tls = session(40106, 8443, tls_payloads())
    return ftp + http + tls


CAPTURES = [
    ("pop3_unusual_port", pop3_unusual_port),
    ("imap_unusual_port", imap_unusual_port),
    ("smtp_unusual_port", smtp_unusual_port),
    ("not_mail", not_mail),
]


def main(argv):
    outdir = argv[1] if len(argv) > 1 else HERE
    os.makedirs(outdir, exist_ok=True)
    for name, build in CAPTURES:
        write(outdir, name, build())
        print("make_app: wrote %s.pcap" % os.path.join(outdir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
