/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * POP3 analyzer (RFC 1939, CAPA and PIPELINING from RFC 2449, SASL AUTH
 * from RFC 5034, STLS from RFC 2595). Commands wait for their status line
 * in a FIFO of runs (RETR RETR RETR ... or RETR DELE RETR DELE ... take one
 * entry each), because whether a reply has more lines after it depends on
 * the command: a lost RETR would have its message read as status lines.
 * Beyond the FIFO, commands are only counted by verb and their replies
 * framed by content (see probe_line()). Multi-line responses are either
 * read line by line (CAPA, LIST, UIDL) or, for message data (RETR, TOP),
 * scanned for the CRLF "." CRLF terminator without buffering, counting the
 * bytes. One `auth` record per USER/PASS, APOP or AUTH exchange, one `pop3`
 * record per session.
 */
#include "app.h"
#include "line.h"
#include "sasl.h"

#define POP3_RUNS 256        /* runs of pipelined commands awaiting replies */
#define POP3_USERQ 8 /* pipelined logins whose names are kept apart */
#define POP3_CAPS_BYTES 512
#define POP3_REPLY_KEEP 200

enum pop3_cmd {
	CMD_OTHER = 0, CMD_USER, CMD_PASS, CMD_APOP, CMD_AUTH, CMD_CAPA, CMD_STLS,
	CMD_STAT, CMD_LIST, CMD_UIDL, CMD_RETR, CMD_TOP, CMD_DELE, CMD_RSET,
	CMD_NOOP, CMD_QUIT, CMD__COUNT
};

static const struct {
	const char *verb;
	uint8_t cmd;
} verbs[] = {
	{ "USER", CMD_USER }, { "PASS", CMD_PASS }, { "APOP", CMD_APOP },
	{ "AUTH", CMD_AUTH }, { "CAPA", CMD_CAPA }, { "STLS", CMD_STLS },
	{ "STAT", CMD_STAT }, { "LIST", CMD_LIST }, { "UIDL", CMD_UIDL },
	{ "RETR", CMD_RETR }, { "TOP", CMD_TOP },   { "DELE", CMD_DELE },
	{ "RSET", CMD_RSET }, { "NOOP", CMD_NOOP }, { "QUIT", CMD_QUIT },
};

/* ML_PROBE: a +OK to a command beyond the FIFO; the next line tells
 * whether more lines follow. */
enum multi_mode { ML_NONE = 0, ML_LINES, ML_BODY, ML_PROBE };
enum body_state { B_BOL = 0, B_MID, B_DOT, B_DOTCR };

/* A pending command is its verb and whether it had an argument (LIST 1 has
 * a one-line answer, LIST a listing): code = cmd | CODE_ARG. */
#define CODE_ARG 0x80
#define CODE_CMD(c) ((c) & 0x7f)
#define NCODES (2 * CMD__COUNT)
#define CODE_IDX(c) (CODE_CMD(c) + ((c) & CODE_ARG ? CMD__COUNT : 0))

/* `n` commands repeating `code[0]` (period 1) or alternating code[0],
 * code[1] (period 2); the front command is always code[0]. */
struct run {
	uint8_t code[2];
	uint8_t period;
	uint8_t pad;
	uint32_t n;
};

