/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration tests: defaults, units, ranges, and that every mistake is
 * reported with file, line, section and key (all of them, not just the
 * first). Also checks docs/config.md documents every key in the table.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "detect.h"
#include "export.h"

static int parse(struct mt_config *c, const char *text, struct mt_config_errors *e)
{
	mt_config_defaults(c);
	memset(e, 0, sizeof(*e));
	return mt_config_parse(c, "t.conf", text, strlen(text), e);
}

static void test_defaults(void **state)
{
	struct mt_config c;

	(void)state;
	mt_config_defaults(&c);
	assert_int_equal(c.flow.capacity, 65536);
	assert_int_equal(c.flow.timeout_established_ns, 600 * MT_NS_PER_SEC);
	assert_int_equal(c.flow.timeout_closed_ns, 5 * MT_NS_PER_SEC);
	assert_true(c.flow.vlan_in_key);
	assert_int_equal(c.stream.ooo_max_bytes, 65536);
	assert_int_equal(c.stream.ooo_pool_bytes, 16u << 20);
	assert_string_equal(c.analyzers.smtp_ports, "25 587");
	assert_string_equal(c.analyzers.tls_ports, "465 993 995 443");
	assert_int_equal(c.analyzers.imap_literal_max, 256u << 20);
	assert_true(c.analyzers.detect_other_ports);
	assert_int_equal(c.dpdk.burst, 32);
	assert_true(c.dpdk.promiscuous);
	assert_int_equal(c.output.stats_interval_ns, 0);
}

static void test_valid_file_with_units(void **state)
{
	struct mt_config c;
	struct mt_config_errors e;

	(void)state;
	assert_int_equal(parse(&c,
			       "# a comment\n"
			       "; another\n"
			       "[flow]\n"
			       "  capacity = 1000\n"
			       "timeout_new = 500ms\n"
			       "timeout_established=10m\r\n"
			       "timeout_udp = 2h\n"
			       "vlan_in_key = off\n"
			       "[stream]\n"
			       "ooo_max_bytes = 32k\n"
			       "ooo_pool_bytes = 1G\n"
			       "[dpdk]\n"
			       "eal_args = \"--no-pci --vdev net_pcap0,rx_pcap=a.pcap\"\n"
			       "[analyzers]\n"
			       "smtp_ports = 25, 2525 587\n",
			       &e),
			 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(c.flow.capacity, 1000);
	assert_int_equal(c.flow.timeout_new_ns, 500 * MT_NS_PER_MS);
	assert_int_equal(c.flow.timeout_established_ns, 600 * MT_NS_PER_SEC);
	assert_int_equal(c.flow.timeout_udp_ns, 7200 * MT_NS_PER_SEC);
	assert_false(c.flow.vlan_in_key);
	assert_int_equal(c.stream.ooo_max_bytes, 32768);
	assert_int_equal(c.stream.ooo_pool_bytes, 1ull << 30);
	assert_string_equal(c.dpdk.eal_args, "--no-pci --vdev net_pcap0,rx_pcap=a.pcap");
	assert_string_equal(c.analyzers.smtp_ports, "25, 2525 587");
}

static void test_every_error_reported_with_location(void **state)
{
	struct mt_config c;
	struct mt_config_errors e;

	(void)state;
	assert_int_equal(parse(&c,
			       "capacity = 5\n"              /* 1: outside a section */
			       "[flow]\n"
			       "capacity = lots\n"           /* 3: not a number */
			       "capacty = 5\n"               /* 4: unknown key */
			       "timeout_new = 30 s\n"        /* 5: bad duration */
			       "[flows]\n"                   /* 6: unknown section */
			       "capacity = 1\n"              /* silently under a bad section */
			       "[flow]\n"
			       "timeout_closed = 2h\n"       /* 9: beyond range */
			       "timeout_new = 7\n"           /* 10: set twice */
			       "vlan_in_key = maybe\n"       /* 11 */
			       "[analyzers]\n"
			       "imap_ports = 25 70000\n"     /* 13 */
			       "just words\n",               /* 14 */
			       &e),
			 -1);
	assert_int_equal(e.count, 10);
	assert_string_equal(e.msg[0], "t.conf:1: key `capacity' outside any section");
	assert_string_equal(e.msg[1], "t.conf:3: [flow] capacity: `lots' is not a number");
	assert_string_equal(e.msg[2], "t.conf:4: [flow] capacty: unknown key");
	assert_string_equal(e.msg[3],
			    "t.conf:5: [flow] timeout_new: `30 s' is not a duration (like 500ms, 30s, 10m)");
	assert_string_equal(e.msg[4], "t.conf:6: unknown section [flows]");
	assert_string_equal(e.msg[5], "t.conf:9: [flow] timeout_closed: `2h' is out of range 0s-3600s");
	assert_string_equal(e.msg[6], "t.conf:10: [flow] timeout_new: set twice (first on line 5)");
	assert_string_equal(e.msg[7], "t.conf:11: [flow] vlan_in_key: `maybe' is neither yes nor no");
	assert_string_equal(e.msg[8], "t.conf:13: [analyzers] imap_ports: not a port number 1-65535 at `70000'");
	assert_string_equal(e.msg[9], "t.conf:14: expected `key = value', got `just words'");
}

static void test_line_cap_and_nul(void **state)
{
	struct mt_config c;
	struct mt_config_errors e;
	char *big = malloc(6000);

	(void)state;
	memset(big, 'a', 5999);
	big[5999] = '\0';
	memcpy(big, "[dpdk]\neal_args = ", 18);
	assert_int_equal(parse(&c, big, &e), -1);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.msg[0], "t.conf:2: line longer than 4096 bytes");

	assert_int_equal(parse(&c, "[flow]\ncapacity = 0\n", &e), -1);
	assert_string_equal(e.msg[0], "t.conf:2: [flow] capacity: `0' is out of range 1-100000000");
	free(big);

	mt_config_defaults(&c);
	memset(&e, 0, sizeof(e));
	assert_int_equal(mt_config_parse(&c, "t.conf", "[flow]\ncap\0ity = 1\n", 19, &e), -1);
	assert_string_equal(e.msg[0], "t.conf:2: NUL byte in line");
}

