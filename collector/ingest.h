/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The collector's input path for one transport session, after TLS: bytes
 * are framed into IPFIX messages (one at a time, the buffer never holds
 * more than the largest message), each message is checked against the
 * domains its appliance may use, decoded with the session's templates,
 * de-duplicated by sequence number and appended to the open batch. A
 * message is taken whole or not at all: if it turns out malformed halfway,
 * the records it already added are taken back out of the batch.
 */
#ifndef MT_INGEST_H
#define MT_INGEST_H

#include "batch.h"
#include "coll_config.h"
#include "ipfix.h"
#include "seq.h"

/* Packed bytes one message may expand into. A legitimate message of
 * 64 KiB decodes into a few hundred KiB; a hostile one of tiny records
 * of the largest type would be ~100 MiB, and is refused instead. */
#define MT_INGEST_EXPAND_MAX (4u << 20)
#define MT_INGEST_TMPL_MAX 128
#define MT_INGEST_BUF_MIN 16384

/* Observation domain state, owned by the server (or a test). */
struct mt_ingest_dom {
	uint32_t domain;
	uint16_t app;
	bool dirty;               /* changed since the last batch snapshot */
	struct mt_seq seq;
	int64_t first_seen_us;
	int64_t last_seen_us;
};

/* What processing needs from its owner. */
struct mt_ingest_env {
	struct mt_batch *batch;
	struct mt_ingest_dom *(*lookup)(void *ctx, uint32_t domain);
	void *ctx;
	const struct mt_coll_appliance *appliance;
	uint16_t app;
	int64_t now_us;
};

struct mt_ingest {
	struct mt_ipfix_dec dec;
	uint8_t *in;
	size_t len;
	size_t cap;
	unsigned ntids;
	struct {
		uint32_t domain;
		uint16_t id;
	} tids[MT_INGEST_TMPL_MAX];
	unsigned ndoms;
	uint32_t doms[MT_COLL_DOMAINS_MAX];   /* domains this session sent */
	uint64_t messages;
	uint64_t records;
	uint64_t duplicates;
};

void mt_ingest_init(struct mt_ingest *c, uint32_t pen);
void mt_ingest_free(struct mt_ingest *c);

/*
 * Where the next bytes go: sets *p and returns how many fit (at least one
 * while the buffered message is incomplete). 0 only when the buffer holds
 * a complete message to process first, or on allocation failure.
 */
size_t mt_ingest_space(struct mt_ingest *c, uint8_t **p);
void mt_ingest_added(struct mt_ingest *c, size_t n);

/* True when a complete message is buffered. */
bool mt_ingest_ready(const struct mt_ingest *c);

/*
 * Takes in up to `max_msgs` complete messages. Returns 0 (what was
 * complete is done), -EAGAIN (the batch has no room for another message:
 * call again once it has been handed to the writer), -EPERM (a message for
 * a domain not bound to the appliance) or -EPROTO (malformed), the last
 * two with the reason in `why`: close the session.
 */
int mt_ingest_process(struct mt_ingest *c, struct mt_ingest_env *env, unsigned max_msgs,
		      char *why, size_t whylen);

#endif
