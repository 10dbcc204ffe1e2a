/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Application-layer dispatch: session pool, protocol recognition and the
 * hand-over between analyzers (a mail protocol to TLS after STARTTLS).
 * Recognition buffers at most MT_APP_DETECT_BYTES per direction; content
 * decides over the port hint, so IMAP on port 25 is analysed as IMAP. On
 * an unlisted port a greeting that does not name its protocol is held (at
 * most MT_APP_HOLD_BYTES, in the idle analyzer state) until the client's
 * first command confirms it, then replayed, so the analyzer sees the
 * session from its greeting.
 */
#include "app.h"

#include <errno.h>
#include <stdlib.h>

#include "config.h"

#define NIL UINT32_MAX
#define STATE_ALIGN 16

struct mt_app_session {
	uint32_t next_free;
	uint8_t app;            /* analyzer in charge; NONE while recognising */
	uint8_t hint;           /* from the server port */
	uint8_t switch_to;      /* requested by mt_app_switch() */
	uint8_t after_starttls;
	uint8_t detect_len[2];
	int8_t first_dir;       /* direction that spoke first, -1 none */
	uint8_t failed;
	uint8_t tentative;      /* app a greeting suggested, unconfirmed */
	uint16_t hold_len;      /* server bytes held in the state area */
	uint64_t hold_ns;       /* when the held greeting arrived */
	uint64_t seen[(MT_ANOMALY_COUNT + 63) / 64];
	uint8_t detect[2][MT_APP_DETECT_BYTES];
};

#define STATE_OFF ((sizeof(struct mt_app_session) + STATE_ALIGN - 1) & ~(size_t)(STATE_ALIGN - 1))

static const struct mt_analyzer *const analyzers[MT_APP__COUNT] = {
	[MT_APP_SMTP] = &mt_smtp_analyzer,
	[MT_APP_IMAP] = &mt_imap_analyzer,
	[MT_APP_POP3] = &mt_pop3_analyzer,
	[MT_APP_TLS] = &mt_tls_analyzer,
};

static inline void *state_of(struct mt_app_session *s)
{
	return (uint8_t *)s + STATE_OFF;
}

int mt_app_config_init(struct mt_app_config *cfg, const char *smtp_ports,
		       const char *imap_ports, const char *pop3_ports,
		       const char *tls_ports, char *err, size_t errlen)
{
	const char *lists[4] = { smtp_ports, imap_ports, pop3_ports, tls_ports };
	const uint8_t apps[4] = { MT_APP_SMTP, MT_APP_IMAP, MT_APP_POP3, MT_APP_TLS };
	static uint8_t map[8192];

	memset(cfg->port_app, 0, sizeof(cfg->port_app));
	for (int i = 0; i < 4; i++) {
		if (!mt_config_parse_ports(lists[i], map, err, errlen))
			return -EINVAL;
		for (uint32_t byte = 0; byte < sizeof(map); byte++) {
			if (!map[byte])
				continue; /* eight ports at a time */
			for (uint32_t bit = 0; bit < 8; bit++)
				if (map[byte] & (1u << bit))
					cfg->port_app[byte * 8 + bit] = apps[i];
		}
	}
	return 0;
}

int mt_apps_init(struct mt_apps *a, const struct mt_app_config *cfg,
		 struct mt_counters *ctr, mt_app_emit_fn emit, void *emit_ctx)
{
	uint32_t max_state = 0;

	memset(a, 0, sizeof(*a));
	for (unsigned i = 0; i < MT_APP__COUNT; i++)
		if (analyzers[i] && analyzers[i]->state_size(cfg) > max_state)
			max_state = analyzers[i]->state_size(cfg);
	a->slot_size = (uint32_t)((STATE_OFF + max_state + MT_CACHE_LINE - 1) &
				  ~(size_t)(MT_CACHE_LINE - 1));
	a->nslots = cfg->max_sessions;
	a->cfg = cfg;
	a->ctr = ctr;
	a->emit = emit;
	a->emit_ctx = emit_ctx;
	a->free_head = NIL;
	if (a->nslots) {
		a->slots = aligned_alloc(MT_CACHE_LINE, (size_t)a->nslots * a->slot_size);
		if (!a->slots)
			return -ENOMEM;
	}
	for (uint32_t i = a->nslots; i-- > 0;) {
		struct mt_app_session *s =
			(struct mt_app_session *)(a->slots + (size_t)i * a->slot_size);

		s->next_free = a->free_head;
		a->free_head = i;
	}
	return 0;
}

