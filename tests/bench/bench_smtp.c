/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MIME and SMTP DATA throughput on a message carrying a 1 MB base64
 * attachment, side by side with a baseline measured in the same run (a bare
 * base64 decode plus SHA-256 of the same bytes, the least any parser that
 * hashes attachments must do). Input is fed in 1448-byte segments, as TCP
 * delivers it. Not part of `make bench` yet; build with:
 *   cc -std=gnu11 -D_GNU_SOURCE -O2 -Ifirmware -o build/bench_smtp \
 *      tests/bench/bench_smtp.c build/libmailtap.a -lmbedx509 -lmbedcrypto -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "config.h"
#include "mime.h"

#define SEG 1448
#define ROUNDS 20

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, col = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
		if ((col += 4) >= 76 || i + 3 >= n) {
			out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
		}
	}
	return o;
}

static char *msg;
static size_t msg_len, b64_off, b64_len;

static void make_msg(void)
{
	size_t n = 1u << 20;
	uint8_t *data = malloc(n);
	uint32_t x = 2463534242u;

	msg = malloc(n * 2);
	if (!data || !msg)
		abort();
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (uint8_t)x;
	}
	msg_len = (size_t)sprintf(msg, "From: a@example.com\r\nSubject: bench\r\n"
				  "Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n"
				  "--=_b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
				  "--=_b\r\nContent-Type: application/octet-stream; name=\"r.bin\"\r\n"
				  "Content-Transfer-Encoding: base64\r\n\r\n");
	b64_off = msg_len;
	b64_len = b64_encode(data, n, msg + msg_len);
	msg_len += b64_len;
	msg_len += (size_t)sprintf(msg + msg_len, "--=_b--\r\n");
	free(data);
}

static void mime_anomaly(void *ctx, enum mt_ctr which, const uint8_t *ev, size_t len)
{
	(void)ctx;
	(void)which;
	(void)ev;
	(void)len;
	abort(); /* a clean message must not raise any */
}

static double bench_baseline(void)
{
	static uint8_t out[(SEG / 4 + 1) * 3];
	uint8_t sha[32];
	double t0 = now_s();

	for (int r = 0; r < ROUNDS; r++) {
		struct mt_b64_stream b;
		mbedtls_sha256_context c;

		memset(&b, 0, sizeof(b));
		mbedtls_sha256_init(&c);
		mbedtls_sha256_starts_ret(&c, 0);
		for (size_t i = 0; i < b64_len; i += SEG) {
			size_t k = MT_MIN((size_t)SEG, b64_len - i);

			mbedtls_sha256_update_ret(&c, out,
						  mt_b64_stream_feed(&b, (const uint8_t *)msg + b64_off + i, k, out));
		}
		mbedtls_sha256_finish_ret(&c, sha);
	}
	return (double)b64_len * ROUNDS / (now_s() - t0) / 1e6;
}

static double bench_mime(void)
{
	struct mt_mime_limits lim = { 2048, 512, 8, 64 };
	static struct mt_mime m;
	uint8_t *extra = malloc(mt_mime_extra_size(&lim));
	double t0;

	mt_mime_init(&m, &lim, extra, mime_anomaly);
	t0 = now_s();
	for (int r = 0; r < ROUNDS; r++) {
		mt_mime_begin(&m);
		for (size_t i = 0; i < msg_len; i += SEG)
			mt_mime_feed(&m, (const uint8_t *)msg + i, MT_MIN((size_t)SEG, msg_len - i), NULL);
		mt_mime_end(&m, NULL);
	}
	t0 = now_s() - t0;
	free(extra);
	return (double)msg_len * ROUNDS / t0 / 1e6;
}

static uint64_t records;

static void count(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	(void)r;
	records++;
}

static double bench_smtp(uint32_t *state_size)
{
	static struct mt_app_config cfg;
	static struct mt_apps apps;
	static struct mt_counters ctr;
	struct mt_config c;
	char err[128];
	double t = 0;

	mt_config_defaults(&c);
	if (mt_app_config_init(&cfg, c.analyzers.smtp_ports, c.analyzers.imap_ports,
			       c.analyzers.pop3_ports, c.analyzers.tls_ports, err, sizeof(err)))
		abort();
	cfg.max_sessions = 1;
	cfg.smtp_reply_max = c.analyzers.smtp_reply_max;
	cfg.smtp_rcpt_max = c.analyzers.smtp_rcpt_max;
	cfg.mime_header_max = c.analyzers.mime_header_max;
	cfg.mime_headers_max = c.analyzers.mime_headers_max;
	cfg.mime_depth_max = c.analyzers.mime_depth_max;
	cfg.mime_parts_max = c.analyzers.mime_parts_max;
	cfg.pop3_line_max = c.analyzers.pop3_line_max;
	cfg.imap_line_max = c.analyzers.imap_line_max;
	cfg.imap_literal_max = c.analyzers.imap_literal_max;
	cfg.tls_handshake_max = (uint32_t)c.analyzers.tls_handshake_max;
	*state_size = mt_smtp_analyzer.state_size(&cfg);
	for (int r = 0; r < ROUNDS; r++) {
		struct mt_flow f;
		const char *pre = "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n";
		double t0;

		if (mt_apps_init(&apps, &cfg, &ctr, count, NULL))
			abort();
		memset(&f, 0, sizeof(f));
		f.key.ip_ver = 4;
		f.key.proto = 6;
		f.key.pb = 25;
		f.stream = MT_FLOW_NIL;
		mt_app_force(&apps, &f, MT_APP_SMTP, 0);
		mt_app_data(&apps, &f, MT_DIR_S2C, (const uint8_t *)"220 mx\r\n", 8, 0);
		mt_app_data(&apps, &f, MT_DIR_C2S, (const uint8_t *)pre, strlen(pre), 0);
		mt_app_data(&apps, &f, MT_DIR_S2C,
			    (const uint8_t *)"250 ok\r\n250 ok\r\n354 go\r\n", 24, 0);
		t0 = now_s();
		for (size_t i = 0; i < msg_len; i += SEG)
			mt_app_data(&apps, &f, MT_DIR_C2S, (const uint8_t *)msg + i,
				    MT_MIN((size_t)SEG, msg_len - i), 0);
		mt_app_data(&apps, &f, MT_DIR_C2S, (const uint8_t *)".\r\n", 3, 0);
		t += now_s() - t0;
		mt_app_data(&apps, &f, MT_DIR_S2C, (const uint8_t *)"250 ok\r\n", 8, 0);
		mt_app_close(&apps, &f, 0);
		mt_apps_free(&apps);
	}
	return (double)msg_len * ROUNDS / t / 1e6;
}

int main(void)
{
	uint32_t ss = 0;
	double base, mime, smtp;

	make_msg();
	base = bench_baseline();
	mime = bench_mime();
	smtp = bench_smtp(&ss);
	printf("message %zu bytes (1 MiB attachment, base64), %d rounds, %d-byte segments\n",
	       msg_len, ROUNDS, SEG);
	printf("baseline b64 decode + sha256: %8.1f MB/s\n", base);
	printf("mt_mime_feed:                 %8.1f MB/s (%.0f%% of baseline)\n", mime,
	       100 * mime / base);
	printf("smtp DATA (dots + MIME):      %8.1f MB/s (%.0f%% of baseline)\n", smtp,
	       100 * smtp / base);
	printf("smtp session state: %u bytes with the default caps\n", ss);
	free(msg);
	return records == (uint64_t)ROUNDS ? 0 : 1;
}
