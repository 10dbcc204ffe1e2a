/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mailtapd configuration: an INI file whose every key is declared once in a
 * table (config.c) with its type, range, default and help text. Parsing
 * collects every error as "FILE:LINE: [section] key: reason" and unknown
 * sections or keys are errors, so a typo never silently falls back to a
 * default.
 */
#ifndef MT_CONFIG_H
#define MT_CONFIG_H

#include <stdio.h>

#include "ini.h"
#include "mt_common.h"

#define MT_CONFIG_STR 1024
#define MT_CONFIG_MAX_ERRORS MT_INI_MAX_ERRORS

/* Allow-lists of one detector (or of all, [detect] allow_*): sources and
 * servers as addresses or CIDR prefixes, users as names; space or comma
 * separated, at most MT_CONFIG_ALLOW_MAX entries each. Checked when the
 * file is read (so --check-config sees mistakes) and again when detection
 * starts (mt_detect_create), both with mt_config_parse_cidr. */
#define MT_CONFIG_ALLOW_MAX 128
struct mt_config_allow {
	char sources[MT_CONFIG_STR];
	char users[MT_CONFIG_STR];
	char servers[MT_CONFIG_STR];
};

struct mt_config {
	struct {
		uint32_t capacity;
		uint64_t timeout_new_ns;
		uint64_t timeout_established_ns;
		uint64_t timeout_closed_ns;
		uint64_t timeout_udp_ns;
		bool vlan_in_key;
	} flow;
	struct {
		uint32_t ooo_max_bytes;
		uint64_t ooo_pool_bytes;
	} stream;
	struct {
		char smtp_ports[MT_CONFIG_STR];
		char imap_ports[MT_CONFIG_STR];
		char pop3_ports[MT_CONFIG_STR];
		char tls_ports[MT_CONFIG_STR];
		bool detect_other_ports;
		uint32_t max_sessions;
		uint32_t smtp_reply_max;
		uint32_t smtp_rcpt_max;
		uint32_t imap_line_max;
		uint64_t imap_literal_max;
		uint32_t pop3_line_max;
		uint32_t mime_header_max;
		uint32_t mime_headers_max;
		uint32_t mime_depth_max;
		uint32_t mime_parts_max;
		uint32_t tls_handshake_max;
	} analyzers;
	struct {
		char eal_args[MT_CONFIG_STR];
		char ports[MT_CONFIG_STR];
		uint32_t rx_queues;
		uint32_t rx_desc;
		uint32_t mbufs;
		uint32_t mbuf_cache;
		uint32_t burst;
		bool promiscuous;
		uint64_t idle_exit_ns;
		uint32_t record_ring;
	} dpdk;
	struct {
		char json[MT_CONFIG_STR];
		uint64_t stats_interval_ns;
	} output;
	/* Record export to the collector (export.c, spool.c, identity.c);
	 * on when `collector` is set. */
	struct {
		char collector[MT_CONFIG_STR];   /* host[:port] */
		char server_name[MT_CONFIG_STR];
		bool tls;
		bool ack;
		char ca[MT_CONFIG_STR];
		char cert[MT_CONFIG_STR];
		char key[MT_CONFIG_STR];
		uint32_t domain_id;
		uint32_t message_size;
		uint64_t flush_interval_ns;
		uint64_t ring_size;
		char spool_dir[MT_CONFIG_STR];
		uint64_t spool_max;
		uint64_t spool_segment;
		uint64_t reconnect_min_ns;
		uint64_t reconnect_max_ns;
		uint64_t handshake_timeout_ns;
		uint64_t drain_timeout_ns;
		char identity[MT_CONFIG_STR];
		char identity_key[MT_CONFIG_STR];
	} export;
	/* Detection on the main thread (detect.c, docs/detection.md). */
	struct {
		bool enable;
		uint64_t update_interval_ns;
		uint64_t compromise_window_ns;
		struct mt_config_allow allow;
		bool bruteforce_enable;
		uint32_t bruteforce_failures;
		uint64_t bruteforce_window_ns;
		uint32_t bruteforce_prefix4;
		uint32_t bruteforce_prefix6;
		struct mt_config_allow bruteforce_allow;
		bool spraying_enable;
		uint32_t spraying_users;
		uint64_t spraying_window_ns;
		struct mt_config_allow spraying_allow;
		bool stuffing_enable;
		uint32_t stuffing_sources;
		uint64_t stuffing_window_ns;
		struct mt_config_allow stuffing_allow;
		bool cleartext_enable;
		bool cleartext_failures;
		uint64_t cleartext_window_ns;
		struct mt_config_allow cleartext_allow;
		bool starttls_enable;
		uint64_t starttls_memory_ns;
		uint64_t starttls_window_ns;
		struct mt_config_allow starttls_allow;
		bool exfil_enable;
		uint32_t exfil_messages;
		uint64_t exfil_bytes;
		uint64_t exfil_window_ns;
		uint32_t exfil_mailbox_percent;
		uint32_t exfil_mailbox_min;
		uint32_t exfil_deletions;
		struct mt_config_allow exfil_allow;
		bool exploit_enable;
		uint64_t exploit_window_ns;
		struct mt_config_allow exploit_allow;
		bool relay_enable;
		uint32_t relay_recipients;
		uint32_t relay_senders;
		uint64_t relay_window_ns;
		struct mt_config_allow relay_allow;
		bool scan_enable;
		uint32_t scan_targets;
		uint64_t scan_window_ns;
		char scan_ports[MT_CONFIG_STR];
		struct mt_config_allow scan_allow;
		uint32_t auth_sources_max;
		uint32_t auth_prefixes_max;
		uint32_t auth_users_max;
		uint32_t exfil_users_max;
		uint32_t relay_keys_max;
		uint32_t scan_sources_max;
		uint32_t servers_max;
		uint32_t events_max;
	} detect;
};

