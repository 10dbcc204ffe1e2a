/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `query` and `appliances` (see query.h). Records of several tables come
 * out in one stream by merging per-table cursors on the row id, which the
 * collector assigns from one counter across tables: that is storage order,
 * and for one appliance the order it wrote its records in. `--order time`
 * merges on (timestamp, id) instead.
 */
#include "query.h"

#include <errno.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "coll_config.h"
#include "decode.h"
#include "flow.h"
#include "json.h"
#include "sqlschema.h"

#define CHUNK_ROWS 500
#define CELL_MAX 256
#define HEARTBEAT_STALE_US (10 * 1000000ll)

/* ---- time ---- */

static bool parse_duration_us(const char *s, int64_t *out)
{
	char *end;
	unsigned long long v;
	int64_t mul;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	if (!strcmp(end, "s"))
		mul = 1000000ll;
	else if (!strcmp(end, "m"))
		mul = 60 * 1000000ll;
	else if (!strcmp(end, "h"))
		mul = 3600 * 1000000ll;
	else if (!strcmp(end, "d"))
		mul = 86400 * 1000000ll;
	else if (!strcmp(end, "w"))
		mul = 7 * 86400 * 1000000ll;
	else
		return false;
	if (v > (unsigned long long)(INT64_MAX / mul))
		return false;
	*out = (int64_t)v * mul;
	return true;
}

