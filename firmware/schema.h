/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one definition of every record mailtap exports. Each record type is a
 * list of fields; each field says its C/wire type, its IPFIX information
 * element (IANA when one exists, else an enterprise element under the
 * configured PEN), its JSON path in the EVE-style output and its flags. The
 * record structs, the JSON writer, the IPFIX templates and decoder and the
 * SQL columns are all generated from these lists, in the appliance and in
 * the collector alike.
 *
 * F(record, field, type, pen, ie, json_path, flags)
 *   pen:   IANA (0), MT (mailtap enterprise number) or REV (RFC 5103 reverse
 *          direction of an IANA element, PEN 29305)
 *   flags: OMIT_ZERO leaves a zero / empty value out of the JSON
 *
 * Element numbers are part of the wire format: never change or reuse one.
 */
#ifndef MT_SCHEMA_H
#define MT_SCHEMA_H

#include "counters.h"

/* R(name, IPFIX template id) */
#define MT_RECORD_TYPES(R) \
	R(flow, 256)       \
	R(stats, 257)      \
	R(smtp, 258)       \
	R(imap, 259)       \
	R(pop3, 260)       \
	R(auth, 261)       \
	R(tls, 262)        \
	R(anomaly, 263)    \
	R(alert, 264)

/* Records nested in a list field (IPFIX subTemplateList): S(name, template id) */
#define MT_SUBRECORD_TYPES(S) \
	S(file, 300)

/* Fields every record about a connection starts with. */
#define MT_FIELDS_CONN(F, rec)                                                 \
	F(rec, timestamp, TIME, IANA, 324, "timestamp", 0)                     \
	F(rec, flow_id, U64, IANA, 148, "flow_id", 0)                          \
	F(rec, src_ip, IP, IANA, 8, "src_ip", 0)                               \
	F(rec, src_port, U16, IANA, 7, "src_port", 0)                          \
	F(rec, dest_ip, IP, IANA, 12, "dest_ip", 0)                            \
	F(rec, dest_port, U16, IANA, 11, "dest_port", 0)                       \
	F(rec, proto, PROTO, IANA, 4, "proto", 0)                              \
	F(rec, app_proto, APP, MT, 1, "app_proto", OMIT_ZERO)                  \
	F(rec, vlan, U16LIST, IANA, 243, "vlan", OMIT_ZERO)

#define MT_FIELDS_flow(F)                                                      \
	MT_FIELDS_CONN(F, flow)                                                \
	F(flow, pkts_toserver, U64, IANA, 86, "flow.pkts_toserver", 0)         \
	F(flow, pkts_toclient, U64, REV, 86, "flow.pkts_toclient", 0)          \
	F(flow, bytes_toserver, U64, IANA, 85, "flow.bytes_toserver", 0)       \
	F(flow, bytes_toclient, U64, REV, 85, "flow.bytes_toclient", 0)        \
	F(flow, start, TIME, IANA, 154, "flow.start", 0)                       \
	F(flow, end, TIME, IANA, 155, "flow.end", 0)                           \
	F(flow, reason, REASON, MT, 2, "flow.reason", 0)                       \
	F(flow, midstream, BOOL, MT, 3, "flow.midstream", OMIT_ZERO)           \
	F(flow, gaps_toserver, U32, MT, 4, "flow.gaps_toserver", OMIT_ZERO)    \
	F(flow, gaps_toclient, U32, MT, 5, "flow.gaps_toclient", OMIT_ZERO)    \
	F(flow, tunnel, TUNNEL, MT, 6, "flow.tunnel", OMIT_ZERO)               \
	F(flow, tunnel_id, U32, MT, 7, "flow.tunnel_id", OMIT_ZERO)            \
	F(flow, tcp_flags, FLAGS8, MT, 8, "tcp.tcp_flags", OMIT_ZERO)          \
	F(flow, tcp_flags_ts, FLAGS8, IANA, 6, "tcp.tcp_flags_ts", OMIT_ZERO)  \
	F(flow, tcp_flags_tc, FLAGS8, REV, 6, "tcp.tcp_flags_tc", OMIT_ZERO)

