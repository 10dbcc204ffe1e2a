/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where records go on the main thread: EVE JSON lines to a file or standard
 * output, plus a tally per record type and application protocol for the
 * exit summary.
 */
#ifndef MT_OUTPUT_H
#define MT_OUTPUT_H

#include <stdio.h>

#include "buf.h"
#include "record.h"

struct mt_output {
	FILE *json;
	bool json_is_stdout;
	struct mt_buf buf;
	uint64_t by_type[MT_REC__COUNT];
	uint64_t flows_by_app[MT_APP__COUNT];
	uint64_t write_errors;
};

/* path: file name, "-" for standard output, NULL or "" for no JSON. */
int mt_output_open(struct mt_output *o, const char *path, char *err, size_t errlen);
void mt_output_record(struct mt_output *o, const struct mt_rec *r);
int mt_output_close(struct mt_output *o);

#endif
