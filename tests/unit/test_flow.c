/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table tests: symmetric lookup, client/server orientation with and
 * without a SYN, per-state timeouts on packet time, eviction of the oldest
 * idle flow when full, port reuse, VLAN in the key, flush, and a table
 * filled to capacity with every flow still found.
 */
#include "testutil.h"

#include "flow.h"

struct ended {
	unsigned n;
	uint8_t reason[64];
	uint64_t pkts[64][2];
	uint16_t pa[64];
};

static struct ended ended;

static void on_end(void *ctx, struct mt_flow *f)
{
	(void)ctx;
	if (ended.n < 64) {
		ended.reason[ended.n] = f->reason;
		ended.pkts[ended.n][0] = f->pkts[0];
		ended.pkts[ended.n][1] = f->pkts[1];
		ended.pa[ended.n] = f->client_is_a ? f->key.pa : f->key.pb;
	}
	ended.n++;
}

static bool mail_port(void *ctx, uint16_t port)
{
	(void)ctx;
	return port == 25 || port == 143;
}

static struct mt_flow_table table;
static struct mt_counters ctr;

static void mk(uint32_t cap)
{
	struct mt_flow_config cfg = { .capacity = cap, .vlan_in_key = true };

	cfg.timeout_ns[MT_FLOW_TC_NEW] = 30 * MT_NS_PER_SEC;
	cfg.timeout_ns[MT_FLOW_TC_ESTABLISHED] = 600 * MT_NS_PER_SEC;
	cfg.timeout_ns[MT_FLOW_TC_CLOSED] = 5 * MT_NS_PER_SEC;
	cfg.timeout_ns[MT_FLOW_TC_UDP] = 60 * MT_NS_PER_SEC;
	memset(&ended, 0, sizeof(ended));
	memset(&ctr, 0, sizeof(ctr));
	assert_int_equal(mt_flow_table_init(&table, &cfg, on_end, mail_port, NULL, &ctr), 0);
}

static struct mt_flow *pkt(const char *src, uint16_t sport, const char *dst,
			   uint16_t dport, uint8_t flags, uint64_t t_sec,
			   enum mt_flow_dir *dir)
{
	struct mt_pkt p;
	struct in_addr a;

	memset(&p, 0, sizeof(p));
	assert_int_equal(inet_pton(AF_INET, src, &a), 1);
	memcpy(p.src, &a, 4);
	assert_int_equal(inet_pton(AF_INET, dst, &a), 1);
	memcpy(p.dst, &a, 4);
	p.sport = sport;
	p.dport = dport;
	p.ip_ver = 4;
	p.proto = 6;
	p.tcp_flags = flags;
	p.wire_len = 100;
	p.ts_ns = t_sec * MT_NS_PER_SEC;
	mt_flow_expire(&table, p.ts_ns);
	return mt_flow_packet(&table, &p, dir);
}

static void test_symmetric_and_orientation_by_syn(void **state)
{
	enum mt_flow_dir d;
	struct mt_flow *f1, *f2, *f3;

	(void)state;
	mk(16);
	/* The client uses the lower address and a low port: only the SYN can
	 * tell who the client is. */
	f1 = pkt("10.0.0.9", 1000, "10.0.0.1", 5000, MT_TCP_SYN, 1, &d);
	assert_int_equal(d, MT_DIR_TOSERVER);
	f2 = pkt("10.0.0.1", 5000, "10.0.0.9", 1000, MT_TCP_SYN | MT_TCP_ACK, 1, &d);
	assert_ptr_equal(f1, f2);
	assert_int_equal(d, MT_DIR_TOCLIENT);
	f3 = pkt("10.0.0.9", 1000, "10.0.0.1", 5000, MT_TCP_ACK, 1, &d);
	assert_ptr_equal(f1, f3);
	assert_int_equal(d, MT_DIR_TOSERVER);
	assert_int_equal(f1->pkts[MT_DIR_TOSERVER], 2);
	assert_int_equal(f1->pkts[MT_DIR_TOCLIENT], 1);
	assert_int_equal(f1->bytes[MT_DIR_TOSERVER], 200);
	assert_int_equal(f1->state, MT_FLOW_ST_ESTABLISHED);
	assert_int_equal(f1->flags[MT_DIR_TOSERVER], MT_TCP_SYN | MT_TCP_ACK);
	assert_int_equal(table.active, 1);
	assert_int_equal(ctr.v[MT_CTR_flow_created], 1);
	mt_flow_table_free(&table);
}

