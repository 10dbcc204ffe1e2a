#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The mailtap mail lab: real Postfix and Dovecot in one network namespace,
# real clients (swaks, curl, Python's smtplib/imaplib/poplib) in another,
# joined by a veth pair; tcpdump on the server side of the veth writes one
# pcap per scenario, and truth.py writes what the scenario did next to it.
#
#   sh tests/lab/lab.sh [SCENARIO ...]      (default: every scenario)
#
# Output: tests/captures/lab/NAME.pcap and NAME.truth.json (another
# directory with MAILTAP_LAB_OUT=DIR; MAILTAP_LAB_LOGS=DIR keeps the daemons'
# logs and the raw client results there). See tests/lab/README.md for the
# scenarios, the address plan and what each capture is for.
#
# Needs root (namespaces, daemons). Installs its Debian packages through
# mk/deps.sh lab (skip with MAILTAP_LAB_NO_DEPS=1); if that installation
# started the system's own postfix or dovecot, they are stopped again. The
# lab never reads or changes /etc/postfix or /etc/dovecot: both daemons run
# from configuration generated from the templates in this directory into a
# temporary directory, inside the server namespace, and nothing leaves the
# two namespaces (198.51.100.0/24 and 2001:db8:25::/64 exist only there).
#
# Re-runnable: names carry this shell's PID, and an EXIT trap stops the
# daemons, tcpdump and relays, deletes the namespaces (and with them the
# veths) and removes the temporary directory, whatever the exit path. Leftovers
# of an earlier run that was killed with SIGKILL are removed at start.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${MAILTAP_LAB_OUT:-$root/tests/captures/lab}
# Debian's python3: the clients use only its standard library, and it is
# the version the truth files name, whatever python3 comes first on PATH.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
MAX_BYTES=204800

log() { echo "lab: $*" >&2; }
die() {
	echo "lab: error: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces and runs mail daemons)"

all=$("$PY" "$here/labclient.py" list)
scenarios=${*:-$all}
for s in $scenarios; do
	case " $all " in *" $s "*) ;; *) die "unknown scenario \`$s' (known: $all)" ;; esac
done

# --- packages ------------------------------------------------------------
sys_daemons() {
	# SERVICE:PID of the system's own postfix and dovecot masters, from
	# their default pid files (never anything of a lab instance).
	for sp in postfix:/var/spool/postfix/pid/master.pid dovecot:/run/dovecot/master.pid; do
		f=${sp#*:}
		[ -r "$f" ] || continue
		p=$(tr -dc 0-9 <"$f")
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "${sp%%:*}:$p"
	done
	return 0
}
if [ "${MAILTAP_LAB_NO_DEPS:-0}" != 1 ]; then
	before=$(sys_daemons)
	sh "$root/mk/deps.sh" lab
	for sp in $(sys_daemons); do
		case " $before " in *" $sp "*) continue ;; esac
		log "stopping the system's ${sp%%:*} (pid ${sp#*:}): the package installation started it"
		if [ -d /run/systemd/system ]; then
			systemctl stop "${sp%%:*}" || kill -TERM "${sp#*:}" || true
		else
			kill -TERM "${sp#*:}" 2>/dev/null || true
		fi
	done
	# python3 may have come with the packages.
	if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; fi
fi
for t in ip tcpdump ethtool openssl swaks curl postfix postconf dovecot ss; do
	command -v "$t" >/dev/null 2>&1 || die "\`$t' not found (sh mk/deps.sh lab)"
done

# --- names and addresses -------------------------------------------------
ns_s=mailtap-lab-s-$$
ns_c=mailtap-lab-c-$$
if_s=mlabs$$
if_c=mlabc$$
srv4=198.51.100.2
srv6=2001:db8:25::2
mitm4=198.51.100.3
cli4=198.51.100.10
cli6=2001:db8:25::10
extra4="198.51.100.101 198.51.100.102 198.51.100.103 198.51.100.104 198.51.100.105 198.51.100.106 198.51.100.107 198.51.100.108 198.51.100.109 198.51.100.110"
srv_mac=02:00:00:00:25:02
cli_mac=02:00:00:00:25:10
host=mail.example.test

