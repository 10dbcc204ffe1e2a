/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX codec tests: every record type, filled field by field from the
 * schema (all values set, then all empty, then strings at the arena's
 * limit), encoded and decoded back to the same JSON; IPv4, IPv6 and
 * address-free variants; messages split at the size cap; sequence and
 * domain in the header; and every malformed case the decoder must refuse,
 * each with its reason (message and set framing, variable-length fields,
 * basicList and subTemplateList contents, template field lengths the
 * element's type cannot have, booleans other than 1 and 2).
 */
#include "testutil.h"

#include "recfill.h"

#include <stdlib.h>

#include "ipfix.h"
#include "json.h"

#define PEN MT_IPFIX_PEN_DEFAULT


struct got {
	struct mt_buf json;
	unsigned n;
	uint32_t seq, domain;
};

static int on_rec(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct got *g = ctx;

	g->n++;
	g->seq = info->seq;
	g->domain = info->domain;
	mt_json_record(&g->json, r);
	return 0;
}

/* Encodes records with templates in one message, decodes, compares JSON. */
static void roundtrip(struct mt_rec **recs, unsigned n)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX];
	struct mt_ipfix_enc e;
	struct mt_ipfix_dec d;
	struct mt_ipfix_msg_info info;
	struct got g = { 0 };
	struct mt_buf want = { 0 };
	char why[200];
	size_t len;

	mt_ipfix_begin(&e, msg, sizeof(msg), 77, PEN, 1700000000, 1234);
	assert_int_equal(mt_ipfix_templates(&e, false), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(mt_ipfix_record(&e, recs[i]), 0);
		mt_json_record(&want, recs[i]);
	}
	len = mt_ipfix_end(&e);
	mt_ipfix_dec_init(&d, PEN);
	if (mt_ipfix_decode(&d, msg, len, on_rec, &g, &info, why, sizeof(why)))
		fail_msg("decode: %s", why);
	assert_int_equal(info.records, n);
	assert_int_equal(g.n, n);
	assert_int_equal(info.seq, 1234);
	assert_int_equal(info.domain, 77);
	assert_int_equal(info.export_time, 1700000000);
	assert_string_equal(g.json.p, want.p);
	mt_ipfix_dec_free(&d);
	mt_buf_free(&g.json);
	mt_buf_free(&want);
}

static void test_every_type_full(void **state)
{
	(void)state;
	for (int ipver = 0; ipver <= 6; ipver += 2) {
		if (ipver == 2)
			continue;
		for (unsigned t = 0; t < MT_REC__COUNT; t++) {
			struct mt_rec *r = calloc(1, sizeof(*r));

			mt_rec_init(r, (enum mt_rtype)t);
			recfill(r, (uint8_t *)r, &mt_rtypes[t], ipver ? ipver : 0, 40, 3);
			roundtrip(&r, 1);
			free(r);
		}
	}
}

static void test_every_type_empty(void **state)
{
	(void)state;
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		struct mt_rec *r = calloc(1, sizeof(*r));

		mt_rec_init(r, (enum mt_rtype)t);
		roundtrip(&r, 1);
		free(r);
	}
}

/* Strings up to what the arena holds: one 300-byte string per field (more
 * than the one-byte length form) and a string filling the arena. */
static void test_long_strings(void **state)
{
	struct mt_rec *r = calloc(1, sizeof(*r));
	static char big[MT_REC_ARENA];

	(void)state;
	mt_rec_init(r, MT_REC_smtp);
	recfill(r, (uint8_t *)r, &mt_rtypes[MT_REC_smtp], 4, 600, 2);
	assert_true(r->flags & MT_REC_F_TRUNCATED); /* the arena filled up */
	roundtrip(&r, 1);

	memset(big, 'x', sizeof(big));
	mt_rec_init(r, MT_REC_auth);
	mt_rec_set_str(r, &r->b.auth.user, big, sizeof(big));
	assert_int_equal(r->b.auth.user.len, MT_REC_ARENA);
	roundtrip(&r, 1);
	free(r);
}

