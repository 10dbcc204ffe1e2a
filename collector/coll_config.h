/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mailtap-collector configuration: an INI file in the house style of
 * mailtapd's (firmware/config.c): every key declared once in a table with
 * its type, range, default and help, every error reported as
 * "FILE:LINE: [section] key: reason", unknown keys are errors. On top of
 * that, `[appliance NAME]` sections form the allow-list: the certificate
 * common names that may connect and the observation domains each may use.
 */
#ifndef MT_COLL_CONFIG_H
#define MT_COLL_CONFIG_H

#include "ini.h"
#include "mt_common.h"

#define MT_COLL_STR 1024
#define MT_COLL_ADDR 256
#define MT_COLL_NAME 64               /* appliance name (certificate CN) */
#define MT_COLL_APPLIANCES_MAX 4096
#define MT_COLL_DOMAINS_MAX 64        /* observation domains per appliance */

struct mt_coll_appliance {
	char name[MT_COLL_NAME];
	unsigned line;                /* where its section starts */
	bool invalid;                 /* its domains key did not parse */
	unsigned ndomains;
	uint32_t domains[MT_COLL_DOMAINS_MAX];
};

struct mt_coll_config {
	struct {
		char listen[MT_COLL_ADDR];
		char ca[MT_COLL_STR];
		char cert[MT_COLL_STR];
		char key[MT_COLL_STR];
		uint32_t max_connections;
		uint64_t handshake_timeout_ns;
		uint64_t idle_timeout_ns;
		uint32_t pen;
	} server;
	struct {
		char path[MT_COLL_STR];
		char synchronous[16];
		uint64_t batch_interval_ns;
		uint32_t batch_records;
		uint64_t retention_ns;
		uint32_t retention_batch;
		uint64_t cache_bytes;
	} storage;
	struct {
		char listen[MT_COLL_ADDR];
	} metrics;
	unsigned nappliances;
	struct mt_coll_appliance *appliances;  /* allocated; see mt_coll_config_free */
};

enum mt_coll_config_type {
	MT_CC_U32,
	MT_CC_SIZE,      /* bytes, optional k/M/G suffix (powers of 1024) */
	MT_CC_DURATION,  /* seconds, optional ms/s/m/h/d suffix; stored as ns */
	MT_CC_STR,
	MT_CC_ADDR,      /* host:port, [v6]:port; empty allowed where the default is */
	MT_CC_SYNC,      /* SQLite synchronous level: full or normal */
	MT_CC_DOMAINS,   /* observation domain ids, space or comma separated */
};

struct mt_coll_config_key {
	const char *section;   /* "appliance" stands for every [appliance NAME] */
	const char *key;
	uint8_t type;          /* enum mt_coll_config_type */
	uint8_t width;         /* 4 or 8 for numbers */
	uint32_t offset;       /* in struct mt_coll_config (unused for appliances) */
	uint64_t min;
	uint64_t max;
	const char *def;       /* default, as written in a file */
	const char *help;
};

extern const struct mt_coll_config_key mt_coll_config_keys[];
extern const unsigned mt_coll_config_nkeys;

/* Every field to its default, no appliances. */
void mt_coll_config_defaults(struct mt_coll_config *cfg);
void mt_coll_config_free(struct mt_coll_config *cfg);

/*
 * Parses `text` over the defaults already in `cfg`; `name` is used in
 * messages. Returns 0 when valid, -1 with every problem in `err`.
 */
int mt_coll_config_parse(struct mt_coll_config *cfg, const char *name,
			 const char *text, size_t len,
			 struct mt_config_errors *err);
int mt_coll_config_load(struct mt_coll_config *cfg, const char *path,
			struct mt_config_errors *err);

/* The appliance a certificate common name belongs to, or NULL. */
const struct mt_coll_appliance *mt_coll_config_appliance(const struct mt_coll_config *cfg,
							 const char *name);

/* True when `domain` is bound to appliance `a`. */
bool mt_coll_appliance_has_domain(const struct mt_coll_appliance *a, uint32_t domain);

/* Splits "host:port" / "[v6]:port" into host and port; false with a reason. */
bool mt_coll_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port,
			char *why, size_t whylen);

#endif
