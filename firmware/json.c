/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic EVE JSON writer. Objects are opened and closed as the dotted
 * paths of consecutive fields change, so schema.h alone decides the shape;
 * an object whose fields are all omitted is never opened.
 */
#include "json.h"

#include <stdio.h>
#include <time.h>

#include "flow.h"

#define MAX_DEPTH 4

static const char *const tunnel_names[] = {
	[MT_TUNNEL_NONE] = "", [MT_TUNNEL_GRE] = "gre",
	[MT_TUNNEL_ERSPAN2] = "erspan2", [MT_TUNNEL_ERSPAN3] = "erspan3",
	[MT_TUNNEL_VXLAN] = "vxlan",
};

const char *mt_tunnel_name(unsigned t)
{
	return t < MT_ARRAY_SIZE(tunnel_names) ? tunnel_names[t] : "";
}

void mt_json_time(char out[96], uint64_t ns)
{
	time_t sec = (time_t)(ns / MT_NS_PER_SEC);
	unsigned usec = (unsigned)((ns % MT_NS_PER_SEC) / MT_NS_PER_US);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%06u+0000",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, usec);
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values beyond U+10FFFF. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void mt_json_escape(struct mt_buf *b, const uint8_t *p, size_t n)
{
	size_t i = 0, run = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t ul;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80 && (ul = utf8_len(p + i, n - i)) > 0) {
			i += ul;
			run += ul;
			continue;
		}
		mt_buf_put(b, p + i - run, run);
		run = 0;
		switch (c) {
		case '"':
			mt_buf_puts(b, "\\\"");
			break;
		case '\\':
			mt_buf_puts(b, "\\\\");
			break;
		case '\n':
			mt_buf_puts(b, "\\n");
			break;
		case '\r':
			mt_buf_puts(b, "\\r");
			break;
		case '\t':
			mt_buf_puts(b, "\\t");
			break;
		default:
			mt_buf_printf(b, "\\u%04x", c);
			break;
		}
		i++;
	}
	mt_buf_put(b, p + i - run, run);
}

static void put_str(struct mt_buf *b, const char *s)
{
	mt_buf_putc(b, '"');
	mt_json_escape(b, (const uint8_t *)s, strlen(s));
	mt_buf_putc(b, '"');
}

static const char *proto_name(uint8_t p, char tmp[8])
{
	switch (p) {
	case 1:
		return "ICMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 47:
		return "GRE";
	case 58:
		return "IPv6-ICMP";
	default:
		snprintf(tmp, 8, "%u", p);
		return tmp;
	}
}

/* `base` is the record for its own fields, or a sub-record item's copy. */
static uint64_t get_uint(const uint8_t *base, const struct mt_field_desc *f)
{
	return mt_rec_get_uint(base + f->offset, f->type);
}

static bool is_zero(const uint8_t *base, const struct mt_field_desc *f)
{
	const uint8_t *p = base + f->offset;
	struct mt_sref s;
	struct mt_lref l;

	switch (f->type) {
	case MT_FT_IP:
		return ((const struct mt_ipaddr *)p)->ver == 0;
	case MT_FT_STR:
	case MT_FT_HEX:
		memcpy(&s, p, sizeof(s));
		return s.len == 0;
	case MT_FT_STRLIST:
	case MT_FT_U16LIST:
	case MT_FT_U64LIST:
	case MT_FT_SUBLIST:
		memcpy(&l, p, sizeof(l));
		return l.count == 0;
	default:
		return get_uint(base, f) == 0;
	}
}

static void put_value(struct mt_buf *b, const struct mt_rec *r,
		      const uint8_t *base, const struct mt_field_desc *f);

