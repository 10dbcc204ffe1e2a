/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SMTP analyzer (RFC 5321 with PIPELINING 2920, CHUNKING 3030, STARTTLS
 * 3207, AUTH 4954, SMTPUTF8 6531). Commands wait in a small FIFO for their
 * replies, so any amount of pipelining pairs correctly; message content
 * (DATA, dot-unstuffed, or BDAT chunks) streams into the MIME parser and is
 * never buffered. One `smtp` record per transaction (MAIL FROM to its final
 * reply), one `auth` record per AUTH exchange.
 */
#include "app.h"
#include "line.h"
#include "mime.h"
#include "sasl.h"

#define SMTP_CMD_MAX 512        /* RFC 5321 4.5.3.1.4, CRLF included */
#define SMTP_CMD_TEXT_MAX 510
#define SMTP_PENDING 32         /* consecutive RCPTs share one entry */
#define SMTP_CAPS_MAX 32
#define SMTP_CAP_LEN 64
#define SMTP_CAPS_BYTES 1024
#define SMTP_HELO_MAX 255
#define SMTP_PATH_MAX 256       /* RFC 5321 4.5.3.1.3 */
#define SMTP_PARAMS_MAX 256
#define SMTP_RCPT_AVG 32        /* recipient store per configured recipient */
#define SMTP_RCPT_HDR 3         /* [slot][len16] */

enum smtp_cmd {
	CMD_OTHER = 0, CMD_KNOWN, CMD_HELO, CMD_EHLO, CMD_MAIL, CMD_RCPT,
	CMD_DATA, CMD_DATA_END, CMD_BDAT, CMD_RSET, CMD_QUIT, CMD_AUTH,
	CMD_STARTTLS,
};

static const struct {
	const char *verb;
	uint8_t cmd;
} verbs[] = {
	{ "HELO", CMD_HELO }, { "EHLO", CMD_EHLO }, { "LHLO", CMD_EHLO },
	{ "MAIL", CMD_MAIL }, { "RCPT", CMD_RCPT }, { "DATA", CMD_DATA },
	{ "BDAT", CMD_BDAT }, { "RSET", CMD_RSET }, { "QUIT", CMD_QUIT },
	{ "AUTH", CMD_AUTH }, { "STARTTLS", CMD_STARTTLS },
	{ "NOOP", CMD_KNOWN }, { "VRFY", CMD_KNOWN }, { "EXPN", CMD_KNOWN },
	{ "HELP", CMD_KNOWN }, { "ETRN", CMD_KNOWN }, { "TURN", CMD_KNOWN },
	{ "ATRN", CMD_KNOWN }, { "BURL", CMD_KNOWN }, { "XCLIENT", CMD_KNOWN },
	{ "XFORWARD", CMD_KNOWN }, { "SEND", CMD_KNOWN }, { "SOML", CMD_KNOWN },
	{ "SAML", CMD_KNOWN },
};

/* EHLO keywords we act on or report. */
#define EXT_STARTTLS 0x01
#define EXT_AUTH 0x02
#define EXT_SIZE 0x04
#define EXT_CHUNKING 0x08
#define EXT_PIPELINING 0x10
#define EXT_8BITMIME 0x20
#define EXT_SMTPUTF8 0x40

enum cstate { C_CMD = 0, C_DATA, C_BDAT };

/* Where DATA content stands relative to the CRLF "." CRLF terminator. */
enum dstate {
	D_BOL = 0,    /* after CRLF (or at the start) */
	D_MID,        /* inside a line */
	D_LFBOL,      /* after a bare LF: not a line start for SMTP */
	D_LFDOT,      /* "." after a bare LF */
	D_DOT,        /* "." at D_BOL (removed: stuffing or terminator) */
	D_DOTCR,      /* ".\r" at D_BOL (CR held) */
};

struct pending {
	uint8_t cmd;
	uint8_t last;            /* BDAT ... LAST */
	uint16_t count;          /* RCPT: replies still due for this entry */
	uint32_t txn;            /* transaction number, 0 = none */
};

struct txn {
	uint32_t no;             /* 1-based; 0 = slot free */
	uint8_t closed;          /* no more client commands join it */
	uint8_t data_done;       /* content complete (terminator, BDAT LAST) */
	uint8_t bdat, bdat_failed;
	uint8_t utf8;            /* MAIL with SMTPUTF8 */
	uint8_t rcpt_full;       /* recipient store exhausted */
	uint8_t content;         /* message content has started */
	uint16_t mail_reply, data_reply;
	uint16_t from_len, params_len;
	uint32_t outstanding;    /* replies still expected */
	uint32_t recipients;
	uint32_t rcpt_stored, rcpt_replied, rcpt_ok;
	uint64_t ts;
	uint64_t size;
	char from[SMTP_PATH_MAX];
	char params[SMTP_PARAMS_MAX];
};

struct smtp {
	struct mt_line lc, ls;
	uint32_t reply_max;
	uint32_t rcpt_max;
	uint32_t rstore_cap, rstore_used;
	uint64_t open_ns;
	uint8_t greeted;
	uint8_t lost;            /* a gap: replies may not match commands */
	uint8_t cstate, dstate, last_cr;
	uint8_t data_gap;        /* bytes of the current DATA were lost */
	uint8_t sasl_active;     /* AUTH sent, outcome not yet known */
	uint8_t sasl_wait;       /* a 334 challenge awaits the client's answer */
	uint8_t tls_pending;     /* STARTTLS sent, reply not yet seen */
	uint8_t tls_flagged;
	uint8_t bdat_last;
	uint8_t ehlo_seen;
	uint8_t caps_flagged;
	uint8_t early_len;       /* first command seen before any greeting */
	uint8_t early[64];
	uint8_t npend, head;
	uint16_t rline;          /* lines of the reply being read */
	uint32_t dropped;        /* commands not queued (FIFO full) */
	uint32_t cur;            /* open transaction, 0 = none */
	uint32_t ntxn;
	uint32_t mime_owner;     /* transaction the MIME results describe */
	uint64_t bdat_left;
	uint64_t data_bytes;     /* content bytes since the DATA command */
	struct pending pend[SMTP_PENDING];
	struct txn txn[2];       /* the open one and one awaiting replies */
	struct mt_sasl sasl;
	/* Session fields, copied into every record. */
	uint8_t starttls_offered, starttls_requested;
	uint16_t starttls_reply;
	uint32_t ext;
	uint64_t size_limit;
	uint16_t auth_attempts;
	uint16_t helo_len;
	uint16_t auth_mech_len, auth_user_len; /* a NUL may be part of them */
	char helo[SMTP_HELO_MAX];
	char auth_mech[MT_SASL_MECH_MAX];
	char auth_user[MT_SASL_USER_MAX];
	char auth_result[16];
	uint16_t caps_len;
	uint8_t ncaps;
	uint8_t caps[SMTP_CAPS_BYTES];   /* [len][bytes]... */
	struct mt_mime mime;
	/* Recipient replies (2 x rcpt_max), client line, server line,
	 * recipient store, MIME buffers. */
	uint8_t bufs[] __attribute__((aligned(8)));
};