bool mt_query_parse_time(const char *s, int64_t now_us, int64_t *out)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
					    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	int64_t d;

	if (parse_duration_us(s, &d)) {
		*out = now_us - d;
		return true;
	}
	if (*s == '@') {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || v < 0 || v > INT64_MAX / 1000000)
			return false;
		*out = v * 1000000ll;
		return true;
	}
	for (unsigned i = 0; i < MT_ARRAY_SIZE(fmts); i++) {
		struct tm tm;
		const char *rest;
		int64_t us = 0;

		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, fmts[i], &tm);
		if (!rest)
			continue;
		if (*rest == '.') {
			int digits = 0;

			rest++;
			while (*rest >= '0' && *rest <= '9') {
				if (digits < 6) {
					us = us * 10 + (*rest - '0');
					digits++;
				}
				rest++;
			}
			while (digits++ < 6)
				us *= 10;
		}
		if (!strcmp(rest, "Z") || !strcmp(rest, "+0000") || !strcmp(rest, "+00:00"))
			rest += strlen(rest);
		if (*rest)
			continue;
		*out = (int64_t)timegm(&tm) * 1000000ll + us;
		return true;
	}
	return false;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fmt_time_us(char *out, size_t len, int64_t us, bool with_ms)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	if (with_ms)
		snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(us % 1000000 / 1000));
	else
		snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- database ---- */

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	bool ok = false;
	struct stat sb;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "mailtap-collector: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "mailtap-collector: %s: %s\n", path,
			db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'domains'", -1, &st,
			       NULL) == SQLITE_OK) {
		ok = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	if (!ok) {
		fprintf(stderr, "mailtap-collector: %s: not a mailtap collector database (%s)\n", path,
			sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static bool table_has_column(sqlite3 *db, const char *table, const char *col)
{
	char q[160];
	sqlite3_stmt *st;
	bool found = false;

	snprintf(q, sizeof(q), "PRAGMA table_info(\"%s\")", table);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		return false;
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 1);

		found = n && strcmp(n, col) == 0;
	}
	sqlite3_finalize(st);
	return found;
}

/* ---- options ---- */

struct qopts {
	const char *db;
	bool types[MT_REC__COUNT];
	bool any_type;
	bool has_since, has_until;
	int64_t since_us, until_us;
	const char *src;
	const char *user;
	const char *appliance;
	bool json;
	bool by_time;
	long long limit;         /* < 0: none */
};

struct cursor {
	enum mt_rtype type;
	sqlite3_stmt *st;
	bool row;                /* positioned on a row */
	int64_t id;
	int64_t ts;
};

/* Prepares the SELECT of one table; NULL when the filters exclude it. */
static sqlite3_stmt *prepare_query(sqlite3 *db, enum mt_rtype t, const struct qopts *o,
				   long long limit, char *err, size_t errlen)
{
	const char *users[8];
	unsigned nu = mt_sql_user_columns(t, users, MT_ARRAY_SIZE(users));
	struct mt_buf q = { 0 };
	sqlite3_stmt *st = NULL;
	int k = 1;

	if ((o->src && !mt_sql_has_column(t, "src_ip")) || (o->user && nu == 0))
		return NULL;
	mt_sql_select(&q, t);
	mt_buf_puts(&q, " WHERE 1");
	if (o->has_since)
		mt_buf_puts(&q, " AND \"timestamp\" >= ?");
	if (o->has_until)
		mt_buf_puts(&q, " AND \"timestamp\" < ?");
	if (o->src)
		mt_buf_puts(&q, " AND src_ip = ?");
	if (o->appliance)
		mt_buf_puts(&q, " AND appliance = ?");
	if (o->user) {
		mt_buf_puts(&q, " AND (");
		for (unsigned i = 0; i < nu; i++)
			mt_buf_printf(&q, "%s\"%s\" = ?", i ? " OR " : "", users[i]);
		mt_buf_puts(&q, ")");
	}
	mt_buf_puts(&q, o->by_time ? " ORDER BY \"timestamp\", id" : " ORDER BY id");
	if (limit >= 0)
		mt_buf_printf(&q, " LIMIT %lld", limit);
	if (q.failed || sqlite3_prepare_v2(db, q.p, -1, &st, NULL) != SQLITE_OK) {
		/* A database from an older schema may lack a column: say so. */
		snprintf(err, errlen, "%s: %s", mt_rtypes[t].name, sqlite3_errmsg(db));
		mt_buf_free(&q);
		return NULL;
	}
	mt_buf_free(&q);
	if (o->has_since)
		sqlite3_bind_int64(st, k++, o->since_us);
	if (o->has_until)
		sqlite3_bind_int64(st, k++, o->until_us);
	if (o->src)
		sqlite3_bind_text(st, k++, o->src, -1, SQLITE_STATIC);
	if (o->appliance)
		sqlite3_bind_text(st, k++, o->appliance, -1, SQLITE_STATIC);
	for (unsigned i = 0; o->user && i < nu; i++)
		sqlite3_bind_text(st, k++, o->user, -1, SQLITE_STATIC);
	return st;
}

static bool cur_step(struct cursor *c)
{
	int rc = sqlite3_step(c->st);

	c->row = rc == SQLITE_ROW;
	if (c->row) {
		c->id = sqlite3_column_int64(c->st, 0);
		c->ts = sqlite3_column_int64(c->st, MT_SQL_META_COLS); /* timestamp is first */
	} else if (rc != SQLITE_DONE) {
		fprintf(stderr, "mailtap-collector: %s: %s\n", mt_rtypes[c->type].name,
			sqlite3_errmsg(sqlite3_db_handle(c->st)));
		return false;
	}
	return true;
}

static bool before(const struct cursor *a, const struct cursor *b, bool by_time)
{
	if (by_time && a->ts != b->ts)
		return a->ts < b->ts;
	return a->id < b->id;
}

/* ---- table cells ---- */

struct tcol {
	const char *title;
	const char *field;       /* field name, or time/appliance/src/dest */
	unsigned max;            /* width cap */
};

#define MAXCOLS 14

struct tview {
	enum mt_rtype type;
	const char *name;
	struct tcol cols[MAXCOLS];
};

/* Columns per record type: what an analyst reads first. A field the
 * schema does not have (any more) is left out. */
static const struct tview views[] = {
	{ MT_REC_flow, "flow", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				  { "SRC", "src", 46 }, { "DEST", "dest", 46 },
				  { "APP", "app_proto", 6 }, { "PKTS>", "pkts_toserver", 10 },
				  { "<PKTS", "pkts_toclient", 10 }, { "BYTES>", "bytes_toserver", 12 },
				  { "<BYTES", "bytes_toclient", 12 }, { "END", "reason", 8 } } },
	{ MT_REC_smtp, "smtp", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				  { "SRC", "src", 46 }, { "DEST", "dest", 46 },
				  { "HELO", "helo", 24 }, { "MAIL FROM", "mail_from", 32 },
				  { "RCPT TO", "rcpt_to", 40 }, { "USER", "auth_user", 24 },
				  { "AUTH", "auth_result", 8 }, { "STATUS", "status", 10 },
				  { "SUBJECT", "email_subject", 40 } } },
	{ MT_REC_imap, "imap", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				  { "SRC", "src", 46 }, { "DEST", "dest", 46 },
				  { "MECH", "auth_mech", 10 }, { "USER", "auth_user", 24 },
				  { "AUTH", "auth_result", 8 }, { "CMDS", "commands", 6 },
				  { "FETCHED", "messages_fetched", 8 },
				  { "BYTES", "bytes_fetched", 12 }, { "TLS", "starttls_requested", 4 } } },
	{ MT_REC_pop3, "pop3", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				  { "SRC", "src", 46 }, { "DEST", "dest", 46 },
				  { "MECH", "auth_mech", 10 }, { "USER", "auth_user", 24 },
				  { "AUTH", "auth_result", 8 }, { "CMDS", "commands", 6 },
				  { "RETR", "retr_messages", 8 }, { "BYTES", "retr_bytes", 12 },
				  { "DELE", "deleted", 6 } } },
	{ MT_REC_auth, "auth", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				  { "SRC", "src", 46 }, { "DEST", "dest", 46 },
				  { "PROTO", "app_proto", 6 }, { "MECH", "mechanism", 10 },
				  { "USER", "user", 24 }, { "RESULT", "result", 8 },
				  { "CLEAR", "cleartext", 5 }, { "#", "attempt", 3 },
				  { "REPLY", "reply", 40 } } },
	{ MT_REC_tls, "tls", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				{ "SRC", "src", 46 }, { "DEST", "dest", 46 },
				{ "VERSION", "version", 8 }, { "SNI", "sni", 32 },
				{ "ALPN", "server_alpn", 8 }, { "JA4", "ja4", 36 },
				{ "JA3", "ja3_hash", 32 }, { "STARTTLS", "starttls", 8 } } },
	{ MT_REC_alert, "alert", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				    { "SEV", "severity", 3 }, { "SIGNATURE", "signature", 40 },
				    { "DETECTOR", "detector", 16 }, { "SRC", "src_ip", 39 },
				    { "SOURCE", "src_prefix", 24 }, { "USER", "user", 24 },
				    { "ATTEMPTS", "attempts", 8 }, { "FAILS", "failures", 8 },
				    { "USERS", "distinct_users", 6 }, { "UPD", "update", 4 } } },
	{ MT_REC_anomaly, "anomaly", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
					{ "SRC", "src", 46 }, { "DEST", "dest", 46 },
					{ "PROTO", "app_proto", 6 }, { "TYPE", "type", 8 },
					{ "EVENT", "event", 32 }, { "DIR", "dir", 10 },
					{ "EVIDENCE", "evidence", 40 } } },
	{ MT_REC_stats, "stats", { { "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
				    { "UPTIME", "uptime", 10 }, { "PKTS", "capture_pkts", 12 },
				    { "BYTES", "capture_bytes", 14 }, { "NIC DROPS", "capture_nic_drops", 10 },
				    { "FLOWS", "flow_created", 10 }, { "RECORDS", "output_records", 10 },
				    { "RING DROPS", "output_ring_drops", 10 } } },
};

