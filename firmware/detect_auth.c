/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Credential attacks and cleartext credentials, from `auth` records (one
 * per login attempt, any protocol): brute force per source address and per
 * prefix, password spraying (one source, many user names), credential
 * stuffing (one user name, many sources), a login success after any of
 * them (likely compromise), and credentials readable on the wire.
 */
#include "detect_impl.h"

/* One source address: brute force and spraying. */
struct asrc {
	struct dwin fails;
	struct dalert bf;
	uint32_t bf_total;       /* failures in the brute-force episode */
	struct dset users;       /* distinct user names failing (spraying) */
	struct dalert spray;
	uint32_t spray_total;
	struct dalert comp;      /* success after the attack */
	uint32_t successes;
	struct dflows flows;
	struct dname user;       /* first user of the brute-force episode */
	struct dserver server;   /* first server of the brute-force episode */
	uint8_t apps;            /* protocols seen failing (bit per enum mt_app) */
	uint8_t many_users;
	uint8_t many_servers;
};

/* One prefix (/24, /64 by default): brute force spread over addresses. */
struct aprefix {
	struct dwin fails;
	struct dalert bf;
	uint32_t bf_total;
	struct dset sources;
	struct dalert comp;
	uint32_t successes;
	struct dflows flows;
	struct dname user;
	struct dserver server;
	uint8_t apps;
	uint8_t many_users;
	uint8_t many_servers;
};

/* One user name: stuffing (many sources). */
struct auser {
	struct dset sources;
	struct dalert stuff;
	uint32_t total;
	struct dalert comp;
	uint32_t successes;
	struct dflows flows;
	struct dserver server;
	uint8_t apps;
	uint8_t many_servers;
};

const uint32_t mt_detect_auth_src_size = sizeof(struct asrc);
const uint32_t mt_detect_auth_prefix_size = sizeof(struct aprefix);
const uint32_t mt_detect_auth_user_size = sizeof(struct auser);
const uint32_t mt_detect_event_size = sizeof(struct devval);

static uint32_t hash32(const struct mt_detect *d, const void *p, size_t n)
{
	return (uint32_t)mt_detect_hash(d, p, n);
}

/* The protocol for a message: the one seen, or "mail" for a mix. */
static const char *apps_name(uint8_t apps)
{
	if (apps && !(apps & (apps - 1)))
		return mt_detect_app_upper((uint8_t)__builtin_ctz(apps));
	return "mail";
}