/*
 * Enterprise element ranges: connection and flow 1-99, smtp 100-149, email
 * 150-199, imap 200-249, pop3 250-299, auth 300-329, tls 330-399, anomaly
 * 400-419, alert 420-469, stats 999 and 1000 + counter id.
 */

/* One per SMTP transaction (MAIL FROM to the end-of-data reply or RSET), or
 * one for a session that never started a transaction. */
#define MT_FIELDS_smtp(F)                                                      \
	MT_FIELDS_CONN(F, smtp)                                                \
	F(smtp, helo, STR, MT, 100, "smtp.helo", OMIT_ZERO)                    \
	F(smtp, mail_from, STR, MT, 101, "smtp.mail_from", OMIT_ZERO)          \
	F(smtp, rcpt_to, STRLIST, MT, 102, "smtp.rcpt_to", OMIT_ZERO)          \
	F(smtp, rcpt_reply, U16LIST, MT, 103, "smtp.rcpt_reply", OMIT_ZERO)    \
	F(smtp, recipients, U32, MT, 119, "smtp.recipients", OMIT_ZERO)        \
	F(smtp, mail_params, STR, MT, 104, "smtp.mail_params", OMIT_ZERO)      \
	F(smtp, mail_reply, U16, MT, 105, "smtp.mail_reply", OMIT_ZERO)        \
	F(smtp, data_reply, U16, MT, 106, "smtp.data_reply", OMIT_ZERO)        \
	F(smtp, status, STR, MT, 107, "smtp.status", OMIT_ZERO)                \
	F(smtp, transaction, U16, MT, 118, "smtp.transaction", OMIT_ZERO)      \
	F(smtp, message_size, U64, MT, 116, "smtp.message_size", OMIT_ZERO)    \
	F(smtp, bdat, BOOL, MT, 117, "smtp.bdat", OMIT_ZERO)                   \
	F(smtp, capabilities, STRLIST, MT, 108, "smtp.capabilities", OMIT_ZERO) \
	F(smtp, starttls_offered, BOOL, MT, 109, "smtp.starttls_offered", OMIT_ZERO) \
	F(smtp, starttls_requested, BOOL, MT, 110, "smtp.starttls_requested", OMIT_ZERO) \
	F(smtp, starttls_reply, U16, MT, 111, "smtp.starttls_reply", OMIT_ZERO) \
	F(smtp, auth_mech, STR, MT, 112, "smtp.auth_mech", OMIT_ZERO)          \
	F(smtp, auth_user, STR, MT, 113, "smtp.auth_user", OMIT_ZERO)          \
	F(smtp, auth_result, STR, MT, 114, "smtp.auth_result", OMIT_ZERO)      \
	F(smtp, auth_attempts, U16, MT, 115, "smtp.auth_attempts", OMIT_ZERO)  \
	F(smtp, email_from, STR, MT, 151, "email.from", OMIT_ZERO)             \
	F(smtp, email_to, STRLIST, MT, 152, "email.to", OMIT_ZERO)             \
	F(smtp, email_cc, STRLIST, MT, 153, "email.cc", OMIT_ZERO)             \
	F(smtp, email_subject, STR, MT, 154, "email.subject", OMIT_ZERO)       \
	F(smtp, email_message_id, STR, MT, 155, "email.message_id", OMIT_ZERO) \
	F(smtp, email_date, STR, MT, 156, "email.date", OMIT_ZERO)             \
	F(smtp, email_x_mailer, STR, MT, 157, "email.x_mailer", OMIT_ZERO)     \
	F(smtp, email_user_agent, STR, MT, 158, "email.user_agent", OMIT_ZERO) \
	F(smtp, email_received, U16, MT, 159, "email.received_count", OMIT_ZERO) \
	F(smtp, email_parts, U16, MT, 162, "email.parts", OMIT_ZERO)           \
	F(smtp, email_attachment, STRLIST, MT, 160, "email.attachment", OMIT_ZERO) \
	F(smtp, email_files, FILES, MT, 161, "email.files", OMIT_ZERO)

