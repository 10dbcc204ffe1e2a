/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The collector's SQLite database: one table per record type (columns from
 * the schema, see sqlschema.h), `domains` with the next expected sequence
 * number of every observation domain, `appliances`, and `meta`. A batch is
 * stored in one transaction together with the domain rows it advances, so
 * after a crash the database says exactly which records it holds; the
 * collector acknowledges a batch only once mt_store_write has returned.
 *
 * Not thread-safe: one thread uses a store at a time.
 */
#ifndef MT_STORE_H
#define MT_STORE_H

#include <sqlite3.h>

#include "batch.h"
#include "buf.h"

struct mt_store_opts {
	const char *path;          /* file, or ":memory:" */
	bool sync_full;            /* synchronous=FULL (else NORMAL) */
	uint64_t cache_bytes;
};

struct mt_store {
	sqlite3 *db;
	sqlite3_stmt *ins[MT_REC__COUNT];
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
	sqlite3_stmt *rollback;
	sqlite3_stmt *dom_up;
	sqlite3_stmt *app_up;
	sqlite3_stmt *heartbeat;
	sqlite3_stmt *ret_del[MT_REC__COUNT];
	int64_t next_id;           /* row id of the next record, all tables */
	unsigned ret_table;        /* retention: table being trimmed */
	struct mt_buf scratch;
	struct mt_rec *rec;
};

/* Process-wide SQLite settings; call first thing in main(). */
void mt_store_global_init(void);

/* Opens (creating the file, tables and indexes as needed; adding columns a
 * newer schema has), sets WAL and the synchronous level. 0 or -1 with a
 * message. */
int mt_store_open(struct mt_store *s, const struct mt_store_opts *o, char *err, size_t errlen);
void mt_store_close(struct mt_store *s);

/*
 * Stores a batch in one transaction: its records, then its domain and
 * appliance snapshots, then the heartbeat. `apps` names appliances by
 * index. 0, or -1 with a message (the transaction is rolled back).
 */
int mt_store_write(struct mt_store *s, const struct mt_batch *b, const char *const *apps,
		   char *err, size_t errlen);

/* Calls `fn` for every stored domain row (start-up). 0 or -1. */
typedef void (*mt_store_dom_fn)(void *ctx, const struct mt_batch_dom *d, const char *appliance);
int mt_store_load_domains(struct mt_store *s, mt_store_dom_fn fn, void *ctx, char *err,
			  size_t errlen);

/* Calls `fn` for every stored appliance row (start-up). 0 or -1. */
typedef void (*mt_store_app_fn)(void *ctx, const char *name, const struct mt_batch_app *a);
int mt_store_load_appliances(struct mt_store *s, mt_store_app_fn fn, void *ctx, char *err,
			     size_t errlen);

/*
 * One retention step: deletes up to `max_rows` records older than
 * `cutoff_us` (record time) from one table, in a transaction of its own.
 * *deleted is set; returns 1 when there may be more to delete, 0 when
 * every table is clean, -1 on error.
 */
int mt_store_retention_step(struct mt_store *s, int64_t cutoff_us, unsigned max_rows,
			    uint64_t *deleted, char *err, size_t errlen);

/* Runs the CREATE statements of every table on `db` (tests, query). */
int mt_store_create_schema(sqlite3 *db, char *err, size_t errlen);

#endif
