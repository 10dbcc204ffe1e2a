# SPDX-License-Identifier: BSD-3-Clause
"""JA4 (FoxIO, technical_details/JA4.md) of every ClientHello in a capture,
computed from tshark's own dissection (tshark -T json), so that the C
implementation in firmware/tls_fp.c is checked against an independent
parse: this tshark (4.0) has no tls.handshake.ja4 field of its own.

Rules implemented: 't' for TCP; version = highest non-GREASE value of
supported_versions, else the ClientHello's legacy version; 'd' when an SNI
extension is present, else 'i'; two-digit counts (max 99) of non-GREASE
ciphers and extensions; first and last character of the first ALPN value
(hex digits of it when either end is not alphanumeric, "00" when absent);
SHA-256 (first 12 hex) of the sorted cipher list and of the sorted
extension list without SNI and ALPN followed by '_' and the signature
algorithms in wire order (no '_' when there are none); GREASE ignored
everywhere, signature algorithms included; empty lists hash to twelve 0.

usage: ja4_ref.py CAPTURE.pcap   (prints one JA4 per ClientHello)
"""
import hashlib
import json
import subprocess
import sys


def pairs(items):
    """json object hook keeping repeated keys (tshark repeats them)."""
    d = {}
    for k, v in items:
        if k in d:
            if not isinstance(d[k], list) or not d.get("__multi__" + k):
                d[k] = [d[k]]
                d["__multi__" + k] = True
            d[k].append(v)
        else:
            d[k] = v
    return d


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def grease(v):
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def walk(o, pred, out):
    if isinstance(o, dict):
        if pred(o):
            out.append(o)
        for k, v in o.items():
            if not k.startswith("__multi__"):
                walk(v, pred, out)
    elif isinstance(o, list):
        for v in o:
            walk(v, pred, out)
    return out


def find(o, key):
    """All values of `key` anywhere below o."""
    res = []

    def rec(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == key:
                    res.extend(as_list(v))
                elif not k.startswith("__multi__"):
                    rec(v)
        elif isinstance(x, list):
            for v in x:
                rec(v)

    rec(o)
    return res


def h12(s):
    if not s:
        return "000000000000"
    return hashlib.sha256(s.encode()).hexdigest()[:12]


VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10",
            0x0300: "s3", 0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def alnum(c):
    return chr(c).isascii() and chr(c).isalnum()


def ja4(hs):
    ciphers = [int(c, 16) for c in find(hs, "tls.handshake.ciphersuite")]
    ciphers = [c for c in ciphers if not grease(c)]
    exts = []
    sigalgs = []
    alpn = None
    for k, v in hs.items():
        if not k.startswith("Extension: "):
            continue
        for e in as_list(v):
            t = int(e["tls.handshake.extension.type"])
            if grease(t):
                continue
            exts.append(t)
            if t == 13:
                sigalgs = [int(s, 16) for s in find(e, "tls.handshake.sig_hash_alg")]
            if t == 16 and alpn is None:
                lst = find(e, "tls.handshake.extensions_alpn_str")
                alpn = lst[0] if lst else ""
    sv = [int(x, 16) for x in find(hs, "tls.handshake.extensions.supported_version")]
    sv = [x for x in sv if not grease(x)]
    ver = max(sv) if sv else int(as_list(hs["tls.handshake.version"])[0], 16)
    a = "t" + VERSIONS.get(ver, "00") + ("d" if 0 in exts else "i")
    a += "%02d%02d" % (min(len(ciphers), 99), min(len(exts), 99))
    if not alpn:
        a += "00"
    else:
        # tshark shows the value as text; the reference works on its bytes
        raw = alpn.encode("latin-1", "replace")
        if alnum(raw[0]) and alnum(raw[-1]):
            a += chr(raw[0]) + chr(raw[-1])
        else:
            hx = raw.hex()
            a += hx[0] + hx[-1]
    b = h12(",".join("%04x" % c for c in sorted(ciphers)))
    ext_s = ",".join("%04x" % e for e in sorted(exts) if e not in (0, 16))
    sig = [s for s in sigalgs if not grease(s)]
    if ext_s and sig:
        ext_s += "_" + ",".join("%04x" % s for s in sig)
    c = h12(ext_s)
    return "%s_%s_%s" % (a, b, c)


def main():
    out = subprocess.run(["tshark", "-r", sys.argv[1], "-T", "json",
                          "-Y", "tls.handshake.type == 1"],
                         check=True, capture_output=True).stdout
    pkts = json.loads(out, object_pairs_hook=pairs)
    for hs in walk(pkts, lambda d: "1" in as_list(d.get("tls.handshake.type")) and
                   "tls.handshake.ciphersuites" in d, []):
        print(ja4(hs))


if __name__ == "__main__":
    main()
