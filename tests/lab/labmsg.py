# SPDX-License-Identifier: BSD-3-Clause
"""Users, passwords and messages of the mailtap lab, in one place.

Everything here is deterministic: fixed Date and Message-ID headers, fixed
MIME boundaries, fixed attachment bytes, fixed Maildir file names. The same
run of the lab therefore sends (and the mail servers therefore store and
serve) the same bytes every time; only timestamps, ports, TLS keys and the
headers the servers add themselves differ between runs.

Standard library only: the lab runs it with Debian's /usr/bin/python3.
"""
import hashlib
import os
import re
import struct
import zlib
from email.message import EmailMessage
from email.policy import SMTP

DOMAIN = "example.test"
HOST = "mail.example.test"
CLIENT_HELO = "client.example.test"
DATE = "Mon, 02 Sep 2024 10:00:00 +0000"

# The lab's accounts (Dovecot passwd-file with PLAIN passwords, Postfix
# virtual mailboxes). Known passwords are the point: the truth files say
# which attempt used the right one.
USERS = {
    "alice": "Wonderland-1865",
    "bob": "Builder-2024",
    "carol": "Carol.Singer42",
    "dave": "d4ve-Secret!",
    "erin": "Erin#Mail2024",
    "frank": "Frank-Archive-9",
    "grace": "Grace.Hopper.1906",
}


def addr(user):
    return "%s@%s" % (user, DOMAIN)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def crlf(text):
    """Text with LF line ends -> bytes with CRLF line ends."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def text_message(sender, rcpts, subject, msgid, body, extra=()):
    """A small RFC 5322 text message as CRLF bytes (fixed Date/Message-ID)."""
    lines = [
        "From: %s" % sender,
        "To: %s" % ", ".join(rcpts),
        "Subject: %s" % subject,
        "Date: %s" % DATE,
        "Message-ID: <%s>" % msgid,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
    ]
    lines += list(extra)
    return crlf("\n".join(lines) + "\n\n" + body)


def tiny_png(width=16, height=16):
    """A small, valid, deterministic PNG (a colour gradient)."""

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b""
    for y in range(height):
        raw += b"\x00" + b"".join(bytes((x * 16, y * 16, (x ^ y) * 16)) for x in range(width))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


ATTACHMENT_NAME = "lab-diagram.png"
ATTACHMENT_TYPE = "image/png"
# Non-ASCII on purpose: the SMTP policy writes it as an RFC 2047 encoded-word.
MX_SUBJECT = "Résumé des résultats du trimestre – Q3 ✓"


def mx_message(sender, rcpts):
    """multipart/mixed: a text part and a small PNG; RFC 2047 subject."""
    png = tiny_png()
    m = EmailMessage(policy=SMTP)
    m["From"] = sender
    m["To"] = ", ".join(rcpts)
    m["Subject"] = MX_SUBJECT
    m["Date"] = DATE
    m["Message-ID"] = "<mx-attachment.1@relay.partner.test>"
    m["X-Mailer"] = "mailtap-lab smtplib"
    m.set_content("Hello,\n\nthe diagram of the third quarter is attached.\n\nRegards,\nMallory\n")
    m.add_attachment(png, maintype="image", subtype="png", filename=ATTACHMENT_NAME)
    m.set_boundary("=_mailtap_lab_boundary_0001")
    data = m.as_bytes(policy=SMTP)
    info = {
        "subject": MX_SUBJECT,
        "subject_raw": None,
        "message_id": "<mx-attachment.1@relay.partner.test>",
        "attachments": [{
            "name": ATTACHMENT_NAME,
            "content_type": ATTACHMENT_TYPE,
            "size": len(png),
            "sha256": sha256(png),
            "transfer_encoding": "base64",
        }],
    }
    # The header as it goes on the wire (folded lines unfolded).
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n[ \t]", " ", head)
    for line in unfolded.split("\r\n"):
        if line.startswith("Subject:"):
            info["subject_raw"] = line[len("Subject: "):]
    return data, info


def mailbox_message(user, n, size=0):
    """Message number n (1-based) of a seeded mailbox: fixed bytes.

    size > 0 pads the body with fixed text to about that many bytes, for
    the mass-download mailboxes.
    """
    body = "This is message %d in the mailbox of %s.\nIt was put there by the lab.\n" % (n, user)
    if size:
        filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit %04d.\n"
        i = 0
        while len(body) < size:
            i += 1
            body += filler % i
    return text_message(
        "Archive <archive@%s>" % DOMAIN, [addr(user)],
        "Seeded message %d for %s" % (n, user), "seed.%s.%d@%s" % (user, n, DOMAIN), body)


def seed_maildir(home, user, count, size=0, uid=8, gid=8):
    """Replace USER's Maildir with COUNT fixed messages; return their facts.

    The file names carry increasing timestamps: Dovecot assigns UIDs to new
    mail sorted by that time, so message n gets UID n.
    """
    md = os.path.join(home, "Maildir")
    if os.path.isdir(home):
        for root, dirs, files in os.walk(home, topdown=False):
            for f in files:
                os.unlink(os.path.join(root, f))
            for d in dirs:
                os.rmdir(os.path.join(root, d))
    for d in (home, md, md + "/new", md + "/cur", md + "/tmp"):
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chown(d, uid, gid)
    facts = []
    for n in range(1, count + 1):
        data = mailbox_message(user, n, size)
        name = "%d.M%06dP1.%s,S=%d" % (1725271200 + n, n, HOST, len(data))
        path = os.path.join(md, "new", name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, uid, gid)
        os.utime(path, (1725271200 + n, 1725271200 + n))
        facts.append({"n": n, "size": len(data), "sha256": sha256(data),
                      "subject": "Seeded message %d for %s" % (n, user)})
    return facts