static void test_missing_file(void **state)
{
	struct mt_config c;
	struct mt_config_errors e = { 0 };

	(void)state;
	mt_config_defaults(&c);
	assert_int_equal(mt_config_load(&c, "/nonexistent/mailtap.conf", &e), -1);
	assert_int_equal(e.count, 1);
	assert_non_null(strstr(e.msg[0], "/nonexistent/mailtap.conf: cannot open"));
}

/*
 * Allow-lists are checked when the file is read, with file, line and key,
 * so --check-config refuses what detection would refuse at start-up.
 */
static void test_allow_lists_checked_at_load(void **state)
{
	struct mt_config c;
	struct mt_config_errors e;
	static char text[8192];
	size_t n;

	(void)state;
	assert_int_equal(parse(&c,
			       "[detect]\n"
			       "allow_sources = 10.0.0.0/99\n"                      /* 2 */
			       "bruteforce_allow_servers = 2001:db8::/64, 10.1.2.3 mail.example\n"
			       "spraying_allow_users = alice, bob\n"                /* fine */
			       "scan_allow_sources = 192.0.2.0/24 ::1/129\n"        /* 5 */
			       "exfil_allow_sources = 198.51.100.7/24\t2001:db8::1\n",
			       &e),
			 -1);
	assert_int_equal(e.count, 3);
	assert_string_equal(e.msg[0], "t.conf:2: [detect] allow_sources: `10.0.0.0/99' "
				      "is not an address or CIDR prefix");
	assert_string_equal(e.msg[1], "t.conf:3: [detect] bruteforce_allow_servers: "
				      "`mail.example' is not an address or CIDR prefix");
	assert_string_equal(e.msg[2], "t.conf:5: [detect] scan_allow_sources: `::1/129' "
				      "is not an address or CIDR prefix");
	assert_string_equal(c.detect.spraying_allow.users, "alice, bob");
	assert_string_equal(c.detect.exfil_allow.sources, "198.51.100.7/24\t2001:db8::1");
	/* A bad list keeps its default (empty). */
	assert_string_equal(c.detect.allow.sources, "");

	/* The cap on entries, for addresses and names alike. */
	n = (size_t)snprintf(text, sizeof(text), "[detect]\nallow_users =");
	for (unsigned i = 0; i <= MT_CONFIG_ALLOW_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " u%u", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\nallow_servers =");
	for (unsigned i = 0; i < MT_CONFIG_ALLOW_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " ::%x", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	assert_int_equal(parse(&c, text, &e), -1);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.msg[0], "t.conf:2: [detect] allow_users: more than 128 entries");
}

static void no_emit(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	(void)r;
}

/* Loading and detection agree on every list: one parser, one cap. */
static void test_allow_lists_agree_with_detection(void **state)
{
	static const char *const lists[] = {
		"", "10.0.0.0/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/08",
		"2001:db8::/32 ::/0", "2001:db8::/129", "[::1]", "::ffff:1.2.3.4",
		"1.2.3", "1.2.3.4.5", "0.0.0.0/0,255.255.255.255", "fe80::1%eth0",
		"10.0.0.1/-1", " , ,\t", "host.example",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char text[512], err[256];

	(void)state;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(lists); i++) {
		struct mt_config c;
		struct mt_config_errors e;
		struct mt_detect *d;
		bool load_ok, detect_ok;

		snprintf(text, sizeof(text), "[detect]\nstuffing_allow_servers = %s\n", lists[i]);
		load_ok = parse(&c, text, &e) == 0;
		/* Detection over the raw value, as if the file had not been checked. */
		mt_config_defaults(&c);
		snprintf(c.detect.stuffing_allow.servers, sizeof(c.detect.stuffing_allow.servers),
			 "%s", lists[i]);
		d = mt_detect_create(&c, no_emit, NULL, err, sizeof(err));
		detect_ok = d != NULL;
		mt_detect_destroy(d);
		if (load_ok != detect_ok)
			fail_msg("`%s': load says %s, detection says %s", lists[i],
				 load_ok ? "ok" : "bad", detect_ok ? "ok" : err);
	}
}

/*
 * [export] checks that need several values are made when the file is read:
 * every one reported, at the line of a key involved.
 */
static void test_export_cross_checks_located(void **state)
{
	struct mt_config c;
	struct mt_config_errors e;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c,
			       "[export]\n"
			       "collector = host:notaport\n"   /* 2 */
			       "identity = bogus\n"            /* 3 */
			       "reconnect_min = 10m\n"         /* 4 */
			       "reconnect_max = 1s\n"
			       "cert = \"\"\n"                 /* 6 */
			       "spool_max = 1M\n"
			       "spool_segment = 2M\n"          /* 8 */
			       "spool_dir =\n",                /* 9 */
			       &e),
			 -1);
	assert_int_equal(e.count, 6);
	assert_string_equal(e.msg[0], "t.conf:3: [export] identity: `bogus' is neither "
				      "clear, hmac nor none");
	assert_string_equal(e.msg[1], "t.conf:2: [export] collector: `host:notaport': "
				      "port is not a number 1-65535");
	assert_string_equal(e.msg[2], "t.conf:6: [export] cert: needed for tls = yes");
	assert_string_equal(e.msg[3], "t.conf:4: [export] reconnect_min: above reconnect_max");
	assert_string_equal(e.msg[4], "t.conf:8: [export] spool_segment: above spool_max");
	assert_string_equal(e.msg[5], "t.conf:9: [export] spool_dir: needed for export");
	/* export.c's check refuses the same configuration (its first error). */
	assert_int_equal(mt_export_check_config(&c, "t.conf", err, sizeof(err)), -EINVAL);

	/* identity = hmac without a key, reported where identity is set. */
	assert_int_equal(parse(&c, "[export]\nidentity = hmac\n", &e), -1);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.msg[0], "t.conf:2: [export] identity_key: needed for identity = hmac");

	/* Without a collector only identity matters; a value already reported
	 * bad is not reported again by a cross-check. */
	assert_int_equal(parse(&c, "[export]\nspool_dir =\ntls = no\n"
				   "reconnect_min = soon\nreconnect_max = 20ms\n", &e), -1);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.msg[0], "t.conf:4: [export] reconnect_min: `soon' is not a "
				      "duration (like 500ms, 30s, 10m)");

	/* A valid export section passes both checks. */
	assert_int_equal(parse(&c, "[export]\ncollector = [2001:db8::1]:4740\n"
				   "identity = none\nspool_max = 200k\nspool_segment = 4k\n", &e), 0);
	assert_int_equal(mt_export_check_config(&c, "t.conf", err, sizeof(err)), 0);
}

