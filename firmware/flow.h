/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker flow table. Fixed capacity set at start-up: a pool of flow
 * entries, a chained hash on a symmetric key (both directions of a
 * connection find the same entry), and one LRU list per timeout class so that
 * expiry and eviction of the oldest idle flow are O(1). Time is whatever the
 * caller says it is (packet timestamps); nothing here reads a clock.
 */
#ifndef MT_FLOW_H
#define MT_FLOW_H

#include "counters.h"
#include "decode.h"
#include "mt_common.h"

#define MT_FLOW_NIL UINT32_MAX

enum mt_flow_dir {
	MT_DIR_TOSERVER = 0,
	MT_DIR_TOCLIENT = 1,
};

/* Why a flow ended; also the `flow.reason` of its record. */
enum mt_flow_reason {
	MT_FLOW_END_NONE = 0,
	MT_FLOW_END_FIN,
	MT_FLOW_END_RST,
	MT_FLOW_END_TIMEOUT,
	MT_FLOW_END_EVICTED,
	MT_FLOW_END_SHUTDOWN,
	MT_FLOW_END_REUSED,
};

enum mt_flow_state {
	MT_FLOW_ST_NEW = 0,     /* TCP: handshake not complete */
	MT_FLOW_ST_ESTABLISHED, /* TCP: SYN/ACK or data seen; UDP: any */
	MT_FLOW_ST_CLOSING,     /* FIN in one direction */
	MT_FLOW_ST_CLOSED,      /* FIN both ways or RST: waiting out stragglers */
};

/* Timeout classes, each with its own LRU list ordered by last packet. */
enum mt_flow_tclass {
	MT_FLOW_TC_NEW = 0,
	MT_FLOW_TC_ESTABLISHED,
	MT_FLOW_TC_CLOSED,
	MT_FLOW_TC_UDP,
	MT_FLOW_TC__COUNT,
};

/* Canonical key: the (address, port) that sorts lower is side `a`. */
struct mt_flow_key {
	uint8_t a[16];
	uint8_t b[16];
	uint16_t pa;
	uint16_t pb;
	uint16_t vlan[MT_DECODE_MAX_VLAN];
	uint8_t proto;
	uint8_t ip_ver;
	uint8_t pad[6];             /* to 48 bytes: compared as 6 words */
};

struct mt_flow {
	/* First cache line: what a lookup and a touch read and write. */
	struct mt_flow_key key;     /* 48 bytes */
	uint32_t hnext;             /* hash chain */
	uint32_t hash;
	uint32_t lru_prev;
	uint32_t lru_next;
	/* Second cache line onward: per-flow accounting. */
	uint64_t last_ns;
	uint64_t start_ns;
	uint64_t flow_id;
	uint64_t pkts[2];           /* indexed by enum mt_flow_dir */
	uint64_t bytes[2];
	uint32_t gaps[2];           /* holes declared per direction */
	uint32_t tunnel_id;
	uint32_t stream;            /* stream state index, MT_FLOW_NIL if none */
	uint8_t client_is_a;        /* orientation: the client is key side a */
	uint8_t state;              /* enum mt_flow_state */
	uint8_t tclass;             /* enum mt_flow_tclass */
	uint8_t reason;             /* enum mt_flow_reason once decided */
	uint8_t flags[2];           /* TCP flags seen per direction */
	uint8_t fin[2];             /* FIN seen per direction */
	uint8_t tunnel;
	uint8_t app_proto;          /* analyzer-defined protocol id */
	uint8_t midstream;          /* picked up without a SYN */
	uint8_t user8;              /* worker: application hint (enum mt_app) */
	uint8_t probe;              /* worker: payload packets left to probe */
	void *app;                  /* analyzer state owned by the worker */
} MT_CACHE_ALIGNED;

struct mt_flow_table;

/* Called once for each flow that ends, before its entry is reused. */
typedef void (*mt_flow_end_fn)(void *ctx, struct mt_flow *f);

/* Decides the server side when no SYN says it. */
typedef bool (*mt_flow_port_fn)(void *ctx, uint16_t port);

struct mt_flow_config {
	uint32_t capacity;
	uint64_t timeout_ns[MT_FLOW_TC__COUNT];
	bool vlan_in_key;
};

struct mt_flow_table {
	struct mt_flow *flows;      /* capacity entries */
	uint32_t *buckets;          /* heads of hash chains */
	uint32_t bucket_mask;
	uint32_t capacity;
	uint32_t active;
	uint32_t free_head;
	uint32_t lru_head[MT_FLOW_TC__COUNT];
	uint32_t lru_tail[MT_FLOW_TC__COUNT];
	uint64_t timeout_ns[MT_FLOW_TC__COUNT];
	uint64_t now_ns;
	uint64_t next_expiry_ns;    /* no flow can time out before this */
	bool vlan_in_key;
	mt_flow_end_fn end_fn;
	mt_flow_port_fn server_port_fn;
	void *ctx;
	struct mt_counters *ctr;
};

/* Control plane: allocates the pool. Returns 0 or -errno. */
int mt_flow_table_init(struct mt_flow_table *t, const struct mt_flow_config *cfg,
		       mt_flow_end_fn end_fn, mt_flow_port_fn server_port_fn,
		       void *ctx, struct mt_counters *ctr);
void mt_flow_table_free(struct mt_flow_table *t);

/* A lookup split in stages so a burst can prefetch ahead of itself. */
struct mt_flow_lookup {
	struct mt_flow_key key;
	uint32_t hash;
	bool src_a;
};

/* Stage 1: key and hash; prefetches the hash bucket. */
void mt_flow_lookup_prepare(const struct mt_flow_table *t, const struct mt_pkt *pkt,
			    struct mt_flow_lookup *lk);

/* Stage 2: prefetches the first flow of the bucket's chain. */
static inline void mt_flow_lookup_prefetch(const struct mt_flow_table *t,
					   const struct mt_flow_lookup *lk)
{
	uint32_t idx = t->buckets[lk->hash & t->bucket_mask];

	if (idx != MT_FLOW_NIL)
		__builtin_prefetch(&t->flows[idx]);
}

/* Stage 3: mt_flow_packet() with the key and hash already computed. */
struct mt_flow *mt_flow_packet_lk(struct mt_flow_table *t, const struct mt_pkt *pkt,
				  const struct mt_flow_lookup *lk,
				  enum mt_flow_dir *dir);

/*
 * Find the flow of a decoded TCP/UDP packet, creating it when absent (and
 * evicting the oldest idle flow when the table is full). Accounts the packet
 * (counters, flags, state, LRU) and returns the flow with `*dir` set to the
 * packet's direction. Never fails once the table has a capacity of one.
 */
struct mt_flow *mt_flow_packet(struct mt_flow_table *t, const struct mt_pkt *pkt,
			       enum mt_flow_dir *dir);

/* End flows whose class timeout has passed at `now_ns`. */
void mt_flow_expire(struct mt_flow_table *t, uint64_t now_ns);

/* End one flow now with the given reason (kept if one was already set). */
void mt_flow_end(struct mt_flow_table *t, struct mt_flow *f,
		 enum mt_flow_reason reason);

/* End every flow (end of input, shutdown), oldest first. */
void mt_flow_flush(struct mt_flow_table *t);

static inline uint32_t mt_flow_index(const struct mt_flow_table *t,
				     const struct mt_flow *f)
{
	return (uint32_t)(f - t->flows);
}

const char *mt_flow_reason_name(enum mt_flow_reason r);

#endif