static uint32_t rstore_size(const struct mt_app_config *cfg)
{
	return cfg->smtp_rcpt_max * (SMTP_RCPT_AVG + SMTP_RCPT_HDR);
}

static struct mt_mime_limits mime_limits(const struct mt_app_config *cfg)
{
	struct mt_mime_limits l = {
		.header_max = cfg->mime_header_max,
		.headers_max = cfg->mime_headers_max,
		.depth_max = cfg->mime_depth_max,
		.parts_max = cfg->mime_parts_max,
	};

	return l;
}

static uint32_t smtp_state_size(const struct mt_app_config *cfg)
{
	struct mt_mime_limits l = mime_limits(cfg);

	return (uint32_t)(sizeof(struct smtp) + 4 * (size_t)cfg->smtp_rcpt_max +
			  SMTP_CMD_MAX + cfg->smtp_reply_max + rstore_size(cfg) +
			  mt_mime_extra_size(&l));
}

/* The struct and the recipients' reply codes (0 means "no reply seen");
 * the line buffers, the recipient store and MIME's buffers are tracked by
 * length and need no clearing. */
static uint32_t smtp_state_clear(const struct mt_app_config *cfg)
{
	return (uint32_t)(sizeof(struct smtp) + 4 * (size_t)cfg->smtp_rcpt_max);
}

static inline uint16_t *rcpt_replies(struct smtp *s, const struct txn *t)
{
	return (uint16_t *)(void *)s->bufs + (size_t)(t - s->txn) * s->rcpt_max;
}

static inline uint8_t *cline_buf(struct smtp *s)
{
	return s->bufs + 4 * (size_t)s->rcpt_max;
}

static inline uint8_t *sline_buf(struct smtp *s)
{
	return cline_buf(s) + SMTP_CMD_MAX;
}

static inline uint8_t *rstore(struct smtp *s)
{
	return sline_buf(s) + s->reply_max;
}

static void mime_anomaly(void *ctx, enum mt_ctr which, const uint8_t *ev, size_t len)
{
	mt_app_anomaly(ctx, which, MT_DIR_C2S, ev, len);
}

static void smtp_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	struct smtp *s = st;
	struct mt_mime_limits l = mime_limits(env->cfg);

	(void)after_starttls;
	s->reply_max = env->cfg->smtp_reply_max;
	s->rcpt_max = env->cfg->smtp_rcpt_max;
	s->rstore_cap = rstore_size(env->cfg);
	s->open_ns = env->now_ns;
	mt_mime_init(&s->mime, &l, rstore(s) + s->rstore_cap, mime_anomaly);
	if (env->flow->midstream) {
		/* No greeting to wait for, and replies to unseen commands. */
		s->greeted = 1;
		s->lost = 1;
	}
}

/* ---- small text helpers ---- */

static bool starts_ci(struct mt_view v, const char *lit)
{
	size_t l = strlen(lit);

	if (v.len < l)
		return false;
	for (size_t i = 0; i < l; i++) {
		uint8_t c = v.p[i];

		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 32);
		if (c != (uint8_t)lit[i])
			return false;
	}
	return true;
}

static bool eq_ci(struct mt_view v, const char *lit)
{
	return v.len == strlen(lit) && starts_ci(v, lit);
}

static bool contains_ci(struct mt_view v, const char *lit)
{
	size_t l = strlen(lit);

	for (size_t i = 0; i + l <= v.len; i++) {
		struct mt_view w = { v.p + i, v.len - i };

		if (starts_ci(w, lit))
			return true;
	}
	return false;
}

static struct mt_view word(struct mt_view v, size_t *next)
{
	size_t i = *next, j;
	struct mt_view w;

	while (i < v.len && v.p[i] == ' ')
		i++;
	j = i;
	while (j < v.len && v.p[j] != ' ')
		j++;
	w.p = v.p + i;
	w.len = j - i;
	*next = j;
	return w;
}

static struct mt_view trim(struct mt_view v)
{
	while (v.len && (v.p[0] == ' ' || v.p[0] == '\t')) {
		v.p++;
		v.len--;
	}
	while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
		v.len--;
	return v;
}

