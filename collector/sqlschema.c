/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SQL schema, binding and row rebuilding generated from the field
 * descriptors (see sqlschema.h for the column types). Lists are JSON
 * written with mt_json_escape, which escapes single bytes only (control
 * characters and bytes that are not valid UTF-8, as \u00XX) and copies
 * valid UTF-8 unchanged; reading maps \u00XX back to the byte, so any
 * string round-trips byte for byte while the column stays valid JSON for
 * SQLite's json_each().
 */
#include "sqlschema.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "decode.h"
#include "json.h"

#define MAX_FIELDS 1024

static const char *const meta_cols[MT_SQL_META_COLS] = { "id", "appliance", "domain", "seq" };

const char *mt_sql_coltype(uint8_t ftype)
{
	switch (ftype) {
	case MT_FT_IP:
	case MT_FT_STR:
	case MT_FT_HEX:
	case MT_FT_STRLIST:
	case MT_FT_U16LIST:
	case MT_FT_U64LIST:
	case MT_FT_SUBLIST:
		return "TEXT";
	default:
		return "INTEGER";
	}
}

static bool is_user_field(const struct mt_field_desc *f)
{
	size_t n = strlen(f->name);

	return f->type == MT_FT_STR &&
	       (strcmp(f->name, "user") == 0 || (n > 5 && strcmp(f->name + n - 5, "_user") == 0));
}

unsigned mt_sql_user_columns(enum mt_rtype t, const char **out, unsigned max)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];
	unsigned n = 0;

	for (unsigned i = 0; i < rt->nfields && n < max; i++)
		if (is_user_field(&rt->fields[i]))
			out[n++] = rt->fields[i].name;
	return n;
}

bool mt_sql_has_column(enum mt_rtype t, const char *name)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];

	for (unsigned i = 0; i < MT_SQL_META_COLS; i++)
		if (strcmp(meta_cols[i], name) == 0)
			return true;
	for (unsigned i = 0; i < rt->nfields; i++)
		if (strcmp(rt->fields[i].name, name) == 0)
			return true;
	return false;
}

void mt_sql_create_table(struct mt_buf *b, enum mt_rtype t)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];

	/* The row id is assigned by the writer from one counter shared by all
	 * tables, so ordering by it across tables is storage order. */
	mt_buf_printf(b,
		      "CREATE TABLE IF NOT EXISTS \"%s\" (\n"
		      "  id INTEGER PRIMARY KEY,\n"
		      "  appliance TEXT NOT NULL,\n"
		      "  domain INTEGER NOT NULL,\n"
		      "  seq INTEGER NOT NULL",
		      rt->name);
	for (unsigned i = 0; i < rt->nfields; i++)
		mt_buf_printf(b, ",\n  \"%s\" %s", rt->fields[i].name,
			      mt_sql_coltype(rt->fields[i].type));
	mt_buf_puts(b, "\n);\n");
}

void mt_sql_create_indexes(struct mt_buf *b, enum mt_rtype t)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];
	const char *users[8];
	unsigned nu;

	mt_buf_printf(b, "CREATE INDEX IF NOT EXISTS \"%s_time\" ON \"%s\"(\"timestamp\");\n",
		      rt->name, rt->name);
	if (mt_sql_has_column(t, "src_ip"))
		mt_buf_printf(b, "CREATE INDEX IF NOT EXISTS \"%s_src\" ON \"%s\"(src_ip);\n",
			      rt->name, rt->name);
	nu = mt_sql_user_columns(t, users, MT_ARRAY_SIZE(users));
	for (unsigned i = 0; i < nu; i++)
		mt_buf_printf(b,
			      "CREATE INDEX IF NOT EXISTS \"%s_%s\" ON \"%s\"(\"%s\") WHERE \"%s\" IS NOT NULL;\n",
			      rt->name, users[i], rt->name, users[i], users[i]);
}

void mt_sql_create(struct mt_buf *b, enum mt_rtype t)
{
	mt_sql_create_table(b, t);
	mt_sql_create_indexes(b, t);
}

