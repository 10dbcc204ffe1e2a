/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INI parser and the key table. The parser is a line reader with a hard
 * line cap; values are validated against the table and every problem is
 * reported with file, line, section and key. Control plane only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "export.h"
#include "identity.h"

#define MT_CONFIG_LINE_MAX 4096

#define OFF(f) ((uint32_t)offsetof(struct mt_config, f))
#define W(f) ((uint8_t)sizeof(((struct mt_config *)0)->f))

/* The allow-list keys of one [detect] detector: NAME_sources, NAME_users
 * (when the detector keys on users) and NAME_servers. */
#define DETECT_ALLOW_KEY(f, k, t, what, help) \
	{ "detect", k, t, 0, OFF(detect.f), 0, 0, "", help " (" what ")." }
#define DETECT_ALLOW(f, what, users)                                           \
	DETECT_ALLOW_KEY(f.sources, #f "_sources", MT_CT_ADDRS, what,           \
			 "Source addresses or CIDR prefixes never alerted on"),  \
	DETECT_ALLOW_KEY(f.servers, #f "_servers", MT_CT_ADDRS, what,           \
			 "Server addresses or CIDR prefixes never alerted on")   \
	DETECT_ALLOW_USERS_##users(f, what)
#define DETECT_ALLOW_USERS_true(f, what)                                       \
	, DETECT_ALLOW_KEY(f.users, #f "_users", MT_CT_NAMES, what,              \
			   "User names never alerted on")
#define DETECT_ALLOW_USERS_false(f, what)

