#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Prints what other tools say about each TLS capture beside this script:
# tshark's JA3/JA3S (tls.handshake.ja3_full, ja3, ja3s_full, ja3s), SNI,
# ALPN, versions and cipher suites; JA4 from ja4_ref.py (tshark's
# dissection, FoxIO's rules); and the server's first certificate as openssl
# x509 reads it (subject, issuer, serial, validity, SHA-256 fingerprint).
# Its output is committed as reference.txt: the expected values in
# tests/unit/test_tls.c are copied from it.
#
# usage: sh tests/captures/tls/ref.sh [DIR] > reference.txt
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
tmp=$(mktemp -d /tmp/mttlsref.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "# $(tshark --version 2>/dev/null | head -n 1)"
echo "# $(openssl version)"
for cap in "$dir"/*.pcap; do
	name=$(basename "$cap")
	echo
	echo "== $name"
	tshark -r "$cap" -Y "tls.handshake.type == 1" -T fields -E separator='|' \
		-e tls.handshake.ja3_full -e tls.handshake.ja3 \
		-e tls.handshake.extensions_server_name \
		-e tls.handshake.extensions_alpn_str 2>/dev/null |
		while IFS='|' read -r full hash sni alpn; do
			echo "client ja3_full:  $full"
			echo "client ja3:       $hash"
			echo "client sni:       $sni"
			echo "client alpn:      $alpn"
		done
	echo "client ja4 (ja4_ref.py): $("$PY" "$here/ja4_ref.py" "$cap" | tr '\n' ' ')"
	tshark -r "$cap" -Y "tls.handshake.type == 2" -T fields -E separator='|' \
		-e tls.handshake.ja3s_full -e tls.handshake.ja3s \
		-e tls.handshake.ciphersuite -e tls.handshake.extensions.supported_version \
		-e tls.handshake.extensions_alpn_str 2>/dev/null |
		while IFS='|' read -r full hash cs sv alpn; do
			echo "server ja3s_full: $full"
			echo "server ja3s:      $hash"
			echo "server cipher:    $cs"
			echo "server version:   $sv"
			echo "server alpn:      $alpn"
		done
	cert=$(tshark -r "$cap" -Y "tls.handshake.type == 11" -T fields \
		-e tls.handshake.certificate 2>/dev/null | head -n 1 | cut -d, -f1)
	if [ -n "$cert" ]; then
		echo "$cert" | tr -d ':' | xxd -r -p >"$tmp/cert.der"
		openssl x509 -inform DER -in "$tmp/cert.der" -noout -subject -issuer -serial \
			-startdate -enddate -fingerprint -sha256 \
			-nameopt esc_2253,esc_ctrl,utf8,sep_comma_plus_space,sname |
			sed 's/^/cert /'
	else
		echo "cert (none visible)"
	fi
done