struct pop3 {
	struct mt_line lc, ls;
	uint32_t line_max;
	uint64_t open_ns;
	uint8_t greeted;
	uint8_t lost;            /* a gap: replies may not match commands */
	uint8_t multi;           /* enum multi_mode */
	uint8_t multi_cmd;
	uint8_t body;            /* enum body_state */
	uint8_t sasl_active;
	uint16_t nruns;
	uint16_t rhead;
	uint32_t ovf_total;      /* commands beyond the FIFO, after all in it */
	uint32_t ovf[NCODES];    /* ... by code, order unknown */
	uint64_t body_bytes;
	struct mt_sasl sasl;
	/* The name the next PASS reply answers for: taken from the queue
	 * below at the reply to its USER (or APOP). */
	uint16_t user_arg_len;
	char user_arg[MT_SASL_USER_MAX];
	uint8_t uq_head, uq_n;   /* USER/APOP names sent, reply not yet seen */
	/* Session record. */
	uint32_t commands;
	uint32_t stat_messages;
	uint64_t stat_bytes;
	uint32_t retr_messages;
	uint64_t retr_bytes;
	uint32_t top_messages;
	uint32_t deleted;
	uint16_t auth_attempts;
	uint8_t stls_offered, stls_requested, quit;
	char stls_reply[8];
	uint8_t last_mech_len;
	uint16_t last_user_len;
	char last_mech[MT_SASL_MECH_MAX];
	char last_user[MT_SASL_USER_MAX];
	char last_result[16];
	uint16_t caps_len;
	uint8_t ncaps;
	uint8_t caps[POP3_CAPS_BYTES]; /* [len][bytes]... */
	/* Not cleared at open: only entries below nruns are read. */
	struct run runs[POP3_RUNS];
	/* A client may pipeline USER a / PASS / USER b / PASS: each name waits
	 * here for its own reply. Not cleared: uq_n says what is valid. */
	struct {
		uint16_t len;
		char name[MT_SASL_USER_MAX];
	} userq[POP3_USERQ];
	uint8_t bufs[];                /* client line, then server line */
};

static uint32_t pop3_state_size(const struct mt_app_config *cfg)
{
	return (uint32_t)sizeof(struct pop3) + 2 * cfg->pop3_line_max;
}

/* The FIFO and the line buffers are tracked by length: not cleared. */
static uint32_t pop3_state_clear(const struct mt_app_config *cfg)
{
	(void)cfg;
	return (uint32_t)offsetof(struct pop3, runs);
}

static void pop3_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	struct pop3 *s = st;

	(void)after_starttls;
	s->line_max = env->cfg->pop3_line_max;
	s->open_ns = env->now_ns;
}

/* A USER or APOP name, queued until its reply. Past POP3_USERQ names
 * without a reply, the newest slot is reused (only then can a later
 * attempt be credited to the wrong name). */
static void user_push(struct pop3 *s, struct mt_view arg)
{
	unsigned slot;
	size_t len = MT_MIN(arg.len, sizeof(s->userq[0].name) - 1);

	if (s->uq_n < POP3_USERQ)
		slot = (s->uq_head + s->uq_n++) % POP3_USERQ;
	else
		slot = (s->uq_head + POP3_USERQ - 1) % POP3_USERQ;
	memcpy(s->userq[slot].name, arg.p, len);
	s->userq[slot].name[len] = '\0';
	s->userq[slot].len = (uint16_t)len;
}

/* The reply to a USER or APOP: its name becomes the current one. */
static void user_pop(struct pop3 *s)
{
	if (!s->uq_n)
		return;
	memcpy(s->user_arg, s->userq[s->uq_head].name, s->userq[s->uq_head].len + 1u);
	s->user_arg_len = s->userq[s->uq_head].len;
	s->uq_head = (uint8_t)((s->uq_head + 1) % POP3_USERQ);
	s->uq_n--;
}

