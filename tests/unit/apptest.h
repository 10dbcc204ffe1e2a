/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Harness for analyzer unit tests: one fake TCP flow (client 192.0.2.1:40000,
 * server 192.0.2.25:PORT), an analyzer started on it directly, and every
 * record it writes appended as a JSON line to `at.out`. Tests feed bytes
 * per direction, in any chunking, and compare the JSON exactly.
 */
#ifndef MT_APPTEST_H
#define MT_APPTEST_H

#include "testutil.h"

#include <stdlib.h>

#include "app.h"
#include "config.h"
#include "json.h"

struct apptest {
	struct mt_apps apps;
	struct mt_app_config cfg;
	struct mt_counters ctr;
	struct mt_flow flow;
	struct mt_buf out;
	uint64_t now;
};

static struct apptest at;

static void at_collect(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	mt_json_record(&at.out, r);
}

/* Configuration from the defaults of config.c, then `tweak` may change it. */
static void at_open_cfg(enum mt_app app, uint16_t port, void (*tweak)(struct mt_app_config *))
{
	struct mt_config c;
	char err[128];

	mt_buf_free(&at.out);
	memset(&at, 0, sizeof(at));
	mt_config_defaults(&c);
	assert_int_equal(mt_app_config_init(&at.cfg, c.analyzers.smtp_ports,
					    c.analyzers.imap_ports, c.analyzers.pop3_ports,
					    c.analyzers.tls_ports, err, sizeof(err)), 0);
	at.cfg.detect_other_ports = c.analyzers.detect_other_ports;
	at.cfg.max_sessions = 4;
	at.cfg.smtp_reply_max = c.analyzers.smtp_reply_max;
	at.cfg.smtp_rcpt_max = c.analyzers.smtp_rcpt_max;
	at.cfg.imap_line_max = c.analyzers.imap_line_max;
	at.cfg.imap_literal_max = c.analyzers.imap_literal_max;
	at.cfg.pop3_line_max = c.analyzers.pop3_line_max;
	at.cfg.mime_header_max = c.analyzers.mime_header_max;
	at.cfg.mime_headers_max = c.analyzers.mime_headers_max;
	at.cfg.mime_depth_max = c.analyzers.mime_depth_max;
	at.cfg.mime_parts_max = c.analyzers.mime_parts_max;
	at.cfg.tls_handshake_max = (uint32_t)c.analyzers.tls_handshake_max;
	if (tweak)
		tweak(&at.cfg);
	assert_int_equal(mt_apps_init(&at.apps, &at.cfg, &at.ctr, at_collect, NULL), 0);
	at.flow.key.a[0] = 192;
	at.flow.key.a[2] = 2;
	at.flow.key.a[3] = 1;
	at.flow.key.b[0] = 192;
	at.flow.key.b[2] = 2;
	at.flow.key.b[3] = 25;
	at.flow.key.pa = 40000;
	at.flow.key.pb = port;
	at.flow.key.proto = 6;
	at.flow.key.ip_ver = 4;
	at.flow.client_is_a = 1;
	at.flow.flow_id = 4242;
	at.flow.stream = MT_FLOW_NIL;
	at.flow.pkts[MT_DIR_TOSERVER] = 1; /* the handshake was captured */
	at.flow.pkts[MT_DIR_TOCLIENT] = 1;
	at.now = 1714557600000000000ull; /* 2024-05-01T10:00:00Z */
	at.flow.start_ns = at.now;
	assert_true(mt_app_force(&at.apps, &at.flow, app, at.now));
}

static inline void at_open(enum mt_app app, uint16_t port)
{
	at_open_cfg(app, port, NULL);
}

/* Feeds `n` bytes of one direction in chunks of `chunk` bytes (0 = whole). */
static inline void at_feed(int dir, const void *data, size_t n, size_t chunk)
{
	const uint8_t *p = data;

	if (!chunk)
		chunk = n ? n : 1;
	while (n) {
		size_t k = MT_MIN(n, chunk);

		at.now += 1000; /* 1 us per chunk */
		mt_app_data(&at.apps, &at.flow, dir, p, k, at.now);
		p += k;
		n -= k;
	}
}

static inline void at_c2s(const char *s)
{
	at_feed(MT_DIR_C2S, s, strlen(s), 0);
}

static inline void at_s2c(const char *s)
{
	at_feed(MT_DIR_S2C, s, strlen(s), 0);
}

/* Ends the session (its records are written) and returns all JSON so far. */
static inline const char *at_close(void)
{
	mt_app_close(&at.apps, &at.flow, at.now);
	mt_buf_putc(&at.out, '\0');
	at.out.len--;
	return at.out.p ? at.out.p : "";
}

static inline void at_free(void)
{
	mt_apps_free(&at.apps);
	mt_buf_free(&at.out);
}

#endif