static void test_mixed_variants_in_one_message(void **state)
{
	struct mt_rec *r[6];

	(void)state;
	for (int i = 0; i < 6; i++) {
		r[i] = calloc(1, sizeof(*r[i]));
		mt_rec_init(r[i], i % 2 ? MT_REC_flow : MT_REC_auth);
		recfill(r[i], (uint8_t *)r[i], &mt_rtypes[r[i]->type], i < 2 ? 4 : i < 4 ? 6 : 0,
		     8, 1);
	}
	roundtrip(r, 6);
	for (int i = 0; i < 6; i++)
		free(r[i]);
}

static void test_enospc_and_sequence(void **state)
{
	uint8_t msg[600];
	struct mt_ipfix_enc e;
	struct mt_rec *r = calloc(1, sizeof(*r));
	unsigned fitted = 0;

	(void)state;
	mt_rec_init(r, MT_REC_auth);
	recfill(r, (uint8_t *)r, &mt_rtypes[MT_REC_auth], 4, 20, 0);
	mt_ipfix_begin(&e, msg, sizeof(msg), 1, PEN, 0, 0);
	while (mt_ipfix_record(&e, r) == 0)
		fitted++;
	assert_true(fitted > 1);
	assert_int_equal(e.nrec, fitted);
	/* The failed record left the message intact and decodable. */
	{
		size_t len = mt_ipfix_end(&e);
		struct mt_ipfix_dec d;
		struct mt_ipfix_msg_info info;
		char why[200];
		uint8_t tmsg[MT_IPFIX_MSG_MAX];
		struct mt_ipfix_enc te;
		size_t tlen;

		assert_true(len <= sizeof(msg));
		mt_ipfix_dec_init(&d, PEN);
		/* Templates first, in their own message (as the exporter does). */
		mt_ipfix_begin(&te, tmsg, sizeof(tmsg), 1, PEN, 0, 0);
		assert_int_equal(mt_ipfix_templates(&te, false), 0);
		tlen = mt_ipfix_end(&te);
		assert_int_equal(mt_ipfix_decode(&d, tmsg, tlen, NULL, NULL, &info, why,
						 sizeof(why)), 0);
		assert_true(info.templates > MT_REC__COUNT);
		assert_int_equal(info.records, 0);
		assert_int_equal(mt_ipfix_decode(&d, msg, len, NULL, NULL, &info, why,
						 sizeof(why)), 0);
		assert_int_equal(info.records, fitted);
		mt_ipfix_dec_free(&d);
	}
	free(r);
}

/* A valid message to corrupt. */
static size_t sample(uint8_t *msg, size_t cap)
{
	struct mt_ipfix_enc e;
	struct mt_rec *r = calloc(1, sizeof(*r));
	size_t len;

	mt_rec_init(r, MT_REC_smtp);
	recfill(r, (uint8_t *)r, &mt_rtypes[MT_REC_smtp], 4, 12, 2);
	mt_ipfix_begin(&e, msg, cap, 9, PEN, 1, 2);
	assert_int_equal(mt_ipfix_templates(&e, false), 0);
	assert_int_equal(mt_ipfix_record(&e, r), 0);
	len = mt_ipfix_end(&e);
	free(r);
	return len;
}

static void expect_reject(const uint8_t *msg, size_t len, const char *why_part)
{
	struct mt_ipfix_dec d;
	struct mt_ipfix_msg_info info;
	char why[200] = "";

	mt_ipfix_dec_init(&d, PEN);
	assert_int_equal(mt_ipfix_decode(&d, msg, len, NULL, NULL, &info, why, sizeof(why)), -1);
	if (!strstr(why, why_part))
		fail_msg("reason `%s' lacks `%s'", why, why_part);
	mt_ipfix_dec_free(&d);
}

