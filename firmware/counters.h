/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every counter of the appliance, defined once. Workers keep a private,
 * cache-aligned array of them (no atomics: one writer each); the control
 * plane sums the arrays for the exit summary and the `stats` record, whose
 * fields are generated from this same table.
 */
#ifndef MT_COUNTERS_H
#define MT_COUNTERS_H

#include "mt_common.h"

/*
 * C(id, group, name, help). The id is the counter's IPFIX element number
 * (offset by MT_STATS_IE_BASE) and must never change or be reused: add new
 * counters with new ids wherever they read best.
 */
#define MT_CORE_COUNTERS(C)                                                        \
	C(1, capture, pkts, "frames handed to a worker")                         \
	C(2, capture, bytes, "bytes of those frames, as on the wire")            \
	C(3, capture, truncated, "frames shorter than their wire length (snaplen)") \
	C(4, capture, nic_drops, "frames the NIC or PMD dropped (imissed)")      \
	C(5, capture, nic_errors, "receive errors reported by the NIC or PMD")   \
	C(6, capture, nombuf, "receive failures for lack of buffers")            \
	C(7, decoder, ethernet, "Ethernet frames")                               \
	C(8, decoder, vlan, "802.1Q / 802.1ad tags walked")                      \
	C(9, decoder, ipv4, "IPv4 headers decoded")                              \
	C(10, decoder, ipv6, "IPv6 headers decoded")                              \
	C(11, decoder, tcp, "TCP headers decoded")                                \
	C(12, decoder, udp, "UDP headers decoded")                                \
	C(13, decoder, icmp, "ICMP and ICMPv6 packets")                           \
	C(14, decoder, other_l4, "IP packets of another transport")               \
	C(15, decoder, other_l3, "frames neither IPv4 nor IPv6 (ARP, LLDP, ...)") \
	C(16, decoder, gre, "GRE headers walked")                                 \
	C(17, decoder, erspan2, "ERSPAN type II headers walked")                  \
	C(18, decoder, erspan3, "ERSPAN type III headers walked")                 \
	C(19, decoder, vxlan, "VXLAN headers walked")                             \
	C(20, decoder, ipv4_frag_first, "first IPv4 fragments (decoded)")         \
	C(21, decoder, ipv4_frag_later, "later IPv4 fragments (counted only)")    \
	C(22, decoder, ipv6_frag_first, "first IPv6 fragments (decoded)")         \
	C(23, decoder, ipv6_frag_later, "later IPv6 fragments (counted only)")    \
	C(24, decoder, tcp_bad_option, "TCP option lists that overrun the header") \
	C(25, decoder, err_link_unsupported, "capture link type not supported")   \
	C(26, decoder, err_eth_truncated, "Ethernet header cut short")            \
	C(27, decoder, err_vlan_truncated, "VLAN tag cut short")                  \
	C(28, decoder, err_vlan_too_many, "more VLAN tags than the decoder walks") \
	C(29, decoder, err_ipv4_truncated, "IPv4 header cut short")               \
	C(30, decoder, err_ipv4_bad_version, "IPv4 version field not 4")          \
	C(31, decoder, err_ipv4_bad_ihl, "IPv4 IHL below 5 or beyond the packet") \
	C(32, decoder, err_ipv4_bad_len, "IPv4 total length below IHL or beyond the frame") \
	C(33, decoder, err_ipv6_truncated, "IPv6 header cut short")               \
	C(34, decoder, err_ipv6_bad_version, "IPv6 version field not 6")          \
	C(35, decoder, err_ipv6_bad_len, "IPv6 payload length beyond the frame")  \
	C(36, decoder, err_ipv6_ext_truncated, "IPv6 extension header cut short") \
	C(37, decoder, err_ipv6_ext_too_many, "IPv6 extension chain longer than the cap") \
	C(38, decoder, err_tcp_truncated, "TCP header cut short")                 \
	C(39, decoder, err_tcp_bad_doff, "TCP data offset below 5 or beyond the packet") \
	C(40, decoder, err_udp_truncated, "UDP header cut short")                 \
	C(41, decoder, err_udp_bad_len, "UDP length below 8 or beyond the packet") \
	C(42, decoder, err_gre_truncated, "GRE header cut short")                 \
	C(43, decoder, err_gre_unsupported, "GRE version or payload not supported") \
	C(44, decoder, err_erspan_truncated, "ERSPAN header cut short")           \
	C(45, decoder, err_erspan_bad_version, "ERSPAN version or frame type not supported") \
	C(46, decoder, err_vxlan_truncated, "VXLAN header cut short")             \
	C(47, decoder, err_vxlan_bad_flags, "VXLAN header without the I flag")    \
	C(48, decoder, err_tunnel_too_deep, "encapsulations nested beyond the cap") \
	C(49, flow, created, "flows created")                                     \
	C(50, flow, ended_fin, "flows ended by FIN in both directions")           \
	C(51, flow, ended_rst, "flows ended by RST")                              \
	C(52, flow, timeout, "flows ended by idle timeout")                       \
	C(53, flow, evicted, "flows evicted because the table was full")          \
	C(54, flow, shutdown, "flows ended at end of input or shutdown")          \
	C(55, flow, reused, "closed flows replaced by a new SYN on the same tuple") \
	C(56, flow, midstream, "TCP flows picked up without a SYN")               \
	C(57, flow, not_tracked, "packets not tracked in a flow (fragments, non-TCP/UDP)") \
	C(58, stream, segments, "TCP segments with payload handed to reassembly") \
	C(59, stream, bytes_delivered, "payload bytes delivered in order")        \
	C(60, stream, retransmissions, "segments wholly already delivered or queued") \
	C(61, stream, overlaps, "segments partly overlapping data already seen (first copy kept)") \
	C(62, stream, ooo_queued, "out-of-order segments queued")                 \
	C(63, stream, ooo_flow_cap, "per-flow out-of-order cap hit: hole declared, stream moved on") \
	C(64, stream, ooo_pool_cap, "global out-of-order pool empty: hole declared, stream moved on") \
	C(65, stream, gaps, "holes declared in a stream")                         \
	C(66, stream, gap_bytes, "bytes missing in declared holes")               \
	C(67, stream, out_of_window, "segments too far from the expected sequence") \
	C(68, stream, closed, "stream directions closed by FIN or RST") \
	C(69, output, records, "records emitted")                                 \
	C(70, output, record_truncated, "records whose variable-length data hit the record cap") \
	C(71, output, ring_drops, "records dropped because a worker ring was full") \
	C(80, app, sessions, "flows handed to a protocol analyzer")             \
	C(81, app, no_session_slot, "analysable flows not analysed: session pool empty") \
	C(82, app, detected_smtp, "flows identified as SMTP")                   \
	C(83, app, detected_imap, "flows identified as IMAP")                   \
	C(84, app, detected_pop3, "flows identified as POP3")                   \
	C(85, app, detected_tls, "flows identified as TLS")                     \
	C(86, app, detection_failed, "flows on a mail port whose protocol was not recognised") \
	C(87, app, detected_other_port, "mail protocols or TLS recognised on a port not in the lists") \
	C(88, app, starttls_switches, "sessions handed from a mail analyzer to TLS after STARTTLS") \
	C(89, app, anomaly_records, "anomaly records written (one per flow and kind)") \
	C(400, export, records_queued, "records handed to the export thread")     \
	C(401, export, ring_drops_high, "alert/auth records dropped: export ring full") \
	C(402, export, ring_drops_normal, "smtp/imap/pop3/tls/anomaly records dropped: export ring full") \
	C(403, export, ring_drops_low, "flow/stats records dropped: export ring full") \
	C(404, export, encode_errors, "records that fit no IPFIX message (dropped)") \
	C(405, export, messages_spooled, "IPFIX messages written to the spool")   \
	C(406, export, records_spooled, "records in those messages")              \
	C(407, export, spool_write_errors, "messages lost because the spool could not be written") \
	C(408, export, spool_bytes, "bytes in the spool now (gauge)")             \
	C(409, export, spool_files, "files in the spool now (gauge)")             \
	C(410, export, spool_dropped_low, "flow/stats records dropped: spool full") \
	C(411, export, spool_dropped_normal, "smtp/imap/pop3/tls/anomaly records dropped: spool full") \
	C(412, export, spool_dropped_high, "alert/auth records dropped: spool full") \
	C(413, export, spool_truncated, "torn spool file tails cut off at start-up") \
	C(414, export, messages_sent, "messages written to the collector (replays included)") \
	C(415, export, records_sent, "records in those messages")                 \
	C(416, export, records_acked, "records acknowledged by the collector (or written, with ack = no)") \
	C(417, export, bytes_sent, "IPFIX bytes written to the collector")        \
	C(418, export, connects, "connections established (handshake done)")      \
	C(419, export, reconnects, "connection attempts after a failure or a lost connection") \
	C(420, export, connect_failures, "TCP connections refused, unreachable or timed out") \
	C(421, export, tls_failures, "TLS handshakes failed (certificate, name, version, timeout)") \
	C(422, export, disconnects, "established connections lost (reset, closed, protocol error)") \
	C(423, export, acks, "acknowledgement frames received")                  \
	C(424, export, ack_errors, "acknowledgements malformed (connection dropped) or never-sent numbers") \
	C(425, export, seq_resyncs, "sequence counter moved forward to the collector's first acknowledgement") \
	C(450, detect, records, "records examined by detection")                 \
	C(451, detect, alerts, "alert records written (first alerts and updates)") \
	C(452, detect, updates, "of those, updates of an alert already written (update > 0)") \
	C(453, detect, alerts_bruteforce, "brute-force alerts (and their updates)") \
	C(454, detect, alerts_spraying, "password-spraying alerts")              \
	C(455, detect, alerts_stuffing, "credential-stuffing alerts")            \
	C(456, detect, alerts_compromise, "login success after an attack (likely compromise)") \
	C(457, detect, alerts_cleartext, "cleartext-credential alerts")          \
	C(458, detect, alerts_starttls, "STARTTLS stripping and downgrade alerts") \
	C(459, detect, alerts_exfiltration, "mass download, whole-mailbox and mass-deletion alerts") \
	C(460, detect, alerts_exploit, "exploit-string and protocol-abuse alerts") \
	C(461, detect, alerts_relay, "relay-abuse and spam-burst alerts")        \
	C(462, detect, alerts_scan, "mail-port scan alerts")                     \
	C(463, detect, allowlisted, "events a detector skipped because an allow-list matched") \
	C(464, detect, alerts_dropped, "alerts lost: more raised by one record than the queue holds") \
	C(465, detect, names_truncated, "user names longer than the key cap (compared on their first bytes)") \
	C(466, detect, evictions_auth_sources, "live source entries evicted (brute force, spraying): table full") \
	C(467, detect, evictions_auth_prefixes, "live prefix entries evicted (brute force): table full") \
	C(468, detect, evictions_auth_users, "live user entries evicted (stuffing): table full") \
	C(469, detect, evictions_exfil_users, "live user entries evicted (exfiltration): table full") \
	C(470, detect, evictions_relay_keys, "live user or source entries evicted (relay): table full") \
	C(471, detect, evictions_scan_sources, "live source entries evicted (scan): table full") \
	C(472, detect, evictions_servers, "servers forgotten (STARTTLS memory): table full") \
	C(473, detect, evictions_events, "live one-off alert keys evicted: table full")