static bool starts_ci(struct mt_view v, const char *lit)
{
	return mt_starts_ci(v.p, v.len, lit);
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

static uint64_t number(struct mt_view w)
{
	uint64_t v = 0;

	for (size_t i = 0; i < w.len && i < 19 && w.p[i] >= '0' && w.p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(w.p[i] - '0');
	return v;
}

static void copy_str(char *dst, size_t cap, const void *src, size_t n)
{
	n = MT_MIN(n, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void add_cap(struct pop3 *s, struct mt_view line)
{
	size_t n = MT_MIN(line.len, (size_t)64);

	if (s->caps_len + 1 + n > POP3_CAPS_BYTES)
		return;
	s->caps[s->caps_len] = (uint8_t)n;
	memcpy(s->caps + s->caps_len + 1, line.p, n);
	s->caps_len = (uint16_t)(s->caps_len + 1 + n);
	s->ncaps++;
	if (starts_ci(line, "STLS"))
		s->stls_offered = 1;
}

static void auth_done(struct pop3 *s, struct mt_app_env *env, const char *mech,
		      size_t mech_len, const char *user, size_t user_len,
		      bool ok, struct mt_view reply)
{
	const char *result = ok ? "success" : "failure";
	struct mt_view m, u;

	/* Kept by length: a NUL in a user name (USER a\0b) stays in both the
	 * auth record and the session record. */
	mech_len = MT_MIN(mech_len, sizeof(s->last_mech) - 1);
	user_len = MT_MIN(user_len, sizeof(s->last_user) - 1);
	m = (struct mt_view){ (const uint8_t *)mech, mech_len };
	u = (struct mt_view){ (const uint8_t *)user, user_len };
	s->auth_attempts++;
	copy_str(s->last_mech, sizeof(s->last_mech), mech, mech_len);
	s->last_mech_len = (uint8_t)mech_len;
	copy_str(s->last_user, sizeof(s->last_user), user, user_len);
	s->last_user_len = (uint16_t)user_len;
	copy_str(s->last_result, sizeof(s->last_result), result, strlen(result));
	reply.len = MT_MIN(reply.len, (size_t)POP3_REPLY_KEEP);
	mt_app_auth(env, m, u, result, reply, s->auth_attempts);
}

/* ---- pending commands ---- */

/* Commands whose reply needs state of their own (a user name, a SASL
 * exchange, the TLS switch) never share a run. */
static bool mergeable(uint8_t code)
{
	switch (CODE_CMD(code)) {
	case CMD_USER:
	case CMD_PASS:
	case CMD_APOP:
	case CMD_AUTH:
	case CMD_STLS:
		return false;
	default:
		return true;
	}
}

/* What follows a +OK to a command: nothing, a listing ("1 120") or other
 * lines (capabilities, mechanisms) up to ".", or message data up to
 * CRLF "." CRLF. */
enum reply_kind {
	K_SINGLE = 1, K_LIST = 2, K_CAPA = 4, K_BODY = 8,
	K_LINES = K_LIST | K_CAPA, K_ANY = 15
};

static unsigned kind_of(uint8_t code)
{
	switch (CODE_CMD(code)) {
	case CMD_CAPA:
		return K_CAPA;
	case CMD_AUTH: /* AUTH alone lists mechanisms */
		return code & CODE_ARG ? K_SINGLE : K_CAPA;
	case CMD_LIST:
	case CMD_UIDL:
		return code & CODE_ARG ? K_SINGLE : K_LIST;
	case CMD_RETR:
	case CMD_TOP:
		return K_BODY;
	default:
		return K_SINGLE;
	}
}

static uint8_t code_at(unsigned idx)
{
	return (uint8_t)(idx < CMD__COUNT ? idx : (idx - CMD__COUNT) | CODE_ARG);
}

static void push(struct pop3 *s, struct mt_app_env *env, uint8_t code,
		 struct mt_view evidence)
{
	struct run *t;

	if (!s->ovf_total && s->nruns) {
		t = &s->runs[(s->rhead + s->nruns - 1) % POP3_RUNS];
		if (mergeable(code) && mergeable(t->code[0]) && t->n < UINT32_MAX) {
			if (t->period == 1 && t->code[0] == code) {
				t->n++;
				return;
			}
			if (t->period == 1 && t->n == 1) {
				t->period = 2;
				t->code[1] = code;
				t->n = 2;
				return;
			}
			if (t->period == 2 && t->code[t->n % 2] == code) {
				t->n++;
				return;
			}
		}
	}
	if (!s->ovf_total && s->nruns < POP3_RUNS) {
		t = &s->runs[(s->rhead + s->nruns) % POP3_RUNS];
		t->code[0] = t->code[1] = code;
		t->period = 1;
		t->n = 1;
		s->nruns++;
		return;
	}
	/* Beyond the FIFO (it takes hundreds of pipelined commands that do
	 * not repeat): counted by code, answered after all in the FIFO. */
	mt_app_anomaly(env, MT_CTR_anomaly_pop3_too_many_pending, MT_DIR_C2S,
		       evidence.p, evidence.len);
	if (s->ovf_total == UINT32_MAX)
		return;
	s->ovf[CODE_IDX(code)]++;
	s->ovf_total++;
}

static void pend_pop(struct pop3 *s)
{
	struct run *r = &s->runs[s->rhead];

	if (r->period == 2) {
		uint8_t c = r->code[0];

		r->code[0] = r->code[1];
		r->code[1] = c;
	}
	if (--r->n == 0) {
		s->rhead = (uint16_t)((s->rhead + 1) % POP3_RUNS);
		s->nruns--;
	}
}

static void pend_clear(struct pop3 *s)
{
	s->nruns = 0;
	s->rhead = 0;
	s->ovf_total = 0;
	memset(s->ovf, 0, sizeof(s->ovf));
	s->uq_n = 0; /* their replies can no longer be matched */
}

static uint32_t ovf_count(const struct pop3 *s, unsigned kind)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < NCODES; i++)
		if (kind_of(code_at(i)) & kind)
			n += s->ovf[i];
	return n;
}

/* Takes one command of a kind off the overflow counts. Which one a reply
 * answers is not known there; the commonest is the likeliest (any kind
 * when none of this one is left, after an earlier wrong guess). */
static uint8_t ovf_take(struct pop3 *s, unsigned kind)
{
	int best = -1;

	if (!s->ovf_total)
		return CMD_OTHER;
	if (!ovf_count(s, kind))
		kind = K_ANY;
	for (unsigned i = 0; i < NCODES; i++)
		if (s->ovf[i] && (kind_of(code_at(i)) & kind) &&
		    (best < 0 || s->ovf[i] > s->ovf[best]))
			best = (int)i;
	s->ovf[best]--;
	s->ovf_total--;
	return code_at((unsigned)best);
}

/* ---- replies ---- */

static void begin_lines(struct pop3 *s, uint8_t cmd)
{
	s->multi = ML_LINES;
	s->multi_cmd = cmd;
	if (cmd == CMD_CAPA) {
		s->caps_len = 0;
		s->ncaps = 0;
	}
}

static void begin_body(struct pop3 *s, uint8_t cmd)
{
	if (cmd == CMD_TOP)
		s->top_messages++;
	else
		s->retr_messages++;
	s->multi = ML_BODY;
	s->multi_cmd = cmd;
	s->body = B_BOL;
	s->body_bytes = 0;
}

/* The +OK of a one-line reply to a command beyond the FIFO. */
static void ovf_single(struct pop3 *s)
{
	switch (CODE_CMD(ovf_take(s, K_SINGLE))) {
	case CMD_DELE:
		s->deleted++;
		break;
	case CMD_QUIT:
		s->quit = 1;
		break;
	default:
		break;
	}
}

/* "N ..." of LIST and UIDL. */
static bool is_listing(struct mt_view line)
{
	size_t i = 0;

	while (i < line.len && line.p[i] >= '0' && line.p[i] <= '9')
		i++;
	return i > 0 && (i == line.len || line.p[i] == ' ');
}

/* A capability or mechanism ("TOP", "SASL PLAIN"): one word of letters,
 * digits and '-' first, where a message starts with a header field. */
static bool is_capability(struct mt_view line)
{
	size_t i = 0;

	for (uint8_t c; i < line.len; i++) {
		c = mt_ascii_upper(line.p[i]);
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			break;
	}
	return i > 0 && (i == line.len || line.p[i] == ' ');
}

static bool server_line(struct pop3 *s, struct mt_app_env *env, struct mt_view line);

/*
 * The line after a +OK to a command beyond the FIFO decides what that +OK
 * began: a status line means nothing more followed it; "." an empty
 * listing or message; "N ..." a LIST or UIDL listing; a capability a CAPA
 * answer; anything else message data, counted whatever the counts say.
 * A message whose first line starts with "+OK" would be misread, but only
 * past the FIFO, which pop3_too_many_pending reports.
 */
static bool probe_line(struct pop3 *s, struct mt_app_env *env, struct mt_view line)
{
	unsigned lines = 0;
	uint8_t code;

	s->multi = ML_NONE;
	if (starts_ci(line, "+OK") || starts_ci(line, "-ERR")) {
		ovf_single(s);
		return server_line(s, env, line);
	}
	if (line.len == 1 && line.p[0] == '.') {
		code = ovf_take(s, ovf_count(s, K_LINES) ? K_LINES : K_BODY);
		if (kind_of(code) == K_BODY) {
			begin_body(s, CODE_CMD(code));
			s->multi = ML_NONE; /* an empty message */
		}
		return false;
	}
	if (ovf_count(s, K_LIST) && is_listing(line))
		lines = K_LIST;
	else if (ovf_count(s, K_CAPA) && is_capability(line))
		lines = K_CAPA;
	else if (!ovf_count(s, K_BODY))
		lines = K_LINES;
	if (lines) {
		code = ovf_take(s, lines);
		begin_lines(s, CODE_CMD(code));
		return server_line(s, env, line);
	}
	code = ovf_take(s, K_BODY);
	begin_body(s, CODE_CMD(code) == CMD_TOP ? CMD_TOP : CMD_RETR);
	s->body_bytes = line.len + 2; /* this line and its CR LF */
	if (s->ls.discarding) {
		/* Cut at the cap: the rest of it is message data too. */
		mt_line_reset(&s->ls);
		s->body = B_MID;
	}
	return false;
}

/* A status line (+OK, -ERR) or continuation (+) from the server. Returns
 * true when the flow switches to TLS after this line. */
static bool server_line(struct pop3 *s, struct mt_app_env *env, struct mt_view line)
{
	bool ok = starts_ci(line, "+OK");
	bool err = starts_ci(line, "-ERR");
	uint8_t code, cmd;
	size_t i;

	if (s->multi == ML_LINES) {
		if (line.len == 1 && line.p[0] == '.') {
			s->multi = ML_NONE;
			return false;
		}
		if (s->multi_cmd == CMD_CAPA)
			add_cap(s, line);
		return false;
	}
	if (s->multi == ML_PROBE)
		return probe_line(s, env, line);
	if (!s->greeted) {
		if (!ok && !err)
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_invalid_reply,
				       MT_DIR_S2C, line.p, line.len);
		s->greeted = 1;
		return false;
	}
	if (!ok && !err) {
		if (line.len >= 1 && line.p[0] == '+' && s->sasl_active)
			return false; /* SASL challenge */
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_invalid_reply, MT_DIR_S2C,
			       line.p, line.len);
		return false;
	}
	if (!s->nruns) {
		if (s->ovf_total) {
			/* -ERR never has more lines; a +OK is decided by the
			 * line after it. */
			if (ok)
				s->multi = ML_PROBE;
			else
				ovf_take(s, K_SINGLE);
		} else if (!s->lost) {
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_reply_without_command,
				       MT_DIR_S2C, line.p, line.len);
		}
		return false;
	}
	code = s->runs[s->rhead].code[0];
	cmd = CODE_CMD(code);
	switch (cmd) {
	case CMD_USER:
		user_pop(s);
		if (err) /* unknown user refused at once: a failed attempt */
			auth_done(s, env, "USER", 4, s->user_arg, s->user_arg_len,
				  false, line);
		break;
	case CMD_PASS:
		auth_done(s, env, "USER", 4, s->user_arg, s->user_arg_len, ok, line);
		break;
	case CMD_APOP:
		user_pop(s);
		auth_done(s, env, "APOP", 4, s->user_arg, s->user_arg_len, ok, line);
		break;
	case CMD_AUTH:
		if (s->sasl_active) {
			s->sasl_active = 0;
			auth_done(s, env, s->sasl.mech_name, s->sasl.mech_len,
				  s->sasl.user, s->sasl.user_len,
				  ok && !s->sasl.cancelled, line);
		} else if (ok) {
			begin_lines(s, CMD_AUTH);
		}
		break;
	case CMD_STLS:
		copy_str(s->stls_reply, sizeof(s->stls_reply), ok ? "+OK" : "-ERR",
			 ok ? 3 : 4);
		if (ok) {
			pend_pop(s);
			mt_app_switch(env, MT_APP_TLS);
			return true;
		}
		break;
	case CMD_STAT:
		if (ok) {
			i = 3;
			s->stat_messages = (uint32_t)number(word(line, &i));
			s->stat_bytes = number(word(line, &i));
		}
		break;
	case CMD_DELE:
		if (ok)
			s->deleted++;
		break;
	case CMD_QUIT:
		s->quit = 1;
		break;
	default:
		if (ok && (kind_of(code) & K_LINES))
			begin_lines(s, cmd); /* CAPA, LIST, UIDL */
		else if (ok && kind_of(code) == K_BODY)
			begin_body(s, cmd); /* RETR, TOP */
		break;
	}
	pend_pop(s);
	return false;
}