void mt_apps_free(struct mt_apps *a)
{
	free(a->slots);
	a->slots = NULL;
}

static struct mt_app_session *slot_alloc(struct mt_apps *a)
{
	struct mt_app_session *s;
	uint32_t idx = a->free_head;

	if (idx == NIL)
		return NULL;
	s = (struct mt_app_session *)(a->slots + (size_t)idx * a->slot_size);
	a->free_head = s->next_free;
	/* The header only: each analyzer's state is cleared when it starts. */
	memset(s, 0, sizeof(*s));
	s->next_free = idx; /* remembered for the free */
	s->first_dir = -1;
	return s;
}

static void slot_free(struct mt_apps *a, struct mt_app_session *s)
{
	uint32_t idx = s->next_free;

	s->next_free = a->free_head;
	a->free_head = idx;
}

static void make_env(struct mt_apps *a, struct mt_flow *f,
		     struct mt_app_session *s, uint64_t now,
		     struct mt_app_env *env)
{
	env->flow = f;
	env->now_ns = now;
	env->ctr = a->ctr;
	env->cfg = a->cfg;
	env->rec = &a->rec;
	env->sess = s;
	env->emit = a->emit;
	env->emit_ctx = a->emit_ctx;
}

/* ---- recognition ---- */

static bool is_tls_hello(const uint8_t *p, size_t n, uint8_t hs_type)
{
	return n >= 6 && p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 &&
	       p[5] == hs_type;
}

/*
 * A ClientHello as the first bytes of a flow on an unlisted port: the
 * record header (handshake, version 3.0-3.4, a length a record may have),
 * the handshake header (ClientHello, at least its fixed part: version,
 * random, session id length, cipher suites and compression lengths) and
 * the client version. Ten bytes of structure make a false match on other
 * protocols unlikely, where the five-byte check above is enough on a TLS
 * port.
 */
static bool is_sane_client_hello(const uint8_t *p, size_t n)
{
	uint32_t rec_len, hs_len;

	if (n < 11 || !is_tls_hello(p, n, 1))
		return false;
	rec_len = mt_load_be16(p + 3);
	hs_len = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
	return rec_len >= 4 && rec_len <= 16384 + 2048 && hs_len >= 2 + 32 + 1 + 2 + 1 &&
	       hs_len <= 0x1ffff && p[9] == 0x03 && p[10] <= 0x04;
}

/* An IMAP client command: tag SP command, for the commands a session can
 * start with. */
static bool is_imap_command(const uint8_t *p, size_t n)
{
	static const char *const cmds[] = { "CAPABILITY", "LOGIN ", "AUTHENTICATE ",
					    "STARTTLS", "NOOP", "ID ", "LOGOUT",
					    "SELECT ", "EXAMINE " };
	size_t i = 0;

	while (i < n && i < 32 && p[i] > ' ' && p[i] < 0x7f && p[i] != '{' &&
	       p[i] != '(' && p[i] != '*' && p[i] != '+')
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return false;
	for (size_t k = 0; k < MT_ARRAY_SIZE(cmds); k++)
		if (mt_starts_ci(p + i + 1, n - i - 1, cmds[k]))
			return true;
	return false;
}

/* Returns the app the bytes show, MT_APP_NONE if they show nothing yet,
 * MT_APP_FAILED if they can never show one. Shared by probe and detect. */
static uint8_t classify(const uint8_t *p, size_t n, int dir, bool strict)
{
	if (n < 4)
		return MT_APP_NONE;
	if (dir == MT_DIR_C2S) {
		if (is_tls_hello(p, n, 1))
			return MT_APP_TLS;
		if (mt_starts_ci(p, n, "EHLO ") || mt_starts_ci(p, n, "HELO "))
			return MT_APP_SMTP;
		if (mt_starts_ci(p, n, "USER ") || mt_starts_ci(p, n, "CAPA") ||
		    mt_starts_ci(p, n, "APOP ") || mt_starts_ci(p, n, "STLS"))
			return MT_APP_POP3;
		if (is_imap_command(p, n))
			return MT_APP_IMAP;
		return n >= MT_APP_DETECT_BYTES || memchr(p, '\n', n) ? MT_APP_FAILED
								      : MT_APP_NONE;
	}
	if (is_tls_hello(p, n, 2))
		return MT_APP_TLS;
	if ((p[0] == '2' && p[1] == '2' && p[2] == '0' && (p[3] == ' ' || p[3] == '-')) ||
	    (!strict && mt_starts_ci(p, n, "421 ")))
		return MT_APP_SMTP;
	if (mt_starts_ci(p, n, "* OK") || mt_starts_ci(p, n, "* PREAUTH") ||
	    (!strict && mt_starts_ci(p, n, "* BYE")))
		return MT_APP_IMAP;
	if (mt_starts_ci(p, n, "+OK"))
		return MT_APP_POP3;
	return n >= MT_APP_DETECT_BYTES || memchr(p, '\n', n) ? MT_APP_FAILED : MT_APP_NONE;
}

