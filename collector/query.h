/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The analyst's and operator's side of the database: `query` prints stored
 * records as EVE JSON lines (rebuilt into struct mt_rec and written by the
 * same mt_json_record as mailtapd, so the lines are identical) or as an
 * aligned table per record type; `appliances` lists every appliance with
 * its connection state, counts, sequence gaps and spool backlog. Both only
 * read the database and work while the collector runs (WAL).
 */
#ifndef MT_QUERY_H
#define MT_QUERY_H

#include <stdio.h>

#include "mt_common.h"

/* argv[0] is "query" / "appliances"; output to `out`; exit status. */
int mt_query_main(int argc, char **argv, FILE *out);
int mt_appliances_main(int argc, char **argv, FILE *out);

/*
 * Parses a time for --since/--until: a duration back from `now_us` (30s,
 * 10m, 1h, 2d), an ISO 8601 UTC time (2024-05-01T10:00:00[.123456][Z],
 * also with a space, or a date alone) or @EPOCH seconds. Microseconds
 * since the epoch; false when it is none of those.
 */
bool mt_query_parse_time(const char *s, int64_t now_us, int64_t *out);

#endif
