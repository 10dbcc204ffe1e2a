/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mailbox exfiltration and mass deletion, from IMAP and POP3 session
 * summaries: messages and bytes one user downloads (FETCH of a body, RETR)
 * in a sliding window, a session that takes nearly every message SELECT or
 * STAT announced, and deletions (\Deleted, EXPUNGE, DELE) en masse.
 * A session longer than the window adds to it only its pro-rata share.
 */
#include "detect_impl.h"

struct exf {
	struct dwin msgs;
	struct dwin bytes;
	struct dwin dels;
	struct dalert vol;
	struct dalert del;
	uint64_t vol_msgs;       /* totals of the download episode */
	uint64_t vol_bytes;
	uint32_t vol_sessions;
	uint64_t del_total;
	struct dflows flows;
};

const uint32_t mt_detect_exfil_size = sizeof(struct exf);

/* What one IMAP or POP3 session did to a mailbox. */
struct mbox {
	struct mt_view user;
	struct mt_view box;      /* first mailbox selected (IMAP) */
	uint64_t messages;
	uint64_t bytes;
	uint64_t announced;      /* EXISTS or STAT count */
	uint64_t deleted;
	uint64_t start;          /* the session's first packet */
	uint64_t len;            /* how long it lasted, at least */
	const char *fetched;     /* the verb, for messages */
};

static bool mbox_of(const struct mt_rec *r, struct mbox *m)
{
	struct mt_view result;

	memset(m, 0, sizeof(*m));
	if (r->type == MT_REC_imap) {
		const struct mt_body_imap *b = &r->b.imap;
		uint32_t pos = b->mailboxes.head;

		m->user = mt_rec_str(r, b->auth_user);
		result = mt_rec_str(r, b->auth_result);
		m->messages = b->messages_fetched;
		m->bytes = b->bytes_fetched;
		m->announced = b->exists;
		/* \Deleted then EXPUNGE is one deletion, counted twice. */
		m->deleted = MT_MAX(b->deleted, b->expunged);
		if (b->mailboxes.count)
			mt_rec_list_next(r, &pos, &m->box);
		m->fetched = "fetched";
	} else {
		const struct mt_body_pop3 *b = &r->b.pop3;

		m->user = mt_rec_str(r, b->auth_user);
		result = mt_rec_str(r, b->auth_result);
		m->messages = b->retr_messages;
		m->bytes = b->retr_bytes;
		m->announced = b->stat_messages;
		m->deleted = b->deleted;
		m->fetched = "retrieved";
	}
	/* A failed login's user name owns none of what followed. */
	if (mt_eq_ci(result.p, result.len, "FAILURE"))
		m->user.len = 0;
	return m->messages || m->bytes || m->deleted;
}

/*
 * The part of a session's `n` (messages, bytes or deletions) that could
 * have fallen within one window: all of it when the session was no longer
 * than the window; otherwise, taking the session to have gone at an even
 * pace, n * window / length, rounded up. A summary carries only its
 * session's start and arrives when the session ends, so its length is
 * taken as the engine clock (the newest record time: not later than the
 * real end, but for the lag between workers) minus that start, a lower
 * bound that errs towards counting more. In whole seconds (the length floored, the window rounded up) so
 * that no product leaves 64 bits: the length is below 2^35 s, the window
 * at most 30 days, and the result never exceeds n.
 */
static uint64_t window_share(uint64_t n, uint64_t len_ns, uint64_t window_ns)
{
	uint64_t len = len_ns / MT_NS_PER_SEC;
	uint64_t win = (window_ns + MT_NS_PER_SEC - 1) / MT_NS_PER_SEC;

	if (len <= win)
		return n;
	return n / len * win + ((n % len) * win + len - 1) / len;
}

static void key_of(struct mt_detect *d, const struct devent *ev, const struct mbox *m,
		   struct dukey *k)
{
	memset(k, 0, sizeof(*k));
	if (m->user.len) {
		k->kind = 1;
		mt_detect_name_set(d, &k->user, m->user);
	} else {
		/* No user seen (an opaque SASL mechanism): the source stands in. */
		k->kind = 2;
		k->src = ev->src;
	}
}

static void who_str(const struct mt_detect *d, const struct dukey *k, char *out, size_t len)
{
	if (k->kind == 1)
		mt_detect_user_str(d, &k->user, out, len);
	else
		mt_detect_addr_str(&k->src, out, len);
}

static void volume(struct mt_detect *d, const struct devent *ev, const struct mbox *m,
		   const struct dukey *k, struct exf *e)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	uint64_t nm, nb, sm, sb;
	int upd;
	char who[96], size[32], span[32];

	if (!e->vol.last || d->now - e->vol.last > c->exfil_window)
		e->vol_msgs = e->vol_bytes = e->vol_sessions = 0;
	mt_detect_alert_touch(&e->vol, d->now, c->exfil_window);
	/* The download began when the session did, not when its summary came. */
	e->vol.first = MT_MIN(e->vol.first, m->start);
	e->vol_msgs += m->messages;
	e->vol_bytes += m->bytes;
	e->vol_sessions++;
	sm = window_share(m->messages, m->len, c->exfil_window);
	sb = window_share(m->bytes, m->len, c->exfil_window);
	nm = mt_detect_win_add(&e->msgs, c->exfil_window, d->now, sm);
	nb = mt_detect_win_add(&e->bytes, c->exfil_window, d->now, sb);
	if (nm < c->exfil_messages && nb < c->exfil_bytes && !e->vol.emitted)
		return;
	/* Messages plus MiB: grows with either kind of evidence. */
	upd = mt_detect_alert_due(d, &e->vol, e->vol_msgs + (e->vol_bytes >> 20));
	if (upd < 0)
		return;
	mt_detect_out_init(&o, SIG_EXFIL_VOLUME, upd, ev, &e->vol,
			   e->vol_msgs + (e->vol_bytes >> 20), &e->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	if (k->kind == 1)
		o.user = &k->user;
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.messages = e->vol_msgs;
	o.bytes = e->vol_bytes;
	o.attempts = e->vol_sessions;
	who_str(d, k, who, sizeof(who));
	mt_detect_bytes_str(e->vol_bytes, size, sizeof(size));
	mt_detect_secs_str(e->vol.last - e->vol.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg), "%s mass download: %s %s %llu messages (%s) in %s from %s",
		      mt_detect_app_upper(ev->c->app_proto), who, m->fetched,
		      (unsigned long long)e->vol_msgs, size, span, o.source);
	mt_detect_fmt(o.evidence, sizeof(o.evidence),
		      "%llu messages, %llu bytes in the last %llu s over %u sessions%s",
		      (unsigned long long)nm, (unsigned long long)nb,
		      (unsigned long long)(c->exfil_window / MT_NS_PER_SEC), e->vol_sessions,
		      sm < m->messages || sb < m->bytes ?
			      " (a session longer than that counted pro rata)" : "");
	mt_detect_emit(d, &o);
}