/* Case-insensitive search in a short banner. */
static bool contains_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	for (size_t i = 0; i + l <= n; i++)
		if (mt_starts_ci(p + i, n - i, lit))
			return true;
	return false;
}

uint8_t mt_app_probe(const uint8_t *p, size_t n, int dir)
{
	static const char *const names[MT_APP__COUNT] = {
		[MT_APP_SMTP] = "SMTP", [MT_APP_IMAP] = "IMAP", [MT_APP_POP3] = "POP3",
	};
	uint8_t app;

	n = MT_MIN(n, (size_t)MT_APP_DETECT_BYTES);
	app = classify(p, n, dir, true);
	if (app == MT_APP_FAILED || app == MT_APP_NONE)
		return MT_APP_NONE;
	if (app == MT_APP_TLS)
		return dir == MT_DIR_C2S && is_sane_client_hello(p, n) ? MT_APP_TLS
								       : MT_APP_NONE;
	/* Off the mail ports a bare "220 " (FTP) or "+OK" is not enough: a
	 * greeting that does not name its protocol is only a candidate until
	 * the client speaks it. The greeting cannot wait in the probe, so the
	 * flow is reassembled and the session holds it. */
	if (dir == MT_DIR_S2C && !contains_ci(p, n, names[app]))
		return (uint8_t)(app | MT_APP_TENTATIVE);
	return app;
}

static void bump_detected(struct mt_counters *c, uint8_t app)
{
	switch (app) {
	case MT_APP_SMTP:
		MT_CTR_INC(c, app_detected_smtp);
		break;
	case MT_APP_IMAP:
		MT_CTR_INC(c, app_detected_imap);
		break;
	case MT_APP_POP3:
		MT_CTR_INC(c, app_detected_pop3);
		break;
	case MT_APP_TLS:
		MT_CTR_INC(c, app_detected_tls);
		break;
	default:
		break;
	}
}

static void feed(struct mt_apps *a, struct mt_flow *f, struct mt_app_session *s,
		 int dir, const uint8_t *p, size_t n, uint64_t now);

static void clear_state(struct mt_apps *a, struct mt_app_session *s, uint8_t app)
{
	const struct mt_analyzer *an = analyzers[app];
	uint32_t n = an->state_clear ? an->state_clear(a->cfg) : an->state_size(a->cfg);

	memset(state_of(s), 0, MT_MIN(n, a->slot_size - (uint32_t)STATE_OFF));
}

static void start_analyzer(struct mt_apps *a, struct mt_flow *f,
			   struct mt_app_session *s, uint8_t app, uint64_t now)
{
	struct mt_app_env env;
	int first = s->first_dir < 0 ? 0 : s->first_dir;
	uint8_t buf[2][MT_APP_DETECT_BYTES];
	uint8_t hold[MT_APP_HOLD_BYTES];
	const uint8_t *held[2] = { buf[0], buf[1] };
	size_t len[2] = { s->detect_len[0], s->detect_len[1] };
	uint64_t at[2] = { now, now };

	s->app = app;
	f->app_proto = app;
	bump_detected(a->ctr, app);
	memcpy(buf, s->detect, sizeof(buf));
	if (s->hold_len) {
		/* A greeting held in the state area, which open() reuses. The
		 * session began with it, as on a listed port. */
		memcpy(hold, state_of(s), s->hold_len);
		held[MT_DIR_S2C] = hold;
		len[MT_DIR_S2C] = s->hold_len;
		at[MT_DIR_S2C] = s->hold_ns;
		s->hold_len = 0;
	}
	make_env(a, f, s, at[first], &env);
	clear_state(a, s, app);
	analyzers[app]->open(state_of(s), &env, false);
	/* Replay what recognition held, the direction that spoke first first. */
	if (len[first])
		feed(a, f, s, first, held[first], len[first], at[first]);
	if (len[!first] && s->app != MT_APP_FAILED)
		feed(a, f, s, !first, held[!first], len[!first], at[!first]);
}