void mt_sql_insert(struct mt_buf *b, enum mt_rtype t)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];

	mt_buf_printf(b, "INSERT INTO \"%s\" (id, appliance, domain, seq", rt->name);
	for (unsigned i = 0; i < rt->nfields; i++)
		mt_buf_printf(b, ", \"%s\"", rt->fields[i].name);
	mt_buf_puts(b, ") VALUES (?, ?, ?, ?");
	for (unsigned i = 0; i < rt->nfields; i++)
		mt_buf_puts(b, ", ?");
	mt_buf_puts(b, ")");
}

void mt_sql_select(struct mt_buf *b, enum mt_rtype t)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];

	mt_buf_puts(b, "SELECT id, appliance, domain, seq");
	for (unsigned i = 0; i < rt->nfields; i++)
		mt_buf_printf(b, ", \"%s\"", rt->fields[i].name);
	mt_buf_printf(b, " FROM \"%s\"", rt->name);
}

/* ---- values ---- */

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

static void set_uint(uint8_t *p, uint8_t type, uint64_t v)
{
	uint16_t v2 = (uint16_t)v;
	uint32_t v4 = (uint32_t)v;

	switch (type) {
	case MT_FT_U16:
		memcpy(p, &v2, 2);
		break;
	case MT_FT_U32:
		memcpy(p, &v4, 4);
		break;
	case MT_FT_U64:
	case MT_FT_TIME:
		memcpy(p, &v, 8);
		break;
	default:
		*p = (uint8_t)v;
		break;
	}
}

static bool sref_ok(struct mt_sref s)
{
	return s.off <= MT_REC_ARENA && s.len <= MT_REC_ARENA - s.off;
}

static void put_u64(struct mt_buf *b, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mt_buf_put(b, tmp + sizeof(tmp) - n, (size_t)n);
}

static void put_hex(struct mt_buf *b, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char two[2] = { hx[p[i] >> 4], hx[p[i] & 15] };

		mt_buf_put(b, two, 2);
	}
}

static void put_ip(struct mt_buf *b, const struct mt_ipaddr *ip)
{
	char tmp[64];

	if (ip->ver == 4) {
		/* Written by hand: this runs for most records, and printf's
		 * machinery costs more than the insert's index lookups. */
		size_t n = 0;

		for (int k = 0; k < 4; k++) {
			unsigned v = ip->a[k];

			if (k)
				tmp[n++] = '.';
			if (v >= 100)
				tmp[n++] = (char)('0' + v / 100);
			if (v >= 10)
				tmp[n++] = (char)('0' + v / 10 % 10);
			tmp[n++] = (char)('0' + v % 10);
		}
		mt_buf_put(b, tmp, n);
		return;
	}
	mt_addr_format(ip->a, ip->ver, tmp, sizeof(tmp));
	mt_buf_puts(b, tmp);
}

/* One sub-record as a JSON object with every field (zero ones too: the
 * column must give back exactly what came in). */
static void put_subrec(struct mt_buf *b, const struct mt_rec *r, const struct mt_rtype_desc *st,
		       const uint8_t *item)
{
	mt_buf_putc(b, '{');
	for (unsigned k = 0; k < st->nfields; k++) {
		const struct mt_field_desc *sf = &st->fields[k];
		const uint8_t *p = item + sf->offset;
		struct mt_sref s;

		if (k)
			mt_buf_putc(b, ',');
		mt_buf_printf(b, "\"%s\":", sf->name);
		switch (sf->type) {
		case MT_FT_STR:
		case MT_FT_HEX:
			memcpy(&s, p, sizeof(s));
			if (!sref_ok(s))
				s.len = 0;
			mt_buf_putc(b, '"');
			if (sf->type == MT_FT_HEX)
				put_hex(b, r->arena + s.off, s.len);
			else
				mt_json_escape(b, r->arena + s.off, s.len);
			mt_buf_putc(b, '"');
			break;
		case MT_FT_IP:
			if (((const struct mt_ipaddr *)p)->ver == 0) {
				mt_buf_puts(b, "null");
			} else {
				mt_buf_putc(b, '"');
				put_ip(b, (const struct mt_ipaddr *)p);
				mt_buf_putc(b, '"');
			}
			break;
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST:
			/* Lists inside sub-records are not in the schema (and the
			 * IPFIX decoder nests no deeper); keep the column valid. */
			mt_buf_puts(b, "null");
			break;
		default:
			put_u64(b, get_uint(p, sf->type));
			break;
		}
	}
	mt_buf_putc(b, '}');
}

