/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * STARTTLS stripping and downgrade. Every server (address and port) seen
 * offering STARTTLS is remembered for starttls_memory in a bounded LRU
 * table; a later session to it that shows no offer, a STARTTLS keyword
 * overwritten in place (XXXXXXXA), a refused STARTTLS, cleartext after an
 * accepted one, or credentials in the clear is the sign of someone in the
 * path keeping the session readable.
 */
#include "detect_impl.h"

#include "app.h"


/* A server remembered as offering STARTTLS. */
struct dsrv {
	uint64_t offered;    /* packet time it last did; 0: never seen doing so */
};

const uint32_t mt_detect_server_size = sizeof(struct dsrv);

/* What a session summary says about STARTTLS, whatever the protocol. */
struct tlsview {
	bool caps_seen;
	bool offered;
	bool requested;
	bool refused;
	char reply[16];
	char mangled[40];       /* the token that replaced the keyword, escaped */
	bool cred_clear;        /* a reusable secret went over in this session */
	struct mt_view mech;
	struct mt_view user;
	struct mt_view result;
};

/*
 * Whether a capability token is the STARTTLS (or STLS) keyword overwritten
 * in place: same length, and at least half of it X's or punctuation, as
 * the "XXXXXXXA" of ESMTP-inspecting firewalls. Real extensions of that
 * length (CHUNKING, 8BITMIME, XFORWARD, UIDL) are not.
 */
static bool masked(struct mt_view tok, const char *kw)
{
	size_t len = strlen(kw), x = 0;

	if (tok.len != len || mt_eq_ci(tok.p, tok.len, kw))
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = tok.p[i];

		if (ch == 'X' || ch == 'x' ||
		    !((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= 'a' && ch <= 'z')))
			x++;
	}
	return x * 2 >= len;
}

static void scan_caps(const struct mt_rec *r, struct mt_lref caps, const char *kw,
		      struct tlsview *v)
{
	uint32_t pos = caps.head;
	struct mt_view item;

	v->caps_seen = caps.count > 0;
	while (caps.count && mt_rec_list_next(r, &pos, &item)) {
		struct mt_view tok = item;

		for (size_t i = 0; i < item.len; i++) {
			if (item.p[i] == ' ') {
				tok.len = i;
				break;
			}
		}
		if (!v->mangled[0] && masked(tok, kw))
			mt_detect_escape(tok.p, tok.len, v->mangled, sizeof(v->mangled));
	}
}

static void view_of(const struct mt_rec *r, struct tlsview *v)
{
	struct mt_view reply = { NULL, 0 };

	memset(v, 0, sizeof(*v));
	switch (r->type) {
	case MT_REC_smtp: {
		const struct mt_body_smtp *b = &r->b.smtp;

		scan_caps(r, b->capabilities, "STARTTLS", v);
		v->offered = b->starttls_offered;
		v->requested = b->starttls_requested;
		if (b->starttls_reply) {
			mt_detect_fmt(v->reply, sizeof(v->reply), "%u", b->starttls_reply);
			v->refused = b->starttls_reply / 100 != 2;
		}
		v->mech = mt_rec_str(r, b->auth_mech);
		v->user = mt_rec_str(r, b->auth_user);
		v->result = mt_rec_str(r, b->auth_result);
		break;
	}
	case MT_REC_imap: {
		const struct mt_body_imap *b = &r->b.imap;

		scan_caps(r, b->capabilities, "STARTTLS", v);
		v->offered = b->starttls_offered;
		v->requested = b->starttls_requested;
		reply = mt_rec_str(r, b->starttls_reply);
		v->refused = reply.len && !mt_starts_ci(reply.p, reply.len, "OK");
		v->mech = mt_rec_str(r, b->auth_mech);
		v->user = mt_rec_str(r, b->auth_user);
		v->result = mt_rec_str(r, b->auth_result);
		break;
	}
	case MT_REC_pop3: {
		const struct mt_body_pop3 *b = &r->b.pop3;

		scan_caps(r, b->capabilities, "STLS", v);
		v->offered = b->stls_offered;
		v->requested = b->stls_requested;
		reply = mt_rec_str(r, b->stls_reply);
		v->refused = reply.len && !mt_starts_ci(reply.p, reply.len, "+OK");
		v->mech = mt_rec_str(r, b->auth_mech);
		v->user = mt_rec_str(r, b->auth_user);
		v->result = mt_rec_str(r, b->auth_result);
		break;
	}
	default:
		return;
	}
	if (reply.len)
		mt_detect_escape(reply.p, reply.len, v->reply, sizeof(v->reply));
	/* Without a reply nothing was refused (the capture may end first). */
	v->refused = v->refused && v->requested;
	v->cred_clear = v->user.len && v->mech.len &&
			mt_app_mech_is_cleartext((const char *)v->mech.p, v->mech.len);
}

