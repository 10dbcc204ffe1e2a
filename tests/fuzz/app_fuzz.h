/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared body of the analyzer fuzz targets. The input is split into chunks:
 * each chunk starts with one control byte (bit 7: direction, bits 0-6: the
 * chunk length, 0 meaning "the rest"), so resumption across arbitrary
 * segment boundaries and interleaving of both directions are exercised.
 * A control byte of 0x7f declares a gap of the next byte's length instead.
 * Records are rendered to JSON (so the writer sees whatever the analyzer
 * put in them) and the session pool must be whole afterwards.
 */
#ifndef MT_APP_FUZZ_H
#define MT_APP_FUZZ_H

#include <stdlib.h>

#include "app.h"
#include "config.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mt_buf fuzz_out;

static void fuzz_emit(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	mt_buf_reset(&fuzz_out);
	mt_json_record(&fuzz_out, r);
	if (fuzz_out.failed)
		abort();
}

static int app_fuzz_run(enum mt_app app, uint16_t port, const uint8_t *data,
			size_t size, void (*tweak)(struct mt_app_config *))
{
	static struct mt_app_config cfg;
	static struct mt_apps apps;
	static int ready;
	struct mt_counters ctr;
	struct mt_flow flow;
	uint64_t now = 1700000000ull * MT_NS_PER_SEC;
	size_t i = 0;

	if (!ready) {
		struct mt_config c;
		char err[128];

		mt_config_defaults(&c);
		if (mt_app_config_init(&cfg, c.analyzers.smtp_ports,
				       c.analyzers.imap_ports, c.analyzers.pop3_ports,
				       c.analyzers.tls_ports, err, sizeof(err)))
			abort();
		cfg.max_sessions = 1;
		/* Small caps so that hitting them is common. */
		cfg.smtp_reply_max = 128;
		cfg.smtp_rcpt_max = 4;
		cfg.imap_line_max = 256;
		cfg.imap_literal_max = 4096;
		cfg.pop3_line_max = 128;
		cfg.mime_header_max = 256;
		cfg.mime_headers_max = 16;
		cfg.mime_depth_max = 3;
		cfg.mime_parts_max = 6;
		cfg.tls_handshake_max = 4096;
		if (tweak)
			tweak(&cfg);
		ready = 1;
	}
	memset(&ctr, 0, sizeof(ctr));
	if (mt_apps_init(&apps, &cfg, &ctr, fuzz_emit, NULL))
		abort();
	memset(&flow, 0, sizeof(flow));
	flow.key.a[0] = 10;
	flow.key.b[0] = 10;
	flow.key.b[3] = 1;
	flow.key.pa = 50000;
	flow.key.pb = port;
	flow.key.proto = 6;
	flow.key.ip_ver = 4;
	flow.client_is_a = 1;
	flow.stream = MT_FLOW_NIL;
	flow.pkts[MT_DIR_TOCLIENT] = size & 1; /* one-sided half of the time */
	if (!mt_app_force(&apps, &flow, app, now))
		abort();
	while (i < size) {
		uint8_t c = data[i++];
		int dir = c >> 7;
		size_t len = c & 0x7f;
		uint8_t *chunk;

		now += 1000;
		if ((c & 0x7f) == 0x7f) {
			if (i < size)
				mt_app_gap(&apps, &flow, dir, data[i++] + 1u, now);
			continue;
		}
		if (len == 0 || len > size - i)
			len = size - i;
		/* Copied so ASan sees any read past this chunk. */
		chunk = malloc(len ? len : 1);
		memcpy(chunk, data + i, len);
		mt_app_data(&apps, &flow, dir, chunk, len, now);
		free(chunk);
		i += len;
	}
	mt_app_close(&apps, &flow, now);
	if (apps.free_head != 0 || flow.app)
		abort(); /* the one slot must be back */
	mt_apps_free(&apps);
	return 0;
}

#endif