static void fail_session(struct mt_apps *a, struct mt_flow *f,
			 struct mt_app_session *s, int dir, uint64_t now)
{
	struct mt_app_env env;

	s->app = MT_APP_FAILED;
	f->app_proto = MT_APP_FAILED;
	MT_CTR_INC(a->ctr, app_detection_failed);
	make_env(a, f, s, now, &env);
	mt_app_anomaly(&env, MT_CTR_anomaly_app_unknown_protocol, dir,
		       s->detect[dir], s->detect_len[dir]);
}

/* A candidate that was not mail: given up without a trace (no anomaly, no
 * app_proto), and its slot freed at once; the flow is never analysed. */
static void drop_session(struct mt_apps *a, struct mt_flow *f,
			 struct mt_app_session *s)
{
	f->user8 = MT_APP_FAILED; /* mt_app_data(): no new session */
	f->app = NULL;
	slot_free(a, s);
}

static size_t hold_cap(const struct mt_apps *a)
{
	return MT_MIN((size_t)MT_APP_HOLD_BYTES, (size_t)a->slot_size - STATE_OFF);
}

/*
 * Whether the client's first bytes confirm the protocol a greeting
 * suggested: 1 yes, 0 not yet known, -1 no. The client must speak the
 * same protocol (FTP's "220 " greeting is answered by USER or AUTH TLS,
 * never EHLO); a POP3 client may also start with AUTH.
 */
static int confirms(uint8_t want, const uint8_t *p, size_t n)
{
	uint8_t app;

	if (want == MT_APP_POP3 && n >= 5 && mt_starts_ci(p, n, "AUTH") &&
	    (p[4] == ' ' || p[4] == '\r' || p[4] == '\n'))
		return 1;
	app = classify(p, n, MT_DIR_C2S, true);
	if (app == want)
		return 1;
	return app == MT_APP_NONE ? 0 : -1;
}

static void detect_tentative(struct mt_apps *a, struct mt_flow *f,
			     struct mt_app_session *s, int dir,
			     const uint8_t *p, size_t n, uint64_t now)
{
	size_t take;
	int ok;

	if (dir == MT_DIR_S2C) {
		/* More than a greeting before the client said a word: not a
		 * mail server. */
		if (n > hold_cap(a) - s->hold_len) {
			drop_session(a, f, s);
			return;
		}
		if (!s->hold_len)
			s->hold_ns = now;
		memcpy((uint8_t *)state_of(s) + s->hold_len, p, n);
		s->hold_len = (uint16_t)(s->hold_len + n);
		return;
	}
	take = MT_MIN((size_t)MT_APP_DETECT_BYTES - s->detect_len[dir], n);
	memcpy(s->detect[dir] + s->detect_len[dir], p, take);
	s->detect_len[dir] = (uint8_t)(s->detect_len[dir] + take);
	ok = confirms(s->tentative, s->detect[dir], s->detect_len[dir]);
	if (ok == 0 && s->detect_len[dir] < MT_APP_DETECT_BYTES)
		return;
	if (ok <= 0) {
		drop_session(a, f, s);
		return;
	}
	MT_CTR_INC(a->ctr, app_sessions);
	MT_CTR_INC(a->ctr, app_detected_other_port);
	s->hint = s->tentative;
	s->tentative = 0;
	start_analyzer(a, f, s, s->hint, now);
	if (take < n && s->app != MT_APP_FAILED)
		feed(a, f, s, dir, p + take, n - take, now);
}

static void detect(struct mt_apps *a, struct mt_flow *f, struct mt_app_session *s,
		   int dir, const uint8_t *p, size_t n, uint64_t now)
{
	size_t room = MT_APP_DETECT_BYTES - s->detect_len[dir];
	size_t take = MT_MIN(room, n);
	uint8_t app;

	if (s->first_dir < 0)
		s->first_dir = (int8_t)dir;
	if (s->tentative) {
		detect_tentative(a, f, s, dir, p, n, now);
		return;
	}
	memcpy(s->detect[dir] + s->detect_len[dir], p, take);
	s->detect_len[dir] = (uint8_t)(s->detect_len[dir] + take);
	app = classify(s->detect[dir], s->detect_len[dir], dir, s->hint == MT_APP_NONE);
	if (app == MT_APP_NONE)
		return;
	if (app == MT_APP_FAILED && f->midstream && s->hint != MT_APP_NONE) {
		/* Picked up in the middle of a session: no greeting to see, the
		 * port is the best evidence there is. */
		app = s->hint;
	}
	if (app == MT_APP_FAILED) {
		fail_session(a, f, s, dir, now);
		return;
	}
	start_analyzer(a, f, s, app, now);
	/* Bytes beyond what recognition held go straight to the analyzer. */
	if (take < n && s->app != MT_APP_FAILED)
		feed(a, f, s, dir, p + take, n - take, now);
}