/* Message data of RETR/TOP: counts bytes up to CRLF "." CRLF, which may be
 * split across any segments. Returns bytes consumed. */
static size_t body_scan(struct pop3 *s, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		switch (s->body) {
		case B_BOL:
			if (p[i] == '.') {
				s->body = B_DOT;
				i++;
			} else {
				s->body = B_MID;
			}
			break;
		case B_MID: {
			const uint8_t *lf = memchr(p + i, '\n', n - i);

			if (!lf) {
				i = n;
			} else {
				i = (size_t)(lf - p) + 1;
				s->body = B_BOL;
			}
			break;
		}
		case B_DOT:
			if (p[i] == '\r') {
				s->body = B_DOTCR;
				i++;
			} else if (p[i] == '\n') {
				i++;
				goto end;
			} else {
				s->body = B_MID; /* a dot-stuffed line */
			}
			break;
		case B_DOTCR:
			if (p[i] == '\n') {
				i++;
				goto end;
			}
			s->body = B_MID;
			break;
		}
	}
	s->body_bytes += i;
	return i;
end:
	s->body_bytes += i;
	/* The terminator is not message data. */
	s->body_bytes -= MT_MIN(s->body_bytes, (uint64_t)(s->body == B_DOTCR ? 3 : 2));
	s->retr_bytes += s->body_bytes;
	s->multi = ML_NONE;
	return i;
}