/* The load-time check and export.c's agree on every collector value. */
static void test_collector_checks_agree_with_export(void **state)
{
	static const char *const vals[] = {
		"collector.example", "10.0.0.1:4740", "[2001:db8::1]:4740", "[2001:db8::1]",
		"host:0", "host:99999", "host:", "a:b:c", "[::1", "[::1]x", ":4740",
		"[]:1", "h:+5", "h:4740x", "2001:db8::1",
	};
	char text[256], err[256];

	(void)state;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(vals); i++) {
		struct mt_config c;
		struct mt_config_errors e;
		bool load_ok, export_ok;

		snprintf(text, sizeof(text), "[export]\ncollector = %s\n", vals[i]);
		load_ok = parse(&c, text, &e) == 0;
		mt_config_defaults(&c);
		snprintf(c.export.collector, sizeof(c.export.collector), "%s", vals[i]);
		export_ok = mt_export_check_config(&c, "t.conf", err, sizeof(err)) == 0;
		if (load_ok != export_ok)
			fail_msg("collector `%s': load says %s, export.c says %s", vals[i],
				 load_ok ? "ok" : e.msg[0], export_ok ? "ok" : err);
	}
}

/* docs/config.md must name every key, as "`section.key`". */
static void test_every_key_documented(void **state)
{
	FILE *f = fopen("docs/config.md", "r");
	static char doc[1 << 17];
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (unsigned i = 0; i < mt_config_nkeys; i++) {
		char want[128];

		snprintf(want, sizeof(want), "`%s.%s`", mt_config_keys[i].section,
			 mt_config_keys[i].key);
		if (!strstr(doc, want))
			fail_msg("docs/config.md does not document %s", want);
		snprintf(want, sizeof(want), "`%s`", mt_config_keys[i].def);
		if (mt_config_keys[i].def[0] && !strstr(doc, want))
			fail_msg("docs/config.md does not give the default %s of %s.%s",
				 want, mt_config_keys[i].section, mt_config_keys[i].key);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_valid_file_with_units),
		cmocka_unit_test(test_every_error_reported_with_location),
		cmocka_unit_test(test_line_cap_and_nul),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_allow_lists_checked_at_load),
		cmocka_unit_test(test_allow_lists_agree_with_detection),
		cmocka_unit_test(test_export_cross_checks_located),
		cmocka_unit_test(test_collector_checks_agree_with_export),
		cmocka_unit_test(test_every_key_documented),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