static void copy_str(char *dst, size_t cap, const void *src, size_t n)
{
	n = MT_MIN(n, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint64_t number(struct mt_view w, bool *ok)
{
	uint64_t v = 0;

	*ok = w.len > 0 && w.len <= 19;
	for (size_t i = 0; i < w.len && *ok; i++) {
		if (w.p[i] < '0' || w.p[i] > '9')
			*ok = false;
		else
			v = v * 10 + (uint64_t)(w.p[i] - '0');
	}
	return v;
}

/* ---- transactions ---- */

static struct txn *txn_of(struct smtp *s, uint32_t no)
{
	struct txn *t = &s->txn[no & 1];

	return no && t->no == no ? t : NULL;
}

static void rstore_add(struct smtp *s, struct txn *t, const uint8_t *p, size_t n)
{
	uint8_t *st = rstore(s);
	uint16_t len16;

	if (t->rcpt_full || s->rstore_used + SMTP_RCPT_HDR + 1 > s->rstore_cap) {
		t->rcpt_full = 1;
		return;
	}
	n = MT_MIN(n, (size_t)(s->rstore_cap - s->rstore_used - SMTP_RCPT_HDR));
	len16 = (uint16_t)n;
	st[s->rstore_used] = (uint8_t)(t - s->txn);
	memcpy(st + s->rstore_used + 1, &len16, 2);
	memcpy(st + s->rstore_used + SMTP_RCPT_HDR, p, n);
	s->rstore_used += SMTP_RCPT_HDR + (uint32_t)n;
	rcpt_replies(s, t)[t->rcpt_stored++] = 0;
}

/* Drops a slot's recipients; the other slot's keep their order. */
static void rstore_drop(struct smtp *s, const struct txn *t)
{
	uint8_t *st = rstore(s), slot = (uint8_t)(t - s->txn);
	uint32_t r = 0, w = 0;

	while (r + SMTP_RCPT_HDR <= s->rstore_used) {
		uint16_t len16;
		uint32_t sz;

		memcpy(&len16, st + r + 1, 2);
		sz = SMTP_RCPT_HDR + len16;
		if (st[r] != slot) {
			if (w != r)
				memmove(st + w, st + r, sz);
			w += sz;
		}
		r += sz;
	}
	s->rstore_used = w;
}

static const char *txn_status(const struct txn *t)
{
	if (t->data_done && t->data_reply)
		return t->data_reply / 100 == 2 ? "delivered" : "rejected";
	if (t->data_reply && t->data_reply / 100 != 2)
		return "rejected"; /* DATA or a BDAT chunk refused */
	if (t->mail_reply && t->mail_reply / 100 != 2)
		return "rejected";
	if (t->recipients && t->rcpt_replied >= t->recipients && t->rcpt_ok == 0)
		return "rejected";
	return "aborted";
}

static void put_str(struct mt_rec *r, struct mt_sref *dst, const void *p, size_t n)
{
	if (n)
		mt_rec_set_str(r, dst, p, n);
}

/* Session fields every smtp record carries (the small, telling ones). */
static void fill_session(struct smtp *s, struct mt_rec *r, struct mt_body_smtp *b)
{
	put_str(r, &b->helo, s->helo, s->helo_len);
	b->starttls_offered = s->starttls_offered;
	b->starttls_requested = s->starttls_requested;
	b->starttls_reply = s->starttls_reply;
	put_str(r, &b->auth_mech, s->auth_mech, s->auth_mech_len);
	put_str(r, &b->auth_user, s->auth_user, s->auth_user_len);
	put_str(r, &b->auth_result, s->auth_result, strlen(s->auth_result));
	b->auth_attempts = s->auth_attempts;
}

static void fill_caps(struct smtp *s, struct mt_rec *r, struct mt_body_smtp *b)
{
	for (uint16_t off = 0; off < s->caps_len; off = (uint16_t)(off + 1 + s->caps[off]))
		mt_rec_list_add(r, &b->capabilities, s->caps + off + 1, s->caps[off]);
}

static void fill_mime(struct smtp *s, struct mt_rec *r, struct mt_body_smtp *b)
{
	const struct mt_mime *m = &s->mime;
	struct mt_mime_file f;
	struct mt_view v;
	uint32_t pos = 0;

	if (mt_mime_value_next(m, MT_MIME_SUBJECT, &pos, &v))
		put_str(r, &b->email_subject, v.p, v.len);
	pos = 0;
	if (mt_mime_value_next(m, MT_MIME_FROM, &pos, &v))
		put_str(r, &b->email_from, v.p, v.len);
	/* Files before the long lists: the arena is shared and they matter
	 * more than the 30th address of a To: field. */
	pos = 0;
	while (mt_mime_file_next(m, &pos, &f)) {
		struct mt_body_file fb;

		memset(&fb, 0, sizeof(fb));
		mt_rec_set_str(r, &fb.filename, f.name.p, f.name.len);
		put_str(r, &fb.content_type, f.ctype.p, f.ctype.len);
		fb.size = f.size;
		if (f.sha256)
			mt_rec_set_str(r, &fb.sha256, f.sha256, 32);
		fb.incomplete = f.incomplete;
		if (!mt_rec_list_add(r, &b->email_files, &fb, sizeof(fb)))
			break;
		if (f.name.len)
			mt_rec_list_add(r, &b->email_attachment, f.name.p, f.name.len);
	}
	pos = 0;
	if (mt_mime_value_next(m, MT_MIME_MESSAGE_ID, &pos, &v))
		put_str(r, &b->email_message_id, v.p, v.len);
	pos = 0;
	if (mt_mime_value_next(m, MT_MIME_DATE, &pos, &v))
		put_str(r, &b->email_date, v.p, v.len);
	pos = 0;
	if (mt_mime_value_next(m, MT_MIME_X_MAILER, &pos, &v))
		put_str(r, &b->email_x_mailer, v.p, v.len);
	pos = 0;
	if (mt_mime_value_next(m, MT_MIME_USER_AGENT, &pos, &v))
		put_str(r, &b->email_user_agent, v.p, v.len);
	b->email_received = m->received;
	b->email_parts = m->leaves;
}

static void fill_lists(struct smtp *s, struct mt_rec *r, struct mt_body_smtp *b)
{
	const struct mt_mime *m = &s->mime;
	struct mt_view v;
	uint32_t pos = 0;

	while (mt_mime_value_next(m, MT_MIME_TO, &pos, &v))
		mt_rec_list_add(r, &b->email_to, v.p, v.len);
	pos = 0;
	while (mt_mime_value_next(m, MT_MIME_CC, &pos, &v))
		mt_rec_list_add(r, &b->email_cc, v.p, v.len);
}

static void emit_txn(struct smtp *s, struct mt_app_env *env, struct txn *t)
{
	const char *status;
	bool mime = s->mime_owner == t->no;
	struct mt_body_smtp *b;
	struct mt_rec *r;
	uint8_t *st = rstore(s), slot = (uint8_t)(t - s->txn);
	uint16_t *rr = rcpt_replies(s, t);
	uint32_t off = 0, i = 0;

	/* A message still streaming is cut short here. Done before the
	 * record is started: the MIME parser may report anomalies, which
	 * use the same scratch record. */
	if (mime) {
		mt_mime_gap(&s->mime, env);
		mt_mime_end(&s->mime, env);
	}
	status = txn_status(t);
	r = mt_app_rec(env, MT_REC_smtp);
	b = &r->b.smtp;
	b->timestamp = t->ts;
	mt_rec_set_str(r, &b->status, status, strlen(status));
	b->transaction = (uint16_t)MT_MIN(t->no, (uint32_t)UINT16_MAX);
	b->mail_reply = t->mail_reply;
	b->data_reply = t->data_reply;
	b->recipients = t->recipients;
	b->message_size = t->size;
	b->bdat = t->bdat;
	fill_session(s, r, b);
	put_str(r, &b->mail_from, t->from, t->from_len);
	put_str(r, &b->mail_params, t->params, t->params_len);
	if (mime)
		fill_mime(s, r, b);
	/* Recipients and their replies are parallel lists: add both or
	 * neither. */
	while (off + SMTP_RCPT_HDR <= s->rstore_used) {
		uint16_t len16;

		memcpy(&len16, st + off + 1, 2);
		if (st[off] == slot) {
			if (MT_REC_ARENA - r->arena_used < (uint32_t)len16 + 6 + 8) {
				r->flags |= MT_REC_F_TRUNCATED;
				break;
			}
			mt_rec_list_add(r, &b->rcpt_to, st + off + SMTP_RCPT_HDR, len16);
			mt_rec_list_add_u16(r, &b->rcpt_reply, i < t->rcpt_stored ? rr[i] : 0);
			i++;
		}
		off += SMTP_RCPT_HDR + len16;
	}
	fill_caps(s, r, b);
	if (mime)
		fill_lists(s, r, b);
	mt_app_emit(env);
	rstore_drop(s, t);
	if (mime)
		s->mime_owner = 0;
	if (s->cur == t->no)
		s->cur = 0;
	memset(t, 0, sizeof(*t));
}

static void maybe_emit(struct smtp *s, struct mt_app_env *env, struct txn *t)
{
	if (t && t->no && t->closed && t->outstanding == 0)
		emit_txn(s, env, t);
}

static void close_cur(struct smtp *s, struct mt_app_env *env)
{
	struct txn *t = txn_of(s, s->cur);

	s->cur = 0;
	if (t) {
		t->closed = 1;
		maybe_emit(s, env, t);
	}
}

/* ---- pending commands ---- */

static struct pending *pend_front(struct smtp *s)
{
	return s->npend ? &s->pend[s->head] : NULL;
}

static void pend_pop(struct smtp *s)
{
	s->head = (uint8_t)((s->head + 1) % SMTP_PENDING);
	s->npend--;
}

static void push(struct smtp *s, struct mt_app_env *env, uint8_t cmd, uint32_t txn,
		 bool last, struct mt_view line)
{
	struct txn *t = txn_of(s, txn);
	struct pending *pd;

	if (cmd == CMD_RCPT && s->npend) {
		pd = &s->pend[(s->head + s->npend - 1) % SMTP_PENDING];
		if (pd->cmd == CMD_RCPT && pd->txn == txn && pd->count < UINT16_MAX) {
			pd->count++;
			if (t)
				t->outstanding++;
			return;
		}
	}
	if (s->npend == SMTP_PENDING) {
		/* Its reply will come after all queued ones: absorbed then. */
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_too_many_commands_pipelined,
			       MT_DIR_C2S, line.p, line.len);
		s->dropped++;
		return;
	}
	pd = &s->pend[(s->head + s->npend) % SMTP_PENDING];
	pd->cmd = cmd;
	pd->last = last;
	pd->count = 1;
	pd->txn = txn;
	s->npend++;
	if (t)
		t->outstanding++;
}

/* Forgets what the replies would have paired with (after a gap). */
static void pend_clear(struct smtp *s, struct mt_app_env *env)
{
	s->npend = 0;
	s->head = 0;
	s->dropped = 0;
	s->rline = 0;
	s->lost = 1;
	s->sasl_wait = 0;
	for (int i = 0; i < 2; i++)
		s->txn[i].outstanding = 0;
	/* Older transaction first. */
	if (s->txn[0].no && s->txn[1].no && s->txn[1].no < s->txn[0].no) {
		maybe_emit(s, env, &s->txn[1]);
		maybe_emit(s, env, &s->txn[0]);
	} else {
		maybe_emit(s, env, &s->txn[0]);
		maybe_emit(s, env, &s->txn[1]);
	}
}

/* ---- message content ---- */

/* The first content byte (or hole) of a transaction's message. */
static void content_begin(struct smtp *s, struct mt_app_env *env, struct txn *t)
{
	struct txn *o = txn_of(s, s->mime_owner);

	t->content = 1;
	/* One MIME parser per session: an older message still waiting for
	 * its reply is written out now (rare: pipelined BDAT). */
	if (o && o != t)
		emit_txn(s, env, o);
	mt_mime_begin(&s->mime);
	s->mime_owner = t->no;
}

static void content(struct smtp *s, struct mt_app_env *env, const uint8_t *p, size_t n)
{
	struct txn *t = txn_of(s, s->cur);

	if (!n || !t)
		return;
	if (!t->content)
		content_begin(s, env, t);
	t->size += n;
	if (s->mime_owner == t->no)
		mt_mime_feed(&s->mime, p, n, env);
}

/* Lost content: the message is incomplete, MIME resynchronises. */
static void content_gap(struct smtp *s, struct mt_app_env *env)
{
	struct txn *t = txn_of(s, s->cur);

	if (!t)
		return;
	if (!t->content)
		content_begin(s, env, t);
	if (s->mime_owner == t->no)
		mt_mime_gap(&s->mime, env);
}

/* The content of the open transaction is complete. Returns it. */
static struct txn *content_done(struct smtp *s, struct mt_app_env *env)
{
	struct txn *t = txn_of(s, s->cur);

	s->cstate = C_CMD;
	if (!t)
		return NULL;
	if (s->mime_owner == t->no)
		mt_mime_end(&s->mime, env);
	t->data_done = 1;
	t->closed = 1;
	s->cur = 0;
	return t;
}

static void smuggling(struct mt_app_env *env, const uint8_t *p, size_t n)
{
	mt_app_anomaly(env, MT_CTR_anomaly_smtp_data_smuggling, MT_DIR_C2S, p, n);
}

/*
 * DATA content up to CRLF "." CRLF (each byte of which may come in its own
 * segment). Dots starting a line are removed (RFC 5321 4.5.2); only CRLF
 * starts a line, and end-of-data look-alikes with bare LF or CR are what
 * SMTP smuggling uses, so they are reported. Returns bytes consumed.
 */
static size_t data_scan(struct smtp *s, struct mt_app_env *env, const uint8_t *p,
			size_t n)
{
	static const uint8_t cr = '\r';
	size_t i = 0, run = 0;
	struct txn *t;

	while (i < n) {
		switch (s->dstate) {
		case D_BOL:
			if (p[i] == '.') {
				content(s, env, p + run, i - run);
				s->data_bytes += i - run;
				run = ++i;
				s->dstate = D_DOT;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_LFBOL:
			if (p[i] == '.') {
				i++;
				s->dstate = D_LFDOT;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_LFDOT:
			/* "<LF>.<LF>" or "<LF>.<CR>": an end of data to servers
			 * that accept bare LF, content to the others. */
			if (p[i] == '\n' || p[i] == '\r')
				smuggling(env, p + (i ? i - 1 : i), n - (i ? i - 1 : i));
			s->dstate = D_MID;
			break;
		case D_DOT:
			if (p[i] == '\r') {
				content(s, env, p + run, i - run);
				s->data_bytes += i - run;
				run = ++i;
				s->dstate = D_DOTCR;
				break;
			}
			if (p[i] == '\n')
				smuggling(env, p + i, n - i);
			s->dstate = D_MID;
			break;
		case D_DOTCR:
			if (p[i] == '\n') {
				i++;
				t = content_done(s, env);
				push(s, env, CMD_DATA_END, t ? t->no : 0, false,
				     (struct mt_view){ p, i });
				return i;
			}
			smuggling(env, p + i, n - i);
			content(s, env, &cr, 1);
			s->data_bytes++;
			s->last_cr = 1;
			s->dstate = D_MID;
			break;
		case D_MID: {
			const uint8_t *lf = memchr(p + i, '\n', n - i);
			size_t at;
			bool crlf;

			if (!lf) {
				s->last_cr = p[n - 1] == '\r';
				i = n;
				break;
			}
			at = (size_t)(lf - p);
			crlf = at > i ? p[at - 1] == '\r' : s->last_cr;
			s->last_cr = 0;
			i = at + 1;
			s->dstate = crlf ? D_BOL : D_LFBOL;
			break;
		}
		}
	}
	content(s, env, p + run, n - run);
	s->data_bytes += n - run;
	return n;
}

/* The server answered as if the data had ended where we saw no end: the
 * terminator was in a gap, or the server took a bare-LF one (smuggling). */
static void data_end_by_reply(struct smtp *s, struct mt_app_env *env, uint16_t code,
			      struct mt_view line)
{
	struct txn *t;

	if (!s->data_gap)
		smuggling(env, line.p, line.len);
	t = content_done(s, env);
	if (t) {
		t->data_reply = code;
		maybe_emit(s, env, t);
	}
	/* The client waited for this reply: what it sends next is a new
	 * command line. */
	mt_line_reset(&s->lc);
}

/* ---- replies ---- */

static void auth_done(struct smtp *s, struct mt_app_env *env, bool ok,
		      struct mt_view reply)
{
	/* Both records get the same bytes: a user name with a NUL (LOGIN's
	 * "a\0b") is kept whole, and cut where the session record must. */
	struct mt_view m = { (const uint8_t *)s->sasl.mech_name,
			     MT_MIN((size_t)s->sasl.mech_len, sizeof(s->auth_mech) - 1) };
	struct mt_view u = { (const uint8_t *)s->sasl.user,
			     MT_MIN((size_t)s->sasl.user_len, sizeof(s->auth_user) - 1) };
	const char *result = ok && !s->sasl.cancelled ? "success" : "failure";

	if (s->auth_attempts < UINT16_MAX)
		s->auth_attempts++;
	copy_str(s->auth_mech, sizeof(s->auth_mech), m.p, m.len);
	s->auth_mech_len = (uint16_t)m.len;
	copy_str(s->auth_user, sizeof(s->auth_user), u.p, u.len);
	s->auth_user_len = (uint16_t)u.len;
	copy_str(s->auth_result, sizeof(s->auth_result), result, strlen(result));
	mt_app_auth(env, m, u, result, reply, s->auth_attempts);
	s->sasl_active = 0;
	s->sasl_wait = 0;
	explicit_bzero(&s->sasl, sizeof(s->sasl));
}

/* One capability line of an EHLO reply ("250-SIZE 35882577"). */
static void add_cap(struct smtp *s, struct mt_app_env *env, struct mt_view line)
{
	struct mt_view text = { line.p + 4, line.len > 4 ? line.len - 4 : 0 };
	struct mt_view kw;
	size_t i = 0, n;
	bool ok;

	text = trim(text);
	if (!text.len)
		return;
	kw = word(text, &i);
	if (starts_ci(kw, "STARTTLS")) {
		s->ext |= EXT_STARTTLS;
		s->starttls_offered = 1;
	} else if (starts_ci(kw, "AUTH")) {
		s->ext |= EXT_AUTH;
	} else if (eq_ci(kw, "SIZE")) {
		s->ext |= EXT_SIZE;
		s->size_limit = number(word(text, &i), &ok);
	} else if (eq_ci(kw, "CHUNKING")) {
		s->ext |= EXT_CHUNKING;
	} else if (eq_ci(kw, "PIPELINING")) {
		s->ext |= EXT_PIPELINING;
	} else if (eq_ci(kw, "8BITMIME")) {
		s->ext |= EXT_8BITMIME;
	} else if (eq_ci(kw, "SMTPUTF8")) {
		s->ext |= EXT_SMTPUTF8;
	}
	n = MT_MIN(text.len, (size_t)SMTP_CAP_LEN);
	if (s->ncaps >= SMTP_CAPS_MAX || s->caps_len + 1 + n > SMTP_CAPS_BYTES ||
	    text.len > SMTP_CAP_LEN) {
		if (!s->caps_flagged) {
			s->caps_flagged = 1;
			mt_app_anomaly(env, MT_CTR_anomaly_smtp_capabilities_truncated,
				       MT_DIR_S2C, line.p, line.len);
		}
		if (s->ncaps >= SMTP_CAPS_MAX || s->caps_len + 1 + n > SMTP_CAPS_BYTES)
			return;
	}
	s->caps[s->caps_len] = (uint8_t)n;
	memcpy(s->caps + s->caps_len + 1, text.p, n);
	s->caps_len = (uint16_t)(s->caps_len + 1 + n);
	s->ncaps++;
}

/* The last line of a reply to the command at the head of the FIFO. Returns
 * true when the flow switches to TLS after it. */
static bool final_reply(struct smtp *s, struct mt_app_env *env, struct pending *pd,
			uint16_t code, struct mt_view line)
{
	struct txn *t = txn_of(s, pd->txn);
	bool ok = code / 100 == 2;

	switch (pd->cmd) {
	case CMD_EHLO:
		if (ok)
			s->ehlo_seen = 1;
		break;
	case CMD_MAIL:
		if (t)
			t->mail_reply = code;
		break;
	case CMD_RCPT:
		if (t) {
			if (t->rcpt_replied < t->rcpt_stored)
				rcpt_replies(s, t)[t->rcpt_replied] = code;
			t->rcpt_replied++;
			if (ok)
				t->rcpt_ok++;
		}
		if (--pd->count) {
			/* More recipients share this entry. */
			if (t) {
				t->outstanding--;
				maybe_emit(s, env, t);
			}
			return false;
		}
		break;
	case CMD_DATA:
		if (code == 354)
			break;
		if (t) {
			t->data_reply = code;
			t->closed = 1;
			/* Nothing sent yet: the client was waiting for this
			 * reply, so what it sends next is a command again. */
			if (s->cur == t->no) {
				s->cur = 0;
				if (s->cstate == C_DATA && s->data_bytes == 0)
					s->cstate = C_CMD;
			}
		}
		break;
	case CMD_DATA_END:
		if (t)
			t->data_reply = code;
		break;
	case CMD_BDAT:
		if (t) {
			if (!ok && !t->bdat_failed) {
				t->bdat_failed = 1;
				t->data_reply = code;
			} else if (pd->last && !t->bdat_failed) {
				t->data_reply = code;
			}
		}
		break;
	case CMD_AUTH:
		if (code == 334) {
			/* A challenge: the AUTH stays at the head. */
			if (s->sasl_active)
				s->sasl_wait = 1;
			return false;
		}
		if (s->sasl_active)
			auth_done(s, env, ok, line);
		break;
	case CMD_STARTTLS:
		s->starttls_reply = code;
		s->tls_pending = 0;
		if (code == 220) {
			pend_pop(s);
			mt_app_switch(env, MT_APP_TLS);
			return true;
		}
		break;
	default:
		break;
	}
	pend_pop(s);
	if (t) {
		t->outstanding--;
		maybe_emit(s, env, t);
	}
	return false;
}

static bool server_line(struct smtp *s, struct mt_app_env *env, struct mt_view line)
{
	struct pending *pd;
	uint16_t code;
	bool last;

	if (line.len < 3 || line.p[0] < '2' || line.p[0] > '5' ||
	    line.p[1] < '0' || line.p[1] > '9' || line.p[2] < '0' || line.p[2] > '9' ||
	    (line.len > 3 && line.p[3] != ' ' && line.p[3] != '-')) {
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_invalid_reply, MT_DIR_S2C,
			       line.p, line.len);
		return false;
	}
	code = (uint16_t)((line.p[0] - '0') * 100 + (line.p[1] - '0') * 10 + (line.p[2] - '0'));
	last = line.len == 3 || line.p[3] == ' ';
	if (!s->greeted) {
		if (last) {
			s->greeted = 1;
			if (code != 220 && code != 421 && code != 554)
				mt_app_anomaly(env, MT_CTR_anomaly_smtp_invalid_reply,
					       MT_DIR_S2C, line.p, line.len);
			/* Only now is it known that the client did not wait:
			 * without a greeting at all (a tap that sees one
			 * direction) nothing is claimed. */
			if (s->early_len)
				mt_app_anomaly(env, MT_CTR_anomaly_smtp_command_before_greeting,
					       MT_DIR_C2S, s->early, s->early_len);
		}
		return false;
	}
	pd = pend_front(s);
	if (!pd) {
		if (!last)
			return false;
		if (s->cstate == C_DATA && s->data_bytes && code != 354 && code != 421) {
			data_end_by_reply(s, env, code, line);
			return false;
		}
		if (s->dropped) {
			s->dropped--;
			return false;
		}
		/* The client's command is only partly here (its end lost in a
		 * fragment, or in a hole not declared yet): this answers it. */
		if (s->lc.len)
			return false;
		if (!s->lost && code != 421)
			mt_app_anomaly(env, MT_CTR_anomaly_smtp_reply_without_command,
				       MT_DIR_S2C, line.p, line.len);
		return false;
	}
	if (pd->cmd == CMD_EHLO && code == 250) {
		if (s->rline == 0) {
			/* A new EHLO reply replaces the capabilities. */
			s->caps_len = 0;
			s->ncaps = 0;
			s->ext = 0;
		} else {
			add_cap(s, env, line);
		}
	}
	if (!last) {
		if (s->rline < UINT16_MAX)
			s->rline++;
		return false;
	}
	s->rline = 0;
	return final_reply(s, env, pd, code, line);
}

static size_t server_data(struct smtp *s, struct mt_app_env *env,
			  const uint8_t *p, size_t n)
{
	const uint8_t *start = p;
	struct mt_view line;

	while (mt_line_next(&s->ls, sline_buf(s), s->reply_max, &p, &n, &line)) {
		if (s->ls.truncated)
			mt_app_anomaly(env, MT_CTR_anomaly_smtp_reply_too_long,
				       MT_DIR_S2C, line.p, line.len);
		if (server_line(s, env, line))
			break;
	}
	return (size_t)(p - start);
}

/* ---- commands ---- */

/* "FROM:<path> params" / "TO:<path> params": the path as written (angle
 * brackets included, as Suricata reports it) and the parameters. */
static bool parse_path(struct mt_view arg, const char *kw, struct mt_view *path,
		       struct mt_view *params)
{
	size_t i = strlen(kw), start;

	if (!starts_ci(arg, kw))
		return false;
	while (i < arg.len && arg.p[i] == ' ')
		i++;
	start = i;
	if (i < arg.len && arg.p[i] == '<') {
		bool quoted = false;

		for (i++; i < arg.len; i++) {
			uint8_t c = arg.p[i];

			if (quoted && c == '\\' && i + 1 < arg.len) {
				i++;
			} else if (c == '"') {
				quoted = !quoted;
			} else if (c == '>' && !quoted) {
				i++;
				break;
			}
		}
	} else {
		while (i < arg.len && arg.p[i] != ' ')
			i++;
	}
	path->p = arg.p + start;
	path->len = i - start;
	params->p = arg.p + i;
	params->len = arg.len - i;
	*params = trim(*params);
	return true;
}

static void cmd_mail(struct smtp *s, struct mt_app_env *env, struct mt_view arg,
		     struct mt_view line)
{
	struct mt_view path = { arg.p, 0 }, params = { arg.p, 0 };
	uint32_t no = s->ntxn + 1;
	struct txn *t;

	close_cur(s, env);
	if (no == 0)
		no = 1; /* 2^32 transactions later */
	s->ntxn = no;
	t = &s->txn[no & 1];
	if (t->no)
		emit_txn(s, env, t); /* two older ones still open: cut short */
	memset(t, 0, sizeof(*t));
	t->no = no;
	t->ts = env->now_ns;
	parse_path(arg, "FROM:", &path, &params);
	t->from_len = (uint16_t)MT_MIN(path.len, sizeof(t->from));
	memcpy(t->from, path.p, t->from_len);
	t->params_len = (uint16_t)MT_MIN(params.len, sizeof(t->params));
	memcpy(t->params, params.p, t->params_len);
	t->utf8 = contains_ci(params, "SMTPUTF8");
	s->cur = no;
	push(s, env, CMD_MAIL, no, false, line);
}

static void cmd_rcpt(struct smtp *s, struct mt_app_env *env, struct mt_view arg,
		     struct mt_view line)
{
	struct txn *t = txn_of(s, s->cur);
	struct mt_view path = { arg.p, 0 }, params;

	if (!t) {
		push(s, env, CMD_OTHER, 0, false, line);
		return;
	}
	t->recipients++;
	if (t->rcpt_stored >= s->rcpt_max || t->rcpt_full) {
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_too_many_recipients,
			       MT_DIR_C2S, line.p, line.len);
	} else {
		parse_path(arg, "TO:", &path, &params);
		rstore_add(s, t, path.p, MT_MIN(path.len, (size_t)SMTP_PATH_MAX));
	}
	push(s, env, CMD_RCPT, t->no, false, line);
}

static void cmd_bdat(struct smtp *s, struct mt_app_env *env, struct mt_view arg,
		     struct mt_view line)
{
	struct txn *t = txn_of(s, s->cur);
	struct mt_view w, last;
	size_t i = 0;
	uint64_t size;
	bool ok;

	w = word(arg, &i);
	size = number(w, &ok);
	last = word(arg, &i);
	if (ok && last.len && !eq_ci(last, "LAST"))
		ok = false;
	if (ok && word(arg, &i).len)
		ok = false;
	if (!ok) {
		/* The chunk's length is unknown: what follows is read as
		 * commands, as a server that refused it would. */
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_bdat_bad_size, MT_DIR_C2S,
			       line.p, line.len);
		push(s, env, CMD_OTHER, 0, false, line);
		return;
	}
	if (s->ehlo_seen && !(s->ext & EXT_CHUNKING))
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_bdat_without_chunking,
			       MT_DIR_C2S, line.p, line.len);
	if (t)
		t->bdat = 1;
	push(s, env, CMD_BDAT, t ? t->no : 0, last.len != 0, line);
	s->bdat_left = size;
	s->bdat_last = last.len != 0;
	s->cstate = C_BDAT;
	if (size == 0) {
		s->cstate = C_CMD;
		if (s->bdat_last)
			maybe_emit(s, env, content_done(s, env));
	}
}