static bool same_name(const struct dname *a, const struct dname *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static bool same_server(const struct dserver *a, const struct dserver *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Remembers the user and server of an episode, or that there were many. */
static void note_target(struct dname *u, uint8_t *many_u, struct dserver *s,
			uint8_t *many_s, bool fresh, const struct dname *user,
			const struct dserver *srv)
{
	if (fresh) {
		if (u)
			*u = *user;
		*s = *srv;
		if (many_u)
			*many_u = 0;
		*many_s = 0;
		return;
	}
	if (u && !same_name(u, user))
		*many_u = 1;
	if (!same_server(s, srv))
		*many_s = 1;
}

static void users_str(const struct mt_detect *d, const struct dname *u, bool many,
		      unsigned distinct, char *out, size_t len)
{
	if (many)
		mt_detect_fmt(out, len, "%s%u users", distinct >= DSET_MAX ? "at least " : "", distinct);
	else
		mt_detect_user_str(d, u, out, len);
}

static bool is_new_episode(const struct dalert *a, uint64_t now, uint64_t window)
{
	return !a->last || now - a->last > window;
}

static void bf_source(struct mt_detect *d, const struct devent *ev, struct asrc *a,
		      const struct dname *user, bool spray_on)
{
	const struct dcfg *c = &d->cfg;
	uint8_t app = ev->c->app_proto;
	bool fresh = is_new_episode(&a->bf, d->now, c->bf_window);
	struct dalert_out o;
	uint64_t n;
	int upd;
	char who[96], span[32];

	if (fresh)
		a->bf_total = 0;
	note_target(&a->user, &a->many_users, &a->server, &a->many_servers, fresh, user,
		    &ev->srv);
	mt_detect_alert_touch(&a->bf, d->now, c->bf_window);
	a->bf_total++;
	a->apps = (uint8_t)((fresh ? 0 : a->apps) | (app < 8 ? 1u << app : 0));
	n = mt_detect_win_add(&a->fails, c->bf_window, d->now, 1);
	/* Failures spread over many users are already the spraying alert of
	 * this same source: one alert per key for the same failures. */
	if (spray_on && a->spray.emitted && d->now - a->spray.last <= c->spray_window)
		return;
	if ((n < c->bf_failures && !a->bf.emitted) ||
	    (upd = mt_detect_alert_due(d, &a->bf, a->bf_total)) < 0)
		return;
	mt_detect_out_init(&o, SIG_BF_SOURCE, upd, ev, &a->bf, a->bf_total, &a->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	if (!a->many_users)
		o.user = &a->user;
	if (!a->many_servers)
		mt_detect_server_str(&a->server, o.server, sizeof(o.server));
	o.attempts = o.failures = a->bf_total;
	o.distinct_users = MT_MAX(mt_detect_set_count(&a->users, d->now, c->spray_window), 1u);
	users_str(d, &a->user, a->many_users, o.distinct_users, who, sizeof(who));
	mt_detect_secs_str(a->bf.last - a->bf.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg), "%s brute force: %u failed logins for %s from %s in %s",
		      apps_name(a->apps), a->bf_total, who, o.source, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%llu failures in the last %llu s",
		      (unsigned long long)n, (unsigned long long)(c->bf_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

static void bf_prefix(struct mt_detect *d, const struct devent *ev, const struct dname *user)
{
	const struct dcfg *c = &d->cfg;
	unsigned plen = ev->src.ver == 4 ? c->bf_prefix4 : c->bf_prefix6;
	uint8_t app = ev->c->app_proto;
	struct daddr key;
	struct aprefix *p;
	struct dalert_out o;
	unsigned nsrc;
	uint64_t n;
	bool fresh;
	int upd;
	char who[96], span[32];

	if (!plen)
		return;
	mt_detect_addr_prefix(&key, &ev->src, plen);
	p = mt_detect_tab_get(d, T_AUTH_PREFIX, &key, true);
	if (!p)
		return;
	fresh = is_new_episode(&p->bf, d->now, c->bf_window);
	if (fresh)
		p->bf_total = 0;
	note_target(&p->user, &p->many_users, &p->server, &p->many_servers, fresh, user,
		    &ev->srv);
	mt_detect_alert_touch(&p->bf, d->now, c->bf_window);
	p->bf_total++;
	p->apps = (uint8_t)((fresh ? 0 : p->apps) | (app < 8 ? 1u << app : 0));
	mt_detect_flows_add(&p->flows, ev->c->flow_id);
	nsrc = mt_detect_set_add(&p->sources, hash32(d, &ev->src, sizeof(ev->src)), d->now,
				 c->bf_window);
	n = mt_detect_win_add(&p->fails, c->bf_window, d->now, 1);
	/* From a single address the per-address alert already says it all. */
	if (((n < c->bf_failures || nsrc < 2) && !p->bf.emitted) ||
	    (upd = mt_detect_alert_due(d, &p->bf, p->bf_total)) < 0)
		return;
	mt_detect_out_init(&o, SIG_BF_PREFIX, upd, ev, &p->bf, p->bf_total, &p->flows);
	mt_detect_addr_str(&key, o.source, sizeof(o.source));
	if (!p->many_users)
		o.user = &p->user;
	if (!p->many_servers)
		mt_detect_server_str(&p->server, o.server, sizeof(o.server));
	o.attempts = o.failures = p->bf_total;
	o.distinct_sources = nsrc;
	if (p->many_users)
		mt_detect_fmt(who, sizeof(who), "several users");
	else
		mt_detect_user_str(d, &p->user, who, sizeof(who));
	mt_detect_secs_str(p->bf.last - p->bf.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "%s brute force from %s: %u failed logins from %s%u addresses for %s in %s",
		      apps_name(p->apps), o.source, p->bf_total,
		      nsrc >= DSET_MAX ? "at least " : "", nsrc, who, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%llu failures in the last %llu s",
		      (unsigned long long)n, (unsigned long long)(c->bf_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

/* `n`: distinct users failing from this source in the spraying window. */
static void spraying(struct mt_detect *d, const struct devent *ev, struct asrc *a, unsigned n)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	int upd;
	char span[32];

	if (is_new_episode(&a->spray, d->now, c->spray_window))
		a->spray_total = 0;
	mt_detect_alert_touch(&a->spray, d->now, c->spray_window);
	a->spray_total++;
	if ((n < c->spray_users && !a->spray.emitted) ||
	    (upd = mt_detect_alert_due(d, &a->spray, n)) < 0)
		return;
	mt_detect_out_init(&o, SIG_SPRAY, upd, ev, &a->spray, n, &a->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	if (!a->many_servers)
		mt_detect_server_str(&a->server, o.server, sizeof(o.server));
	o.attempts = o.failures = a->spray_total;
	o.distinct_users = n;
	mt_detect_secs_str(a->spray.last - a->spray.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "%s password spraying: %s%u user names failed from %s in %s",
		      mt_detect_app_upper(ev->c->app_proto), n >= DSET_MAX ? "at least " : "", n,
		      o.source, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence),
		      "%u failed logins, %u distinct users in the last %llu s", a->spray_total, n,
		      (unsigned long long)(c->spray_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

static void stuffing(struct mt_detect *d, const struct devent *ev, const struct dname *user)
{
	const struct dcfg *c = &d->cfg;
	uint8_t app = ev->c->app_proto;
	struct dalert_out o;
	struct auser *u;
	unsigned n;
	bool fresh;
	int upd;
	char who[96], span[32];

	u = mt_detect_tab_get(d, T_AUTH_USER, user, true);
	if (!u)
		return;
	fresh = is_new_episode(&u->stuff, d->now, c->stuff_window);
	if (fresh)
		u->total = 0;
	note_target(NULL, NULL, &u->server, &u->many_servers, fresh, user, &ev->srv);
	mt_detect_alert_touch(&u->stuff, d->now, c->stuff_window);
	u->total++;
	u->apps = (uint8_t)((fresh ? 0 : u->apps) | (app < 8 ? 1u << app : 0));
	mt_detect_flows_add(&u->flows, ev->c->flow_id);
	n = mt_detect_set_add(&u->sources, hash32(d, &ev->src, sizeof(ev->src)), d->now,
			      c->stuff_window);
	if ((n < c->stuff_sources && !u->stuff.emitted) ||
	    (upd = mt_detect_alert_due(d, &u->stuff, n)) < 0)
		return;
	mt_detect_out_init(&o, SIG_STUFF, upd, ev, &u->stuff, n, &u->flows);
	o.user = user;
	if (!u->many_servers)
		mt_detect_server_str(&u->server, o.server, sizeof(o.server));
	o.attempts = o.failures = u->total;
	o.distinct_sources = n;
	mt_detect_user_str(d, user, who, sizeof(who));
	mt_detect_secs_str(u->stuff.last - u->stuff.first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "%s credential stuffing: %u failed logins for %s from %s%u addresses in %s",
		      apps_name(u->apps), u->total, who, n >= DSET_MAX ? "at least " : "", n, span);
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%u distinct sources in the last %llu s",
		      n, (unsigned long long)(c->stuff_window / MT_NS_PER_SEC));
	mt_detect_emit(d, &o);
}

static void on_failure(struct mt_detect *d, const struct devent *ev, const struct dname *user)
{
	const struct dcfg *c = &d->cfg;
	bool bf = c->det_on[DET_BRUTEFORCE] &&
		  !mt_detect_allowed(d, DET_BRUTEFORCE, &ev->src, &ev->srv, user);
	bool sp = c->det_on[DET_SPRAYING] &&
		  !mt_detect_allowed(d, DET_SPRAYING, &ev->src, &ev->srv, user);
	struct asrc *a;

	if (bf || sp) {
		a = mt_detect_tab_get(d, T_AUTH_SRC, &ev->src, true);
		if (a) {
			unsigned users = mt_detect_set_add(&a->users,
							   hash32(d, user, sizeof(*user)),
							   d->now, c->spray_window);

			mt_detect_flows_add(&a->flows, ev->c->flow_id);
			if (sp)
				spraying(d, ev, a, users);
			if (bf)
				bf_source(d, ev, a, user, sp);
		}
		if (bf)
			bf_prefix(d, ev, user);
	}
	if (c->det_on[DET_STUFFING] && user->len &&
	    !mt_detect_allowed(d, DET_STUFFING, &ev->src, &ev->srv, user))
		stuffing(d, ev, user);
}

static bool recent(const struct mt_detect *d, const struct dalert *a)
{
	return a->emitted && d->now - a->last <= d->cfg.compromise_ns;
}

/*
 * A success from a source or for a user under attack. One alert per
 * success, from the most specific attack it follows: the source's own
 * brute force, stuffing against this user, spraying from this source, then
 * brute force from the source's network.
 */
static void on_success(struct mt_detect *d, const struct devent *ev, const struct dname *user)
{
	const struct dcfg *c = &d->cfg;
	struct asrc *a = mt_detect_tab_get(d, T_AUTH_SRC, &ev->src, false);
	struct auser *u = NULL;
	struct aprefix *p = NULL;
	struct dalert *attack = NULL, *comp = NULL;
	uint32_t *succ = NULL, failures = 0;
	struct dflows *flows = NULL;
	struct dalert_out o;
	enum dsig sig;
	struct daddr pk;
	unsigned plen = ev->src.ver == 4 ? c->bf_prefix4 : c->bf_prefix6;
	int upd;
	char who[96], span[32], how[96];

	if (user->len && c->det_on[DET_STUFFING])
		u = mt_detect_tab_get(d, T_AUTH_USER, user, false);
	if (plen && c->det_on[DET_BRUTEFORCE]) {
		mt_detect_addr_prefix(&pk, &ev->src, plen);
		p = mt_detect_tab_get(d, T_AUTH_PREFIX, &pk, false);
	}
	if (a && recent(d, &a->bf) &&
	    !mt_detect_allowed(d, DET_BRUTEFORCE, &ev->src, &ev->srv, user)) {
		sig = SIG_BF_SUCCESS;
		attack = &a->bf, comp = &a->comp, succ = &a->successes, flows = &a->flows;
		failures = a->bf_total;
		mt_detect_fmt(how, sizeof(how), "%u failed logins", failures);
	} else if (u && recent(d, &u->stuff) &&
		   !mt_detect_allowed(d, DET_STUFFING, &ev->src, &ev->srv, user)) {
		sig = SIG_STUFF_SUCCESS;
		attack = &u->stuff, comp = &u->comp, succ = &u->successes, flows = &u->flows;
		failures = u->total;
		mt_detect_fmt(how, sizeof(how), "%u failed logins from %u addresses", failures,
			      mt_detect_set_count(&u->sources, d->now, c->stuff_window));
	} else if (a && recent(d, &a->spray) &&
		   !mt_detect_allowed(d, DET_SPRAYING, &ev->src, &ev->srv, user)) {
		sig = SIG_SPRAY_SUCCESS;
		attack = &a->spray, comp = &a->comp, succ = &a->successes, flows = &a->flows;
		failures = a->spray_total;
		mt_detect_fmt(how, sizeof(how), "password spraying (%u failed logins)", failures);
	} else if (p && recent(d, &p->bf) &&
		   !mt_detect_allowed(d, DET_BRUTEFORCE, &ev->src, &ev->srv, user)) {
		sig = SIG_BF_PREFIX_SUCCESS;
		attack = &p->bf, comp = &p->comp, succ = &p->successes, flows = &p->flows;
		failures = p->bf_total;
		mt_detect_fmt(how, sizeof(how), "%u failed logins from its network", failures);
	} else {
		return;
	}
	if (is_new_episode(comp, d->now, c->compromise_ns))
		*succ = 0;
	mt_detect_alert_touch(comp, d->now, c->compromise_ns);
	(*succ)++;
	mt_detect_flows_add(flows, ev->c->flow_id);
	if ((upd = mt_detect_alert_due(d, comp, *succ)) < 0)
		return;
	mt_detect_out_init(&o, sig, upd, ev, comp, *succ, flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	o.user = user;
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.attempts = failures + *succ;
	o.failures = failures;
	o.successes = *succ;
	mt_detect_user_str(d, user, who, sizeof(who));
	mt_detect_secs_str(attack->last - attack->first, span, sizeof(span));
	mt_detect_fmt(o.msg, sizeof(o.msg),
		      "%s login success for %s from %s after %s in %s: likely compromised",
		      mt_detect_app_upper(ev->c->app_proto), who, o.source, how, span);
	mt_detect_secs_str(d->now - attack->first, span, sizeof(span));
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "%s (%s), attack began %s before",
		      mt_detect_sigs[sig].title, how, span);
	mt_detect_emit(d, &o);
}

static void cleartext(struct mt_detect *d, const struct devent *ev, const struct dname *user,
		      struct mt_view mech, struct mt_view result)
{
	const struct dcfg *c = &d->cfg;
	struct dalert_out o;
	struct devkey k;
	struct devval *v;
	char who[96], m[40], res[40];

	memset(&k, 0, sizeof(k));
	k.sig = SIG_CLEARTEXT;
	k.srv = ev->srv;
	k.user = *user;
	v = mt_detect_tab_get(d, T_EVENTS, &k, true);
	if (!v)
		return;
	/* Once per server and user per window: a policy finding, not an
	 * attack, so there are no updates in between. */
	if (v->a.emitted && d->now - v->a.emitted < c->clear_window) {
		v->count++;
		v->a.last = d->now;
		return;
	}
	memset(v, 0, sizeof(*v));
	mt_detect_alert_touch(&v->a, d->now, c->clear_window);
	v->count = 1;
	mt_detect_flows_add(&v->flows, ev->c->flow_id);
	mt_detect_out_init(&o, SIG_CLEARTEXT, 0, ev, &v->a, 1, &v->flows);
	mt_detect_addr_str(&ev->src, o.source, sizeof(o.source));
	o.user = user;
	mt_detect_server_str(&ev->srv, o.server, sizeof(o.server));
	o.attempts = 1;
	if (mt_eq_ci(result.p, result.len, "SUCCESS"))
		o.successes = 1;
	else if (mt_eq_ci(result.p, result.len, "FAILURE"))
		o.failures = 1;
	mt_detect_user_str(d, user, who, sizeof(who));
	mt_detect_escape(mech.p, mech.len, m, sizeof(m));
	mt_detect_escape(result.p, result.len, res, sizeof(res));
	mt_detect_fmt(o.msg, sizeof(o.msg), "%s credentials in cleartext: %s for %s to %s from %s (%s)",
		      mt_detect_app_upper(ev->c->app_proto), m, who, o.server, o.source,
		      res[0] ? res : "no result");
	mt_detect_fmt(o.evidence, sizeof(o.evidence), "mechanism %s outside TLS, result %s", m,
		      res[0] ? res : "unknown");
	mt_detect_emit(d, &o);
}

void mt_detect_auth(struct mt_detect *d, const struct devent *ev)
{
	const struct mt_body_auth *b = &ev->r->b.auth;
	struct mt_view mech = mt_rec_str(ev->r, b->mechanism);
	struct mt_view result = mt_rec_str(ev->r, b->result);
	struct dname user;

	mt_detect_name_set(d, &user, mt_rec_str(ev->r, b->user));
	if (mt_eq_ci(result.p, result.len, "FAILURE"))
		on_failure(d, ev, &user);
	else if (mt_eq_ci(result.p, result.len, "SUCCESS"))
		on_success(d, ev, &user);
	/* APOP sends no reusable secret, but its MD5 digest of a known
	 * challenge falls to an offline dictionary attack. */
	if (d->cfg.det_on[DET_CLEARTEXT] && (b->cleartext || mt_eq_ci(mech.p, mech.len, "APOP")) &&
	    (d->cfg.clear_failures || !mt_eq_ci(result.p, result.len, "FAILURE")) &&
	    !mt_detect_allowed(d, DET_CLEARTEXT, &ev->src, &ev->srv, &user))
		cleartext(d, ev, &user, mech, result);
}