const struct mt_config_key mt_config_keys[] = {
	{ "flow", "capacity", MT_CT_U32, W(flow.capacity), OFF(flow.capacity),
	  1, 100000000, "65536",
	  "Flows tracked per worker. Memory is allocated at start-up (see docs/flows.md)." },
	{ "flow", "timeout_new", MT_CT_DURATION, W(flow.timeout_new_ns),
	  OFF(flow.timeout_new_ns), MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "30s",
	  "Idle time after which a TCP flow whose handshake never completed ends." },
	{ "flow", "timeout_established", MT_CT_DURATION,
	  W(flow.timeout_established_ns), OFF(flow.timeout_established_ns),
	  MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "600s",
	  "Idle time after which an established TCP flow ends (reason timeout)." },
	{ "flow", "timeout_closed", MT_CT_DURATION, W(flow.timeout_closed_ns),
	  OFF(flow.timeout_closed_ns), 0, 3600 * MT_NS_PER_SEC, "5s",
	  "Time a flow closed by FIN or RST waits for stragglers before its record is written." },
	{ "flow", "timeout_udp", MT_CT_DURATION, W(flow.timeout_udp_ns),
	  OFF(flow.timeout_udp_ns), MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "60s",
	  "Idle time after which a UDP flow ends." },
	{ "flow", "vlan_in_key", MT_CT_BOOL, W(flow.vlan_in_key),
	  OFF(flow.vlan_in_key), 0, 1, "yes",
	  "VLAN ids are part of the flow key: the same 5-tuple on two VLANs is two flows." },
	{ "stream", "ooo_max_bytes", MT_CT_SIZE, W(stream.ooo_max_bytes),
	  OFF(stream.ooo_max_bytes), 0, 64u << 20, "64k",
	  "Out-of-order bytes held per flow direction before the hole is declared a gap." },
	{ "stream", "ooo_pool_bytes", MT_CT_SIZE, W(stream.ooo_pool_bytes),
	  OFF(stream.ooo_pool_bytes), 0, 64ull << 30, "16M",
	  "Out-of-order buffer shared by all flows of one worker." },
	{ "analyzers", "smtp_ports", MT_CT_PORTS, 0, OFF(analyzers.smtp_ports), 0, 0,
	  "25 587",
	  "Server ports analysed as SMTP and submission (content decides if another protocol answers)." },
	{ "analyzers", "imap_ports", MT_CT_PORTS, 0, OFF(analyzers.imap_ports), 0, 0,
	  "143", "Server ports analysed as IMAP." },
	{ "analyzers", "pop3_ports", MT_CT_PORTS, 0, OFF(analyzers.pop3_ports), 0, 0,
	  "110", "Server ports analysed as POP3." },
	{ "analyzers", "tls_ports", MT_CT_PORTS, 0, OFF(analyzers.tls_ports), 0, 0,
	  "465 993 995 443",
	  "Server ports analysed as TLS: implicit-TLS mail and HTTPS mail front-ends." },
	{ "analyzers", "detect_other_ports", MT_CT_BOOL, W(analyzers.detect_other_ports),
	  OFF(analyzers.detect_other_ports), 0, 1, "yes",
	  "Recognise SMTP, IMAP and POP3 on any other TCP port from the first bytes each side sends." },
	{ "analyzers", "max_sessions", MT_CT_U32, W(analyzers.max_sessions),
	  OFF(analyzers.max_sessions), 0, 16000000, "4096",
	  "Mail sessions analysed at once per worker; beyond it flows are still recorded but not analysed." },
	{ "analyzers", "smtp_reply_max", MT_CT_U32, W(analyzers.smtp_reply_max),
	  OFF(analyzers.smtp_reply_max), 64, 65536, "1024",
	  "Longest SMTP reply line kept (commands are capped at RFC 5321's 512 bytes)." },
	{ "analyzers", "smtp_rcpt_max", MT_CT_U32, W(analyzers.smtp_rcpt_max),
	  OFF(analyzers.smtp_rcpt_max), 1, 1024, "64",
	  "Recipients stored per SMTP transaction; all are counted." },
	{ "analyzers", "imap_line_max", MT_CT_U32, W(analyzers.imap_line_max),
	  OFF(analyzers.imap_line_max), 128, 1u << 20, "4096",
	  "Longest IMAP command or response line (outside literals) kept." },
	{ "analyzers", "imap_literal_max", MT_CT_SIZE, W(analyzers.imap_literal_max),
	  OFF(analyzers.imap_literal_max), 1, 1ull << 40, "256M",
	  "IMAP literals announced larger than this are reported as an anomaly (they are still skipped, never buffered)." },
	{ "analyzers", "pop3_line_max", MT_CT_U32, W(analyzers.pop3_line_max),
	  OFF(analyzers.pop3_line_max), 64, 65536, "1024",
	  "Longest POP3 command or status line kept." },
	{ "analyzers", "mime_header_max", MT_CT_U32, W(analyzers.mime_header_max),
	  OFF(analyzers.mime_header_max), 128, 65536, "2048",
	  "Longest (unfolded) message header field kept." },
	{ "analyzers", "mime_headers_max", MT_CT_U32, W(analyzers.mime_headers_max),
	  OFF(analyzers.mime_headers_max), 8, 100000, "512",
	  "Header fields per message part before the rest are skipped." },
	{ "analyzers", "mime_depth_max", MT_CT_U32, W(analyzers.mime_depth_max),
	  OFF(analyzers.mime_depth_max), 1, 32, "8",
	  "Nesting of multipart bodies followed." },
	{ "analyzers", "mime_parts_max", MT_CT_U32, W(analyzers.mime_parts_max),
	  OFF(analyzers.mime_parts_max), 1, 100000, "64",
	  "Parts per message analysed (attachments beyond it are not hashed)." },
	{ "analyzers", "tls_handshake_max", MT_CT_SIZE, W(analyzers.tls_handshake_max),
	  OFF(analyzers.tls_handshake_max), 1024, 1u << 20, "16k",
	  "Largest TLS hello or server certificate reassembled (only the chain's first certificate is kept; the rest is skipped unbuffered). Each analyzer session slot holds one buffer of this size." },
	{ "dpdk", "eal_args", MT_CT_STR, 0, OFF(dpdk.eal_args), 0, 0, "",
	  "DPDK EAL arguments, as on a DPDK command line; give the main lcore plus one lcore per port and RX queue (for example -l 0,1 --no-pci --vdev net_pcap0,rx_pcap=x.pcap)." },
	{ "dpdk", "ports", MT_CT_STR, 0, OFF(dpdk.ports), 0, 0, "0",
	  "DPDK port ids to receive from, space separated." },
	{ "dpdk", "rx_queues", MT_CT_U32, W(dpdk.rx_queues), OFF(dpdk.rx_queues),
	  1, 128, "1",
	  "RX queues per port; one worker lcore per queue, symmetric RSS across them." },
	{ "dpdk", "rx_desc", MT_CT_U32, W(dpdk.rx_desc), OFF(dpdk.rx_desc), 64,
	  32768, "1024", "RX descriptors per queue." },
	{ "dpdk", "mbufs", MT_CT_U32, W(dpdk.mbufs), OFF(dpdk.mbufs), 1023,
	  16777215, "16383", "Packet buffers in the pool (per port)." },
	{ "dpdk", "mbuf_cache", MT_CT_U32, W(dpdk.mbuf_cache),
	  OFF(dpdk.mbuf_cache), 0, 512, "256", "Per-lcore mbuf cache size." },
	{ "dpdk", "burst", MT_CT_U32, W(dpdk.burst), OFF(dpdk.burst), 1, 512,
	  "32", "Packets requested per rx_burst call." },
	{ "dpdk", "promiscuous", MT_CT_BOOL, W(dpdk.promiscuous),
	  OFF(dpdk.promiscuous), 0, 1, "yes",
	  "Put ports in promiscuous mode (a tap sees other hosts' traffic)." },
	{ "dpdk", "idle_exit", MT_CT_DURATION, W(dpdk.idle_exit_ns),
	  OFF(dpdk.idle_exit_ns), 0, 86400 * MT_NS_PER_SEC, "0",
	  "Replay mode: exit after this long without packets on any queue and keep packet time frozen while idle (0 = run until signalled, live clock)." },
	{ "dpdk", "record_ring", MT_CT_U32, W(dpdk.record_ring),
	  OFF(dpdk.record_ring), 64, 1u << 24, "4096",
	  "Records buffered between each worker and the main lcore (rounded up to a power of two)." },
	{ "output", "json", MT_CT_STR, 0, OFF(output.json), 0, 0, "",
	  "Write EVE-style JSON lines to this file (- for standard output, empty for none)." },
	{ "output", "stats_interval", MT_CT_DURATION, W(output.stats_interval_ns),
	  OFF(output.stats_interval_ns), 0, 86400 * MT_NS_PER_SEC, "0",
	  "Emit a stats record this often: packet time with --read, wall time on DPDK (0 = only at exit)." },
	{ "export", "collector", MT_CT_STR, 0, OFF(export.collector), 0, 0, "",
	  "Collector to export records to, as host or host:port (port 4740 by default); empty: no export." },
	{ "export", "server_name", MT_CT_STR, 0, OFF(export.server_name), 0, 0, "",
	  "Name the collector's certificate must carry (empty: the host of export.collector)." },
	{ "export", "tls", MT_CT_BOOL, W(export.tls), OFF(export.tls), 0, 1, "yes",
	  "Mutual TLS to the collector; no sends plaintext IPFIX over TCP (lab, plain IPFIX collectors)." },
	{ "export", "ack", MT_CT_BOOL, W(export.ack), OFF(export.ack), 0, 1, "yes",
	  "Wait for the collector's acknowledgements; no counts a message delivered once written." },
	{ "export", "ca", MT_CT_STR, 0, OFF(export.ca), 0, 0, "/etc/mailtap/ca.crt",
	  "CA certificate the collector's certificate must chain to." },
	{ "export", "cert", MT_CT_STR, 0, OFF(export.cert), 0, 0, "/etc/mailtap/appliance.crt",
	  "This appliance's certificate." },
	{ "export", "key", MT_CT_STR, 0, OFF(export.key), 0, 0, "/etc/mailtap/appliance.key",
	  "This appliance's private key." },
	{ "export", "domain_id", MT_CT_U32, W(export.domain_id), OFF(export.domain_id),
	  0, UINT32_MAX, "1",
	  "IPFIX observation domain of this appliance: unique per appliance at one collector." },
	{ "export", "message_size", MT_CT_SIZE, W(export.message_size),
	  OFF(export.message_size), 512, 65535, "16000",
	  "Largest IPFIX message sent (a larger single record still gets a message of its own)." },
	{ "export", "flush_interval", MT_CT_DURATION, W(export.flush_interval_ns),
	  OFF(export.flush_interval_ns), 10 * MT_NS_PER_MS, 3600 * MT_NS_PER_SEC, "1s",
	  "A partly filled message is closed and sent after this long." },
	{ "export", "ring_size", MT_CT_SIZE, W(export.ring_size), OFF(export.ring_size),
	  64u << 10, 1ull << 30, "8M",
	  "Records buffered between the main thread and the export thread; beyond it records are dropped and counted." },
	{ "export", "spool_dir", MT_CT_STR, 0, OFF(export.spool_dir), 0, 0,
	  "/var/lib/mailtap/spool",
	  "Directory of the spool: every message is written here before it is sent and removed once acknowledged." },
	{ "export", "spool_max", MT_CT_SIZE, W(export.spool_max), OFF(export.spool_max),
	  64u << 10, 64ull << 30, "1G",
	  "Spool size beyond which the oldest low-priority messages are dropped first." },
	{ "export", "spool_segment", MT_CT_SIZE, W(export.spool_segment),
	  OFF(export.spool_segment), 4u << 10, 1u << 30, "4M",
	  "Size of one spool file (the unit in which the spool is freed and dropped)." },
	{ "export", "reconnect_min", MT_CT_DURATION, W(export.reconnect_min_ns),
	  OFF(export.reconnect_min_ns), 10 * MT_NS_PER_MS, 3600 * MT_NS_PER_SEC, "1s",
	  "First delay before reconnecting; doubled on each failure, with jitter." },
	{ "export", "reconnect_max", MT_CT_DURATION, W(export.reconnect_max_ns),
	  OFF(export.reconnect_max_ns), 10 * MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "60s",
	  "Longest delay between reconnection attempts." },
	{ "export", "handshake_timeout", MT_CT_DURATION, W(export.handshake_timeout_ns),
	  OFF(export.handshake_timeout_ns), 100 * MT_NS_PER_MS, 600 * MT_NS_PER_SEC, "10s",
	  "Time allowed for the TCP connection and the TLS handshake." },
	{ "export", "drain_timeout", MT_CT_DURATION, W(export.drain_timeout_ns),
	  OFF(export.drain_timeout_ns), 0, 3600 * MT_NS_PER_SEC, "10s",
	  "At shutdown, time to wait for acknowledgements; what is left stays spooled for the next start." },
	{ "export", "identity", MT_CT_STR, 0, OFF(export.identity), 0, 0, "clear",
	  "User names in records: clear, hmac (HMAC-SHA256 with export.identity_key) or none." },
	{ "export", "identity_key", MT_CT_STR, 0, OFF(export.identity_key), 0, 0, "",
	  "File with the HMAC key for export.identity = hmac: at least 32 bytes, raw or hex." },
	/* [detect]: detectors on the main thread (detect.c, docs/detection.md). */
	{ "detect", "enable", MT_CT_BOOL, W(detect.enable), OFF(detect.enable), 0, 1,
	  "yes", "Run detection on the records and write alert records." },
	{ "detect", "update_interval", MT_CT_DURATION, W(detect.update_interval_ns),
	  OFF(detect.update_interval_ns), MT_NS_PER_SEC, 86400 * MT_NS_PER_SEC, "60s",
	  "Least packet time between two updates of one alert (sooner when its evidence doubles)." },
	{ "detect", "compromise_window", MT_CT_DURATION, W(detect.compromise_window_ns),
	  OFF(detect.compromise_window_ns), MT_NS_PER_SEC, 86400 * MT_NS_PER_SEC, "10m",
	  "A login success this long after a brute force, spraying or stuffing alert raises a likely-compromise alert." },
	DETECT_ALLOW(allow, "every detector", true),
	{ "detect", "bruteforce_enable", MT_CT_BOOL, W(detect.bruteforce_enable),
	  OFF(detect.bruteforce_enable), 0, 1, "yes", "Brute-force detector." },
	{ "detect", "bruteforce_failures", MT_CT_U32, W(detect.bruteforce_failures),
	  OFF(detect.bruteforce_failures), 2, 1000000, "10",
	  "Failed logins from one source address (or prefix) within bruteforce_window that raise an alert." },
	{ "detect", "bruteforce_window", MT_CT_DURATION, W(detect.bruteforce_window_ns),
	  OFF(detect.bruteforce_window_ns), 10 * MT_NS_PER_SEC, 86400 * MT_NS_PER_SEC, "60s",
	  "Sliding window of the brute-force count." },
	{ "detect", "bruteforce_prefix4", MT_CT_U32, W(detect.bruteforce_prefix4),
	  OFF(detect.bruteforce_prefix4), 0, 32, "24",
	  "IPv4 prefix length over which failures are also summed (0: per address only)." },
	{ "detect", "bruteforce_prefix6", MT_CT_U32, W(detect.bruteforce_prefix6),
	  OFF(detect.bruteforce_prefix6), 0, 128, "64",
	  "IPv6 prefix length over which failures are also summed (0: per address only)." },
	DETECT_ALLOW(bruteforce_allow, "brute force", true),
	{ "detect", "spraying_enable", MT_CT_BOOL, W(detect.spraying_enable),
	  OFF(detect.spraying_enable), 0, 1, "yes", "Password-spraying detector." },
	{ "detect", "spraying_users", MT_CT_U32, W(detect.spraying_users),
	  OFF(detect.spraying_users), 2, 32, "10",
	  "Distinct user names failing from one source within spraying_window that raise an alert." },
	{ "detect", "spraying_window", MT_CT_DURATION, W(detect.spraying_window_ns),
	  OFF(detect.spraying_window_ns), 10 * MT_NS_PER_SEC, 86400 * MT_NS_PER_SEC, "10m",
	  "Sliding window of the spraying count." },
	DETECT_ALLOW(spraying_allow, "password spraying", true),
	{ "detect", "stuffing_enable", MT_CT_BOOL, W(detect.stuffing_enable),
	  OFF(detect.stuffing_enable), 0, 1, "yes",
	  "Credential-stuffing (distributed brute force) detector." },
	{ "detect", "stuffing_sources", MT_CT_U32, W(detect.stuffing_sources),
	  OFF(detect.stuffing_sources), 2, 32, "8",
	  "Distinct source addresses failing for one user name within stuffing_window that raise an alert." },
	{ "detect", "stuffing_window", MT_CT_DURATION, W(detect.stuffing_window_ns),
	  OFF(detect.stuffing_window_ns), 10 * MT_NS_PER_SEC, 86400 * MT_NS_PER_SEC, "10m",
	  "Sliding window of the stuffing count." },
	DETECT_ALLOW(stuffing_allow, "credential stuffing", true),
	{ "detect", "cleartext_enable", MT_CT_BOOL, W(detect.cleartext_enable),
	  OFF(detect.cleartext_enable), 0, 1, "yes", "Cleartext-credentials detector." },
	{ "detect", "cleartext_failures", MT_CT_BOOL, W(detect.cleartext_failures),
	  OFF(detect.cleartext_failures), 0, 1, "no",
	  "Also report cleartext credentials of failed logins (off: only those that worked or whose result is unknown)." },
	{ "detect", "cleartext_window", MT_CT_DURATION, W(detect.cleartext_window_ns),
	  OFF(detect.cleartext_window_ns), 60 * MT_NS_PER_SEC, 30 * 86400 * MT_NS_PER_SEC, "24h",
	  "Cleartext credentials are reported once per server and user in this time." },
	DETECT_ALLOW(cleartext_allow, "cleartext credentials", true),
	{ "detect", "starttls_enable", MT_CT_BOOL, W(detect.starttls_enable),
	  OFF(detect.starttls_enable), 0, 1, "yes", "STARTTLS stripping and downgrade detector." },
	{ "detect", "starttls_memory", MT_CT_DURATION, W(detect.starttls_memory_ns),
	  OFF(detect.starttls_memory_ns), 60 * MT_NS_PER_SEC, 365 * 86400 * MT_NS_PER_SEC, "168h",
	  "How long a server (address and port) is remembered as offering STARTTLS after it last did." },
	{ "detect", "starttls_window", MT_CT_DURATION, W(detect.starttls_window_ns),
	  OFF(detect.starttls_window_ns), 10 * MT_NS_PER_SEC, 30 * 86400 * MT_NS_PER_SEC, "1h",
	  "One STARTTLS alert per server and kind of downgrade in this time (updated while it goes on)." },
	DETECT_ALLOW(starttls_allow, "STARTTLS downgrade", true),
	{ "detect", "exfil_enable", MT_CT_BOOL, W(detect.exfil_enable),
	  OFF(detect.exfil_enable), 0, 1, "yes",
	  "Mailbox exfiltration and mass-deletion detector." },
	{ "detect", "exfil_messages", MT_CT_U32, W(detect.exfil_messages),
	  OFF(detect.exfil_messages), 1, 100000000, "500",
	  "Messages one user downloads (IMAP FETCH of a body, POP3 RETR) within exfil_window that raise an alert." },
	{ "detect", "exfil_bytes", MT_CT_SIZE, W(detect.exfil_bytes),
	  OFF(detect.exfil_bytes), 1, 1ull << 50, "200M",
	  "Bytes of messages one user downloads within exfil_window that raise an alert." },
	{ "detect", "exfil_window", MT_CT_DURATION, W(detect.exfil_window_ns),
	  OFF(detect.exfil_window_ns), 10 * MT_NS_PER_SEC, 30 * 86400 * MT_NS_PER_SEC, "10m",
	  "Sliding window of the download and deletion sums." },
	{ "detect", "exfil_mailbox_percent", MT_CT_U32, W(detect.exfil_mailbox_percent),
	  OFF(detect.exfil_mailbox_percent), 1, 100, "90",
	  "A session that downloads at least this share of the messages SELECT or STAT announced raises a whole-mailbox alert." },
	{ "detect", "exfil_mailbox_min", MT_CT_U32, W(detect.exfil_mailbox_min),
	  OFF(detect.exfil_mailbox_min), 1, 100000000, "20",
	  "Mailboxes with fewer messages than this never raise a whole-mailbox alert." },
	{ "detect", "exfil_deletions", MT_CT_U32, W(detect.exfil_deletions),
	  OFF(detect.exfil_deletions), 1, 100000000, "100",
	  "Messages one user deletes (IMAP \\Deleted or EXPUNGE, POP3 DELE) within exfil_window that raise an alert." },
	DETECT_ALLOW(exfil_allow, "exfiltration", true),
	{ "detect", "exploit_enable", MT_CT_BOOL, W(detect.exploit_enable),
	  OFF(detect.exploit_enable), 0, 1, "yes",
	  "Exploit-string and protocol-abuse detector (from the analyzers' anomalies)." },
	{ "detect", "exploit_window", MT_CT_DURATION, W(detect.exploit_window_ns),
	  OFF(detect.exploit_window_ns), 10 * MT_NS_PER_SEC, 30 * 86400 * MT_NS_PER_SEC, "1h",
	  "One alert per source and kind of exploit attempt in this time (updated while it goes on)." },
	DETECT_ALLOW(exploit_allow, "exploit", false),
	{ "detect", "relay_enable", MT_CT_BOOL, W(detect.relay_enable),
	  OFF(detect.relay_enable), 0, 1, "yes", "Relay-abuse and spam-burst detector." },
	{ "detect", "relay_recipients", MT_CT_U32, W(detect.relay_recipients),
	  OFF(detect.relay_recipients), 1, 100000000, "200",
	  "Envelope recipients from one authenticated user (or, unauthenticated, one source) within relay_window that raise an alert." },
	{ "detect", "relay_senders", MT_CT_U32, W(detect.relay_senders),
	  OFF(detect.relay_senders), 2, 32, "20",
	  "Distinct envelope senders (MAIL FROM) from one source within relay_window that raise an alert." },
	{ "detect", "relay_window", MT_CT_DURATION, W(detect.relay_window_ns),
	  OFF(detect.relay_window_ns), 10 * MT_NS_PER_SEC, 30 * 86400 * MT_NS_PER_SEC, "10m",
	  "Sliding window of the relay counts." },
	DETECT_ALLOW(relay_allow, "relay abuse", true),
	{ "detect", "scan_enable", MT_CT_BOOL, W(detect.scan_enable),
	  OFF(detect.scan_enable), 0, 1, "yes", "Mail-port scan detector." },
	{ "detect", "scan_targets", MT_CT_U32, W(detect.scan_targets),
	  OFF(detect.scan_targets), 2, 32, "20",
	  "Distinct servers and ports one source tried without completing a session, within scan_window, that raise an alert." },
	{ "detect", "scan_window", MT_CT_DURATION, W(detect.scan_window_ns),
	  OFF(detect.scan_window_ns), 10 * MT_NS_PER_SEC, 30 * 86400 * MT_NS_PER_SEC, "10m",
	  "Sliding window of the scan count." },
	{ "detect", "scan_ports", MT_CT_PORTS, 0, OFF(detect.scan_ports), 0, 0,
	  "25 110 143 465 587 993 995", "Server ports the scan detector watches." },
	DETECT_ALLOW(scan_allow, "port scan", false),
	{ "detect", "auth_sources_max", MT_CT_U32, W(detect.auth_sources_max),
	  OFF(detect.auth_sources_max), 16, 16000000, "16384",
	  "Source addresses tracked by brute force and spraying (least recently active evicted)." },
	{ "detect", "auth_prefixes_max", MT_CT_U32, W(detect.auth_prefixes_max),
	  OFF(detect.auth_prefixes_max), 16, 16000000, "4096",
	  "Source prefixes tracked by brute force." },
	{ "detect", "auth_users_max", MT_CT_U32, W(detect.auth_users_max),
	  OFF(detect.auth_users_max), 16, 16000000, "16384",
	  "User names tracked by credential stuffing." },
	{ "detect", "exfil_users_max", MT_CT_U32, W(detect.exfil_users_max),
	  OFF(detect.exfil_users_max), 16, 16000000, "16384",
	  "User names (or sources without one) tracked by exfiltration." },
	{ "detect", "relay_keys_max", MT_CT_U32, W(detect.relay_keys_max),
	  OFF(detect.relay_keys_max), 16, 16000000, "8192",
	  "Users and sources tracked by relay abuse." },
	{ "detect", "scan_sources_max", MT_CT_U32, W(detect.scan_sources_max),
	  OFF(detect.scan_sources_max), 16, 16000000, "8192",
	  "Source addresses tracked by the scan detector." },
	{ "detect", "servers_max", MT_CT_U32, W(detect.servers_max),
	  OFF(detect.servers_max), 16, 16000000, "4096",
	  "Servers (address and port) remembered as offering STARTTLS." },
	{ "detect", "events_max", MT_CT_U32, W(detect.events_max),
	  OFF(detect.events_max), 16, 16000000, "16384",
	  "Keys of one-off alerts (cleartext credentials, STARTTLS, exploits, whole-mailbox downloads) remembered for their window." },
};