/* One alert per server and kind of downgrade per starttls_window. */
/* `v`: the session, when credentials in it make things worse (NULL for
 * anomalies); `suffix`: say so in the message (the credentials signal
 * says it itself). */
static void downgrade(struct mt_detect *d, const struct devent *ev, enum dsig sig,
		      const struct tlsview *v, bool suffix, const char *what,
		      const char *evidence)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct devkey k;
	struct devval *val;
	struct dname user;
	char who[96], creds[160] = "";
	int upd;

	memset(&k, 0, sizeof(k));
	k.sig = (uint16_t)sig;
	k.srv = ev->srv;
	val = mt_detect_tab_get(d, T_EVENTS, &k, true);
	if (!val)
		return;
	if (!val->a.last || d->now - val->a.last > c->tls_window)
		val->count = 0;
	mt_detect_alert_touch(&val->a, d->now, c->tls_window);
	val->count++;
	mt_detect_flows_add(&val->flows, ev->c->flow_id);
	if ((upd = mt_detect_alert_due(d, &val->a, val->count)) < 0)
		return;
	mt_detect_out_init(&o, sig, upd, ev, &val->a, val->count, &val->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.attempts = val->count;
	if (v && v->cred_clear) {
		char m[40];

		mt_detect_name_set(d, &user, v->user);
		o.user = &user;
		if (suffix) {
			o.severity = 1;
			mt_detect_user_str(d, &user, who, sizeof(who));
			mt_detect_escape(v->mech.p, v->mech.len, m, sizeof(m));
			mt_detect_fmt(creds, sizeof(creds),
				      "; credentials for %s then sent in cleartext (%s)", who, m);
		}
	}
	mt_detect_fmt(o.msg, sizeof(o.msg), "%s %s%s", mt_detect_app_upper(ev->c->app_proto),
		      what, creds);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%s", evidence);
	mt_detect_emit(d, &o);
}

