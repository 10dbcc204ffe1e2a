#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks mailtapd's records for a lab capture against what the lab did.

tests/lab/lab.sh writes NAME.truth.json beside each capture: every TCP
session with its client, server, logins (user, result, whether readable in
clear, mechanism), SMTP transactions (envelope, MAIL parameters as the
client's transcript shows them, replies, the message's From/To/Cc,
attachments and their SHA-256), IMAP selects/fetches/stores, POP3
STAT/RETR/DELE, TLS SNI and version, and the lab server's certificate
(subject and SHA-256 fingerprint).
This script runs mailtapd on the capture and checks that the records say
the same, session by session. It prints one line per check and exits 1 on
any mismatch.

usage: lab_truth_check.py MAILTAPD CAPTURE.pcap [...]
"""
import json
import re
import subprocess
import sys

failures = 0
checks = 0


def check(ok, what):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL  " + what)


def code(reply):
    return int(reply[:3]) if reply and reply[:3].isdigit() else 0


def records(mailtapd, pcap):
    out = subprocess.run([mailtapd, "--read", pcap, "--json", "-", "-q"],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def by_session(recs):
    sess = {}
    for r in recs:
        if "src_port" not in r:
            continue
        key = (r["src_ip"], r["src_port"])
        sess.setdefault(key, []).append(r)
    return sess


def check_auth(name, sid, t, recs):
    auths = [r["auth"] for r in recs if r["event_type"] == "auth"]
    want = [a for a in t.get("auth", []) if a.get("cleartext_visible", True)]
    if t["tls"] == "implicit":
        check(not auths, "%s %s: no auth record inside implicit TLS" % (name, sid))
        return
    if t["tls"] == "starttls":
        # Logins after STARTTLS are encrypted: none may be reported.
        check(not auths, "%s %s: no auth record after STARTTLS" % (name, sid))
        return
    check(len(auths) == len(want), "%s %s: %d auth records, lab made %d attempts"
          % (name, sid, len(auths), len(want)))
    for got, exp in zip(auths, want):
        check(got.get("user", "") == exp["user"], "%s %s: auth user %r, lab used %r"
              % (name, sid, got.get("user"), exp["user"]))
        check(got.get("mechanism") == exp["mechanism"], "%s %s: auth mechanism %r, lab used %r"
              % (name, sid, got.get("mechanism"), exp["mechanism"]))
        check(got["result"] == exp["result"], "%s %s: auth result %s for %s, lab saw %s"
              % (name, sid, got["result"], exp["user"], exp["result"]))
        check(got["cleartext"] == exp["cleartext"], "%s %s: cleartext %s, lab says %s"
              % (name, sid, got["cleartext"], exp["cleartext"]))
        check(got.get("reply", "") == exp["reply"][:200], "%s %s: auth reply %r, server said %r"
              % (name, sid, got.get("reply"), exp["reply"]))


def mail_params(t):
    """The parameters after MAIL FROM:<...> of each MAIL command the
    client's own log shows (swaks's transcript, curl's -v output), in
    order; None when the truth holds no such log (smtplib sessions)."""
    lines = t.get("transcript") or t.get("curl_verbose") or []
    out = []
    for line in lines:
        m = re.match(r"\s*(->|>) (MAIL FROM:.*)$", line, re.I)
        if m:
            arg = m.group(2)
            out.append(arg[arg.find(">") + 1:].strip() if ">" in arg else "")
    return out or None


def check_smtp(name, sid, t, recs):
    smtp = [r for r in recs if r["event_type"] == "smtp"]
    txs = t.get("transactions", [])
    if t["tls"] != "none":
        return
    if not txs and "exchange" in t:
        # Raw probes: one transaction per MAIL command sent.
        mails = [x for x in t["exchange"] if x["sent"].upper().startswith("MAIL")]
        check(len(smtp) == max(1, len(mails)), "%s %s: %d smtp records for %d MAIL commands"
              % (name, sid, len(smtp), len(mails)))
        return
    if not txs:
        check(len(smtp) == 1 and smtp[0]["smtp"].get("status") == "no_transaction",
              "%s %s: one no_transaction smtp record" % (name, sid))
        return
    check(len(smtp) == len(txs), "%s %s: %d smtp records, lab made %d transactions"
          % (name, sid, len(smtp), len(txs)))
    params = mail_params(t)
    if params is not None:
        check(len(params) == len(txs), "%s %s: %d MAIL commands in the client's log, "
              "%d transactions" % (name, sid, len(params), len(txs)))
        for rec, p in zip(smtp, params):
            check(rec["smtp"].get("mail_params", "") == p, "%s %s: mail_params %r, client sent %r"
                  % (name, sid, rec["smtp"].get("mail_params"), p))
    for rec, tx in zip(smtp, txs):
        s, e = rec["smtp"], rec.get("email", {})
        if "helo" in t:
            check(s.get("helo") == t["helo"], "%s %s: helo %r, lab %r"
                  % (name, sid, s.get("helo"), t["helo"]))
        check(s.get("mail_from") == tx["mail_from"], "%s %s: mail_from %r, lab %r"
              % (name, sid, s.get("mail_from"), tx["mail_from"]))
        rc = [r["addr"] for r in tx["rcpt_to"]]
        check(s.get("rcpt_to", []) == rc, "%s %s: rcpt_to %r, lab %r"
              % (name, sid, s.get("rcpt_to"), rc))
        codes = [code(r["reply"]) for r in tx["rcpt_to"]]
        check(s.get("rcpt_reply", []) == codes, "%s %s: rcpt replies %r, server %r"
              % (name, sid, s.get("rcpt_reply"), codes))
        if tx.get("end_of_data_reply"):
            check(s.get("data_reply") == code(tx["end_of_data_reply"]),
                  "%s %s: data reply %r, server %r" % (name, sid, s.get("data_reply"),
                                                       tx["end_of_data_reply"]))
        msg = tx.get("message")
        if msg:
            if "subject" in msg:
                check(e.get("subject") == msg["subject"], "%s %s: subject %r, lab %r"
                      % (name, sid, e.get("subject"), msg["subject"]))
            if "message_id" in msg:
                check(e.get("message_id") == msg["message_id"], "%s %s: message_id %r, lab %r"
                      % (name, sid, e.get("message_id"), msg["message_id"]))
            if "header_from" in msg:
                check(e.get("from") == msg["header_from"], "%s %s: email.from %r, lab %r"
                      % (name, sid, e.get("from"), msg["header_from"]))
            for hdr, key in (("header_to", "to"), ("header_cc", "cc")):
                if hdr in msg:
                    check(e.get(key, []) == msg[hdr], "%s %s: email.%s %r, lab %r"
                          % (name, sid, key, e.get(key), msg[hdr]))
            files = e.get("files", [])
            for att in msg.get("attachments", []):
                hit = [f for f in files if f.get("filename") == att["name"]]
                check(bool(hit), "%s %s: attachment %s reported" % (name, sid, att["name"]))
                if hit:
                    check(hit[0].get("sha256") == att["sha256"],
                          "%s %s: %s sha256 %s, lab %s" % (name, sid, att["name"],
                                                          hit[0].get("sha256"), att["sha256"]))
                    check(hit[0].get("size") == att["size"], "%s %s: %s size %s, lab %s"
                          % (name, sid, att["name"], hit[0].get("size"), att["size"]))


def check_imap(name, sid, t, recs):
    imap = [r["imap"] for r in recs if r["event_type"] == "imap"]
    if t["tls"] != "none":
        return
    check(len(imap) == 1, "%s %s: one imap record" % (name, sid))
    if not imap:
        return
    i = imap[0]
    sel = t.get("selected", [])
    if sel:
        check(i.get("mailboxes", []) == [s["mailbox"] for s in sel],
              "%s %s: mailboxes %r" % (name, sid, i.get("mailboxes")))
        check(i.get("exists", 0) == sel[-1]["exists"], "%s %s: exists %r, lab %r"
              % (name, sid, i.get("exists"), sel[-1]["exists"]))
    # A fetch entry is either one command (messages, bytes) or, in the
    # mass-download captures, one message (uid, size).
    body = [f for f in t.get("fetch", []) if "BODY" in f["items"] and "HEADER" not in f["items"]]
    fetched = sum(f.get("messages", 1 if "uid" in f else 0) for f in body)
    nbytes = sum(f.get("bytes", f.get("size", 0)) for f in t.get("fetch", []))
    check(i.get("messages_fetched", 0) == fetched, "%s %s: messages_fetched %r, lab %r"
          % (name, sid, i.get("messages_fetched"), fetched))
    if nbytes:
        check(i.get("bytes_fetched", 0) == nbytes, "%s %s: bytes_fetched %r, lab %r"
              % (name, sid, i.get("bytes_fetched"), nbytes))
    dele = sum(1 for s in t.get("store", []) if "Deleted" in s["flags"])
    check(i.get("deleted", 0) == dele, "%s %s: deleted %r, lab %r"
          % (name, sid, i.get("deleted"), dele))
    check(i.get("expunged", 0) == len(t.get("expunged", [])), "%s %s: expunged %r, lab %r"
          % (name, sid, i.get("expunged"), len(t.get("expunged", []))))


def check_pop3(name, sid, t, recs):
    pop = [r["pop3"] for r in recs if r["event_type"] == "pop3"]
    if t["tls"] != "none":
        return
    check(len(pop) == 1, "%s %s: one pop3 record" % (name, sid))
    if not pop:
        return
    p = pop[0]
    if "stat" in t:
        check(p.get("stat_messages", 0) == t["stat"]["messages"], "%s %s: stat_messages" % (name, sid))
        check(p.get("stat_bytes", 0) == t["stat"]["octets"], "%s %s: stat_bytes" % (name, sid))
    retr = t.get("retr", [])
    check(p.get("retr_messages", 0) == len(retr), "%s %s: retr_messages %r, lab %r"
          % (name, sid, p.get("retr_messages"), len(retr)))
    octets = sum(r["octets"] for r in retr)
    check(p.get("retr_bytes", 0) == octets, "%s %s: retr_bytes %r, lab %r"
          % (name, sid, p.get("retr_bytes"), octets))
    check(p.get("deleted", 0) == len(t.get("dele", [])), "%s %s: deleted" % (name, sid))


def rdns(dn):
    """A distinguished name's RDNs, in the order written (no escaped commas
    in the lab's names)."""
    return [x.strip() for x in dn.split(",")] if dn else []


