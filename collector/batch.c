/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed records of one transaction (see batch.h). A record is copied as
 * its header, the body of its own type only (not the whole union) and the
 * used part of its arena, so a flow record takes a few hundred bytes.
 */
#include "batch.h"

#include <errno.h>
#include <stdlib.h>

struct packed {
	uint32_t size;        /* whole entry, 8-byte aligned */
	uint16_t type;
	uint16_t flags;
	uint32_t arena_used;
	uint16_t app;
	uint16_t pad;
	uint32_t domain;
	uint32_t seq;
};

static const uint32_t body_size[MT_REC__COUNT] = {
#define MT_R_SIZE(name, tid) [MT_REC_##name] = sizeof(struct mt_body_##name),
	MT_RECORD_TYPES(MT_R_SIZE)
#undef MT_R_SIZE
};

int mt_batch_init(struct mt_batch *b, size_t max_bytes, unsigned ndoms, unsigned napps)
{
	memset(b, 0, sizeof(*b));
	b->max = max_bytes;
	b->doms_cap = ndoms ? ndoms : 1;
	b->apps_cap = napps ? napps : 1;
	b->doms = calloc(b->doms_cap, sizeof(*b->doms));
	b->apps = calloc(b->apps_cap, sizeof(*b->apps));
	if (!b->doms || !b->apps) {
		mt_batch_free(b);
		return -ENOMEM;
	}
	return 0;
}

void mt_batch_free(struct mt_batch *b)
{
	free(b->buf);
	free(b->doms);
	free(b->apps);
	memset(b, 0, sizeof(*b));
}

void mt_batch_reset(struct mt_batch *b)
{
	b->len = 0;
	b->nrec = 0;
	memset(b->by_type, 0, sizeof(b->by_type));
	b->ndoms = 0;
	b->napps = 0;
	b->final = false;
	b->rc = 0;
	b->err[0] = '\0';
	b->write_ns = 0;
}

size_t mt_batch_rec_size(const struct mt_rec *r)
{
	size_t n;

	if (r->type >= MT_REC__COUNT)
		return 0;
	n = sizeof(struct packed) + body_size[r->type] + MT_MIN(r->arena_used, MT_REC_ARENA);
	return (n + 7) & ~(size_t)7;
}

int mt_batch_add(struct mt_batch *b, const struct mt_rec *r, const struct mt_batch_meta *m)
{
	struct packed h;
	size_t need = mt_batch_rec_size(r);
	uint32_t arena = MT_MIN(r->arena_used, MT_REC_ARENA);
	uint8_t *p;

	if (!need)
		return -EINVAL;
	if (b->len + need > b->max)
		return -ENOSPC;
	if (b->len + need > b->cap) {
		size_t nc = b->cap ? b->cap : 1u << 20;
		uint8_t *nb;

		while (nc < b->len + need)
			nc *= 2;
		nc = MT_MIN(nc, b->max);
		nb = realloc(b->buf, nc);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = nc;
	}
	memset(&h, 0, sizeof(h));
	h.size = (uint32_t)need;
	h.type = r->type;
	h.flags = r->flags;
	h.arena_used = arena;
	h.app = m->app;
	h.domain = m->domain;
	h.seq = m->seq;
	p = b->buf + b->len;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), &r->b, body_size[r->type]);
	memcpy(p + sizeof(h) + body_size[r->type], r->arena, arena);
	b->len += need;
	b->nrec++;
	b->by_type[r->type]++;
	return 0;
}

void mt_batch_truncate(struct mt_batch *b, size_t len, uint32_t nrec,
		       const uint32_t by_type[MT_REC__COUNT])
{
	if (len <= b->len) {
		b->len = len;
		b->nrec = nrec;
		memcpy(b->by_type, by_type, sizeof(b->by_type));
	}
}

bool mt_batch_next(const struct mt_batch *b, size_t *pos, struct mt_rec *r,
		   struct mt_batch_meta *m)
{
	struct packed h;

	if (*pos + sizeof(h) > b->len)
		return false;
	memcpy(&h, b->buf + *pos, sizeof(h));
	/* Written by mt_batch_add only; a bad entry is a broken invariant. */
	if (h.type >= MT_REC__COUNT || h.size > b->len - *pos ||
	    sizeof(h) + body_size[h.type] + h.arena_used > h.size)
		abort();
	r->type = h.type;
	r->flags = h.flags;
	r->arena_used = h.arena_used;
	memcpy(&r->b, b->buf + *pos + sizeof(h), body_size[h.type]);
	memcpy(r->arena, b->buf + *pos + sizeof(h) + body_size[h.type], h.arena_used);
	m->app = h.app;
	m->domain = h.domain;
	m->seq = h.seq;
	*pos += h.size;
	return true;
}
