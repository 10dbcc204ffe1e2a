/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The detection engine: bounded LRU tables keyed by address, prefix, user
 * or server, sliding windows and capped distinct sets over packet time,
 * allow-lists, and the alert builder with its small queue. The detector
 * families (detect_*.c) use these; this file also routes each record to
 * them. Everything is allocated in mt_detect_create and nothing after.
 */
#include "detect_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "decode.h"

const struct dsig_desc mt_detect_sigs[SIG__COUNT] = {
#define DSIG_DESC(n, id, det, sev, cat, title) \
	[SIG_##n] = { id, DET_##det, sev, cat, title },
	DSIGS(DSIG_DESC)
#undef DSIG_DESC
};

const char *const mt_detect_names[DET__COUNT] = {
	[DET_BRUTEFORCE] = "bruteforce",
	[DET_SPRAYING] = "spraying",
	[DET_STUFFING] = "stuffing",
	[DET_CLEARTEXT] = "cleartext",
	[DET_STARTTLS] = "starttls",
	[DET_EXFIL] = "exfiltration",
	[DET_EXPLOIT] = "exploit",
	[DET_RELAY] = "relay",
	[DET_SCAN] = "scan",
};

/* ---- keyed hash ---- */

/* SipHash-1-3: keyed with a random seed so that nobody can choose user
 * names or addresses that pile into one hash chain. */
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
	} while (0)

uint64_t mt_detect_hash(const struct mt_detect *d, const void *p, size_t n)
{
	const uint8_t *in = p;
	uint64_t k0 = d->seed[0], k1 = d->seed[1];
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)n << 56, m;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- bounded LRU tables ---- */

struct dent {
	uint32_t hnext;
	uint32_t prev;       /* towards the head (more recent) */
	uint32_t next;       /* towards the tail */
	uint32_t hash;
	uint64_t touched;
};

#define ALIGN8(x) (((x) + 7u) & ~7u)

static struct dent *ent(const struct dtab *t, uint32_t i)
{
	return (struct dent *)(t->mem + (size_t)i * t->esize);
}

static int tab_init(struct dtab *t, const char *name, uint32_t cap, uint32_t ksize,
		    uint32_t vsize, uint64_t idle_ns, enum mt_ctr evict_ctr)
{
	uint32_t nb = 1;

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->ksize = ksize;
	t->voff = ALIGN8((uint32_t)sizeof(struct dent) + ALIGN8(ksize));
	t->esize = ALIGN8(t->voff + vsize);
	t->idle_ns = idle_ns;
	t->evict_ctr = evict_ctr;
	t->head = t->tail = DNIL;
	if (cap == 0)
		return 0;
	while (nb < cap)
		nb <<= 1;
	t->mem = calloc(cap, t->esize);
	t->bucket = malloc((size_t)nb * sizeof(*t->bucket));
	if (!t->mem || !t->bucket)
		return -ENOMEM;
	memset(t->bucket, 0xff, (size_t)nb * sizeof(*t->bucket));
	t->mask = nb - 1;
	t->cap = cap;
	t->bytes = (size_t)cap * t->esize + (size_t)nb * sizeof(*t->bucket);
	return 0;
}

static void tab_free(struct dtab *t)
{
	free(t->mem);
	free(t->bucket);
	t->mem = NULL;
	t->bucket = NULL;
}

static void lru_unlink(struct dtab *t, uint32_t i)
{
	struct dent *e = ent(t, i);

	if (e->prev != DNIL)
		ent(t, e->prev)->next = e->next;
	else
		t->head = e->next;
	if (e->next != DNIL)
		ent(t, e->next)->prev = e->prev;
	else
		t->tail = e->prev;
}

static void lru_push(struct dtab *t, uint32_t i)
{
	struct dent *e = ent(t, i);

	e->prev = DNIL;
	e->next = t->head;
	if (t->head != DNIL)
		ent(t, t->head)->prev = i;
	t->head = i;
	if (t->tail == DNIL)
		t->tail = i;
}

static void chain_unlink(struct dtab *t, uint32_t i)
{
	uint32_t *pp = &t->bucket[ent(t, i)->hash & t->mask];

	/* Chains are short: the load factor is at most one and placement
	 * is keyed, so this walk is O(1) on average. */
	while (*pp != DNIL && *pp != i)
		pp = &ent(t, *pp)->hnext;
	if (*pp == i)
		*pp = ent(t, i)->hnext;
}