/* Fills every field with its default. */
void mt_config_defaults(struct mt_config *cfg);

/*
 * Parses `path` over the defaults already in `cfg`. Returns 0 when the file
 * is valid, -1 otherwise with every problem found in `err`. Besides each
 * value on its own, checks what needs several values ([export] collector,
 * tls and its files, identity and its key, reconnect and spool limits, as
 * mt_export_check_config does), each error at the line of a key involved.
 */
int mt_config_load(struct mt_config *cfg, const char *path,
		   struct mt_config_errors *err);

/* Same over an in-memory text; `name` is used in messages. */
int mt_config_parse(struct mt_config *cfg, const char *name, const char *text,
		    size_t len, struct mt_config_errors *err);

/* The checks over several [export] values alone, on a configuration that
 * did not come from a file (no lines): every error into `err`. */
void mt_config_check_export(const struct mt_config *cfg, const char *name,
			    struct mt_config_errors *err);

enum mt_config_type {
	MT_CT_U32,
	MT_CT_SIZE,      /* bytes, optional k/M/G suffix (powers of 1024) */
	MT_CT_DURATION,  /* seconds, optional ms/s/m/h suffix; stored as ns */
	MT_CT_BOOL,
	MT_CT_STR,
	MT_CT_PORTS,     /* list of TCP ports, space or comma separated */
	MT_CT_ADDRS,     /* list of addresses or CIDR prefixes (allow-lists) */
	MT_CT_NAMES,     /* list of names (allow-lists) */
};

struct mt_config_key {
	const char *section;
	const char *key;
	uint8_t type;          /* enum mt_config_type */
	uint8_t width;         /* 4 or 8 for numbers */
	uint32_t offset;
	uint64_t min;
	uint64_t max;
	const char *def;       /* default, as written in a file */
	const char *help;
};

extern const struct mt_config_key mt_config_keys[];
extern const unsigned mt_config_nkeys;

/* Parses a list of ports into a 65536-bit map; false with a message. */
bool mt_config_parse_ports(const char *s, uint8_t map[8192], char *why, size_t whylen);

/* An IPv4 or IPv6 address or prefix; host bits beyond plen are cleared. */
struct mt_config_cidr {
	uint8_t ver;         /* 4 or 6 */
	uint8_t plen;
	uint8_t a[16];
};

/* Parses "ADDR" or "ADDR/LEN" (n bytes of s, no NUL needed): false when it
 * is neither an IPv4 nor an IPv6 address or the length is out of range. */
bool mt_config_parse_cidr(const char *s, size_t n, struct mt_config_cidr *c);

/* Calls fn for each word of an allow-list (split at spaces, tabs and
 * commas); stops and returns false as soon as fn does. */
bool mt_config_each_word(const char *s, bool (*fn)(void *arg, const char *w, size_t n),
			 void *arg);

/*
 * Splits "host", "host:port" or "[v6]:port" ([export] collector); `defport`
 * when no port is given. False with the reason, quoting the value.
 */
bool mt_config_split_hostport(const char *s, char *host, size_t hlen, char *port,
			      size_t plen, const char *defport, char *why,
			      size_t whylen);

#endif
