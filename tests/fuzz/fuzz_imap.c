/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the IMAP analyzer: the shared chunked harness (see
 * app_fuzz.h), then a differential check of resumability. The same input is
 * fed twice, once chunk by chunk and once with every chunk cut into pieces
 * of 1-8 bytes at the same packet times; the imap, auth and imap_* anomaly
 * records must come out byte for byte the same.
 */
#include "app_fuzz.h"

/* JSON of the records of one run. */
static struct mt_buf diff_out[2];
static int diff_run;

static bool compared(const struct mt_rec *r)
{
	struct mt_view ev;

	if (r->type == MT_REC_imap || r->type == MT_REC_auth)
		return true;
	if (r->type != MT_REC_anomaly)
		return false; /* tls after STARTTLS: not this analyzer's */
	ev = mt_rec_str(r, r->b.anomaly.event);
	return ev.len > 5 && !memcmp(ev.p, "imap_", 5);
}

static void diff_emit(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	if (compared(r))
		mt_json_record(&diff_out[diff_run], r);
}

static void diff_feed(const uint8_t *data, size_t size, int split)
{
	static struct mt_app_config cfg;
	static int ready;
	struct mt_counters ctr;
	struct mt_apps apps;
	struct mt_flow flow;
	uint64_t now = 1700000000ull * MT_NS_PER_SEC;
	uint32_t rng = 2463534242u;
	size_t i = 0;

	if (!ready) {
		struct mt_config c;
		char err[128];

		mt_config_defaults(&c);
		if (mt_app_config_init(&cfg, c.analyzers.smtp_ports, c.analyzers.imap_ports,
				       c.analyzers.pop3_ports, c.analyzers.tls_ports, err,
				       sizeof(err)))
			abort();
		cfg.max_sessions = 1;
		cfg.imap_line_max = 128;
		cfg.imap_literal_max = 4096;
		cfg.tls_handshake_max = 4096;
		ready = 1;
	}
	memset(&ctr, 0, sizeof(ctr));
	if (mt_apps_init(&apps, &cfg, &ctr, diff_emit, NULL))
		abort();
	memset(&flow, 0, sizeof(flow));
	flow.key.a[0] = 10;
	flow.key.b[0] = 10;
	flow.key.b[3] = 1;
	flow.key.pa = 50000;
	flow.key.pb = 143;
	flow.key.proto = 6;
	flow.key.ip_ver = 4;
	flow.client_is_a = 1;
	flow.stream = MT_FLOW_NIL;
	if (!mt_app_force(&apps, &flow, MT_APP_IMAP, now))
		abort();
	while (i < size) {
		uint8_t c = data[i++];
		int dir = c >> 7;
		size_t len = c & 0x7f, off = 0;

		now += 1000;
		if ((c & 0x7f) == 0x7f) {
			if (i < size)
				mt_app_gap(&apps, &flow, dir, data[i++] + 1u, now);
			continue;
		}
		if (len == 0 || len > size - i)
			len = size - i;
		while (off < len) {
			size_t k = len - off;

			if (split) {
				rng ^= rng << 13;
				rng ^= rng >> 17;
				rng ^= rng << 5;
				k = MT_MIN(k, (size_t)(1 + rng % 8));
			}
			/* Copied so ASan sees any read past this piece. */
			uint8_t *piece = malloc(k);

			memcpy(piece, data + i + off, k);
			mt_app_data(&apps, &flow, dir, piece, k, now);
			free(piece);
			off += k;
		}
		i += len;
	}
	mt_app_close(&apps, &flow, now);
	mt_apps_free(&apps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	app_fuzz_run(MT_APP_IMAP, 143, data, size, NULL);
	for (diff_run = 0; diff_run < 2; diff_run++) {
		mt_buf_reset(&diff_out[diff_run]);
		diff_feed(data, size, diff_run);
	}
	if (diff_out[0].len != diff_out[1].len ||
	    (diff_out[0].len && memcmp(diff_out[0].p, diff_out[1].p, diff_out[0].len)))
		abort(); /* the records depend on how the bytes were cut */
	return 0;
}
