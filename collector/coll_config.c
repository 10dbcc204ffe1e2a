/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The collector's INI parser and key table, in the style of mailtapd's
 * (firmware/config.c): a line reader with a hard line cap, values checked
 * against the table, every problem reported with file, line, section and
 * key. `[appliance NAME]` sections are the allow-list. Control plane only.
 */
#include "coll_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LINE_MAX_ 4096

#define OFF(f) ((uint32_t)offsetof(struct mt_coll_config, f))
#define W(f) ((uint8_t)sizeof(((struct mt_coll_config *)0)->f))

const struct mt_coll_config_key mt_coll_config_keys[] = {
	{ "server", "listen", MT_CC_ADDR, 0, OFF(server.listen), 0, 0, "0.0.0.0:4740",
	  "Address and port the TLS listener binds (host:port, [v6]:port); 4740 is IPFIX over TLS." },
	{ "server", "ca", MT_CC_STR, 0, OFF(server.ca), 0, 0, "",
	  "CA certificate (PEM) that signed the appliance certificates. Required." },
	{ "server", "cert", MT_CC_STR, 0, OFF(server.cert), 0, 0, "",
	  "The collector's own certificate (PEM). Required." },
	{ "server", "key", MT_CC_STR, 0, OFF(server.key), 0, 0, "",
	  "The collector's private key (PEM). Required; keep it 0600." },
	{ "server", "max_connections", MT_CC_U32, W(server.max_connections),
	  OFF(server.max_connections), 1, 65536, "1024",
	  "Connections open at once (handshaking or not); beyond it new ones are closed and counted." },
	{ "server", "handshake_timeout", MT_CC_DURATION, W(server.handshake_timeout_ns),
	  OFF(server.handshake_timeout_ns), 100 * MT_NS_PER_MS, 600 * MT_NS_PER_SEC, "10s",
	  "A connection whose TLS handshake has not finished after this long is dropped." },
	{ "server", "idle_timeout", MT_CC_DURATION, W(server.idle_timeout_ns),
	  OFF(server.idle_timeout_ns), 0, 7 * 86400 * MT_NS_PER_SEC, "1h",
	  "An established connection that sends nothing for this long is closed (0 = never)." },
	{ "server", "pen", MT_CC_U32, W(server.pen), OFF(server.pen), 1, UINT32_MAX, "32473",
	  "Private Enterprise Number of mailtap's IPFIX elements; must match the appliances' export.pen." },
	{ "storage", "path", MT_CC_STR, 0, OFF(storage.path), 0, 0,
	  "/var/lib/mailtap/collector.db",
	  "SQLite database file (created with its tables when missing)." },
	{ "storage", "synchronous", MT_CC_SYNC, 0, OFF(storage.synchronous), 0, 0, "full",
	  "full: each commit is on disk before it is acknowledged (survives power loss); normal: survives a collector crash only." },
	{ "storage", "batch_interval", MT_CC_DURATION, W(storage.batch_interval_ns),
	  OFF(storage.batch_interval_ns), MT_NS_PER_MS, 10 * MT_NS_PER_SEC, "50ms",
	  "Records are committed at least this often (then acknowledged)." },
	{ "storage", "batch_records", MT_CC_U32, W(storage.batch_records),
	  OFF(storage.batch_records), 1, 1000000, "5000",
	  "A batch is committed as soon as it holds this many records." },
	{ "storage", "retention", MT_CC_DURATION, W(storage.retention_ns),
	  OFF(storage.retention_ns), 0, 36500ull * 86400 * MT_NS_PER_SEC, "30d",
	  "Records older than this (by record time) are deleted in the background (0 = keep everything)." },
	{ "storage", "retention_batch", MT_CC_U32, W(storage.retention_batch),
	  OFF(storage.retention_batch), 1, 1000000, "2000",
	  "Rows deleted per retention step, so a step never holds the database for long." },
	{ "storage", "cache", MT_CC_SIZE, W(storage.cache_bytes), OFF(storage.cache_bytes),
	  1u << 20, 64ull << 30, "64M",
	  "SQLite page cache of the writer (indexes stay in memory while inserting)." },
	{ "metrics", "listen", MT_CC_ADDR, 0, OFF(metrics.listen), 0, 0, "127.0.0.1:9474",
	  "Address of the Prometheus /metrics HTTP endpoint; empty turns it off. Keep it on loopback or a management network." },
	{ "appliance", "domains", MT_CC_DOMAINS, 0, 0, 0, UINT32_MAX, "",
	  "Observation domain ids this appliance may send (space or comma separated). Required in every [appliance NAME] section." },
};

