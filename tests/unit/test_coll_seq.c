/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sequence numbers and the input path of one session: duplicates below
 * the next expected number are discarded (whole messages and the front of
 * a message), gaps are counted, arithmetic wraps modulo 2^32, a new
 * domain starts at its first message; bytes are framed into messages
 * whatever the read sizes; a message is stored whole or not at all (a
 * malformed tail takes its records back out of the batch and leaves the
 * sequence state alone); domains not bound to the appliance, data before
 * templates and garbage are refused with a reason; a full batch pushes
 * back without losing the buffered message.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>

#include "ingest.h"

#define PEN MT_IPFIX_PEN_DEFAULT

/* ---- mt_seq ---- */

static void msg(struct mt_seq *s, uint32_t start, uint32_t n, uint32_t *stored)
{
	struct mt_seq_msg m;

	mt_seq_begin(s, start, &m);
	for (uint32_t i = 0; i < n; i++)
		mt_seq_take(&m, i);
	mt_seq_end(s, &m, n);
	if (stored)
		*stored = m.stored;
}

static void test_seq_basics(void **state)
{
	struct mt_seq s = { 0 };
	uint32_t st;

	(void)state;
	/* A new domain starts wherever its first message starts. */
	msg(&s, 5000, 10, &st);
	assert_true(s.known);
	assert_int_equal(s.next, 5010);
	assert_int_equal(st, 10);
	assert_int_equal(s.gaps, 0);
	/* In order. */
	msg(&s, 5010, 5, &st);
	assert_int_equal(s.next, 5015);
	/* A replay of everything: all duplicates. */
	msg(&s, 5000, 15, &st);
	assert_int_equal(st, 0);
	assert_int_equal(s.duplicates, 15);
	assert_int_equal(s.next, 5015);
	/* Overlapping: the front is old, the rest new. */
	msg(&s, 5012, 6, &st);
	assert_int_equal(st, 3);
	assert_int_equal(s.duplicates, 18);
	assert_int_equal(s.next, 5018);
	/* A gap of 7 (spool drops at the appliance). */
	msg(&s, 5025, 1, &st);
	assert_int_equal(st, 1);
	assert_int_equal(s.gaps, 7);
	assert_int_equal(s.gap_events, 1);
	assert_int_equal(s.next, 5026);
	assert_int_equal(s.records, 10 + 5 + 3 + 1);
	/* A message without data records changes nothing. */
	msg(&s, 9999, 0, NULL);
	assert_int_equal(s.next, 5026);
	assert_int_equal(s.gaps, 7);
}

static void test_seq_wraps(void **state)
{
	struct mt_seq s = { 0 };
	uint32_t st;

	(void)state;
	msg(&s, UINT32_MAX - 4, 10, &st); /* crosses 2^32 */
	assert_int_equal(s.next, 5);
	msg(&s, 5, 3, &st);
	assert_int_equal(st, 3);
	assert_int_equal(s.next, 8);
	msg(&s, UINT32_MAX - 1, 6, &st); /* before the wrap: old */
	assert_int_equal(st, 0);
	assert_int_equal(s.duplicates, 6);
	assert_int_equal(s.gaps, 0);
}

static void test_seq_anchor(void **state)
{
	struct mt_seq s = { 0 };
	uint32_t st;

	(void)state;
	assert_true(mt_seq_anchor(&s, 700));
	assert_false(mt_seq_anchor(&s, 900)); /* only a new domain */
	assert_int_equal(s.next, 700);
	msg(&s, 705, 1, &st);
	assert_int_equal(s.gaps, 5);
}

/* ---- ingest ---- */

struct env {
	struct mt_ingest_dom doms[2];
	struct mt_batch b;
	struct mt_coll_appliance app;
	struct mt_ingest_env e;
};

static struct mt_ingest_dom *lookup(void *ctx, uint32_t domain)
{
	struct env *v = ctx;