static void cmd_auth(struct smtp *s, struct mt_app_env *env, struct mt_view arg,
		     struct mt_view line)
{
	size_t i = 0;
	struct mt_view mech = word(arg, &i), ir;

	if (!mech.len) {
		push(s, env, CMD_OTHER, 0, false, line);
		return;
	}
	ir = word(arg, &i);
	mt_sasl_start(&s->sasl, mech.p, mech.len);
	s->sasl_active = 1;
	s->sasl_wait = 0;
	if (ir.len && !mt_sasl_client(&s->sasl, ir.p, ir.len))
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_bad_base64, MT_DIR_C2S,
			       ir.p, ir.len);
	push(s, env, CMD_AUTH, 0, false, line);
}

static void client_line(struct smtp *s, struct mt_app_env *env, struct mt_view line,
			bool truncated)
{
	struct mt_view verb, arg;
	size_t i = 0;
	uint8_t cmd = CMD_OTHER;
	bool known = false, utf8_ok = false;

	if (s->sasl_wait) {
		/* The answer to a 334 challenge, not a command; RFC 4954 lets
		 * it be longer than a command line, so no length check. */
		s->sasl_wait = 0;
		if (!mt_sasl_client(&s->sasl, line.p, line.len))
			mt_app_anomaly(env, MT_CTR_anomaly_smtp_bad_base64, MT_DIR_C2S,
				       line.p, line.len);
		return;
	}
	if (!s->greeted && !s->early_len && line.len) {
		s->early_len = (uint8_t)MT_MIN(line.len, sizeof(s->early));
		memcpy(s->early, line.p, s->early_len);
	}
	if (truncated || line.len > SMTP_CMD_TEXT_MAX)
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_command_too_long, MT_DIR_C2S,
			       line.p, line.len);
	s->lost = 0;
	verb = word(line, &i);
	for (size_t k = 0; k < MT_ARRAY_SIZE(verbs); k++)
		if (eq_ci(verb, verbs[k].verb)) {
			cmd = verbs[k].cmd;
			known = true;
			break;
		}
	arg.p = line.p + i;
	arg.len = line.len - i;
	arg = trim(arg);
	if (memchr(line.p, 0, line.len))
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_nul_in_command, MT_DIR_C2S,
			       line.p, line.len);
	/* RFC 6531: with SMTPUTF8 on MAIL, addresses may be UTF-8. */
	if (cmd == CMD_MAIL)
		utf8_ok = contains_ci(arg, "SMTPUTF8");
	else if (cmd == CMD_RCPT && txn_of(s, s->cur))
		utf8_ok = txn_of(s, s->cur)->utf8;
	if (!utf8_ok)
		for (size_t k = 0; k < line.len; k++)
			if (line.p[k] >= 0x80) {
				mt_app_anomaly(env, MT_CTR_anomaly_smtp_non_ascii_command,
					       MT_DIR_C2S, line.p, line.len);
				break;
			}
	if (arg.len >= 2 && memmem(arg.p, arg.len, "${", 2))
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_expansion_string, MT_DIR_C2S,
			       arg.p, arg.len);
	if (!known)
		mt_app_anomaly(env, MT_CTR_anomaly_smtp_unknown_command, MT_DIR_C2S,
			       line.p, line.len);
	switch (cmd) {
	case CMD_HELO:
	case CMD_EHLO:
		s->helo_len = (uint16_t)MT_MIN(arg.len, sizeof(s->helo));
		memcpy(s->helo, arg.p, s->helo_len);
		push(s, env, cmd, 0, false, line);
		break;
	case CMD_MAIL:
		cmd_mail(s, env, arg, line);
		break;
	case CMD_RCPT:
		cmd_rcpt(s, env, arg, line);
		break;
	case CMD_DATA: {
		struct txn *t = txn_of(s, s->cur);

		push(s, env, CMD_DATA, t ? t->no : 0, false, line);
		/* Content is read from here on, before the 354: the client may
		 * not wait for it, and if the server refuses the DATA nothing
		 * will have been read (see final_reply). */
		if (t) {
			s->cstate = C_DATA;
			s->dstate = D_BOL;
			s->last_cr = 0;
			s->data_gap = 0;
			s->data_bytes = 0;
		}
		break;
	}
	case CMD_BDAT:
		cmd_bdat(s, env, arg, line);
		break;
	case CMD_RSET:
	case CMD_QUIT:
		close_cur(s, env);
		push(s, env, cmd, 0, false, line);
		break;
	case CMD_AUTH:
		cmd_auth(s, env, arg, line);
		break;
	case CMD_STARTTLS:
		s->starttls_requested = 1;
		s->tls_pending = 1;
		s->tls_flagged = 0;
		push(s, env, cmd, 0, false, line);
		break;
	default:
		push(s, env, cmd, 0, false, line);
		break;
	}
}

