#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs the Debian packages a make target needs. Usage: deps.sh SET...
# Sets: build test demo bench fuzz lab. As root, missing packages are
# installed with apt-get; otherwise the command to run is printed.
set -e

pkgs_build="gcc make pkg-config libpcap-dev libdpdk-dev dpdk libmbedtls-dev libsqlite3-dev sqlite3 libbpf-dev libxdp-dev bpftool clang llvm"
pkgs_test="$pkgs_build libcmocka-dev tshark tcpdump iproute2 python3 python3-scapy libclang-rt-14-dev procps libfixbuf-tools openssl"
pkgs_demo="$pkgs_build python3"
pkgs_bench="$pkgs_build dpdk-dev libndpi-bin valgrind tshark libfixbuf-tools openssl python3"
pkgs_fuzz="$pkgs_build clang libclang-rt-14-dev"
pkgs_lab="$pkgs_test postfix dovecot-imapd dovecot-pop3d swaks curl libnet-ssleay-perl ethtool openssl"

want=""
for set in "$@"; do
	eval "want=\"\$want \$pkgs_$set\""
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "mailtap: missing Debian packages:$missing" >&2
	echo "mailtap: run as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "mailtap: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Non-interactive answers for packages that ask questions.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
if ! apt-get install -y $missing >/tmp/mailtap-apt.log 2>&1; then
	apt-get update >>/tmp/mailtap-apt.log 2>&1 || true
	apt-get install -y $missing >>/tmp/mailtap-apt.log 2>&1 || {
		echo "mailtap: apt-get failed, see /tmp/mailtap-apt.log" >&2
		tail -20 /tmp/mailtap-apt.log >&2
		exit 1
	}
fi