def check_tls(name, sid, t, recs, cert):
    tls = [r["tls"] for r in recs if r["event_type"] == "tls"]
    if t["tls"] == "none":
        check(not tls, "%s %s: no tls record in cleartext" % (name, sid))
        return
    check(len(tls) == 1, "%s %s: one tls record" % (name, sid))
    if not tls:
        return
    if t.get("sni"):
        check(tls[0].get("sni") == t["sni"], "%s %s: sni %r, lab %r"
              % (name, sid, tls[0].get("sni"), t["sni"]))
    ver = t.get("tls_info", {}).get("version", "")
    if ver:
        check(tls[0].get("version") == ver.replace("TLSv", "TLS "), "%s %s: version %r, lab %r"
              % (name, sid, tls[0].get("version"), ver))
    check(bool(tls[0].get("starttls")) == (t["tls"] == "starttls"),
          "%s %s: starttls flag" % (name, sid))
    # The server's certificate is readable in a TLS 1.2 handshake and
    # encrypted in TLS 1.3. The truth file has it from openssl: the subject
    # in RFC 2253 order (last RDN first), the fingerprint as colon-separated
    # upper-case hex; mailtapd writes the subject in certificate order.
    got_subj, got_fp = tls[0].get("subject"), tls[0].get("fingerprint_sha256")
    if ver == "TLSv1.3":
        check(got_subj is None and got_fp is None,
              "%s %s: certificate %r reported from inside TLS 1.3" % (name, sid, got_subj))
    elif ver and cert:
        want_subj = cert.get("subject", "")
        check(rdns(got_subj)[::-1] == rdns(want_subj),
              "%s %s: certificate subject %r, lab's certificate %r"
              % (name, sid, got_subj, want_subj))
        want_fp = cert.get("sha256_fingerprint", "").replace(":", "").lower()
        check(bool(want_fp) and (got_fp or "").replace(":", "").lower() == want_fp,
              "%s %s: certificate sha256 %r, lab's certificate %r" % (name, sid, got_fp, want_fp))


