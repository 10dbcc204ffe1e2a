/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Store tests on a real database file: a batch and the domain rows it
 * advances commit together or not at all; a reopened database gives back
 * the domain state, appliance totals and the next row id; retention
 * deletes old records in bounded steps and nothing else; a table created
 * by an older schema gets the new columns; the writer thread commits what
 * it is handed and reports completion on its eventfd.
 */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "batch.h"
#include "store.h"
#include "writer.h"

static const char *const apps[] = { "tap-01", "tap-02" };

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/mt-store-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path); /* SQLite creates it */
	return 0;
}

static int teardown(void **state)
{
	char p[80];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

static void open_store(struct mt_store *s)
{
	struct mt_store_opts o = { path, true, 4u << 20 };
	char err[300];

	if (mt_store_open(s, &o, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
}

/* An auth record with a given time (seconds) and user. */
static void add_auth(struct mt_batch *b, uint16_t app, uint32_t domain, uint32_t seq,
		     uint64_t t_sec, const char *user)
{
	struct mt_rec *r = calloc(1, sizeof(*r));
	struct mt_batch_meta m = { app, domain, seq };

	mt_rec_init(r, MT_REC_auth);
	r->b.auth.timestamp = t_sec * MT_NS_PER_SEC;
	r->b.auth.src_ip.ver = 4;
	r->b.auth.src_ip.a[0] = 192;
	r->b.auth.src_ip.a[3] = 7;
	mt_rec_set_str(r, &r->b.auth.user, user, strlen(user));
	mt_rec_set_str(r, &r->b.auth.result, "failure", 7);
	assert_int_equal(mt_batch_add(b, r, &m), 0);
	free(r);
}

static long long count(struct mt_store *s, const char *sql)
{
	sqlite3_stmt *st;
	long long n = -1;

	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

struct loaded {
	unsigned n;
	struct mt_batch_dom d[4];
	char app[4][16];
	unsigned napps;
	struct mt_batch_app a[4];
};

static void on_dom(void *ctx, const struct mt_batch_dom *d, const char *appliance)
{
	struct loaded *l = ctx;

	assert_true(l->n < 4);
	l->d[l->n] = *d;
	snprintf(l->app[l->n], sizeof(l->app[0]), "%s", appliance);
	l->n++;
}

static void on_app(void *ctx, const char *name, const struct mt_batch_app *a)
{
	struct loaded *l = ctx;

	(void)name;
	assert_true(l->napps < 4);
	l->a[l->napps++] = *a;
}

static void test_commit_and_reload(void **state)
{
	struct mt_store s;
	struct mt_batch b;
	struct loaded l;
	char err[300];

	(void)state;
	open_store(&s);
	assert_int_equal(s.next_id, 1);
	assert_int_equal(mt_batch_init(&b, 1u << 20, 4, 2), 0);
	for (uint32_t i = 0; i < 10; i++)
		add_auth(&b, 0, 1, 100 + i, 1700000000 + i, "alice");
	b.doms[b.ndoms++] = (struct mt_batch_dom){ .domain = 1, .app = 0, .next_seq = 110,
						   .records = 10, .duplicates = 3, .gaps = 2,
						   .gap_events = 1, .first_seen_us = 5,
						   .last_seen_us = 6 };
	b.apps[b.napps++] = (struct mt_batch_app){ .app = 0, .connected = 1, .records = 10,
						   .connections = 1, .first_seen_us = 5,
						   .last_seen_us = 6, .peer = "127.0.0.1:5" };
	b.now_us = 123;
	if (mt_store_write(&s, &b, apps, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s.next_id, 11);
	assert_int_equal(count(&s, "SELECT count(*) FROM auth WHERE user = 'alice' AND domain = 1"), 10);
	assert_int_equal(count(&s, "SELECT min(seq) FROM auth"), 100);
	assert_int_equal(count(&s, "SELECT value FROM meta WHERE key = 'heartbeat'"), 123);
	mt_store_close(&s);

	/* Reopened: the state comes back, the id continues, and nobody is
	 * connected any more (the collector that knew them is gone). */
	open_store(&s);
	assert_int_equal(s.next_id, 11);
	memset(&l, 0, sizeof(l));
	assert_int_equal(mt_store_load_domains(&s, on_dom, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.d[0].domain, 1);
	assert_int_equal(l.d[0].next_seq, 110);
	assert_int_equal(l.d[0].records, 10);
	assert_int_equal(l.d[0].duplicates, 3);
	assert_int_equal(l.d[0].gaps, 2);
	assert_string_equal(l.app[0], "tap-01");
	assert_int_equal(mt_store_load_appliances(&s, on_app, &l, err, sizeof(err)), 0);
	assert_int_equal(l.napps, 1);
	assert_int_equal(l.a[0].records, 10);
	assert_string_equal(l.a[0].peer, "127.0.0.1:5");
	assert_int_equal(count(&s, "SELECT connected FROM appliances"), 0);
	mt_store_close(&s);
	mt_batch_free(&b);
}

/* A transaction that fails half-way leaves neither records nor the domain
 * row it would have advanced: nothing may be acknowledged. */
static void test_failed_batch_rolls_back(void **state)
{
	struct mt_store s;
	struct mt_batch b;
	char err[300];

	(void)state;
	open_store(&s);
	assert_int_equal(sqlite3_exec(s.db,
				      "CREATE TRIGGER boom BEFORE INSERT ON auth WHEN NEW.user = 'boom'"
				      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(mt_batch_init(&b, 1u << 20, 4, 2), 0);
	add_auth(&b, 0, 1, 0, 1700000000, "alice");
	add_auth(&b, 0, 1, 1, 1700000000, "boom");
	b.doms[b.ndoms++] = (struct mt_batch_dom){ .domain = 1, .next_seq = 2, .records = 2 };
	assert_int_equal(mt_store_write(&s, &b, apps, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "injected failure"));
	assert_int_equal(count(&s, "SELECT count(*) FROM auth"), 0);
	assert_int_equal(count(&s, "SELECT count(*) FROM domains"), 0);
	assert_int_equal(s.next_id, 1);
	/* The store still works afterwards. */
	mt_batch_reset(&b);
	add_auth(&b, 0, 1, 0, 1700000000, "alice");
	assert_int_equal(mt_store_write(&s, &b, apps, err, sizeof(err)), 0);
	assert_int_equal(count(&s, "SELECT count(*) FROM auth"), 1);
	mt_store_close(&s);
	mt_batch_free(&b);
}

static void test_retention_steps(void **state)
{
	struct mt_store s;
	struct mt_batch b;
	uint64_t deleted, total = 0;
	unsigned steps = 0;
	char err[300];
	int rc;

	(void)state;
	open_store(&s);
	assert_int_equal(mt_batch_init(&b, 8u << 20, 4, 2), 0);
	/* 2500 old records and 100 new ones. */
	for (uint32_t i = 0; i < 2600; i++)
		add_auth(&b, 0, 1, i, i < 2500 ? 1000000 + i : 2000000000 + i, "u");
	assert_int_equal(mt_store_write(&s, &b, apps, err, sizeof(err)), 0);
	do {
		rc = mt_store_retention_step(&s, 1500000000ll * 1000000, 1000, &deleted, err,
					     sizeof(err));
		assert_true(rc >= 0);
		assert_true(deleted <= 1000); /* bounded */
		total += deleted;
		steps++;
	} while (rc > 0 && steps < 100);
	assert_int_equal(total, 2500);
	assert_true(steps >= 3);
	assert_int_equal(count(&s, "SELECT count(*) FROM auth"), 100);
	assert_int_equal(count(&s, "SELECT min(\"timestamp\") FROM auth"), 2000002500ll * 1000000);
	mt_store_close(&s);
	mt_batch_free(&b);
}

/* A database made by an older schema (a table missing columns) is
 * upgraded in place when opened. */
static void test_new_columns_added(void **state)
{
	struct mt_store s;
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE auth (id INTEGER PRIMARY KEY, appliance TEXT NOT NULL,"
				      " domain INTEGER NOT NULL, seq INTEGER NOT NULL, \"timestamp\" INTEGER)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	open_store(&s);
	assert_int_equal(count(&s, "SELECT count(*) FROM pragma_table_info('auth') WHERE name = 'user'"),
			 1);
	mt_store_close(&s);
}

static void test_writer_thread(void **state)
{
	struct mt_store s;
	struct mt_writer w;
	struct mt_batch b, *done;
	struct pollfd p;

	(void)state;
	open_store(&s);
	assert_int_equal(mt_batch_init(&b, 1u << 20, 4, 2), 0);
	assert_int_equal(mt_writer_start(&w, &s, apps, 0, 100), 0);
	assert_false(mt_writer_busy(&w));
	add_auth(&b, 1, 2, 0, 1700000000, "bob");
	b.doms[b.ndoms++] = (struct mt_batch_dom){ .domain = 2, .app = 1, .next_seq = 1 };
	mt_writer_submit(&w, &b);
	assert_true(mt_writer_busy(&w));
	p.fd = w.efd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	done = mt_writer_collect(&w);
	assert_ptr_equal(done, &b);
	assert_int_equal(done->rc, 0);
	assert_false(mt_writer_busy(&w));
	mt_writer_stop(&w);
	assert_int_equal(count(&s, "SELECT count(*) FROM auth WHERE appliance = 'tap-02'"), 1);
	assert_int_equal(count(&s, "SELECT next_seq FROM domains WHERE domain = 2"), 1);
	mt_store_close(&s);
	mt_batch_free(&b);
}

/* A batch refuses what passes its cap and takes a message back whole. */
static void test_batch_cap_and_truncate(void **state)
{
	struct mt_batch b;
	struct mt_rec *r = calloc(1, sizeof(*r));
	struct mt_batch_meta m = { 0, 1, 0 };
	uint32_t by_type[MT_REC__COUNT];
	size_t len, pos = 0;
	unsigned n = 0;

	(void)state;
	mt_rec_init(r, MT_REC_flow);
	assert_int_equal(mt_batch_init(&b, 4 * mt_batch_rec_size(r), 1, 1), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mt_batch_add(&b, r, &m), 0);
	assert_int_equal(mt_batch_add(&b, r, &m), -ENOSPC);
	mt_batch_reset(&b);
	assert_int_equal(mt_batch_add(&b, r, &m), 0);
	len = b.len;
	memcpy(by_type, b.by_type, sizeof(by_type));
	m.seq = 1;
	assert_int_equal(mt_batch_add(&b, r, &m), 0);
	mt_batch_truncate(&b, len, 1, by_type);
	assert_int_equal(b.nrec, 1);
	assert_int_equal(b.by_type[MT_REC_flow], 1);
	while (mt_batch_next(&b, &pos, r, &m))
		n++;
	assert_int_equal(n, 1);
	r->type = MT_REC__COUNT;
	assert_int_equal(mt_batch_add(&b, r, &m), -EINVAL);
	mt_batch_free(&b);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_and_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_batch_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_columns_added, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_thread, setup, teardown),
		cmocka_unit_test(test_batch_cap_and_truncate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
