/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP reassembly. Sequence numbers are compared modulo 2^32. Out-of-order
 * data is copied into chunks from a pool allocated at start-up: each chunk is
 * an independent [seq, seq+len) piece in a per-direction list sorted by
 * sequence, never overlapping its neighbours, so "first copy wins" is just
 * "only store the parts nobody stored before". Insertion walks the list,
 * which the per-direction cap keeps short.
 */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>

#define NIL UINT32_MAX

int mt_reasm_init(struct mt_reasm *r, const struct mt_stream_config *cfg,
		  const struct mt_stream_ops *ops, void *ctx,
		  struct mt_counters *ctr)
{
	uint64_t n = cfg->pool_bytes / sizeof(struct mt_stream_chunk);

	memset(r, 0, sizeof(*r));
	if (n >= NIL)
		return -EINVAL;
	r->nchunks = (uint32_t)n;
	if (n) {
		r->chunks = malloc(n * sizeof(struct mt_stream_chunk));
		if (!r->chunks)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < r->nchunks; i++)
		r->chunks[i].next = i + 1 < r->nchunks ? i + 1 : NIL;
	r->free_head = r->nchunks ? 0 : NIL;
	r->free_count = r->nchunks;
	r->max_chunks_per_dir = (cfg->max_ooo_bytes_per_dir +
				 MT_STREAM_CHUNK_DATA - 1) / MT_STREAM_CHUNK_DATA;
	if (r->max_chunks_per_dir > UINT16_MAX)
		r->max_chunks_per_dir = UINT16_MAX;
	r->ops = ops;
	r->ctx = ctx;
	r->ctr = ctr;
	return 0;
}

void mt_reasm_free(struct mt_reasm *r)
{
	free(r->chunks);
	memset(r, 0, sizeof(*r));
}

void mt_stream_init(struct mt_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->d[0].ooo_head = NIL;
	s->d[1].ooo_head = NIL;
}

static void chunk_free(struct mt_reasm *r, uint32_t idx)
{
	r->chunks[idx].next = r->free_head;
	r->free_head = idx;
	r->free_count++;
}

static void deliver(struct mt_reasm *r, struct mt_stream_dir *d, void *owner,
		    int dir, const uint8_t *p, uint32_t len)
{
	d->next_seq += len;
	d->delivered += len;
	MT_CTR_ADD(r->ctr, stream_bytes_delivered, len);
	if (r->ops && r->ops->data)
		r->ops->data(r->ctx, owner, dir, p, len);
}

static void declare_gap(struct mt_reasm *r, struct mt_stream_dir *d,
			void *owner, int dir, uint32_t upto)
{
	uint32_t len = upto - d->next_seq;

	if (mt_seq_leq(upto, d->next_seq))
		return;
	MT_CTR_INC(r->ctr, stream_gaps);
	MT_CTR_ADD(r->ctr, stream_gap_bytes, len);
	d->next_seq = upto;
	if (r->ops && r->ops->gap)
		r->ops->gap(r->ctx, owner, dir, len);
}

/* Free queued chunks without delivering them (data beyond a FIN). */
static void queue_drop(struct mt_reasm *r, struct mt_stream_dir *d)
{
	while (d->ooo_head != NIL) {
		uint32_t idx = d->ooo_head;

		d->ooo_head = r->chunks[idx].next;
		chunk_free(r, idx);
	}
	d->ooo_bytes = 0;
	d->ooo_chunks = 0;
}

static void maybe_close(struct mt_reasm *r, struct mt_stream_dir *d,
			void *owner, int dir)
{
	if (d->closed || !d->fin_seen || d->next_seq != d->fin_seq)
		return;
	queue_drop(r, d);
	d->closed = 1;
	MT_CTR_INC(r->ctr, stream_closed);
	if (r->ops && r->ops->end)
		r->ops->end(r->ctx, owner, dir);
}

/* Deliver queued chunks that have become contiguous. */
static void drain(struct mt_reasm *r, struct mt_stream_dir *d, void *owner,
		  int dir)
{
	while (d->ooo_head != NIL) {
		struct mt_stream_chunk *c = &r->chunks[d->ooo_head];
		int32_t off = mt_seq_diff(c->seq, d->next_seq);
		uint32_t idx = d->ooo_head;

		if (off > 0)
			break;
		if (off + (int32_t)c->len > 0)
			deliver(r, d, owner, dir, c->data + (uint32_t)-off,
				(uint32_t)(off + (int32_t)c->len));
		d->ooo_head = c->next;
		d->ooo_bytes -= c->len;
		d->ooo_chunks--;
		chunk_free(r, idx);
	}
}

/* Give up on every hole in the queue: deliver all of it, gaps included. */
static void flush_queue(struct mt_reasm *r, struct mt_stream_dir *d,
			void *owner, int dir)
{
	while (d->ooo_head != NIL) {
		declare_gap(r, d, owner, dir, r->chunks[d->ooo_head].seq);
		drain(r, d, owner, dir);
	}
}