static void test_orientation_without_syn(void **state)
{
	enum mt_flow_dir d;
	struct mt_flow *f;

	(void)state;
	mk(16);
	/* SYN/ACK first: its sender is the server. */
	f = pkt("192.0.2.5", 143, "192.0.2.200", 40000, MT_TCP_SYN | MT_TCP_ACK, 1, &d);
	assert_int_equal(d, MT_DIR_TOCLIENT);
	assert_int_equal(f->midstream, 0);
	/* Mid-stream, server speaks first: the mail port decides. */
	f = pkt("192.0.2.5", 25, "192.0.2.9", 1024, MT_TCP_ACK, 1, &d);
	assert_int_equal(d, MT_DIR_TOCLIENT);
	assert_int_equal(f->midstream, 1);
	assert_int_equal(ctr.v[MT_CTR_flow_midstream], 1);
	/* Neither side on a known port: the higher port is the client. */
	f = pkt("192.0.2.5", 8080, "192.0.2.9", 50000, MT_TCP_ACK, 1, &d);
	assert_int_equal(d, MT_DIR_TOCLIENT);
	mt_flow_table_free(&table);
}

static void test_timeouts_per_state(void **state)
{
	enum mt_flow_dir d;

	(void)state;
	mk(16);
	pkt("10.0.0.1", 1111, "10.0.0.2", 25, MT_TCP_SYN, 100, &d);    /* new */
	pkt("10.0.0.1", 2222, "10.0.0.2", 25, MT_TCP_ACK, 100, &d);    /* established */
	pkt("10.0.0.1", 3333, "10.0.0.2", 25, MT_TCP_ACK, 100, &d);
	pkt("10.0.0.2", 25, "10.0.0.1", 3333, MT_TCP_RST, 100, &d);    /* closed */

	mt_flow_expire(&table, 104 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 0);
	mt_flow_expire(&table, 105 * MT_NS_PER_SEC); /* closed: 5 s */
	assert_int_equal(ended.n, 1);
	assert_int_equal(ended.reason[0], MT_FLOW_END_RST);
	assert_int_equal(ended.pa[0], 3333);
	mt_flow_expire(&table, 129 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 1);
	mt_flow_expire(&table, 130 * MT_NS_PER_SEC); /* new: 30 s */
	assert_int_equal(ended.n, 2);
	assert_int_equal(ended.reason[1], MT_FLOW_END_TIMEOUT);
	assert_int_equal(ended.pa[1], 1111);
	mt_flow_expire(&table, 699 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 2);
	mt_flow_expire(&table, 700 * MT_NS_PER_SEC); /* established: 600 s */
	assert_int_equal(ended.n, 3);
	assert_int_equal(ended.pa[2], 2222);
	assert_int_equal(table.active, 0);
	assert_int_equal(ctr.v[MT_CTR_flow_timeout], 2);
	assert_int_equal(ctr.v[MT_CTR_flow_ended_rst], 1);
	mt_flow_table_free(&table);
}

static void test_fin_both_ways_then_closed_timeout(void **state)
{
	enum mt_flow_dir d;
	struct mt_flow *f;

	(void)state;
	mk(16);
	pkt("10.0.0.1", 1111, "10.0.0.2", 25, MT_TCP_SYN, 10, &d);
	pkt("10.0.0.2", 25, "10.0.0.1", 1111, MT_TCP_SYN | MT_TCP_ACK, 10, &d);
	f = pkt("10.0.0.1", 1111, "10.0.0.2", 25, MT_TCP_FIN | MT_TCP_ACK, 11, &d);
	assert_int_equal(f->state, MT_FLOW_ST_CLOSING);
	pkt("10.0.0.2", 25, "10.0.0.1", 1111, MT_TCP_FIN | MT_TCP_ACK, 11, &d);
	assert_int_equal(f->state, MT_FLOW_ST_CLOSED);
	/* The last ACK still belongs to the flow. */
	pkt("10.0.0.1", 1111, "10.0.0.2", 25, MT_TCP_ACK, 12, &d);
	assert_int_equal(f->pkts[MT_DIR_TOSERVER], 3);
	mt_flow_expire(&table, 17 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 1);
	assert_int_equal(ended.reason[0], MT_FLOW_END_FIN);
	assert_int_equal(ended.pkts[0][0], 3);
	assert_int_equal(ended.pkts[0][1], 2);
	mt_flow_table_free(&table);
}