static size_t server_data(struct pop3 *s, struct mt_app_env *env,
			  const uint8_t *p, size_t n)
{
	uint8_t *buf = s->bufs + s->line_max;
	const uint8_t *start = p;
	struct mt_view line;

	while (n) {
		if (s->multi == ML_BODY) {
			size_t used = body_scan(s, p, n);

			p += used;
			n -= used;
			continue;
		}
		if (!mt_line_next(&s->ls, buf, s->line_max, &p, &n, &line))
			break;
		/* A line after a +OK past the FIFO may be message data. */
		if (s->ls.truncated && s->multi != ML_PROBE)
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_line_too_long,
				       MT_DIR_S2C, line.p, line.len);
		if (server_line(s, env, line))
			return (size_t)(p - start);
	}
	return (size_t)(p - start);
}

/* Evidence of a client line: a login line stops after its verb (PASS,
 * APOP, AUTH carry secrets or what stands for them). */
static struct mt_view safe_evidence(struct mt_view line)
{
	size_t i = 0;
	struct mt_view verb = word(line, &i);

	if ((verb.len == 4 && (starts_ci(verb, "PASS") || starts_ci(verb, "APOP") ||
			       starts_ci(verb, "AUTH"))))
		line.len = i;
	return line;
}

static void client_line(struct pop3 *s, struct mt_app_env *env, struct mt_view line)
{
	struct mt_view verb, arg, ev;
	size_t i = 0;
	uint8_t cmd = CMD_OTHER;
	bool known = false;

	if (s->sasl_active) {
		/* No evidence: a line that is not base64 may be a password. */
		if (!s->greeted && mt_app_server_seen(env))
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_command_before_greeting,
				       MT_DIR_C2S, NULL, 0);
		if (!mt_sasl_client(&s->sasl, line.p, line.len))
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_bad_base64,
				       MT_DIR_C2S, NULL, 0);
		return;
	}
	ev = safe_evidence(line);
	if (!s->greeted && mt_app_server_seen(env))
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_command_before_greeting,
			       MT_DIR_C2S, ev.p, ev.len);
	if (memchr(line.p, 0, line.len))
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_nul_in_command, MT_DIR_C2S,
			       ev.p, ev.len);
	for (size_t k = 0; k < line.len; k++)
		if (line.p[k] >= 0x80) {
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_non_ascii_command,
				       MT_DIR_C2S, ev.p, ev.len);
			break;
		}
	s->commands++;
	s->lost = 0;
	verb = word(line, &i);
	for (size_t k = 0; k < MT_ARRAY_SIZE(verbs); k++)
		if (verb.len == strlen(verbs[k].verb) && starts_ci(verb, verbs[k].verb)) {
			cmd = verbs[k].cmd;
			known = true;
			break;
		}
	if (!known)
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_unknown_command, MT_DIR_C2S,
			       ev.p, ev.len);
	arg = word(line, &i);
	switch (cmd) {
	case CMD_USER:
	case CMD_APOP:
		user_push(s, arg);
		break;
	case CMD_AUTH:
		if (arg.len) {
			struct mt_view ir = word(line, &i);

			mt_sasl_start(&s->sasl, arg.p, arg.len);
			s->sasl_active = 1;
			if (ir.len && !mt_sasl_client(&s->sasl, ir.p, ir.len))
				mt_app_anomaly(env, MT_CTR_anomaly_pop3_bad_base64,
					       MT_DIR_C2S, NULL, 0);
		}
		break;
	case CMD_STLS:
		s->stls_requested = 1;
		break;
	default:
		break;
	}
	push(s, env, (uint8_t)(cmd | (arg.len ? CODE_ARG : 0)), ev);
}

