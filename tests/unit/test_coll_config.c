/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Collector configuration tests: defaults, units (30d, 50ms), the
 * allow-list sections, and that every mistake is reported with file,
 * line, section and key, all at once. Also checks docs/collector.md
 * documents every key of the table.
 */
#include "testutil.h"

#include <stdlib.h>

#include "buf.h"
#include "coll_config.h"

static int parse(struct mt_coll_config *c, const char *text, struct mt_config_errors *e)
{
	mt_coll_config_defaults(c);
	memset(e, 0, sizeof(*e));
	return mt_coll_config_parse(c, "c.conf", text, strlen(text), e);
}

/* True when some error message contains `s`. */
static bool has_err(const struct mt_config_errors *e, const char *s)
{
	for (unsigned i = 0; i < e->count && i < MT_INI_MAX_ERRORS; i++)
		if (strstr(e->msg[i], s))
			return true;
	return false;
}

static void dump(const struct mt_config_errors *e)
{
	for (unsigned i = 0; i < e->count && i < MT_INI_MAX_ERRORS; i++)
		print_message("  %s\n", e->msg[i]);
}

static void test_defaults(void **state)
{
	struct mt_coll_config c;

	(void)state;
	mt_coll_config_defaults(&c);
	assert_string_equal(c.server.listen, "0.0.0.0:4740");
	assert_int_equal(c.server.max_connections, 1024);
	assert_int_equal(c.server.handshake_timeout_ns, 10 * MT_NS_PER_SEC);
	assert_int_equal(c.server.idle_timeout_ns, 3600 * MT_NS_PER_SEC);
	assert_int_equal(c.server.pen, 32473);
	assert_string_equal(c.storage.synchronous, "full");
	assert_int_equal(c.storage.batch_interval_ns, 50 * MT_NS_PER_MS);
	assert_int_equal(c.storage.batch_records, 5000);
	assert_int_equal(c.storage.retention_ns, 30ull * 86400 * MT_NS_PER_SEC);
	assert_string_equal(c.metrics.listen, "127.0.0.1:9474");
	assert_int_equal(c.nappliances, 0);
	assert_null(c.appliances);
}

static void test_valid_file(void **state)
{
	struct mt_coll_config c;
	struct mt_config_errors e;
	const struct mt_coll_appliance *a;

	(void)state;
	if (parse(&c,
		  "# collector\n"
		  "[server]\n"
		  "listen = [::1]:14740\n"
		  "ca = /etc/mailtap/ca.crt\r\n"
		  "cert = \"/etc/mailtap/collector.crt\"\n"
		  "key = /etc/mailtap/collector.key\n"
		  "handshake_timeout = 500ms\n"
		  "idle_timeout = 0\n"
		  "[storage]\n"
		  "path = /var/lib/x.db\n"
		  "synchronous = normal\n"
		  "retention = 7d\n"
		  "batch_records = 100\n"
		  "cache = 16M\n"
		  "[metrics]\n"
		  "listen =\n"
		  "[appliance tap-01]\n"
		  "domains = 1\n"
		  "[ appliance  tap-02 ]\n"
		  "domains = 2, 3 4\n",
		  &e) != 0) {
		dump(&e);
		fail();
	}
	assert_string_equal(c.server.listen, "[::1]:14740");
	assert_string_equal(c.server.cert, "/etc/mailtap/collector.crt");
	assert_int_equal(c.server.handshake_timeout_ns, 500 * MT_NS_PER_MS);
	assert_int_equal(c.server.idle_timeout_ns, 0);
	assert_string_equal(c.storage.synchronous, "normal");
	assert_int_equal(c.storage.retention_ns, 7ull * 86400 * MT_NS_PER_SEC);
	assert_int_equal(c.storage.cache_bytes, 16u << 20);
	assert_string_equal(c.metrics.listen, "");
	assert_int_equal(c.nappliances, 2);
	a = mt_coll_config_appliance(&c, "tap-02");
	assert_non_null(a);
	assert_int_equal(a->ndomains, 3);
	assert_true(mt_coll_appliance_has_domain(a, 2));
	assert_true(mt_coll_appliance_has_domain(a, 4));
	assert_false(mt_coll_appliance_has_domain(a, 1));
	assert_null(mt_coll_config_appliance(&c, "tap-03"));
	mt_coll_config_free(&c);
}

