/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detection: the stage on the main thread that sees every record of every
 * worker (auth attempts, session summaries, anomalies, flows) and turns
 * patterns across them into `alert` records: brute force, spraying,
 * stuffing, cleartext credentials, STARTTLS downgrades, exfiltration,
 * exploit strings, relay abuse and mail-port scans. Time is the records'
 * packet time; all state lives in tables sized from [detect] at start-up.
 */
#ifndef MT_DETECT_H
#define MT_DETECT_H

#include "config.h"
#include "counters.h"
#include "record.h"

struct mt_detect;

/* Receives each alert record; must not feed it back into mt_detect_record. */
typedef void (*mt_detect_emit_fn)(void *ctx, const struct mt_rec *alert);

/*
 * Allocates every table from cfg->detect (the only allocation detection
 * ever does) and parses its allow-lists. Returns NULL with a message that
 * names the key in `err` when a list is malformed or memory is short;
 * returns NULL with err[0] == '\0' when [detect] enable = no.
 */
struct mt_detect *mt_detect_create(const struct mt_config *cfg,
				   mt_detect_emit_fn emit, void *ctx,
				   char *err, size_t errlen);
void mt_detect_destroy(struct mt_detect *d);

/*
 * Examines one record (any type; alerts and stats are ignored). Alerts it
 * raises are queued, not emitted, so the caller can write the record
 * first; mt_detect_flush() emits them.
 */
void mt_detect_record(struct mt_detect *d, const struct mt_rec *r);
void mt_detect_flush(struct mt_detect *d);

/* A copy of a stats record with detection's counters in it; other
 * records are returned as they are. Valid until the next call. */
const struct mt_rec *mt_detect_stats(struct mt_detect *d, const struct mt_rec *r);

/* Detection's own counters (group "detect"). */
const struct mt_counters *mt_detect_counters(const struct mt_detect *d);
/* Sets the detect group of `sum` to detection's counters (main thread, or
 * a racy but harmless read from another: each is one aligned word). */
void mt_detect_counters_into(const struct mt_detect *d, struct mt_counters *sum);

/* Bytes allocated at creation: fixed for the life of the engine. */
size_t mt_detect_memory(const struct mt_detect *d);

/* Entries in use and capacity of table `i` (0 ..), for tests and
 * telemetry; false past the last table. */
bool mt_detect_table_usage(const struct mt_detect *d, unsigned i,
			   const char **name, uint32_t *used, uint32_t *cap,
			   size_t *bytes);

#endif
