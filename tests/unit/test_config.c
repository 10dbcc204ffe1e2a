/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration tests: defaults, units, ranges, and that every mistake is
 * reported with file, line, section and key (all of them, not just the
 * first). Also checks docs/config.md documents every key in the table.
 */
#include "testutil.h"

#include <stdlib.h>

#include "config.h"

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
		cmocka_unit_test(test_every_key_documented),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