static size_t client_data(struct pop3 *s, struct mt_app_env *env,
			  const uint8_t *p, size_t n)
{
	struct mt_view line;
	size_t total = n;

	while (mt_line_next(&s->lc, s->bufs, s->line_max, &p, &n, &line)) {
		if (s->lc.truncated) {
			struct mt_view ev = s->sasl_active ? (struct mt_view){ NULL, 0 }
							   : safe_evidence(line);

			mt_app_anomaly(env, MT_CTR_anomaly_pop3_line_too_long,
				       MT_DIR_C2S, ev.p, ev.len);
		}
		client_line(s, env, line);
	}
	return total;
}

static size_t pop3_data(void *st, struct mt_app_env *env, int dir,
			const uint8_t *p, size_t n)
{
	struct pop3 *s = st;

	if (dir == MT_DIR_S2C)
		return server_data(s, env, p, n);
	return client_data(s, env, p, n);
}

static void pop3_gap(void *st, struct mt_app_env *env, int dir, uint32_t len)
{
	struct pop3 *s = st;

	(void)env;
	(void)len;
	/* Whatever was being read is incomplete: resynchronise on the next
	 * line, and stop pairing replies with commands we may have missed. */
	if (dir == MT_DIR_S2C) {
		mt_line_reset(&s->ls);
		s->ls.discarding = 1;
		s->greeted = 1; /* if the greeting was in the hole, it is gone */
		if (s->multi == ML_BODY)
			s->body = B_MID;
		if (s->multi == ML_PROBE)
			s->multi = ML_NONE;
	} else {
		mt_line_reset(&s->lc);
		s->lc.discarding = 1;
		s->sasl_active = 0;
	}
	pend_clear(s);
	s->lost = 1;
}

