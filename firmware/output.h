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
#include "ipfix.h"
#include "record.h"

struct mt_output {
	FILE *json;
	bool json_is_stdout;
	FILE *ipfix;                  /* RFC 5655 file of IPFIX messages */
	uint8_t *ipfix_msg;
	struct mt_ipfix_enc enc;
	uint32_t ipfix_seq;           /* data records written before this message */
	uint32_t ipfix_domain;
	uint32_t ipfix_time;
	struct mt_buf buf;
	uint64_t by_type[MT_REC__COUNT];
	uint64_t flows_by_app[MT_APP__COUNT];
	uint64_t write_errors;
};

/* path: file name, "-" for standard output, NULL or "" for no JSON. */
int mt_output_open(struct mt_output *o, const char *path, char *err, size_t errlen);
/* Also write every record as IPFIX to `path` (templates first, messages of
 * at most `msg_size` bytes). */
int mt_output_open_ipfix(struct mt_output *o, const char *path, uint32_t domain,
			 size_t msg_size, char *err, size_t errlen);
void mt_output_record(struct mt_output *o, const struct mt_rec *r);
int mt_output_close(struct mt_output *o);

#endif