in_s() { ip netns exec "$ns_s" "$@"; }
in_c() { ip netns exec "$ns_c" "$@"; }

# Processes still in a namespace: this lab's own, so it may end them.
kill_ns() {
	pids=$(ip netns pids "$1" 2>/dev/null || true)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086 # a list of PIDs
	kill -TERM $pids 2>/dev/null || true
	i=0
	while [ -n "$(ip netns pids "$1" 2>/dev/null || true)" ] && [ $i -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pids=$(ip netns pids "$1" 2>/dev/null || true)
	# shellcheck disable=SC2086 # a list of PIDs
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

# Leftovers of an earlier run whose shell no longer exists.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
	case $ns in mailtap-lab-[sc]-*) ;; *) continue ;; esac
	owner=${ns##*-}
	case $owner in *[!0-9]* | "") continue ;; esac
	kill -0 "$owner" 2>/dev/null && continue
	log "removing stale namespace $ns"
	kill_ns "$ns"
	ip netns del "$ns" 2>/dev/null || true
done
for d in /tmp/mailtap-lab.*; do
	[ -f "$d/owner.pid" ] || continue
	kill -0 "$(cat "$d/owner.pid")" 2>/dev/null && continue
	log "removing stale directory $d"
	rm -rf "$d"
done

tmp=$(mktemp -d /tmp/mailtap-lab.XXXXXX)
echo $$ >"$tmp/owner.pid"
# The daemons' unprivileged users (postfix, dovenull, mail) walk this path.
chmod 755 "$tmp"
tcpdump_pid=""
mitm_pid=""
client_pid=""

