/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table: pool + chained hash + per-timeout-class LRU lists. All memory
 * is allocated in mt_flow_table_init(); the packet path only moves indices
 * between the free list, hash chains and LRU lists.
 */
#include "flow.h"

#include <errno.h>
#include <stdlib.h>

static const char *const reason_names[] = {
	[MT_FLOW_END_NONE] = "none",
	[MT_FLOW_END_FIN] = "fin",
	[MT_FLOW_END_RST] = "rst",
	[MT_FLOW_END_TIMEOUT] = "timeout",
	[MT_FLOW_END_EVICTED] = "evicted",
	[MT_FLOW_END_SHUTDOWN] = "shutdown",
	[MT_FLOW_END_REUSED] = "reused",
};

const char *mt_flow_reason_name(enum mt_flow_reason r)
{
	if ((unsigned)r >= MT_ARRAY_SIZE(reason_names))
		return "unknown";
	return reason_names[r];
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

int mt_flow_table_init(struct mt_flow_table *t, const struct mt_flow_config *cfg,
		       mt_flow_end_fn end_fn, mt_flow_port_fn server_port_fn,
		       void *ctx, struct mt_counters *ctr)
{
	uint32_t nb;

	memset(t, 0, sizeof(*t));
	if (cfg->capacity == 0 || cfg->capacity >= MT_FLOW_NIL / 2)
		return -EINVAL;
	/* Two buckets per flow keeps chains short (load factor <= 0.5). */
	nb = round_pow2(cfg->capacity * 2);
	t->flows = aligned_alloc(MT_CACHE_LINE,
				 sizeof(struct mt_flow) * cfg->capacity);
	t->buckets = malloc(sizeof(uint32_t) * nb);
	if (!t->flows || !t->buckets) {
		free(t->flows);
		free(t->buckets);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	memset(t->flows, 0, sizeof(struct mt_flow) * cfg->capacity);
	for (uint32_t i = 0; i < nb; i++)
		t->buckets[i] = MT_FLOW_NIL;
	for (uint32_t i = 0; i < cfg->capacity; i++)
		t->flows[i].hnext = i + 1 < cfg->capacity ? i + 1 : MT_FLOW_NIL;
	t->free_head = 0;
	t->bucket_mask = nb - 1;
	t->capacity = cfg->capacity;
	for (int i = 0; i < MT_FLOW_TC__COUNT; i++) {
		t->lru_head[i] = t->lru_tail[i] = MT_FLOW_NIL;
		t->timeout_ns[i] = cfg->timeout_ns[i];
	}
	t->vlan_in_key = cfg->vlan_in_key;
	t->next_expiry_ns = UINT64_MAX;
	t->end_fn = end_fn;
	t->server_port_fn = server_port_fn;
	t->ctx = ctx;
	t->ctr = ctr;
	return 0;
}

void mt_flow_table_free(struct mt_flow_table *t)
{
	free(t->flows);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

_Static_assert(sizeof(struct mt_flow_key) == 48, "key is compared as 6 words");
_Static_assert(offsetof(struct mt_flow, last_ns) == 64, "hot fields in line 1");

/* Independent multiplies per key word (no dependency chain), then a final
 * mix. The key is canonical, so the hash is the same for both directions
 * without a symmetric hash function. */
static inline uint32_t key_hash(const struct mt_flow_key *k)
{
	uint64_t w[6], h;

	memcpy(w, k, sizeof(w));
	h = (w[0] ^ 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	h += (w[1] ^ 0xc2b2ae3d27d4eb4full) * 0xc4ceb9fe1a85ec53ull;
	h += (w[2] ^ 0x165667b19e3779f9ull) * 0x9e3779b97f4a7c15ull;
	h += (w[3] ^ 0x27d4eb2f165667c5ull) * 0xff51afd7ed558ccdull;
	h += (w[4] ^ 0x94d049bb133111ebull) * 0xc4ceb9fe1a85ec53ull;
	h += (w[5] ^ 0xbf58476d1ce4e5b9ull) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (uint32_t)h;
}

static inline bool key_eq(const struct mt_flow_key *x, const struct mt_flow_key *y)
{
	uint64_t a[6], b[6];

	memcpy(a, x, sizeof(a));
	memcpy(b, y, sizeof(b));
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) |
		(a[4] ^ b[4]) | (a[5] ^ b[5])) == 0;
}

/* Builds the canonical key; returns true when the packet's source is side a. */
static inline bool make_key(const struct mt_flow_table *t, const struct mt_pkt *p,
			    struct mt_flow_key *k)
{
	int c = memcmp(p->src, p->dst, 16);
	bool src_a = c < 0 || (c == 0 && p->sport <= p->dport);

	if (src_a) {
		memcpy(k->a, p->src, 16);
		memcpy(k->b, p->dst, 16);
		k->pa = p->sport;
		k->pb = p->dport;
	} else {
		memcpy(k->a, p->dst, 16);
		memcpy(k->b, p->src, 16);
		k->pa = p->dport;
		k->pb = p->sport;
	}
	k->vlan[0] = k->vlan[1] = 0;
	if (t->vlan_in_key) {
		for (unsigned i = 0; i < p->vlan_count; i++)
			k->vlan[i] = p->vlan[i];
	}
	k->proto = p->proto;
	k->ip_ver = p->ip_ver;
	memset(k->pad, 0, sizeof(k->pad));
	return src_a;
}

static void lru_unlink(struct mt_flow_table *t, struct mt_flow *f)
{
	uint32_t idx = mt_flow_index(t, f);
	uint8_t c = f->tclass;

	if (f->lru_prev != MT_FLOW_NIL)
		t->flows[f->lru_prev].lru_next = f->lru_next;
	else if (t->lru_head[c] == idx)
		t->lru_head[c] = f->lru_next;
	if (f->lru_next != MT_FLOW_NIL)
		t->flows[f->lru_next].lru_prev = f->lru_prev;
	else if (t->lru_tail[c] == idx)
		t->lru_tail[c] = f->lru_prev;
	f->lru_prev = f->lru_next = MT_FLOW_NIL;
}

static void lru_append(struct mt_flow_table *t, struct mt_flow *f, uint8_t c)
{
	uint32_t idx = mt_flow_index(t, f);
	uint64_t due = f->last_ns + t->timeout_ns[c];

	if (due < t->next_expiry_ns)
		t->next_expiry_ns = due;

	f->tclass = c;
	f->lru_next = MT_FLOW_NIL;
	f->lru_prev = t->lru_tail[c];
	if (t->lru_tail[c] != MT_FLOW_NIL)
		t->flows[t->lru_tail[c]].lru_next = idx;
	else
		t->lru_head[c] = idx;
	t->lru_tail[c] = idx;
}

/* Puts a flow at the tail of a (possibly other) class list. */
static inline void lru_move(struct mt_flow_table *t, struct mt_flow *f, uint8_t c)
{
	lru_unlink(t, f);
	lru_append(t, f, c);
}

/* Every packet moves its flow to the tail of its class list, so each list
 * stays ordered by last packet time: expiry stops at the first head that
 * is not due and eviction takes the oldest head. (A lazier scheme that
 * skipped the move lost that order; the move costs two neighbour writes.) */
static inline void lru_touch(struct mt_flow_table *t, struct mt_flow *f, uint8_t c)
{
	if (c == f->tclass && t->lru_tail[c] == mt_flow_index(t, f))
		return;
	lru_move(t, f, c);
}

static void hash_unlink(struct mt_flow_table *t, struct mt_flow *f)
{
	uint32_t idx = mt_flow_index(t, f);
	uint32_t *pp = &t->buckets[f->hash & t->bucket_mask];

	while (*pp != MT_FLOW_NIL) {
		if (*pp == idx) {
			*pp = f->hnext;
			return;
		}
		pp = &t->flows[*pp].hnext;
	}
	abort(); /* a live flow is always on its chain */
}

void mt_flow_end(struct mt_flow_table *t, struct mt_flow *f,
		 enum mt_flow_reason reason)
{
	uint32_t idx = mt_flow_index(t, f);

	if (f->reason == MT_FLOW_END_NONE)
		f->reason = (uint8_t)reason;
	switch (f->reason) {
	case MT_FLOW_END_FIN:
		MT_CTR_INC(t->ctr, flow_ended_fin);
		break;
	case MT_FLOW_END_RST:
		MT_CTR_INC(t->ctr, flow_ended_rst);
		break;
	case MT_FLOW_END_TIMEOUT:
		MT_CTR_INC(t->ctr, flow_timeout);
		break;
	case MT_FLOW_END_EVICTED:
		MT_CTR_INC(t->ctr, flow_evicted);
		break;
	default:
		MT_CTR_INC(t->ctr, flow_shutdown);
		break;
	}
	if (t->end_fn)
		t->end_fn(t->ctx, f);
	hash_unlink(t, f);
	lru_unlink(t, f);
	f->hnext = t->free_head;
	t->free_head = idx;
	t->active--;
}

static struct mt_flow *oldest_idle(struct mt_flow_table *t)
{
	struct mt_flow *best = NULL;

	for (int c = 0; c < MT_FLOW_TC__COUNT; c++) {
		uint32_t h = t->lru_head[c];

		if (h != MT_FLOW_NIL &&
		    (!best || t->flows[h].last_ns < best->last_ns))
			best = &t->flows[h];
	}
	return best;
}

void mt_flow_expire(struct mt_flow_table *t, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	if (now_ns > t->now_ns)
		t->now_ns = now_ns;
	if (likely(t->now_ns < t->next_expiry_ns))
		return;
	for (int c = 0; c < MT_FLOW_TC__COUNT; c++) {
		while (t->lru_head[c] != MT_FLOW_NIL) {
			struct mt_flow *f = &t->flows[t->lru_head[c]];

			if (f->last_ns + t->timeout_ns[c] > t->now_ns)
				break;
			mt_flow_end(t, f, MT_FLOW_END_TIMEOUT);
		}
		if (t->lru_head[c] != MT_FLOW_NIL) {
			uint64_t due = t->flows[t->lru_head[c]].last_ns + t->timeout_ns[c];

			if (due < next)
				next = due;
		}
	}
	t->next_expiry_ns = next;
}

void mt_flow_flush(struct mt_flow_table *t)
{
	struct mt_flow *f;

	while ((f = oldest_idle(t)) != NULL)
		mt_flow_end(t, f, MT_FLOW_END_SHUTDOWN);
}

static uint64_t make_flow_id(const struct mt_flow_key *k, uint32_t hash,
			     uint64_t start_ns)
{
	uint64_t h = ((uint64_t)hash << 32) ^ start_ns ^ k->pa ^
		     ((uint64_t)k->pb << 16);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	/* Positive and exactly representable as a JSON/JavaScript number. */
	return h & ((1ull << 51) - 1);
}

/* Which side is the client when no SYN tells: the one not on a known
 * server port; failing that, the higher port (ephemeral ranges are high). */
static bool guess_client_is_a(const struct mt_flow_table *t,
			      const struct mt_flow_key *k, bool src_a)
{
	bool sa = t->server_port_fn && t->server_port_fn(t->ctx, k->pa);
	bool sb = t->server_port_fn && t->server_port_fn(t->ctx, k->pb);

	if (sa != sb)
		return sb;
	if (k->pa != k->pb)
		return k->pa > k->pb;
	return src_a;
}

static struct mt_flow *flow_create(struct mt_flow_table *t,
				   const struct mt_flow_key *k, uint32_t hash,
				   const struct mt_pkt *p, bool src_a)
{
	struct mt_flow *f;
	uint32_t idx, b;

	if (t->free_head == MT_FLOW_NIL) {
		struct mt_flow *victim = oldest_idle(t);

		mt_flow_end(t, victim, MT_FLOW_END_EVICTED);
	}
	idx = t->free_head;
	f = &t->flows[idx];
	t->free_head = f->hnext;
	t->active++;
	MT_CTR_INC(t->ctr, flow_created);

	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	b = hash & t->bucket_mask;
	f->hnext = t->buckets[b];
	t->buckets[b] = idx;
	f->start_ns = p->ts_ns;
	f->last_ns = p->ts_ns;
	f->flow_id = make_flow_id(k, hash, p->ts_ns);
	f->stream = MT_FLOW_NIL;
	f->tunnel = p->tunnel;
	f->tunnel_id = p->tunnel_id;
	f->state = MT_FLOW_ST_NEW;
	if (p->proto == 6) {
		uint8_t fl = p->tcp_flags & (MT_TCP_SYN | MT_TCP_ACK | MT_TCP_RST);

		if (fl == MT_TCP_SYN) {
			f->client_is_a = src_a;
		} else if (fl == (MT_TCP_SYN | MT_TCP_ACK)) {
			f->client_is_a = !src_a;
		} else {
			f->client_is_a = guess_client_is_a(t, k, src_a);
			f->midstream = 1;
			f->state = MT_FLOW_ST_ESTABLISHED;
			MT_CTR_INC(t->ctr, flow_midstream);
		}
		f->lru_prev = f->lru_next = MT_FLOW_NIL;
		lru_append(t, f, f->state == MT_FLOW_ST_NEW ? MT_FLOW_TC_NEW :
						       MT_FLOW_TC_ESTABLISHED);
	} else {
		f->client_is_a = guess_client_is_a(t, k, src_a);
		f->state = MT_FLOW_ST_ESTABLISHED;
		f->lru_prev = f->lru_next = MT_FLOW_NIL;
		lru_append(t, f, MT_FLOW_TC_UDP);
	}
	return f;
}

static uint8_t tcp_update(struct mt_flow *f, const struct mt_pkt *p,
			  enum mt_flow_dir dir)
{
	uint8_t fl = p->tcp_flags;

	f->flags[dir] |= fl;
	if (fl & MT_TCP_RST) {
		f->state = MT_FLOW_ST_CLOSED;
		if (f->reason == MT_FLOW_END_NONE)
			f->reason = MT_FLOW_END_RST;
		return MT_FLOW_TC_CLOSED;
	}
	if (fl & MT_TCP_FIN)
		f->fin[dir] = 1;
	switch (f->state) {
	case MT_FLOW_ST_NEW:
		/* SYN/ACK from the server or any ACK from the client. */
		if (fl & MT_TCP_ACK)
			f->state = MT_FLOW_ST_ESTABLISHED;
		break;
	default:
		break;
	}
	if (f->state != MT_FLOW_ST_CLOSED && (f->fin[0] || f->fin[1])) {
		if (f->fin[0] && f->fin[1]) {
			f->state = MT_FLOW_ST_CLOSED;
			if (f->reason == MT_FLOW_END_NONE)
				f->reason = MT_FLOW_END_FIN;
		} else {
			f->state = MT_FLOW_ST_CLOSING;
		}
	}
	switch (f->state) {
	case MT_FLOW_ST_NEW:
		return MT_FLOW_TC_NEW;
	case MT_FLOW_ST_CLOSED:
		return MT_FLOW_TC_CLOSED;
	default:
		return MT_FLOW_TC_ESTABLISHED;
	}
}

void mt_flow_lookup_prepare(const struct mt_flow_table *t, const struct mt_pkt *p,
			    struct mt_flow_lookup *lk)
{
	lk->src_a = make_key(t, p, &lk->key);
	lk->hash = key_hash(&lk->key);
	__builtin_prefetch(&t->buckets[lk->hash & t->bucket_mask]);
}

struct mt_flow *mt_flow_packet(struct mt_flow_table *t, const struct mt_pkt *p,
			       enum mt_flow_dir *dir)
{
	struct mt_flow_lookup lk;

	lk.src_a = make_key(t, p, &lk.key);
	lk.hash = key_hash(&lk.key);
	return mt_flow_packet_lk(t, p, &lk, dir);
}

struct mt_flow *mt_flow_packet_lk(struct mt_flow_table *t, const struct mt_pkt *p,
				  const struct mt_flow_lookup *lk,
				  enum mt_flow_dir *dir)
{
	struct mt_flow *f = NULL;
	bool src_a = lk->src_a;
	uint32_t h = lk->hash;
	uint32_t idx = t->buckets[h & t->bucket_mask];
	uint8_t tc;

	if (p->ts_ns > t->now_ns)
		t->now_ns = p->ts_ns;
	while (idx != MT_FLOW_NIL) {
		struct mt_flow *c = &t->flows[idx];

		if (c->hash == h && key_eq(&c->key, &lk->key)) {
			f = c;
			break;
		}
		idx = c->hnext;
	}
	/* A fresh SYN on a closed tuple is a new connection (port reuse). */
	if (f && f->state == MT_FLOW_ST_CLOSED && p->proto == 6 &&
	    (p->tcp_flags & (MT_TCP_SYN | MT_TCP_ACK | MT_TCP_RST)) == MT_TCP_SYN) {
		MT_CTR_INC(t->ctr, flow_reused);
		mt_flow_end(t, f, MT_FLOW_END_REUSED);
		f = NULL;
	}
	if (!f)
		f = flow_create(t, &lk->key, h, p, src_a);

	*dir = (src_a == (bool)f->client_is_a) ? MT_DIR_TOSERVER : MT_DIR_TOCLIENT;
	f->pkts[*dir]++;
	f->bytes[*dir] += p->wire_len;
	if (p->ts_ns > f->last_ns)
		f->last_ns = p->ts_ns;
	tc = p->proto == 6 ? tcp_update(f, p, *dir) : MT_FLOW_TC_UDP;
	lru_touch(t, f, tc);
	return f;
}