/*
 * Store the parts of [seq, seq+len) not already queued. Returns the number
 * of new bytes stored, or -1 when a cap stopped it (parts may be stored).
 */
static int64_t queue_insert(struct mt_reasm *r, struct mt_stream_dir *d,
			    uint32_t seq, const uint8_t *data, uint32_t len)
{
	uint32_t *pp = &d->ooo_head;
	uint32_t s = seq, e = seq + len;
	int64_t stored = 0;

	while (mt_seq_lt(s, e)) {
		uint32_t limit = e, piece, idx;
		struct mt_stream_chunk *c;

		while (*pp != NIL &&
		       mt_seq_leq(r->chunks[*pp].seq + r->chunks[*pp].len, s))
			pp = &r->chunks[*pp].next;
		if (*pp != NIL) {
			c = &r->chunks[*pp];
			if (mt_seq_leq(c->seq, s)) {
				s = c->seq + c->len; /* already stored: skip */
				continue;
			}
			if (mt_seq_lt(c->seq, limit))
				limit = c->seq;
		}
		piece = MT_MIN(limit - s, (uint32_t)MT_STREAM_CHUNK_DATA);
		if (d->ooo_chunks >= r->max_chunks_per_dir ||
		    r->free_head == NIL)
			return -1;
		idx = r->free_head;
		c = &r->chunks[idx];
		r->free_head = c->next;
		r->free_count--;
		c->seq = s;
		c->len = (uint16_t)piece;
		memcpy(c->data, data + (s - seq), piece);
		c->next = *pp;
		*pp = idx;
		pp = &c->next;
		d->ooo_chunks++;
		d->ooo_bytes += piece;
		stored += piece;
		s += piece;
	}
	return stored;
}

/*
 * Delivers a segment that starts at next_seq (`seq` == next_seq). Bytes
 * queued before it arrived are delivered from the queue, not from this
 * segment (first copy wins): delivery stops at the queue head and the queue
 * drains. Returns how many of the `len` bytes were delivered from the
 * segment itself; *overlap is set when queued data lay inside it.
 */
static uint32_t deliver_in_order(struct mt_reasm *r, struct mt_stream_dir *d,
				 void *owner, int dir, uint32_t seq,
				 const uint8_t *data, uint32_t len, int *overlap)
{
	uint32_t n = len;

	/* drain() leaves the head strictly after next_seq, so n > 0. */
	if (d->ooo_head != NIL &&
	    mt_seq_lt(r->chunks[d->ooo_head].seq, seq + len)) {
		n = r->chunks[d->ooo_head].seq - seq;
		*overlap = 1;
	}
	deliver(r, d, owner, dir, data, n);
	drain(r, d, owner, dir);
	return n;
}

/*
 * One segment's payload. In order: delivered. Ahead: queued. When a cap
 * stops the queueing, only the first hole is given up on, from next_seq to
 * whichever comes first of this segment and the queue head; then the
 * segment is tried again. Each round either moves next_seq forward or
 * delivers, so this ends, and no captured byte that could be delivered in
 * order is ever reported as missing. No memory beyond the queue's caps.
 */
static void segment_data(struct mt_reasm *r, struct mt_stream_dir *d,
			 void *owner, int dir, uint32_t seq,
			 const uint8_t *data, uint32_t len)
{
	int overlap = 0, capped = 0, first = 1;

	for (;; first = 0) {
		int32_t off = mt_seq_diff(seq, d->next_seq);
		int64_t stored;
		uint32_t upto, n;

		if (off < 0) {
			if ((int64_t)off + len <= 0) {
				if (first)
					MT_CTR_INC(r->ctr, stream_retransmissions);
				break;
			}
			overlap = 1;
			data += (uint32_t)-off;
			len -= (uint32_t)-off;
			seq = d->next_seq;
			off = 0;
		}
		if (off == 0) {
			n = deliver_in_order(r, d, owner, dir, seq, data, len,
					     &overlap);
			if (n == len)
				break;
			/* The rest lies under queued data just delivered. */
			seq += n;
			data += n;
			len -= n;
			continue;
		}
		if ((uint32_t)off > MT_STREAM_MAX_AHEAD) {
			MT_CTR_INC(r->ctr, stream_out_of_window);
			return;
		}
		stored = queue_insert(r, d, seq, data, len);
		if (stored >= 0 && capped)
			break; /* the rest of a segment that hit a cap: queued */
		if (stored >= 0) {
			if ((uint64_t)stored == len)
				MT_CTR_INC(r->ctr, stream_ooo_queued);
			else if (stored == 0)
				MT_CTR_INC(r->ctr, stream_retransmissions);
			else
				overlap = 1; /* partly queued already */
			break;
		}
		/* A cap stopped us (parts of this segment may be queued now). */
		if (!capped) {
			capped = 1;
			if (r->free_head == NIL)
				MT_CTR_INC(r->ctr, stream_ooo_pool_cap);
			else
				MT_CTR_INC(r->ctr, stream_ooo_flow_cap);
		}
		upto = seq;
		if (d->ooo_head != NIL &&
		    mt_seq_lt(r->chunks[d->ooo_head].seq, upto))
			upto = r->chunks[d->ooo_head].seq;
		declare_gap(r, d, owner, dir, upto);
		drain(r, d, owner, dir);
	}
	/* After a cap our own queued pieces look like overlaps: not counted. */
	if (overlap && !capped)
		MT_CTR_INC(r->ctr, stream_overlaps);
}

