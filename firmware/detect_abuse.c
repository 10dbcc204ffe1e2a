/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Protocol abuse: exploit strings and malformed commands the analyzers
 * report as anomalies (one alert per source and kind per window, with the
 * offending bytes as evidence), relay abuse and spam bursts from SMTP
 * transactions, and mail-port scans from flows that never became sessions.
 */
#include "detect_impl.h"

#include "decode.h"

/* ---- exploit strings ---- */

static const struct {
	enum mt_ctr anomaly;
	enum dsig sig;
	const char *what;
} exploits[] = {
	{ MT_CTR_anomaly_smtp_expansion_string, SIG_EXP_SMTP_EXPANSION,
	  "${...} expansion string in a command (CVE-2019-10149 style)" },
	{ MT_CTR_anomaly_smtp_command_too_long, SIG_EXP_SMTP_TOO_LONG,
	  "command line over 512 bytes" },
	{ MT_CTR_anomaly_smtp_nul_in_command, SIG_EXP_SMTP_NUL, "NUL byte in a command" },
	{ MT_CTR_anomaly_smtp_non_ascii_command, SIG_EXP_SMTP_NON_ASCII,
	  "non-ASCII bytes in a command" },
	{ MT_CTR_anomaly_smtp_command_before_greeting, SIG_EXP_SMTP_EARLY,
	  "command before the server's greeting" },
	{ MT_CTR_anomaly_smtp_data_smuggling, SIG_EXP_SMTP_SMUGGLING,
	  "end-of-data look-alike in message data (SMTP smuggling)" },
	{ MT_CTR_anomaly_imap_literal_too_large, SIG_EXP_IMAP_LITERAL,
	  "literal of an absurd size" },
	{ MT_CTR_anomaly_imap_line_too_long, SIG_EXP_IMAP_TOO_LONG, "overlong command line" },
	{ MT_CTR_anomaly_imap_nul_in_command, SIG_EXP_IMAP_NUL, "NUL byte in a command" },
	{ MT_CTR_anomaly_imap_non_ascii_command, SIG_EXP_IMAP_NON_ASCII,
	  "non-ASCII bytes in a command" },
	{ MT_CTR_anomaly_imap_command_before_greeting, SIG_EXP_IMAP_EARLY,
	  "command before the server's greeting" },
	{ MT_CTR_anomaly_pop3_line_too_long, SIG_EXP_POP3_TOO_LONG, "overlong command line" },
	{ MT_CTR_anomaly_pop3_nul_in_command, SIG_EXP_POP3_NUL, "NUL byte in a command" },
	{ MT_CTR_anomaly_pop3_non_ascii_command, SIG_EXP_POP3_NON_ASCII,
	  "non-ASCII bytes in a command" },
	{ MT_CTR_anomaly_pop3_command_before_greeting, SIG_EXP_POP3_EARLY,
	  "command before the server's greeting" },
};