static const struct mt_field_desc *field(enum mt_rtype t, const char *name)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];

	for (unsigned i = 0; i < rt->nfields; i++)
		if (strcmp(rt->fields[i].name, name) == 0)
			return &rt->fields[i];
	return NULL;
}

static uint64_t get_uint(const uint8_t *p, uint8_t type)
{
	uint16_t v2;
	uint32_t v4;
	uint64_t v8;

	switch (type) {
	case MT_FT_U16:
		memcpy(&v2, p, 2);
		return v2;
	case MT_FT_U32:
		memcpy(&v4, p, 4);
		return v4;
	case MT_FT_U64:
	case MT_FT_TIME:
		memcpy(&v8, p, 8);
		return v8;
	default:
		return *p;
	}
}

/* Printable text of bytes: control characters become '?'. */
static void put_clean(struct mt_buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mt_buf_putc(b, (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i]);
}

static void cell_field(struct mt_buf *b, const struct mt_rec *r, const struct mt_field_desc *f)
{
	const uint8_t *p = (const uint8_t *)r + f->offset;
	char tmp[96];
	struct mt_sref s;
	struct mt_lref l;
	struct mt_view v;
	uint32_t pos;

	switch (f->type) {
	case MT_FT_BOOL:
		mt_buf_puts(b, *p ? "yes" : "");
		break;
	case MT_FT_TIME:
		fmt_time_us(tmp, sizeof(tmp), (int64_t)(get_uint(p, f->type) / MT_NS_PER_US), true);
		mt_buf_puts(b, tmp);
		break;
	case MT_FT_FLAGS8:
		mt_buf_printf(b, "%02x", *p);
		break;
	case MT_FT_PROTO:
		mt_buf_printf(b, "%s", *p == 6 ? "TCP" : *p == 17 ? "UDP" : "");
		if (*p != 6 && *p != 17)
			mt_buf_printf(b, "%u", *p);
		break;
	case MT_FT_APP:
		mt_buf_puts(b, mt_app_name(*p));
		break;
	case MT_FT_REASON:
		mt_buf_puts(b, mt_flow_reason_name(*p));
		break;
	case MT_FT_TUNNEL:
		mt_buf_puts(b, mt_tunnel_name(*p));
		break;
	case MT_FT_IP: {
		const struct mt_ipaddr *ip = (const struct mt_ipaddr *)p;

		if (ip->ver) {
			mt_addr_format(ip->a, ip->ver, tmp, sizeof(tmp));
			mt_buf_puts(b, tmp);
		}
		break;
	}
	case MT_FT_STR:
	case MT_FT_HEX:
		memcpy(&s, p, sizeof(s));
		if (s.off > MT_REC_ARENA || s.len > MT_REC_ARENA - s.off)
			break;
		if (f->type == MT_FT_HEX)
			for (uint32_t i = 0; i < s.len; i++)
				mt_buf_printf(b, "%02x", r->arena[s.off + i]);
		else
			put_clean(b, r->arena + s.off, s.len);
		break;
	case MT_FT_STRLIST:
	case MT_FT_U16LIST:
	case MT_FT_U64LIST:
	case MT_FT_SUBLIST:
		memcpy(&l, p, sizeof(l));
		pos = l.head;
		for (uint32_t i = 0; i < l.count && mt_rec_list_next(r, &pos, &v); i++) {
			if (i)
				mt_buf_putc(b, ',');
			if (f->type == MT_FT_U16LIST && v.len == 2)
				mt_buf_printf(b, "%u", mt_load_be16(v.p));
			else if (f->type == MT_FT_U64LIST && v.len == 8)
				mt_buf_printf(b, "%llu", (unsigned long long)mt_load_be64(v.p));
			else if (f->type == MT_FT_STRLIST)
				put_clean(b, v.p, v.len);
			else
				mt_buf_puts(b, "[item]");
		}
		break;
	default:
		mt_buf_printf(b, "%llu", (unsigned long long)get_uint(p, f->type));
		break;
	}
}

