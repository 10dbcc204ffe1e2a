/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SQL schema generation and the store/reload round trip: every field of
 * every record type is a column of the right type, the tables and indexes
 * create, and every record type (all fields set, all empty, IPv4, IPv6 and
 * address-free, strings with bytes that are not UTF-8, strings filling the
 * arena, sub-record lists) is stored through the collector's own path
 * (IPFIX encode, decode, batch, SQLite) and read back into a struct
 * mt_rec whose EVE JSON is byte-identical to the original's.
 */
#include "testutil.h"

#include "recfill.h"

#include <errno.h>
#include <stdlib.h>

#include "batch.h"
#include "ipfix.h"
#include "json.h"
#include "sqlschema.h"
#include "store.h"

#define PEN MT_IPFIX_PEN_DEFAULT


/* ---- the store path ---- */

struct sink {
	struct mt_batch *b;
	uint32_t seq;
};

static int to_batch(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct sink *s = ctx;
	struct mt_batch_meta m = { 0, info->domain, s->seq++ };

	(void)info;
	assert_int_equal(mt_batch_add(s->b, r, &m), 0);
	return 0;
}

static const char *const apps[] = { "tap-01" };

/*
 * Stores records as the collector does (IPFIX encode and decode, batch,
 * transaction) and reads them back; compares the JSON of both.
 */
static void store_and_reload(struct mt_rec **recs, unsigned n)
{
	static uint8_t msg[MT_IPFIX_MSG_MAX];
	struct mt_store_opts so = { ":memory:", true, 8u << 20 };
	struct mt_store st;
	struct mt_batch b;
	struct mt_ipfix_enc e;
	struct mt_ipfix_dec d;
	struct mt_ipfix_msg_info info;
	struct sink sk;
	struct mt_buf want = { 0 }, got = { 0 };
	struct mt_rec *r = calloc(1, sizeof(*r));
	char err[300];

	assert_int_equal(mt_store_open(&st, &so, err, sizeof(err)), 0);
	assert_int_equal(mt_batch_init(&b, 64u << 20, 1, 1), 0);
	mt_ipfix_dec_init(&d, PEN);
	mt_ipfix_begin(&e, msg, sizeof(msg), 7, PEN, 1700000000, 0);
	assert_int_equal(mt_ipfix_templates(&e, false), 0);
	sk.b = &b;
	sk.seq = 0;
	for (unsigned i = 0; i < n; i++) {
		if (mt_ipfix_record(&e, recs[i]) == -ENOSPC) {
			size_t len = mt_ipfix_end(&e);

			assert_int_equal(mt_ipfix_decode(&d, msg, len, to_batch, &sk, &info, err,
							 sizeof(err)),
					 0);
			mt_ipfix_begin(&e, msg, sizeof(msg), 7, PEN, 1700000000, sk.seq);
			assert_int_equal(mt_ipfix_record(&e, recs[i]), 0);
		}
		mt_json_record(&want, recs[i]);
	}
	assert_int_equal(mt_ipfix_decode(&d, msg, mt_ipfix_end(&e), to_batch, &sk, &info, err,
					 sizeof(err)),
			 0);
	assert_int_equal(b.nrec, n);
	if (mt_store_write(&st, &b, apps, err, sizeof(err)) != 0)
		fail_msg("store: %s", err);
	/* Read back every table in storage order (the row id). */
	for (int64_t id = 1; id <= (int64_t)n; id++) {
		bool found = false;

		for (unsigned t = 0; t < MT_REC__COUNT && !found; t++) {
			struct mt_buf q = { 0 };
			sqlite3_stmt *s;

			mt_sql_select(&q, (enum mt_rtype)t);
			mt_buf_printf(&q, " WHERE id = %lld", (long long)id);
			assert_int_equal(sqlite3_prepare_v2(st.db, q.p, -1, &s, NULL), SQLITE_OK);
			if (sqlite3_step(s) == SQLITE_ROW) {
				found = true;
				assert_string_equal(sqlite3_column_text(s, 1), "tap-01");
				assert_int_equal(sqlite3_column_int64(s, 2), 7);
				assert_int_equal(sqlite3_column_int64(s, 3), id - 1);
				if (mt_sql_read(s, MT_SQL_META_COLS, (enum mt_rtype)t, r, err,
						sizeof(err)) != 0)
					fail_msg("read %s: %s", mt_rtypes[t].name, err);
				mt_json_record(&got, r);
			}
			sqlite3_finalize(s);
			mt_buf_free(&q);
		}
		assert_true(found);
	}
	assert_false(want.failed);
	assert_string_equal(got.p, want.p);
	mt_buf_free(&want);
	mt_buf_free(&got);
	mt_ipfix_dec_free(&d);
	mt_batch_free(&b);
	mt_store_close(&st);
	free(r);
}

