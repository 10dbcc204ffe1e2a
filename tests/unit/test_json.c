/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON writer and worker pipeline tests: escaping (control bytes, quotes,
 * valid and invalid UTF-8), timestamps, omission of empty fields, nesting
 * by path, and the exact `flow` line a small TCP session through a real
 * worker produces.
 */
#include "testutil.h"

#include <stdlib.h>

#include "json.h"
#include "worker.h"

static char *esc(const char *s, size_t n)
{
	static struct mt_buf b;

	mt_buf_reset(&b);
	mt_json_escape(&b, (const uint8_t *)s, n);
	mt_buf_putc(&b, '\0');
	return b.p;
}

static void test_escape(void **state)
{
	(void)state;
	assert_string_equal(esc("plain", 5), "plain");
	assert_string_equal(esc("a\"b\\c", 5), "a\\\"b\\\\c");
	assert_string_equal(esc("\r\n\t\x01\x7f", 5), "\\r\\n\\t\\u0001\x7f");
	assert_string_equal(esc("caf\xc3\xa9", 5), "caf\xc3\xa9");         /* valid */
	assert_string_equal(esc("\xe2\x82\xac!", 4), "\xe2\x82\xac!");     /* euro */
	assert_string_equal(esc("x\xff" "y", 3), "x\\u00ffy");             /* invalid */
	assert_string_equal(esc("\xc3", 1), "\\u00c3");                    /* cut */
	assert_string_equal(esc("\xc0\xaf", 2), "\\u00c0\\u00af");         /* overlong */
	assert_string_equal(esc("\xed\xa0\x80", 3), "\\u00ed\\u00a0\\u0080"); /* surrogate */
	assert_string_equal(esc("a\0b", 3), "a\\u0000b");
}

static void test_time(void **state)
{
	char t[96];

	(void)state;
	mt_json_time(t, 0);
	assert_string_equal(t, "1970-01-01T00:00:00.000000+0000");
	mt_json_time(t, 1714557600123456789ull);
	assert_string_equal(t, "2024-05-01T10:00:00.123456+0000");
}

static struct mt_buf out;

static void collect(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	mt_json_record(&out, r);
}

static void feed(struct mt_worker *w, const struct fb *f, uint64_t ts)
{
	mt_worker_packet(w, MT_LINK_ETHERNET, f->d, (uint32_t)f->n,
			 (uint32_t)f->n, ts);
}

static void test_worker_flow_record(void **state)
{
	static struct mt_worker w;
	struct mt_config cfg;
	struct fb f;
	const uint64_t t0 = 1714557600000000000ull;

	(void)state;
	mt_config_defaults(&cfg);
	cfg.flow.capacity = 64;
	cfg.stream.ooo_pool_bytes = 1 << 16;
	assert_int_equal(mt_worker_init(&w, &cfg, 0, collect, NULL), 0);
	mt_buf_reset(&out);

	fb_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 2525, 100, 0, MT_TCP_SYN, NULL, 0);
	feed(&w, &f, t0);
	fb_tcp4(&f, "10.0.0.2", 2525, "10.0.0.1", 40000, 900, 101,
		MT_TCP_SYN | MT_TCP_ACK, NULL, 0);
	feed(&w, &f, t0 + 1000);
	fb_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 2525, 101, 901, MT_TCP_ACK, NULL, 0);
	feed(&w, &f, t0 + 2000);
	fb_tcp4(&f, "10.0.0.2", 2525, "10.0.0.1", 40000, 901, 101,
		MT_TCP_ACK | MT_TCP_PSH, "220 mx\r\n", 8);
	feed(&w, &f, t0 + 500000);
	fb_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 2525, 101, 909,
		MT_TCP_ACK | MT_TCP_FIN, NULL, 0);
	feed(&w, &f, t0 + 1000000);
	fb_tcp4(&f, "10.0.0.2", 2525, "10.0.0.1", 40000, 909, 102,
		MT_TCP_ACK | MT_TCP_FIN, NULL, 0);
	feed(&w, &f, t0 + 1500000);
	assert_int_equal(out.len, 0); /* closed, waiting for stragglers */
	/* Another flow, 6 s later, expires the closed one (5 s). */
	fb_init(&f);
	fb_eth(&f, 0x8100);
	fb_vlan(&f, 12, 0x0800);
	fb_ipv4(&f, "10.0.0.3", "10.0.0.4", 17);
	fb_udp(&f, 5353, 5353, "x", 1);
	fb_finish(&f);
	feed(&w, &f, t0 + 7 * MT_NS_PER_SEC);
	{
		/* The id is a hash of tuple and start (its properties are tested
		 * in test_flow); everything else is spelled out here. */
		char want[1024];
		const char *id = strstr(out.p, "\"flow_id\":");

		assert_non_null(id);
		snprintf(want, sizeof(want),
			 "{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\","
			 "\"flow_id\":%llu,\"event_type\":\"flow\","
			 "\"src_ip\":\"10.0.0.1\",\"src_port\":40000,"
			 "\"dest_ip\":\"10.0.0.2\",\"dest_port\":2525,\"proto\":\"TCP\","
			 "\"flow\":{\"pkts_toserver\":3,\"pkts_toclient\":3,"
			 "\"bytes_toserver\":162,\"bytes_toclient\":170,"
			 "\"start\":\"2024-05-01T10:00:00.000000+0000\","
			 "\"end\":\"2024-05-01T10:00:00.001500+0000\",\"reason\":\"fin\"},"
			 "\"tcp\":{\"tcp_flags\":\"1b\",\"tcp_flags_ts\":\"13\","
			 "\"tcp_flags_tc\":\"1b\"}}\n",
			 strtoull(id + 10, NULL, 10));
		assert_string_equal(out.p, want);
	}
	mt_buf_reset(&out);
	mt_worker_flush(&w);
	assert_non_null(strstr(out.p, "\"vlan\":[12],\"flow\":{\"pkts_toserver\":1,"
				      "\"pkts_toclient\":0,\"bytes_toserver\":47,"
				      "\"bytes_toclient\":0,"));
	assert_non_null(strstr(out.p, "\"proto\":\"UDP\""));
	assert_null(strstr(out.p, "\"tcp\""));
	assert_non_null(strstr(out.p, "\"reason\":\"shutdown\"}}\n"));
	/* Port 2525 is not a mail port and "220 mx" does not name SMTP: the
	 * greeting was held as a candidate (its 8 bytes reassembled) that no
	 * client command ever confirmed, so no session was opened. */
	assert_int_equal(w.ctr.v[MT_CTR_stream_bytes_delivered], 8);
	assert_int_equal(w.ctr.v[MT_CTR_app_sessions], 0);
	mt_worker_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_worker_flow_record),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