const unsigned mt_config_nkeys = MT_ARRAY_SIZE(mt_config_keys);

bool mt_config_parse_ports(const char *s, uint8_t map[8192], char *why,
			   size_t whylen)
{
	const char *p = s;

	memset(map, 0, 8192);
	while (*p) {
		uint64_t v = 0;
		size_t n = 0;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (isdigit((unsigned char)p[n]) && n < 6) {
			v = v * 10 + (uint64_t)(p[n] - '0');
			n++;
		}
		if (n == 0 || (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != '\t') ||
		    v == 0 || v > 65535) {
			snprintf(why, whylen, "not a port number 1-65535 at `%.20s'", p);
			return false;
		}
		map[v >> 3] |= (uint8_t)(1u << (v & 7));
		p += n;
	}
	return true;
}

bool mt_config_parse_cidr(const char *s, size_t n, struct mt_config_cidr *c)
{
	char buf[64], *slash;
	unsigned bits, plen;
	struct in6_addr a6;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(c, 0, sizeof(*c));
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c->a) == 1) {
		c->ver = 4;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		c->ver = 6;
		bits = 128;
		memcpy(c->a, &a6, 16);
	} else {
		return false;
	}
	plen = bits;
	if (slash) {
		char *end;
		unsigned long v;

		if (!isdigit((unsigned char)slash[1]))
			return false;
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno || *end || v > bits)
			return false;
		plen = (unsigned)v;
	}
	c->plen = (uint8_t)plen;
	/* Host bits are ignored, as in 198.51.100.7/24. */
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen > i * 8 ? MT_MIN(plen - i * 8, 8u) : 0;

		c->a[i] &= (uint8_t)(0xff00u >> keep);
	}
	return true;
}

