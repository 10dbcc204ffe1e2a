/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * POP3 analyzer (RFC 1939, CAPA and PIPELINING from RFC 2449, SASL AUTH
 * from RFC 5034, STLS from RFC 2595). Commands wait in a small FIFO for
 * their status line; multi-line responses are either read line by line
 * (CAPA, LIST, UIDL) or, for message data (RETR, TOP), scanned for the
 * CRLF "." CRLF terminator without buffering, counting the bytes. One `auth`
 * record per USER/PASS, APOP or AUTH exchange, one `pop3` record per session.
 */
#include "app.h"
#include "line.h"
#include "sasl.h"

#define POP3_PENDING 16
#define POP3_CAPS_BYTES 512
#define POP3_REPLY_KEEP 200

enum pop3_cmd {
	CMD_OTHER = 0, CMD_USER, CMD_PASS, CMD_APOP, CMD_AUTH, CMD_CAPA, CMD_STLS,
	CMD_STAT, CMD_LIST, CMD_UIDL, CMD_RETR, CMD_TOP, CMD_DELE, CMD_RSET,
	CMD_NOOP, CMD_QUIT,
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

enum multi_mode { ML_NONE = 0, ML_LINES, ML_BODY };
enum body_state { B_BOL = 0, B_MID, B_DOT, B_DOTCR };

struct pending {
	uint8_t cmd;
	uint8_t has_arg;
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
	uint8_t nPend;
	uint8_t head;
	struct pending pend[POP3_PENDING];
	uint64_t body_bytes;
	struct mt_sasl sasl;
	uint16_t user_arg_len;
	char user_arg[MT_SASL_USER_MAX];
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
	char last_mech[MT_SASL_MECH_MAX];
	char last_user[MT_SASL_USER_MAX];
	char last_result[16];
	uint16_t caps_len;
	uint8_t ncaps;
	uint8_t caps[POP3_CAPS_BYTES]; /* [len][bytes]... */
	uint8_t bufs[];                /* client line, then server line */
};

static uint32_t pop3_state_size(const struct mt_app_config *cfg)
{
	return (uint32_t)sizeof(struct pop3) + 2 * cfg->pop3_line_max;
}

/* The line and message buffers are tracked by length: not cleared. */
static uint32_t pop3_state_clear(const struct mt_app_config *cfg)
{
	(void)cfg;
	return (uint32_t)sizeof(struct pop3);
}

static void pop3_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	struct pop3 *s = st;

	(void)after_starttls;
	s->line_max = env->cfg->pop3_line_max;
	s->open_ns = env->now_ns;
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
	struct mt_view m = { (const uint8_t *)mech, mech_len };
	struct mt_view u = { (const uint8_t *)user, user_len };
	const char *result = ok ? "success" : "failure";

	s->auth_attempts++;
	copy_str(s->last_mech, sizeof(s->last_mech), mech, mech_len);
	copy_str(s->last_user, sizeof(s->last_user), user, user_len);
	copy_str(s->last_result, sizeof(s->last_result), result, strlen(result));
	reply.len = MT_MIN(reply.len, (size_t)POP3_REPLY_KEEP);
	mt_app_auth(env, m, u, result, reply, s->auth_attempts);
}

static struct pending *pend_front(struct pop3 *s)
{
	return s->nPend ? &s->pend[s->head] : NULL;
}

static void pend_pop(struct pop3 *s)
{
	s->head = (uint8_t)((s->head + 1) % POP3_PENDING);
	s->nPend--;
}

/* A status line (+OK, -ERR) or continuation (+) from the server. Returns
 * true when the flow switches to TLS after this line. */
static bool server_line(struct pop3 *s, struct mt_app_env *env, struct mt_view line)
{
	bool ok = starts_ci(line, "+OK");
	bool err = starts_ci(line, "-ERR");
	struct pending *pd;
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
	pd = pend_front(s);
	if (!pd) {
		if (!s->lost)
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_reply_without_command,
				       MT_DIR_S2C, line.p, line.len);
		return false;
	}
	switch (pd->cmd) {
	case CMD_USER:
		if (err) /* unknown user refused at once: a failed attempt */
			auth_done(s, env, "USER", 4, s->user_arg, s->user_arg_len,
				  false, line);
		break;
	case CMD_PASS:
		auth_done(s, env, "USER", 4, s->user_arg, s->user_arg_len, ok, line);
		break;
	case CMD_APOP:
		auth_done(s, env, "APOP", 4, s->user_arg, s->user_arg_len, ok, line);
		break;
	case CMD_AUTH:
		if (s->sasl_active) {
			s->sasl_active = 0;
			auth_done(s, env, s->sasl.mech_name, s->sasl.mech_len,
				  s->sasl.user, s->sasl.user_len,
				  ok && !s->sasl.cancelled, line);
		} else if (ok) {
			s->multi = ML_LINES; /* AUTH alone lists mechanisms */
			s->multi_cmd = CMD_AUTH;
		}
		break;
	case CMD_CAPA:
		if (ok) {
			s->multi = ML_LINES;
			s->multi_cmd = CMD_CAPA;
			s->caps_len = 0;
			s->ncaps = 0;
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
	case CMD_LIST:
	case CMD_UIDL:
		if (ok && !pd->has_arg) {
			s->multi = ML_LINES;
			s->multi_cmd = pd->cmd;
		}
		break;
	case CMD_RETR:
	case CMD_TOP:
		if (ok) {
			if (pd->cmd == CMD_RETR)
				s->retr_messages++;
			else
				s->top_messages++;
			s->multi = ML_BODY;
			s->multi_cmd = pd->cmd;
			s->body = B_BOL;
			s->body_bytes = 0;
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
		if (s->ls.truncated)
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_line_too_long,
				       MT_DIR_S2C, line.p, line.len);
		if (server_line(s, env, line))
			return (size_t)(p - start);
	}
	return (size_t)(p - start);
}