static size_t client_data(struct smtp *s, struct mt_app_env *env,
			  const uint8_t *p, size_t n)
{
	struct mt_view line;
	size_t total = n;

	while (n) {
		if (s->tls_pending && !s->tls_flagged) {
			/* Nothing may follow STARTTLS before the server's
			 * answer: bytes here are executed after the handshake by
			 * servers that keep them (CVE-2011-0411). */
			s->tls_flagged = 1;
			mt_app_anomaly(env, MT_CTR_anomaly_app_data_before_starttls_reply,
				       MT_DIR_C2S, p, n);
		}
		if (s->cstate == C_DATA) {
			size_t used = data_scan(s, env, p, n);

			p += used;
			n -= used;
			continue;
		}
		if (s->cstate == C_BDAT) {
			size_t k = (size_t)MT_MIN((uint64_t)n, s->bdat_left);

			content(s, env, p, k);
			s->bdat_left -= k;
			p += k;
			n -= k;
			if (s->bdat_left == 0) {
				s->cstate = C_CMD;
				if (s->bdat_last)
					maybe_emit(s, env, content_done(s, env));
			}
			continue;
		}
		if (!mt_line_next(&s->lc, cline_buf(s), SMTP_CMD_MAX, &p, &n, &line))
			break;
		client_line(s, env, line, s->lc.truncated);
	}
	return total;
}

