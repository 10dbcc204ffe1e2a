/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sequence numbers of one observation domain (RFC 7011: a message header
 * carries the number of data records the domain sent before it, modulo
 * 2^32). Records numbered below the next expected number were stored
 * already (a replay after reconnect) and are discarded as duplicates; a
 * message starting above it means the appliance numbered records it never
 * sent (spool drops): a gap, counted. A domain seen for the first time
 * starts wherever its first message starts.
 */
#ifndef MT_SEQ_H
#define MT_SEQ_H

#include "mt_common.h"

struct mt_seq {
	bool known;            /* records of this domain were stored before */
	uint32_t next;         /* next expected number when known */
	uint64_t records;      /* stored */
	uint64_t duplicates;   /* discarded as already stored */
	uint64_t gaps;         /* numbered by the appliance, never received */
	uint64_t gap_events;   /* messages that opened a gap */
};

/* One message being taken in. */
struct mt_seq_msg {
	uint32_t start;        /* header sequence number */
	uint32_t base;         /* next expected number before the message */
	uint32_t gap;          /* records missing before it */
	uint32_t dups;         /* records discarded so far */
	uint32_t stored;       /* records kept so far */
};

void mt_seq_begin(const struct mt_seq *s, uint32_t start, struct mt_seq_msg *m);

/* Whether the record at `index` in the message (counting every data
 * record, stored or not) was stored before; counts it either way. */
bool mt_seq_take(struct mt_seq_msg *m, uint32_t index);

/*
 * Applies a fully decoded message of `n` data records (RFC 7011: every
 * data record counts, options data such as RFC 5610 type records too).
 * A message without data records (templates only) consumes no number and
 * changes nothing here; see mt_seq_anchor.
 */
void mt_seq_end(struct mt_seq *s, const struct mt_seq_msg *m, uint32_t n);

/*
 * A template-only message of a domain never seen before: its header
 * carries the number the appliance sends next, which becomes the
 * baseline. Returns true when it did (the domain is now known).
 */
bool mt_seq_anchor(struct mt_seq *s, uint32_t next);

#endif
