/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SQLite storage (see store.h). Settings and why:
 *  - journal_mode=WAL: `query`, `appliances` and online backups read while
 *    the collector writes, and neither blocks the other.
 *  - synchronous=FULL by default: in WAL mode that is one fsync of the log
 *    per commit, so a batch that has been acknowledged is on disk even if
 *    the machine loses power (the appliance deletes what we acknowledge,
 *    so an acknowledged record must never be lost). NORMAL skips that
 *    fsync: it still survives a crash or SIGKILL of the collector (the
 *    log is in the page cache) but not a power cut. Batching makes FULL
 *    cheap: one fsync per 50 ms or 5000 records.
 *  - 16 KiB pages, a larger WAL before checkpointing and a page cache
 *    sized by the configuration keep index inserts cheap at high rates.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sqlschema.h"

#define SCHEMA_VERSION 1

static int fail(sqlite3 *db, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%.120s...: %s", sql, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static const char fixed_schema[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;\n"
	"CREATE TABLE IF NOT EXISTS domains (\n"
	"  domain INTEGER PRIMARY KEY,\n"
	"  appliance TEXT NOT NULL,\n"
	"  next_seq INTEGER NOT NULL,\n"
	"  records INTEGER NOT NULL DEFAULT 0,\n"
	"  duplicates INTEGER NOT NULL DEFAULT 0,\n"
	"  gaps INTEGER NOT NULL DEFAULT 0,\n"
	"  gap_events INTEGER NOT NULL DEFAULT 0,\n"
	"  first_seen INTEGER,\n"
	"  last_seen INTEGER\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS appliances (\n"
	"  name TEXT PRIMARY KEY,\n"
	"  connected INTEGER NOT NULL DEFAULT 0,\n"
	"  records INTEGER NOT NULL DEFAULT 0,\n"
	"  connections INTEGER NOT NULL DEFAULT 0,\n"
	"  first_seen INTEGER,\n"
	"  last_seen INTEGER,\n"
	"  peer TEXT\n"
	");\n";

/* Columns a newer schema added since the table was created. */
static int add_missing_columns(sqlite3 *db, enum mt_rtype t, char *err, size_t errlen)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];
	struct mt_buf q = { 0 };
	sqlite3_stmt *st = NULL;
	bool *have = calloc(rt->nfields, sizeof(*have));
	int rc = 0;

	if (!have)
		return fail(NULL, err, errlen, "schema");
	mt_buf_printf(&q, "PRAGMA table_info(\"%s\")", rt->name);
	if (sqlite3_prepare_v2(db, q.p, -1, &st, NULL) != SQLITE_OK) {
		rc = fail(db, err, errlen, "table_info");
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);

		for (unsigned i = 0; name && i < rt->nfields; i++)
			if (strcmp(rt->fields[i].name, name) == 0)
				have[i] = true;
	}
	sqlite3_finalize(st);
	for (unsigned i = 0; i < rt->nfields && rc == 0; i++) {
		if (have[i])
			continue;
		mt_buf_reset(&q);
		mt_buf_printf(&q, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", rt->name,
			      rt->fields[i].name, mt_sql_coltype(rt->fields[i].type));
		rc = exec(db, q.p, err, errlen);
	}
out:
	mt_buf_free(&q);
	free(have);
	return rc;
}

int mt_store_create_schema(sqlite3 *db, char *err, size_t errlen)
{
	struct mt_buf q = { 0 };
	int rc = exec(db, fixed_schema, err, errlen);

	for (unsigned t = 0; t < MT_REC__COUNT && rc == 0; t++) {
		mt_buf_reset(&q);
		mt_sql_create_table(&q, (enum mt_rtype)t);
		rc = q.failed ? fail(NULL, err, errlen, "schema text") : exec(db, q.p, err, errlen);
		if (rc == 0)
			rc = add_missing_columns(db, (enum mt_rtype)t, err, errlen);
		if (rc == 0) {
			mt_buf_reset(&q);
			mt_sql_create_indexes(&q, (enum mt_rtype)t);
			rc = q.failed ? fail(NULL, err, errlen, "schema text") :
					exec(db, q.p, err, errlen);
		}
	}
	mt_buf_free(&q);
	return rc;
}

