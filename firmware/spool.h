/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The export spool: every IPFIX message is numbered and appended here
 * before it is sent, and removed only once the collector acknowledges it,
 * so a lost connection, a collector restart or a mailtapd restart loses
 * nothing. A directory of RFC 5655 files per priority class (each starting
 * with a template message, so ipfixDump reads any of them), plus a small
 * state file with the sequence counter and the drop counts no stats record
 * has reported yet. Bounded: when full, whole files of
 * the oldest low-priority messages go first. Used by the export thread only.
 */
#ifndef MT_SPOOL_H
#define MT_SPOOL_H

#include "counters.h"

/* Priority classes, highest first; the spool drops from the end. */
enum mt_prio {
	MT_PRIO_HIGH,
	MT_PRIO_NORMAL,
	MT_PRIO_LOW,
	MT_PRIO__COUNT
};

extern const char *const mt_prio_names[MT_PRIO__COUNT];

struct mt_spool_cfg {
	const char *dir;
	uint64_t max_bytes;       /* export.spool_max */
	uint64_t segment_bytes;   /* export.spool_segment */
	uint32_t domain;          /* observation domain of every message */
	uint32_t pen;
	bool quiet;               /* no warnings on stderr (tests) */
};

struct mt_spool;

/* A message handed out for sending. */
struct mt_spool_msg {
	uint32_t seq;
	uint32_t nrec;
	uint32_t len;
	enum mt_prio prio;
};

/*
 * Opens (creating it 0700 if needed) and locks the spool directory, reads
 * the state file, and checks every spool file with the IPFIX decoder: a
 * torn tail (a crash in the middle of a write) is cut off with a warning,
 * a file without a valid template message is removed. Everything found is
 * queued for sending in sequence order. `ctr` receives the spool's
 * counters (export group) and must outlive the spool. 0, or -errno with
 * the directory or file and the reason in `err`.
 */
int mt_spool_open(struct mt_spool **out, const struct mt_spool_cfg *cfg,
		  struct mt_counters *ctr, char *err, size_t errlen);

/* Syncs, writes the state file and frees everything. */
void mt_spool_close(struct mt_spool *sp);

/*
 * Numbers a closed message and appends it to its class. `msg` is a whole
 * IPFIX message holding `nrec` data records; its sequence number is
 * written into its header here. Makes room first (priority dropping);
 * when even that cannot make room, or the write fails, the message is
 * lost and counted. 0 or -errno.
 */
int mt_spool_append(struct mt_spool *sp, enum mt_prio prio, uint8_t *msg,
		    size_t len, uint32_t nrec);

/*
 * Copies the next message not yet sent (lowest sequence number over all
 * classes) into `buf` (at least MT_IPFIX_MSG_MAX bytes). 1 when a message
 * was copied, 0 when everything has been handed out.
 */
int mt_spool_next(struct mt_spool *sp, uint8_t *buf, struct mt_spool_msg *m);

/* Sequence number of the message mt_spool_next() would hand out, or the
 * counter's next value when there is none. */
uint32_t mt_spool_next_unsent_seq(struct mt_spool *sp);

/* Everything not acknowledged is to be sent again (a new connection). */
void mt_spool_rewind(struct mt_spool *sp);

/*
 * The collector has stored every record numbered before `next`: counts
 * them acknowledged and removes files holding nothing else. Messages are
 * acknowledged whole. Returns false (and ignores it) when `next` is ahead
 * of anything numbered yet.
 */
bool mt_spool_ack(struct mt_spool *sp, uint32_t next);

enum mt_spool_resync {
	MT_SPOOL_IN_STEP,        /* collector not ahead: nothing to do */
	MT_SPOOL_MOVED,          /* counter moved forward; older spool acknowledged */
	MT_SPOOL_RENUMBERED,     /* counter moved; provisional spool renumbered */
};

/*
 * The collector's first acknowledgement on a connection, `next` being what
 * it expects. A spool no collector has confirmed yet (a fresh one, or one
 * whose state file was lost) holds only records the collector cannot have:
 * its unacknowledged messages are always renumbered to start at `next`,
 * whether its provisional numbers are behind, at or past it
 * (MT_SPOOL_RENUMBERED; MT_SPOOL_IN_STEP when they start there already).
 * A confirmed spool takes the collector's word: when `next` is ahead of
 * the counter (an old copy of the spool), the counter moves forward to it
 * and what is numbered before it counts as stored (MT_SPOOL_MOVED);
 * otherwise `next` is an ordinary acknowledgement (MT_SPOOL_IN_STEP).
 * Marks the counter confirmed.
 */
enum mt_spool_resync mt_spool_first_ack(struct mt_spool *sp, uint32_t next);

/* A collector acknowledged records under our numbers (one that sends no
 * first acknowledgement): the counter is confirmed from now on. */
void mt_spool_confirm(struct mt_spool *sp);
bool mt_spool_confirmed(const struct mt_spool *sp);

/*
 * Drop counts that no `stats` record has carried yet (the drops after a
 * run's last stats record: the exporter's drain), kept in the state file
 * so that the next run's exporter starts its counters with them and its
 * first stats record reports them. mt_spool_unreported() copies the counts
 * held (after mt_spool_open(): what the state file had; 0 for every other
 * counter); mt_spool_set_unreported() replaces them, to be written at the
 * next mt_spool_sync() or mt_spool_close(). Counters by index (enum
 * mt_ctr).
 */
void mt_spool_unreported(const struct mt_spool *sp, struct mt_counters *out);
void mt_spool_set_unreported(struct mt_spool *sp, const struct mt_counters *c);

/* Data to disk: fdatasync of files written since the last call, and the
 * state file when the acknowledged point or the unreported drops moved. */
void mt_spool_sync(struct mt_spool *sp);

/* The counter: sequence number the next appended message gets. */
uint32_t mt_spool_next_seq(const struct mt_spool *sp);
/* Everything before this is acknowledged. */
uint32_t mt_spool_acked(const struct mt_spool *sp);

/* Messages and records appended but not acknowledged. */
void mt_spool_unacked(const struct mt_spool *sp, uint64_t *msgs, uint64_t *records);
/* Appended messages not yet handed out by mt_spool_next(). */
bool mt_spool_has_unsent(struct mt_spool *sp);

/* Bytes and files in the spool now. */
uint64_t mt_spool_bytes(const struct mt_spool *sp);
unsigned mt_spool_files(const struct mt_spool *sp);

#endif