static void test_decoder_rejects(void **state)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX], bad[MT_IPFIX_MSG_MAX];
	size_t len = sample(msg, sizeof(msg));
	size_t data_set;

	(void)state;
	memcpy(bad, msg, len);
	bad[1] = 9;
	expect_reject(bad, len, "not an IPFIX version 10");
	expect_reject(msg, len - 1, "message length");
	expect_reject(msg, 10, "shorter than its header");

	memcpy(bad, msg, len);
	mt_store_be16(bad + 16 + 2, 3); /* first set length below its header */
	expect_reject(bad, len, "beyond the message");
	mt_store_be16(bad + 16 + 2, 0xffff);
	expect_reject(bad, len, "beyond the message");

	memcpy(bad, msg, len);
	mt_store_be16(bad + 16, 1); /* reserved set id */
	expect_reject(bad, len, "reserved");

	memcpy(bad, msg, len);
	mt_store_be16(bad + 16 + 4, 12); /* first template id below 256 */
	expect_reject(bad, len, "below 256");

	/* Find the data set (after the template set) and break a length. */
	data_set = 16 + mt_load_be16(msg + 16 + 2);
	assert_true(mt_load_be16(msg + data_set) >= 256);
	memcpy(bad, msg, len);
	/* The first variable-length field (smtp.helo) follows the fixed
	 * connection fields; claim it is longer than the set. */
	{
		size_t fixed = 8 + 8 + 4 + 2 + 4 + 2 + 1 + 1; /* time..app_proto */
		size_t vlan = 3 + mt_load_be16(msg + data_set + 4 + fixed + 1);
		size_t helo = data_set + 4 + fixed + vlan;

		/* A three-byte length of 65535: more than any set holds. */
		bad[helo] = 255;
		bad[helo + 1] = 0xff;
		bad[helo + 2] = 0xff;
		expect_reject(bad, len, "beyond the set");
	}
	/* Cut the record's last bytes off (lengths fixed to match): what is
	 * left is longer than any padding may be, so it is an error. */
	memcpy(bad, msg, len);
	{
		uint16_t dlen = mt_load_be16(msg + data_set + 2);

		mt_store_be16(bad + data_set + 2, (uint16_t)(dlen - 5));
		mt_store_be16(bad + 2, (uint16_t)(len - 5));
		expect_reject(bad, len - 5, "beyond the set");
	}
}

/* ---- hand-made messages for the refusals the encoder never produces ---- */

struct mb {
	uint8_t *p;
	size_t len;
	size_t set;
};

static void mb_u8(struct mb *m, uint8_t v)
{
	m->p[m->len++] = v;
}

static void mb_u16(struct mb *m, uint16_t v)
{
	mt_store_be16(m->p + m->len, v);
	m->len += 2;
}

static void mb_u32(struct mb *m, uint32_t v)
{
	mt_store_be32(m->p + m->len, v);
	m->len += 4;
}

/* A message header; with `templates`, every template of the schema first
 * (so 257 `stats` and 300 `file` are known), as the exporter sends them. */
static void mb_begin(struct mb *m, uint8_t *buf, bool templates)
{
	struct mt_ipfix_enc e;

	mt_ipfix_begin(&e, buf, MT_IPFIX_MSG_MAX, 1, PEN, 0, 0);
	if (templates)
		assert_int_equal(mt_ipfix_templates(&e, false), 0);
	m->p = buf;
	m->len = mt_ipfix_end(&e);
	m->set = 0;
}

static void mb_set(struct mb *m, uint16_t id)
{
	m->set = m->len;
	mb_u16(m, id);
	mb_u16(m, 0);
}

static void mb_set_end(struct mb *m)
{
	mt_store_be16(m->p + m->set + 2, (uint16_t)(m->len - m->set));
}

static size_t mb_end(struct mb *m)
{
	mt_store_be16(m->p + 2, (uint16_t)m->len);
	return m->len;
}

/* A template set of one template with one field (enterprise when `pen`). */
static void mb_template1(struct mb *m, uint16_t tid, uint16_t ie, uint32_t pen, uint16_t len)
{
	mb_set(m, MT_IPFIX_SET_TEMPLATE);
	mb_u16(m, tid);
	mb_u16(m, 1);
	mb_u16(m, (uint16_t)(ie | (pen ? 0x8000 : 0)));
	mb_u16(m, len);
	if (pen)
		mb_u32(m, pen);
	mb_set_end(m);
}