static int prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return fail(db, err, errlen, sql);
	return 0;
}

static int load_next_id(struct mt_store *s, char *err, size_t errlen)
{
	s->next_id = 1;
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		char q[128];
		sqlite3_stmt *st;

		snprintf(q, sizeof(q), "SELECT max(id) FROM \"%s\"", mt_rtypes[t].name);
		if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
			return fail(s->db, err, errlen, q);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			s->next_id = MT_MAX(s->next_id, sqlite3_column_int64(st, 0) + 1);
		sqlite3_finalize(st);
	}
	return 0;
}

void mt_store_global_init(void)
{
	/* Each connection is used by one thread at a time (the writer owns
	 * the collector's): SQLite's per-call mutexes and memory statistics
	 * are pure overhead then. Must run before SQLite initialises; later
	 * it is refused (SQLITE_MISUSE) and changes nothing. */
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int mt_store_open(struct mt_store *s, const struct mt_store_opts *o, char *err, size_t errlen)
{
	struct mt_buf q = { 0 };
	char sql[256];
	sqlite3_stmt *st;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	s->rec = calloc(1, sizeof(*s->rec));
	if (!s->rec)
		return fail(NULL, err, errlen, "store");
	if (sqlite3_open_v2(o->path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", o->path,
			 s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	/* 16 KiB pages: fewer pages, log frames and checksums per record
	 * (8% less writer CPU than 4 KiB in tests/bench/bench_collector.sh).
	 * Only takes effect when the file is created. */
	sqlite3_exec(s->db, "PRAGMA page_size=16384", NULL, NULL, NULL);
	/* journal_mode answers with the mode it got: a file on a filesystem
	 * without shared memory support stays in rollback mode. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) {
		fail(s->db, err, errlen, o->path);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0 &&
	     strcmp(o->path, ":memory:") != 0)) {
		snprintf(err, errlen, "%s: cannot switch to WAL mode (%s)", o->path,
			 sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		goto out;
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous=%s; PRAGMA cache_size=-%llu; PRAGMA wal_autocheckpoint=4000;"
		 " PRAGMA temp_store=MEMORY; PRAGMA user_version=%d;",
		 o->sync_full ? "FULL" : "NORMAL", (unsigned long long)(o->cache_bytes / 1024),
		 SCHEMA_VERSION);
	if (exec(s->db, sql, err, errlen))
		goto out;
	if (exec(s->db, "BEGIN IMMEDIATE", err, errlen))
		goto out;
	if (mt_store_create_schema(s->db, err, errlen) ||
	    exec(s->db, "UPDATE appliances SET connected = 0", err, errlen)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if (exec(s->db, "COMMIT", err, errlen) || load_next_id(s, err, errlen))
		goto out;
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		mt_buf_reset(&q);
		mt_sql_insert(&q, (enum mt_rtype)t);
		if (q.failed || prepare(s->db, &s->ins[t], q.p, err, errlen))
			goto out;
		mt_buf_reset(&q);
		mt_buf_printf(&q,
			      "DELETE FROM \"%s\" WHERE id IN (SELECT id FROM \"%s\" WHERE \"timestamp\" < ?1"
			      " ORDER BY \"timestamp\" LIMIT ?2)",
			      mt_rtypes[t].name, mt_rtypes[t].name);
		if (q.failed || prepare(s->db, &s->ret_del[t], q.p, err, errlen))
			goto out;
	}
	if (prepare(s->db, &s->begin, "BEGIN IMMEDIATE", err, errlen) ||
	    prepare(s->db, &s->commit, "COMMIT", err, errlen) ||
	    prepare(s->db, &s->rollback, "ROLLBACK", err, errlen) ||
	    prepare(s->db, &s->dom_up,
		    "INSERT INTO domains (domain, appliance, next_seq, records, duplicates, gaps,"
		    " gap_events, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?)"
		    " ON CONFLICT(domain) DO UPDATE SET appliance=excluded.appliance,"
		    " next_seq=excluded.next_seq, records=excluded.records,"
		    " duplicates=excluded.duplicates, gaps=excluded.gaps,"
		    " gap_events=excluded.gap_events, first_seen=excluded.first_seen,"
		    " last_seen=excluded.last_seen",
		    err, errlen) ||
	    prepare(s->db, &s->app_up,
		    "INSERT INTO appliances (name, connected, records, connections, first_seen,"
		    " last_seen, peer) VALUES (?,?,?,?,?,?,?)"
		    " ON CONFLICT(name) DO UPDATE SET connected=excluded.connected,"
		    " records=excluded.records, connections=excluded.connections,"
		    " first_seen=excluded.first_seen, last_seen=excluded.last_seen,"
		    " peer=excluded.peer",
		    err, errlen) ||
	    prepare(s->db, &s->heartbeat,
		    "INSERT OR REPLACE INTO meta (key, value) VALUES ('heartbeat', ?)", err,
		    errlen))
		goto out;
	rc = 0;
out:
	mt_buf_free(&q);
	if (rc)
		mt_store_close(s);
	return rc;
}

void mt_store_close(struct mt_store *s)
{
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		sqlite3_finalize(s->ins[t]);
		sqlite3_finalize(s->ret_del[t]);
	}
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_finalize(s->dom_up);
	sqlite3_finalize(s->app_up);
	sqlite3_finalize(s->heartbeat);
	if (s->db)
		sqlite3_close(s->db);
	mt_buf_free(&s->scratch);
	free(s->rec);
	memset(s, 0, sizeof(*s));
}

static int step_done(struct mt_store *s, sqlite3_stmt *st, char *err, size_t errlen,
		     const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(s->db, err, errlen, what);
	return 0;
}

static int write_doms(struct mt_store *s, const struct mt_batch *b, const char *const *apps,
		      char *err, size_t errlen)
{
	for (unsigned i = 0; i < b->ndoms; i++) {
		const struct mt_batch_dom *d = &b->doms[i];
		sqlite3_stmt *st = s->dom_up;

		sqlite3_bind_int64(st, 1, d->domain);
		sqlite3_bind_text(st, 2, apps[d->app], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, d->next_seq);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)d->records);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)d->duplicates);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)d->gaps);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)d->gap_events);
		sqlite3_bind_int64(st, 8, d->first_seen_us);
		sqlite3_bind_int64(st, 9, d->last_seen_us);
		if (step_done(s, st, err, errlen, "domains"))
			return -1;
	}
	for (unsigned i = 0; i < b->napps; i++) {
		const struct mt_batch_app *a = &b->apps[i];
		sqlite3_stmt *st = s->app_up;

		sqlite3_bind_text(st, 1, apps[a->app], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, a->connected);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)a->records);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)a->connections);
		sqlite3_bind_int64(st, 5, a->first_seen_us);
		sqlite3_bind_int64(st, 6, a->last_seen_us);
		if (a->peer[0])
			sqlite3_bind_text(st, 7, a->peer, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 7);
		if (step_done(s, st, err, errlen, "appliances"))
			return -1;
	}
	/* `appliances` tells a running collector from a stopped one by this:
	 * a fresh heartbeat, or 0 after a clean stop. */
	sqlite3_bind_int64(s->heartbeat, 1, b->final ? 0 : b->now_us);
	return step_done(s, s->heartbeat, err, errlen, "heartbeat");
}

int mt_store_write(struct mt_store *s, const struct mt_batch *b, const char *const *apps,
		   char *err, size_t errlen)
{
	struct mt_batch_meta m;
	size_t pos = 0;
	int64_t id = s->next_id;

	if (step_done(s, s->begin, err, errlen, "begin"))
		return -1;
	while (mt_batch_next(b, &pos, s->rec, &m)) {
		sqlite3_stmt *st = s->ins[s->rec->type];
		int rc;

		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, apps[m.app], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, m.domain);
		sqlite3_bind_int64(st, 4, m.seq);
		rc = mt_sql_bind(st, 1 + MT_SQL_META_COLS, s->rec, &s->scratch);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "bind %s: %s", mt_rtypes[s->rec->type].name,
				 sqlite3_errstr(rc));
			goto rollback;
		}
		if (step_done(s, st, err, errlen, mt_rtypes[s->rec->type].name))
			goto rollback;
		id++;
	}
	if (write_doms(s, b, apps, err, errlen))
		goto rollback;
	if (step_done(s, s->commit, err, errlen, "commit"))
		goto rollback;
	s->next_id = id;
	return 0;
rollback:
	/* A failed COMMIT may have rolled back already; ROLLBACK then just
	 * reports that no transaction is active. */
	sqlite3_step(s->rollback);
	sqlite3_reset(s->rollback);
	return -1;
}

