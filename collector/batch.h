/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A batch is what one database transaction stores: records packed back to
 * back (each with its appliance, observation domain and sequence number),
 * plus a snapshot of the per-domain and per-appliance state that must be
 * committed in the same transaction, so the stored next sequence number
 * never runs ahead of (or behind) the stored records. The event loop fills
 * one batch while the writer thread commits the other.
 */
#ifndef MT_BATCH_H
#define MT_BATCH_H

#include "record.h"

#define MT_BATCH_PEER 64

/* State of one observation domain as of the end of the batch. */
struct mt_batch_dom {
	uint32_t domain;
	uint16_t app;              /* appliance index (configuration order) */
	uint32_t next_seq;         /* every record numbered before it is stored */
	uint64_t records;          /* totals since the domain was first seen */
	uint64_t duplicates;
	uint64_t gaps;             /* records numbered but never received */
	uint64_t gap_events;
	int64_t first_seen_us;     /* wall clock */
	int64_t last_seen_us;
};

/* State of one appliance as of the end of the batch. */
struct mt_batch_app {
	uint16_t app;
	uint16_t connected;        /* connections open now */
	uint64_t records;
	uint64_t connections;      /* accepted since first seen */
	int64_t first_seen_us;
	int64_t last_seen_us;
	char peer[MT_BATCH_PEER];  /* address of the latest connection */
};

struct mt_batch_meta {
	uint16_t app;
	uint32_t domain;
	uint32_t seq;
};

struct mt_batch {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;                /* hard cap of buf */
	uint32_t nrec;
	uint32_t by_type[MT_REC__COUNT];
	struct mt_batch_dom *doms;
	unsigned ndoms;
	unsigned doms_cap;
	struct mt_batch_app *apps;
	unsigned napps;
	unsigned apps_cap;
	int64_t now_us;            /* wall clock when handed to the writer */
	bool final;                /* the last batch of a clean stop */
	/* Filled by whoever stores it. */
	int rc;
	char err[256];
	uint64_t write_ns;         /* time the transaction took */
};

/* `max_bytes` caps the packed records; `ndoms`/`napps` size the snapshot
 * arrays (every configured domain and appliance fits). 0 or -ENOMEM. */
int mt_batch_init(struct mt_batch *b, size_t max_bytes, unsigned ndoms, unsigned napps);
void mt_batch_free(struct mt_batch *b);
void mt_batch_reset(struct mt_batch *b);

/* Bytes a record takes in a batch. */
size_t mt_batch_rec_size(const struct mt_rec *r);

/* Appends a record; -ENOSPC when it would pass the cap (nothing added),
 * -EINVAL for a record of unknown type, -ENOMEM. */
int mt_batch_add(struct mt_batch *b, const struct mt_rec *r, const struct mt_batch_meta *m);

/* Forgets everything appended after the first `len` bytes / `nrec` records
 * (a message that turned out bad is taken back whole). */
void mt_batch_truncate(struct mt_batch *b, size_t len, uint32_t nrec,
		       const uint32_t by_type[MT_REC__COUNT]);

/* Iterates: start with *pos = 0; false at the end. `r` is rebuilt. */
bool mt_batch_next(const struct mt_batch *b, size_t *pos, struct mt_rec *r,
		   struct mt_batch_meta *m);

#endif