/* ---- tests ---- */

static void test_columns_from_descriptors(void **state)
{
	(void)state;
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		const struct mt_rtype_desc *rt = &mt_rtypes[t];
		struct mt_buf b = { 0 };
		const char *users[8];

		mt_sql_create(&b, (enum mt_rtype)t);
		for (unsigned i = 0; i < rt->nfields; i++) {
			char want[128];

			snprintf(want, sizeof(want), "\"%s\" %s", rt->fields[i].name,
				 mt_sql_coltype(rt->fields[i].type));
			if (!strstr(b.p, want))
				fail_msg("%s: no column %s", rt->name, want);
			/* Meta columns never clash with a field. */
			assert_string_not_equal(rt->fields[i].name, "id");
			assert_string_not_equal(rt->fields[i].name, "appliance");
			assert_string_not_equal(rt->fields[i].name, "domain");
			assert_string_not_equal(rt->fields[i].name, "seq");
		}
		assert_non_null(strstr(b.p, "(\"timestamp\")"));
		if (mt_sql_has_column((enum mt_rtype)t, "src_ip"))
			assert_non_null(strstr(b.p, "(src_ip)"));
		for (unsigned k = 0; k < mt_sql_user_columns((enum mt_rtype)t, users, 8); k++) {
			char want[128];

			snprintf(want, sizeof(want), "(\"%s\")", users[k]);
			assert_non_null(strstr(b.p, want));
		}
		mt_buf_free(&b);
	}
	assert_string_equal(mt_sql_coltype(MT_FT_U64), "INTEGER");
	assert_string_equal(mt_sql_coltype(MT_FT_TIME), "INTEGER");
	assert_string_equal(mt_sql_coltype(MT_FT_IP), "TEXT");
	assert_string_equal(mt_sql_coltype(MT_FT_SUBLIST), "TEXT");
}

/* The user fields the query's --user looks in. */
static void test_user_columns(void **state)
{
	const char *u[8];

	(void)state;
	assert_int_equal(mt_sql_user_columns(MT_REC_auth, u, 8), 1);
	assert_string_equal(u[0], "user");
	assert_int_equal(mt_sql_user_columns(MT_REC_smtp, u, 8), 1);
	assert_string_equal(u[0], "auth_user");
	assert_int_equal(mt_sql_user_columns(MT_REC_imap, u, 8), 1);
	assert_int_equal(mt_sql_user_columns(MT_REC_pop3, u, 8), 1);
	assert_int_equal(mt_sql_user_columns(MT_REC_alert, u, 8), 1);
	assert_int_equal(mt_sql_user_columns(MT_REC_flow, u, 8), 0);
}

/* The generated SQL runs, and INSERT has one parameter per column. */
static void test_schema_creates(void **state)
{
	sqlite3 *db;
	char err[300];

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	if (mt_store_create_schema(db, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* Twice: IF NOT EXISTS everywhere. */
	assert_int_equal(mt_store_create_schema(db, err, sizeof(err)), 0);
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		struct mt_buf q = { 0 };
		sqlite3_stmt *s;

		mt_sql_insert(&q, (enum mt_rtype)t);
		assert_int_equal(sqlite3_prepare_v2(db, q.p, -1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_bind_parameter_count(s),
				 MT_SQL_META_COLS + mt_rtypes[t].nfields);
		sqlite3_finalize(s);
		mt_buf_free(&q);
	}
	sqlite3_close(db);
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
			recfill(r, (uint8_t *)r, &mt_rtypes[t], ipver, 40, 3);
			store_and_reload(&r, 1);
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
		store_and_reload(&r, 1);
		free(r);
	}
}

/* Strings as long as the arena allows, and an arena filled to the brim
 * (the record was truncated by the appliance: it comes back the same). */
static void test_long_strings(void **state)
{
	struct mt_rec *r = calloc(1, sizeof(*r));
	static char big[MT_REC_ARENA];

	(void)state;
	mt_rec_init(r, MT_REC_smtp);
	recfill(r, (uint8_t *)r, &mt_rtypes[MT_REC_smtp], 4, 600, 2);
	store_and_reload(&r, 1);
	memset(big, 'x', sizeof(big));
	big[17] = '\0'; /* a NUL inside a string is a byte like any other */
	mt_rec_init(r, MT_REC_auth);
	mt_rec_set_str(r, &r->b.auth.user, big, sizeof(big));
	store_and_reload(&r, 1);
	free(r);
}

/* Many records of all types in one batch, several messages. */
static void test_mixed_batch(void **state)
{
	struct mt_rec *r[300];

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		r[i] = calloc(1, sizeof(*r[i]));
		mt_rec_init(r[i], (enum mt_rtype)(i % MT_REC__COUNT));
		recfill(r[i], (uint8_t *)r[i], &mt_rtypes[r[i]->type], i % 3 == 0 ? 6 : 4, 1 + i % 50,
		     i % 4);
	}
	store_and_reload(r, 300);
	for (unsigned i = 0; i < 300; i++)
		free(r[i]);
}