bool mt_config_each_word(const char *s, bool (*fn)(void *arg, const char *w, size_t n),
			 void *arg)
{
	while (*s) {
		size_t n = 0;

		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		while (s[n] && s[n] != ' ' && s[n] != ',' && s[n] != '\t')
			n++;
		if (n && !fn(arg, s, n))
			return false;
		s += n;
	}
	return true;
}

struct list_check {
	bool names;
	unsigned count;
	char *why;
	size_t whylen;
};

static bool check_word(void *arg, const char *w, size_t n)
{
	struct list_check *lc = arg;
	struct mt_config_cidr c;

	if (++lc->count > MT_CONFIG_ALLOW_MAX) {
		snprintf(lc->why, lc->whylen, "more than %u entries", MT_CONFIG_ALLOW_MAX);
		return false;
	}
	if (!lc->names && !mt_config_parse_cidr(w, n, &c)) {
		snprintf(lc->why, lc->whylen, "`%.*s' is not an address or CIDR prefix",
			 (int)MT_MIN(n, (size_t)60), w);
		return false;
	}
	return true;
}

/* An allow-list: every word an address or prefix (unless names), and at
 * most MT_CONFIG_ALLOW_MAX of them; split as detect.c splits it. */
static bool check_list(const char *s, bool names, char *why, size_t whylen)
{
	struct list_check lc = { names, 0, why, whylen };

	return mt_config_each_word(s, check_word, &lc);
}