	for (unsigned i = 0; i < 2; i++)
		if (v->doms[i].domain == domain)
			return &v->doms[i];
	return NULL;
}

static void env_init(struct env *v, size_t batch_max)
{
	memset(v, 0, sizeof(*v));
	v->doms[0].domain = 1;
	v->doms[1].domain = 9; /* exists, but bound to nobody here */
	snprintf(v->app.name, sizeof(v->app.name), "tap-01");
	v->app.ndomains = 1;
	v->app.domains[0] = 1;
	assert_int_equal(mt_batch_init(&v->b, batch_max, 2, 1), 0);
	v->e.batch = &v->b;
	v->e.lookup = lookup;
	v->e.ctx = v;
	v->e.appliance = &v->app;
	v->e.now_us = 1;
}

/* A message: templates (with type records when `typeinfo`), or `n` auth
 * records numbered from `seq`. */
static size_t make(uint8_t *buf, uint32_t domain, uint32_t seq, unsigned n, bool templates,
		   bool typeinfo)
{
	struct mt_ipfix_enc e;
	struct mt_rec *r = calloc(1, sizeof(*r));

	mt_ipfix_begin(&e, buf, MT_IPFIX_MSG_MAX, domain, PEN, 1700000000, seq);
	if (templates)
		assert_int_equal(mt_ipfix_templates(&e, typeinfo), 0);
	for (unsigned i = 0; i < n; i++) {
		char u[32];

		mt_rec_init(r, MT_REC_auth);
		r->b.auth.timestamp = (1700000000ull + seq + i) * MT_NS_PER_SEC;
		snprintf(u, sizeof(u), "user%u", seq + i);
		mt_rec_set_str(r, &r->b.auth.user, u, strlen(u));
		assert_int_equal(mt_ipfix_record(&e, r), 0);
	}
	free(r);
	return mt_ipfix_end(&e);
}

/* Feeds bytes `chunk` at a time (0 = all that fits), processing as it goes. */
static int feed(struct mt_ingest *c, struct env *v, const uint8_t *p, size_t n, size_t chunk,
		char *why, size_t whylen)
{
	size_t off = 0;
	int rc = 0;

	while (off < n) {
		uint8_t *dst;
		size_t room = mt_ingest_space(c, &dst), k;

		if (room == 0) {
			rc = mt_ingest_process(c, &v->e, 1000, why, whylen);
			if (rc)
				return rc;
			continue;
		}
		k = MT_MIN(room, n - off);
		if (chunk)
			k = MT_MIN(k, chunk);
		memcpy(dst, p + off, k);
		mt_ingest_added(c, k);
		off += k;
		rc = mt_ingest_process(c, &v->e, 1000, why, whylen);
		if (rc)
			return rc;
	}
	return rc;
}

static void test_framing_any_split(void **state)
{
	static uint8_t wire[1 << 20];
	size_t n = 0;
	static const size_t chunks[] = { 1, 3, 16, 17, 1000, 0 };

	(void)state;
	n += make(wire + n, 1, 0, 0, true, false);
	n += make(wire + n, 1, 0, 50, false, false);
	n += make(wire + n, 1, 50, 1, true, false); /* templates again, and data */
	n += make(wire + n, 1, 51, 200, false, false);
	for (unsigned k = 0; k < MT_ARRAY_SIZE(chunks); k++) {
		struct env v;
		struct mt_ingest c;
		char why[200] = "";

		env_init(&v, 64u << 20);
		mt_ingest_init(&c, PEN);
		if (feed(&c, &v, wire, n, chunks[k], why, sizeof(why)) != 0)
			fail_msg("chunk %zu: %s", chunks[k], why);
		assert_int_equal(v.b.nrec, 251);
		assert_int_equal(v.doms[0].seq.next, 251);
		assert_int_equal(c.messages, 4);
		assert_int_equal(c.len, 0);
		assert_true(v.doms[0].dirty);
		mt_ingest_free(&c);
		mt_batch_free(&v.b);
	}
}