/* List columns: what mt_sql_list_json writes, mt_sql_list_parse reads
 * back byte for byte; anything else is refused with a reason. */
static void test_list_json(void **state)
{
	static const char *const bad[] = {
		"", "[", "[\"a\"", "[\"a\",]", "[1]", "[\"\\x\"]", "[\"\\u12\"]", "{}", "[\"a\"] x",
		"[\"a\" \"b\"]", "[null]",
	};
	const struct mt_field_desc *rcpt = NULL, *files = NULL, *codes = NULL;
	struct mt_rec *r = calloc(1, sizeof(*r)), *back = calloc(1, sizeof(*back));
	struct mt_buf j = { 0 }, j2 = { 0 };
	struct mt_lref l, l2;
	char why[200];

	(void)state;
	for (unsigned i = 0; i < mt_rtypes[MT_REC_smtp].nfields; i++) {
		const struct mt_field_desc *f = &mt_rtypes[MT_REC_smtp].fields[i];

		if (!strcmp(f->name, "rcpt_to"))
			rcpt = f;
		if (!strcmp(f->name, "email_files"))
			files = f;
		if (!strcmp(f->name, "rcpt_reply"))
			codes = f;
	}
	assert_non_null(rcpt);
	assert_non_null(files);
	assert_non_null(codes);
	mt_rec_init(r, MT_REC_smtp);
	recfill(r, (uint8_t *)r, &mt_rtypes[MT_REC_smtp], 4, 30, 4);
	memcpy(&l, (uint8_t *)r + rcpt->offset, sizeof(l));
	mt_sql_list_json(&j, r, rcpt, l);
	/* Valid JSON for SQLite: no raw control or invalid bytes. */
	for (size_t i = 0; i < j.len; i++)
		assert_true((uint8_t)j.p[i] >= 0x20);
	mt_rec_init(back, MT_REC_smtp);
	assert_int_equal(mt_sql_list_parse(back, rcpt, j.p, j.len, &l2, why, sizeof(why)), 0);
	mt_sql_list_json(&j2, back, rcpt, l2);
	assert_string_equal(j.p, j2.p);
	for (unsigned i = 0; i < MT_ARRAY_SIZE(bad); i++)
		if (mt_sql_list_parse(back, rcpt, bad[i], strlen(bad[i]), &l2, why, sizeof(why)) == 0)
			fail_msg("accepted `%s'", bad[i]);
	/* Numbers and objects in the wrong places. */
	assert_int_not_equal(mt_sql_list_parse(back, codes, "[\"x\"]", 5, &l2, why, sizeof(why)), 0);
	assert_int_not_equal(mt_sql_list_parse(back, codes, "[99999999999999999999999]", 25, &l2, why,
					       sizeof(why)),
			     0);
	assert_int_not_equal(mt_sql_list_parse(back, files, "[{\"nope\":1}]", 12, &l2, why,
					       sizeof(why)),
			     0);
	assert_int_equal(mt_sql_list_parse(back, files, " [ {\"size\" : 5} , {} ] ", 23, &l2, why,
					   sizeof(why)),
			 0);
	assert_int_equal(l2.count, 2);
	mt_buf_free(&j);
	mt_buf_free(&j2);
	free(r);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_from_descriptors),
		cmocka_unit_test(test_user_columns),
		cmocka_unit_test(test_schema_creates),
		cmocka_unit_test(test_every_type_full),
		cmocka_unit_test(test_every_type_empty),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_mixed_batch),
		cmocka_unit_test(test_list_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