cleanup() {
	rc=$?
	set +e
	trap - EXIT INT TERM HUP
	for p in $client_pid $mitm_pid $tcpdump_pid; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ -f "$tmp/postfix/etc/main.cf" ]; then
		in_s postfix -c "$tmp/postfix/etc" stop >/dev/null 2>&1
	fi
	if [ -f "$tmp/dovecot/run/master.pid" ]; then
		in_s dovecot -c "$tmp/dovecot/dovecot.conf" stop >/dev/null 2>&1
	fi
	kill_ns "$ns_s"
	kill_ns "$ns_c"
	ip netns del "$ns_s" 2>/dev/null
	ip netns del "$ns_c" 2>/dev/null
	if [ -n "${MAILTAP_LAB_LOGS:-}" ] && [ -d "$tmp/log" ]; then
		mkdir -p "$MAILTAP_LAB_LOGS" && cp -r "$tmp"/log/. "$tmp"/out "$MAILTAP_LAB_LOGS"/
	fi
	if [ $rc -ne 0 ] && [ -d "$tmp/log" ]; then
		for f in "$tmp"/log/*; do
			[ -s "$f" ] || continue
			echo "lab: last lines of $(basename "$f"):" >&2
			tail -n 15 "$f" | sed 's/^/    /' >&2
		done
	fi
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

wait_listen() { # NS PORT ADDR...
	ns=$1 port=$2
	i=0
	until ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q .; do
		i=$((i + 1))
		[ $i -le 100 ] || die "nothing listens on port $port in $ns"
		sleep 0.1
	done
}

# --- network -------------------------------------------------------------
log "network: $ns_c ($cli4, $cli6) <-> $ns_s ($srv4, $srv6)"
ip netns add "$ns_s"
ip netns add "$ns_c"
ip link add "$if_c" address $cli_mac netns "$ns_c" type veth \
	peer name "$if_s" address $srv_mac netns "$ns_s"
link_setup() { # NS DEV
	ip -n "$1" link set lo up
	# No GRO/GSO/TSO: tcpdump must see wire-sized frames, not super-frames.
	# No checksum offload either: on a veth the kernel never fills in a
	# partial checksum, and every captured TCP segment would carry a wrong one.
	ip netns exec "$1" ethtool -K "$2" gro off gso off tso off tx off rx off >/dev/null 2>&1 ||
		die "ethtool -K $2 gro off gso off tso off tx off rx off failed"
	# No IPv6 router solicitations or autoconfiguration noise.
	ip netns exec "$1" sysctl -qw net.ipv6.conf."$2".accept_ra=0 net.ipv6.conf."$2".autoconf=0 \
		net.ipv6.conf."$2".router_solicitations=0
}
link_setup "$ns_s" "$if_s"
link_setup "$ns_c" "$if_c"
ip -n "$ns_s" addr add $srv4/24 dev "$if_s"
ip -n "$ns_s" addr add $mitm4/24 dev "$if_s"
ip -n "$ns_s" addr add $srv6/64 dev "$if_s" nodad
ip -n "$ns_c" addr add $cli4/24 dev "$if_c"
for a in $extra4; do ip -n "$ns_c" addr add "$a/24" dev "$if_c"; done
ip -n "$ns_c" addr add $cli6/64 dev "$if_c" nodad
ip -n "$ns_s" link set "$if_s" up
ip -n "$ns_c" link set "$if_c" up

# --- configuration -------------------------------------------------------
mkdir -p "$tmp/tls" "$tmp/log" "$tmp/postfix/etc" "$tmp/postfix/spool" "$tmp/postfix/data" \
	"$tmp/dovecot" "$tmp/mail" "$tmp/out" "$tmp/client"
chown postfix "$tmp/postfix/data"
chown mail:mail "$tmp/mail"
chmod 777 "$tmp/client"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
	-subj "/O=mailtap lab/CN=$host" -addext "subjectAltName=DNS:$host,DNS:example.test" \
	-keyout "$tmp/tls/key.pem" -out "$tmp/tls/cert.pem" 2>"$tmp/log/openssl.log" ||
	die "openssl req failed: $(cat "$tmp/log/openssl.log")"
chmod 600 "$tmp/tls/key.pem"
rm -f "$tmp/log/openssl.log"
cert_fp=$(openssl x509 -in "$tmp/tls/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
cert_subject=$(openssl x509 -in "$tmp/tls/cert.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')

cfg=$tmp/lab.json
# shellcheck disable=SC2086 # a list of addresses
extra_json=$(printf '"%s",' $extra4 | sed 's/,$//')
cat >"$cfg" <<EOF
{"lab": "$tmp", "tmp": "$tmp/client", "srv4": "$srv4", "srv6": "$srv6", "mitm4": "$mitm4",
 "cli4": "$cli4", "cli6": "$cli6", "extra4": [$extra_json], "host": "$host",
 "srv_mac": "$srv_mac", "cli_mac": "$cli_mac", "swaks": "$(command -v swaks)",
 "cert": {"subject": "$cert_subject", "sha256_fingerprint": "$cert_fp", "key": "EC P-256, self-signed, made by lab.sh"}}
EOF

subst() {
	sed -e "s|@LAB@|$tmp|g" -e "s|@SRV4@|$srv4|g" -e "s|@SRV6@|$srv6|g" \
		-e "s|@MITM4@|$mitm4|g" -e "s|@HOST@|$host|g" -e "s|@INSTANCE@|mailtap-lab-$$|g" "$1" >"$2"
}
subst "$here/main.cf.in" "$tmp/postfix/etc/main.cf"
subst "$here/master.cf.in" "$tmp/postfix/etc/master.cf"
subst "$here/dovecot.conf.in" "$tmp/dovecot/dovecot.conf"
"$PY" "$here/labclient.py" "$cfg" setup-files
chmod 644 "$tmp/dovecot/users"

# --- daemons -------------------------------------------------------------
log "starting dovecot $(dovecot --version | cut -d' ' -f1) and postfix $(postconf -d -h mail_version)"
in_s dovecot -c "$tmp/dovecot/dovecot.conf" ||
	die "dovecot did not start: $(tail -n 20 "$tmp/log/dovecot.log" 2>/dev/null)"
in_s postfix -c "$tmp/postfix/etc" start >"$tmp/log/postfix-start.log" 2>&1 ||
	die "postfix did not start: $(cat "$tmp/log/postfix-start.log")"
for port in 25 465 587 110 143 993 995; do
	wait_listen "$ns_s" $port
done
i=0
until [ -S "$tmp/dovecot/run/auth-postfix" ]; do
	i=$((i + 1))
	[ $i -le 50 ] || die "dovecot's auth socket for postfix did not appear"
	sleep 0.1
done

"$PY" "$here/truth.py" versions >"$tmp/versions.json"

# --- scenarios -----------------------------------------------------------
start_capture() {
	rm -f "$tmp/cap.pcap" "$tmp/log/tcpdump.log"
	# Immediate mode and -U: the last packets are written before we stop.
	# -Z root: tcpdump would otherwise drop to a user that cannot write $tmp.
	ip netns exec "$ns_s" tcpdump -i "$if_s" -n -s 0 -U --immediate-mode -Z root \
		-w "$tmp/cap.pcap" 2>"$tmp/log/tcpdump.log" &
	tcpdump_pid=$!
	i=0
	until grep -q "listening on" "$tmp/log/tcpdump.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || die "tcpdump did not start: $(cat "$tmp/log/tcpdump.log")"
		sleep 0.1
	done
	sleep 0.3
}

stop_capture() {
	sleep 0.7
	# TERM, not INT: sh starts background jobs with SIGINT ignored.
	kill -TERM "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=""
	grep -q "packets captured" "$tmp/log/tcpdump.log" || die "tcpdump failed: $(cat "$tmp/log/tcpdump.log")"
}

mkdir -p "$out"
t_all=$(date +%s)
for name in $scenarios; do
	t0=$(date +%s)
	res=$tmp/out/$name.json
	spec=$("$PY" "$here/labclient.py" "$cfg" seed-spec "$name")
	if [ -n "$spec" ]; then
		# shellcheck disable=SC2086 # USER COUNT SIZE
		"$PY" "$here/labclient.py" "$cfg" seed $spec >"$res.seed"
	fi
	start_capture
	case $name in
	starttls_stripping | starttls_stripping_454)
		mode=mangle
		[ "$name" = starttls_stripping_454 ] && mode=454
		ip netns exec "$ns_s" "$PY" "$here/mitm.py" $mode $mitm4 587 $srv4 587 1 \
			>"$tmp/log/mitm.log" 2>&1 &
		mitm_pid=$!
		i=0
		until grep -q listening "$tmp/log/mitm.log" 2>/dev/null; do
			i=$((i + 1))
			[ $i -le 100 ] || die "mitm relay did not start: $(cat "$tmp/log/mitm.log")"
			sleep 0.1
		done
		;;
	esac
	# In the background and waited for, so that a signal to this shell
	# runs the cleanup at once instead of after the client is done.
	ip netns exec "$ns_c" "$PY" "$here/labclient.py" "$cfg" "$name" "$res" &
	client_pid=$!
	wait "$client_pid" || die "scenario $name: client failed"
	client_pid=""
	if [ -n "$mitm_pid" ]; then
		wait "$mitm_pid" || die "mitm relay failed: $(cat "$tmp/log/mitm.log")"
		mitm_pid=""
	fi
	stop_capture
	"$PY" "$here/truth.py" "$cfg" "$name" "$tmp/cap.pcap" "$res" "$tmp/versions.json" \
		"$tmp/out/$name.truth.json"
	size=$(wc -c <"$tmp/cap.pcap")
	[ "$size" -le $MAX_BYTES ] || die "$name.pcap is $size bytes, over the $MAX_BYTES byte budget"
	mv "$tmp/cap.pcap" "$out/$name.pcap"
	mv "$tmp/out/$name.truth.json" "$out/$name.truth.json"
	chmod 644 "$out/$name.pcap" "$out/$name.truth.json"
	log "$(printf '%-26s %7d bytes  %s  %ss' "$name" "$size" \
		"$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$tmp/log/tcpdump.log" | head -n1) packets" \
		$(($(date +%s) - t0)))"
done
log "done in $(($(date +%s) - t_all))s: captures and truth files in $out"
