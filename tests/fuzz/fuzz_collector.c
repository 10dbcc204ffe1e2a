/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the collector's input path: the bytes an appliance
 * sends after the TLS handshake, cut into reads of fuzzer-chosen sizes,
 * go through framing, domain binding, the decoder, de-duplication and the
 * batch into an in-memory SQLite database, exactly as the server does it.
 * Then every stored record is read back and must print the same EVE JSON
 * as the record that was stored (records the decoder had to truncate are
 * exempt: their arena use depends on what was dropped).
 *
 * Input: byte 0 picks the read size, byte 1 how many domains the appliance
 * may use; the rest is the stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ingest.h"
#include "json.h"
#include "sqlschema.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mt_store store;
static struct mt_batch batch;
static struct mt_rec *rec;
static bool ready;
static unsigned runs;
static const char *const apps[] = { "fuzz" };

struct ctx {
	struct mt_ingest_dom doms[4];
};

static struct mt_ingest_dom *lookup(void *c, uint32_t domain)
{
	struct ctx *x = c;

	for (unsigned i = 0; i < 4; i++)
		if (x->doms[i].domain == domain)
			return &x->doms[i];
	return NULL;
}

static void init(void)
{
	struct mt_store_opts o = { ":memory:", false, 4u << 20 };
	char err[300];

	if (mt_store_open(&store, &o, err, sizeof(err)) != 0 ||
	    mt_batch_init(&batch, 64u << 20, 4, 1) != 0) {
		fprintf(stderr, "fuzz_collector: %s\n", err);
		abort();
	}
	rec = malloc(sizeof(*rec));
	if (!rec)
		abort();
	ready = true;
}

/* JSON of the batch's records that are not truncated, in order. */
static void batch_json(struct mt_buf *out)
{
	struct mt_batch_meta m;
	size_t pos = 0;

	while (mt_batch_next(&batch, &pos, rec, &m))
		if (!(rec->flags & MT_REC_F_TRUNCATED))
			mt_json_record(out, rec);
}

/* JSON of the rows from id `first` on, in id order, skipping the ids of
 * truncated records. */
static void stored_json(struct mt_buf *out, int64_t first, const bool *skip)
{
	struct cur {
		sqlite3_stmt *st;
		bool row;
	} c[MT_REC__COUNT];

	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		struct mt_buf q = { 0 };

		mt_sql_select(&q, (enum mt_rtype)t);
		mt_buf_printf(&q, " WHERE id >= %lld ORDER BY id", (long long)first);
		if (sqlite3_prepare_v2(store.db, q.p, -1, &c[t].st, NULL) != SQLITE_OK)
			abort();
		c[t].row = sqlite3_step(c[t].st) == SQLITE_ROW;
		mt_buf_free(&q);
	}
	for (;;) {
		int best = -1;
		int64_t id;
		char why[200];

		for (unsigned t = 0; t < MT_REC__COUNT; t++)
			if (c[t].row && (best < 0 || sqlite3_column_int64(c[t].st, 0) <
							     sqlite3_column_int64(c[best].st, 0)))
				best = (int)t;
		if (best < 0)
			break;
		id = sqlite3_column_int64(c[best].st, 0);
		if (mt_sql_read(c[best].st, MT_SQL_META_COLS, (enum mt_rtype)best, rec, why,
				sizeof(why)) != 0) {
			fprintf(stderr, "fuzz_collector: row %lld unreadable: %s\n", (long long)id, why);
			abort();
		}
		if (!skip[id - first])
			mt_json_record(out, rec);
		c[best].row = sqlite3_step(c[best].st) == SQLITE_ROW;
	}
	for (unsigned t = 0; t < MT_REC__COUNT; t++)
		sqlite3_finalize(c[t].st);
}

/* Stores the batch and checks what comes back; empties the batch. */
static void commit(void)
{
	struct mt_buf want = { 0 }, got = { 0 };
	struct mt_batch_meta m;
	int64_t first = store.next_id;
	bool *skip;
	size_t pos = 0, i = 0;
	char err[300];

	if (!batch.nrec) {
		mt_batch_reset(&batch);
		return;
	}
	skip = calloc(batch.nrec, sizeof(*skip));
	if (!skip)
		abort();
	while (mt_batch_next(&batch, &pos, rec, &m))
		skip[i++] = rec->flags & MT_REC_F_TRUNCATED;
	batch_json(&want);
	if (mt_store_write(&store, &batch, apps, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_collector: store: %s\n", err);
		abort();
	}
	stored_json(&got, first, skip);
	if (want.failed || got.failed || want.len != got.len ||
	    (want.len && memcmp(want.p, got.p, want.len) != 0)) {
		fprintf(stderr, "fuzz_collector: stored records differ\nwant: %.2000s\ngot:  %.2000s\n",
			want.p ? want.p : "", got.p ? got.p : "");
		abort();
	}
	mt_buf_free(&want);
	mt_buf_free(&got);
	free(skip);
	mt_batch_reset(&batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t reads[8] = { 1, 7, 16, 100, 1400, 4096, 16384, 65535 };
	struct mt_coll_appliance app;
	struct mt_ingest c;
	struct ctx x;
	struct mt_ingest_env env;
	size_t chunk, off = 2;
	char why[300];

	if (size < 2)
		return 0;
	if (!ready)
		init();
	chunk = reads[data[0] & 7];
	memset(&x, 0, sizeof(x));
	memset(&app, 0, sizeof(app));
	snprintf(app.name, sizeof(app.name), "fuzz");
	app.ndomains = 1 + (data[1] & 3);
	for (unsigned i = 0; i < 4; i++) {
		x.doms[i].domain = i; /* domains 0..3 exist, the first few bound */
		if (i < app.ndomains)
			app.domains[i] = i;
	}
	memset(&env, 0, sizeof(env));
	env.batch = &batch;
	env.lookup = lookup;
	env.ctx = &x;
	env.appliance = &app;
	env.now_us = 1;
	mt_ingest_init(&c, MT_IPFIX_PEN_DEFAULT);
	while (off < size) {
		uint8_t *dst;
		size_t room = mt_ingest_space(&c, &dst), k;
		int rc;

		if (room == 0)
			abort(); /* a full buffer always holds a message to process */
		k = MT_MIN(MT_MIN(room, size - off), chunk);
		memcpy(dst, data + off, k);
		mt_ingest_added(&c, k);
		off += k;
		do {
			rc = mt_ingest_process(&c, &env, 4, why, sizeof(why));
			if (rc == -EAGAIN)
				commit(); /* the server hands the batch to the writer */
		} while (rc == -EAGAIN || (rc == 0 && mt_ingest_ready(&c)));
		if (rc)
			break; /* refused: the server closes the session */
	}
	commit();
	mt_ingest_free(&c);
	/* Keep the in-memory database small. */
	if (++runs % 512 == 0)
		for (unsigned t = 0; t < MT_REC__COUNT; t++) {
			char q[64];

			snprintf(q, sizeof(q), "DELETE FROM \"%s\"", mt_rtypes[t].name);
			sqlite3_exec(store.db, q, NULL, NULL, NULL);
		}
	return 0;
}