/* The exporter's replay after a reconnect: what is stored is discarded. */
static void test_replay_discarded(void **state)
{
	static uint8_t wire[1 << 20];
	struct env v;
	struct mt_ingest c, c2;
	struct mt_batch_meta m;
	struct mt_rec *r = calloc(1, sizeof(*r));
	char why[200];
	size_t n = 0, pos = 0;
	uint32_t expect = 0;

	(void)state;
	n += make(wire + n, 1, 0, 0, true, false);
	n += make(wire + n, 1, 0, 30, false, false);
	n += make(wire + n, 1, 30, 30, false, false);
	env_init(&v, 64u << 20);
	mt_ingest_init(&c, PEN);
	assert_int_equal(feed(&c, &v, wire, n, 0, why, sizeof(why)), 0);
	/* A new session (templates are per session) replays from 10. */
	mt_ingest_init(&c2, PEN);
	n = make(wire, 1, 10, 0, true, false);
	n += make(wire + n, 1, 10, 40, false, false); /* 10..49: all old */
	n += make(wire + n, 1, 50, 20, false, false); /* 50..59 old, 60..69 new */
	assert_int_equal(feed(&c2, &v, wire, n, 7, why, sizeof(why)), 0);
	assert_int_equal(v.b.nrec, 70);
	assert_int_equal(v.doms[0].seq.duplicates, 50);
	assert_int_equal(c2.duplicates, 50);
	assert_int_equal(v.doms[0].seq.next, 70);
	/* Every record once, in order, with its own number. */
	while (mt_batch_next(&v.b, &pos, r, &m)) {
		assert_int_equal(m.seq, expect);
		assert_int_equal(m.domain, 1);
		expect++;
	}
	assert_int_equal(expect, 70);
	mt_ingest_free(&c);
	mt_ingest_free(&c2);
	mt_batch_free(&v.b);
	free(r);
}

static void test_refusals(void **state)
{
	static uint8_t wire[1 << 18];
	struct env v;
	struct mt_ingest c;
	char why[200];
	size_t n;

	(void)state;
	env_init(&v, 64u << 20);

	/* Another appliance's domain (bound elsewhere or nowhere). */
	mt_ingest_init(&c, PEN);
	n = make(wire, 9, 0, 3, true, false);
	assert_int_equal(feed(&c, &v, wire, n, 0, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "observation domain 9 is not bound to appliance tap-01"));
	assert_int_equal(v.b.nrec, 0);
	mt_ingest_free(&c);

	/* Data of a template this session never defined: refused, since its
	 * records could not even be counted. */
	mt_ingest_init(&c, PEN);
	n = make(wire, 1, 0, 3, false, false);
	assert_int_equal(feed(&c, &v, wire, n, 0, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "never defined"));
	assert_false(v.doms[0].seq.known);
	mt_ingest_free(&c);

	/* Not IPFIX at all. */
	mt_ingest_init(&c, PEN);
	assert_int_equal(feed(&c, &v, (const uint8_t *)"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 0, why,
			      sizeof(why)),
			 -EPROTO);
	assert_non_null(strstr(why, "not an IPFIX message"));
	mt_ingest_free(&c);

	/* A set length beyond the message. */
	mt_ingest_init(&c, PEN);
	n = make(wire, 1, 0, 3, true, false);
	mt_store_be16(wire + MT_IPFIX_HDR_LEN + 2, 0xfff0);
	assert_int_equal(feed(&c, &v, wire, n, 0, why, sizeof(why)), -EPROTO);
	mt_ingest_free(&c);
	assert_int_equal(v.b.nrec, 0);
	mt_batch_free(&v.b);
}

/* A message whose last record is damaged: the records before it are taken
 * back out, and the numbers are not consumed. */