/* Stores one value; false (reported) when it is not valid. */
static bool set_value(struct mt_config *cfg, const struct mt_config_key *k,
		      const char *val, struct mt_config_errors *err, const char *name,
		      unsigned line)
{
	uint8_t *dst = (uint8_t *)cfg + k->offset;
	char why[96];

	switch (k->type) {
	case MT_CT_STR:
	case MT_CT_PORTS:
	case MT_CT_ADDRS:
	case MT_CT_NAMES:
		if (strlen(val) >= MT_CONFIG_STR) {
			mt_ini_error(err, name, line, "[%s] %s: value longer than %u bytes",
				     k->section, k->key, MT_CONFIG_STR - 1);
			return false;
		}
		if (k->type == MT_CT_PORTS) {
			uint8_t map[8192];

			if (!mt_config_parse_ports(val, map, why, sizeof(why))) {
				mt_ini_error(err, name, line, "[%s] %s: %s", k->section,
					     k->key, why);
				return false;
			}
		}
		if ((k->type == MT_CT_ADDRS || k->type == MT_CT_NAMES) &&
		    !check_list(val, k->type == MT_CT_NAMES, why, sizeof(why))) {
			mt_ini_error(err, name, line, "[%s] %s: %s", k->section, k->key,
				     why);
			return false;
		}
		memcpy(dst, val, strlen(val) + 1);
		return true;
	case MT_CT_BOOL:
		if (!mt_ini_parse_bool(val, (bool *)dst)) {
			mt_ini_error(err, name, line, "[%s] %s: `%s' is neither yes nor no",
				     k->section, k->key, val);
			return false;
		}
		return true;
	default:
		return mt_ini_number(err, name, line, k->section, k->key, val,
				     k->type == MT_CT_SIZE ? MT_INI_SIZE :
				     k->type == MT_CT_DURATION ? MT_INI_DURATION :
				     MT_INI_NUMBER,
				     k->min, k->max, dst, k->width);
	}
}

