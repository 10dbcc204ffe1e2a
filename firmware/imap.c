/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IMAP analyzer (RFC 9051, RFC 3501, and what sessions show of LITERAL+ /
 * LITERAL- RFC 7888, SASL-IR RFC 4959, IDLE RFC 2177, BINARY RFC 3516 and
 * QRESYNC's VANISHED RFC 7162). Lines are read under a cap; literals in
 * either direction, anywhere in a line, are skipped without being buffered;
 * tagged commands wait in a capped table for their completions, which may
 * come in any order. One `auth` record per LOGIN or AUTHENTICATE, one `imap`
 * record per session.
 */
#include "app.h"
#include "sasl.h"

#define IMAP_PENDING 32      /* commands awaiting their tagged completion */
#define IMAP_TAG_MAX 24      /* tag bytes kept; longer tags match on prefix and length */
#define IMAP_AUTH_SLOTS 8    /* LOGIN / AUTHENTICATE awaiting completion (+1 shared spare) */
#define IMAP_CAPS 48
#define IMAP_CAP_LEN 64
#define IMAP_MBOXES 16
#define IMAP_MBOX_LEN 128
#define IMAP_REPLY_KEEP 200
#define IMAP_TAIL 32         /* end of an over-long line kept: it may announce a literal */
#define IMAP_CAPTURE MT_SASL_USER_MAX /* literal bytes kept of a user or mailbox name */
#define IMAP_DEPTH_MAX 1000  /* nesting beyond this is not tracked further */
#define NO_DATA SIZE_MAX

enum imap_cmd {
	CMD_OTHER = 0, CMD_KNOWN, CMD_LOGIN, CMD_AUTHENTICATE, CMD_STARTTLS,
	CMD_LOGOUT, CMD_SELECT, CMD_EXAMINE, CMD_APPEND, CMD_SEARCH, CMD_FETCH,
	CMD_STORE, CMD_COPY, CMD_MOVE, CMD_EXPUNGE, CMD_IDLE, CMD_UID, CMD_COMPRESS,
};

static const struct {
	const char *name;
	uint8_t cmd;
} cmds[] = {
	{ "LOGIN", CMD_LOGIN },     { "AUTHENTICATE", CMD_AUTHENTICATE },
	{ "STARTTLS", CMD_STARTTLS }, { "LOGOUT", CMD_LOGOUT },
	{ "SELECT", CMD_SELECT },   { "EXAMINE", CMD_EXAMINE },
	{ "APPEND", CMD_APPEND },   { "SEARCH", CMD_SEARCH },
	{ "FETCH", CMD_FETCH },     { "STORE", CMD_STORE },
	{ "COPY", CMD_COPY },       { "MOVE", CMD_MOVE },
	{ "EXPUNGE", CMD_EXPUNGE }, { "IDLE", CMD_IDLE },
	{ "UID", CMD_UID },         { "COMPRESS", CMD_COMPRESS },
	/* No effect on the record; known so a resynchronisation can trust them. */
	{ "CAPABILITY", CMD_KNOWN }, { "NOOP", CMD_KNOWN },    { "CHECK", CMD_KNOWN },
	{ "CLOSE", CMD_KNOWN },      { "UNSELECT", CMD_KNOWN }, { "CREATE", CMD_KNOWN },
	{ "DELETE", CMD_KNOWN },     { "RENAME", CMD_KNOWN },   { "SUBSCRIBE", CMD_KNOWN },
	{ "UNSUBSCRIBE", CMD_KNOWN }, { "LIST", CMD_KNOWN },    { "LSUB", CMD_KNOWN },
	{ "STATUS", CMD_KNOWN },     { "NAMESPACE", CMD_KNOWN }, { "ENABLE", CMD_KNOWN },
	{ "ID", CMD_KNOWN },         { "SORT", CMD_KNOWN },     { "THREAD", CMD_KNOWN },
	{ "GETQUOTA", CMD_KNOWN },   { "GETQUOTAROOT", CMD_KNOWN }, { "GETACL", CMD_KNOWN },
	{ "MYRIGHTS", CMD_KNOWN },   { "GETMETADATA", CMD_KNOWN }, { "SETMETADATA", CMD_KNOWN },
	{ "UNAUTHENTICATE", CMD_KNOWN }, { "REPLACE", CMD_KNOWN }, { "XLIST", CMD_KNOWN },
};

/* What the current logical line of a direction is. */
enum line_kind { LK_NONE = 0, LK_CMD, LK_JUNK, LK_FETCH, LK_DATA };
/* What the bytes of the literal being skipped are. */
enum lit_use { LU_SKIP = 0, LU_CAPTURE, LU_FETCH, LU_APPEND };
enum tok_kind { TK_ATOM, TK_QUOTED, TK_OPEN, TK_CLOSE, TK_LITERAL };
/* ITEM_MSG: message content (counted as a fetched message and its bytes);
 * ITEM_HDR: header-only sections (bytes counted, not a message: a client
 * syncing headers is not downloading the mailbox). */
enum fetch_item { ITEM_OTHER = 0, ITEM_MSG, ITEM_FLAGS, ITEM_HDR };

#define PF_DEL_FETCH 0x01   /* STORE adding \Deleted: its FETCH answers count */
#define PF_DEL_SILENT 0x02  /* STORE.SILENT adding \Deleted: count the set at OK */

struct tok {
	uint8_t kind;
	uint16_t depth;     /* nesting the token sits at (outside its own parens) */
	struct mt_view v;   /* atom, quoted contents (escapes kept), literal kept */
};

/* A line as handed out: its head (at most the cap), and for an over-long
 * line the last bytes too, since a literal is announced at the very end. */
struct frag {
	struct mt_view head;
	struct mt_view tail;
	bool truncated;
};

/* Line reader state: the head of a partial line, and the end of one that
 * passed the cap. */
struct rd {
	uint32_t len;
	uint8_t discard;          /* after a gap: drop up to the next LF */
	uint8_t tail_len;
	uint64_t dropped;         /* bytes of an over-long line beyond the cap */
	uint8_t tail[IMAP_TAIL];
};

struct dir {
	struct rd rd;
	uint64_t lit_left;        /* literal bytes still to skip */
	uint64_t lit_seen;
	uint8_t lit_use;          /* enum lit_use */
	uint8_t lit_sync;         /* client literal sent after a "+" go-ahead */
	uint8_t lit_msg;          /* the literal is an APPEND message (counted) */
	uint8_t active;           /* a logical line continues after a literal */
	uint8_t kind;             /* enum line_kind */
	uint8_t damaged;          /* part of this line was cut: follow literals only */
	uint8_t in_bracket;       /* a [...] section runs on after a literal */
	uint8_t resync;           /* after a gap: wait for a line that looks right */
	uint16_t depth;           /* parenthesis nesting */
	uint16_t argi;            /* top-level arguments completed (commands) */
};

struct pend {
	uint32_t seq;             /* command number; 0 = free entry */
	uint32_t silent_del;
	uint8_t cmd;
	uint8_t flags;            /* PF_* */
	int8_t auth;              /* auth slot, -1 none */
	uint8_t tag_len;          /* bytes kept in tag[] */
	uint16_t tag_full;        /* length on the wire, saturated */
	char tag[IMAP_TAG_MAX];
};

/* The command line being read. */
struct cmdl {
	uint32_t seq;
	uint32_t set_n;           /* STORE: messages in the set */
	int8_t pend;
	int8_t auth;
	uint8_t cmd;
	uint8_t uid;
	uint8_t store_op;         /* '+', '-', '=' once [+-]FLAGS[.SILENT] is seen */
	uint8_t store_silent;
	uint8_t store_del;
	uint8_t set_ok;
};

/* The FETCH response being read: (name value)* at depth 1. */
struct rspl {
	uint8_t want_name;
	uint8_t item;             /* enum fetch_item of the value to come */
	uint8_t counted;          /* this response already counted as a message */
	uint8_t deleted;          /* FLAGS showed \Deleted */
};

struct imap {
	uint32_t line_max;
	uint64_t literal_max;
	uint64_t open_ns;
	struct dir d[2];
	struct cmdl cl;
	struct rspl rl;
	uint8_t greeted;
	uint8_t lost;             /* a gap: completions may be for unseen commands */
	uint8_t sasl_active;
	int8_t sasl_slot;
	uint8_t idle_active;
	uint8_t starttls_wait;    /* STARTTLS sent, no completion yet */
	uint8_t starttls_flagged;
	uint8_t logindisabled;
	uint8_t selected;
	uint8_t compressed;       /* COMPRESS accepted: the rest is deflate */
	uint8_t npend;
	uint32_t seq;
	uint32_t dropped;         /* commands evicted from the table, answers to come */
	uint32_t del_fetch;       /* pending STOREs with PF_DEL_FETCH */
	struct pend pend[IMAP_PENDING];
	uint8_t auth_used[IMAP_AUTH_SLOTS];
	struct mt_sasl auth[IMAP_AUTH_SLOTS + 1];
	uint16_t cap_len;
	uint8_t cap[IMAP_CAPTURE];
	/* Session record. */
	uint32_t commands, exists, fetch_commands, messages_fetched;
	uint32_t search_commands, deleted, expunged, appends, copies;
	uint64_t bytes_fetched, append_bytes;
	uint16_t auth_attempts, idle;
	uint8_t starttls_offered, starttls_requested, logout;
	char starttls_reply[4];
	char last_mech[MT_SASL_MECH_MAX];
	char last_user[MT_SASL_USER_MAX];
	char last_result[8];
	uint16_t last_user_len;
	uint8_t ncaps, nmbox;
	uint8_t caps_len[IMAP_CAPS];
	uint8_t mbox_len[IMAP_MBOXES];
	char caps[IMAP_CAPS][IMAP_CAP_LEN];
	char mbox[IMAP_MBOXES][IMAP_MBOX_LEN];
	uint8_t bufs[];           /* client line, then server line */
};

static uint32_t imap_state_size(const struct mt_app_config *cfg)
{
	return (uint32_t)sizeof(struct imap) + 2 * cfg->imap_line_max;
}

/* The line and message buffers are tracked by length: not cleared. */
static uint32_t imap_state_clear(const struct mt_app_config *cfg)
{
	(void)cfg;
	return (uint32_t)sizeof(struct imap);
}

static void imap_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	struct imap *s = st;

	(void)after_starttls;
	s->line_max = env->cfg->imap_line_max;
	s->literal_max = env->cfg->imap_literal_max;
	s->open_ns = env->now_ns;
	s->sasl_slot = -1;
	if (env->flow->midstream) {
		/* No greeting to wait for, commands we never saw, and perhaps
		 * the middle of a literal: trust only lines that look right. */
		s->greeted = 1;
		s->lost = 1;
		s->d[0].resync = 1;
		s->d[1].resync = 1;
	}
}