const unsigned mt_coll_config_nkeys = MT_ARRAY_SIZE(mt_coll_config_keys);

struct perr {
	struct mt_config_errors *err;
	const char *name;
};

/* Messages go through the shared INI error list ("FILE:LINE: ..."). */
#define add_err(pe, line, ...) mt_ini_error((pe)->err, (pe)->name, (line), __VA_ARGS__)

static bool parse_u64(const char *s, uint64_t *out)
{
	return mt_ini_parse_num(s, MT_INI_NUMBER, out);
}

bool mt_coll_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port,
			char *why, size_t whylen)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t p;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			snprintf(why, whylen, "`%.60s' is not [IPv6]:port", s);
			return false;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) {
			snprintf(why, whylen, "`%.60s' is not host:port", s);
			return false;
		}
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen) {
		snprintf(why, whylen, "`%.60s': host missing or too long", s);
		return false;
	}
	if (!parse_u64(colon + 1, &p) || p == 0 || p > 65535) {
		snprintf(why, whylen, "`%.60s': port is not 1-65535", s);
		return false;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return true;
}

/* Parses a domain list into `a`; false with a reason. */
static bool parse_domains(const char *s, struct mt_coll_appliance *a, char *why,
			  size_t whylen)
{
	const char *p = s;

	a->ndomains = 0;
	while (*p) {
		char num[16];
		size_t n = 0;
		uint64_t v;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != '\t')
			n++;
		if (n >= sizeof(num)) {
			snprintf(why, whylen, "`%.20s' is not a domain id 0-4294967295", p);
			return false;
		}
		memcpy(num, p, n);
		num[n] = '\0';
		if (!parse_u64(num, &v) || v > UINT32_MAX) {
			snprintf(why, whylen, "`%s' is not a domain id 0-4294967295", num);
			return false;
		}
		for (unsigned i = 0; i < a->ndomains; i++)
			if (a->domains[i] == v) {
				snprintf(why, whylen, "domain %s listed twice", num);
				return false;
			}
		if (a->ndomains == MT_COLL_DOMAINS_MAX) {
			snprintf(why, whylen, "more than %u domains", MT_COLL_DOMAINS_MAX);
			return false;
		}
		a->domains[a->ndomains++] = (uint32_t)v;
		p += n;
	}
	if (a->ndomains == 0) {
		snprintf(why, whylen, "no domain id given");
		return false;
	}
	return true;
}

static void set_value(struct mt_coll_config *cfg, struct mt_coll_appliance *app,
		      const struct mt_coll_config_key *k, const char *val,
		      struct perr *pe, unsigned line)
{
	uint8_t *dst = (uint8_t *)cfg + k->offset;
	const char *sec = app ? "appliance " : "";
	const char *secname = app ? app->name : k->section;
	char why[120], host[MT_COLL_ADDR];
	uint16_t port;

	switch (k->type) {
	case MT_CC_DOMAINS:
		if (!parse_domains(val, app, why, sizeof(why))) {
			add_err(pe, line, "[%s%s] %s: %s", sec, secname, k->key, why);
			/* Nothing half-parsed is bound. */
			app->ndomains = 0;
			app->invalid = true;
		}
		return;
	case MT_CC_SYNC:
		if (strcmp(val, "full") != 0 && strcmp(val, "normal") != 0) {
			add_err(pe, line, "[%s] %s: `%s' is neither full nor normal", k->section,
				k->key, val);
			return;
		}
		snprintf((char *)dst, 16, "%s", val);
		return;
	case MT_CC_ADDR:
		if (strlen(val) >= MT_COLL_ADDR) {
			add_err(pe, line, "[%s] %s: value longer than %u bytes", k->section,
				k->key, MT_COLL_ADDR - 1);
			return;
		}
		if (val[0] && !mt_coll_parse_addr(val, host, sizeof(host), &port, why,
						  sizeof(why))) {
			add_err(pe, line, "[%s] %s: %s", k->section, k->key, why);
			return;
		}
		memcpy(dst, val, strlen(val) + 1);
		return;
	case MT_CC_STR:
		if (strlen(val) >= MT_COLL_STR) {
			add_err(pe, line, "[%s] %s: value longer than %u bytes", k->section,
				k->key, MT_COLL_STR - 1);
			return;
		}
		memcpy(dst, val, strlen(val) + 1);
		return;
	default:
		mt_ini_number(pe->err, pe->name, line, k->section, k->key, val,
			      k->type == MT_CC_SIZE ? MT_INI_SIZE :
			      k->type == MT_CC_DURATION ? MT_INI_DURATION : MT_INI_NUMBER,
			      k->min, k->max, dst, k->width);
		return;
	}
}