/* A data set of template `tid` holding one record: a single list field
 * (three-byte length form) with `n` bytes of list content. */
static size_t mb_list_record(struct mb *m, uint16_t tid, const uint8_t *content, size_t n)
{
	mb_set(m, tid);
	mb_u8(m, 255);
	mb_u16(m, (uint16_t)n);
	memcpy(m->p + m->len, content, n);
	m->len += n;
	mb_set_end(m);
	return mb_end(m);
}

/* The auditor's proof of concept: a subTemplateList naming a top-level
 * record's template (257, stats). Its fields have offsets within struct
 * mt_rec, and were written into the 256-byte sub-record buffer on the
 * stack: ASan reported a stack-buffer-overflow write. Refused now. */
static void test_subtemplatelist_of_record_template(void **state)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX], body[3 + 4000];
	struct mb m;
	size_t len;

	(void)state;
	mb_begin(&m, msg, true);
	mb_template1(&m, 1000, MT_IPFIX_IE_SUBTEMPLATELIST, 0, MT_IPFIX_VARLEN);
	body[0] = 4; /* ordered */
	mt_store_be16(body + 1, mt_rtypes[MT_REC_stats].template_id);
	memset(body + 3, 0x41, 4000);
	len = mb_list_record(&m, 1000, body, sizeof(body));
	expect_reject(msg, len, "subTemplateList of template 257, which is not a sub-record");

	/* The same inside a record type that has a list of sub-records. */
	mb_begin(&m, msg, true);
	mb_template1(&m, mt_rtypes[MT_REC_smtp].template_id, MT_IPFIX_IE_SUBTEMPLATELIST, 0,
		     MT_IPFIX_VARLEN);
	len = mb_list_record(&m, mt_rtypes[MT_REC_smtp].template_id, body, sizeof(body));
	expect_reject(msg, len, "subTemplateList of template 257, which is not a sub-record");
}

static void test_subtemplatelist_rejects(void **state)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX];
	uint16_t smtp = mt_rtypes[MT_REC_smtp].template_id;
	uint16_t flow = mt_rtypes[MT_REC_flow].template_id;
	uint16_t file = mt_stypes[MT_SUB_file].template_id;
	uint8_t c[8];
	struct mb m;
	size_t len;

	(void)state;
	/* Shorter than semantic and template id. */
	mb_begin(&m, msg, true);
	mb_template1(&m, smtp, MT_IPFIX_IE_SUBTEMPLATELIST, 0, MT_IPFIX_VARLEN);
	c[0] = 4;
	c[1] = 1;
	len = mb_list_record(&m, smtp, c, 2);
	expect_reject(msg, len, "subTemplateList header cut short");

	/* A template never defined in this session. */
	mb_begin(&m, msg, true);
	mb_template1(&m, smtp, MT_IPFIX_IE_SUBTEMPLATELIST, 0, MT_IPFIX_VARLEN);
	c[0] = 4;
	mt_store_be16(c + 1, 999);
	len = mb_list_record(&m, smtp, c, 3);
	expect_reject(msg, len, "subTemplateList of unknown template 999");

	/* A sub-record template, but in a record type (flow) that has no
	 * list of that sub-record. */
	mb_begin(&m, msg, true);
	mb_template1(&m, flow, MT_IPFIX_IE_SUBTEMPLATELIST, 0, MT_IPFIX_VARLEN);
	c[0] = 4;
	mt_store_be16(c + 1, file);
	len = mb_list_record(&m, flow, c, 3);
	expect_reject(msg, len, "which no list field of flow takes");

	/* And in a template that is no record type of the schema. */
	mb_begin(&m, msg, true);
	mb_template1(&m, 1000, MT_IPFIX_IE_SUBTEMPLATELIST, 0, MT_IPFIX_VARLEN);
	len = mb_list_record(&m, 1000, c, 3);
	expect_reject(msg, len, "which no list field of this unknown template takes");

	/* The right sub-record in the right record type is still taken
	 * (an empty list: header only). */
	{
		struct mt_ipfix_dec d;
		struct mt_ipfix_msg_info info;
		char why[200] = "";

		mb_begin(&m, msg, true);
		mb_template1(&m, smtp, MT_IPFIX_IE_SUBTEMPLATELIST, 0, MT_IPFIX_VARLEN);
		len = mb_list_record(&m, smtp, c, 3);
		mt_ipfix_dec_init(&d, PEN);
		if (mt_ipfix_decode(&d, msg, len, NULL, NULL, &info, why, sizeof(why)))
			fail_msg("decode: %s", why);
		assert_int_equal(info.records, 1);
		mt_ipfix_dec_free(&d);
	}
}

