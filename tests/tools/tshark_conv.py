#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Compares mailtapd's flow records with tshark's conversation tables.

For one capture, runs `tshark -q -z conv,tcp -z conv,udp` and reads the
flow records of a mailtapd EVE JSON file made from the same capture. Each
tshark conversation is mapped onto the flow with the same two endpoints
(address and port, either order): tshark's A/B columns become mailtapd's
client (src) and server (dest) by address and port, and the frames and bytes
of each direction must be equal. Every flow must have its conversation and
every conversation its flow, except the conversations named with
--untracked, which must be in tshark's table and must have no flow. With
--split-ok, a conversation may be several flows (one that timed out and came
back on the same ports), and their counts are added up.

One line per check on stdout ("ok: ..." or "FAIL: ..."); exit status 0 when
all passed, 1 when one failed, 2 on a usage or tool error. Standard library
only.

usage: tshark_conv.py [--label NAME] [--untracked PROTO:PORT]... [--split-ok]
                      [--tshark-opt OPT]... CAPTURE MAILTAPD_JSON
"""
import argparse
import ipaddress
import json
import subprocess
import sys


class ToolError(Exception):
    pass


def endpoint(text):
    """'198.51.100.1:25' or '2001:db8::1:25' -> (normalised address, port)."""
    addr, _, port = text.rpartition(":")
    try:
        return (str(ipaddress.ip_address(addr)), int(port))
    except ValueError:
        raise ToolError("cannot read tshark endpoint `%s' (name resolution on?)" % text)


def direction_groups(rest, line):
    """The three (frames, bytes) groups after the endpoints of a data line."""
    toks = rest.split()
    groups, i = [], 0
    while len(groups) < 3:
        if i + 1 >= len(toks):
            raise ToolError("short tshark conversation line: %s" % line.strip())
        frames, nbytes = toks[i], toks[i + 1]
        i += 2
        unit = "bytes"
        if i < len(toks) and not toks[i][0].isdigit():
            unit = toks[i]
            i += 1
        if not frames.isdigit() or not nbytes.isdigit():
            raise ToolError("unexpected tshark conversation line: %s" % line.strip())
        if unit != "bytes":
            raise ToolError("tshark rounded a byte count to `%s %s' (%s); keep each "
                            "direction of a test conversation under 10 kB"
                            % (nbytes, unit, line.strip()))
        groups.append((int(frames), int(nbytes)))
    return groups


def parse_conv(text):
    """Conversations of tshark's conv,tcp and conv,udp tables:
    list of dicts {proto, a, b, ab: (frames, bytes), ba: (frames, bytes)}."""
    convs, proto, left_first = [], None, None
    for line in text.splitlines():
        s = line.strip()
        if s.endswith("Conversations"):
            proto = s.split()[0].lower()
            left_first = None
            continue
        if proto and "|" in line and "<-" in line and "->" in line:
            # Which of the two direction columns comes first.
            left_first = line.index("<-") < line.index("->")
            continue
        if proto and "<->" in line:
            if left_first is None:
                raise ToolError("tshark %s table has no direction header" % proto)
            a_txt, rest = line.split("<->", 1)
            b_txt, rest = rest.split(None, 1)
            first, second, _total = direction_groups(rest, line)
            ba, ab = (first, second) if left_first else (second, first)
            convs.append({"proto": proto, "a": endpoint(a_txt.strip()),
                          "b": endpoint(b_txt), "ab": ab, "ba": ba})
    return convs


def load_flows(path):
    flows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise ToolError("%s:%d: not JSON: %s" % (path, n, e))
            if rec.get("event_type") != "flow":
                continue
            fl = rec["flow"]
            flows.append({
                "proto": rec["proto"].lower(),
                "client": (str(ipaddress.ip_address(rec["src_ip"])), rec["src_port"]),
                "server": (str(ipaddress.ip_address(rec["dest_ip"])), rec["dest_port"]),
                "ts": (fl["pkts_toserver"], fl["bytes_toserver"]),
                "tc": (fl["pkts_toclient"], fl["bytes_toclient"]),
                "tunnel": fl.get("tunnel", ""),
            })
    return flows


def fmt_ep(ep):
    addr, port = ep
    return ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, port)


def fmt_dir(d):
    return "%d frames %d bytes" % d


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--label", help="name of the capture in messages")
    ap.add_argument("--untracked", action="append", default=[],
                    metavar="PROTO:PORT",
                    help="tshark conversation(s) on this port that mailtapd "
                         "must not report as a flow")
    ap.add_argument("--split-ok", action="store_true",
                    help="mailtapd may report one tshark conversation as several "
                         "flows (timeouts); their counts are added up")
    ap.add_argument("--tshark-opt", action="append", default=[], metavar="OPT",
                    help="preference for tshark -o (repeatable)")
    ap.add_argument("capture")
    ap.add_argument("json")
    args = ap.parse_args(argv[1:])
    label = args.label or args.capture

    untracked = set()
    for u in args.untracked:
        proto, _, port = u.partition(":")
        if proto not in ("tcp", "udp") or not port.isdigit():
            print("FAIL: %s: bad --untracked `%s' (want tcp:PORT or udp:PORT)" % (label, u))
            return 2
        untracked.add((proto, int(port)))

    cmd = ["tshark", "-n", "-r", args.capture, "-q", "-z", "conv,tcp", "-z", "conv,udp"]
    for o in args.tshark_opt:
        cmd += ["-o", o]
    try:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=120)
    except FileNotFoundError:
        print("FAIL: %s: tshark not found (apt-get install tshark)" % label)
        return 2
    if res.returncode != 0:
        print("FAIL: %s: `%s' exited %d: %s" % (label, " ".join(cmd), res.returncode,
                                               res.stderr.strip()[-500:]))
        return 2
    try:
        convs = parse_conv(res.stdout)
        flows = load_flows(args.json)
    except (ToolError, KeyError, OSError) as e:
        print("FAIL: %s: %s" % (label, e))
        return 2

    failed = 0

    def report(ok, msg):
        nonlocal failed
        if not ok:
            failed += 1
        print("%s: %s: %s" % ("ok" if ok else "FAIL", label, msg))

    # Group both sides by endpoint pair and add up what each endpoint sent:
    # one conversation is normally one flow, but a flow that timed out and
    # came back is two mailtapd flows in one tshark conversation.
    groups = {}

    def group(proto, x, y):
        key = (proto, frozenset((x, y)))
        return groups.setdefault(key, {"convs": 0, "flows": [], "t": {}, "m": {}})

    def add(d, ep, n):
        f0, b0 = d.get(ep, (0, 0))
        d[ep] = (f0 + n[0], b0 + n[1])

    for c in convs:
        g = group(c["proto"], c["a"], c["b"])
        g["convs"] += 1
        g["ends"] = (c["a"], c["b"])
        add(g["t"], c["a"], c["ab"])
        add(g["t"], c["b"], c["ba"])
    for f in flows:
        g = group(f["proto"], f["client"], f["server"])
        g["flows"].append(f)
        add(g["m"], f["client"], f["ts"])
        add(g["m"], f["server"], f["tc"])

    for (proto, _), g in groups.items():
        fl = g["flows"]
        if fl:
            cli, srv = fl[0]["client"], fl[0]["server"]
        else:
            cli, srv = g["ends"]
        name = "%s %s -> %s" % (proto, fmt_ep(cli), fmt_ep(srv))
        if fl and fl[0]["tunnel"]:
            name += " (inside %s)" % fl[0]["tunnel"]
        if (proto, cli[1]) in untracked or (proto, srv[1]) in untracked:
            report(not fl and g["convs"] > 0,
                   "%s: untracked by design; tshark has %d conversation(s), "
                   "mailtapd %d flow(s)" % (name, g["convs"], len(fl)))
            continue
        if not g["convs"]:
            report(False, "%s: mailtapd flow that tshark has no conversation for" % name)
            continue
        if not fl:
            report(False, "%s: tshark conversation that mailtapd has no flow for" % name)
            continue
        note = ""
        if len(fl) != g["convs"]:
            if not args.split_ok:
                report(False, "%s: tshark has %d conversation(s), mailtapd %d flow(s)"
                       % (name, g["convs"], len(fl)))
                continue
            note = ", summed over %d mailtapd flows in %d tshark conversation(s)" % (
                len(fl), g["convs"])
        zero = (0, 0)
        want = (g["t"].get(cli, zero), g["t"].get(srv, zero))
        got = (g["m"].get(cli, zero), g["m"].get(srv, zero))
        if want == got:
            report(True, "%s: toserver %s, toclient %s (tshark = mailtapd%s)"
                   % (name, fmt_dir(got[0]), fmt_dir(got[1]), note))
        else:
            report(False, "%s: tshark says toserver %s, toclient %s; mailtapd says "
                   "toserver %s, toclient %s%s"
                   % (name, fmt_dir(want[0]), fmt_dir(want[1]),
                      fmt_dir(got[0]), fmt_dir(got[1]), note))

    for proto, port in sorted(untracked):
        if not any(c["proto"] == proto and port in (c["a"][1], c["b"][1]) for c in convs):
            report(False, "--untracked %s:%d matches no tshark conversation" % (proto, port))
    if not convs and not flows:
        report(False, "neither tshark nor mailtapd found a TCP or UDP conversation")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