/* A list of sub-records: an array of objects. */
static void put_sublist(struct mt_buf *b, const struct mt_rec *r,
			const struct mt_field_desc *f, struct mt_lref l)
{
	const struct mt_rtype_desc *st;
	uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));
	struct mt_view v;
	uint32_t pos = l.head;

	if (f->sub == 0 || f->sub > MT_SUB__COUNT) {
		mt_buf_puts(b, "[]");
		return;
	}
	st = &mt_stypes[f->sub - 1];
	mt_buf_putc(b, '[');
	for (uint32_t i = 0; i < l.count && mt_rec_list_next(r, &pos, &v); i++) {
		bool first = true;

		memset(item, 0, sizeof(item));
		memcpy(item, v.p, MT_MIN(v.len, sizeof(item)));
		if (i)
			mt_buf_putc(b, ',');
		mt_buf_putc(b, '{');
		for (unsigned k = 0; k < st->nfields; k++) {
			const struct mt_field_desc *sf = &st->fields[k];

			if (is_zero(item, sf) &&
			    ((sf->flags & MT_FF_OMIT_ZERO) || sf->type == MT_FT_IP))
				continue;
			if (!first)
				mt_buf_putc(b, ',');
			first = false;
			mt_buf_printf(b, "\"%s\":", sf->json);
			put_value(b, r, item, sf);
		}
		mt_buf_putc(b, '}');
	}
	mt_buf_putc(b, ']');
}

static void put_value(struct mt_buf *b, const struct mt_rec *r,
		      const uint8_t *base, const struct mt_field_desc *f)
{
	const uint8_t *p = base + f->offset;
	char tmp[96];
	struct mt_sref s;
	struct mt_lref l;
	struct mt_view v;
	uint32_t pos;

	switch (f->type) {
	case MT_FT_U8:
	case MT_FT_U16:
	case MT_FT_U32:
	case MT_FT_U64:
		mt_buf_printf(b, "%llu", (unsigned long long)get_uint(base, f));
		break;
	case MT_FT_BOOL:
		mt_buf_puts(b, *p ? "true" : "false");
		break;
	case MT_FT_TIME:
		mt_json_time(tmp, get_uint(base, f));
		put_str(b, tmp);
		break;
	case MT_FT_FLAGS8:
		mt_buf_printf(b, "\"%02x\"", *p);
		break;
	case MT_FT_PROTO:
		put_str(b, proto_name(*p, tmp));
		break;
	case MT_FT_APP:
		put_str(b, mt_app_name(*p));
		break;
	case MT_FT_REASON:
		put_str(b, mt_flow_reason_name(*p));
		break;
	case MT_FT_TUNNEL:
		put_str(b, mt_tunnel_name(*p));
		break;
	case MT_FT_IP: {
		const struct mt_ipaddr *ip = (const struct mt_ipaddr *)p;

		mt_addr_format(ip->a, ip->ver, tmp, sizeof(tmp));
		put_str(b, tmp);
		break;
	}
	case MT_FT_STR:
		memcpy(&s, p, sizeof(s));
		if (s.off > MT_REC_ARENA || s.len > MT_REC_ARENA - s.off)
			s.len = 0; /* defensive: a corrupt reference prints empty */
		mt_buf_putc(b, '"');
		mt_json_escape(b, r->arena + s.off, s.len);
		mt_buf_putc(b, '"');
		break;
	case MT_FT_HEX:
		memcpy(&s, p, sizeof(s));
		if (s.off > MT_REC_ARENA || s.len > MT_REC_ARENA - s.off)
			s.len = 0;
		mt_buf_putc(b, '"');
		for (uint32_t i = 0; i < s.len; i++)
			mt_buf_printf(b, "%02x", r->arena[s.off + i]);
		mt_buf_putc(b, '"');
		break;
	case MT_FT_SUBLIST:
		memcpy(&l, p, sizeof(l));
		put_sublist(b, r, f, l);
		break;
	case MT_FT_STRLIST:
	case MT_FT_U16LIST:
	case MT_FT_U64LIST:
		memcpy(&l, p, sizeof(l));
		mt_buf_putc(b, '[');
		pos = l.head;
		for (uint32_t i = 0; i < l.count && mt_rec_list_next(r, &pos, &v); i++) {
			if (i)
				mt_buf_putc(b, ',');
			if (f->type == MT_FT_U64LIST) {
				mt_buf_printf(b, "%llu", v.len == 8 ?
					      (unsigned long long)mt_load_be64(v.p) : 0ull);
			} else if (f->type == MT_FT_U16LIST) {
				mt_buf_printf(b, "%u", v.len == 2 ? mt_load_be16(v.p) : 0);
			} else {
				mt_buf_putc(b, '"');
				mt_json_escape(b, v.p, v.len);
				mt_buf_putc(b, '"');
			}
		}
		mt_buf_putc(b, ']');
		break;
	default:
		mt_buf_puts(b, "null");
		break;
	}
}