static void whole_mailbox(struct mt_detect *d, const struct devent *ev, const struct mbox *m,
			  const struct dukey *k)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct devkey ek;
	struct devval *v;
	int upd;
	char who[96], box[80] = "", size[32];

	if (m->announced < c->exfil_min || m->messages * 100 < m->announced * c->exfil_percent)
		return;
	memset(&ek, 0, sizeof(ek));
	ek.sig = SIG_EXFIL_MAILBOX;
	ek.src = k->src;
	ek.user = k->user;
	v = mt_detect_tab_get(d, T_EVENTS, &ek, true);
	if (!v)
		return;
	if (!v->a.last || d->now - v->a.last > c->exfil_window)
		v->count = 0;
	mt_detect_alert_touch(&v->a, d->now, c->exfil_window);
	v->count++;
	mt_detect_flows_add(&v->flows, ev->c->flow_id);
	if ((upd = mt_detect_alert_due(d, &v->a, v->count)) < 0)
		return;
	mt_detect_out_init(&o, SIG_EXFIL_MAILBOX, upd, ev, &v->a, v->count, &v->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	if (k->kind == 1)
		o.user = &k->user;
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.messages = m->messages;
	o.bytes = m->bytes;
	o.attempts = v->count;
	who_str(d, k, who, sizeof(who));
	if (m->box.len) {
		char esc[64];

		mt_detect_escape(m->box.p, m->box.len, esc, sizeof(esc));
		mt_detect_fmt(box, sizeof(box), " of %s", esc);
	}
	mt_detect_bytes_str(m->bytes, size, sizeof(size));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "%s whole-mailbox download: %s %s %llu of the %llu messages%s (%s) in one "
		      "session from %s",
		      mt_detect_app_upper(ev->c->app_proto), who, m->fetched,
		      (unsigned long long)m->messages, (unsigned long long)m->announced, box, size,
		      o.source);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%s %llu, announced %llu (%llu%%)",
		      m->fetched, (unsigned long long)m->messages, (unsigned long long)m->announced,
		      (unsigned long long)(m->messages * 100 / m->announced));
	mt_detect_emit(d, &o);
}

static void deletion(struct mt_detect *d, const struct devent *ev, const struct mbox *m,
		     const struct dukey *k, struct exf *e)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	uint64_t n;
	int upd;
	char who[96], span[32];

	if (!e->del.last || d->now - e->del.last > c->exfil_window)
		e->del_total = 0;
	mt_detect_alert_touch(&e->del, d->now, c->exfil_window);
	e->del.first = MT_MIN(e->del.first, m->start);
	e->del_total += m->deleted;
	n = mt_detect_win_add(&e->dels, c->exfil_window, d->now,
			      window_share(m->deleted, m->len, c->exfil_window));
	if ((n < c->exfil_deletions && !e->del.emitted) ||
	    (upd = mt_detect_alert_due(d, &e->del, e->del_total)) < 0)
		return;
	mt_detect_out_init(&o, SIG_EXFIL_DELETE, upd, ev, &e->del, e->del_total, &e->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	if (k->kind == 1)
		o.user = &k->user;
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.messages = e->del_total;
	who_str(d, k, who, sizeof(who));
	mt_detect_secs_str(e->del.last - e->del.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg), "%s mass deletion: %s deleted %llu messages in %s from %s",
		      mt_detect_app_upper(ev->c->app_proto), who, (unsigned long long)e->del_total,
		      span, o.source);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%llu deletions in the last %llu s",
		      (unsigned long long)n, (unsigned long long)(c->exfil_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

void mt_detect_exfil(struct mt_detect *d, const struct devent *ev)
{
	struct mbox m;
	struct dukey k;
	struct exf *e;

	if (!d->cfg.det_on[DET_EXFIL] || !mbox_of(ev->r, &m))
		return;
	/* The engine clock already includes this record's start. */
	m.start = ev->c->timestamp;
	m.len = d->now - m.start;
	key_of(d, ev, &m, &k);
	if (mt_detect_allowed(d, DET_EXFIL, &ev->src, &ev->srv, k.kind == 1 ? &k.user : NULL))
		return;
	e = mt_detect_tab_get(d, T_EXFIL, &k, true);
	if (!e)
		return;
	mt_detect_flows_add(&e->flows, ev->c->flow_id);
	if (m.messages || m.bytes)
		volume(d, ev, &m, &k, e);
	whole_mailbox(d, ev, &m, &k);
	if (m.deleted)
		deletion(d, ev, &m, &k, e);
}