static void test_basiclist_rejects(void **state)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX];
	uint16_t smtp = mt_rtypes[MT_REC_smtp].template_id;
	uint8_t c[32];
	struct mb m;
	size_t len;

	(void)state;
	/* Shorter than semantic, element id and element length. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, MT_IPFIX_IE_BASICLIST, 0, MT_IPFIX_VARLEN);
	c[0] = 4;
	mt_store_be16(c + 1, 102 | 0x8000);
	c[3] = 0xff;
	len = mb_list_record(&m, smtp, c, 4);
	expect_reject(msg, len, "basicList header cut short");

	/* An enterprise element whose number is cut short. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, MT_IPFIX_IE_BASICLIST, 0, MT_IPFIX_VARLEN);
	mt_store_be16(c + 3, MT_IPFIX_VARLEN);
	c[5] = 0;
	c[6] = 0;
	len = mb_list_record(&m, smtp, c, 7);
	expect_reject(msg, len, "basicList enterprise number cut short");

	/* Elements of length 0. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, MT_IPFIX_IE_BASICLIST, 0, MT_IPFIX_VARLEN);
	mt_store_be16(c + 3, 0);
	mt_store_be32(c + 5, PEN);
	len = mb_list_record(&m, smtp, c, 9);
	expect_reject(msg, len, "basicList element length 0");

	/* smtp.rcpt_reply (element 103) holds 16-bit numbers: 4-byte
	 * elements do not fit it. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, MT_IPFIX_IE_BASICLIST, 0, MT_IPFIX_VARLEN);
	mt_store_be16(c + 1, 103 | 0x8000);
	mt_store_be16(c + 3, 4);
	len = mb_list_record(&m, smtp, c, 9);
	expect_reject(msg, len, "basicList of element 103 with length 4");

	/* A 2-byte element with one byte left of the list. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, MT_IPFIX_IE_BASICLIST, 0, MT_IPFIX_VARLEN);
	mt_store_be16(c + 3, 2);
	c[9] = 0x00;
	c[10] = 250;
	c[11] = 0x01;
	len = mb_list_record(&m, smtp, c, 12);
	expect_reject(msg, len, "basicList element cut short");

	/* smtp.rcpt_to (102): a string claiming 10 bytes, 3 there. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, MT_IPFIX_IE_BASICLIST, 0, MT_IPFIX_VARLEN);
	mt_store_be16(c + 1, 102 | 0x8000);
	mt_store_be16(c + 3, MT_IPFIX_VARLEN);
	c[9] = 10;
	memcpy(c + 10, "a@b", 3);
	len = mb_list_record(&m, smtp, c, 13);
	expect_reject(msg, len, "basicList element length beyond the list");
}

/* Template fields whose length the element's type cannot have, and a
 * boolean that is neither 1 (true) nor 2 (false). smtp.bdat is a boolean,
 * enterprise element 117. */