static void push(struct pop3 *s, struct mt_app_env *env, uint8_t cmd, bool has_arg,
		 struct mt_view line)
{
	if (s->nPend == POP3_PENDING) {
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_too_many_pending, MT_DIR_C2S,
			       line.p, line.len);
		return;
	}
	s->pend[(s->head + s->nPend) % POP3_PENDING].cmd = cmd;
	s->pend[(s->head + s->nPend) % POP3_PENDING].has_arg = has_arg;
	s->nPend++;
}

static void client_line(struct pop3 *s, struct mt_app_env *env, struct mt_view line)
{
	struct mt_view verb, arg;
	size_t i = 0;
	uint8_t cmd = CMD_OTHER;
	bool known = false;

	if (!s->greeted && mt_app_server_seen(env))
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_command_before_greeting,
			       MT_DIR_C2S, line.p, line.len);
	if (s->sasl_active) {
		if (!mt_sasl_client(&s->sasl, line.p, line.len))
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_bad_base64,
				       MT_DIR_C2S, line.p, line.len);
		return;
	}
	if (memchr(line.p, 0, line.len))
		mt_app_anomaly(env, MT_CTR_anomaly_pop3_nul_in_command, MT_DIR_C2S,
			       line.p, line.len);
	for (size_t k = 0; k < line.len; k++)
		if (line.p[k] >= 0x80) {
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_non_ascii_command,
				       MT_DIR_C2S, line.p, line.len);
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
			       line.p, line.len);
	arg = word(line, &i);
	switch (cmd) {
	case CMD_USER:
		copy_str(s->user_arg, sizeof(s->user_arg), arg.p, arg.len);
		s->user_arg_len = (uint16_t)MT_MIN(arg.len, sizeof(s->user_arg) - 1);
		break;
	case CMD_APOP:
		copy_str(s->user_arg, sizeof(s->user_arg), arg.p, arg.len);
		s->user_arg_len = (uint16_t)MT_MIN(arg.len, sizeof(s->user_arg) - 1);
		break;
	case CMD_AUTH:
		if (arg.len) {
			struct mt_view ir = word(line, &i);

			mt_sasl_start(&s->sasl, arg.p, arg.len);
			s->sasl_active = 1;
			if (ir.len && !mt_sasl_client(&s->sasl, ir.p, ir.len))
				mt_app_anomaly(env, MT_CTR_anomaly_pop3_bad_base64,
					       MT_DIR_C2S, ir.p, ir.len);
		}
		break;
	case CMD_STLS:
		s->stls_requested = 1;
		break;
	default:
		break;
	}
	push(s, env, cmd, arg.len != 0, line);
}

static size_t client_data(struct pop3 *s, struct mt_app_env *env,
			  const uint8_t *p, size_t n)
{
	struct mt_view line;
	size_t total = n;

	while (mt_line_next(&s->lc, s->bufs, s->line_max, &p, &n, &line)) {
		if (s->lc.truncated)
			mt_app_anomaly(env, MT_CTR_anomaly_pop3_line_too_long,
				       MT_DIR_C2S, line.p, line.len);
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
	} else {
		mt_line_reset(&s->lc);
		s->lc.discarding = 1;
		s->sasl_active = 0;
	}
	s->nPend = 0;
	s->lost = 1;
}

static void pop3_close(void *st, struct mt_app_env *env)
{
	struct pop3 *s = st;
	struct mt_rec *r = mt_app_rec(env, MT_REC_pop3);
	struct mt_body_pop3 *b = &r->b.pop3;

	b->timestamp = s->open_ns;
	for (uint16_t off = 0; off < s->caps_len; off = (uint16_t)(off + 1 + s->caps[off]))
		mt_rec_list_add(r, &b->capabilities, s->caps + off + 1, s->caps[off]);
	b->stls_offered = s->stls_offered;
	b->stls_requested = s->stls_requested;
	mt_rec_set_str(r, &b->stls_reply, s->stls_reply, strlen(s->stls_reply));
	mt_rec_set_str(r, &b->auth_mech, s->last_mech, strlen(s->last_mech));
	mt_rec_set_str(r, &b->auth_user, s->last_user, strlen(s->last_user));
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
