#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Prints the flow records of an EVE JSON file as an aligned table."""
import json
import sys


def main(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("event_type") != "flow":
                continue
            fl = ev["flow"]
            rows.append((
                ev["timestamp"][11:19],
                ev["proto"],
                "%s:%d" % (ev["src_ip"], ev["src_port"]),
                "%s:%d" % (ev["dest_ip"], ev["dest_port"]),
                ev.get("app_proto", "-"),
                "%d/%d" % (fl["pkts_toserver"], fl["pkts_toclient"]),
                "%d/%d" % (fl["bytes_toserver"], fl["bytes_toclient"]),
                fl["reason"],
            ))
    head = ("start", "proto", "client", "server", "app", "pkts c>s/s>c",
            "bytes c>s/s>c", "end")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    print(fmt % head)
    for r in rows:
        print(fmt % r)
    print("%d flows" % len(rows))


if __name__ == "__main__":
    main(sys.argv[1])