static void test_field_type_rejects(void **state)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX];
	uint16_t smtp = mt_rtypes[MT_REC_smtp].template_id;
	struct mb m;
	size_t len;

	(void)state;
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, 117, PEN, 2);
	len = mb_end(&m);
	expect_reject(msg, len, "template 258: element 117 with length 2");

	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, 117, PEN, MT_IPFIX_VARLEN);
	len = mb_end(&m);
	expect_reject(msg, len, "template 258: element 117 cannot be variable-length");

	/* A time (observationTimeMicroseconds, 324) is 8 bytes, never
	 * reduced. */
	mb_begin(&m, msg, false);
	mb_template1(&m, smtp, 324, 0, 4);
	len = mb_end(&m);
	expect_reject(msg, len, "template 258: element 324 with length 4");

	for (unsigned v = 0; v < 256; v++) {
		struct mt_ipfix_dec d;
		struct mt_ipfix_msg_info info;
		char why[200] = "";
		int rc;

		mb_begin(&m, msg, false);
		mb_template1(&m, smtp, 117, PEN, 1);
		mb_set(&m, smtp);
		mb_u8(&m, (uint8_t)v);
		mb_set_end(&m);
		len = mb_end(&m);
		mt_ipfix_dec_init(&d, PEN);
		rc = mt_ipfix_decode(&d, msg, len, NULL, NULL, &info, why, sizeof(why));
		mt_ipfix_dec_free(&d);
		if (v == 1 || v == 2) {
			assert_int_equal(rc, 0);
			assert_int_equal(info.records, 1);
		} else {
			char want[64];

			snprintf(want, sizeof(want), "element 117: boolean value %u", v);
			assert_int_equal(rc, -1);
			if (!strstr(why, want))
				fail_msg("reason `%s' lacks `%s'", why, want);
		}
	}
}

static void test_data_before_template_skipped(void **state)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX];
	struct mt_ipfix_enc e;
	struct mt_ipfix_dec d;
	struct mt_ipfix_msg_info info;
	struct mt_rec *r = calloc(1, sizeof(*r));
	char why[200];
	size_t len;

	(void)state;
	mt_rec_init(r, MT_REC_flow);
	recfill(r, (uint8_t *)r, &mt_rtypes[MT_REC_flow], 4, 3, 1);
	mt_ipfix_begin(&e, msg, sizeof(msg), 1, PEN, 0, 0);
	assert_int_equal(mt_ipfix_record(&e, r), 0);
	len = mt_ipfix_end(&e);
	mt_ipfix_dec_init(&d, PEN);
	assert_int_equal(mt_ipfix_decode(&d, msg, len, NULL, NULL, &info, why, sizeof(why)), 0);
	assert_int_equal(info.records, 0);
	assert_int_equal(info.skipped, 1);
	mt_ipfix_dec_free(&d);
	free(r);
}

static void test_time_roundtrip_exact(void **state)
{
	struct mt_rec *r = calloc(1, sizeof(*r));

	(void)state;
	/* Every microsecond of a second comes back exactly. */
	for (uint64_t us = 0; us < 1000000; us += 7919) {
		mt_rec_init(r, MT_REC_stats);
		r->b.stats.timestamp = 1714557600ull * MT_NS_PER_SEC + us * 1000;
		roundtrip(&r, 1);
	}
	r->b.stats.timestamp = 1714557600ull * MT_NS_PER_SEC + 999999000;
	roundtrip(&r, 1);
	free(r);
}

static void test_ie_names(void **state)
{
	char n[64];

	(void)state;
	mt_ipfix_ie_name("smtp.mail_from", n, sizeof(n));
	assert_string_equal(n, "smtpMailFrom");
	mt_ipfix_ie_name("stats.decoder.err_ipv4_bad_ihl", n, sizeof(n));
	assert_string_equal(n, "statsDecoderErrIpv4BadIhl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_full),
		cmocka_unit_test(test_every_type_empty),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_mixed_variants_in_one_message),
		cmocka_unit_test(test_enospc_and_sequence),
		cmocka_unit_test(test_decoder_rejects),
		cmocka_unit_test(test_subtemplatelist_of_record_template),
		cmocka_unit_test(test_subtemplatelist_rejects),
		cmocka_unit_test(test_basiclist_rejects),
		cmocka_unit_test(test_field_type_rejects),
		cmocka_unit_test(test_data_before_template_skipped),
		cmocka_unit_test(test_time_roundtrip_exact),
		cmocka_unit_test(test_ie_names),
	};

	return cmocka_run_group_tests_name("ipfix", tests, NULL, NULL);
}