bool mt_config_split_hostport(const char *s, char *host, size_t hlen, char *port,
			      size_t plen, const char *defport, char *why,
			      size_t whylen)
{
	const char *colon, *h = s;
	size_t n;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			snprintf(why, whylen, "`%s': no `]' after the IPv6 address", s);
			return false;
		}
		h = s + 1;
		n = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon) {
			snprintf(why, whylen, "`%s': expected `:port' after `]'", s);
			return false;
		}
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon) {
			snprintf(why, whylen, "`%s': write an IPv6 address as [address]:port", s);
			return false;
		}
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= hlen) {
		snprintf(why, whylen, "`%s': host name empty or too long", s);
		return false;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (colon) {
		char *end;
		unsigned long v = strtoul(colon + 1, &end, 10);

		if (!colon[1] || *end || v == 0 || v > 65535) {
			snprintf(why, whylen, "`%s': port is not a number 1-65535", s);
			return false;
		}
		snprintf(port, plen, "%lu", v);
	} else {
		snprintf(port, plen, "%s", defport);
	}
	return true;
}

void mt_config_defaults(struct mt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned i = 0; i < mt_config_nkeys; i++)
		set_value(cfg, &mt_config_keys[i], mt_config_keys[i].def, NULL, "default", 0);
}

static bool known_section(const char *s)
{
	for (unsigned i = 0; i < mt_config_nkeys; i++)
		if (strcmp(mt_config_keys[i].section, s) == 0)
			return true;
	return false;
}

