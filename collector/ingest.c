/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framing, domain binding, template bookkeeping and de-duplication of one
 * session's IPFIX messages (see ingest.h). The sequence arithmetic counts
 * every data record of a message, stored or not, which is why a data set
 * of a template the session never defined is refused rather than skipped:
 * its records could not be counted, and the numbers after it would be
 * wrong.
 */
#include "ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void mt_ingest_init(struct mt_ingest *c, uint32_t pen)
{
	memset(c, 0, sizeof(*c));
	mt_ipfix_dec_init(&c->dec, pen);
}

void mt_ingest_free(struct mt_ingest *c)
{
	mt_ipfix_dec_free(&c->dec);
	free(c->in);
	c->in = NULL;
	c->len = c->cap = 0;
}

static bool grow(struct mt_ingest *c, size_t want)
{
	uint8_t *n;

	want = MT_MIN(want, (size_t)MT_IPFIX_MSG_MAX);
	if (want <= c->cap)
		return true;
	n = realloc(c->in, want);
	if (!n)
		return false;
	c->in = n;
	c->cap = want;
	return true;
}

size_t mt_ingest_space(struct mt_ingest *c, uint8_t **p)
{
	long ml;

	if (!c->cap && !grow(c, MT_INGEST_BUF_MIN))
		return 0;
	/* A message longer than what we hold: make room for all of it, never
	 * more than IPFIX's 65535 bytes. */
	ml = mt_ipfix_msg_len(c->in, c->len);
	if (ml > 0 && (size_t)ml > c->cap && !grow(c, (size_t)ml))
		return 0;
	*p = c->in + c->len;
	return c->cap - c->len;
}

void mt_ingest_added(struct mt_ingest *c, size_t n)
{
	c->len += MT_MIN(n, c->cap - c->len);
}

bool mt_ingest_ready(const struct mt_ingest *c)
{
	long ml = c->in ? mt_ipfix_msg_len(c->in, c->len) : 0;

	return ml != 0 && (ml < 0 || (size_t)ml <= c->len);
}

static bool tid_known(const struct mt_ingest *c, uint32_t domain, uint16_t id, unsigned *at)
{
	for (unsigned i = 0; i < c->ntids; i++)
		if (c->tids[i].id == id && c->tids[i].domain == domain) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(why, whylen, __VA_ARGS__); \
		return -EPROTO;                     \
	} while (0)

/*
 * Walks the sets of a message: learns the template ids it defines or
 * withdraws and refuses data sets whose template is unknown. Lengths are
 * checked here as well as in the decoder, which runs next.
 */
static int prescan(struct mt_ingest *c, const uint8_t *msg, size_t len, uint32_t domain,
		   char *why, size_t whylen)
{
	size_t off = MT_IPFIX_HDR_LEN;

	while (off < len) {
		uint16_t sid, slen;
		size_t end, so;

		if (len - off < MT_IPFIX_SET_HDR_LEN)
			FAIL("set header cut short at offset %zu", off);
		sid = mt_load_be16(msg + off);
		slen = mt_load_be16(msg + off + 2);
		if (slen < MT_IPFIX_SET_HDR_LEN || slen > len - off)
			FAIL("set %u at offset %zu: length %u beyond the message", sid, off, slen);
		end = off + slen;
		so = off + MT_IPFIX_SET_HDR_LEN;
		if (sid == MT_IPFIX_SET_TEMPLATE || sid == MT_IPFIX_SET_OPTIONS) {
			while (end - so >= 4) {
				uint16_t id = mt_load_be16(msg + so), count = mt_load_be16(msg + so + 2);
				unsigned at;

				so += 4;
				if (count == 0) {
					if (tid_known(c, domain, id, &at))
						c->tids[at] = c->tids[--c->ntids];
					continue;
				}
				if (sid == MT_IPFIX_SET_OPTIONS) {
					if (end - so < 2)
						FAIL("options template %u cut short", id);
					so += 2;
				}
				for (unsigned i = 0; i < count; i++) {
					if (end - so < 4)
						FAIL("template %u: field %u cut short", id, i);
					so += (mt_load_be16(msg + so) & 0x8000) ? 8 : 4;
					if (so > end)
						FAIL("template %u: enterprise number of field %u cut short",
						     id, i);
				}
				if (!tid_known(c, domain, id, NULL)) {
					if (c->ntids == MT_INGEST_TMPL_MAX)
						FAIL("more than %u templates in one session",
						     MT_INGEST_TMPL_MAX);
					c->tids[c->ntids].domain = domain;
					c->tids[c->ntids++].id = id;
				}
			}
		} else if (sid >= 256) {
			if (!tid_known(c, domain, sid, NULL))
				FAIL("data set of template %u, which this session never defined", sid);
		} else {
			FAIL("set id %u is reserved", sid);
		}
		off = end;
	}
	return 0;
}

struct take {
	struct mt_ingest_env *env;
	struct mt_seq_msg sm;
	uint32_t domain;
	size_t start_len;
	bool overflow;
	int add_err;
};

