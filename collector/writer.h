/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The writer thread: the only user of the database while the collector
 * serves. The event loop hands it one batch at a time and goes on reading
 * into the next; when the transaction has committed, the writer signals an
 * eventfd and the loop sends the acknowledgements. A commit (and its
 * fsync) therefore never stalls the network side. A failed transaction is
 * retried with backoff until it succeeds or the collector stops: records
 * are never acknowledged, nor dropped, because of a storage error (the
 * appliances keep them spooled meanwhile). When it has nothing to commit,
 * the writer deletes expired records in small steps.
 */
#ifndef MT_WRITER_H
#define MT_WRITER_H

#include <pthread.h>
#include <stdatomic.h>

#include "store.h"

struct mt_writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct mt_store *store;
	const char *const *apps;
	int efd;                     /* eventfd: a batch is done */
	struct mt_batch *job;        /* handed over, not yet done */
	struct mt_batch *done;       /* done, not yet collected */
	bool quit;
	bool started;
	uint64_t retention_ns;       /* 0 = keep everything */
	unsigned retention_batch;
	_Atomic uint64_t retention_deleted;
	_Atomic uint64_t write_errors;
	_Atomic uint64_t retention_errors;
};

/* Starts the thread; `store` and `apps` stay owned by the caller and must
 * outlive mt_writer_stop. 0 or -errno. */
int mt_writer_start(struct mt_writer *w, struct mt_store *store, const char *const *apps,
		    uint64_t retention_ns, unsigned retention_batch);

/* True when a batch is handed over or done and not yet collected. */
bool mt_writer_busy(struct mt_writer *w);

/* Hands a batch over; only when !mt_writer_busy. */
void mt_writer_submit(struct mt_writer *w, struct mt_batch *b);

/* The batch that is done (after the eventfd fired), or NULL. */
struct mt_batch *mt_writer_collect(struct mt_writer *w);

/* Waits for the batch in hand (if any) to be done, then stops. */
void mt_writer_stop(struct mt_writer *w);

#endif