/*
 * The peer acknowledged bytes we never saw: when later bytes wait in the
 * queue, or a fragment showed data was sent there, the capture lost them;
 * stop waiting. Done before this segment's own payload is delivered, so
 * an analyzer learns of the hole in the request before it sees the reply.
 * (With nothing queued and no fragment seen, the bytes may only be late in
 * the capture, so the hole is left to the queue cap or the flow's end.)
 */
static void ack_gap(struct mt_reasm *r, struct mt_stream *s, void *owner, int dir,
		    const struct mt_pkt *pkt)
{
	struct mt_stream_dir *o = &s->d[!(dir & 1)];
	uint32_t upto = pkt->ack;

	if (!(pkt->tcp_flags & MT_TCP_ACK) || !o->started || o->closed ||
	    !mt_seq_lt(o->next_seq, pkt->ack) || (o->ooo_head == NIL && !o->hole_known))
		return;
	if (o->ooo_head != NIL && mt_seq_lt(r->chunks[o->ooo_head].seq, upto))
		upto = r->chunks[o->ooo_head].seq;
	o->hole_known = 0;
	declare_gap(r, o, owner, !(dir & 1), upto);
	drain(r, o, owner, !(dir & 1));
	maybe_close(r, o, owner, !(dir & 1));
}

void mt_stream_segment(struct mt_reasm *r, struct mt_stream *s, void *owner,
		       int dir, const struct mt_pkt *pkt)
{
	struct mt_stream_dir *d = &s->d[dir & 1];
	uint8_t fl = pkt->tcp_flags;
	uint32_t seq = pkt->seq;
	uint32_t len = pkt->payload_len;

	/* A fragment does not carry the whole payload and its length is not
	 * known: the hole it leaves is declared like any lost segment. */
	if (pkt->frag != MT_FRAG_NONE)
		len = 0;
	if (fl & MT_TCP_SYN) {
		if (!d->started || (d->delivered == 0 && d->ooo_head == NIL)) {
			d->next_seq = seq + 1;
			d->started = 1;
		}
		seq++;
	}
	if (fl & MT_TCP_RST) {
		mt_stream_finish(r, s, owner);
		return;
	}
	ack_gap(r, s, owner, dir, pkt);
	if (d->closed)
		return;
	if (!d->started) {
		if (len == 0 && !(fl & MT_TCP_FIN))
			return;
		/* Picked up mid-stream: the first segment seen starts it. */
		d->started = 1;
		d->next_seq = seq;
	}
	if (pkt->frag == MT_FRAG_FIRST && seq == d->next_seq)
		d->hole_known = 1;
	if (len) {
		MT_CTR_INC(r->ctr, stream_segments);
		segment_data(r, d, owner, dir, seq, pkt->payload, len);
	}
	if (pkt->payload_cut && pkt->frag == MT_FRAG_NONE) {
		/* Cut by the snap length: what was captured is delivered, and
		 * when it was in order the rest is a known hole right away. */
		if (d->next_seq == seq + len && d->ooo_head == NIL) {
			declare_gap(r, d, owner, dir, seq + len + pkt->payload_cut);
			drain(r, d, owner, dir);
		}
		len += pkt->payload_cut;
	}
	if ((fl & MT_TCP_FIN) && !d->fin_seen) {
		d->fin_seen = 1;
		d->fin_seq = seq + len;
	}
	maybe_close(r, d, owner, dir);
}

void mt_stream_finish(struct mt_reasm *r, struct mt_stream *s, void *owner)
{
	for (int dir = 0; dir < 2; dir++) {
		struct mt_stream_dir *d = &s->d[dir];

		if (d->closed) {
			queue_drop(r, d);
			continue;
		}
		flush_queue(r, d, owner, dir);
		if (d->fin_seen)
			declare_gap(r, d, owner, dir, d->fin_seq);
		d->closed = 1;
		if (d->started)
			MT_CTR_INC(r->ctr, stream_closed);
		if (r->ops && r->ops->end)
			r->ops->end(r->ctx, owner, dir);
	}
}