static void test_bad_tail_rolls_back(void **state)
{
	static uint8_t wire[1 << 18];
	struct env v;
	struct mt_ingest c;
	char why[200];
	size_t n, t;

	(void)state;
	env_init(&v, 64u << 20);
	mt_ingest_init(&c, PEN);
	t = make(wire, 1, 0, 0, true, false);
	n = make(wire + t, 1, 0, 5, false, false);
	assert_int_equal(feed(&c, &v, wire, t, 0, why, sizeof(why)), 0);
	/* The user name of the last record claims more bytes than there are. */
	{
		uint8_t *u = memmem(wire + t, n, "user4", 5);

		assert_non_null(u);
		assert_int_equal(u[-1], 5);
		u[-1] = 250;
	}
	assert_int_equal(feed(&c, &v, wire + t, n, 0, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "IPFIX:"));
	assert_int_equal(v.b.nrec, 0);
	assert_int_equal(v.b.len, 0);
	assert_int_equal(v.b.by_type[MT_REC_auth], 0);
	/* The anchor from the templates stays; nothing was consumed. */
	assert_int_equal(v.doms[0].seq.next, 0);
	assert_int_equal(v.doms[0].seq.records, 0);
	mt_ingest_free(&c);
	mt_batch_free(&v.b);
}

/* RFC 5610 type records are data records: they count in the sequence. */
static void test_typeinfo_counted(void **state)
{
	static uint8_t wire[1 << 18];
	struct env v;
	struct mt_ingest c;
	struct mt_ipfix_msg_info info;
	struct mt_ipfix_dec d;
	char why[200];
	size_t n, t;

	(void)state;
	env_init(&v, 64u << 20);
	mt_ingest_init(&c, PEN);
	t = make(wire, 1, 0, 0, true, true);
	mt_ipfix_dec_init(&d, PEN);
	assert_int_equal(mt_ipfix_decode(&d, wire, t, NULL, NULL, &info, why, sizeof(why)), 0);
	assert_true(info.skipped > 0);
	n = make(wire + t, 1, info.skipped, 2, false, false);
	assert_int_equal(feed(&c, &v, wire, t + n, 0, why, sizeof(why)), 0);
	assert_int_equal(v.doms[0].seq.next, info.skipped + 2);
	assert_int_equal(v.doms[0].seq.gaps, 0);
	assert_int_equal(v.b.nrec, 2);
	mt_ipfix_dec_free(&d);
	mt_ingest_free(&c);
	mt_batch_free(&v.b);
}

/* A batch without room for another message: -EAGAIN, the message stays
 * buffered and goes in once the batch is empty again. */
static void test_backpressure(void **state)
{
	static uint8_t wire[1 << 18];
	struct env v;
	struct mt_ingest c;
	char why[200];
	size_t n;

	(void)state;
	env_init(&v, MT_INGEST_EXPAND_MAX + 1000);
	mt_ingest_init(&c, PEN);
	n = make(wire, 1, 0, 0, true, false);
	n += make(wire + n, 1, 0, 300, false, false);
	n += make(wire + n, 1, 300, 300, false, false);
	assert_int_equal(feed(&c, &v, wire, n, 0, why, sizeof(why)), -EAGAIN);
	assert_int_equal(v.b.nrec, 300);
	assert_true(mt_ingest_ready(&c));
	mt_batch_reset(&v.b);
	assert_int_equal(mt_ingest_process(&c, &v.e, 1000, why, sizeof(why)), 0);
	assert_int_equal(v.b.nrec, 300);
	assert_int_equal(v.doms[0].seq.next, 600);
	assert_int_equal(c.len, 0);
	mt_ingest_free(&c);
	mt_batch_free(&v.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_basics),
		cmocka_unit_test(test_seq_wraps),
		cmocka_unit_test(test_seq_anchor),
		cmocka_unit_test(test_framing_any_split),
		cmocka_unit_test(test_replay_discarded),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bad_tail_rolls_back),
		cmocka_unit_test(test_typeinfo_counted),
		cmocka_unit_test(test_backpressure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
