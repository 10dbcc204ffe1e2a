# SPDX-License-Identifier: BSD-3-Clause
"""Minimal SMTP server for the TLS captures: greets, answers EHLO with
STARTTLS, accepts STARTTLS, runs the TLS handshake with the ssl module
(TLS 1.2 at most, so the certificate is visible on the wire), then answers
EHLO and QUIT inside TLS. Standard library only; one session, bounded by a
socket timeout. Used by make.sh, never by the product.

usage: starttls_peer.py ADDR PORT CERT KEY
"""
import socket
import ssl
import sys


def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n")


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(15)
    conn, _ = ls.accept()
    conn.settimeout(15)
    conn.sendall(b"220 mail.example.test ESMTP mailtap-lab\r\n")
    f = conn.makefile("rb")
    for line in lines(f):
        verb = line.split(b" ")[0].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250-mail.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
        elif verb == b"STARTTLS":
            conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            break
        else:
            conn.sendall(b"502 5.5.2 Error\r\n")
    f.close()
    tls = ctx.wrap_socket(conn, server_side=True)
    tf = tls.makefile("rb")
    for line in lines(tf):
        verb = line.split(b" ")[0].upper()
        if verb in (b"EHLO", b"HELO"):
            tls.sendall(b"250-mail.example.test\r\n250 AUTH PLAIN\r\n")
        elif verb == b"QUIT":
            tls.sendall(b"221 2.0.0 Bye\r\n")
            break
        else:
            tls.sendall(b"250 2.0.0 Ok\r\n")
    tf.close()
    try:
        tls.unwrap()
    except (OSError, ssl.SSLError):
        pass
    tls.close()
    ls.close()


if __name__ == "__main__":
    main()
