/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where records go on the main thread: EVE JSON lines to a file or standard
 * output, an IPFIX file, the exporter's ring, plus a tally per record type
 * and application protocol for the exit summary. User names are rewritten
 * (identity.h) before any of them sees a record.
 */
#ifndef MT_OUTPUT_H
#define MT_OUTPUT_H

#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "counters.h"
#include "ipfix.h"
#include "record.h"

struct mt_detect;
struct mt_export;
struct mt_identity;

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
	struct mt_detect *detect;     /* sees every record first; NULL: off */
	struct mt_identity *identity; /* user names, before any sink sees them */
	struct mt_rec *idrec;         /* a record with its user names rewritten */
	struct mt_export *export;     /* the collector, when [export] collector is set */
};

/* path: file name, "-" for standard output, NULL or "" for no JSON. */
int mt_output_open(struct mt_output *o, const char *path, char *err, size_t errlen);
/* Also write every record as IPFIX to `path` (templates first, messages of
 * at most `msg_size` bytes). */
int mt_output_open_ipfix(struct mt_output *o, const char *path, uint32_t domain,
			 size_t msg_size, char *err, size_t errlen);
/*
 * Starts detection ([detect], detect.h) on this output: from now on every
 * record is examined before anything else uses it, and the alerts it
 * raises are written right after it. Returns 0 (also when [detect] enable
 * = no), or -1 with a message naming the key in `err`.
 */
int mt_output_detect(struct mt_output *o, const struct mt_config *cfg, char *err,
		     size_t errlen);
/* Applies `id` (identity.h) to every record from now on. 0 or -ENOMEM. */
int mt_output_set_identity(struct mt_output *o, struct mt_identity *id);
void mt_output_record(struct mt_output *o, const struct mt_rec *r);
/* Sets the export counters of `sum` when there is an exporter (any thread),
 * and the detect counters when detection runs. */
void mt_output_counters(const struct mt_output *o, struct mt_counters *sum);
int mt_output_close(struct mt_output *o);

#endif