static void test_eviction_oldest_idle(void **state)
{
	enum mt_flow_dir d;

	(void)state;
	mk(3);
	pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_ACK, 1, &d);
	pkt("10.0.0.1", 2, "10.0.0.2", 25, MT_TCP_SYN, 2, &d); /* other class */
	pkt("10.0.0.1", 3, "10.0.0.2", 25, MT_TCP_ACK, 3, &d);
	pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_ACK, 4, &d); /* 1 is fresh again */
	pkt("10.0.0.1", 4, "10.0.0.2", 25, MT_TCP_ACK, 5, &d); /* evicts 2 */
	assert_int_equal(ended.n, 1);
	assert_int_equal(ended.pa[0], 2);
	assert_int_equal(ended.reason[0], MT_FLOW_END_EVICTED);
	pkt("10.0.0.1", 5, "10.0.0.2", 25, MT_TCP_ACK, 6, &d); /* evicts 3 */
	assert_int_equal(ended.pa[1], 3);
	assert_int_equal(ctr.v[MT_CTR_flow_evicted], 2);
	assert_int_equal(table.active, 3);
	mt_flow_flush(&table);
	assert_int_equal(ended.n, 5);
	assert_int_equal(ended.reason[4], MT_FLOW_END_SHUTDOWN);
	/* Flush goes oldest first. */
	assert_int_equal(ended.pa[2], 1);
	assert_int_equal(ended.pa[3], 4);
	assert_int_equal(ended.pa[4], 5);
	mt_flow_table_free(&table);
}

/* A flow touched after flows created later must not block their expiry,
 * and must not be evicted before them (the order of the lists). */
static void test_order_after_touch(void **state)
{
	enum mt_flow_dir d;

	(void)state;
	mk(3);
	pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_ACK, 0, &d);   /* A */
	pkt("10.0.0.1", 2, "10.0.0.2", 25, MT_TCP_ACK, 10, &d);  /* B */
	pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_ACK, 20, &d);  /* A again */
	pkt("10.0.0.1", 3, "10.0.0.2", 25, MT_TCP_ACK, 30, &d);  /* C */
	/* B (last 10) is due at 610, before A (last 20, due 620). */
	mt_flow_expire(&table, 610 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 1);
	assert_int_equal(ended.pa[0], 2);
	mt_flow_expire(&table, 619 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 1);
	mt_flow_expire(&table, 620 * MT_NS_PER_SEC);
	assert_int_equal(ended.n, 2);
	assert_int_equal(ended.pa[1], 1);
	mt_flow_table_free(&table);

	mk(2);
	pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_ACK, 1, &d);   /* A */
	pkt("10.0.0.1", 2, "10.0.0.2", 25, MT_TCP_ACK, 2, &d);   /* B */
	pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_ACK, 5, &d);   /* A again */
	pkt("10.0.0.1", 3, "10.0.0.2", 25, MT_TCP_ACK, 6, &d);   /* C: evicts B */
	assert_int_equal(ended.n, 1);
	assert_int_equal(ended.pa[0], 2);
	assert_int_equal(ended.reason[0], MT_FLOW_END_EVICTED);
	mt_flow_table_free(&table);
}