static void cell_endpoint(struct mt_buf *b, const struct mt_rec *r, const char *ipf,
			  const char *portf)
{
	const struct mt_field_desc *fi = field(r->type, ipf), *fp = field(r->type, portf);
	const struct mt_ipaddr *ip;
	char tmp[64];

	if (!fi)
		return;
	ip = (const struct mt_ipaddr *)((const uint8_t *)r + fi->offset);
	if (!ip->ver)
		return;
	mt_addr_format(ip->a, ip->ver, tmp, sizeof(tmp));
	mt_buf_printf(b, ip->ver == 6 ? "[%s]" : "%s", tmp);
	if (fp)
		mt_buf_printf(b, ":%llu",
			      (unsigned long long)get_uint((const uint8_t *)r + fp->offset, fp->type));
}

static void cell(struct mt_buf *b, const struct mt_rec *r, const char *appliance,
		 const char *what)
{
	const struct mt_field_desc *f;

	if (!strcmp(what, "time")) {
		f = field(r->type, "timestamp");
		if (f)
			cell_field(b, r, f);
	} else if (!strcmp(what, "appliance")) {
		put_clean(b, (const uint8_t *)appliance, strlen(appliance));
	} else if (!strcmp(what, "src")) {
		cell_endpoint(b, r, "src_ip", "src_port");
	} else if (!strcmp(what, "dest")) {
		cell_endpoint(b, r, "dest_ip", "dest_port");
	} else if ((f = field(r->type, what))) {
		cell_field(b, r, f);
	}
}

/* Display width of UTF-8 text (code points; wide glyphs count one). */
static size_t width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* Prints `s` in a column of `w`, cut with ".." when longer. */
static void print_cell(FILE *out, const char *s, size_t w, bool last)
{
	size_t n = strlen(s), sw = width(s, n);

	if (sw > w) {
		size_t keep = 0, cw = 0;

		while (keep < n && cw < w - 2) {
			keep++;
			while (keep < n && ((unsigned char)s[keep] & 0xc0) == 0x80)
				keep++;
			cw++;
		}
		fwrite(s, 1, keep, out);
		fputs("..", out);
		sw = cw + 2;
	} else {
		fputs(s, out);
	}
	if (!last)
		fprintf(out, "%*s", (int)(w - sw + 2), "");
}

struct table {
	const struct tview *view;
	unsigned ncols;
	const struct tcol *cols[MAXCOLS];
	size_t w[MAXCOLS];
	bool widths_set;
	unsigned nrows;
	char *cells;              /* CHUNK_ROWS x ncols x CELL_MAX */
	unsigned long long printed;
};

static void table_flush(FILE *out, struct table *t)
{
	if (!t->nrows)
		return;
	if (!t->widths_set) {
		/* Widths from the first chunk, capped: a table that streams
		 * cannot look at every row first. */
		for (unsigned c = 0; c < t->ncols; c++) {
			t->w[c] = strlen(t->cols[c]->title);
			for (unsigned r = 0; r < t->nrows; r++) {
				const char *s = t->cells + ((size_t)r * t->ncols + c) * CELL_MAX;

				t->w[c] = MT_MAX(t->w[c], width(s, strlen(s)));
			}
			t->w[c] = MT_MIN(t->w[c], (size_t)t->cols[c]->max);
			t->w[c] = MT_MAX(t->w[c], (size_t)3);
		}
		for (unsigned c = 0; c < t->ncols; c++)
			print_cell(out, t->cols[c]->title, t->w[c], c + 1 == t->ncols);
		fputc('\n', out);
		t->widths_set = true;
	}
	for (unsigned r = 0; r < t->nrows; r++) {
		for (unsigned c = 0; c < t->ncols; c++)
			print_cell(out, t->cells + ((size_t)r * t->ncols + c) * CELL_MAX, t->w[c],
				   c + 1 == t->ncols);
		fputc('\n', out);
	}
	t->printed += t->nrows;
	t->nrows = 0;
}

static bool table_init(struct table *t, enum mt_rtype type)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < MT_ARRAY_SIZE(views); i++)
		if (views[i].type == type)
			t->view = &views[i];
	if (t->view) {
		for (unsigned c = 0; c < MAXCOLS && t->view->cols[c].title; c++) {
			const char *fname = t->view->cols[c].field;

			if (!strcmp(fname, "time") || !strcmp(fname, "appliance") ||
			    ((!strcmp(fname, "src") || !strcmp(fname, "dest")) &&
			     field(type, "src_ip")) ||
			    field(type, fname))
				t->cols[t->ncols++] = &t->view->cols[c];
		}
	} else {
		/* A record type without a view: time, appliance and addresses. */
		static const struct tcol generic[] = {
			{ "TIME", "time", 23 }, { "APPLIANCE", "appliance", 16 },
			{ "SRC", "src", 46 },   { "DEST", "dest", 46 },
		};

		for (unsigned c = 0; c < MT_ARRAY_SIZE(generic); c++)
			t->cols[t->ncols++] = &generic[c];
	}
	t->cells = malloc((size_t)CHUNK_ROWS * t->ncols * CELL_MAX);
	return t->cells != NULL;
}