void mt_detect_exploit(struct mt_detect *d, const struct devent *ev)
{
	const struct mt_body_anomaly *b = &ev->r->b.anomaly;
	struct mt_view event = mt_rec_str(ev->r, b->event);
	struct mt_view dir = mt_rec_str(ev->r, b->dir);
	struct mt_view e = mt_rec_str(ev->r, b->evidence);
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct devkey k;
	struct devval *v;
	size_t i;
	int upd;
	char esc[160];

	if (!c->det_on[DET_EXPLOIT])
		return;
	for (i = 0; i < MT_ARRAY_SIZE(exploits); i++) {
		const char *name = mt_counter_desc[exploits[i].anomaly].name;

		if (event.len == strlen(name) && memcmp(event.p, name, event.len) == 0)
			break;
	}
	/* Only what a client sends attacks the server. */
	if (i == MT_ARRAY_SIZE(exploits) || mt_eq_ci(dir.p, dir.len, "TOCLIENT") ||
	    mt_detect_allowed(d, DET_EXPLOIT, &ev->src, &ev->srv, NULL))
		return;
	memset(&k, 0, sizeof(k));
	k.sig = (uint16_t)exploits[i].sig;
	k.src = ev->src;
	v = mt_detect_tab_get(d, T_EVENTS, &k, true);
	if (!v)
		return;
	if (!v->a.last || d->now - v->a.last > c->exploit_window)
		v->count = 0;
	mt_detect_alert_touch(&v->a, d->now, c->exploit_window);
	v->count++;
	mt_detect_flows_add(&v->flows, ev->c->flow_id);
	if ((upd = mt_detect_alert_due(d, &v->a, v->count)) < 0)
		return;
	mt_detect_out_init(&o, exploits[i].sig, upd, ev, &v->a, v->count, &v->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.attempts = v->count;
	mt_detect_fmt(o.msg, sizeof(o.msg), "%s exploit attempt: %s from %s to %s",
		      mt_detect_app_upper(ev->c->app_proto), exploits[i].what, o.source, o.server);
	if (v->count > 1)
		mt_detect_fmt(o.msg + strlen(o.msg), sizeof(o.msg) - strlen(o.msg), " (%u connections)",
			      v->count);
	mt_detect_escape(e.p, e.len, esc, sizeof(esc));
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%s", esc);
	mt_detect_emit(d, &o);
}

/* ---- relay abuse and spam bursts ---- */

struct rly {
	struct dwin rcpts;
	struct dalert rc;
	uint64_t rc_total;       /* recipients in the episode */
	uint32_t rc_msgs;        /* transactions in the episode */
	struct dset senders;
	struct dalert snd;
	uint32_t snd_msgs;
	struct dflows flows;
};

const uint32_t mt_detect_relay_size = sizeof(struct rly);

static void relay_rcpts(struct mt_detect *d, const struct devent *ev, const struct dukey *k,
			uint32_t rcpts)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct rly *r = mt_detect_tab_get(d, T_RELAY, k, true);
	uint64_t n;
	int upd;
	char who[96], span[32];

	if (!r)
		return;
	if (!r->rc.last || d->now - r->rc.last > c->relay_window)
		r->rc_total = r->rc_msgs = 0;
	mt_detect_alert_touch(&r->rc, d->now, c->relay_window);
	r->rc_total += rcpts;
	r->rc_msgs++;
	mt_detect_flows_add(&r->flows, ev->c->flow_id);
	n = mt_detect_win_add(&r->rcpts, c->relay_window, d->now, rcpts);
	if ((n < c->relay_rcpts && !r->rc.emitted) ||
	    (upd = mt_detect_alert_due(d, &r->rc, r->rc_total)) < 0)
		return;
	mt_detect_out_init(&o, SIG_RELAY_RCPT, upd, ev, &r->rc, r->rc_total, &r->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	if (k->kind == 1) {
		char u[80];

		o.user = &k->user;
		mt_detect_user_str(d, &k->user, u, sizeof(u));
		mt_detect_fmt(who, sizeof(who), "%s (authenticated)", u);
	} else {
		mt_detect_addr_str(&k->src, who, sizeof(who));
	}
	o.attempts = (uint32_t)MT_MIN(r->rc_total, (uint64_t)UINT32_MAX);
	o.messages = r->rc_msgs;
	mt_detect_secs_str(r->rc.last - r->rc.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "SMTP relay abuse: %llu recipients in %u transactions from %s in %s",
		      (unsigned long long)r->rc_total, r->rc_msgs, who, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%llu recipients in the last %llu s",
		      (unsigned long long)n, (unsigned long long)(c->relay_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

static void relay_senders(struct mt_detect *d, const struct devent *ev, struct mt_view from)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct dukey k;
	struct rly *r;
	unsigned n;
	int upd;
	char span[32];

	memset(&k, 0, sizeof(k));
	k.kind = 2;
	k.src = ev->src;
	r = mt_detect_tab_get(d, T_RELAY, &k, true);
	if (!r)
		return;
	if (!r->snd.last || d->now - r->snd.last > c->relay_window)
		r->snd_msgs = 0;
	mt_detect_alert_touch(&r->snd, d->now, c->relay_window);
	r->snd_msgs++;
	mt_detect_flows_add(&r->flows, ev->c->flow_id);
	n = mt_detect_set_add(&r->senders, (uint32_t)mt_detect_hash(d, from.p, from.len), d->now,
			      c->relay_window);
	if ((n < c->relay_senders && !r->snd.emitted) ||
	    (upd = mt_detect_alert_due(d, &r->snd, n)) < 0)
		return;
	mt_detect_out_init(&o, SIG_RELAY_SENDERS, upd, ev, &r->snd, n, &r->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	o.messages = r->snd_msgs;
	o.distinct_senders = n;
	mt_detect_secs_str(r->snd.last - r->snd.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "SMTP spam burst: %s%u distinct envelope senders in %u transactions "
		      "from %s in %s",
		      n >= DSET_MAX ? "at least " : "", n, r->snd_msgs, o.source, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%u distinct MAIL FROM in the last %llu s", n,
		      (unsigned long long)(c->relay_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

void mt_detect_relay(struct mt_detect *d, const struct devent *ev)
{
	const struct mt_body_smtp *b = &ev->r->b.smtp;
	struct mt_view user = mt_rec_str(ev->r, b->auth_user);
	struct mt_view result = mt_rec_str(ev->r, b->auth_result);
	struct mt_view from = mt_rec_str(ev->r, b->mail_from);
	struct dukey k;

	if (!d->cfg.det_on[DET_RELAY] || !b->transaction)
		return;
	memset(&k, 0, sizeof(k));
	if (user.len && mt_eq_ci(result.p, result.len, "SUCCESS")) {
		k.kind = 1;
		mt_detect_name_set(d, &k.user, user);
	} else {
		k.kind = 2;
		k.src = ev->src;
	}
	if (mt_detect_allowed(d, DET_RELAY, &ev->src, &ev->srv, k.kind == 1 ? &k.user : NULL))
		return;
	if (b->recipients)
		relay_rcpts(d, ev, &k, b->recipients);
	if (from.len)
		relay_senders(d, ev, from);
}

/* ---- mail-port scans ---- */

struct scn {
	struct dset targets;
	struct dalert a;
	uint32_t total;          /* incomplete connections in the episode */
	struct dflows flows;
};

const uint32_t mt_detect_scan_size = sizeof(struct scn);

void mt_detect_scan(struct mt_detect *d, const struct devent *ev)
{
	const struct mt_body_flow *f = &ev->r->b.flow;
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct scn *s;
	unsigned n;
	int upd;
	char span[32];

	if (!c->det_on[DET_SCAN] || f->proto != 6 || f->midstream ||
	    !(c->scan_ports[f->dest_port >> 3] & (1u << (f->dest_port & 7))) ||
	    !(f->tcp_flags_ts & MT_TCP_SYN))
		return;
	/* Complete: the server accepted and some protocol was spoken. */
	if ((f->tcp_flags_tc & (MT_TCP_SYN | MT_TCP_ACK)) == (MT_TCP_SYN | MT_TCP_ACK) &&
	    f->app_proto != MT_APP_NONE)
		return;
	if (mt_detect_allowed(d, DET_SCAN, &ev->src, &ev->srv, NULL))
		return;
	s = mt_detect_tab_get(d, T_SCAN, &ev->src, true);
	if (!s)
		return;
	if (!s->a.last || d->now - s->a.last > c->scan_window)
		s->total = 0;
	mt_detect_alert_touch(&s->a, d->now, c->scan_window);
	s->total++;
	mt_detect_flows_add(&s->flows, f->flow_id);
	n = mt_detect_set_add(&s->targets, (uint32_t)mt_detect_hash(d, &ev->srv, sizeof(ev->srv)),
			      d->now, c->scan_window);
	if ((n < c->scan_targets && !s->a.emitted) ||
	    (upd = mt_detect_alert_due(d, &s->a, n)) < 0)
		return;
	mt_detect_out_init(&o, SIG_SCAN, upd, ev, &s->a, n, &s->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	o.attempts = s->total;
	mt_detect_secs_str(s->a.last - s->a.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "Mail-port scan: %s tried %s%u mail server ports without completing a "
		      "session in %s",
		      o.source, n >= DSET_MAX ? "at least " : "", n, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence),
		      "%u incomplete connections to %u distinct server ports in the last %llu s",
		      s->total, n, (unsigned long long)(c->scan_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}