void *mt_detect_tab_get(struct mt_detect *d, enum dtab_id id, const void *key, bool create)
{
	struct dtab *t = &d->tab[id];
	uint32_t h, i;
	struct dent *e;

	if (!t->cap)
		return NULL;
	h = (uint32_t)mt_detect_hash(d, key, t->ksize);
	for (i = t->bucket[h & t->mask]; i != DNIL; i = e->hnext) {
		e = ent(t, i);
		if (e->hash == h && memcmp(e + 1, key, t->ksize) == 0) {
			if (t->head != i) {
				lru_unlink(t, i);
				lru_push(t, i);
			}
			/* Idle past every window of the table: start afresh, as
			 * a new entry would. */
			if (d->now - e->touched > t->idle_ns)
				memset((uint8_t *)e + t->voff, 0, t->esize - t->voff);
			e->touched = d->now;
			return (uint8_t *)e + t->voff;
		}
	}
	if (!create)
		return NULL;
	if (t->used < t->cap) {
		i = t->used++;
	} else {
		i = t->tail;
		/* A stale entry holds nothing a window still needs; only live
		 * state lost to the cap is an eviction. */
		if (d->now - ent(t, i)->touched <= t->idle_ns)
			d->ctr.v[t->evict_ctr]++;
		chain_unlink(t, i);
		lru_unlink(t, i);
	}
	e = ent(t, i);
	memset(e, 0, t->esize);
	e->hash = h;
	e->touched = d->now;
	memcpy(e + 1, key, t->ksize);
	e->hnext = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = i;
	lru_push(t, i);
	return (uint8_t *)e + t->voff;
}

/* ---- windows, sets, flows, episodes ---- */

uint64_t mt_detect_win_add(struct dwin *w, uint64_t window, uint64_t now, uint64_t n)
{
	uint64_t slot = MT_MAX(window / DW_SLOTS, 1), idx = now / slot, sum = 0;

	if (idx > w->head) {
		if (idx - w->head >= DW_SLOTS) {
			memset(w->v, 0, sizeof(w->v));
		} else {
			for (uint64_t k = w->head + 1; k <= idx; k++)
				w->v[k % DW_SLOTS] = 0;
		}
		w->head = idx;
	}
	/* Time never runs backwards here (the engine clock is the newest
	 * record time), so the current slice is the newest one. */
	w->v[w->head % DW_SLOTS] = w->v[w->head % DW_SLOTS] + n < n ?
		UINT64_MAX : w->v[w->head % DW_SLOTS] + n;
	for (unsigned k = 0; k < DW_SLOTS; k++)
		sum = sum + w->v[k] < sum ? UINT64_MAX : sum + w->v[k];
	return sum;
}

static uint32_t secs(uint64_t ns)
{
	return (uint32_t)(ns / MT_NS_PER_SEC);
}

unsigned mt_detect_set_count(struct dset *s, uint64_t now, uint64_t window)
{
	uint32_t now_s = secs(now), win_s = secs(window);
	unsigned j = 0;

	for (unsigned i = 0; i < s->n; i++) {
		if (now_s - s->t[i] < win_s) {
			s->h[j] = s->h[i];
			s->t[j] = s->t[i];
			j++;
		}
	}
	s->n = (uint8_t)j;
	return j;
}

unsigned mt_detect_set_add(struct dset *s, uint32_t h, uint64_t now, uint64_t window)
{
	unsigned n = mt_detect_set_count(s, now, window), oldest = 0;

	for (unsigned i = 0; i < n; i++) {
		if (s->h[i] == h) {
			s->t[i] = secs(now);
			return n;
		}
		if (s->t[i] < s->t[oldest])
			oldest = i;
	}
	if (n < DSET_MAX) {
		s->h[n] = h;
		s->t[n] = secs(now);
		s->n = (uint8_t)(n + 1);
		return n + 1;
	}
	/* Saturated: keep the newest DSET_MAX; the count says "at least". */
	s->h[oldest] = h;
	s->t[oldest] = secs(now);
	return n;
}

