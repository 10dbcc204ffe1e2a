#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Summarises EVE JSON lines from `mailtap-collector query --format json`
for the demo: sessions per protocol, logins (user, result, source, how
many) and alerts, each as a short aligned table.

usage: mailtap-collector query --db DB --format json | coll_summary.py
"""
import collections
import json
import sys


def table(head, rows, limit=None):
    if not rows:
        print("  (none)")
        return
    shown = rows if limit is None else rows[:limit]
    widths = [max(len(str(r[i])) for r in shown + [head]) for i in range(len(head))]
    fmt = "  " + "  ".join("%%-%ds" % w for w in widths)
    print(fmt % tuple(head))
    for r in shown:
        print(fmt % tuple(r))
    if limit is not None and len(rows) > limit:
        print("  ... and %d more" % (len(rows) - limit))


def main():
    sessions = collections.Counter()
    logins = collections.Counter()
    alerts = []
    types = collections.Counter()
    for line in sys.stdin:
        ev = json.loads(line)
        et = ev.get("event_type")
        types[et] += 1
        if et == "flow":
            sessions[ev.get("app_proto") or "(other)"] += 1
        elif et == "auth":
            a = ev["auth"]
            logins[(ev.get("app_proto", "?"), a.get("user", "-"), a.get("result", "?"),
                    ev.get("src_ip", "?"), "yes" if a.get("cleartext") else "no")] += 1
        elif et == "alert":
            a = ev["alert"]
            alerts.append((ev["timestamp"][11:19], a.get("severity", ""), a.get("detector", ""),
                           a.get("source", ev.get("src_ip", "")), a.get("user", ""),
                           a.get("signature", "")[:70]))

    print("records stored: " + ", ".join("%d %s" % (n, t) for t, n in types.most_common()))
    print()
    print("Sessions per protocol (flow records):")
    table(("PROTOCOL", "SESSIONS"), [(p, n) for p, n in sessions.most_common()])
    print()
    print("Logins (auth records):")
    table(("PROTOCOL", "USER", "RESULT", "SOURCE", "CLEARTEXT", "COUNT"),
          [k + (n,) for k, n in sorted(logins.items(), key=lambda kv: (-kv[1], kv[0]))], 15)
    print()
    print("Alerts:")
    table(("TIME", "SEV", "DETECTOR", "SOURCE", "USER", "SIGNATURE"), alerts, 15)


if __name__ == "__main__":
    main()