/* Every mistake of a file, each with its line, section and key. */
static void test_every_error_reported(void **state)
{
	struct mt_coll_config c;
	struct mt_config_errors e;

	(void)state;
	assert_int_equal(parse(&c,
			       "[server]\n"                          /* 1 */
			       "listen = localhost\n"                /* 2 */
			       "max_connections = 0\n"               /* 3 */
			       "handshake_timeout = 5x\n"            /* 4 */
			       "colour = blue\n"                     /* 5 */
			       "[storage]\n"                         /* 6 */
			       "synchronous = off\n"                 /* 7 */
			       "batch_records = 10\n"                /* 8 */
			       "batch_records = 20\n"                /* 9 */
			       "[nonsense]\n"                        /* 10 */
			       "x = 1\n"                             /* 11 */
			       "[appliance tap-01]\n"                /* 12 */
			       "domains = 1 2\n"                     /* 13 */
			       "[appliance tap-02]\n"                /* 14 */
			       "domains = 2 x\n"                     /* 15 */
			       "[appliance tap-03]\n"                /* 16 */
			       "[appliance bad name!]\n"             /* 17 */
			       "[appliance tap-01]\n"                /* 18 */
			       "[appliance]\n"                       /* 19 */
			       "[appliance tap-04]\n"                /* 20 */
			       "domains = 5 5\n"                     /* 21 */
			       "[appliance tap-05]\n"                /* 22 */
			       "domains = 7\n"                       /* 23 */
			       "domains = 8\n"                       /* 24 */
			       "peer = x\n"                          /* 25 */
			       "[appliance tap-06]\n"                /* 26 */
			       "domains = 2\n",                      /* 27 */
			       &e),
			 -1);
	dump(&e);
	assert_true(has_err(&e, "c.conf:2: [server] listen: `localhost' is not host:port"));
	assert_true(has_err(&e, "c.conf:3: [server] max_connections: `0' is out of range"));
	assert_true(has_err(&e, "c.conf:4: [server] handshake_timeout: `5x' is not a duration"));
	assert_true(has_err(&e, "c.conf:5: [server] colour: unknown key"));
	assert_true(has_err(&e, "c.conf:7: [storage] synchronous: `off' is neither full nor normal"));
	assert_true(has_err(&e, "c.conf:9: [storage] batch_records: set twice (first on line 8)"));
	assert_true(has_err(&e, "c.conf:10: unknown section [nonsense]"));
	assert_false(has_err(&e, "c.conf:11:")); /* reported once, at the section */
	assert_true(has_err(&e, "c.conf:15: [appliance tap-02] domains: `x' is not a domain id"));
	assert_true(has_err(&e, "c.conf:16: [appliance tap-03] domains: missing (required)"));
	assert_true(has_err(&e, "c.conf:17: [appliance] `bad name!': only letters"));
	assert_true(has_err(&e, "c.conf:18: [appliance tap-01] defined twice (first on line 12)"));
	assert_true(has_err(&e, "c.conf:19: [appliance] needs a name"));
	assert_true(has_err(&e, "c.conf:21: [appliance tap-04] domains: domain 5 listed twice"));
	assert_true(has_err(&e, "c.conf:24: [appliance tap-05] domains: set twice"));
	assert_true(has_err(&e, "c.conf:25: [appliance tap-05] peer: unknown key"));
	/* One domain, one appliance. */
	assert_true(has_err(&e, "c.conf:26: [appliance tap-06] domains: domain 2 is already bound to appliance tap-01 (line 12)"));
	mt_coll_config_free(&c);
}

static void test_limits(void **state)
{
	struct mt_coll_config c;
	struct mt_config_errors e;
	struct mt_buf b = { 0 };

	(void)state;
	/* Longest line, huge domain id, the domain cap per appliance. */
	mt_buf_puts(&b, "[appliance a]\ndomains = 4294967296\n[appliance b]\ndomains =");
	for (unsigned i = 0; i <= MT_COLL_DOMAINS_MAX; i++)
		mt_buf_printf(&b, " %u", 100 + i);
	mt_buf_puts(&b, "\n[server]\nca = ");
	for (unsigned i = 0; i < 5000; i++)
		mt_buf_putc(&b, 'x');
	mt_buf_puts(&b, "\n");
	assert_int_equal(parse(&c, b.p, &e), -1);
	dump(&e);
	assert_true(has_err(&e, "[appliance a] domains: `4294967296' is not a domain id"));
	assert_true(has_err(&e, "[appliance b] domains: more than 64 domains"));
	assert_true(has_err(&e, "c.conf:6: line longer than 4096 bytes"));
	mt_coll_config_free(&c);
	mt_buf_free(&b);
}

static void test_addr(void **state)
{
	char host[64], why[128];
	uint16_t port;

	(void)state;
	assert_true(mt_coll_parse_addr("127.0.0.1:4740", host, sizeof(host), &port, why, sizeof(why)));
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 4740);
	assert_true(mt_coll_parse_addr("[::1]:1", host, sizeof(host), &port, why, sizeof(why)));
	assert_string_equal(host, "::1");
	assert_false(mt_coll_parse_addr("::1:4740", host, sizeof(host), &port, why, sizeof(why)));
	assert_false(mt_coll_parse_addr("h:0", host, sizeof(host), &port, why, sizeof(why)));
	assert_false(mt_coll_parse_addr("h:65536", host, sizeof(host), &port, why, sizeof(why)));
	assert_false(mt_coll_parse_addr(":80", host, sizeof(host), &port, why, sizeof(why)));
}

static void test_missing_file(void **state)
{
	struct mt_coll_config c;
	struct mt_config_errors e;

	(void)state;
	mt_coll_config_defaults(&c);
	memset(&e, 0, sizeof(e));
	assert_int_equal(mt_coll_config_load(&c, "/nonexistent/c.conf", &e), -1);
	assert_true(has_err(&e, "/nonexistent/c.conf: cannot open"));
}

/* docs/collector.md must name every key, as "`section.key`". */
static void test_every_key_documented(void **state)
{
	FILE *f = fopen("docs/collector.md", "r");
	static char doc[1 << 18];
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (unsigned i = 0; i < mt_coll_config_nkeys; i++) {
		char want[128];

		snprintf(want, sizeof(want), "`%s.%s`", mt_coll_config_keys[i].section,
			 mt_coll_config_keys[i].key);
		if (!strstr(doc, want))
			fail_msg("docs/collector.md does not document %s", want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_valid_file),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_every_key_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