int mt_store_load_domains(struct mt_store *s, mt_store_dom_fn fn, void *ctx, char *err,
			  size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT domain, appliance, next_seq, records, duplicates, gaps,"
			       " gap_events, first_seen, last_seen FROM domains",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s->db, err, errlen, "domains");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mt_batch_dom d;

		memset(&d, 0, sizeof(d));
		d.domain = (uint32_t)sqlite3_column_int64(st, 0);
		d.next_seq = (uint32_t)sqlite3_column_int64(st, 2);
		d.records = (uint64_t)sqlite3_column_int64(st, 3);
		d.duplicates = (uint64_t)sqlite3_column_int64(st, 4);
		d.gaps = (uint64_t)sqlite3_column_int64(st, 5);
		d.gap_events = (uint64_t)sqlite3_column_int64(st, 6);
		d.first_seen_us = sqlite3_column_int64(st, 7);
		d.last_seen_us = sqlite3_column_int64(st, 8);
		fn(ctx, &d, (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s->db, err, errlen, "domains");
	return 0;
}

int mt_store_load_appliances(struct mt_store *s, mt_store_app_fn fn, void *ctx, char *err,
			     size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT name, records, connections, first_seen, last_seen, peer"
			       " FROM appliances",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s->db, err, errlen, "appliances");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mt_batch_app a;
		const char *peer = (const char *)sqlite3_column_text(st, 5);

		memset(&a, 0, sizeof(a));
		a.records = (uint64_t)sqlite3_column_int64(st, 1);
		a.connections = (uint64_t)sqlite3_column_int64(st, 2);
		a.first_seen_us = sqlite3_column_int64(st, 3);
		a.last_seen_us = sqlite3_column_int64(st, 4);
		if (peer)
			snprintf(a.peer, sizeof(a.peer), "%s", peer);
		fn(ctx, (const char *)sqlite3_column_text(st, 0), &a);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s->db, err, errlen, "appliances");
	return 0;
}

int mt_store_retention_step(struct mt_store *s, int64_t cutoff_us, unsigned max_rows,
			    uint64_t *deleted, char *err, size_t errlen)
{
	*deleted = 0;
	/* Visit each table at most once per call; stop at the first that had
	 * something to delete, so one call is one bounded transaction. */
	for (unsigned n = 0; n < MT_REC__COUNT; n++) {
		sqlite3_stmt *st = s->ret_del[s->ret_table];

		sqlite3_bind_int64(st, 1, cutoff_us);
		sqlite3_bind_int64(st, 2, max_rows);
		if (step_done(s, st, err, errlen, "retention"))
			return -1;
		*deleted = (uint64_t)sqlite3_changes(s->db);
		if (*deleted == max_rows)
			return 1; /* same table again next time */
		s->ret_table = (s->ret_table + 1) % MT_REC__COUNT;
		if (*deleted)
			return 1;
	}
	return 0;
}
