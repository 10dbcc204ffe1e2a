/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP stream reassembly: per direction, payload bytes are handed to the
 * owner's callbacks exactly once and in sequence order. Out-of-order
 * segments wait in a bounded queue (a cap per direction and a global chunk
 * pool); retransmissions are dropped and overlaps keep the first copy.
 * When data is known to be lost, or a cap is hit, the owner is told how many
 * bytes are missing (a gap) and delivery resumes after the hole.
 */
#ifndef MT_STREAM_H
#define MT_STREAM_H

#include "counters.h"
#include "decode.h"
#include "mt_common.h"

/* A chunk holds one piece of an out-of-order segment; 1588 bytes of data
 * fit a full-size Ethernet segment (MSS 1460) in one chunk. */
#define MT_STREAM_CHUNK_DATA 1588
/* Segments further than this ahead of the expected sequence are junk. */
#define MT_STREAM_MAX_AHEAD (1u << 30)

struct mt_stream_chunk {
	uint32_t next;
	uint32_t seq;
	uint16_t len;
	uint16_t pad;
	uint8_t data[MT_STREAM_CHUNK_DATA];
};

struct mt_stream_dir {
	uint32_t next_seq;    /* next byte expected */
	uint32_t fin_seq;     /* sequence number of the FIN */
	uint32_t ooo_head;    /* sorted chunk list, MT_FLOW_NIL-style NIL */
	uint32_t ooo_bytes;
	uint16_t ooo_chunks;
	uint8_t started;
	uint8_t fin_seen;
	uint8_t closed;
	uint8_t hole_known;   /* a fragment was seen at next_seq: data we lost */
	uint8_t pad[2];
	uint64_t delivered;   /* bytes handed to the owner */
};

struct mt_stream {
	struct mt_stream_dir d[2];
};

/* Callbacks into the owner (the worker's analyzer dispatch). */
struct mt_stream_ops {
	void (*data)(void *ctx, void *owner, int dir, const uint8_t *p, uint32_t len);
	void (*gap)(void *ctx, void *owner, int dir, uint32_t len);
	void (*end)(void *ctx, void *owner, int dir);
};

struct mt_stream_config {
	uint32_t max_ooo_bytes_per_dir;
	uint64_t pool_bytes;
};

struct mt_reasm {
	struct mt_stream_chunk *chunks;
	uint32_t nchunks;
	uint32_t free_head;
	uint32_t free_count;
	uint32_t max_chunks_per_dir;
	const struct mt_stream_ops *ops;
	void *ctx;
	struct mt_counters *ctr;
};

/* Control plane: allocates the chunk pool. Returns 0 or -errno. */
int mt_reasm_init(struct mt_reasm *r, const struct mt_stream_config *cfg,
		  const struct mt_stream_ops *ops, void *ctx,
		  struct mt_counters *ctr);
void mt_reasm_free(struct mt_reasm *r);

void mt_stream_init(struct mt_stream *s);

/*
 * Feed one decoded TCP segment travelling in direction `dir` (0 or 1). May
 * call the data, gap and end callbacks, in stream order, before returning.
 */
void mt_stream_segment(struct mt_reasm *r, struct mt_stream *s, void *owner,
		       int dir, const struct mt_pkt *pkt);

/*
 * The connection is over: queued data is delivered (with gaps for the
 * holes) and every direction not yet closed is closed. Frees the chunks.
 */
void mt_stream_finish(struct mt_reasm *r, struct mt_stream *s, void *owner);

#endif
