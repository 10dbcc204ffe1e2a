/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Record export to the collector: the main thread hands each record to a
 * bounded single-producer ring and never waits; a dedicated thread packs
 * records into IPFIX messages per priority class, numbers and spools each
 * message (spool.h), and sends the spool in sequence order over mutual TLS
 * (or plain TCP), reading back the collector's acknowledgements
 * (docs/export.md). The data path never sees a socket or a file.
 */
#ifndef MT_EXPORT_H
#define MT_EXPORT_H

#include <sched.h>

#include "config.h"
#include "counters.h"
#include "record.h"
#include "spool.h"

/* IPFIX over TLS (RFC 7011 10.3); plain collectors listen on 4739. */
#define MT_EXPORT_PORT_TLS "4740"

struct mt_export;

/* Priority class of a record type (table in export.c; types it does not
 * name are `normal`). */
enum mt_prio mt_export_prio(unsigned rtype);

/*
 * Checks what the key table cannot: [export] identity, the collector's
 * host:port, credentials given when tls = yes, reconnect_min <= max,
 * spool_segment <= spool_max. `name` is the configuration file's name for
 * messages. 0, or -EINVAL with the reason in `err`.
 */
int mt_export_check_config(const struct mt_config *cfg, const char *name, char *err,
			   size_t errlen);

/*
 * Control plane: loads the TLS credentials, opens the spool (queueing what
 * a previous run left) and starts the export thread. 0, or -errno with
 * the file, host or directory and the reason in `err`.
 */
int mt_export_start(struct mt_export **out, const struct mt_config *cfg, char *err,
		    size_t errlen);

/*
 * Main thread only (single producer): copies `r` into the ring. When the
 * ring is full the record is dropped and counted by type and class; the
 * caller never waits. Returns whether the record was queued.
 */
bool mt_export_push(struct mt_export *x, const struct mt_rec *r);

/* Same, but a full ring is not counted as a drop (the caller retries:
 * benchmarks). */
bool mt_export_offer(struct mt_export *x, const struct mt_rec *r);

/* Sets the export group of `sum` to the exporter's counters. Any thread.
 * The drop counters start with the drops an earlier run on the same spool
 * counted after its last stats record (kept in the spool's state), so the
 * first stats record of this run reports them. */
void mt_export_read_counters(const struct mt_export *x, struct mt_counters *sum);

/* Keeps the export thread off `busy` CPUs (DPDK worker lcores poll). */
void mt_export_avoid_cpus(struct mt_export *x, const cpu_set_t *busy);

/*
 * End of input or a signal: every queued record is packed and spooled,
 * then acknowledgements are awaited up to [export] drain_timeout, then the
 * thread stops. What is not acknowledged stays spooled for the next start.
 * Prints one line on stderr saying how many records are still spooled, and
 * returns that number. Call once, after the last mt_export_push().
 */
uint64_t mt_export_stop(struct mt_export *x);

/* Frees everything (after mt_export_stop). */
void mt_export_free(struct mt_export *x);

/* For tests and tools: true once the exporter has an established
 * connection on which the collector's first acknowledgement (or, with
 * ack = no, nothing) was awaited. */
bool mt_export_connected(const struct mt_export *x);

/* For benchmarks: CPU time the export thread used, in ns (after
 * mt_export_stop; 0 before). */
uint64_t mt_export_thread_cpu_ns(const struct mt_export *x);

#endif