static void table_add(FILE *out, struct table *t, const struct mt_rec *r, const char *appliance)
{
	struct mt_buf b = { 0 };

	for (unsigned c = 0; c < t->ncols; c++) {
		char *dst = t->cells + ((size_t)t->nrows * t->ncols + c) * CELL_MAX;
		size_t n;

		mt_buf_reset(&b);
		cell(&b, r, appliance, t->cols[c]->field);
		n = b.p && !b.failed ? MT_MIN(b.len, (size_t)CELL_MAX - 1) : 0;
		/* Do not cut a UTF-8 sequence in half. */
		while (n && n < b.len && ((unsigned char)b.p[n] & 0xc0) == 0x80)
			n--;
		if (n)
			memcpy(dst, b.p, n);
		dst[n] = '\0';
	}
	mt_buf_free(&b);
	if (++t->nrows == CHUNK_ROWS)
		table_flush(out, t);
}

/* ---- query ---- */

static void query_usage(FILE *f)
{
	fprintf(f,
		"usage: mailtap-collector query (--db FILE | -c CONFIG) [options]\n"
		"  --type T[,T...]    alert auth smtp imap pop3 tls flow stats anomaly (default all)\n"
		"  --since WHEN       30m, 1h, 2d (back from now), 2024-05-01T10:00:00, @EPOCH\n"
		"  --until WHEN       same forms; records before it\n"
		"  --src IP           source address, as printed (192.0.2.1, 2001:db8::1)\n"
		"  --user NAME        user name in any user field (auth.user, smtp/imap/pop3 auth_user, alert.user)\n"
		"  --appliance NAME   records of one appliance\n"
		"  --format F         table (default) or json (EVE lines, as mailtapd --json)\n"
		"  --order O          storage (default: the order records were stored) or time\n"
		"  --limit N          at most N records (per type in a table)\n");
}

/* Database path from --db or from the configuration's storage.path. */
static const char *db_path(const char *db, const char *conf, struct mt_coll_config *cfg)
{
	struct mt_config_errors e;

	if (db)
		return db;
	if (!conf)
		return NULL;
	mt_coll_config_defaults(cfg);
	memset(&e, 0, sizeof(e));
	if (mt_coll_config_load(cfg, conf, &e) != 0) {
		for (unsigned i = 0; i < MT_MIN(e.count, (unsigned)MT_INI_MAX_ERRORS); i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		return NULL;
	}
	return cfg->storage.path;
}

static int run_json(FILE *out, sqlite3 *db, const struct qopts *o, struct mt_rec *rec)
{
	struct cursor cur[MT_REC__COUNT];
	struct mt_buf b = { 0 };
	unsigned n = 0;
	long long printed = 0;
	char err[300];
	int rc = 0;

	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		if (!o->types[t])
			continue;
		err[0] = '\0';
		cur[n].type = (enum mt_rtype)t;
		cur[n].st = prepare_query(db, (enum mt_rtype)t, o, o->limit, err, sizeof(err));
		if (!cur[n].st) {
			if (err[0]) {
				fprintf(stderr, "mailtap-collector: %s\n", err);
				rc = 1;
			}
			continue;
		}
		if (!cur_step(&cur[n]))
			rc = 1;
		n++;
	}
	while (o->limit < 0 || printed < o->limit) {
		struct cursor *best = NULL;
		char why[200];

		for (unsigned i = 0; i < n; i++)
			if (cur[i].row && (!best || before(&cur[i], best, o->by_time)))
				best = &cur[i];
		if (!best)
			break;
		if (mt_sql_read(best->st, MT_SQL_META_COLS, best->type, rec, why, sizeof(why)) != 0) {
			fprintf(stderr, "mailtap-collector: %s row %lld: %s\n",
				mt_rtypes[best->type].name, (long long)best->id, why);
			rc = 1;
		} else {
			mt_buf_reset(&b);
			mt_json_record(&b, rec);
			if (b.failed || fwrite(b.p, 1, b.len, out) != b.len) {
				rc = 1;
				break;
			}
			printed++;
		}
		if (!cur_step(best))
			rc = 1;
	}
	for (unsigned i = 0; i < n; i++)
		sqlite3_finalize(cur[i].st);
	mt_buf_free(&b);
	return rc;
}