void mt_detect_starttls_session(struct mt_detect *d, const struct devent *ev)
{
	const struct dcfg *c = &d->cfg;
	struct dsrv *s;
	struct tlsview v;
	struct dname user;
	bool known;
	char srv[64], what[200], evid[200], ago[32] = "";

	if (!c->det_on[DET_STARTTLS])
		return;
	/* Session fields repeat in every transaction of an SMTP session:
	 * judge them once. */
	if (ev->r->type == MT_REC_smtp && ev->r->b.smtp.transaction > 1)
		return;
	view_of(ev->r, &v);
	mt_detect_name_set(d, &user, v.user);
	if (mt_detect_allowed(d, DET_STARTTLS, &ev->src, &ev->srv, &user))
		return;
	s = mt_detect_tab_get(d, T_SERVERS, &ev->srv, false);
	known = s && s->offered && d->now - s->offered <= c->tls_memory;
	if (known)
		mt_detect_secs_str(d->now - s->offered, ago, sizeof(ago));
	mt_detect_server_str(&ev->srv, srv, sizeof(srv));
	if (v.mangled[0]) {
		mt_detect_fmt(what, sizeof(what),
			      "STARTTLS stripping: `%s' in place of STARTTLS in the capabilities of %s",
			      v.mangled, srv);
		mt_detect_fmt(evid, sizeof(evid), "capability `%s'%s", v.mangled,
			      v.requested ? ", STARTTLS requested anyway" :
					    ", STARTTLS never requested");
		downgrade(d, ev, SIG_TLS_MANGLED, &v, true, what, evid);
	} else if (v.refused) {
		mt_detect_fmt(what, sizeof(what), "STARTTLS refused by %s (%s)", srv, v.reply);
		mt_detect_fmt(evid, sizeof(evid), "STARTTLS reply %s%s", v.reply,
			      v.offered ? ", offered in the same session" : "");
		downgrade(d, ev, SIG_TLS_REFUSED, &v, true, what, evid);
	} else if (v.caps_seen && !v.offered && known) {
		mt_detect_fmt(what, sizeof(what),
			      "STARTTLS no longer offered by %s (offered %s before)", srv, ago);
		mt_detect_fmt(evid, sizeof(evid),
			      "capabilities without STARTTLS; last offered %s before", ago);
		downgrade(d, ev, SIG_TLS_NOT_OFFERED, &v, true, what, evid);
	} else if (!v.caps_seen && !v.requested && v.cred_clear && known) {
		char who[96], m[40];

		mt_detect_user_str(d, &user, who, sizeof(who));
		mt_detect_escape(v.mech.p, v.mech.len, m, sizeof(m));
		mt_detect_fmt(what, sizeof(what),
			      "credentials for %s sent in cleartext (%s) to %s, which offers STARTTLS",
			      who, m, srv);
		mt_detect_fmt(evid, sizeof(evid),
			      "no capabilities seen; STARTTLS last offered %s before", ago);
		downgrade(d, ev, SIG_TLS_CREDS_KNOWN, &v, false, what, evid);
	}
	/* Learn after judging: this session's offer must not vouch for
	 * itself. A mangled keyword still proves the server offered it. */
	if (v.offered || v.mangled[0]) {
		s = mt_detect_tab_get(d, T_SERVERS, &ev->srv, true);
		if (s)
			s->offered = d->now;
	}
}

void mt_detect_starttls_tls(struct mt_detect *d, const struct devent *ev)
{
	struct dsrv *s;

	if (!d->cfg.det_on[DET_STARTTLS] || !ev->r->b.tls.starttls)
		return;
	s = mt_detect_tab_get(d, T_SERVERS, &ev->srv, true);
	if (s)
		s->offered = d->now;
}

bool mt_detect_starttls_anomaly(struct mt_detect *d, const struct devent *ev)
{
	const struct mt_body_anomaly *b = &ev->r->b.anomaly;
	struct mt_view event = mt_rec_str(ev->r, b->event);
	struct mt_view e = mt_rec_str(ev->r, b->evidence);
	const char *cleartext = mt_counter_desc[MT_CTR_anomaly_app_starttls_cleartext].name;
	const char *inject = mt_counter_desc[MT_CTR_anomaly_app_data_before_starttls_reply].name;
	char srv[64], what[200], evid[200], esc[160];
	enum dsig sig;

	if (event.len == strlen(cleartext) && memcmp(event.p, cleartext, event.len) == 0)
		sig = SIG_TLS_CLEARTEXT_AFTER;
	else if (event.len == strlen(inject) && memcmp(event.p, inject, event.len) == 0)
		sig = SIG_TLS_INJECTION;
	else
		return false;
	if (!d->cfg.det_on[DET_STARTTLS] ||
	    mt_detect_allowed(d, DET_STARTTLS, &ev->src, &ev->srv, NULL))
		return true;
	mt_detect_server_str(&ev->srv, srv, sizeof(srv));
	mt_detect_escape(e.p, e.len, esc, sizeof(esc));
	if (sig == SIG_TLS_CLEARTEXT_AFTER)
		mt_detect_fmt(what, sizeof(what),
			      "cleartext instead of a TLS handshake after an accepted STARTTLS, %s",
			      srv);
	else
		mt_detect_fmt(what, sizeof(what),
			      "STARTTLS command injection: commands pipelined after STARTTLS to %s",
			      srv);
	mt_detect_fmt(evid, sizeof(evid), "%.*s: %s", (int)event.len, (const char *)event.p, esc);
	downgrade(d, ev, sig, NULL, false, what, evid);
	return true;
}