/* ---- small helpers ---- */

static uint8_t upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

/* Case-insensitive prefix test against upper-case `lit` of length `l`. */
static bool starts_cin(struct mt_view v, const char *lit, size_t l)
{
	if (v.len < l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (upper(v.p[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/* With string literals, so the length is known at compile time: these
 * run for every word of every line. */
#define starts_ci(v, lit) starts_cin((v), "" lit, sizeof(lit) - 1)
#define eq_ci(v, lit) ((v).len == sizeof(lit) - 1 && starts_cin((v), "" lit, sizeof(lit) - 1))

/* The same for a name from a table. */
static bool eq_ci_str(struct mt_view v, const char *name)
{
	size_t l = strlen(name);

	return v.len == l && starts_cin(v, name, l);
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
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

/* A decimal number, saturated at UINT32_MAX. */
static uint32_t num32(struct mt_view w)
{
	uint64_t v = 0;

	for (size_t i = 0; i < w.len && is_digit(w.p[i]); i++) {
		v = v * 10 + (uint64_t)(w.p[i] - '0');
		if (v > UINT32_MAX)
			return UINT32_MAX;
	}
	return (uint32_t)v;
}

static void add32(uint32_t *c, uint64_t n)
{
	*c = (uint32_t)MT_MIN((uint64_t)*c + n, (uint64_t)UINT32_MAX);
}

static void copy_str(char *dst, size_t cap, const void *src, size_t n)
{
	n = MT_MIN(n, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* tag = 1*<any ASTRING-CHAR except "+"> */
static bool tag_valid(struct mt_view t)
{
	if (!t.len)
		return false;
	for (size_t i = 0; i < t.len; i++) {
		uint8_t c = t.p[i];

		if (c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '{' ||
		    c == '%' || c == '*' || c == '"' || c == '\\' || c == '+')
			return false;
	}
	return true;
}

static uint8_t cmd_lookup(struct mt_view name)
{
	for (size_t k = 0; k < MT_ARRAY_SIZE(cmds); k++)
		if (eq_ci_str(name, cmds[k].name))
			return cmds[k].cmd;
	return CMD_OTHER;
}

static bool is_auth_name(struct mt_view w)
{
	return eq_ci(w, "LOGIN") || eq_ci(w, "AUTHENTICATE");
}

/*
 * How much of a client line may go into an anomaly record: LOGIN and
 * AUTHENTICATE lines carry secrets, so only "tag COMMAND" of them (or
 * "COMMAND" when a client left the tag out).
 */
static size_t safe_evidence(struct mt_view v)
{
	size_t i = 0;

	if (is_auth_name(word(v, &i)))
		return i;
	if (is_auth_name(word(v, &i)))
		return i;
	return v.len;
}

/* Evidence length for a fragment of the client line being read. */
static size_t client_evidence(const struct imap *s, struct mt_view v)
{
	if (s->d[MT_DIR_C2S].active &&
	    (s->cl.cmd == CMD_LOGIN || s->cl.cmd == CMD_AUTHENTICATE))
		return 0; /* the rest of a LOGIN line: the password */
	return safe_evidence(v);
}

/* ---- line reader ---- */

/* Keeps the last IMAP_TAIL bytes seen of an over-long line. */
static void tail_put(struct rd *r, const uint8_t *p, size_t n)
{
	if (n >= IMAP_TAIL) {
		memcpy(r->tail, p + n - IMAP_TAIL, IMAP_TAIL);
		r->tail_len = IMAP_TAIL;
		return;
	}
	if (r->tail_len + n > IMAP_TAIL) {
		size_t drop = r->tail_len + n - IMAP_TAIL;

		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len = (uint8_t)(r->tail_len - drop);
	}
	memcpy(r->tail + r->tail_len, p, n);
	r->tail_len = (uint8_t)(r->tail_len + n);
}

/*
 * Like mt_line_next() (line.h), but an over-long line is handed out once,
 * at its LF, with its last bytes: "{n}" at the end of a line too long to
 * keep still announces a literal, and losing it would make the literal's
 * contents parse as protocol lines. Takes from (*p, *n); returns true with
 * `f` set when a line is complete.
 */
static bool line_read(struct rd *r, uint8_t *buf, uint32_t cap, const uint8_t **p,
		      size_t *n, struct frag *f)
{
	const uint8_t *lf;
	size_t seg, take;

	if (r->discard) {
		lf = memchr(*p, '\n', *n);
		if (!lf) {
			*p += *n;
			*n = 0;
			return false;
		}
		*n -= (size_t)(lf + 1 - *p);
		*p = lf + 1;
		r->discard = 0;
	}
	if (*n == 0)
		return false;
	lf = memchr(*p, '\n', *n);
	seg = lf ? (size_t)(lf - *p) : *n;
	if (lf && r->len == 0 && r->dropped == 0) {
		size_t len = seg && (*p)[seg - 1] == '\r' ? seg - 1 : seg;

		if (len <= cap) {
			/* Whole line in this segment: hand it out in place. */
			f->head.p = *p;
			f->head.len = len;
			f->tail = f->head;
			f->truncated = false;
			*n -= seg + 1;
			*p = lf + 1;
			return true;
		}
	}
	take = MT_MIN(seg, (size_t)(cap - r->len));
	memcpy(buf + r->len, *p, take);
	r->len += (uint32_t)take;
	if (take < seg) {
		if (r->dropped == 0) {
			r->tail_len = 0;
			tail_put(r, buf + r->len - MT_MIN(r->len, (uint32_t)IMAP_TAIL),
				 MT_MIN(r->len, (uint32_t)IMAP_TAIL));
		}
		tail_put(r, *p + take, seg - take);
		r->dropped += seg - take;
	}
	if (!lf) {
		*p += *n;
		*n = 0;
		return false;
	}
	*n -= seg + 1;
	*p = lf + 1;
	/* The CR may have come in an earlier segment than the LF. */
	if (r->dropped) {
		if (r->tail_len && r->tail[r->tail_len - 1] == '\r') {
			r->tail_len--;
			r->dropped--;
		}
	} else if (r->len && buf[r->len - 1] == '\r') {
		r->len--;
	}
	f->head.p = buf;
	f->head.len = r->len;
	f->tail.p = r->tail;
	f->tail.len = r->tail_len;
	f->truncated = r->dropped != 0;
	r->len = 0;
	r->dropped = 0;
	return true;
}

/*
 * A literal announced at the end of a line: "{" number ["+"] "}", with "~"
 * before it for a literal8. Sizes are parsed saturating, so an absurd one
 * is just very large. `at` is where the announcement starts.
 */
static bool literal_at_end(struct mt_view v, size_t *at, uint64_t *n, bool *plus)
{
	size_t i = v.len, end;
	uint64_t x = 0;

	if (i < 3 || v.p[i - 1] != '}')
		return false;
	i--;
	*plus = i && v.p[i - 1] == '+';
	if (*plus)
		i--;
	end = i;
	while (i && is_digit(v.p[i - 1]))
		i--;
	if (i == end || i == 0 || v.p[i - 1] != '{')
		return false;
	for (size_t k = i; k < end; k++) {
		uint64_t d = (uint64_t)(v.p[k] - '0');

		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
	}
	i--;
	if (i && v.p[i - 1] == '~')
		i--;
	*at = i;
	*n = x;
	return true;
}

/* ---- records of the session ---- */

static void cap_add(struct imap *s, struct mt_view w)
{
	size_t n = MT_MIN(w.len, (size_t)IMAP_CAP_LEN);

	if (!w.len)
		return;
	if (eq_ci(w, "STARTTLS"))
		s->starttls_offered = 1;
	if (eq_ci(w, "LOGINDISABLED"))
		s->logindisabled = 1;
	/* Announced again after STARTTLS or login: keep the union. */
	for (unsigned k = 0; k < s->ncaps; k++) {
		struct mt_view c = { (const uint8_t *)s->caps[k], s->caps_len[k] };

		if (c.len == n) {
			size_t i = 0;

			while (i < n && upper(c.p[i]) == upper(w.p[i]))
				i++;
			if (i == n)
				return;
		}
	}
	if (s->ncaps == IMAP_CAPS)
		return;
	memcpy(s->caps[s->ncaps], w.p, n);
	s->caps_len[s->ncaps++] = (uint8_t)n;
}

/* Capability names in v[i, end). */
static void caps_words(struct imap *s, struct mt_view v, size_t i, size_t end)
{
	struct mt_view r = { v.p, end };

	while (i < end)
		cap_add(s, word(r, &i));
}

/* The response code of a status response: [CAPABILITY ...] is the one
 * the record wants. `i` is just after the status word. */
static void resp_code(struct imap *s, struct mt_view v, size_t i)
{
	struct mt_view rest;
	const uint8_t *rb;

	while (i < v.len && v.p[i] == ' ')
		i++;
	rest.p = v.p + i;
	rest.len = v.len - i;
	if (!starts_ci(rest, "[CAPABILITY "))
		return;
	rb = memchr(rest.p, ']', rest.len);
	caps_words(s, v, i + 12, rb ? (size_t)(rb - v.p) : v.len);
}

/* The text of a string argument: a quoted string loses its escapes. */
static size_t arg_text(const struct tok *t, char *dst, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < t->v.len && o < cap; i++) {
		uint8_t c = t->v.p[i];

		if (t->kind == TK_QUOTED && c == '\\' && i + 1 < t->v.len)
			c = t->v.p[++i];
		dst[o++] = (char)c;
	}
	return o;
}

static void mbox_add(struct imap *s, const struct tok *t)
{
	char name[IMAP_MBOX_LEN];
	size_t n = arg_text(t, name, sizeof(name));

	if (s->nmbox && s->mbox_len[s->nmbox - 1] == n &&
	    !memcmp(s->mbox[s->nmbox - 1], name, n))
		return; /* selected again */
	if (s->nmbox == IMAP_MBOXES)
		return;
	memcpy(s->mbox[s->nmbox], name, n);
	s->mbox_len[s->nmbox++] = (uint8_t)n;
}

/* One number of a sequence set, or "*" as `star` (0: not resolvable). */
static bool set_num(struct mt_view v, size_t *i, uint32_t star, uint64_t *out)
{
	size_t k = *i, digits = 0;
	uint64_t x = 0;

	if (k < v.len && v.p[k] == '*') {
		*out = star;
		*i = k + 1;
		return star != 0;
	}
	while (k < v.len && is_digit(v.p[k])) {
		if (++digits > 10)
			return false;
		x = x * 10 + (uint64_t)(v.p[k++] - '0');
	}
	if (!digits || !x || x > UINT32_MAX)
		return false;
	*out = x;
	*i = k;
	return true;
}

/* Members of a sequence or UID set ("1,4:7,9"), saturated; false when it
 * is not a plain set (a "$" or an unresolvable "*"). */
static bool set_count(struct mt_view v, uint32_t star, uint32_t *count)
{
	uint64_t total = 0;
	size_t i = 0;

	if (!v.len)
		return false;
	while (i < v.len) {
		uint64_t a, b;

		if (!set_num(v, &i, star, &a))
			return false;
		b = a;
		if (i < v.len && v.p[i] == ':') {
			i++;
			if (!set_num(v, &i, star, &b))
				return false;
		}
		total = MT_MIN(total + (a > b ? a - b : b - a) + 1, (uint64_t)UINT32_MAX);
		if (i < v.len) {
			if (v.p[i] != ',' || i + 1 == v.len)
				return false;
			i++;
		}
	}
	*count = (uint32_t)total;
	return true;
}

/* ---- pending commands and authentication ---- */

static int auth_alloc(struct imap *s, struct mt_app_env *env, struct mt_view line)
{
	for (int k = 0; k < IMAP_AUTH_SLOTS; k++)
		if (!s->auth_used[k]) {
			s->auth_used[k] = 1;
			memset(&s->auth[k], 0, sizeof(s->auth[k]));
			return k;
		}
	/* More pipelined logins than slots: they share the spare one. */
	mt_app_anomaly(env, MT_CTR_anomaly_imap_too_many_pending, MT_DIR_C2S,
		       line.p, safe_evidence(line));
	memset(&s->auth[IMAP_AUTH_SLOTS], 0, sizeof(s->auth[IMAP_AUTH_SLOTS]));
	return IMAP_AUTH_SLOTS;
}

static void pend_free(struct imap *s, int k)
{
	struct pend *e = &s->pend[k];

	if (e->flags & PF_DEL_FETCH)
		s->del_fetch--;
	if (e->auth >= 0) {
		if (s->sasl_active && s->sasl_slot == e->auth)
			s->sasl_active = 0;
		if (e->auth < IMAP_AUTH_SLOTS) {
			s->auth_used[e->auth] = 0;
			explicit_bzero(&s->auth[e->auth], sizeof(s->auth[e->auth]));
		}
	}
	memset(e, 0, sizeof(*e));
	s->npend--;
}

static void pend_push(struct imap *s, struct mt_app_env *env, struct mt_view tag,
		      struct mt_view line)
{
	int k, oldest = -1;
	struct pend *e;

	for (k = 0; k < IMAP_PENDING; k++) {
		if (!s->pend[k].seq)
			break;
		if (oldest < 0 || mt_seq_lt(s->pend[k].seq, s->pend[oldest].seq))
			oldest = k;
	}
	if (k == IMAP_PENDING) {
		/* The oldest is likeliest to be one whose answer was lost. */
		mt_app_anomaly(env, MT_CTR_anomaly_imap_too_many_pending, MT_DIR_C2S,
			       line.p, safe_evidence(line));
		pend_free(s, oldest);
		add32(&s->dropped, 1);
		k = oldest;
	}
	e = &s->pend[k];
	e->seq = s->cl.seq;
	e->cmd = s->cl.cmd;
	e->auth = s->cl.auth;
	e->tag_len = (uint8_t)MT_MIN(tag.len, (size_t)IMAP_TAG_MAX);
	e->tag_full = (uint16_t)MT_MIN(tag.len, (size_t)UINT16_MAX);
	memcpy(e->tag, tag.p, e->tag_len);
	s->npend++;
	s->cl.pend = (int8_t)k;
}

/* The oldest pending command with this tag (a client may reuse tags). */
static int pend_find(const struct imap *s, struct mt_view tag)
{
	int best = -1;

	for (int k = 0; k < IMAP_PENDING; k++) {
		const struct pend *e = &s->pend[k];

		if (!e->seq || e->tag_full != MT_MIN(tag.len, (size_t)UINT16_MAX) ||
		    memcmp(e->tag, tag.p, e->tag_len))
			continue;
		if (best < 0 || mt_seq_lt(e->seq, s->pend[best].seq))
			best = k;
	}
	return best;
}

/* The pending entry of the command line being read, if still there. */
static struct pend *cur_pend(struct imap *s)
{
	if (s->cl.pend < 0 || s->pend[s->cl.pend].seq != s->cl.seq)
		return NULL;
	return &s->pend[s->cl.pend];
}

static void sasl_msg(struct imap *s, struct mt_app_env *env, struct mt_view v)
{
	struct mt_sasl *a = &s->auth[s->sasl_slot];

	/* No evidence: a line that is not base64 may be a password. */
	if (!mt_sasl_client(a, v.p, v.len))
		mt_app_anomaly(env, MT_CTR_anomaly_imap_bad_base64, MT_DIR_C2S, NULL, 0);
	if (a->cancelled)
		s->sasl_active = 0;
}

static void auth_done(struct imap *s, struct mt_app_env *env, const struct pend *e,
		      bool ok, struct mt_view reply)
{
	const struct mt_sasl *a = &s->auth[e->auth];
	struct mt_view m = { (const uint8_t *)a->mech_name, a->mech_len };
	struct mt_view u = { (const uint8_t *)a->user, a->user_len };
	const char *result = ok && !a->cancelled ? "success" : "failure";

	if (!a->mech_len)
		return; /* AUTHENTICATE without a mechanism: no attempt */
	if (s->auth_attempts < UINT16_MAX)
		s->auth_attempts++;
	copy_str(s->last_mech, sizeof(s->last_mech), a->mech_name, a->mech_len);
	memcpy(s->last_user, a->user, a->user_len);
	s->last_user_len = a->user_len;
	copy_str(s->last_result, sizeof(s->last_result), result, strlen(result));
	reply.len = MT_MIN(reply.len, (size_t)IMAP_REPLY_KEEP);
	mt_app_auth(env, m, u, result, reply, s->auth_attempts);
}

/* ---- tokens ---- */

/* Saturating: past 65535 arguments nothing is argument 0 again. */
static void arg_done(struct dir *d)
{
	if (d->argi < UINT16_MAX)
		d->argi++;
}

/* Bytes that end an atom (1) or open a section inside one (2). */
static const uint8_t atom_class[256] = {
	[' '] = 1, ['('] = 1, [')'] = 1, ['"'] = 1, ['{'] = 1, ['['] = 2,
};

static bool atom_end(uint8_t c)
{
	return atom_class[c] == 1;
}

/* STORE seqset [(modifiers)] [+-]FLAGS[.SILENT] (flags) */
static void store_token(struct imap *s, const struct dir *d, const struct tok *t)
{
	struct cmdl *cl = &s->cl;
	struct mt_view v = t->v;
	uint8_t op = '=';

	if (t->kind != TK_ATOM)
		return;
	if (t->depth == 0 && d->argi == 0) {
		cl->set_ok = set_count(v, cl->uid ? 0 : s->exists, &cl->set_n);
		return;
	}
	if (t->depth == 0 && !cl->store_op) {
		if (v.len && (v.p[0] == '+' || v.p[0] == '-')) {
			op = v.p[0];
			v.p++;
			v.len--;
		}
		if (eq_ci(v, "FLAGS")) {
			cl->store_op = op;
		} else if (eq_ci(v, "FLAGS.SILENT")) {
			cl->store_op = op;
			cl->store_silent = 1;
		}
		return;
	}
	if (cl->store_op && t->depth <= 1 && eq_ci(v, "\\DELETED"))
		cl->store_del = 1;
}

/* A token of the command being read (args counted from 0 after the name). */
static void cmd_token(struct imap *s, struct mt_app_env *env, const struct tok *t)
{
	struct dir *d = &s->d[MT_DIR_C2S];
	struct cmdl *cl = &s->cl;
	bool value = t->kind == TK_ATOM || t->kind == TK_QUOTED || t->kind == TK_LITERAL;

	if (d->damaged)
		return;
	switch (cl->cmd) {
	case CMD_LOGIN:
		/* Logins beyond the slots share the spare: no user rather
		 * than another attempt's user. */
		if (t->depth == 0 && d->argi == 0 && value && cl->auth < IMAP_AUTH_SLOTS) {
			struct mt_sasl *a = &s->auth[cl->auth];

			a->user_len = (uint16_t)arg_text(t, a->user, sizeof(a->user));
		}
		break;
	case CMD_AUTHENTICATE:
		if (t->depth || t->kind != TK_ATOM)
			break;
		if (d->argi == 0) {
			mt_sasl_start(&s->auth[cl->auth], t->v.p, t->v.len);
			s->sasl_active = 1;
			s->sasl_slot = cl->auth;
		} else if (d->argi == 1 && s->sasl_active && s->sasl_slot == cl->auth) {
			sasl_msg(s, env, t->v); /* SASL-IR initial response */
		}
		break;
	case CMD_SELECT:
	case CMD_EXAMINE:
		if (t->depth == 0 && d->argi == 0 && value)
			mbox_add(s, t);
		break;
	case CMD_APPEND:
		/* Messages given as parts (RFC 4469) or UTF8 (RFC 6855) are
		 * lists; plain ones are literals, counted in cmd_literal(). */
		if (t->depth == 0 && d->argi >= 1 && t->kind == TK_ATOM &&
		    (eq_ci(t->v, "CATENATE") || eq_ci(t->v, "UTF8")))
			add32(&s->appends, 1);
		break;
	case CMD_STORE:
		store_token(s, d, t);
		break;
	default:
		break;
	}
}

/* The section of "BODY[1.2.HEADER.FIELDS (A)]": header-only when, after
 * any part number, it is HEADER... or MIME. */
static bool header_section(struct mt_view name)
{
	const uint8_t *lb = memchr(name.p, '[', name.len);
	struct mt_view sec;
	size_t i;

	if (!lb)
		return false;
	i = (size_t)(lb - name.p) + 1;
	while (i < name.len && ((name.p[i] >= '0' && name.p[i] <= '9') || name.p[i] == '.'))
		i++;
	sec.p = name.p + i;
	sec.len = name.len - i;
	return starts_ci(sec, "HEADER") || starts_ci(sec, "MIME");
}

static uint8_t item_kind(struct mt_view name)
{
	switch (name.len ? upper(name.p[0]) : 0) {
	case 'B':
		if (starts_ci(name, "BODY[") || starts_ci(name, "BODY.PEEK[") ||
		    starts_ci(name, "BINARY["))
			return header_section(name) ? ITEM_HDR : ITEM_MSG;
		break;
	case 'R':
		if (eq_ci(name, "RFC822") || eq_ci(name, "RFC822.TEXT"))
			return ITEM_MSG;
		if (eq_ci(name, "RFC822.HEADER"))
			return ITEM_HDR;
		break;
	case 'F':
		if (eq_ci(name, "FLAGS"))
			return ITEM_FLAGS;
		break;
	default:
		break;
	}
	return ITEM_OTHER;
}

static void fetched_msg(struct imap *s)
{
	if (!s->rl.counted) {
		s->rl.counted = 1;
		add32(&s->messages_fetched, 1);
	}
}

/* A token of a FETCH response: "(" (name SP value)* ")". */
static void fetch_token(struct imap *s, const struct dir *d, const struct tok *t)
{
	struct rspl *r = &s->rl;

	if (d->damaged)
		return;
	switch (t->kind) {
	case TK_CLOSE:
		if (t->depth == 1)
			r->want_name = 1; /* a list value ended */
		break;
	case TK_ATOM:
	case TK_QUOTED:
		if (t->depth == 1) {
			if (r->want_name && t->kind == TK_ATOM) {
				r->item = item_kind(t->v);
				r->want_name = 0;
				break;
			}
			if ((r->item == ITEM_MSG || r->item == ITEM_HDR) &&
			    t->kind == TK_QUOTED) {
				if (r->item == ITEM_MSG)
					fetched_msg(s);
				s->bytes_fetched += t->v.len;
			}
			r->want_name = 1;
		} else if (t->depth == 2 && r->item == ITEM_FLAGS && t->kind == TK_ATOM &&
			   eq_ci(t->v, "\\DELETED")) {
			r->deleted = 1;
		}
		break;
	default:
		break;
	}
}

static void token(struct imap *s, struct mt_app_env *env, int dir, const struct tok *t)
{
	const struct dir *d = &s->d[dir];

	if (d->kind == LK_CMD)
		cmd_token(s, env, t);
	else if (d->kind == LK_FETCH)
		fetch_token(s, d, t);
}

/*
 * Walks the tokens of v[i, end). Quoted strings may run past `end`: a
 * "{n}" inside an unterminated quoted string announces nothing, and the
 * walk then returns false. Top-level arguments are counted in d->argi.
 */
static bool scan(struct imap *s, struct mt_app_env *env, int dir, struct mt_view v,
		 size_t i, size_t end)
{
	struct dir *d = &s->d[dir];
	bool bad = false;
	struct tok t;

	if (d->in_bracket && i < end) {
		/* The rest of "BODY[HEADER.FIELDS (X {3}\r\nabc)]": no token. */
		const uint8_t *rb = memchr(v.p + i, ']', end - i);

		if (!rb)
			return true;
		i = (size_t)(rb - v.p) + 1;
		d->in_bracket = 0;
		while (i < end && !atom_end(v.p[i]))
			i++;
		if (d->depth == 0)
			arg_done(d);
	}
	while (i < end) {
		uint8_t c = v.p[i];
		size_t j;

		t.depth = d->depth;
		if (c == ' ') {
			i++;
			continue;
		}
		if (c == '(') {
			t.kind = TK_OPEN;
			t.v.p = v.p + i;
			t.v.len = 1;
			token(s, env, dir, &t);
			if (d->depth < IMAP_DEPTH_MAX)
				d->depth++;
			i++;
			continue;
		}
		if (c == ')') {
			i++;
			if (!d->depth)
				continue; /* unbalanced: nothing to close */
			d->depth--;
			t.depth = d->depth;
			t.kind = TK_CLOSE;
			t.v.p = v.p + i - 1;
			t.v.len = 1;
			token(s, env, dir, &t);
			if (!d->depth)
				arg_done(d);
			continue;
		}
		if (c == '"') {
			j = i + 1;
			while (j < v.len && v.p[j] != '"')
				j += v.p[j] == '\\' && j + 1 < v.len ? 2 : 1;
			t.kind = TK_QUOTED;
			t.v.p = v.p + i + 1;
			t.v.len = MT_MIN(j, v.len) - i - 1;
			if (j >= v.len)
				return false; /* unterminated */
			token(s, env, dir, &t);
			if (!d->depth)
				arg_done(d);
			i = j + 1;
			continue;
		}
		j = i;
		if (c == '{') {
			/* Only the end of a line may announce a literal. Once
			 * per line: a line of braces is one bad line. */
			if (!bad)
				mt_app_anomaly(env, MT_CTR_anomaly_imap_bad_literal, dir, v.p,
					       dir == MT_DIR_C2S ? client_evidence(s, v) : v.len);
			bad = true;
			j++;
		}
		for (;;) {
			const uint8_t *rb;

			while (j < end && !atom_class[v.p[j]])
				j++;
			if (j == end || atom_class[v.p[j]] == 1)
				break;
			/* A section: "BODY[HEADER.FIELDS (A B)]<0>" is one atom. */
			rb = memchr(v.p + j, ']', end - j);
			if (!rb) {
				j = end;
				d->in_bracket = 1;
				break;
			}
			j = (size_t)(rb - v.p) + 1;
		}
		t.kind = TK_ATOM;
		t.v.p = v.p + i;
		t.v.len = j - i;
		token(s, env, dir, &t);
		if (!d->depth && !d->in_bracket)
			arg_done(d);
		i = j;
	}
	return true;
}

/* ---- literals and line ends ---- */

static uint8_t cmd_literal(struct imap *s, const struct dir *d)
{
	switch (s->cl.cmd) {
	case CMD_LOGIN:
	case CMD_SELECT:
	case CMD_EXAMINE:
		/* The user or mailbox name; a LOGIN password is never kept. */
		return !d->damaged && d->depth == 0 && d->argi == 0 ? LU_CAPTURE : LU_SKIP;
	case CMD_APPEND:
		if (!d->damaged && d->depth == 0 && d->argi == 0)
			return LU_SKIP; /* the mailbox name */
		return LU_APPEND;
	default:
		return LU_SKIP;
	}
}

/* The item name just before a literal in the kept end of an over-long
 * FETCH line ("... BODY[TEXT]<0> {500}"). */
static uint8_t tail_item(struct mt_view v, size_t at)
{
	size_t e = at, b;
	struct mt_view w;

	while (e && v.p[e - 1] == ' ')
		e--;
	b = e;
	if (b && v.p[b - 1] == '>')
		while (b && v.p[b - 1] != '<')
			b--;
	if (b && b < e && v.p[b - 1] == '<')
		b--;
	if (b && v.p[b - 1] == ']')
		while (b && v.p[b - 1] != '[')
			b--;
	while (b && v.p[b - 1] != ' ' && v.p[b - 1] != '(')
		b--;
	if (!b)
		return ITEM_OTHER; /* the name itself was cut */
	w.p = v.p + b;
	w.len = e - b;
	return item_kind(w);
}

static uint8_t fetch_literal(struct imap *s, const struct dir *d, struct mt_view lv,
			     size_t at)
{
	uint8_t item;

	if (d->damaged)
		item = tail_item(lv, at);
	else
		item = d->depth == 1 && !s->rl.want_name && !d->in_bracket ?
			       s->rl.item : ITEM_OTHER;
	if (item != ITEM_MSG && item != ITEM_HDR)
		return LU_SKIP;
	if (item == ITEM_MSG)
		fetched_msg(s);
	return LU_FETCH;
}

static void literal_end(struct imap *s, struct mt_app_env *env, int dir)
{
	struct dir *d = &s->d[dir];
	uint8_t use = d->lit_use;

	d->lit_use = LU_SKIP;
	if (d->kind == LK_CMD) {
		struct tok t = { TK_LITERAL, d->depth, { s->cap, 0 } };

		if (use == LU_CAPTURE)
			t.v.len = s->cap_len;
		cmd_token(s, env, &t);
		if (!d->depth && !d->in_bracket)
			arg_done(d);
	} else if (d->kind == LK_FETCH && d->depth == 1 && !d->in_bracket) {
		s->rl.want_name = 1;
	}
}

static void literal_begin(struct imap *s, struct mt_app_env *env, int dir, uint64_t n,
			  bool plus, struct mt_view lv, size_t at)
{
	struct dir *d = &s->d[dir];
	uint8_t use = LU_SKIP;

	if (n > s->literal_max)
		mt_app_anomaly(env, MT_CTR_anomaly_imap_literal_too_large, dir,
			       lv.p + at, lv.len - at);
	d->lit_msg = 0;
	if (d->kind == LK_CMD) {
		use = cmd_literal(s, d);
		if (use == LU_APPEND && !d->damaged && d->depth == 0) {
			d->lit_msg = 1;
			add32(&s->appends, 1);
		}
	} else if (d->kind == LK_FETCH) {
		use = fetch_literal(s, d, lv, at);
	}
	d->active = 1;
	d->lit_left = n;
	d->lit_seen = 0;
	d->lit_use = use;
	d->lit_sync = dir == MT_DIR_C2S && !plus;
	if (use == LU_CAPTURE)
		s->cap_len = 0;
	if (!n)
		literal_end(s, env, dir);
}

static void cmd_end(struct imap *s)
{
	struct cmdl *cl = &s->cl;
	struct pend *e = cur_pend(s);

	if (cl->cmd != CMD_STORE || !e || !cl->store_del || !cl->store_op ||
	    cl->store_op == '-')
		return;
	if (!cl->store_silent) {
		e->flags |= PF_DEL_FETCH;
		s->del_fetch++;
	} else if (cl->set_ok) {
		e->flags |= PF_DEL_SILENT;
		e->silent_del = s->exists ? MT_MIN(cl->set_n, s->exists) : cl->set_n;
	}
}

static void line_end(struct imap *s, int dir)
{
	struct dir *d = &s->d[dir];

	if (d->kind == LK_CMD)
		cmd_end(s);
	else if (d->kind == LK_FETCH && s->rl.deleted && s->del_fetch)
		add32(&s->deleted, 1);
	d->active = 0;
	d->kind = LK_NONE;
	d->damaged = 0;
	d->in_bracket = 0;
	d->depth = 0;
	d->argi = 0;
}

/* Tokens of a fragment from `i`, then the literal that ends it or the end
 * of the logical line. */
static void fragment_rest(struct imap *s, struct mt_app_env *env, int dir,
			  const struct frag *f, size_t i)
{
	struct dir *d = &s->d[dir];
	struct mt_view v = f->head, lv = f->truncated ? f->tail : f->head;
	size_t at = 0;
	uint64_t n = 0;
	bool plus = false, lit = literal_at_end(lv, &at, &n, &plus);

	if (f->truncated) {
		/* The kept head is the line's real start; what follows the cut
		 * is not known, so from here on only literals are followed. */
		scan(s, env, dir, v, i, v.len);
		d->damaged = 1;
		/* The end of a LOGIN line is its password: no evidence. */
		if (!lit && lv.len && lv.p[lv.len - 1] == '}' && memchr(lv.p, '{', lv.len))
			mt_app_anomaly(env, MT_CTR_anomaly_imap_bad_literal, dir, lv.p,
				       dir == MT_DIR_C2S && (s->cl.cmd == CMD_LOGIN ||
							     s->cl.cmd == CMD_AUTHENTICATE)
				       ? 0 : lv.len);
	} else if (!scan(s, env, dir, v, i, lit ? at : v.len)) {
		lit = false;
	}
	if (lit)
		literal_begin(s, env, dir, n, plus, lv, at);
	else
		line_end(s, dir);
}

/* ---- client ---- */

/* NUL anywhere (never valid, not even quoted) and non-ASCII outside quoted
 * strings (UTF8=ACCEPT allows it there) in a line outside literals. */
static void check_text(struct imap *s, struct mt_app_env *env, struct mt_view v)
{
	bool q = false, nul = false, high = false;
	size_t ev = client_evidence(s, v);

	for (size_t i = 0; i < v.len; i++) {
		uint8_t c = v.p[i];

		if (c == 0) {
			nul = true;
		} else if (q) {
			if (c == '\\')
				i++;
			else if (c == '"')
				q = false;
		} else if (c == '"') {
			q = true;
		} else if (c >= 0x80) {
			high = true;
		}
	}
	if (nul)
		mt_app_anomaly(env, MT_CTR_anomaly_imap_nul_in_command, MT_DIR_C2S, v.p, ev);
	if (high)
		mt_app_anomaly(env, MT_CTR_anomaly_imap_non_ascii_command, MT_DIR_C2S, v.p, ev);
}

static bool looks_like_command(struct mt_view v)
{
	size_t i = 0;
	struct mt_view tag = word(v, &i);

	if (eq_ci(v, "DONE"))
		return true;
	return tag_valid(tag) && i < v.len && cmd_lookup(word(v, &i)) != CMD_OTHER;
}

/* "tag SP command ..." of a new command line. Returns where its arguments
 * start. */
static size_t command_start(struct imap *s, struct mt_app_env *env, struct mt_view v)
{
	struct dir *d = &s->d[MT_DIR_C2S];
	struct cmdl *cl = &s->cl;
	size_t i = 0, k;
	struct mt_view tag = word(v, &i), name;

	memset(cl, 0, sizeof(*cl));
	cl->pend = -1;
	cl->auth = -1;
	d->depth = 0;
	d->argi = 0;
	d->in_bracket = 0;
	d->kind = LK_JUNK;
	k = i;
	name = word(v, &k);
	if (!tag_valid(tag) || !name.len) {
		mt_app_anomaly(env, MT_CTR_anomaly_imap_invalid_command, MT_DIR_C2S, v.p,
			       safe_evidence(v));
		return i; /* still follow its literals */
	}
	i = k;
	cl->cmd = cmd_lookup(name);
	if (cl->cmd == CMD_UID) {
		cl->uid = 1;
		k = i;
		name = word(v, &k);
		cl->cmd = cmd_lookup(name);
		if (cl->cmd == CMD_FETCH || cl->cmd == CMD_SEARCH || cl->cmd == CMD_STORE ||
		    cl->cmd == CMD_COPY || cl->cmd == CMD_MOVE || cl->cmd == CMD_EXPUNGE)
			i = k;
		else
			cl->cmd = CMD_OTHER;
	}
	d->kind = LK_CMD;
	add32(&s->commands, 1);
	s->seq++;
	if (!s->seq)
		s->seq = 1;
	cl->seq = s->seq;
	switch (cl->cmd) {
	case CMD_LOGIN:
		if (s->logindisabled)
			mt_app_anomaly(env, MT_CTR_anomaly_imap_login_after_logindisabled,
				       MT_DIR_C2S, v.p, safe_evidence(v));
		cl->auth = (int8_t)auth_alloc(s, env, v);
		mt_sasl_start(&s->auth[cl->auth], (const uint8_t *)"LOGIN", 5);
		break;
	case CMD_AUTHENTICATE:
		cl->auth = (int8_t)auth_alloc(s, env, v);
		break;
	case CMD_STARTTLS:
		s->starttls_requested = 1;
		s->starttls_wait = 1;
		break;
	case CMD_LOGOUT:
		s->logout = 1;
		break;
	case CMD_SELECT:
	case CMD_EXAMINE:
		s->selected = 1;
		break;
	case CMD_SEARCH:
		add32(&s->search_commands, 1);
		break;
	case CMD_FETCH:
		add32(&s->fetch_commands, 1);
		break;
	case CMD_COPY:
	case CMD_MOVE:
		add32(&s->copies, 1);
		break;
	case CMD_IDLE:
		if (s->idle < UINT16_MAX)
			s->idle++;
		s->idle_active = 1;
		break;
	default:
		break;
	}
	pend_push(s, env, tag, v);
	return i;
}

static void client_fragment(struct imap *s, struct mt_app_env *env, const struct frag *f)
{
	struct dir *d = &s->d[MT_DIR_C2S];
	struct mt_view v = f->head;
	size_t i = 0;

	if (f->truncated)
		mt_app_anomaly(env, MT_CTR_anomaly_imap_line_too_long, MT_DIR_C2S, v.p,
			       s->sasl_active ? 0 : client_evidence(s, v));
	if (d->active) {
		check_text(s, env, v);
		fragment_rest(s, env, MT_DIR_C2S, f, 0);
		return;
	}
	if (d->resync) {
		if (!looks_like_command(v))
			return;
		d->resync = 0;
	}
	if (!s->greeted && mt_app_server_seen(env))
		mt_app_anomaly(env, MT_CTR_anomaly_imap_command_before_greeting, MT_DIR_C2S,
			       v.p, s->sasl_active ? 0 : safe_evidence(v));
	if (s->sasl_active) {
		/* Base64 has no spaces; a line with one is a command, and the
		 * exchange was abandoned. */
		if (!memchr(v.p, ' ', v.len)) {
			sasl_msg(s, env, v);
			return;
		}
		s->sasl_active = 0;
	}
	check_text(s, env, v);
	if (s->idle_active && eq_ci(v, "DONE")) {
		s->idle_active = 0;
		return;
	}
	i = command_start(s, env, v);
	fragment_rest(s, env, MT_DIR_C2S, f, i);
}

/* ---- server ---- */

static bool looks_like_response(struct mt_view v)
{
	static const char *const names[] = {
		"OK", "NO", "BAD", "BYE", "PREAUTH", "CAPABILITY", "LIST", "LSUB",
		"STATUS", "SEARCH", "ESEARCH", "FLAGS", "ENABLED", "ID", "NAMESPACE",
		"VANISHED", "QUOTA", "QUOTAROOT", "ACL", "MYRIGHTS", "METADATA",
		"SORT", "THREAD",
	};
	size_t i = 0;
	struct mt_view w = word(v, &i), w2;

	if (eq_ci(w, "+"))
		return true;
	if (eq_ci(w, "*")) {
		w = word(v, &i);
		if (w.len && is_digit(w.p[0])) {
			w2 = word(v, &i);
			return eq_ci(w2, "EXISTS") || eq_ci(w2, "RECENT") ||
			       eq_ci(w2, "EXPUNGE") || eq_ci(w2, "FETCH");
		}
		for (size_t k = 0; k < MT_ARRAY_SIZE(names); k++)
			if (eq_ci_str(w, names[k]))
				return true;
		return false;
	}
	w2 = word(v, &i);
	return tag_valid(w) && (eq_ci(w2, "OK") || eq_ci(w2, "NO") || eq_ci(w2, "BAD"));
}

static void vanished(struct imap *s, struct mt_view v, size_t i)
{
	struct mt_view w = word(v, &i);
	uint32_t n;

	/* (EARLIER) reports expunges from before this session resynced. */
	if (starts_ci(w, "("))
		return;
	if (set_count(w, 0, &n))
		add32(&s->expunged, n);
}

/* "* ..." Returns where data that may carry literals starts, or NO_DATA. */
static size_t untagged(struct imap *s, struct mt_view v)
{
	struct dir *d = &s->d[MT_DIR_S2C];
	size_t i = 1, k;
	struct mt_view w = word(v, &i), w2;

	if (w.len && is_digit(w.p[0])) {
		k = i;
		w2 = word(v, &k);
		if (eq_ci(w2, "EXISTS")) {
			if (s->selected)
				s->exists = num32(w);
			return NO_DATA;
		}
		if (eq_ci(w2, "EXPUNGE")) {
			add32(&s->expunged, 1);
			return NO_DATA;
		}
		if (eq_ci(w2, "RECENT"))
			return NO_DATA;
		if (eq_ci(w2, "FETCH")) {
			d->kind = LK_FETCH;
			memset(&s->rl, 0, sizeof(s->rl));
			s->rl.want_name = 1;
			return k;
		}
		d->kind = LK_DATA;
		return k;
	}
	if (eq_ci(w, "OK") || eq_ci(w, "NO") || eq_ci(w, "BAD") || eq_ci(w, "BYE") ||
	    eq_ci(w, "PREAUTH")) {
		resp_code(s, v, i); /* resp-text holds no literal */
		return NO_DATA;
	}
	if (eq_ci(w, "CAPABILITY")) {
		caps_words(s, v, i, v.len);
		return NO_DATA;
	}
	if (eq_ci(w, "VANISHED")) {
		vanished(s, v, i);
		return NO_DATA;
	}
	d->kind = LK_DATA;
	return i;
}

/* The client's synchronising literal for a command the server refused: the
 * client will not send it (RFC 9051 7.5), so stop waiting for its bytes. */
static void cancel_literal(struct imap *s, uint32_t seq)
{
	struct dir *d = &s->d[MT_DIR_C2S];

	if (d->active && d->kind == LK_CMD && s->cl.seq == seq && d->lit_left &&
	    !d->lit_seen && d->lit_sync) {
		if (d->lit_msg && s->appends)
			s->appends--; /* never sent */
		d->lit_left = 0;
		d->lit_use = LU_SKIP;
		d->active = 0;
		d->kind = LK_NONE;
		d->damaged = 0;
		d->in_bracket = 0;
		d->depth = 0;
		d->argi = 0;
	}
}

/* "tag OK|NO|BAD ...". Returns true when the flow switches to TLS. */
static bool completion(struct imap *s, struct mt_app_env *env, struct mt_view v)
{
	size_t i = 0, at;
	struct mt_view tag = word(v, &i), st, reply;
	struct pend e;
	bool ok, sw = false;
	int k;

	while (i < v.len && v.p[i] == ' ')
		i++;
	at = i;
	st = word(v, &i);
	ok = eq_ci(st, "OK");
	if (!tag_valid(tag) || (!ok && !eq_ci(st, "NO") && !eq_ci(st, "BAD"))) {
		mt_app_anomaly(env, MT_CTR_anomaly_imap_invalid_response, MT_DIR_S2C,
			       v.p, v.len);
		return false;
	}
	resp_code(s, v, i);
	k = pend_find(s, tag);
	if (k < 0) {
		if (s->dropped)
			s->dropped--;
		else if (!s->lost)
			mt_app_anomaly(env, MT_CTR_anomaly_imap_unknown_tag, MT_DIR_S2C,
				       v.p, v.len);
		return false;
	}
	e = s->pend[k];
	reply.p = v.p + at;
	reply.len = v.len - at;
	switch (e.cmd) {
	case CMD_LOGIN:
	case CMD_AUTHENTICATE:
		auth_done(s, env, &e, ok, reply);
		break;
	case CMD_STARTTLS:
		copy_str(s->starttls_reply, sizeof(s->starttls_reply), st.p, st.len);
		for (char *c = s->starttls_reply; *c; c++)
			*c = (char)upper((uint8_t)*c);
		s->starttls_wait = 0;
		if (ok) {
			mt_app_switch(env, MT_APP_TLS);
			sw = true;
		}
		break;
	case CMD_STORE:
		if (ok && (e.flags & PF_DEL_SILENT))
			add32(&s->deleted, e.silent_del);
		break;
	case CMD_IDLE:
		s->idle_active = 0;
		break;
	case CMD_COMPRESS:
		if (ok)
			s->compressed = 1;
		break;
	default:
		break;
	}
	pend_free(s, k);
	if (!s->npend)
		s->lost = 0;
	if (!ok)
		cancel_literal(s, e.seq);
	return sw;
}

/* Returns true when the flow switches to TLS after this line. */
static bool server_fragment(struct imap *s, struct mt_app_env *env, const struct frag *f)
{
	struct dir *d = &s->d[MT_DIR_S2C];
	struct mt_view v = f->head;
	size_t i;

	if (f->truncated)
		mt_app_anomaly(env, MT_CTR_anomaly_imap_line_too_long, MT_DIR_S2C, v.p, v.len);
	if (d->active) {
		fragment_rest(s, env, MT_DIR_S2C, f, 0);
		return false;
	}
	if (d->resync) {
		if (!looks_like_response(v))
			return false;
		d->resync = 0;
	}
	if (!s->greeted) {
		s->greeted = 1;
		if (!starts_ci(v, "* OK") && !starts_ci(v, "* PREAUTH") &&
		    !starts_ci(v, "* BYE")) {
			mt_app_anomaly(env, MT_CTR_anomaly_imap_invalid_response,
				       MT_DIR_S2C, v.p, v.len);
			return false;
		}
	}
	if (v.len && v.p[0] == '+')
		return false; /* continuation request: text or a SASL challenge */
	if (v.len >= 2 && v.p[0] == '*' && v.p[1] == ' ') {
		i = untagged(s, v);
		if (i != NO_DATA)
			fragment_rest(s, env, MT_DIR_S2C, f, i);
		return false;
	}
	return completion(s, env, v);
}

/* ---- data ---- */

/* Skips literal bytes: O(1) per call whatever the literal's size. */
static size_t literal_skip(struct imap *s, struct mt_app_env *env, int dir,
			   const uint8_t *p, size_t n)
{
	struct dir *d = &s->d[dir];
	size_t take = (size_t)MT_MIN((uint64_t)n, d->lit_left);

	switch (d->lit_use) {
	case LU_CAPTURE:
		if (s->cap_len < IMAP_CAPTURE) {
			size_t k = MT_MIN(take, (size_t)(IMAP_CAPTURE - s->cap_len));

			memcpy(s->cap + s->cap_len, p, k);
			s->cap_len = (uint16_t)(s->cap_len + k);
		}
		break;
	case LU_FETCH:
		s->bytes_fetched += take;
		break;
	case LU_APPEND:
		s->append_bytes += take;
		break;
	default:
		break;
	}
	d->lit_left -= take;
	d->lit_seen += take;
	if (!d->lit_left)
		literal_end(s, env, dir);
	return take;
}

static size_t imap_data(void *st, struct mt_app_env *env, int dir,
			const uint8_t *p, size_t n)
{
	struct imap *s = st;
	struct dir *d = &s->d[dir];
	uint8_t *buf = s->bufs + (dir == MT_DIR_S2C ? s->line_max : 0);
	const uint8_t *start = p;
	struct frag f;

	if (s->compressed)
		return n; /* DEFLATE from here on (RFC 4978): nothing to read */
	while (n) {
		if (dir == MT_DIR_C2S && s->starttls_wait && !s->starttls_flagged &&
		    !d->lit_left) {
			/* Bytes after STARTTLS before its answer: the injection
			 * of CVE-2011-0411 and its kind. */
			struct mt_view ev = { p, n };
			const uint8_t *lf = memchr(p, '\n', n);

			if (lf)
				ev.len = (size_t)(lf - p);
			s->starttls_flagged = 1;
			mt_app_anomaly(env, MT_CTR_anomaly_app_data_before_starttls_reply,
				       MT_DIR_C2S, ev.p, safe_evidence(ev));
		}
		if (d->lit_left) {
			size_t used = literal_skip(s, env, dir, p, n);

			p += used;
			n -= used;
			continue;
		}
		if (!line_read(&d->rd, buf, s->line_max, &p, &n, &f))
			break;
		if (dir == MT_DIR_C2S)
			client_fragment(s, env, &f);
		else if (server_fragment(s, env, &f))
			return (size_t)(p - start);
		if (s->compressed)
			return (size_t)(p - start) + n;
	}
	return (size_t)(p - start);
}

static void imap_gap(void *st, struct mt_app_env *env, int dir, uint32_t len)
{
	struct imap *s = st;
	struct dir *d = &s->d[dir];

	if (d->lit_left) {
		/* The hole is (or starts) inside a literal: its bytes were
		 * message data all the same, the size says how many. */
		uint64_t in = MT_MIN((uint64_t)len, d->lit_left);

		if (d->lit_use == LU_FETCH)
			s->bytes_fetched += in;
		else if (d->lit_use == LU_APPEND)
			s->append_bytes += in;
		d->lit_left -= in;
		d->lit_seen += in;
		len -= (uint32_t)in;
		if (!d->lit_left)
			literal_end(s, env, dir);
		if (!len)
			return;
	}
	/* Whatever was being read is incomplete: resynchronise on a line that
	 * looks right, and stop blaming answers on missing commands. */
	d->lit_left = 0;
	d->lit_use = LU_SKIP;
	d->active = 0;
	d->kind = LK_NONE;
	d->damaged = 0;
	d->in_bracket = 0;
	d->depth = 0;
	d->argi = 0;
	d->rd.len = 0;
	d->rd.dropped = 0;
	d->rd.discard = 1;
	d->resync = 1;
	if (dir == MT_DIR_C2S)
		s->sasl_active = 0;
	s->lost = 1;
}

static void imap_close(void *st, struct mt_app_env *env)
{
	struct imap *s = st;
	struct mt_rec *r = mt_app_rec(env, MT_REC_imap);
	struct mt_body_imap *b = &r->b.imap;

	b->timestamp = s->open_ns;
	for (unsigned k = 0; k < s->ncaps; k++)
		mt_rec_list_add(r, &b->capabilities, s->caps[k], s->caps_len[k]);
	b->starttls_offered = s->starttls_offered;
	b->starttls_requested = s->starttls_requested;
	mt_rec_set_str(r, &b->starttls_reply, s->starttls_reply, strlen(s->starttls_reply));
	mt_rec_set_str(r, &b->auth_mech, s->last_mech, strlen(s->last_mech));
	mt_rec_set_str(r, &b->auth_user, s->last_user, s->last_user_len);
	mt_rec_set_str(r, &b->auth_result, s->last_result, strlen(s->last_result));
	b->auth_attempts = s->auth_attempts;
	b->commands = s->commands;
	for (unsigned k = 0; k < s->nmbox; k++)
		mt_rec_list_add(r, &b->mailboxes, s->mbox[k], s->mbox_len[k]);
	b->exists = s->exists;
	b->fetch_commands = s->fetch_commands;
	b->messages_fetched = s->messages_fetched;
	b->bytes_fetched = s->bytes_fetched;
	b->search_commands = s->search_commands;
	b->deleted = s->deleted;
	b->expunged = s->expunged;
	b->appends = s->appends;
	b->append_bytes = s->append_bytes;
	b->copies = s->copies;
	b->idle = s->idle;
	b->logout = s->logout;
	mt_app_emit(env);
	/* User names and, in the client line buffer, perhaps a password. */
	explicit_bzero(s->auth, sizeof(s->auth));
	explicit_bzero(s->cap, sizeof(s->cap));
	explicit_bzero(s->bufs, s->line_max);
}

const struct mt_analyzer mt_imap_analyzer = {
	.app = MT_APP_IMAP,
	.state_size = imap_state_size,
	.state_clear = imap_state_clear,
	.open = imap_open,
	.data = imap_data,
	.gap = imap_gap,
	.close = imap_close,
};
