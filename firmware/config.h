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

#include "mt_common.h"

#define MT_CONFIG_STR 1024
#define MT_CONFIG_MAX_ERRORS 64

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
};

struct mt_config_errors {
	unsigned count;
	char msg[MT_CONFIG_MAX_ERRORS][256];
};

/* Fills every field with its default. */
void mt_config_defaults(struct mt_config *cfg);

/*
 * Parses `path` over the defaults already in `cfg`. Returns 0 when the file
 * is valid, -1 otherwise with every problem found in `err`.
 */
int mt_config_load(struct mt_config *cfg, const char *path,
		   struct mt_config_errors *err);

/* Same over an in-memory text; `name` is used in messages. */
int mt_config_parse(struct mt_config *cfg, const char *name, const char *text,
		    size_t len, struct mt_config_errors *err);

enum mt_config_type {
	MT_CT_U32,
	MT_CT_SIZE,      /* bytes, optional k/M/G suffix (powers of 1024) */
	MT_CT_DURATION,  /* seconds, optional ms/s/m/h suffix; stored as ns */
	MT_CT_BOOL,
	MT_CT_STR,
	MT_CT_PORTS,     /* list of TCP ports, space or comma separated */
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

#endif
