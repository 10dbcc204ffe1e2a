#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Small, bounded peers for tests/captures/make_real.sh.

The lab script runs curl (a real SMTP client) against `smtp-server`, and
these peers for the sessions curl cannot make: a POP3 client that aborts
with a RST (SO_LINGER 0) and a UDP request/response exchange. Each peer
serves a fixed number of sessions and exits by itself, and every socket
call has a timeout, so a stuck lab never hangs the script. Standard library
only: they must run wherever python3 does.

usage: lab_peer.py smtp-server ADDR PORT SESSIONS
       lab_peer.py pop3-server ADDR PORT SESSIONS
       lab_peer.py pop3-rst-client ADDR PORT
       lab_peer.py udp-server ADDR PORT REQUESTS
       lab_peer.py udp-client ADDR PORT REQUESTS
"""
import socket
import sys

TIMEOUT = 10.0


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listener(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(TIMEOUT)
    s.bind((addr, port))
    s.listen(4)
    return s


class Lines:
    """Whole CRLF lines from a socket, with a cap on what it buffers."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("line too long")
            chunk = self.conn.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")


def smtp_session(conn):
    """Enough of RFC 5321 for curl: EHLO, MAIL, RCPT, DATA, QUIT."""
    rd = Lines(conn)
    conn.sendall(b"220 mx.lab.example ESMTP mailtap-lab\r\n")
    while True:
        line = rd.readline()
        if line is None:
            return
        verb = line.split(b" ", 1)[0].upper()
        if verb == b"EHLO":
            conn.sendall(b"250-mx.lab.example\r\n250-SIZE 1048576\r\n"
                         b"250 8BITMIME\r\n")
        elif verb == b"HELO":
            conn.sendall(b"250 mx.lab.example\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            conn.sendall(b"250 2.0.0 Ok\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            while True:
                body = rd.readline()
                if body is None:
                    return
                if body == b".":
                    break
            conn.sendall(b"250 2.0.0 Ok: queued as LAB1\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 2.0.0 Bye\r\n")
            return
        else:
            conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")


def pop3_session(conn):
    rd = Lines(conn)
    conn.sendall(b"+OK POP3 mailtap-lab ready\r\n")
    while True:
        line = rd.readline()
        if line is None:
            return
        verb = line.split(b" ", 1)[0].upper()
        if verb == b"CAPA":
            conn.sendall(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"+OK bye\r\n")
            return
        else:
            conn.sendall(b"+OK\r\n")


def serve(addr, port, sessions, handler):
    s = listener(addr, port)
    for _ in range(sessions):
        conn, _peer = s.accept()
        conn.settimeout(TIMEOUT)
        try:
            handler(conn)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the RST session ends exactly like this
        finally:
            conn.close()
    s.close()


def pop3_rst_client(addr, port):
    """Talks a little, then closes with SO_LINGER {1, 0}: the kernel sends a
    RST instead of a FIN."""
    c = socket.create_connection((addr, port), timeout=TIMEOUT)
    rd = Lines(c)
    rd.readline()
    for cmd in (b"CAPA\r\n", b"USER alice\r\n"):
        c.sendall(cmd)
        line = rd.readline()
        if cmd.startswith(b"CAPA"):
            while line not in (None, b"."):
                line = rd.readline()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 (1).to_bytes(4, sys.byteorder) + (0).to_bytes(4, sys.byteorder))
    c.close()


def udp_server(addr, port, requests):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.bind((addr, port))
    for _ in range(requests):
        data, peer = s.recvfrom(2048)
        s.sendto(b"pong " + data, peer)
    s.close()


def udp_client(addr, port, requests):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.connect((addr, port))
    for i in range(requests):
        s.send(b"ping %d" % i)
        s.recv(2048)
    s.close()


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    cmd, addr, port = argv[1], argv[2], int(argv[3])
    n = int(argv[4]) if len(argv) > 4 else 1
    if cmd == "smtp-server":
        serve(addr, port, n, smtp_session)
    elif cmd == "pop3-server":
        serve(addr, port, n, pop3_session)
    elif cmd == "pop3-rst-client":
        pop3_rst_client(addr, port)
    elif cmd == "udp-server":
        udp_server(addr, port, n)
    elif cmd == "udp-client":
        udp_client(addr, port, n)
    else:
        sys.stderr.write("lab_peer: unknown command `%s'\n" % cmd)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