static void test_port_reuse(void **state)
{
	enum mt_flow_dir d;
	struct mt_flow *f;

	(void)state;
	mk(16);
	pkt("10.0.0.1", 1111, "10.0.0.2", 25, MT_TCP_SYN, 1, &d);
	pkt("10.0.0.2", 25, "10.0.0.1", 1111, MT_TCP_RST | MT_TCP_ACK, 1, &d);
	f = pkt("10.0.0.1", 1111, "10.0.0.2", 25, MT_TCP_SYN, 2, &d);
	assert_int_equal(ended.n, 1);
	assert_int_equal(ended.reason[0], MT_FLOW_END_RST);
	assert_int_equal(f->pkts[MT_DIR_TOSERVER], 1);
	assert_int_equal(f->state, MT_FLOW_ST_NEW);
	assert_int_equal(ctr.v[MT_CTR_flow_reused], 1);
	mt_flow_table_free(&table);
}

static void test_vlan_in_key(void **state)
{
	struct mt_flow_config cfg = { .capacity = 8 };
	struct mt_pkt p;
	enum mt_flow_dir d;
	struct mt_flow *a, *b;

	(void)state;
	for (int with = 0; with < 2; with++) {
		cfg.vlan_in_key = with;
		for (int i = 0; i < MT_FLOW_TC__COUNT; i++)
			cfg.timeout_ns[i] = MT_NS_PER_SEC;
		assert_int_equal(mt_flow_table_init(&table, &cfg, NULL, NULL, NULL, &ctr), 0);
		memset(&p, 0, sizeof(p));
		p.src[0] = 1;
		p.dst[0] = 2;
		p.ip_ver = 4;
		p.proto = 17;
		p.sport = 1000;
		p.dport = 53;
		p.vlan_count = 1;
		p.vlan[0] = 10;
		a = mt_flow_packet(&table, &p, &d);
		p.vlan[0] = 20;
		b = mt_flow_packet(&table, &p, &d);
		if (with)
			assert_ptr_not_equal(a, b);
		else
			assert_ptr_equal(a, b);
		mt_flow_table_free(&table);
	}
}

static void test_full_table_all_found(void **state)
{
	enum mt_flow_dir d;
	struct mt_flow *first[1000];
	char src[32];

	(void)state;
	mk(1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.1", i / 200, i % 200);
		first[i] = pkt(src, (uint16_t)(1024 + i), "10.255.0.1", 143,
			       MT_TCP_SYN, 1, &d);
	}
	assert_int_equal(table.active, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(src, sizeof(src), "10.%d.%d.1", i / 200, i % 200);
		assert_ptr_equal(pkt("10.255.0.1", 143, src, (uint16_t)(1024 + i),
				     MT_TCP_SYN | MT_TCP_ACK, 1, &d),
				 first[i]);
		assert_int_equal(d, MT_DIR_TOCLIENT);
	}
	assert_int_equal(ended.n, 0);
	assert_int_equal(ctr.v[MT_CTR_flow_created], 1000);
	mt_flow_table_free(&table);
}

static void test_flow_ids_distinct(void **state)
{
	enum mt_flow_dir d;
	struct mt_flow *a, *b;
	uint64_t ida;

	(void)state;
	mk(4);
	a = pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_SYN, 1, &d);
	b = pkt("10.0.0.1", 2, "10.0.0.2", 25, MT_TCP_SYN, 1, &d);
	ida = a->flow_id;
	assert_true(a->flow_id != b->flow_id);
	assert_true(a->flow_id < (1ull << 53));
	mt_flow_table_free(&table);
	/* Same tuple and start time: the same id in another run. */
	mk(4);
	a = pkt("10.0.0.1", 1, "10.0.0.2", 25, MT_TCP_SYN, 1, &d);
	assert_int_equal(a->flow_id, ida);
	mt_flow_table_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symmetric_and_orientation_by_syn),
		cmocka_unit_test(test_orientation_without_syn),
		cmocka_unit_test(test_timeouts_per_state),
		cmocka_unit_test(test_fin_both_ways_then_closed_timeout),
		cmocka_unit_test(test_eviction_oldest_idle),
		cmocka_unit_test(test_order_after_touch),
		cmocka_unit_test(test_port_reuse),
		cmocka_unit_test(test_vlan_in_key),
		cmocka_unit_test(test_full_table_all_found),
		cmocka_unit_test(test_flow_ids_distinct),
	};

	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
