/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SQL tables generated from the record schema: one table per record type,
 * one column per field descriptor, plus the row id, appliance, observation
 * domain and sequence number. The same descriptors bind a struct mt_rec to
 * an INSERT and rebuild a struct mt_rec from a SELECT row, so what comes
 * back prints (mt_json_record) exactly as what went in.
 *
 * Column types: numbers, booleans, enums and flags INTEGER (unsigned 64-bit
 * values stored as their two's-complement int64); times INTEGER
 * microseconds since the epoch (what IPFIX carries); addresses TEXT as
 * mailtapd prints them; strings TEXT with their bytes unchanged; HEX
 * fields TEXT lower-case hex; lists TEXT JSON arrays (sub-record lists as
 * arrays of objects keyed by field name). Empty strings, empty lists and
 * absent addresses are NULL.
 */
#ifndef MT_SQLSCHEMA_H
#define MT_SQLSCHEMA_H

#include <sqlite3.h>

#include "buf.h"
#include "record.h"

/* id, appliance, domain, seq come before the fields in every table. */
#define MT_SQL_META_COLS 4

/* SQL type of a field type. */
const char *mt_sql_coltype(uint8_t ftype);

/* CREATE TABLE (IF NOT EXISTS) and its indexes, as one SQL text; or
 * each part alone (columns are added between them when upgrading). */
void mt_sql_create(struct mt_buf *b, enum mt_rtype t);
void mt_sql_create_table(struct mt_buf *b, enum mt_rtype t);
void mt_sql_create_indexes(struct mt_buf *b, enum mt_rtype t);

/* INSERT with one parameter per column, meta columns first. */
void mt_sql_insert(struct mt_buf *b, enum mt_rtype t);

/* SELECT of the meta columns then every field, FROM the table; the caller
 * appends WHERE / ORDER BY. */
void mt_sql_select(struct mt_buf *b, enum mt_rtype t);

/* Names of the columns that hold a user name in a table (fields named
 * `user` or ending in `_user`); returns how many were put in `out`. */
unsigned mt_sql_user_columns(enum mt_rtype t, const char **out, unsigned max);

/* True when the table of `t` has a column named `name`. */
bool mt_sql_has_column(enum mt_rtype t, const char *name);

/*
 * Binds every field of `r` to parameters first, first+1, ... of `st`.
 * Text that has to be derived (addresses, hex, list JSON) is built in
 * `scratch`, which must stay untouched until the statement has run.
 * Returns 0 or a SQLite error code.
 */
int mt_sql_bind(sqlite3_stmt *st, int first, const struct mt_rec *r, struct mt_buf *scratch);

/*
 * Rebuilds `r` (of type `t`) from columns first, first+1, ... of the
 * current row. Returns 0, or -EINVAL with a reason when a column cannot
 * be read back (a list that is not the JSON this module writes).
 */
int mt_sql_read(sqlite3_stmt *st, int first, enum mt_rtype t, struct mt_rec *r, char *why,
		size_t whylen);

/* The list encodings, exposed for tests and the fuzz target. */
void mt_sql_list_json(struct mt_buf *b, const struct mt_rec *r,
		      const struct mt_field_desc *f, struct mt_lref l);
int mt_sql_list_parse(struct mt_rec *r, const struct mt_field_desc *f, const char *p,
		      size_t n, struct mt_lref *out, char *why, size_t whylen);

#endif