def main():
    mailtapd = sys.argv[1]
    for pcap in sys.argv[2:]:
        before = failures
        name = pcap.rsplit("/", 1)[-1][:-5]
        truth = json.load(open(pcap[:-5] + ".truth.json"))
        sess = by_session(records(mailtapd, pcap))
        for t in truth["sessions"]:
            sid = "%s:%d" % (t["client"]["ip"], t["client"]["port"])
            recs = sess.get((t["client"]["ip"], t["client"]["port"]), [])
            flows = [r for r in recs if r["event_type"] == "flow"]
            check(len(flows) == 1, "%s %s: one flow record" % (name, sid))
            if flows:
                f = flows[0]
                check(f["dest_port"] == t["server"]["port"], "%s %s: server port" % (name, sid))
                check(f["flow"]["pkts_toserver"] == t["tcp"]["packets_c2s"] and
                      f["flow"]["pkts_toclient"] == t["tcp"]["packets_s2c"],
                      "%s %s: packets %d/%d, lab %d/%d" % (name, sid, f["flow"]["pkts_toserver"],
                                                          f["flow"]["pkts_toclient"],
                                                          t["tcp"]["packets_c2s"],
                                                          t["tcp"]["packets_s2c"]))
                want_app = "tls" if t["tls"] == "implicit" else t["protocol"]
                check(f.get("app_proto") == want_app, "%s %s: app_proto %r, lab %r"
                      % (name, sid, f.get("app_proto"), want_app))
            check_auth(name, sid, t, recs)
            check_tls(name, sid, t, recs, truth["network"].get("tls_certificate"))
            {"smtp": check_smtp, "imap": check_imap, "pop3": check_pop3}[t["protocol"]](
                name, sid, t, recs)
        print("%-5s %s: %d sessions checked against its truth file"
              % ("ok" if failures == before else "FAIL", name, len(truth["sessions"])))
    print("lab_truth_check: %d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