static int run_table(FILE *out, sqlite3 *db, const struct qopts *o, struct mt_rec *rec)
{
	unsigned sections = 0;
	int rc = 0;

	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		struct cursor c;
		struct table tb;
		char err[300] = "";

		if (!o->types[t])
			continue;
		c.type = (enum mt_rtype)t;
		c.st = prepare_query(db, c.type, o, o->limit, err, sizeof(err));
		if (!c.st) {
			if (err[0]) {
				fprintf(stderr, "mailtap-collector: %s\n", err);
				rc = 1;
			}
			continue;
		}
		if (!table_init(&tb, c.type)) {
			sqlite3_finalize(c.st);
			return 1;
		}
		if (!cur_step(&c))
			rc = 1;
		if (!c.row && !o->any_type) {
			/* Listing every type: empty ones say nothing. */
			free(tb.cells);
			sqlite3_finalize(c.st);
			continue;
		}
		if (sections++)
			fputc('\n', out);
		fprintf(out, "== %s ==\n", mt_rtypes[t].name);
		while (c.row) {
			char why[200];

			if (mt_sql_read(c.st, MT_SQL_META_COLS, c.type, rec, why, sizeof(why)) != 0) {
				fprintf(stderr, "mailtap-collector: %s row %lld: %s\n",
					mt_rtypes[t].name, (long long)c.id, why);
				rc = 1;
			} else {
				table_add(out, &tb, rec, (const char *)sqlite3_column_text(c.st, 1));
			}
			if (!cur_step(&c))
				rc = 1;
		}
		table_flush(out, &tb);
		if (!tb.printed)
			fprintf(out, "(no %s records)\n", mt_rtypes[t].name);
		else
			fprintf(out, "(%llu %s record%s)\n", tb.printed, mt_rtypes[t].name,
				tb.printed == 1 ? "" : "s");
		free(tb.cells);
		sqlite3_finalize(c.st);
	}
	if (!sections)
		fprintf(out, "(no records)\n");
	return rc;
}