struct nest {
	const char *name[MAX_DEPTH];
	size_t len[MAX_DEPTH];
	unsigned depth;          /* objects open below the top level */
	bool need_comma[MAX_DEPTH + 1];
};

static void key(struct mt_buf *b, struct nest *n, const char *k, size_t klen)
{
	if (n->need_comma[n->depth])
		mt_buf_putc(b, ',');
	n->need_comma[n->depth] = true;
	mt_buf_putc(b, '"');
	mt_buf_put(b, k, klen);
	mt_buf_puts(b, "\":");
}

/* Makes the open objects match the path's parents; returns the leaf key. */
static const char *enter_path(struct mt_buf *b, struct nest *n,
			      const char *path, size_t *leaf_len)
{
	const char *comp[MAX_DEPTH + 1];
	size_t clen[MAX_DEPTH + 1];
	unsigned nc = 0, common = 0;
	const char *s = path;

	while (nc < MAX_DEPTH) {
		const char *dot = strchr(s, '.');

		if (!dot)
			break;
		comp[nc] = s;
		clen[nc] = (size_t)(dot - s);
		nc++;
		s = dot + 1;
	}
	while (common < nc && common < n->depth && clen[common] == n->len[common] &&
	       memcmp(comp[common], n->name[common], clen[common]) == 0)
		common++;
	while (n->depth > common) {
		mt_buf_putc(b, '}');
		n->depth--;
	}
	while (n->depth < nc) {
		key(b, n, comp[n->depth], clen[n->depth]);
		mt_buf_putc(b, '{');
		n->name[n->depth] = comp[n->depth];
		n->len[n->depth] = clen[n->depth];
		n->depth++;
		n->need_comma[n->depth] = false;
	}
	*leaf_len = strlen(s);
	return s;
}

void mt_json_record(struct mt_buf *b, const struct mt_rec *r)
{
	const struct mt_rtype_desc *rt;
	struct nest n;
	bool typed = false;

	if (r->type >= MT_REC__COUNT)
		return;
	rt = &mt_rtypes[r->type];
	memset(&n, 0, sizeof(n));
	mt_buf_putc(b, '{');
	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		const char *leaf;
		size_t ll;

		if (!typed && strcmp(f->json, "timestamp") != 0 &&
		    strcmp(f->json, "flow_id") != 0) {
			enter_path(b, &n, "event_type", &ll);
			key(b, &n, "event_type", 10);
			put_str(b, rt->name);
			typed = true;
		}
		if (is_zero((const uint8_t *)r, f) &&
		    ((f->flags & MT_FF_OMIT_ZERO) || f->type == MT_FT_IP))
			continue;
		leaf = enter_path(b, &n, f->json, &ll);
		key(b, &n, leaf, ll);
		put_value(b, r, (const uint8_t *)r, f);
	}
	if (!typed) {
		key(b, &n, "event_type", 10);
		put_str(b, rt->name);
	}
	while (n.depth > 0) {
		mt_buf_putc(b, '}');
		n.depth--;
	}
	mt_buf_puts(b, "}\n");
}