void mt_sql_list_json(struct mt_buf *b, const struct mt_rec *r, const struct mt_field_desc *f,
		      struct mt_lref l)
{
	struct mt_view v;
	uint32_t pos = l.head;

	mt_buf_putc(b, '[');
	for (uint32_t i = 0; i < l.count && mt_rec_list_next(r, &pos, &v); i++) {
		if (i)
			mt_buf_putc(b, ',');
		switch (f->type) {
		case MT_FT_U16LIST:
			put_u64(b, v.len == 2 ? mt_load_be16(v.p) : 0);
			break;
		case MT_FT_U64LIST:
			put_u64(b, v.len == 8 ? mt_load_be64(v.p) : 0);
			break;
		case MT_FT_SUBLIST: {
			uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));

			if (f->sub == 0 || f->sub > MT_SUB__COUNT) {
				mt_buf_puts(b, "null");
				break;
			}
			memset(item, 0, sizeof(item));
			memcpy(item, v.p, MT_MIN(v.len, sizeof(item)));
			put_subrec(b, r, &mt_stypes[f->sub - 1], item);
			break;
		}
		default:
			mt_buf_putc(b, '"');
			mt_json_escape(b, v.p, v.len);
			mt_buf_putc(b, '"');
			break;
		}
	}
	mt_buf_putc(b, ']');
}

int mt_sql_bind(sqlite3_stmt *st, int first, const struct mt_rec *r, struct mt_buf *scratch)
{
	const struct mt_rtype_desc *rt;
	uint32_t off[MAX_FIELDS], len[MAX_FIELDS];
	int rc = SQLITE_OK;

	if (r->type >= MT_REC__COUNT)
		return SQLITE_MISUSE;
	rt = &mt_rtypes[r->type];
	if (rt->nfields > MAX_FIELDS)
		return SQLITE_RANGE;
	/* Pass 1: every derived text into one buffer (it may move while it
	 * grows, so nothing is bound before it is complete). */
	mt_buf_reset(scratch);
	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		const uint8_t *p = (const uint8_t *)r + f->offset;
		struct mt_sref s;
		struct mt_lref l;

		off[i] = (uint32_t)scratch->len;
		len[i] = UINT32_MAX; /* not derived (or NULL) */
		switch (f->type) {
		case MT_FT_IP:
			if (((const struct mt_ipaddr *)p)->ver == 0)
				continue;
			put_ip(scratch, (const struct mt_ipaddr *)p);
			break;
		case MT_FT_HEX:
			memcpy(&s, p, sizeof(s));
			if (!sref_ok(s) || s.len == 0)
				continue;
			put_hex(scratch, r->arena + s.off, s.len);
			break;
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST:
			memcpy(&l, p, sizeof(l));
			if (l.count == 0)
				continue;
			mt_sql_list_json(scratch, r, f, l);
			break;
		default:
			continue;
		}
		len[i] = (uint32_t)(scratch->len - off[i]);
	}
	if (scratch->failed)
		return SQLITE_NOMEM;
	/* Pass 2: bind. */
	for (unsigned i = 0; i < rt->nfields && rc == SQLITE_OK; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		const uint8_t *p = (const uint8_t *)r + f->offset;
		int col = first + (int)i;
		struct mt_sref s;

		switch (f->type) {
		case MT_FT_IP:
		case MT_FT_HEX:
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST:
			if (len[i] == UINT32_MAX)
				rc = sqlite3_bind_null(st, col);
			else
				rc = sqlite3_bind_text(st, col, scratch->p + off[i], (int)len[i],
						       SQLITE_STATIC);
			break;
		case MT_FT_STR:
			memcpy(&s, p, sizeof(s));
			if (!sref_ok(s) || s.len == 0)
				rc = sqlite3_bind_null(st, col);
			else
				rc = sqlite3_bind_text(st, col, (const char *)r->arena + s.off,
						       (int)s.len, SQLITE_STATIC);
			break;
		case MT_FT_TIME:
			rc = sqlite3_bind_int64(st, col,
						(sqlite3_int64)(get_uint(p, f->type) / MT_NS_PER_US));
			break;
		default:
			rc = sqlite3_bind_int64(st, col, (sqlite3_int64)get_uint(p, f->type));
			break;
		}
	}
	return rc;
}