void mt_detect_flows_add(struct dflows *f, uint64_t id)
{
	if (!id)
		return;
	for (unsigned i = 0; i < f->n; i++)
		if (f->id[i] == id)
			return;
	if (f->n < DFLOWS) {
		f->id[f->n++] = id;
		return;
	}
	f->id[f->pos] = id;
	f->pos = (uint8_t)((f->pos + 1) % DFLOWS);
}

void mt_detect_alert_touch(struct dalert *a, uint64_t now, uint64_t window)
{
	if (a->last && now - a->last > window)
		memset(a, 0, sizeof(*a));
	if (!a->first)
		a->first = now;
	a->last = now;
}

int mt_detect_alert_due(const struct mt_detect *d, const struct dalert *a, uint64_t count)
{
	if (!a->emitted)
		return 0;
	if (count <= a->count_at)
		return -1;
	if (d->now - a->emitted >= d->cfg.update_ns || count >= 2 * a->count_at)
		return a->update + 1;
	return -1;
}

/* ---- names, addresses, text ---- */

void mt_detect_name_set(struct mt_detect *d, struct dname *n, struct mt_view v)
{
	memset(n, 0, sizeof(*n));
	if (v.len > DNAME_MAX) {
		d->ctr.v[MT_CTR_detect_names_truncated]++;
		v.len = DNAME_MAX;
	}
	n->len = (uint8_t)v.len;
	memcpy(n->s, v.p, v.len);
}

void mt_detect_addr_from_ip(struct daddr *a, const struct mt_ipaddr *ip)
{
	memset(a, 0, sizeof(*a));
	a->ver = ip->ver;
	memcpy(a->a, ip->a, ip->ver == 4 ? 4 : 16);
}

void mt_detect_addr_prefix(struct daddr *dst, const struct daddr *src, unsigned plen)
{
	unsigned bits = src->ver == 4 ? 32 : 128;

	*dst = *src;
	if (plen >= bits)
		plen = bits;
	dst->plen = (uint8_t)plen;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen > i * 8 ? MT_MIN(plen - i * 8, 8u) : 0;

		dst->a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

void mt_detect_server_from(struct dserver *s, const struct mt_ipaddr *ip, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	mt_detect_addr_from_ip(&s->a, ip);
	s->port = port;
}

void mt_detect_addr_str(const struct daddr *a, char *out, size_t len)
{
	char ip[64];

	if (!a->ver) {
		snprintf(out, len, "?");
		return;
	}
	mt_addr_format(a->a, a->ver, ip, sizeof(ip));
	if (a->plen)
		snprintf(out, len, "%s/%u", ip, a->plen);
	else
		snprintf(out, len, "%s", ip);
}

void mt_detect_server_str(const struct dserver *s, char *out, size_t len)
{
	char ip[64];

	if (!s->a.ver) {
		snprintf(out, len, "?");
		return;
	}
	mt_addr_format(s->a.a, s->a.ver, ip, sizeof(ip));
	snprintf(out, len, s->a.ver == 6 ? "[%s]:%u" : "%s:%u", ip, s->port);
}

const char *mt_detect_app_upper(uint8_t app)
{
	switch (app) {
	case MT_APP_SMTP:
		return "SMTP";
	case MT_APP_IMAP:
		return "IMAP";
	case MT_APP_POP3:
		return "POP3";
	case MT_APP_TLS:
		return "TLS";
	default:
		return "mail";
	}
}

void mt_detect_escape(const uint8_t *p, size_t n, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!len)
		return;
	for (size_t i = 0; i < n; i++) {
		char tmp[4];
		size_t k = 0;

		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			tmp[k++] = (char)p[i];
		} else if (p[i] == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = '\\';
		} else {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[p[i] >> 4];
			tmp[k++] = hex[p[i] & 15];
		}
		/* Room for this piece, and for "..." if more follows. */
		if (o + k + (i + 1 < n ? 3 : 0) >= len) {
			if (o + 3 < len) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, k);
		o += k;
	}
	out[o] = '\0';
}

void mt_detect_user_str(const struct mt_detect *d, const struct dname *n, char *out, size_t len)
{
	if (!n || !n->len) {
		snprintf(out, len, "an unknown user");
		return;
	}
	if (!d->names_in_text) {
		snprintf(out, len, "a user");
		return;
	}
	mt_detect_escape((const uint8_t *)n->s, n->len, out, len);
}