void mt_coll_config_defaults(struct mt_coll_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned i = 0; i < mt_coll_config_nkeys; i++) {
		struct perr pe = { NULL, "default" };

		if (strcmp(mt_coll_config_keys[i].section, "appliance") != 0)
			set_value(cfg, NULL, &mt_coll_config_keys[i], mt_coll_config_keys[i].def,
				  &pe, 0);
	}
}

void mt_coll_config_free(struct mt_coll_config *cfg)
{
	free(cfg->appliances);
	cfg->appliances = NULL;
	cfg->nappliances = 0;
}

static bool known_section(const char *s)
{
	for (unsigned i = 0; i < mt_coll_config_nkeys; i++)
		if (strcmp(mt_coll_config_keys[i].section, s) == 0)
			return true;
	return false;
}

/* Certificate common names we accept as appliance names: what
 * `mailtap-collector ca issue --appliance` writes, and safe in logs,
 * metrics labels and SQL text. */
static bool valid_name(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MT_COLL_NAME) {
		snprintf(why, whylen, "name must be 1-%u characters", MT_COLL_NAME - 1);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
			snprintf(why, whylen, "`%.63s': only letters, digits, - _ . allowed", s);
			return false;
		}
	return true;
}

/* Starts `[appliance NAME]`; NULL (after reporting) when it cannot. */
static struct mt_coll_appliance *begin_appliance(struct mt_coll_config *cfg,
						 const char *name, struct perr *pe,
						 unsigned line)
{
	struct mt_coll_appliance *a;
	char why[120];

	if (!valid_name(name, why, sizeof(why))) {
		add_err(pe, line, "[appliance] %s", why);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->nappliances; i++)
		if (strcmp(cfg->appliances[i].name, name) == 0) {
			add_err(pe, line, "[appliance %s] defined twice (first on line %u)", name,
				cfg->appliances[i].line);
			return NULL;
		}
	if (cfg->nappliances == MT_COLL_APPLIANCES_MAX) {
		add_err(pe, line, "[appliance %s] more than %u appliances", name,
			MT_COLL_APPLIANCES_MAX);
		return NULL;
	}
	if (!cfg->appliances) {
		cfg->appliances = calloc(MT_COLL_APPLIANCES_MAX, sizeof(*cfg->appliances));
		if (!cfg->appliances) {
			add_err(pe, line, "out of memory");
			return NULL;
		}
	}
	a = &cfg->appliances[cfg->nappliances++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->line = line;
	return a;
}

struct binding {
	uint32_t domain;
	unsigned app;
};

static int cmp_binding(const void *a, const void *b)
{
	const struct binding *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	return x->app < y->app ? -1 : x->app > y->app;
}

/* Whole-file checks once every section is read. One domain, one
 * appliance: otherwise one appliance could write the other's records.
 * Sorting the bindings keeps this O(n log n) for thousands of them. */
static void check_appliances(const struct mt_coll_config *cfg, struct perr *pe)
{
	struct binding *b;
	size_t n = 0;

	for (unsigned i = 0; i < cfg->nappliances; i++) {
		const struct mt_coll_appliance *a = &cfg->appliances[i];

		if (a->ndomains == 0 && !a->invalid)
			add_err(pe, a->line, "[appliance %s] domains: missing (required)", a->name);
		n += a->ndomains;
	}
	if (n < 2)
		return;
	b = malloc(n * sizeof(*b));
	if (!b) {
		add_err(pe, 0, "out of memory");
		return;
	}
	n = 0;
	for (unsigned i = 0; i < cfg->nappliances; i++)
		for (unsigned x = 0; x < cfg->appliances[i].ndomains; x++) {
			b[n].domain = cfg->appliances[i].domains[x];
			b[n++].app = i;
		}
	qsort(b, n, sizeof(*b), cmp_binding);
	for (size_t i = 1, first_i = 0; i < n; i++) {
		if (b[i].domain != b[first_i].domain) {
			first_i = i;
		} else {
			const struct mt_coll_appliance *first = &cfg->appliances[b[first_i].app];
			const struct mt_coll_appliance *a = &cfg->appliances[b[i].app];

			add_err(pe, a->line,
				"[appliance %s] domains: domain %u is already bound to appliance %s (line %u)",
				a->name, b[i].domain, first->name, first->line);
		}
	}
	free(b);
}

int mt_coll_config_parse(struct mt_coll_config *cfg, const char *name, const char *text,
			 size_t len, struct mt_config_errors *err)
{
	unsigned seen_line[MT_ARRAY_SIZE(mt_coll_config_keys)];
	char section[MT_COLL_NAME + 16] = "";
	struct mt_coll_appliance *app = NULL;
	bool section_ok = false, app_domains_seen = false;
	struct perr pe = { err, name };
	unsigned before = err ? err->count : 0;
	struct mt_ini_item it;
	struct mt_ini r;

	memset(seen_line, 0, sizeof(seen_line));
	mt_ini_init(&r, name, text, len, err);
	while (mt_ini_next(&r, &it) != MT_INI_END) {
		unsigned lineno = it.line;
		char *key = it.key, *val = it.value;
		unsigned i;

		if (it.kind == MT_INI_BAD_SECTION) {
			app = NULL;
			section_ok = false;
			section[0] = '\0';
			continue;
		}
		if (it.kind == MT_INI_SECTION) {
			char *inner = it.section, *sp = strpbrk(inner, " \t");

			app = NULL;
			section_ok = false;
			if (sp && sp - inner == 9 && strncmp(inner, "appliance", 9) == 0) {
				while (*sp == ' ' || *sp == '\t')
					sp++;
				snprintf(section, sizeof(section), "appliance");
				app = begin_appliance(cfg, sp, &pe, lineno);
				section_ok = app != NULL;
				app_domains_seen = false;
				continue;
			}
			snprintf(section, sizeof(section), "%s", inner);
			if (strcmp(section, "appliance") == 0) {
				add_err(&pe, lineno, "[appliance] needs a name: [appliance NAME]");
				continue;
			}
			section_ok = known_section(section);
			if (!section_ok)
				add_err(&pe, lineno, "unknown section [%s]", section);
			continue;
		}
		if (!section[0]) {
			add_err(&pe, lineno, "key `%s' outside any section", key);
			continue;
		}
		if (!section_ok)
			continue; /* already reported the section */
		for (i = 0; i < mt_coll_config_nkeys; i++)
			if (!strcmp(mt_coll_config_keys[i].section, section) &&
			    !strcmp(mt_coll_config_keys[i].key, key))
				break;
		if (i == mt_coll_config_nkeys) {
			if (app)
				add_err(&pe, lineno, "[appliance %s] %s: unknown key", app->name, key);
			else
				add_err(&pe, lineno, "[%s] %s: unknown key", section, key);
			continue;
		}
		if (app) {
			if (app_domains_seen) {
				add_err(&pe, lineno, "[appliance %s] %s: set twice", app->name, key);
				continue;
			}
			app_domains_seen = true;
		} else {
			if (seen_line[i]) {
				add_err(&pe, lineno, "[%s] %s: set twice (first on line %u)", section,
					key, seen_line[i]);
				continue;
			}
			seen_line[i] = lineno;
		}
		set_value(cfg, app, &mt_coll_config_keys[i], val, &pe, lineno);
	}
	check_appliances(cfg, &pe);
	return (err ? err->count : 0) == before ? 0 : -1;
}

int mt_coll_config_load(struct mt_coll_config *cfg, const char *path,
			struct mt_config_errors *err)
{
	char *text;
	size_t len;
	int rc;

	if (mt_ini_load(path, 4u << 20, &text, &len, err) != 0)
		return -1;
	rc = mt_coll_config_parse(cfg, path, text, len, err);
	free(text);
	return rc;
}

const struct mt_coll_appliance *mt_coll_config_appliance(const struct mt_coll_config *cfg,
							 const char *name)
{
	for (unsigned i = 0; i < cfg->nappliances; i++)
		if (strcmp(cfg->appliances[i].name, name) == 0)
			return &cfg->appliances[i];
	return NULL;
}

bool mt_coll_appliance_has_domain(const struct mt_coll_appliance *a, uint32_t domain)
{
	for (unsigned i = 0; i < a->ndomains; i++)
		if (a->domains[i] == domain)
			return true;
	return false;
}