static size_t smtp_data(void *st, struct mt_app_env *env, int dir,
			const uint8_t *p, size_t n)
{
	struct smtp *s = st;

	if (dir == MT_DIR_S2C)
		return server_data(s, env, p, n);
	return client_data(s, env, p, n);
}

static void smtp_gap(void *st, struct mt_app_env *env, int dir, uint32_t len)
{
	struct smtp *s = st;

	if (dir == MT_DIR_S2C) {
		mt_line_reset(&s->ls);
		s->ls.discarding = 1;
		pend_clear(s, env);
		return;
	}
	if (s->cstate == C_DATA) {
		/* The terminator may be in the hole: the server's reply will
		 * tell (data_end_by_reply). */
		content_gap(s, env);
		s->dstate = D_MID;
		s->data_gap = 1;
		s->data_bytes += len;
		return;
	}
	if (s->cstate == C_BDAT) {
		content_gap(s, env);
		if (len < s->bdat_left) {
			s->bdat_left -= len;
			return;
		}
		len -= (uint32_t)s->bdat_left;
		s->bdat_left = 0;
		s->cstate = C_CMD;
		if (s->bdat_last)
			maybe_emit(s, env, content_done(s, env));
		if (len == 0)
			return; /* the hole ended with the chunk */
	}
	mt_line_reset(&s->lc);
	s->lc.discarding = 1;
	pend_clear(s, env);
}

static void smtp_close(void *st, struct mt_app_env *env)
{
	struct smtp *s = st;
	struct txn *a = &s->txn[0], *b = &s->txn[1];

	if (a->no && b->no && b->no < a->no) {
		a = &s->txn[1];
		b = &s->txn[0];
	}
	if (a->no)
		emit_txn(s, env, a);
	if (b->no)
		emit_txn(s, env, b);
	if (s->ntxn == 0) {
		/* Still one record, so HELO, AUTH and STARTTLS are visible. */
		struct mt_rec *r = mt_app_rec(env, MT_REC_smtp);
		struct mt_body_smtp *bd = &r->b.smtp;

		bd->timestamp = s->open_ns;
		mt_rec_set_str(r, &bd->status, "no_transaction", 14);
		fill_session(s, r, bd);
		fill_caps(s, r, bd);
		mt_app_emit(env);
	}
	explicit_bzero(&s->sasl, sizeof(s->sasl));
}

const struct mt_analyzer mt_smtp_analyzer = {
	.app = MT_APP_SMTP,
	.state_size = smtp_state_size,
	.state_clear = smtp_state_clear,
	.open = smtp_open,
	.data = smtp_data,
	.gap = smtp_gap,
	.close = smtp_close,
};