static void feed(struct mt_apps *a, struct mt_flow *f, struct mt_app_session *s,
		 int dir, const uint8_t *p, size_t n, uint64_t now)
{
	struct mt_app_env env;

	while (n) {
		const struct mt_analyzer *an;
		size_t used;

		if (s->app == MT_APP_NONE) {
			detect(a, f, s, dir, p, n, now);
			return;
		}
		if (s->app == MT_APP_FAILED)
			return;
		an = analyzers[s->app];
		make_env(a, f, s, now, &env);
		used = an->data(state_of(s), &env, dir, p, n);
		if (used > n)
			abort(); /* analyzer contract */
		p += used;
		n -= used;
		if (s->switch_to) {
			uint8_t to = s->switch_to;

			s->switch_to = 0;
			an->close(state_of(s), &env);
			clear_state(a, s, to);
			s->app = to;
			s->after_starttls = 1;
			MT_CTR_INC(a->ctr, app_starttls_switches);
			analyzers[to]->open(state_of(s), &env, true);
			continue;
		}
		if (used == 0)
			return; /* nothing more wanted from this direction */
	}
}

void mt_app_data(struct mt_apps *a, struct mt_flow *f, int dir,
		 const uint8_t *p, size_t n, uint64_t now_ns)
{
	struct mt_app_session *s = f->app;

	if (!s) {
		if (f->app_proto == MT_APP_FAILED || f->user8 == MT_APP_FAILED)
			return;
		s = slot_alloc(a);
		if (!s) {
			MT_CTR_INC(a->ctr, app_no_session_slot);
			f->app_proto = MT_APP_FAILED;
			return;
		}
		/* Set by the worker from the port or the probe. A candidate
		 * greeting is counted as a session once the client confirms it. */
		if (f->user8 & MT_APP_TENTATIVE)
			s->tentative = f->user8 & (uint8_t)~MT_APP_TENTATIVE;
		else
			s->hint = f->user8;
		if (!s->tentative)
			MT_CTR_INC(a->ctr, app_sessions);
		f->app = s;
	}
	feed(a, f, s, dir & 1, p, n, now_ns);
}

bool mt_app_force(struct mt_apps *a, struct mt_flow *f, enum mt_app app,
		  uint64_t now_ns)
{
	struct mt_app_session *s = slot_alloc(a);

	if (!s)
		return false;
	MT_CTR_INC(a->ctr, app_sessions);
	s->hint = (uint8_t)app;
	f->app = s;
	start_analyzer(a, f, s, (uint8_t)app, now_ns);
	return true;
}

void mt_app_gap(struct mt_apps *a, struct mt_flow *f, int dir, uint32_t len,
		uint64_t now_ns)
{
	struct mt_app_session *s = f->app;
	struct mt_app_env env;

	if (!s || s->app == MT_APP_FAILED)
		return;
	if (s->app == MT_APP_NONE && s->tentative) {
		/* Never guess across a hole; a candidate goes quietly. */
		drop_session(a, f, s);
		return;
	}
	if (s->app == MT_APP_NONE) {
		/* A hole before recognition: never guess across it. */
		s->app = MT_APP_FAILED;
		f->app_proto = MT_APP_FAILED;
		MT_CTR_INC(a->ctr, app_detection_failed);
		return;
	}
	make_env(a, f, s, now_ns, &env);
	if (analyzers[s->app]->gap)
		analyzers[s->app]->gap(state_of(s), &env, dir & 1, len);
}

void mt_app_close(struct mt_apps *a, struct mt_flow *f, uint64_t now_ns)
{
	struct mt_app_session *s = f->app;
	struct mt_app_env env;

	if (!s)
		return;
	if (s->app != MT_APP_NONE && s->app != MT_APP_FAILED) {
		make_env(a, f, s, now_ns, &env);
		analyzers[s->app]->close(state_of(s), &env);
	}
	f->app = NULL;
	slot_free(a, s);
}