/*
 * Protocol anomalies are counters too (group "anomaly"), one list per
 * analyzer in its own header so each analyzer owns its list. Ids: smtp
 * 200-239, mime 240-269, imap 270-299, pop3 300-319, tls 320-349, app
 * 350-359. The counter name is the `anomaly.event` of the record.
 */
#include "anomalies.h"

#define MT_COUNTERS(C) MT_CORE_COUNTERS(C) MT_ANOMALIES(C)

enum mt_ctr {
#define MT_C_ENUM(id, g, n, h) MT_CTR_##g##_##n,
	MT_COUNTERS(MT_C_ENUM)
#undef MT_C_ENUM
	MT_CTR__COUNT
};

/* Anomaly counters are the tail of the enum, in table order. */
#define MT_ANOMALY_FIRST MT_CTR_anomaly_app_unknown_protocol
#define MT_ANOMALY_COUNT (MT_CTR__COUNT - MT_ANOMALY_FIRST)

struct mt_counters {
	uint64_t v[MT_CTR__COUNT];
} MT_CACHE_ALIGNED;

#define MT_CTR_INC(c, id) ((c)->v[MT_CTR_##id]++)
#define MT_CTR_ADD(c, id, n) ((c)->v[MT_CTR_##id] += (n))

struct mt_counter_desc {
	const char *group;
	const char *name;
	const char *help;
	unsigned id;
};

extern const struct mt_counter_desc mt_counter_desc[MT_CTR__COUNT];

void mt_counters_add(struct mt_counters *dst, const struct mt_counters *src);

#endif