/* An attachment (or any named MIME part) of a message. */
#define MT_FIELDS_file(F)                                                      \
	F(file, filename, STR, MT, 170, "filename", 0)                         \
	F(file, content_type, STR, MT, 171, "content_type", OMIT_ZERO)         \
	F(file, size, U64, MT, 172, "size", 0)                                 \
	F(file, sha256, HEX, MT, 173, "sha256", OMIT_ZERO)                     \
	F(file, incomplete, BOOL, MT, 174, "incomplete", OMIT_ZERO)

/* One per IMAP session. */
#define MT_FIELDS_imap(F)                                                      \
	MT_FIELDS_CONN(F, imap)                                                \
	F(imap, capabilities, STRLIST, MT, 200, "imap.capabilities", OMIT_ZERO) \
	F(imap, starttls_offered, BOOL, MT, 201, "imap.starttls_offered", OMIT_ZERO) \
	F(imap, starttls_requested, BOOL, MT, 202, "imap.starttls_requested", OMIT_ZERO) \
	F(imap, starttls_reply, STR, MT, 203, "imap.starttls_reply", OMIT_ZERO) \
	F(imap, auth_mech, STR, MT, 204, "imap.auth_mech", OMIT_ZERO)          \
	F(imap, auth_user, STR, MT, 205, "imap.auth_user", OMIT_ZERO)          \
	F(imap, auth_result, STR, MT, 206, "imap.auth_result", OMIT_ZERO)      \
	F(imap, auth_attempts, U16, MT, 207, "imap.auth_attempts", OMIT_ZERO)  \
	F(imap, commands, U32, MT, 208, "imap.commands", OMIT_ZERO)            \
	F(imap, mailboxes, STRLIST, MT, 209, "imap.mailboxes", OMIT_ZERO)      \
	F(imap, exists, U32, MT, 210, "imap.exists", OMIT_ZERO)                \
	F(imap, fetch_commands, U32, MT, 211, "imap.fetch_commands", OMIT_ZERO) \
	F(imap, messages_fetched, U32, MT, 212, "imap.messages_fetched", OMIT_ZERO) \
	F(imap, bytes_fetched, U64, MT, 213, "imap.bytes_fetched", OMIT_ZERO)  \
	F(imap, search_commands, U32, MT, 214, "imap.search_commands", OMIT_ZERO) \
	F(imap, deleted, U32, MT, 215, "imap.deleted", OMIT_ZERO)              \
	F(imap, expunged, U32, MT, 216, "imap.expunged", OMIT_ZERO)            \
	F(imap, appends, U32, MT, 217, "imap.appends", OMIT_ZERO)              \
	F(imap, append_bytes, U64, MT, 218, "imap.append_bytes", OMIT_ZERO)    \
	F(imap, copies, U32, MT, 221, "imap.copies", OMIT_ZERO)                \
	F(imap, idle, U16, MT, 219, "imap.idle", OMIT_ZERO)                    \
	F(imap, logout, BOOL, MT, 220, "imap.logout", OMIT_ZERO)