static int on_record(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct take *t = ctx;
	struct mt_batch_meta m;
	/* Counters already include this record: its index among the
	 * message's data records (stored types or not). */
	uint32_t index = info->records + info->skipped - 1;
	int rc;

	if (mt_seq_take(&t->sm, index))
		return 0;
	if (t->env->batch->len + mt_batch_rec_size(r) - t->start_len > MT_INGEST_EXPAND_MAX) {
		t->overflow = true;
		return 1;
	}
	m.app = t->env->app;
	m.domain = t->domain;
	m.seq = t->sm.start + index;
	rc = mt_batch_add(t->env->batch, r, &m);
	if (rc) {
		t->add_err = rc;
		return 1;
	}
	return 0;
}

static void note_domain(struct mt_ingest *c, uint32_t domain)
{
	for (unsigned i = 0; i < c->ndoms; i++)
		if (c->doms[i] == domain)
			return;
	if (c->ndoms < MT_COLL_DOMAINS_MAX)
		c->doms[c->ndoms++] = domain;
}

/* One complete message of `len` bytes. */
static int take_message(struct mt_ingest *c, struct mt_ingest_env *env, const uint8_t *msg,
			size_t len, char *why, size_t whylen)
{
	struct mt_batch *b = env->batch;
	uint32_t domain = mt_load_be32(msg + 12);
	uint32_t by_type[MT_REC__COUNT];
	struct mt_ipfix_msg_info info;
	struct mt_ingest_dom *dom;
	struct take t;
	uint32_t n;
	char dwhy[200];
	int rc;

	if (!mt_coll_appliance_has_domain(env->appliance, domain)) {
		snprintf(why, whylen, "observation domain %u is not bound to appliance %s", domain,
			 env->appliance->name);
		return -EPERM;
	}
	dom = env->lookup(env->ctx, domain);
	if (!dom) {
		snprintf(why, whylen, "observation domain %u has no state (configuration changed?)",
			 domain);
		return -EPERM;
	}
	if (b->max - b->len < MT_INGEST_EXPAND_MAX)
		return -EAGAIN;
	rc = prescan(c, msg, len, domain, why, whylen);
	if (rc)
		return rc;
	memset(&t, 0, sizeof(t));
	t.env = env;
	t.domain = domain;
	t.start_len = b->len;
	memcpy(by_type, b->by_type, sizeof(by_type));
	{
		uint32_t nrec = b->nrec;

		mt_seq_begin(&dom->seq, mt_load_be32(msg + 8), &t.sm);
		rc = mt_ipfix_decode(&c->dec, msg, len, on_record, &t, &info, dwhy, sizeof(dwhy));
		if (rc || t.overflow || t.add_err) {
			/* Take the whole message back: it is stored whole or not
			 * at all, and its numbers are not consumed. */
			mt_batch_truncate(b, t.start_len, nrec, by_type);
			if (t.overflow)
				snprintf(why, whylen, "message decodes to more than %u bytes of records",
					 MT_INGEST_EXPAND_MAX);
			else if (t.add_err)
				snprintf(why, whylen, "batch: %s", strerror(-t.add_err));
			else
				snprintf(why, whylen, "IPFIX: %s", dwhy);
			return -EPROTO;
		}
	}
	n = info.records + info.skipped;
	if (n) {
		mt_seq_end(&dom->seq, &t.sm, n);
		if (info.records) {
			if (!dom->first_seen_us)
				dom->first_seen_us = env->now_us;
			dom->last_seen_us = env->now_us;
		}
		dom->dirty = true;
	} else if (mt_seq_anchor(&dom->seq, t.sm.start)) {
		/* A new domain's templates say where its numbers start: store
		 * that, so the acknowledgement after the next commit tells the
		 * exporter the number we expect (it waits for it). */
		dom->dirty = true;
	}
	note_domain(c, domain);
	c->messages++;
	c->records += t.sm.stored;
	c->duplicates += t.sm.dups;
	return 0;
}

int mt_ingest_process(struct mt_ingest *c, struct mt_ingest_env *env, unsigned max_msgs,
		      char *why, size_t whylen)
{
	size_t done = 0;
	int rc = 0;

	if (!c->in)
		return 0;
	for (unsigned n = 0; n < max_msgs; n++) {
		long ml = mt_ipfix_msg_len(c->in + done, c->len - done);

		if (ml < 0) {
			const uint8_t *h = c->in + done;

			snprintf(why, whylen,
				 "not an IPFIX message: version %u, length %u (bytes %02x %02x %02x %02x)",
				 mt_load_be16(h), mt_load_be16(h + 2), h[0], h[1], h[2], h[3]);
			rc = -EPROTO;
			break;
		}
		if (ml == 0 || (size_t)ml > c->len - done)
			break;
		rc = take_message(c, env, c->in + done, (size_t)ml, why, whylen);
		if (rc)
			break;
		done += (size_t)ml;
	}
	if (done) {
		memmove(c->in, c->in + done, c->len - done);
		c->len -= done;
	}
	return rc;
}