/* ---- reading back ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text into the arena; false when it is not hex. */
static bool set_hex(struct mt_rec *r, struct mt_sref *dst, const char *p, size_t n)
{
	uint8_t tmp[MT_REC_ARENA];
	size_t k = 0;

	if (n % 2)
		return false;
	for (size_t i = 0; i < n && k < sizeof(tmp); i += 2) {
		int hi = hexval(p[i]), lo = hexval(p[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		tmp[k++] = (uint8_t)(hi << 4 | lo);
	}
	mt_rec_set_str(r, dst, tmp, k);
	return true;
}

static bool parse_ip(struct mt_ipaddr *ip, const char *p, size_t n)
{
	char tmp[64];

	memset(ip, 0, sizeof(*ip));
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (memchr(tmp, ':', n)) {
		ip->ver = 6;
		return inet_pton(AF_INET6, tmp, ip->a) == 1;
	}
	ip->ver = 4;
	return inet_pton(AF_INET, tmp, ip->a) == 1;
}

/* A strict reader for the JSON this module writes (and any valid JSON of
 * the same shape): arrays of strings, unsigned numbers, null, or flat
 * objects. */
struct jr {
	const char *p;
	const char *end;
	char *why;
	size_t whylen;
};

static void ws(struct jr *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static bool jfail(struct jr *j, const char *what)
{
	snprintf(j->why, j->whylen, "list column: %s at byte %zu", what,
		 (size_t)(j->end - j->p));
	return false;
}

static bool expect(struct jr *j, char c)
{
	ws(j);
	if (j->p >= j->end || *j->p != c)
		return jfail(j, "unexpected character");
	j->p++;
	return true;
}

static bool peek(struct jr *j, char c)
{
	ws(j);
	return j->p < j->end && *j->p == c;
}

/* A JSON string into `out` (capacity `cap`, bytes in *n). \u00XX is the
 * byte XX (see the file comment); larger code points become UTF-8. */
static bool jstring(struct jr *j, uint8_t *out, size_t cap, size_t *n)
{
	size_t k = 0;

	if (!expect(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"') {
		uint8_t c = (uint8_t)*j->p++;

		if (c == '\\') {
			if (j->p >= j->end)
				return jfail(j, "escape cut short");
			c = (uint8_t)*j->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case '"':
			case '\\':
			case '/':
				break;
			case 'u': {
				uint32_t cp = 0;

				if (j->end - j->p < 4)
					return jfail(j, "\\u escape cut short");
				for (int i = 0; i < 4; i++) {
					int h = hexval(j->p[i]);

					if (h < 0)
						return jfail(j, "bad \\u escape");
					cp = cp << 4 | (uint32_t)h;
				}
				j->p += 4;
				if (cp >= 0x100) {
					/* Not written by us; keep it as UTF-8. */
					uint8_t u[3];
					size_t ul;

					if (cp < 0x800) {
						u[0] = (uint8_t)(0xc0 | cp >> 6);
						u[1] = (uint8_t)(0x80 | (cp & 0x3f));
						ul = 2;
					} else {
						u[0] = (uint8_t)(0xe0 | cp >> 12);
						u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
						u[2] = (uint8_t)(0x80 | (cp & 0x3f));
						ul = 3;
					}
					for (size_t i = 0; i < ul; i++)
						if (k < cap)
							out[k++] = u[i];
					continue;
				}
				c = (uint8_t)cp;
				break;
			}
			default:
				return jfail(j, "unknown escape");
			}
		}
		if (k < cap)
			out[k++] = c;
	}
	if (j->p >= j->end)
		return jfail(j, "string not closed");
	j->p++;
	*n = k;
	return true;
}

static bool jnumber(struct jr *j, uint64_t *v)
{
	uint64_t x = 0;
	bool any = false;

	ws(j);
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = (unsigned)(*j->p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return jfail(j, "number out of range");
		x = x * 10 + d;
		j->p++;
		any = true;
	}
	if (!any)
		return jfail(j, "number expected");
	*v = x;
	return true;
}

static bool jnull(struct jr *j)
{
	ws(j);
	if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
		j->p += 4;
		return true;
	}
	return false;
}

/* One sub-record object into `item`, strings into the record's arena. */
static bool jsubrec(struct jr *j, struct mt_rec *r, const struct mt_rtype_desc *st,
		    uint8_t *item)
{
	uint8_t sbuf[MT_REC_ARENA];

	if (!expect(j, '{'))
		return false;
	if (peek(j, '}')) {
		j->p++;
		return true;
	}
	for (;;) {
		char key[64];
		size_t kl;
		const struct mt_field_desc *sf = NULL;

		if (!jstring(j, (uint8_t *)key, sizeof(key) - 1, &kl))
			return false;
		key[kl] = '\0';
		if (!expect(j, ':'))
			return false;
		for (unsigned k = 0; k < st->nfields; k++)
			if (strcmp(st->fields[k].name, key) == 0)
				sf = &st->fields[k];
		if (!sf)
			return jfail(j, "unknown sub-record field");
		if (jnull(j)) {
			/* absent address, or a list we do not nest */
		} else if (sf->type == MT_FT_STR || sf->type == MT_FT_HEX || sf->type == MT_FT_IP) {
			size_t n;
			struct mt_sref s;

			if (!jstring(j, sbuf, sizeof(sbuf), &n))
				return false;
			if (sf->type == MT_FT_IP) {
				if (!parse_ip((struct mt_ipaddr *)(item + sf->offset), (char *)sbuf, n))
					return jfail(j, "bad address");
			} else if (sf->type == MT_FT_HEX) {
				if (!set_hex(r, &s, (char *)sbuf, n))
					return jfail(j, "bad hex");
				memcpy(item + sf->offset, &s, sizeof(s));
			} else {
				mt_rec_set_str(r, &s, sbuf, n);
				memcpy(item + sf->offset, &s, sizeof(s));
			}
		} else if (sf->type == MT_FT_STRLIST || sf->type == MT_FT_U16LIST ||
			   sf->type == MT_FT_U64LIST || sf->type == MT_FT_SUBLIST) {
			return jfail(j, "nested list");
		} else {
			uint64_t v;

			if (!jnumber(j, &v))
				return false;
			set_uint(item + sf->offset, sf->type, v);
		}
		if (peek(j, ',')) {
			j->p++;
			continue;
		}
		return expect(j, '}');
	}
}

int mt_sql_list_parse(struct mt_rec *r, const struct mt_field_desc *f, const char *p, size_t n,
		      struct mt_lref *out, char *why, size_t whylen)
{
	uint8_t sbuf[MT_REC_ARENA];
	struct jr j = { p, p + n, why, whylen };
	struct mt_lref l = { 0, 0, 0 };

	if (!expect(&j, '['))
		return -EINVAL;
	if (peek(&j, ']')) {
		j.p++;
		goto done;
	}
	for (;;) {
		switch (f->type) {
		case MT_FT_STRLIST: {
			size_t sl;

			if (!jstring(&j, sbuf, sizeof(sbuf), &sl))
				return -EINVAL;
			mt_rec_list_add(r, &l, sbuf, sl);
			break;
		}
		case MT_FT_U16LIST:
		case MT_FT_U64LIST: {
			uint64_t v;

			if (!jnumber(&j, &v))
				return -EINVAL;
			if (f->type == MT_FT_U16LIST)
				mt_rec_list_add_u16(r, &l, (uint16_t)v);
			else
				mt_rec_list_add_u64(r, &l, v);
			break;
		}
		case MT_FT_SUBLIST: {
			uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));

			if (f->sub == 0 || f->sub > MT_SUB__COUNT) {
				snprintf(why, whylen, "list column: unknown sub-record type");
				return -EINVAL;
			}
			memset(item, 0, sizeof(item));
			if (!jnull(&j)) {
				if (!jsubrec(&j, r, &mt_stypes[f->sub - 1], item))
					return -EINVAL;
			}
			/* Whole-size items, as the IPFIX decoder stores them. */
			mt_rec_list_add(r, &l, item, MT_SUB_MAX_SIZE);
			break;
		}
		default:
			snprintf(why, whylen, "list column for a field that is not a list");
			return -EINVAL;
		}
		if (peek(&j, ',')) {
			j.p++;
			continue;
		}
		if (!expect(&j, ']'))
			return -EINVAL;
		break;
	}
done:
	ws(&j);
	if (j.p != j.end) {
		jfail(&j, "trailing bytes");
		return -EINVAL;
	}
	*out = l;
	return 0;
}