/* One per POP3 session. */
#define MT_FIELDS_pop3(F)                                                      \
	MT_FIELDS_CONN(F, pop3)                                                \
	F(pop3, capabilities, STRLIST, MT, 250, "pop3.capabilities", OMIT_ZERO) \
	F(pop3, stls_offered, BOOL, MT, 251, "pop3.stls_offered", OMIT_ZERO)   \
	F(pop3, stls_requested, BOOL, MT, 252, "pop3.stls_requested", OMIT_ZERO) \
	F(pop3, stls_reply, STR, MT, 253, "pop3.stls_reply", OMIT_ZERO)        \
	F(pop3, auth_mech, STR, MT, 254, "pop3.auth_mech", OMIT_ZERO)          \
	F(pop3, auth_user, STR, MT, 255, "pop3.auth_user", OMIT_ZERO)          \
	F(pop3, auth_result, STR, MT, 256, "pop3.auth_result", OMIT_ZERO)      \
	F(pop3, auth_attempts, U16, MT, 257, "pop3.auth_attempts", OMIT_ZERO)  \
	F(pop3, commands, U32, MT, 258, "pop3.commands", OMIT_ZERO)            \
	F(pop3, stat_messages, U32, MT, 259, "pop3.stat_messages", OMIT_ZERO)  \
	F(pop3, stat_bytes, U64, MT, 260, "pop3.stat_bytes", OMIT_ZERO)        \
	F(pop3, retr_messages, U32, MT, 261, "pop3.retr_messages", OMIT_ZERO)  \
	F(pop3, retr_bytes, U64, MT, 262, "pop3.retr_bytes", OMIT_ZERO)        \
	F(pop3, top_messages, U32, MT, 263, "pop3.top_messages", OMIT_ZERO)    \
	F(pop3, deleted, U32, MT, 264, "pop3.deleted", OMIT_ZERO)              \
	F(pop3, quit, BOOL, MT, 265, "pop3.quit", OMIT_ZERO)

/* One per authentication attempt, whatever the protocol. */
#define MT_FIELDS_auth(F)                                                      \
	MT_FIELDS_CONN(F, auth)                                                \
	F(auth, mechanism, STR, MT, 300, "auth.mechanism", 0)                  \
	F(auth, user, STR, MT, 301, "auth.user", OMIT_ZERO)                    \
	F(auth, result, STR, MT, 302, "auth.result", 0)                        \
	F(auth, cleartext, BOOL, MT, 303, "auth.cleartext", 0)                 \
	F(auth, reply, STR, MT, 304, "auth.reply", OMIT_ZERO)                  \
	F(auth, attempt, U16, MT, 305, "auth.attempt", 0)

/* One per TLS handshake (implicit TLS, after STARTTLS, HTTPS). */
#define MT_FIELDS_tls(F)                                                       \
	MT_FIELDS_CONN(F, tls)                                                 \
	F(tls, version, STR, MT, 330, "tls.version", OMIT_ZERO)                \
	F(tls, sni, STR, MT, 331, "tls.sni", OMIT_ZERO)                        \
	F(tls, subject, STR, MT, 332, "tls.subject", OMIT_ZERO)                \
	F(tls, issuerdn, STR, MT, 333, "tls.issuerdn", OMIT_ZERO)              \
	F(tls, serial, STR, MT, 334, "tls.serial", OMIT_ZERO)                  \
	F(tls, fingerprint_sha256, HEX, MT, 335, "tls.fingerprint_sha256", OMIT_ZERO) \
	F(tls, notbefore, STR, MT, 336, "tls.notbefore", OMIT_ZERO)            \
	F(tls, notafter, STR, MT, 337, "tls.notafter", OMIT_ZERO)              \
	F(tls, ja3_hash, STR, MT, 338, "tls.ja3.hash", OMIT_ZERO)              \
	F(tls, ja3_string, STR, MT, 339, "tls.ja3.string", OMIT_ZERO)          \
	F(tls, ja3s_hash, STR, MT, 340, "tls.ja3s.hash", OMIT_ZERO)            \
	F(tls, ja3s_string, STR, MT, 341, "tls.ja3s.string", OMIT_ZERO)        \
	F(tls, ja4, STR, MT, 342, "tls.ja4", OMIT_ZERO)                        \
	F(tls, client_alpns, STRLIST, MT, 343, "tls.client_alpns", OMIT_ZERO)  \
	F(tls, server_alpn, STR, MT, 344, "tls.server_alpn", OMIT_ZERO)        \
	F(tls, client_ciphers, U16LIST, MT, 345, "tls.client_ciphers", OMIT_ZERO) \
	F(tls, cipher_suite, U16, MT, 346, "tls.cipher_suite", OMIT_ZERO)      \
	F(tls, supported_groups, U16LIST, MT, 347, "tls.supported_groups", OMIT_ZERO) \
	F(tls, starttls, BOOL, MT, 348, "tls.starttls", OMIT_ZERO)

