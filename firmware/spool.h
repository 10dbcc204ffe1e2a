/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The export spool: every IPFIX message is numbered and appended here
 * before it is sent, and removed only once the collector acknowledges it,
 * so a lost connection, a collector restart or a mailtapd restart loses
 * nothing. A directory of RFC 5655 files per priority class (each starting
 * with a template message, so ipfixDump reads any of them), plus a small
 * state file with the sequence counter. Bounded: when full, whole files of
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
 * it expects. When it is ahead of our counter (our state was lost or is an
 * old copy), the counter moves forward to it so new records are never
 * taken for duplicates. Messages numbered before any collector confirmed
 * the counter (a fresh spool) are renumbered to follow `next`; otherwise
 * the collector's word that it stored them stands. Marks the counter
 * confirmed.
 */
enum mt_spool_resync mt_spool_first_ack(struct mt_spool *sp, uint32_t next);

/* Data to disk: fdatasync of files written since the last call, and the
 * state file when the acknowledged point moved. */
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