int mt_sql_read(sqlite3_stmt *st, int first, enum mt_rtype t, struct mt_rec *r, char *why,
		size_t whylen)
{
	const struct mt_rtype_desc *rt = &mt_rtypes[t];

	mt_rec_init(r, t);
	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		uint8_t *p = (uint8_t *)r + f->offset;
		int col = first + (int)i;
		int ctype = sqlite3_column_type(st, col);
		const char *txt;
		size_t n;
		struct mt_sref s;
		struct mt_lref l;

		if (ctype == SQLITE_NULL)
			continue; /* zero, empty, absent: as mt_rec_init left it */
		switch (f->type) {
		case MT_FT_IP:
			txt = (const char *)sqlite3_column_text(st, col);
			n = (size_t)sqlite3_column_bytes(st, col);
			if (!txt || !parse_ip((struct mt_ipaddr *)p, txt, n)) {
				snprintf(why, whylen, "column %s: not an address", f->name);
				return -EINVAL;
			}
			break;
		case MT_FT_STR:
			/* column_blob gives the stored bytes unchanged. */
			txt = sqlite3_column_blob(st, col);
			n = (size_t)sqlite3_column_bytes(st, col);
			mt_rec_set_str(r, &s, txt, n);
			memcpy(p, &s, sizeof(s));
			break;
		case MT_FT_HEX:
			txt = (const char *)sqlite3_column_text(st, col);
			n = (size_t)sqlite3_column_bytes(st, col);
			if (!txt || !set_hex(r, &s, txt, n)) {
				snprintf(why, whylen, "column %s: not hex", f->name);
				return -EINVAL;
			}
			memcpy(p, &s, sizeof(s));
			break;
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST:
			txt = (const char *)sqlite3_column_text(st, col);
			n = (size_t)sqlite3_column_bytes(st, col);
			if (!txt || mt_sql_list_parse(r, f, txt, n, &l, why, whylen) != 0)
				return -EINVAL;
			memcpy(p, &l, sizeof(l));
			break;
		case MT_FT_TIME:
			set_uint(p, f->type,
				 (uint64_t)sqlite3_column_int64(st, col) * MT_NS_PER_US);
			break;
		default:
			set_uint(p, f->type, (uint64_t)sqlite3_column_int64(st, col));
			break;
		}
	}
	return 0;
}