static void pop3_close(void *st, struct mt_app_env *env)
{
	struct pop3 *s = st;
	struct mt_rec *r = mt_app_rec(env, MT_REC_pop3);
	struct mt_body_pop3 *b = &r->b.pop3;

	if (s->multi == ML_PROBE)
		ovf_single(s); /* nothing followed that +OK */
	b->timestamp = s->open_ns;
	for (uint16_t off = 0; off < s->caps_len; off = (uint16_t)(off + 1 + s->caps[off]))
		mt_rec_list_add(r, &b->capabilities, s->caps + off + 1, s->caps[off]);
	b->stls_offered = s->stls_offered;
	b->stls_requested = s->stls_requested;
	mt_rec_set_str(r, &b->stls_reply, s->stls_reply, strlen(s->stls_reply));
	mt_rec_set_str(r, &b->auth_mech, s->last_mech, s->last_mech_len);
	mt_rec_set_str(r, &b->auth_user, s->last_user, s->last_user_len);
	mt_rec_set_str(r, &b->auth_result, s->last_result, strlen(s->last_result));
	b->auth_attempts = s->auth_attempts;
	b->commands = s->commands;
	b->stat_messages = s->stat_messages;
	b->stat_bytes = s->stat_bytes;
	b->retr_messages = s->retr_messages;
	b->retr_bytes = s->retr_bytes;
	b->top_messages = s->top_messages;
	b->deleted = s->deleted;
	b->quit = s->quit;
	mt_app_emit(env);
	explicit_bzero(&s->sasl, sizeof(s->sasl));
}

const struct mt_analyzer mt_pop3_analyzer = {
	.app = MT_APP_POP3,
	.state_size = pop3_state_size,
	.state_clear = pop3_state_clear,
	.open = pop3_open,
	.data = pop3_data,
	.gap = pop3_gap,
	.close = pop3_close,
};
