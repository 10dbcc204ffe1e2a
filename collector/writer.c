/* SPDX-License-Identifier: BSD-3-Clause */
/* The database writer thread (see writer.h). */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 30000
#define RETENTION_IDLE_MS 60000   /* nothing left to delete: look again later */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Stores one batch, retrying until it commits or we are told to quit
 * (then the batch is reported failed and nothing is acknowledged). */
static void write_batch(struct mt_writer *w, struct mt_batch *b)
{
	unsigned backoff = RETRY_MIN_MS;

	for (;;) {
		uint64_t t0 = mono_ns();
		struct timespec ts;
		bool quit;

		if (mt_store_write(w->store, b, w->apps, b->err, sizeof(b->err)) == 0) {
			b->rc = 0;
			b->write_ns = mono_ns() - t0;
			return;
		}
		atomic_fetch_add(&w->write_errors, 1);
		mt_log(MT_LOG_ERR, "storage", "transaction of %u records failed: %s (retry in %u ms)",
		       b->nrec, b->err, backoff);
		pthread_mutex_lock(&w->mu);
		deadline_in(&ts, backoff);
		while (!w->quit && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
			;
		quit = w->quit;
		pthread_mutex_unlock(&w->mu);
		if (quit) {
			b->rc = -EIO;
			return;
		}
		backoff = MT_MIN(backoff * 2, RETRY_MAX_MS);
	}
}

static void *run(void *arg)
{
	struct mt_writer *w = arg;
	uint64_t next_retention = 0;
	bool more_retention = true;

	pthread_mutex_lock(&w->mu);
	while (!w->quit || w->job) {
		struct mt_batch *b = w->job;

		if (b) {
			pthread_mutex_unlock(&w->mu);
			write_batch(w, b);
			pthread_mutex_lock(&w->mu);
			w->job = NULL;
			w->done = b;
			pthread_mutex_unlock(&w->mu);
			{
				uint64_t one = 1;

				if (write(w->efd, &one, sizeof(one)) < 0)
					mt_log(MT_LOG_ERR, "writer", "eventfd: %s", strerror(errno));
			}
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (w->retention_ns && mono_ns() >= next_retention) {
			int64_t cutoff = wall_us() - (int64_t)(w->retention_ns / MT_NS_PER_US);
			uint64_t n = 0;
			char err[256];
			int rc;

			/* One bounded step at a time, and only while no batch is
			 * waiting: retention never delays an acknowledgement by more
			 * than one step. */
			pthread_mutex_unlock(&w->mu);
			rc = mt_store_retention_step(w->store, cutoff, w->retention_batch, &n, err,
						     sizeof(err));
			pthread_mutex_lock(&w->mu);
			if (rc < 0) {
				atomic_fetch_add(&w->retention_errors, 1);
				mt_log(MT_LOG_ERR, "retention", "%s", err);
				more_retention = false;
			} else {
				more_retention = rc > 0;
				atomic_fetch_add(&w->retention_deleted, n);
			}
			if (!more_retention)
				next_retention = mono_ns() + RETENTION_IDLE_MS * MT_NS_PER_MS;
			continue;
		}
		{
			struct timespec ts;
			uint64_t now = mono_ns();
			unsigned ms = RETENTION_IDLE_MS;

			if (w->retention_ns && next_retention > now)
				ms = (unsigned)MT_MIN((next_retention - now) / MT_NS_PER_MS + 1,
						      (uint64_t)RETENTION_IDLE_MS);
			deadline_in(&ts, ms);
			if (!w->job && !w->quit)
				pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int mt_writer_start(struct mt_writer *w, struct mt_store *store, const char *const *apps,
		    uint64_t retention_ns, unsigned retention_batch)
{
	pthread_condattr_t ca;
	int rc;

	memset(w, 0, sizeof(*w));
	w->store = store;
	w->apps = apps;
	w->retention_ns = retention_ns;
	w->retention_batch = retention_batch;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		return -errno;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&w->th, NULL, run, w);
	if (rc) {
		close(w->efd);
		return -rc;
	}
	pthread_setname_np(w->th, "mt-writer");
	w->started = true;
	return 0;
}

bool mt_writer_busy(struct mt_writer *w)
{
	bool busy;

	pthread_mutex_lock(&w->mu);
	busy = w->job || w->done;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

void mt_writer_submit(struct mt_writer *w, struct mt_batch *b)
{
	pthread_mutex_lock(&w->mu);
	if (w->job || w->done)
		abort(); /* caller broke the one-batch-at-a-time rule */
	w->job = b;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct mt_batch *mt_writer_collect(struct mt_writer *w)
{
	struct mt_batch *b;
	uint64_t v;

	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		mt_log(MT_LOG_ERR, "writer", "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	b = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	return b;
}

void mt_writer_stop(struct mt_writer *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	w->started = false;
}
