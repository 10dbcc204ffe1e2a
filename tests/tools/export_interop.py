#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Flow records as seen by three readers, one line each, sorted, for
tests/e2e/test_ipfix_interop.sh to compare:

  export_interop.py json EVE.json       mailtapd's own JSON (flow records)
  export_interop.py ipfixdump DUMP.txt  `ipfixDump --rfc5610` output
  export_interop.py tshark PCAP PORT    tshark's cflow dissector on a capture
                                        of IPFIX over TCP on PORT

Each line: client address, client port, server address, server port, IP
protocol, packets and bytes client to server, packets and bytes server to
client (the RFC 5103 reverse elements). Exit status 2 on a reader error.
"""
import ipaddress
import json
import subprocess
import sys

# Flow template ids: IPv4, IPv6 (+0x400), no address (+0x800).
FLOW_TIDS = {256, 256 + 0x400, 256 + 0x800}
PROTO = {"TCP": 6, "UDP": 17}


def addr(a):
    """One spelling per address (ipfixDump writes 2001:0db8:0001::0001)."""
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


def line(src, sport, dst, dport, proto, p_ts, b_ts, p_tc, b_tc):
    src, dst = addr(src), addr(dst)
    return " ".join(str(v) for v in (src, sport, dst, dport, proto, p_ts, b_ts, p_tc, b_tc))


def from_json(path):
    out = []
    with open(path) as f:
        for raw in f:
            r = json.loads(raw)
            if r.get("event_type") != "flow":
                continue
            fl = r["flow"]
            proto = r.get("proto")
            proto = PROTO.get(proto, proto)
            out.append(line(r.get("src_ip", "-"), r.get("src_port", 0), r.get("dest_ip", "-"),
                            r.get("dest_port", 0), proto, fl["pkts_toserver"],
                            fl["bytes_toserver"], fl["pkts_toclient"], fl["bytes_toclient"]))
    return out


def from_ipfixdump(path):
    """ipfixDump prints each data record as a header with `tid:` and then
    `(id) name : value` lines, reverse elements as (29305/id)."""
    out = []
    cur = None

    def done():
        if cur is not None and cur.get("tid") in FLOW_TIDS:
            out.append(line(cur.get("src", "-"), cur.get("sport", 0), cur.get("dst", "-"),
                            cur.get("dport", 0), cur.get("proto", 0), cur.get("pkts", 0),
                            cur.get("octs", 0), cur.get("rpkts", 0), cur.get("rocts", 0)))

    names = {
        "sourceIPv4Address": "src", "sourceIPv6Address": "src",
        "destinationIPv4Address": "dst", "destinationIPv6Address": "dst",
        "sourceTransportPort": "sport", "destinationTransportPort": "dport",
        "protocolIdentifier": "proto", "packetTotalCount": "pkts",
        "octetTotalCount": "octs", "reversePacketTotalCount": "rpkts",
        "reverseOctetTotalCount": "rocts",
    }
    with open(path, errors="replace") as f:
        for raw in f:
            s = raw.strip()
            if s.startswith("--- "):
                done()
                cur = {} if s.startswith("--- data record") else None
                continue
            if cur is None:
                continue
            if s.startswith("count:") and "tid:" in s:
                cur["tid"] = int(s.split("tid:")[1].split()[0])
                continue
            if s.startswith("(") and " : " in s:
                name, value = s.split(")", 1)[1].split(" : ", 1)
                key = names.get(name.strip())
                if key:
                    value = value.strip()
                    cur[key] = int(value) if value.isdigit() else value
    done()
    return out


def walk_flows(node, tid, out):
    if isinstance(node, list):
        for n in node:
            walk_flows(n, tid, out)
        return
    if not isinstance(node, dict):
        return
    if "cflow.flowset_id" in node:
        tid = int(node["cflow.flowset_id"])
    for k, v in node.items():
        if k.startswith("Flow ") and isinstance(v, dict):
            if tid in FLOW_TIDS:
                pk = v.get("cflow.permanent_packets", ["0", "0"])
                oc = v.get("cflow.permanent_octets", ["0", "0"])
                if not isinstance(pk, list):
                    pk = [pk, "0"]
                if not isinstance(oc, list):
                    oc = [oc, "0"]
                out.append(line(v.get("cflow.srcaddr", v.get("cflow.srcaddrv6", "-")),
                                v.get("cflow.srcport", 0),
                                v.get("cflow.dstaddr", v.get("cflow.dstaddrv6", "-")),
                                v.get("cflow.dstport", 0), v.get("cflow.protocol", 0),
                                pk[0], oc[0], pk[1], oc[1]))
        elif isinstance(v, (dict, list)):
            walk_flows(v, tid, out)


def from_tshark(pcap, port):
    p = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==%s,cflow" % port,
                        "-T", "json", "--no-duplicate-keys", "-Y", "cflow"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        sys.exit(2)
    out = []
    for pkt in json.loads(p.stdout or b"[]"):
        walk_flows(pkt["_source"]["layers"].get("cflow"), None, out)
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode = sys.argv[1]
    if mode == "json":
        out = from_json(sys.argv[2])
    elif mode == "ipfixdump":
        out = from_ipfixdump(sys.argv[2])
    elif mode == "tshark" and len(sys.argv) == 4:
        out = from_tshark(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
    for s in sorted(out):
        print(s)


if __name__ == "__main__":
    main()