/* Malformed or suspicious protocol input, once per flow and kind. */
#define MT_FIELDS_anomaly(F)                                                   \
	MT_FIELDS_CONN(F, anomaly)                                             \
	F(anomaly, type, STR, MT, 400, "anomaly.type", 0)                      \
	F(anomaly, event, STR, MT, 401, "anomaly.event", 0)                    \
	F(anomaly, dir, STR, MT, 403, "anomaly.direction", OMIT_ZERO)          \
	F(anomaly, evidence, STR, MT, 402, "anomaly.evidence", OMIT_ZERO)

/* A detector's finding: who attacks what, how, with what evidence. One per
 * key and window, updated (update > 0) while the attack goes on. The
 * connection fields name the source (src_ip), the server (dest_ip) and the
 * latest related flow when the detector has them. */
#define MT_FIELDS_alert(F)                                                     \
	MT_FIELDS_CONN(F, alert)                                               \
	F(alert, action, STR, MT, 439, "alert.action", OMIT_ZERO)              \
	F(alert, signature_id, U32, MT, 437, "alert.signature_id", 0)          \
	F(alert, signature, STR, MT, 422, "alert.signature", 0)                \
	F(alert, category, STR, MT, 423, "alert.category", OMIT_ZERO)          \
	F(alert, severity, U8, MT, 421, "alert.severity", 0)                   \
	F(alert, detector, STR, MT, 420, "alert.detector", 0)                  \
	F(alert, update, U16, MT, 436, "alert.update", 0)                      \
	F(alert, src_prefix, STR, MT, 424, "alert.source", OMIT_ZERO)          \
	F(alert, user, STR, MT, 425, "alert.user", OMIT_ZERO)                  \
	F(alert, server, STR, MT, 426, "alert.server", OMIT_ZERO)              \
	F(alert, first_seen, TIME, MT, 427, "alert.first_seen", 0)             \
	F(alert, last_seen, TIME, MT, 428, "alert.last_seen", 0)               \
	F(alert, attempts, U32, MT, 429, "alert.attempts", OMIT_ZERO)          \
	F(alert, failures, U32, MT, 430, "alert.failures", OMIT_ZERO)          \
	F(alert, successes, U32, MT, 431, "alert.successes", OMIT_ZERO)        \
	F(alert, distinct_users, U32, MT, 432, "alert.distinct_users", OMIT_ZERO) \
	F(alert, distinct_sources, U32, MT, 433, "alert.distinct_sources", OMIT_ZERO) \
	F(alert, distinct_senders, U32, MT, 441, "alert.distinct_senders", OMIT_ZERO) \
	F(alert, messages, U64, MT, 434, "alert.messages", OMIT_ZERO)          \
	F(alert, bytes, U64, MT, 435, "alert.bytes", OMIT_ZERO)                \
	F(alert, evidence, STR, MT, 438, "alert.evidence", OMIT_ZERO)          \
	F(alert, flow_ids, U64LIST, MT, 440, "alert.flow_ids", OMIT_ZERO)

/* Enterprise element numbers of the counters start here. */
#define MT_STATS_IE_BASE 1000

#define MT_STATS_FIELD_(F, id, g, n, h) \
	F(stats, g##_##n, U64, MT, MT_STATS_IE_BASE + id, "stats." #g "." #n, 0)

/* Each user of MT_FIELDS_stats(X) defines MT_CTRF_X(id, g, n, h) as
 * MT_STATS_FIELD_(X, id, g, n, h): the preprocessor cannot pass X into the
 * counter table by itself. */
#define MT_COUNTERS_AS_FIELDS(F) MT_COUNTERS(MT_CTRF_##F)

#define MT_FIELDS_stats(F)                                                     \
	F(stats, timestamp, TIME, IANA, 324, "timestamp", 0)                   \
	F(stats, uptime, U64, MT, 999, "stats.uptime", 0)                      \
	F(stats, version, STR, MT, 998, "stats.version", OMIT_ZERO)            \
	MT_COUNTERS_AS_FIELDS(F)

#endif