/* What the file said about each key while it was parsed. */
struct seen {
	unsigned line[MT_ARRAY_SIZE(mt_config_keys)];  /* 0: kept its default */
	bool bad[MT_ARRAY_SIZE(mt_config_keys)];       /* reported already */
};

static unsigned key_index(const char *section, const char *key)
{
	for (unsigned i = 0; i < mt_config_nkeys; i++)
		if (!strcmp(mt_config_keys[i].section, section) &&
		    !strcmp(mt_config_keys[i].key, key))
			return i;
	abort(); /* a cross-check names a key the table lacks */
}

/* The line where the first of these [export] keys that the file sets is,
 * or 0 when all kept their defaults (or there is no file: sn NULL); *bad
 * when one was reported already (a check over it would only repeat that
 * error). */
static unsigned export_line(const struct seen *sn, bool *bad, const char *k1,
			    const char *k2)
{
	unsigned i = key_index("export", k1), j = k2 ? key_index("export", k2) : i;

	*bad = false;
	if (!sn)
		return 0;
	*bad = sn->bad[i] || sn->bad[j];
	return sn->line[i] ? sn->line[i] : sn->line[j];
}

/*
 * Checks over several [export] values, each error located (with `sn`, the
 * lines a file set) and all of them collected. mt_export_check_config
 * (export.c) runs the same checks without a file.
 */