void mt_detect_bytes_str(uint64_t b, char *out, size_t len)
{
	if (b < 10240)
		snprintf(out, len, "%llu bytes", (unsigned long long)b);
	else if (b < 10ull << 20)
		snprintf(out, len, "%.1f KiB", (double)b / 1024);
	else if (b < 10ull << 30)
		snprintf(out, len, "%.1f MiB", (double)b / (1 << 20));
	else
		snprintf(out, len, "%.1f GiB", (double)b / (1 << 30));
}

void mt_detect_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
}

void mt_detect_secs_str(uint64_t ns, char *out, size_t len)
{
	uint64_t s = (ns + MT_NS_PER_SEC / 2) / MT_NS_PER_SEC;

	if (s < 120)
		snprintf(out, len, "%llu s", (unsigned long long)s);
	else if (s < 7200)
		snprintf(out, len, "%llu min", (unsigned long long)(s + 30) / 60);
	else
		snprintf(out, len, "%llu h", (unsigned long long)(s + 1800) / 3600);
}

/* ---- allow-lists ---- */

static bool cidr_match(const struct mt_config_cidr *c, const struct daddr *a)
{
	unsigned full = c->plen / 8, rest = c->plen % 8;

	if (c->ver != a->ver)
		return false;
	if (memcmp(c->a, a->a, full) != 0)
		return false;
	return !rest || ((c->a[full] ^ a->a[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static bool list_match(const struct dallow *l, const struct daddr *src,
		       const struct dserver *srv, const struct dname *user)
{
	if (src && src->ver)
		for (unsigned i = 0; i < l->nsrc; i++)
			if (cidr_match(&l->src[i], src))
				return true;
	if (srv && srv->a.ver)
		for (unsigned i = 0; i < l->nsrv; i++)
			if (cidr_match(&l->srv[i], &srv->a))
				return true;
	if (user && user->len)
		for (unsigned i = 0; i < l->nuser; i++)
			if (l->user[i].len == user->len &&
			    memcmp(l->user[i].s, user->s, user->len) == 0)
				return true;
	return false;
}

bool mt_detect_allowed(struct mt_detect *d, enum ddet det, const struct daddr *src,
		       const struct dserver *srv, const struct dname *user)
{
	if (list_match(&d->allow_all, src, srv, user) ||
	    list_match(&d->allow[det], src, srv, user)) {
		d->ctr.v[MT_CTR_detect_allowlisted]++;
		return true;
	}
	return false;
}

/* The same parser as the configuration's check (config.c), so a list that
 * --check-config accepts is one detection accepts. */
_Static_assert(DLIST_MAX == MT_CONFIG_ALLOW_MAX, "allow-list caps differ");

struct lparse {
	struct mt_detect *d;
	struct dallow *l;
	int kind;            /* 0 sources, 1 servers, 2 users */
	const char *bad;
	size_t badlen;
	bool full;
};

static bool add_word(void *arg, const char *w, size_t n)
{
	struct lparse *p = arg;
	struct dallow *l = p->l;
	uint16_t *cnt = p->kind == 0 ? &l->nsrc : p->kind == 1 ? &l->nsrv : &l->nuser;

	if (*cnt >= DLIST_MAX) {
		p->full = true;
		return false;
	}
	if (p->kind == 2) {
		struct mt_view v = { (const uint8_t *)w, n };

		mt_detect_name_set(p->d, &l->user[*cnt], v);
	} else if (!mt_config_parse_cidr(w, n, p->kind == 0 ? &l->src[*cnt] : &l->srv[*cnt])) {
		p->bad = w;
		p->badlen = n;
		return false;
	}
	(*cnt)++;
	return true;
}

static int parse_allow(struct mt_detect *d, struct dallow *l, const struct mt_config_allow *c,
		       const char *prefix, char *err, size_t errlen)
{
	static const char *const kinds[] = { "sources", "servers", "users" };
	const char *txt[3] = { c->sources, c->servers, c->users };

	for (int k = 0; k < 3; k++) {
		struct lparse p = { d, l, k, NULL, 0, false };

		if (mt_config_each_word(txt[k], add_word, &p))
			continue;
		if (p.full)
			snprintf(err, errlen, "[detect] %s_%s: more than %u entries",
				 prefix, kinds[k], DLIST_MAX);
		else
			snprintf(err, errlen,
				 "[detect] %s_%s: `%.*s' is not an address or CIDR prefix",
				 prefix, kinds[k], (int)MT_MIN(p.badlen, (size_t)60), p.bad);
		return -EINVAL;
	}
	return 0;
}

/* ---- alerts ---- */

static const enum mt_ctr det_ctr[DET__COUNT] = {
	[DET_BRUTEFORCE] = MT_CTR_detect_alerts_bruteforce,
	[DET_SPRAYING] = MT_CTR_detect_alerts_spraying,
	[DET_STUFFING] = MT_CTR_detect_alerts_stuffing,
	[DET_CLEARTEXT] = MT_CTR_detect_alerts_cleartext,
	[DET_STARTTLS] = MT_CTR_detect_alerts_starttls,
	[DET_EXFIL] = MT_CTR_detect_alerts_exfiltration,
	[DET_EXPLOIT] = MT_CTR_detect_alerts_exploit,
	[DET_RELAY] = MT_CTR_detect_alerts_relay,
	[DET_SCAN] = MT_CTR_detect_alerts_scan,
};

void mt_detect_out_init(struct dalert_out *o, enum dsig sig, int update,
			const struct devent *ev, struct dalert *st, uint64_t count,
			const struct dflows *flows)
{
	memset(o, 0, sizeof(*o));
	o->sig = sig;
	o->update = update;
	o->ev = ev;
	o->st = st;
	o->count = count;
	o->flows = flows;
}

static void set_cstr(struct mt_rec *r, struct mt_sref *dst, const char *s)
{
	if (s && s[0])
		mt_rec_set_str(r, dst, s, strlen(s));
}

void mt_detect_emit(struct mt_detect *d, struct dalert_out *o)
{
	const struct dsig_desc *sd = &mt_detect_sigs[o->sig];
	const struct mt_body_flow *c = o->ev->c;
	struct mt_body_alert *b;
	struct mt_rec *r;

	o->st->emitted = d->now;
	o->st->count_at = o->count;
	o->st->update = (uint16_t)o->update;
	if (d->nqueue >= DQUEUE) {
		d->ctr.v[MT_CTR_detect_alerts_dropped]++;
		return;
	}
	r = &d->queue[d->nqueue++];
	mt_rec_init(r, MT_REC_alert);
	b = &r->b.alert;
	b->timestamp = d->now;
	b->flow_id = c->flow_id;
	b->src_ip = c->src_ip;
	b->src_port = c->src_port;
	b->dest_ip = c->dest_ip;
	b->dest_port = c->dest_port;
	b->proto = c->proto;
	b->app_proto = c->app_proto;
	set_cstr(r, &b->action, "allowed");
	b->signature_id = sd->id;
	set_cstr(r, &b->signature, o->msg);
	set_cstr(r, &b->category, sd->category);
	b->severity = o->severity ? o->severity : sd->severity;
	set_cstr(r, &b->detector, mt_detect_names[sd->det]);
	b->update = (uint16_t)o->update;
	set_cstr(r, &b->src_prefix, o->source);
	if (o->user && o->user->len)
		mt_rec_set_str(r, &b->user, o->user->s, o->user->len);
	set_cstr(r, &b->server, o->server);
	b->first_seen = o->st->first ? o->st->first : d->now;
	b->last_seen = o->st->last ? o->st->last : d->now;
	b->attempts = o->attempts;
	b->failures = o->failures;
	b->successes = o->successes;
	b->distinct_users = o->distinct_users;
	b->distinct_senders = o->distinct_senders;
	b->distinct_sources = o->distinct_sources;
	b->messages = o->messages;
	b->bytes = o->bytes;
	set_cstr(r, &b->evidence, o->evidence);
	if (o->flows) {
		/* Oldest first: once the ring is full, pos is the oldest. */
		unsigned n = o->flows->n, start = n == DFLOWS ? o->flows->pos : 0;

		for (unsigned i = 0; i < n; i++)
			mt_rec_list_add_u64(r, &b->flow_ids, o->flows->id[(start + i) % DFLOWS]);
	}
	d->ctr.v[MT_CTR_detect_alerts]++;
	if (o->update)
		d->ctr.v[MT_CTR_detect_updates]++;
	if (o->sig == SIG_BF_SUCCESS || o->sig == SIG_BF_PREFIX_SUCCESS ||
	    o->sig == SIG_SPRAY_SUCCESS || o->sig == SIG_STUFF_SUCCESS)
		d->ctr.v[MT_CTR_detect_alerts_compromise]++;
	else
		d->ctr.v[det_ctr[sd->det]]++;
}

/* ---- the engine ---- */

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	return MT_MAX(a, MT_MAX(b, c));
}

static void load_cfg(struct dcfg *c, const struct mt_config *cfg)
{
	const typeof(cfg->detect) *k = &cfg->detect;
	char why[96];

	c->update_ns = k->update_interval_ns;
	c->compromise_ns = k->compromise_window_ns;
	c->det_on[DET_BRUTEFORCE] = k->bruteforce_enable;
	c->det_on[DET_SPRAYING] = k->spraying_enable;
	c->det_on[DET_STUFFING] = k->stuffing_enable;
	c->det_on[DET_CLEARTEXT] = k->cleartext_enable;
	c->det_on[DET_STARTTLS] = k->starttls_enable;
	c->det_on[DET_EXFIL] = k->exfil_enable;
	c->det_on[DET_EXPLOIT] = k->exploit_enable;
	c->det_on[DET_RELAY] = k->relay_enable;
	c->det_on[DET_SCAN] = k->scan_enable;
	c->bf_failures = k->bruteforce_failures;
	c->bf_window = k->bruteforce_window_ns;
	c->bf_prefix4 = (uint8_t)k->bruteforce_prefix4;
	c->bf_prefix6 = (uint8_t)k->bruteforce_prefix6;
	c->spray_users = k->spraying_users;
	c->spray_window = k->spraying_window_ns;
	c->stuff_sources = k->stuffing_sources;
	c->stuff_window = k->stuffing_window_ns;
	c->clear_failures = k->cleartext_failures;
	c->clear_window = k->cleartext_window_ns;
	c->tls_memory = k->starttls_memory_ns;
	c->tls_window = k->starttls_window_ns;
	c->exfil_messages = k->exfil_messages;
	c->exfil_bytes = k->exfil_bytes;
	c->exfil_window = k->exfil_window_ns;
	c->exfil_percent = k->exfil_mailbox_percent;
	c->exfil_min = k->exfil_mailbox_min;
	c->exfil_deletions = k->exfil_deletions;
	c->exploit_window = k->exploit_window_ns;
	c->relay_rcpts = k->relay_recipients;
	c->relay_senders = k->relay_senders;
	c->relay_window = k->relay_window_ns;
	c->scan_targets = k->scan_targets;
	c->scan_window = k->scan_window_ns;
	/* Validated by the configuration parser already. */
	if (!mt_config_parse_ports(k->scan_ports, c->scan_ports, why, sizeof(why)))
		memset(c->scan_ports, 0, sizeof(c->scan_ports));
}

static void seed_hash(struct mt_detect *d)
{
	if (getrandom(d->seed, sizeof(d->seed), GRND_NONBLOCK) != (ssize_t)sizeof(d->seed)) {
		struct timespec ts;

		/* No entropy yet (early boot): placement is still keyed,
		 * only less secret. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		d->seed[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
		d->seed[1] = (uint64_t)(uintptr_t)d * 0xbf58476d1ce4e5b9ull;
	}
}

struct mt_detect *mt_detect_create(const struct mt_config *cfg, mt_detect_emit_fn emit,
				   void *ctx, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		size_t off;
		enum ddet det;
	} lists[] = {
		{ "bruteforce_allow", offsetof(struct mt_config, detect.bruteforce_allow), DET_BRUTEFORCE },
		{ "spraying_allow", offsetof(struct mt_config, detect.spraying_allow), DET_SPRAYING },
		{ "stuffing_allow", offsetof(struct mt_config, detect.stuffing_allow), DET_STUFFING },
		{ "cleartext_allow", offsetof(struct mt_config, detect.cleartext_allow), DET_CLEARTEXT },
		{ "starttls_allow", offsetof(struct mt_config, detect.starttls_allow), DET_STARTTLS },
		{ "exfil_allow", offsetof(struct mt_config, detect.exfil_allow), DET_EXFIL },
		{ "exploit_allow", offsetof(struct mt_config, detect.exploit_allow), DET_EXPLOIT },
		{ "relay_allow", offsetof(struct mt_config, detect.relay_allow), DET_RELAY },
		{ "scan_allow", offsetof(struct mt_config, detect.scan_allow), DET_SCAN },
	};
	const typeof(cfg->detect) *k = &cfg->detect;
	struct mt_detect *d;
	struct dcfg *c;
	bool on_auth, on_events;
	int rc = 0;

	if (errlen)
		err[0] = '\0';
	if (!k->enable)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto nomem;
	d->mem = sizeof(*d);
	d->emit = emit;
	d->emit_ctx = ctx;
	c = &d->cfg;
	load_cfg(c, cfg);
	seed_hash(d);
	/* Names in free text would undo export.identity = hmac or none:
	 * only the alert's user field is rewritten by that transform. */
	d->names_in_text = strcmp(cfg->export.identity, "clear") == 0;
	if (parse_allow(d, &d->allow_all, &k->allow, "allow", err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < MT_ARRAY_SIZE(lists); i++)
		if (parse_allow(d, &d->allow[lists[i].det],
				(const struct mt_config_allow *)((const uint8_t *)cfg + lists[i].off),
				lists[i].prefix, err, errlen) != 0)
			goto fail;

	on_auth = c->det_on[DET_BRUTEFORCE] || c->det_on[DET_SPRAYING];
	on_events = c->det_on[DET_CLEARTEXT] || c->det_on[DET_STARTTLS] ||
		    c->det_on[DET_EXPLOIT] || c->det_on[DET_EXFIL];
	rc |= tab_init(&d->tab[T_AUTH_SRC], "auth_sources", on_auth ? k->auth_sources_max : 0,
		       sizeof(struct daddr), mt_detect_auth_src_size,
		       max3(c->bf_window, c->spray_window, c->compromise_ns),
		       MT_CTR_detect_evictions_auth_sources);
	rc |= tab_init(&d->tab[T_AUTH_PREFIX], "auth_prefixes",
		       c->det_on[DET_BRUTEFORCE] && (c->bf_prefix4 || c->bf_prefix6) ?
			       k->auth_prefixes_max : 0,
		       sizeof(struct daddr), mt_detect_auth_prefix_size,
		       MT_MAX(c->bf_window, c->compromise_ns),
		       MT_CTR_detect_evictions_auth_prefixes);
	rc |= tab_init(&d->tab[T_AUTH_USER], "auth_users",
		       c->det_on[DET_STUFFING] ? k->auth_users_max : 0,
		       sizeof(struct dname), mt_detect_auth_user_size,
		       MT_MAX(c->stuff_window, c->compromise_ns),
		       MT_CTR_detect_evictions_auth_users);
	rc |= tab_init(&d->tab[T_EXFIL], "exfil_users", c->det_on[DET_EXFIL] ? k->exfil_users_max : 0,
		       sizeof(struct dukey), mt_detect_exfil_size, c->exfil_window,
		       MT_CTR_detect_evictions_exfil_users);
	rc |= tab_init(&d->tab[T_RELAY], "relay_keys", c->det_on[DET_RELAY] ? k->relay_keys_max : 0,
		       sizeof(struct dukey), mt_detect_relay_size, c->relay_window,
		       MT_CTR_detect_evictions_relay_keys);
	rc |= tab_init(&d->tab[T_SCAN], "scan_sources", c->det_on[DET_SCAN] ? k->scan_sources_max : 0,
		       sizeof(struct daddr), mt_detect_scan_size, c->scan_window,
		       MT_CTR_detect_evictions_scan_sources);
	rc |= tab_init(&d->tab[T_SERVERS], "servers", c->det_on[DET_STARTTLS] ? k->servers_max : 0,
		       sizeof(struct dserver), mt_detect_server_size, c->tls_memory,
		       MT_CTR_detect_evictions_servers);
	rc |= tab_init(&d->tab[T_EVENTS], "events", on_events ? k->events_max : 0,
		       sizeof(struct devkey), mt_detect_event_size,
		       MT_MAX(max3(c->clear_window, c->tls_window, c->exploit_window),
			      c->exfil_window),
		       MT_CTR_detect_evictions_events);
	if (rc)
		goto nomem;
	for (unsigned t = 0; t < T__COUNT; t++)
		d->mem += d->tab[t].bytes;
	d->queue = calloc(DQUEUE, sizeof(*d->queue));
	d->stats = calloc(1, sizeof(*d->stats));
	if (!d->queue || !d->stats)
		goto nomem;
	d->mem += (DQUEUE + 1) * sizeof(struct mt_rec);
	return d;
nomem:
	snprintf(err, errlen, "[detect]: cannot allocate the detection tables (see *_max)");
fail:
	mt_detect_destroy(d);
	return NULL;
}

void mt_detect_destroy(struct mt_detect *d)
{
	if (!d)
		return;
	for (unsigned t = 0; t < T__COUNT; t++)
		tab_free(&d->tab[t]);
	free(d->queue);
	free(d->stats);
	free(d);
}

void mt_detect_record(struct mt_detect *d, const struct mt_rec *r)
{
	struct devent ev;

	if (r->type == MT_REC_alert || r->type == MT_REC_stats || r->type >= MT_REC__COUNT)
		return;
	d->ctr.v[MT_CTR_detect_records]++;
	ev.r = r;
	ev.c = MT_REC_CONN(r);
	/* Session summaries carry their start time: the engine clock is the
	 * newest record time seen, so it never runs backwards. */
	if (ev.c->timestamp > d->now)
		d->now = ev.c->timestamp;
	mt_detect_addr_from_ip(&ev.src, &ev.c->src_ip);
	mt_detect_server_from(&ev.srv, &ev.c->dest_ip, ev.c->dest_port);
	switch (r->type) {
	case MT_REC_auth:
		mt_detect_auth(d, &ev);
		break;
	case MT_REC_smtp:
		mt_detect_starttls_session(d, &ev);
		mt_detect_relay(d, &ev);
		break;
	case MT_REC_imap:
	case MT_REC_pop3:
		mt_detect_starttls_session(d, &ev);
		mt_detect_exfil(d, &ev);
		break;
	case MT_REC_tls:
		mt_detect_starttls_tls(d, &ev);
		break;
	case MT_REC_anomaly:
		if (!mt_detect_starttls_anomaly(d, &ev))
			mt_detect_exploit(d, &ev);
		break;
	case MT_REC_flow:
		mt_detect_scan(d, &ev);
		break;
	default:
		break;
	}
}

void mt_detect_flush(struct mt_detect *d)
{
	/* The emit callback writes records; it must not call back into
	 * mt_detect_record, so the queue cannot grow while it drains. */
	for (unsigned i = 0; i < d->nqueue; i++)
		if (d->emit)
			d->emit(d->emit_ctx, &d->queue[i]);
	d->nqueue = 0;
}

const struct mt_rec *mt_detect_stats(struct mt_detect *d, const struct mt_rec *r)
{
	struct mt_body_stats *b;

	if (r->type != MT_REC_stats)
		return r;
	memcpy(d->stats, r, mt_rec_size(r));
	b = &d->stats->b.stats;
	/* Set, not added: whoever built the record may have summed ours in
	 * already (mt_detect_counters_into). */
#define DSTATS_SET(id, g, n, h)                                                \
	if (MT_CTR_##g##_##n >= MT_CTR_detect_records &&                       \
	    MT_CTR_##g##_##n <= MT_CTR_detect_evictions_events)                \
		b->g##_##n = d->ctr.v[MT_CTR_##g##_##n];
	MT_COUNTERS(DSTATS_SET)
#undef DSTATS_SET
	return d->stats;
}

/* The detect group is one run of the counter enum (ids 450-473). */
_Static_assert(MT_CTR_detect_evictions_events - MT_CTR_detect_records == 23,
	       "detect counters must stay contiguous, records first");

void mt_detect_counters_into(const struct mt_detect *d, struct mt_counters *sum)
{
	for (unsigned i = MT_CTR_detect_records; i <= MT_CTR_detect_evictions_events; i++)
		sum->v[i] = d->ctr.v[i];
}

const struct mt_counters *mt_detect_counters(const struct mt_detect *d)
{
	return &d->ctr;
}

size_t mt_detect_memory(const struct mt_detect *d)
{
	return d->mem;
}

bool mt_detect_table_usage(const struct mt_detect *d, unsigned i, const char **name,
			   uint32_t *used, uint32_t *cap, size_t *bytes)
{
	if (i >= T__COUNT)
		return false;
	*name = d->tab[i].name;
	*used = d->tab[i].used;
	*cap = d->tab[i].cap;
	*bytes = d->tab[i].bytes;
	return true;
}