/* ---- for analyzers ---- */

void mt_app_conn(struct mt_rec *r, const struct mt_flow *f)
{
	struct mt_body_flow *b = MT_REC_CONN(r);
	const uint8_t *c = f->client_is_a ? f->key.a : f->key.b;
	const uint8_t *sv = f->client_is_a ? f->key.b : f->key.a;

	b->flow_id = f->flow_id;
	mt_rec_set_ip(&b->src_ip, c, f->key.ip_ver);
	mt_rec_set_ip(&b->dest_ip, sv, f->key.ip_ver);
	b->src_port = f->client_is_a ? f->key.pa : f->key.pb;
	b->dest_port = f->client_is_a ? f->key.pb : f->key.pa;
	b->proto = f->key.proto;
	b->app_proto = f->app_proto;
	for (unsigned i = 0; i < MT_DECODE_MAX_VLAN && f->key.vlan[i]; i++)
		mt_rec_list_add_u16(r, &b->vlan, f->key.vlan[i]);
}

struct mt_rec *mt_app_rec(struct mt_app_env *env, enum mt_rtype type)
{
	struct mt_rec *r = env->rec;

	mt_rec_init(r, type);
	mt_app_conn(r, env->flow);
	MT_REC_CONN(r)->timestamp = env->now_ns;
	return r;
}

void mt_app_emit(struct mt_app_env *env)
{
	if (env->rec->flags & MT_REC_F_TRUNCATED)
		MT_CTR_INC(env->ctr, output_record_truncated);
	MT_CTR_INC(env->ctr, output_records);
	if (env->emit)
		env->emit(env->emit_ctx, env->rec);
}

void mt_app_anomaly(struct mt_app_env *env, enum mt_ctr which, int dir,
		    const uint8_t *evidence, size_t len)
{
	unsigned bit = (unsigned)which - MT_ANOMALY_FIRST;
	struct mt_body_anomaly *b;
	struct mt_rec *r;

	if ((unsigned)which < MT_ANOMALY_FIRST || (unsigned)which >= MT_CTR__COUNT)
		abort(); /* only anomaly counters are anomalies */
	env->ctr->v[which]++;
	if (env->sess->seen[bit / 64] & (1ull << (bit % 64)))
		return;
	env->sess->seen[bit / 64] |= 1ull << (bit % 64);
	r = mt_app_rec(env, MT_REC_anomaly);
	b = &r->b.anomaly;
	mt_rec_set_str(r, &b->type, "applayer", 8);
	mt_rec_set_str(r, &b->event, mt_counter_desc[which].name,
		       strlen(mt_counter_desc[which].name));
	if (dir == MT_DIR_C2S)
		mt_rec_set_str(r, &b->dir, "toserver", 8);
	else if (dir == MT_DIR_S2C)
		mt_rec_set_str(r, &b->dir, "toclient", 8);
	if (evidence && len)
		mt_rec_set_str(r, &b->evidence, evidence, MT_MIN(len, (size_t)64));
	MT_CTR_INC(env->ctr, app_anomaly_records);
	mt_app_emit(env);
}

void mt_app_switch(struct mt_app_env *env, enum mt_app to)
{
	env->sess->switch_to = (uint8_t)to;
}

bool mt_app_mech_is_cleartext(const char *mech, size_t len)
{
	static const char *const clear[] = { "PLAIN", "LOGIN", "USER", "XOAUTH2",
					     "OAUTHBEARER" };

	for (size_t i = 0; i < MT_ARRAY_SIZE(clear); i++)
		if (strlen(clear[i]) == len && mt_starts_ci((const uint8_t *)mech, len, clear[i]))
			return true;
	return false;
}

void mt_app_auth(struct mt_app_env *env, struct mt_view mech, struct mt_view user,
		 const char *result, struct mt_view reply, uint16_t attempt)
{
	struct mt_rec *r = mt_app_rec(env, MT_REC_auth);
	struct mt_body_auth *b = &r->b.auth;

	mt_rec_set_str(r, &b->mechanism, mech.p, mech.len);
	mt_rec_set_str(r, &b->user, user.p, user.len);
	mt_rec_set_str(r, &b->result, result, strlen(result));
	b->cleartext = mt_app_mech_is_cleartext((const char *)mech.p, mech.len);
	mt_rec_set_str(r, &b->reply, reply.p, MT_MIN(reply.len, (size_t)200));
	b->attempt = attempt;
	mt_app_emit(env);
}