static void check_export(const struct mt_config *cfg, const char *name,
			 const struct seen *sn, struct mt_config_errors *err)
{
	static const char *const files[] = { "ca", "cert", "key" };
	const typeof(cfg->export) *x = &cfg->export;
	enum mt_identity_mode mode;
	char host[256], port[16], why[200];
	unsigned line;
	bool bad;

	line = export_line(sn, &bad, "identity", NULL);
	if (!bad && !mt_identity_parse_mode(x->identity, &mode)) {
		mt_ini_error(err, name, line, "[export] identity: `%.60s' is neither "
			     "clear, hmac nor none", x->identity);
	} else if (!bad && mode == MT_IDENTITY_HMAC && !x->identity_key[0]) {
		line = export_line(sn, &bad, "identity_key", "identity");
		if (!bad)
			mt_ini_error(err, name, line,
				     "[export] identity_key: needed for identity = hmac");
	}
	if (!x->collector[0])
		return;
	line = export_line(sn, &bad, "collector", NULL);
	if (!bad && !mt_config_split_hostport(x->collector, host, sizeof(host), port,
					      sizeof(port), MT_EXPORT_PORT_TLS, why,
					      sizeof(why)))
		mt_ini_error(err, name, line, "[export] collector: %s", why);
	for (unsigned i = 0; x->tls && i < MT_ARRAY_SIZE(files); i++) {
		unsigned k = key_index("export", files[i]);
		const char *v = (const char *)cfg + mt_config_keys[k].offset;

		line = export_line(sn, &bad, files[i], "tls");
		if (!bad && !v[0])
			mt_ini_error(err, name, line, "[export] %s: needed for tls = yes",
				     files[i]);
	}
	line = export_line(sn, &bad, "reconnect_min", "reconnect_max");
	if (!bad && x->reconnect_min_ns > x->reconnect_max_ns)
		mt_ini_error(err, name, line, "[export] reconnect_min: above reconnect_max");
	line = export_line(sn, &bad, "spool_segment", "spool_max");
	if (!bad && x->spool_segment > x->spool_max)
		mt_ini_error(err, name, line, "[export] spool_segment: above spool_max");
	line = export_line(sn, &bad, "spool_dir", NULL);
	if (!bad && !x->spool_dir[0])
		mt_ini_error(err, name, line, "[export] spool_dir: needed for export");
}

int mt_config_parse(struct mt_config *cfg, const char *name, const char *text,
		    size_t len, struct mt_config_errors *err)
{
	struct seen sn;
	unsigned *seen_line = sn.line;
	const char *section = NULL;
	char secbuf[64];
	bool section_ok = false;
	unsigned before = err ? err->count : 0;
	struct mt_ini_item it;
	struct mt_ini r;

	memset(&sn, 0, sizeof(sn));
	mt_ini_init(&r, name, text, len, err);
	while (mt_ini_next(&r, &it) != MT_INI_END) {
		unsigned i;

		if (it.kind == MT_INI_BAD_SECTION) {
			section_ok = false;
			continue;
		}
		if (it.kind == MT_INI_SECTION) {
			snprintf(secbuf, sizeof(secbuf), "%s", it.section);
			section = secbuf;
			section_ok = known_section(section);
			if (!section_ok)
				mt_ini_error(err, name, it.line, "unknown section [%s]", section);
			continue;
		}
		if (!section) {
			mt_ini_error(err, name, it.line, "key `%s' outside any section", it.key);
			continue;
		}
		if (!section_ok)
			continue; /* already reported the section */
		for (i = 0; i < mt_config_nkeys; i++)
			if (!strcmp(mt_config_keys[i].section, section) &&
			    !strcmp(mt_config_keys[i].key, it.key))
				break;
		if (i == mt_config_nkeys) {
			mt_ini_error(err, name, it.line, "[%s] %s: unknown key", section, it.key);
			continue;
		}
		if (seen_line[i]) {
			mt_ini_error(err, name, it.line, "[%s] %s: set twice (first on line %u)",
				     section, it.key, seen_line[i]);
			continue;
		}
		seen_line[i] = it.line;
		sn.bad[i] = !set_value(cfg, &mt_config_keys[i], it.value, err, name,
				       it.line);
	}
	check_export(cfg, name, &sn, err);
	return (err ? err->count : 0) == before ? 0 : -1;
}

void mt_config_check_export(const struct mt_config *cfg, const char *name,
			    struct mt_config_errors *err)
{
	check_export(cfg, name, NULL, err);
}

int mt_config_load(struct mt_config *cfg, const char *path,
		   struct mt_config_errors *err)
{
	char *text;
	size_t len;
	int rc;

	if (mt_ini_load(path, 1u << 20, &text, &len, err) != 0)
		return -1;
	rc = mt_config_parse(cfg, path, text, len, err);
	free(text);
	return rc;
}