int mt_query_main(int argc, char **argv, FILE *out)
{
	static const struct option lopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "type", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "src", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'U' },
		{ "appliance", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "order", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mt_coll_config cfg;
	struct qopts o;
	const char *conf = NULL;
	struct mt_rec *rec;
	int64_t now = now_us();
	sqlite3 *db;
	int opt, rc;

	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	o.limit = -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			o.db = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 't': {
			char buf[256], *save = NULL, *tok;

			snprintf(buf, sizeof(buf), "%s", optarg);
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int t = mt_rtype_from_name(tok);

				if (t < 0) {
					fprintf(stderr, "mailtap-collector: --type: unknown record type `%s'\n",
						tok);
					return 2;
				}
				o.types[t] = true;
				o.any_type = true;
			}
			break;
		}
		case 's':
		case 'u': {
			int64_t v;

			if (!mt_query_parse_time(optarg, now, &v)) {
				fprintf(stderr,
					"mailtap-collector: --%s: `%s' is neither a duration (30m, 2h, 7d) nor a time (2024-05-01T10:00:00, @EPOCH)\n",
					opt == 's' ? "since" : "until", optarg);
				return 2;
			}
			if (opt == 's') {
				o.has_since = true;
				o.since_us = v;
			} else {
				o.has_until = true;
				o.until_us = v;
			}
			break;
		}
		case 'S':
			o.src = optarg;
			break;
		case 'U':
			o.user = optarg;
			break;
		case 'a':
			o.appliance = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "json")) {
				o.json = true;
			} else if (strcmp(optarg, "table") != 0) {
				fprintf(stderr, "mailtap-collector: --format: `%s' is neither table nor json\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			if (!strcmp(optarg, "time")) {
				o.by_time = true;
			} else if (strcmp(optarg, "storage") != 0) {
				fprintf(stderr, "mailtap-collector: --order: `%s' is neither storage nor time\n",
					optarg);
				return 2;
			}
			break;
		case 'n': {
			char *end;

			errno = 0;
			o.limit = strtoll(optarg, &end, 10);
			if (errno || *end || o.limit < 0) {
				fprintf(stderr, "mailtap-collector: --limit: `%s' is not a count\n", optarg);
				return 2;
			}
			break;
		}
		case 'h':
			query_usage(out);
			return 0;
		default:
			query_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailtap-collector: query: unexpected argument `%s'\n", argv[optind]);
		return 2;
	}
	o.db = db_path(o.db, conf, &cfg);
	if (!o.db) {
		if (!conf)
			query_usage(stderr);
		mt_coll_config_free(&cfg);
		return 2;
	}
	if (!o.any_type)
		for (unsigned t = 0; t < MT_REC__COUNT; t++)
			o.types[t] = true;
	db = open_db(o.db);
	rec = malloc(sizeof(*rec));
	if (!db || !rec) {
		sqlite3_close(db);
		free(rec);
		mt_coll_config_free(&cfg);
		return 1;
	}
	/* One snapshot for the whole output: tables merged from one moment. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	rc = o.json ? run_json(out, db, &o, rec) : run_table(out, db, &o, rec);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (fflush(out) != 0)
		rc = 1;
	sqlite3_close(db);
	free(rec);
	mt_coll_config_free(&cfg);
	return rc;
}

/* ---- appliances ---- */

struct arow {
	char name[MT_COLL_NAME];
	bool in_db;
	bool configured;
	int connected;
	int64_t last_seen_us;
	uint64_t records;
	uint64_t gaps;
	uint64_t dups;
	char peer[64];
	char domains[128];
	char spool[160];
	char firmware[32];
};

static void ago(char *out, size_t len, int64_t then_us, int64_t now)
{
	int64_t d = (now - then_us) / 1000000;
	char t[40];

	if (!then_us) {
		snprintf(out, len, "never");
		return;
	}
	fmt_time_us(t, sizeof(t), then_us, false);
	if (d < 0)
		snprintf(out, len, "%s", t);
	else if (d < 120)
		snprintf(out, len, "%s (%llds ago)", t, (long long)d);
	else if (d < 7200)
		snprintf(out, len, "%s (%lldm ago)", t, (long long)(d / 60));
	else if (d < 172800)
		snprintf(out, len, "%s (%lldh ago)", t, (long long)(d / 3600));
	else
		snprintf(out, len, "%s (%lldd ago)", t, (long long)(d / 86400));
}

static struct arow *arow_get(struct arow **rows, unsigned *n, unsigned *cap, const char *name)
{
	struct arow *r;

	for (unsigned i = 0; i < *n; i++)
		if (!strcmp((*rows)[i].name, name))
			return &(*rows)[i];
	if (*n == *cap) {
		unsigned nc = *cap ? *cap * 2 : 64;
		struct arow *nr = realloc(*rows, nc * sizeof(*nr));

		if (!nr)
			return NULL;
		*rows = nr;
		*cap = nc;
	}
	r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

/* Spool counters the exporter reports in its stats records (schema
 * names); the first two are gauges, the rest drop totals. */
static const char *const spool_fields[] = {
	"export_spool_files", "export_spool_bytes", "export_spool_dropped_high",
	"export_spool_dropped_normal", "export_spool_dropped_low",
};

/* The spool backlog from the latest stats record of an appliance. */
static void spool_of(sqlite3 *db, struct arow *r, const bool *have)
{
	struct mt_buf q = { 0 };
	sqlite3_stmt *st;

	mt_buf_puts(&q, "SELECT 1");
	for (unsigned i = 0; i < MT_ARRAY_SIZE(spool_fields); i++)
		mt_buf_printf(&q, ", %s", have[i] ? spool_fields[i] : "0");
	mt_buf_puts(&q, " FROM stats WHERE appliance = ? ORDER BY id DESC LIMIT 1");
	snprintf(r->spool, sizeof(r->spool), "-");
	if (!q.failed && sqlite3_prepare_v2(db, q.p, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			long long dropped = sqlite3_column_int64(st, 3) + sqlite3_column_int64(st, 4) +
					    sqlite3_column_int64(st, 5);

			snprintf(r->spool, sizeof(r->spool), "%lld files, %lld bytes%s",
				 (long long)sqlite3_column_int64(st, 1),
				 (long long)sqlite3_column_int64(st, 2), dropped ? ", drops" : "");
			if (dropped) {
				size_t l = strlen(r->spool);

				snprintf(r->spool + l, sizeof(r->spool) - l, " %lld", dropped);
			}
		} else {
			snprintf(r->spool, sizeof(r->spool), "(no stats record yet)");
		}
		sqlite3_finalize(st);
	}
	mt_buf_free(&q);
}

/* The firmware version from the latest stats record of an appliance that
 * carries one (stats.version). */
static void firmware_of(sqlite3 *db, struct arow *r)
{
	sqlite3_stmt *st;

	snprintf(r->firmware, sizeof(r->firmware), "-");
	if (sqlite3_prepare_v2(db,
			       "SELECT version FROM stats WHERE appliance = ? AND version IS NOT NULL "
			       "ORDER BY id DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		size_t i;

		/* Printed in a table: printable, no blanks. */
		for (i = 0; v[i] && i + 1 < sizeof(r->firmware); i++)
			r->firmware[i] = v[i] > ' ' && v[i] < 0x7f ? (char)v[i] : '?';
		r->firmware[i] = '\0';
	}
	sqlite3_finalize(st);
}

int mt_appliances_main(int argc, char **argv, FILE *out)
{
	static const struct option lopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mt_coll_config cfg;
	const char *dbp = NULL, *conf = NULL;
	struct arow *rows = NULL;
	unsigned n = 0, cap = 0, nspool = 0;
	bool have_spool[MT_ARRAY_SIZE(spool_fields)], have_version;
	int64_t now = now_us(), heartbeat = 0;
	bool running, any_unknown = false;
	sqlite3_stmt *st;
	sqlite3 *db;
	int opt;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dbp = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'h':
			fprintf(out, "usage: mailtap-collector appliances (--db FILE | -c CONFIG)\n"
				     "  with -c, appliances configured but never seen are listed too\n");
			return 0;
		default:
			return 2;
		}
	}
	if (conf) {
		struct mt_config_errors e;

		mt_coll_config_defaults(&cfg);
		memset(&e, 0, sizeof(e));
		if (mt_coll_config_load(&cfg, conf, &e) != 0) {
			for (unsigned i = 0; i < MT_MIN(e.count, (unsigned)MT_INI_MAX_ERRORS); i++)
				fprintf(stderr, "%s\n", e.msg[i]);
			mt_coll_config_free(&cfg);
			return 2;
		}
		if (!dbp)
			dbp = cfg.storage.path;
	}
	if (!dbp) {
		fprintf(stderr, "usage: mailtap-collector appliances (--db FILE | -c CONFIG)\n");
		return 2;
	}
	db = open_db(dbp);
	if (!db) {
		mt_coll_config_free(&cfg);
		return 1;
	}
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'heartbeat'", -1, &st,
			       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			heartbeat = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	running = heartbeat && now - heartbeat < HEARTBEAT_STALE_US;
	for (unsigned i = 0; i < cfg.nappliances; i++) {
		struct arow *r = arow_get(&rows, &n, &cap, cfg.appliances[i].name);

		if (r)
			r->configured = true;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT name, connected, records, last_seen, peer FROM appliances",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const char *peer = (const char *)sqlite3_column_text(st, 4);
			struct arow *r = name ? arow_get(&rows, &n, &cap, name) : NULL;

			if (!r)
				continue;
			r->in_db = true;
			r->connected = sqlite3_column_int(st, 1);
			r->records = (uint64_t)sqlite3_column_int64(st, 2);
			r->last_seen_us = sqlite3_column_int64(st, 3);
			if (peer)
				snprintf(r->peer, sizeof(r->peer), "%s", peer);
		}
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT appliance, domain, gaps, duplicates FROM domains ORDER BY domain",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			struct arow *r = name ? arow_get(&rows, &n, &cap, name) : NULL;
			size_t l;

			if (!r)
				continue;
			r->gaps += (uint64_t)sqlite3_column_int64(st, 2);
			r->dups += (uint64_t)sqlite3_column_int64(st, 3);
			l = strlen(r->domains);
			if (l + 12 < sizeof(r->domains))
				snprintf(r->domains + l, sizeof(r->domains) - l, "%s%lld", l ? "," : "",
					 (long long)sqlite3_column_int64(st, 1));
		}
		sqlite3_finalize(st);
	}
	/* Spool counters of the exporter, if this database has them. */
	for (unsigned i = 0; i < MT_ARRAY_SIZE(spool_fields); i++) {
		have_spool[i] = table_has_column(db, "stats", spool_fields[i]);
		nspool += have_spool[i];
	}
	have_version = table_has_column(db, "stats", "version");
	for (unsigned i = 0; i < n; i++) {
		if (have_spool[0] && have_spool[1])
			spool_of(db, &rows[i], have_spool);
		else
			snprintf(rows[i].spool, sizeof(rows[i].spool), "-");
		if (have_version)
			firmware_of(db, &rows[i]);
		else
			snprintf(rows[i].firmware, sizeof(rows[i].firmware), "-");
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);

	fprintf(out, "%-16s %-13s %-36s %12s %8s %8s  %-10s %-22s %-10s %s\n", "APPLIANCE",
		"STATE", "LAST SEEN", "RECORDS", "GAPS", "DUPS", "DOMAINS", "PEER", "FIRMWARE",
		"SPOOL BACKLOG");
	for (unsigned i = 0; i < n; i++) {
		const struct arow *r = &rows[i];
		const char *state;
		char seen[64];

		if (!r->in_db)
			state = "never seen";
		else if (r->connected > 0 && running)
			state = "connected";
		else if (r->connected > 0)
			state = "unknown", any_unknown = true;
		else
			state = "disconnected";
		ago(seen, sizeof(seen), r->last_seen_us, now);
		fprintf(out, "%-16s %-13s %-36s %12llu %8llu %8llu  %-10s %-22s %-10s %s\n",
			r->name, state, seen, (unsigned long long)r->records,
			(unsigned long long)r->gaps, (unsigned long long)r->dups,
			r->domains[0] ? r->domains : "-", r->peer[0] ? r->peer : "-", r->firmware,
			r->spool);
	}
	if (!n)
		fprintf(out, "(no appliance has connected yet)\n");
	fprintf(out, "\ncollector: %s", running ? "running" : heartbeat ? "not running" :
					  "stopped cleanly");
	if (heartbeat) {
		char t[64];

		ago(t, sizeof(t), heartbeat, now);
		fprintf(out, " (last heartbeat %s)", t);
	}
	fprintf(out, "\n");
	if (any_unknown)
		fprintf(out, "state `unknown': the appliance was connected when the collector last wrote its state\n");
	if (!nspool)
		fprintf(out, "spool backlog: this database has no export spool counters (older schema)\n");
	else
		fprintf(out, "spool backlog: from each appliance's latest stats record (export.spool_*)\n");
	fprintf(out, "firmware: from each appliance's latest stats record that carries one (stats.version)\n");
	free(rows);
	mt_coll_config_free(&cfg);
	return 0;
}
