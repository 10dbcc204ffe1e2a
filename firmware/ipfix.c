/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX codec generated from the schema (see ipfix.h). Encoding writes
 * through a bounds-checked cursor and rolls back a record that does not
 * fit; decoding checks every length against what is left of its set before
 * reading, so a hostile message can only be rejected, never over-read.
 */
#include "ipfix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define NTP_UNIX_OFFSET 2208988800ull
#define LIST_SEMANTIC_ORDERED 4
#define MAX_TEMPLATE_FIELDS 1024

enum { V4 = 0, V6 = 1, NOIP = 2 };

/* ---- shared helpers ---- */

static bool rtype_has_ip(const struct mt_rtype_desc *rt)
{
	for (unsigned i = 0; i < rt->nfields; i++)
		if (rt->fields[i].type == MT_FT_IP)
			return true;
	return false;
}

static uint16_t fixed_len(uint8_t type, int variant)
{
	switch (type) {
	case MT_FT_U8:
	case MT_FT_BOOL:
	case MT_FT_FLAGS8:
	case MT_FT_PROTO:
	case MT_FT_APP:
	case MT_FT_REASON:
	case MT_FT_TUNNEL:
		return 1;
	case MT_FT_U16:
		return 2;
	case MT_FT_U32:
		return 4;
	case MT_FT_U64:
	case MT_FT_TIME:
		return 8;
	case MT_FT_IP:
		return variant == V6 ? 16 : variant == V4 ? 4 : 0;
	default:
		return MT_IPFIX_VARLEN;
	}
}

static bool is_list(uint8_t type)
{
	return type == MT_FT_STRLIST || type == MT_FT_U16LIST || type == MT_FT_U64LIST ||
	       type == MT_FT_SUBLIST;
}

static uint32_t pen_of(const struct mt_field_desc *f, uint32_t pen)
{
	switch (f->pen) {
	case MT_PEN_MT:
		return pen;
	case MT_PEN_REV:
		return MT_IPFIX_PEN_REVERSE;
	default:
		return 0;
	}
}

/* IANA address elements have a separate IPv6 number. */
static uint16_t ip_ie(uint16_t ie, uint32_t pen, int variant)
{
	if (pen == 0 && variant == V6) {
		if (ie == 8)
			return 27;
		if (ie == 12)
			return 28;
	}
	return ie;
}

/* ---- encoder ---- */

struct cur {
	uint8_t *p;
	uint8_t *end;
	bool ok;
};

static void put(struct cur *c, const void *v, size_t n)
{
	if (!c->ok || (size_t)(c->end - c->p) < n) {
		c->ok = false;
		return;
	}
	memcpy(c->p, v, n);
	c->p += n;
}

static void put8(struct cur *c, uint8_t v)
{
	put(c, &v, 1);
}

static void put16(struct cur *c, uint16_t v)
{
	uint8_t b[2];

	mt_store_be16(b, v);
	put(c, b, 2);
}

static void put32(struct cur *c, uint32_t v)
{
	uint8_t b[4];

	mt_store_be32(b, v);
	put(c, b, 4);
}

static void put64(struct cur *c, uint64_t v)
{
	uint8_t b[8];

	mt_store_be64(b, v);
	put(c, b, 8);
}

static void put_varlen(struct cur *c, const void *v, size_t n)
{
	if (n > 65535) {
		c->ok = false;
		return;
	}
	if (n < 255) {
		put8(c, (uint8_t)n);
	} else {
		put8(c, 255);
		put16(c, (uint16_t)n);
	}
	put(c, v, n);
}

/* dateTimeMicroseconds: NTP format with the fraction in units of 2^-21 s
 * (RFC 7011 6.1.9: the low 11 bits are zero). Rounding up makes the
 * microseconds come back exactly. */
static uint64_t ns_to_ntp_us(uint64_t ns)
{
	uint64_t sec = ns / MT_NS_PER_SEC;
	uint64_t us = (ns % MT_NS_PER_SEC) / MT_NS_PER_US;
	uint64_t q = (us * (1ull << 21) + 999999) / 1000000;

	return (sec + NTP_UNIX_OFFSET) << 32 | (q << 11);
}

static uint64_t ntp_us_to_ns(uint64_t ntp)
{
	uint64_t sec = ntp >> 32, frac = (ntp & 0xffffffffull) >> 11;
	uint64_t us = frac * 1000000 >> 21;

	if (sec < NTP_UNIX_OFFSET)
		return 0;
	return (sec - NTP_UNIX_OFFSET) * MT_NS_PER_SEC + us * MT_NS_PER_US;
}

static void set_u(uint8_t *p, uint8_t type, uint64_t v)
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

static void enc_fields(struct cur *c, const struct mt_rec *r, const uint8_t *base,
		       const struct mt_rtype_desc *rt, int variant, uint32_t pen);

static void enc_list(struct cur *c, const struct mt_rec *r,
		     const struct mt_field_desc *f, struct mt_lref l, uint32_t pen)
{
	uint8_t *lenp;
	uint8_t *start;
	struct mt_view v;
	uint32_t pos = l.head;
	uint32_t fpen = pen_of(f, pen);

	/* Three-byte length form: the list's size is known only once written. */
	put8(c, 255);
	lenp = c->p;
	put16(c, 0);
	start = c->p;
	put8(c, LIST_SEMANTIC_ORDERED);
	if (f->type == MT_FT_SUBLIST) {
		const struct mt_rtype_desc *st = &mt_stypes[f->sub - 1];
		uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));

		put16(c, st->template_id);
		for (uint32_t i = 0; i < l.count && mt_rec_list_next(r, &pos, &v); i++) {
			memset(item, 0, sizeof(item));
			memcpy(item, v.p, MT_MIN(v.len, sizeof(item)));
			enc_fields(c, r, item, st, V4, pen);
		}
	} else {
		put16(c, (uint16_t)(f->ie | (fpen ? 0x8000 : 0)));
		put16(c, f->type == MT_FT_U16LIST ? 2 : f->type == MT_FT_U64LIST ? 8 :
						    MT_IPFIX_VARLEN);
		if (fpen)
			put32(c, fpen);
		for (uint32_t i = 0; i < l.count && mt_rec_list_next(r, &pos, &v); i++) {
			if (f->type == MT_FT_U16LIST)
				put16(c, v.len == 2 ? mt_load_be16(v.p) : 0);
			else if (f->type == MT_FT_U64LIST)
				put64(c, v.len == 8 ? mt_load_be64(v.p) : 0);
			else
				put_varlen(c, v.p, v.len);
		}
	}
	if (c->ok) {
		size_t n = (size_t)(c->p - start);

		if (n > 65535)
			c->ok = false;
		else
			mt_store_be16(lenp, (uint16_t)n);
	}
}

static void enc_fields(struct cur *c, const struct mt_rec *r, const uint8_t *base,
		       const struct mt_rtype_desc *rt, int variant, uint32_t pen)
{
	for (unsigned i = 0; i < rt->nfields && c->ok; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		const uint8_t *p = base + f->offset;
		struct mt_sref s;
		struct mt_lref l;

		switch (f->type) {
		case MT_FT_U8:
		case MT_FT_FLAGS8:
		case MT_FT_PROTO:
		case MT_FT_APP:
		case MT_FT_REASON:
		case MT_FT_TUNNEL:
			put8(c, *p);
			break;
		case MT_FT_BOOL:
			put8(c, *p ? 1 : 2); /* RFC 7011 boolean */
			break;
		case MT_FT_U16:
			put16(c, (uint16_t)mt_rec_get_uint(p, f->type));
			break;
		case MT_FT_U32:
			put32(c, (uint32_t)mt_rec_get_uint(p, f->type));
			break;
		case MT_FT_U64:
			put64(c, mt_rec_get_uint(p, f->type));
			break;
		case MT_FT_TIME:
			put64(c, ns_to_ntp_us(mt_rec_get_uint(p, f->type)));
			break;
		case MT_FT_IP: {
			const struct mt_ipaddr *ip = (const struct mt_ipaddr *)p;

			if (variant == V4)
				put(c, ip->a, 4);
			else if (variant == V6)
				put(c, ip->a, 16);
			break;
		}
		case MT_FT_STR:
		case MT_FT_HEX:
			memcpy(&s, p, sizeof(s));
			if (s.off > MT_REC_ARENA || s.len > MT_REC_ARENA - s.off)
				s.len = 0;
			put_varlen(c, r->arena + s.off, s.len);
			break;
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST:
			memcpy(&l, p, sizeof(l));
			enc_list(c, r, f, l, pen);
			break;
		default:
			c->ok = false;
			break;
		}
	}
}

static void close_set(struct mt_ipfix_enc *e)
{
	if (e->set_off) {
		mt_store_be16(e->buf + e->set_off + 2, (uint16_t)(e->len - e->set_off));
		e->set_off = 0;
		e->set_id = 0;
	}
}

void mt_ipfix_begin(struct mt_ipfix_enc *e, uint8_t *buf, size_t cap,
		    uint32_t domain, uint32_t pen, uint32_t export_time,
		    uint32_t seq)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->cap = MT_MIN(cap, (size_t)MT_IPFIX_MSG_MAX);
	e->pen = pen;
	if (e->cap < MT_IPFIX_HDR_LEN)
		return;
	mt_store_be16(buf, MT_IPFIX_VERSION);
	mt_store_be16(buf + 2, 0);
	mt_store_be32(buf + 4, export_time);
	mt_store_be32(buf + 8, seq);
	mt_store_be32(buf + 12, domain);
	e->len = MT_IPFIX_HDR_LEN;
}

static int variant_of(const struct mt_rec *r, const struct mt_rtype_desc *rt)
{
	for (unsigned i = 0; i < rt->nfields; i++)
		if (rt->fields[i].type == MT_FT_IP) {
			const struct mt_ipaddr *ip =
				(const struct mt_ipaddr *)((const uint8_t *)r + rt->fields[i].offset);

			return ip->ver == 6 ? V6 : ip->ver == 4 ? V4 : NOIP;
		}
	return V4;
}

int mt_ipfix_record(struct mt_ipfix_enc *e, const struct mt_rec *r)
{
	const struct mt_rtype_desc *rt;
	struct cur c;
	size_t save_len = e->len, save_set = e->set_off;
	uint16_t save_id = e->set_id, tid;
	int variant;

	if (r->type >= MT_REC__COUNT || e->len < MT_IPFIX_HDR_LEN)
		return -EINVAL;
	rt = &mt_rtypes[r->type];
	variant = variant_of(r, rt);
	tid = (uint16_t)(rt->template_id + (variant == V6 ? MT_IPFIX_TID_V6 :
					    variant == NOIP ? MT_IPFIX_TID_NOIP : 0));
	c.p = e->buf + e->len;
	c.end = e->buf + e->cap;
	c.ok = true;
	if (e->set_id != tid) {
		close_set(e);
		e->set_off = e->len;
		e->set_id = tid;
		put16(&c, tid);
		put16(&c, 0);
	}
	enc_fields(&c, r, (const uint8_t *)r, rt, variant, e->pen);
	if (!c.ok) {
		e->len = save_len;
		e->set_off = save_set;
		e->set_id = save_id;
		return -ENOSPC;
	}
	e->len = (size_t)(c.p - e->buf);
	e->nrec++;
	return 0;
}

static void put_template(struct cur *c, const struct mt_rtype_desc *rt, uint16_t tid,
			 int variant, uint32_t pen)
{
	uint16_t n = 0;

	for (unsigned i = 0; i < rt->nfields; i++)
		if (!(rt->fields[i].type == MT_FT_IP && variant == NOIP))
			n++;
	put16(c, tid);
	put16(c, n);
	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		uint32_t fpen = pen_of(f, pen);
		uint16_t ie = f->ie;

		if (f->type == MT_FT_IP && variant == NOIP)
			continue;
		if (is_list(f->type)) {
			/* The element inside the list carries the field's own id. */
			put16(c, f->type == MT_FT_SUBLIST ? MT_IPFIX_IE_SUBTEMPLATELIST :
							     MT_IPFIX_IE_BASICLIST);
			put16(c, MT_IPFIX_VARLEN);
			continue;
		}
		if (f->type == MT_FT_IP)
			ie = ip_ie(ie, fpen, variant);
		put16(c, (uint16_t)(ie | (fpen ? 0x8000 : 0)));
		put16(c, fixed_len(f->type, variant));
		if (fpen)
			put32(c, fpen);
	}
}

void mt_ipfix_ie_name(const char *json_path, char *out, size_t outlen)
{
	size_t o = 0;
	bool up = false;

	for (const char *p = json_path; *p && o + 1 < outlen; p++) {
		if (*p == '.' || *p == '_') {
			up = true;
			continue;
		}
		out[o++] = (char)(up && *p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		up = false;
	}
	if (outlen)
		out[o] = '\0';
}

/* RFC 5610 information element type of a field. */
static uint8_t ie_datatype(uint8_t type)
{
	switch (type) {
	case MT_FT_U16:
		return 2;   /* unsigned16 */
	case MT_FT_U32:
		return 3;   /* unsigned32 */
	case MT_FT_U64:
		return 4;   /* unsigned64 */
	case MT_FT_BOOL:
		return 7;   /* boolean */
	case MT_FT_TIME:
		return 16;  /* dateTimeMicroseconds */
	case MT_FT_IP:
		return 19;  /* ipv6Address (16-byte variant) */
	case MT_FT_STR:
	case MT_FT_STRLIST:
		return 13;  /* string */
	case MT_FT_U64LIST:
		return 4;   /* unsigned64 elements */
	case MT_FT_HEX:
		return 0;   /* octetArray */
	default:
		return 1;   /* unsigned8 */
	}
}

static void put_typeinfo(struct cur *c, const struct mt_field_desc *f, uint32_t pen)
{
	char name[96];
	uint8_t rec[200];
	struct cur t = { rec, rec + sizeof(rec), true };

	mt_ipfix_ie_name(f->json, name, sizeof(name));
	put32(&t, pen);
	put16(&t, f->ie);
	put8(&t, ie_datatype(f->type));
	put8(&t, f->type == MT_FT_U64 && strncmp(f->json, "stats.", 6) == 0 ? 2 : 0);
	put16(&t, 0);
	put64(&t, 0);
	put64(&t, 0);
	put_varlen(&t, name, strlen(name));
	put_varlen(&t, f->json, strlen(f->json));
	put(c, rec, (size_t)(t.p - rec));
}

int mt_ipfix_templates(struct mt_ipfix_enc *e, bool typeinfo)
{
	struct cur c = { e->buf + e->len, e->buf + e->cap, true };
	uint8_t *set;

	close_set(e);
	/* Type records first, so that a reader learns the names before it
	 * meets the templates that use them. */
	if (c.ok && typeinfo) {
		/* Options template: scope PEN + element id; type, semantics, name. */
		set = c.p;
		put16(&c, MT_IPFIX_SET_OPTIONS);
		put16(&c, 0);
		put16(&c, MT_IPFIX_TYPEINFO_TID);
		put16(&c, 9);
		put16(&c, 2);
		put16(&c, 346); put16(&c, 4);   /* privateEnterpriseNumber */
		put16(&c, 303); put16(&c, 2);   /* informationElementId */
		put16(&c, 339); put16(&c, 1);   /* informationElementDataType */
		put16(&c, 344); put16(&c, 1);   /* informationElementSemantics */
		put16(&c, 345); put16(&c, 2);   /* informationElementUnits */
		put16(&c, 342); put16(&c, 8);   /* informationElementRangeBegin */
		put16(&c, 343); put16(&c, 8);   /* informationElementRangeEnd */
		put16(&c, 341); put16(&c, MT_IPFIX_VARLEN); /* informationElementName */
		put16(&c, 340); put16(&c, MT_IPFIX_VARLEN); /* informationElementDescription */
		if (c.ok)
			mt_store_be16(set + 2, (uint16_t)(c.p - set));
		set = c.p;
		put16(&c, MT_IPFIX_TYPEINFO_TID);
		put16(&c, 0);
		for (unsigned t = 0; t < MT_REC__COUNT; t++)
			for (unsigned i = 0; i < mt_rtypes[t].nfields; i++) {
				const struct mt_field_desc *f = &mt_rtypes[t].fields[i];
				bool dup = false;

				if (f->pen != MT_PEN_MT)
					continue;
				/* Shared fields (app_proto) are described once. */
				for (unsigned u = 0; u < t && !dup; u++)
					for (unsigned k = 0; k < mt_rtypes[u].nfields; k++)
						if (mt_rtypes[u].fields[k].pen == MT_PEN_MT &&
						    mt_rtypes[u].fields[k].ie == f->ie)
							dup = true;
				if (!dup) {
					put_typeinfo(&c, f, e->pen);
					e->nrec++;
				}
			}
		for (unsigned s = 0; s < MT_SUB__COUNT; s++)
			for (unsigned i = 0; i < mt_stypes[s].nfields; i++) {
				put_typeinfo(&c, &mt_stypes[s].fields[i], e->pen);
				e->nrec++;
			}
		if (c.ok)
			mt_store_be16(set + 2, (uint16_t)(c.p - set));
	}
	set = c.p;
	put16(&c, MT_IPFIX_SET_TEMPLATE);
	put16(&c, 0);
	for (unsigned s = 0; s < MT_SUB__COUNT; s++)
		put_template(&c, &mt_stypes[s], mt_stypes[s].template_id, V4, e->pen);
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		const struct mt_rtype_desc *rt = &mt_rtypes[t];

		put_template(&c, rt, rt->template_id, V4, e->pen);
		if (rtype_has_ip(rt)) {
			put_template(&c, rt, (uint16_t)(rt->template_id + MT_IPFIX_TID_V6), V6, e->pen);
			put_template(&c, rt, (uint16_t)(rt->template_id + MT_IPFIX_TID_NOIP), NOIP,
				     e->pen);
		}
	}
	if (c.ok)
		mt_store_be16(set + 2, (uint16_t)(c.p - set));
	if (!c.ok)
		return -ENOSPC;
	e->len = (size_t)(c.p - e->buf);
	return 0;
}

size_t mt_ipfix_end(struct mt_ipfix_enc *e)
{
	close_set(e);
	if (e->len >= MT_IPFIX_HDR_LEN)
		mt_store_be16(e->buf + 2, (uint16_t)e->len);
	return e->len;
}

/* ---- decoder ---- */

struct tfield {
	uint16_t ie;
	uint16_t len;
	uint32_t pen;
	int16_t map;       /* schema field index, -1 unknown (skipped) */
};

struct mt_ipfix_tmpl {
	uint32_t domain;
	uint16_t id;
	uint16_t n;
	int16_t rtype;     /* enum mt_rtype, or -1 - enum mt_stype for sub-records, or INT16_MIN */
	uint8_t variant;
	uint32_t min_len;  /* shortest possible record */
	struct tfield f[];
};

void mt_ipfix_dec_init(struct mt_ipfix_dec *d, uint32_t pen)
{
	memset(d, 0, sizeof(*d));
	d->pen = pen;
}

void mt_ipfix_dec_free(struct mt_ipfix_dec *d)
{
	for (unsigned i = 0; i < d->ntmpl; i++)
		free(d->tmpl[i]);
	d->ntmpl = 0;
}

static struct mt_ipfix_tmpl *find_tmpl(struct mt_ipfix_dec *d, uint32_t domain,
				       uint16_t id, unsigned *idx)
{
	for (unsigned i = 0; i < d->ntmpl; i++)
		if (d->tmpl[i]->id == id && d->tmpl[i]->domain == domain) {
			if (idx)
				*idx = i;
			return d->tmpl[i];
		}
	return NULL;
}

#define FAIL(...)                                        \
	do {                                             \
		snprintf(why, whylen, __VA_ARGS__);      \
		return -1;                               \
	} while (0)

long mt_ipfix_msg_len(const uint8_t *p, size_t n)
{
	uint16_t len;

	if (n < MT_IPFIX_HDR_LEN)
		return 0;
	len = mt_load_be16(p + 2);
	if (mt_load_be16(p) != MT_IPFIX_VERSION || len < MT_IPFIX_HDR_LEN)
		return -1;
	return len;
}

/* Which schema field a template field feeds. */
static int16_t map_field(const struct mt_rtype_desc *rt, uint16_t ie, uint32_t pen,
			 uint32_t our_pen, uint16_t len)
{
	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		uint32_t fpen = pen_of(f, our_pen);

		if (is_list(f->type))
			continue; /* matched by content at decode time */
		if (fpen != pen)
			continue;
		if (f->type == MT_FT_IP) {
			if (len != 4 && len != 16)
				continue;
			if (ie == f->ie || (pen == 0 && ie == ip_ie(f->ie, 0, V6)))
				return (int16_t)i;
			continue;
		}
		if (f->ie == ie)
			return (int16_t)i;
	}
	return -1;
}

/* Field length allowed for a schema type (reduced-size encoding of
 * unsigned numbers is accepted, RFC 7011 6.2). */
static bool len_ok(uint8_t type, uint16_t len)
{
	switch (type) {
	case MT_FT_U8:
	case MT_FT_BOOL:
	case MT_FT_FLAGS8:
	case MT_FT_PROTO:
	case MT_FT_APP:
	case MT_FT_REASON:
	case MT_FT_TUNNEL:
		return len == 1;
	case MT_FT_U16:
		return len >= 1 && len <= 2;
	case MT_FT_U32:
		return len >= 1 && len <= 4;
	case MT_FT_U64:
		return len >= 1 && len <= 8;
	case MT_FT_TIME:
		return len == 8;
	case MT_FT_IP:
		return len == 4 || len == 16;
	case MT_FT_STR:
	case MT_FT_HEX:
		return true;
	default:
		return false;
	}
}

static int add_template(struct mt_ipfix_dec *d, uint32_t domain, const uint8_t *p,
			size_t n, size_t *used, bool options, char *why, size_t whylen)
{
	uint16_t id, count, scope = 0;
	size_t off = 4;
	struct mt_ipfix_tmpl *t;
	unsigned old;
	int rt_idx = INT16_MIN;
	int variant = V4;

	if (n < 4)
		FAIL("template record header cut short");
	id = mt_load_be16(p);
	count = mt_load_be16(p + 2);
	if (id < 256)
		FAIL("template id %u below 256", id);
	if (count == 0) {
		/* Withdrawal (RFC 7011 8.1). */
		if (find_tmpl(d, domain, id, &old)) {
			free(d->tmpl[old]);
			d->tmpl[old] = d->tmpl[--d->ntmpl];
		}
		*used = 4;
		return 0;
	}
	if (options) {
		if (n < 6)
			FAIL("options template header cut short");
		scope = mt_load_be16(p + 4);
		off = 6;
		if (scope == 0 || scope > count)
			FAIL("options template %u: scope count %u of %u", id, scope, count);
	}
	if (count > MAX_TEMPLATE_FIELDS)
		FAIL("template %u has %u fields (cap %u)", id, count, MAX_TEMPLATE_FIELDS);
	t = calloc(1, sizeof(*t) + count * sizeof(struct tfield));
	if (!t)
		FAIL("out of memory");
	t->domain = domain;
	t->id = id;
	t->n = count;
	if (!options) {
		for (unsigned r = 0; r < MT_REC__COUNT; r++) {
			uint16_t base = mt_rtypes[r].template_id;

			if (id == base)
				rt_idx = (int)r;
			else if (id == base + MT_IPFIX_TID_V6)
				rt_idx = (int)r, variant = V6;
			else if (id == base + MT_IPFIX_TID_NOIP)
				rt_idx = (int)r, variant = NOIP;
		}
		for (unsigned s = 0; s < MT_SUB__COUNT; s++)
			if (id == mt_stypes[s].template_id)
				rt_idx = -1 - (int)s;
	}
	t->rtype = (int16_t)rt_idx;
	t->variant = (uint8_t)variant;
	for (unsigned i = 0; i < count; i++) {
		struct tfield *tf = &t->f[i];

		if (n - off < 4) {
			free(t);
			FAIL("template %u: field %u cut short", id, i);
		}
		tf->ie = mt_load_be16(p + off) & 0x7fff;
		tf->len = mt_load_be16(p + off + 2);
		if (mt_load_be16(p + off) & 0x8000) {
			if (n - off < 8) {
				free(t);
				FAIL("template %u: enterprise number of field %u cut short", id, i);
			}
			tf->pen = mt_load_be32(p + off + 4);
			off += 8;
		} else {
			off += 4;
		}
		if (tf->len == 0) {
			free(t);
			FAIL("template %u: field %u has length 0", id, i);
		}
		t->min_len += tf->len == MT_IPFIX_VARLEN ? 1 : tf->len;
		tf->map = -1;
		if (rt_idx != INT16_MIN && tf->len != MT_IPFIX_VARLEN &&
		    !(tf->pen == 0 && (tf->ie == MT_IPFIX_IE_BASICLIST ||
				       tf->ie == MT_IPFIX_IE_SUBTEMPLATELIST))) {
			const struct mt_rtype_desc *rt =
				rt_idx >= 0 ? &mt_rtypes[rt_idx] : &mt_stypes[-1 - rt_idx];

			tf->map = map_field(rt, tf->ie, tf->pen, d->pen, tf->len);
			if (tf->map >= 0 && !len_ok(rt->fields[tf->map].type, tf->len)) {
				uint16_t bad_ie = tf->ie, bad_len = tf->len;

				free(t);
				FAIL("template %u: element %u with length %u", id, bad_ie, bad_len);
			}
		} else if (rt_idx != INT16_MIN && tf->len == MT_IPFIX_VARLEN) {
			const struct mt_rtype_desc *rt =
				rt_idx >= 0 ? &mt_rtypes[rt_idx] : &mt_stypes[-1 - rt_idx];

			tf->map = map_field(rt, tf->ie, tf->pen, d->pen, tf->len);
			if (tf->map >= 0 && rt->fields[tf->map].type != MT_FT_STR &&
			    rt->fields[tf->map].type != MT_FT_HEX) {
				uint16_t bad_ie = tf->ie;

				free(t);
				FAIL("template %u: element %u cannot be variable-length", id, bad_ie);
			}
		}
	}
	if (find_tmpl(d, domain, id, &old)) {
		free(d->tmpl[old]);
		d->tmpl[old] = t;
	} else if (d->ntmpl < MT_ARRAY_SIZE(d->tmpl)) {
		d->tmpl[d->ntmpl++] = t;
	} else {
		free(t);
		FAIL("more than %zu templates in one session", MT_ARRAY_SIZE(d->tmpl));
	}
	*used = off;
	return 0;
}

/* Reads a variable-length field's length prefix. */
static int varlen(const uint8_t *p, size_t n, size_t *hdr, size_t *len)
{
	if (n < 1)
		return -1;
	if (p[0] < 255) {
		*hdr = 1;
		*len = p[0];
	} else {
		if (n < 3)
			return -1;
		*hdr = 3;
		*len = mt_load_be16(p + 1);
	}
	return *len <= n - *hdr ? 0 : -1;
}

static int decode_fields(struct mt_ipfix_dec *d, struct mt_rec *r, uint8_t *base,
			 size_t base_size, const struct mt_ipfix_tmpl *t, const uint8_t *p,
			 size_t n, size_t *used, unsigned depth, char *why, size_t whylen);

/* Bytes a decoded field of a schema type occupies at its offset. */
static size_t dest_size(uint8_t type)
{
	switch (type) {
	case MT_FT_U16:
		return sizeof(uint16_t);
	case MT_FT_U32:
		return sizeof(uint32_t);
	case MT_FT_U64:
	case MT_FT_TIME:
		return sizeof(uint64_t);
	case MT_FT_IP:
		return sizeof(struct mt_ipaddr);
	case MT_FT_STR:
	case MT_FT_HEX:
		return sizeof(struct mt_sref);
	case MT_FT_STRLIST:
	case MT_FT_U16LIST:
	case MT_FT_U64LIST:
	case MT_FT_SUBLIST:
		return sizeof(struct mt_lref);
	default:
		return 1;
	}
}

/*
 * Whether field `f` lies inside a destination of `size` bytes. The schema
 * guarantees it for the record type a template was matched to; checked
 * anyway, so that a template matched to the wrong destination (a
 * top-level record's fields written into a sub-record's buffer) can only
 * be refused.
 */
static bool dest_fits(const struct mt_field_desc *f, size_t size)
{
	return f->offset <= size && size - f->offset >= dest_size(f->type);
}

static const struct mt_rtype_desc *tmpl_rt(const struct mt_ipfix_tmpl *t)
{
	if (t->rtype == INT16_MIN)
		return NULL;
	return t->rtype >= 0 ? &mt_rtypes[t->rtype] : &mt_stypes[-1 - t->rtype];
}

static int decode_list(struct mt_ipfix_dec *d, struct mt_rec *r, uint8_t *base,
		       size_t base_size, const struct mt_rtype_desc *rt,
		       const struct mt_ipfix_tmpl *t, uint16_t list_ie, const uint8_t *p,
		       size_t n, unsigned depth, char *why, size_t whylen)
{
	size_t off;

	if (depth > 2)
		FAIL("lists nested too deep");
	if (list_ie == MT_IPFIX_IE_SUBTEMPLATELIST) {
		const struct mt_ipfix_tmpl *st;
		const struct mt_field_desc *f = NULL;
		const struct mt_rtype_desc *srt;
		uint16_t tid;

		if (n < 3)
			FAIL("subTemplateList header cut short");
		tid = mt_load_be16(p + 1);
		st = find_tmpl(d, t->domain, tid, NULL);
		if (!st)
			FAIL("subTemplateList of unknown template %u", tid);
		/*
		 * Items are decoded into a sub-record buffer with the offsets
		 * of the named template's record type: only a sub-record
		 * type that a list field of this record takes fits there. A
		 * top-level record's template (its offsets are within struct
		 * mt_rec) would write far past the buffer.
		 */
		if (st->rtype >= 0 || st->rtype == INT16_MIN)
			FAIL("template %u: subTemplateList of template %u, which is not a "
			     "sub-record template", t->id, tid);
		for (unsigned i = 0; rt && i < rt->nfields; i++)
			if (rt->fields[i].type == MT_FT_SUBLIST &&
			    rt->fields[i].sub == -st->rtype)
				f = &rt->fields[i];
		srt = &mt_stypes[-1 - st->rtype];
		if (!f)
			FAIL("template %u: subTemplateList of template %u (%s), which no "
			     "list field of %s takes", t->id, tid, srt->name,
			     rt ? rt->name : "this unknown template");
		if (!dest_fits(f, base_size))
			FAIL("template %u: list field %s outside its record", t->id, f->name);
		off = 3;
		while (off < n) {
			uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));
			struct mt_lref l;
			size_t u;

			memset(item, 0, sizeof(item));
			if (decode_fields(d, r, item, MT_MIN((size_t)srt->body_size, sizeof(item)),
					  st, p + off, n - off, &u, depth + 1, why, whylen))
				return -1;
			off += u;
			memcpy(&l, base + f->offset, sizeof(l));
			mt_rec_list_add(r, &l, item, sizeof(item));
			memcpy(base + f->offset, &l, sizeof(l));
		}
		return 0;
	}
	/* basicList */
	{
		uint16_t ie, elen;
		uint32_t pen = 0;
		const struct mt_field_desc *f = NULL;

		if (n < 5)
			FAIL("basicList header cut short");
		ie = mt_load_be16(p + 1);
		elen = mt_load_be16(p + 3);
		off = 5;
		if (ie & 0x8000) {
			if (n < 9)
				FAIL("basicList enterprise number cut short");
			pen = mt_load_be32(p + 5);
			off = 9;
		}
		ie &= 0x7fff;
		if (elen == 0)
			FAIL("basicList element length 0");
		for (unsigned i = 0; rt && i < rt->nfields; i++) {
			const struct mt_field_desc *c = &rt->fields[i];

			if ((c->type == MT_FT_STRLIST || c->type == MT_FT_U16LIST ||
			     c->type == MT_FT_U64LIST) &&
			    c->ie == ie && pen_of(c, d->pen) == pen)
				f = c;
		}
		if (f && !dest_fits(f, base_size))
			FAIL("template %u: list field %s outside its record", t->id, f->name);
		if (f && f->type == MT_FT_U16LIST && elen != 2)
			FAIL("basicList of element %u with length %u", ie, elen);
		if (f && f->type == MT_FT_U64LIST && elen != 8)
			FAIL("basicList of element %u with length %u", ie, elen);
		while (off < n) {
			size_t h = 0, l = elen;

			if (elen == MT_IPFIX_VARLEN) {
				if (varlen(p + off, n - off, &h, &l))
					FAIL("basicList element length beyond the list");
			} else if (n - off < elen) {
				FAIL("basicList element cut short");
			}
			if (f) {
				struct mt_lref lr;

				memcpy(&lr, base + f->offset, sizeof(lr));
				mt_rec_list_add(r, &lr, p + off + h, l);
				memcpy(base + f->offset, &lr, sizeof(lr));
			}
			off += h + l;
		}
		return 0;
	}
}

static int decode_fields(struct mt_ipfix_dec *d, struct mt_rec *r, uint8_t *base,
			 size_t base_size, const struct mt_ipfix_tmpl *t, const uint8_t *p,
			 size_t n, size_t *used, unsigned depth, char *why, size_t whylen)
{
	const struct mt_rtype_desc *rt = tmpl_rt(t);
	size_t off = 0;

	for (unsigned i = 0; i < t->n; i++) {
		const struct tfield *tf = &t->f[i];
		const struct mt_field_desc *f = tf->map >= 0 && rt ? &rt->fields[tf->map] : NULL;
		size_t h = 0, l = tf->len;

		if (tf->len == MT_IPFIX_VARLEN) {
			if (varlen(p + off, n - off, &h, &l))
				FAIL("template %u: variable-length field %u beyond the set",
				     t->id, i);
		} else if (n - off < tf->len) {
			FAIL("template %u: field %u beyond the set", t->id, i);
		}
		if (tf->pen == 0 && (tf->ie == MT_IPFIX_IE_BASICLIST ||
				     tf->ie == MT_IPFIX_IE_SUBTEMPLATELIST)) {
			if (decode_list(d, r, base, base_size, rt, t, tf->ie, p + off + h, l,
					depth, why, whylen))
				return -1;
		} else if (f) {
			const uint8_t *v = p + off + h;
			uint8_t *dst = base + f->offset;

			if (!dest_fits(f, base_size))
				FAIL("template %u: field %u (%s) outside its record", t->id, i,
				     f->name);
			switch (f->type) {
			case MT_FT_BOOL:
				if (v[0] != 1 && v[0] != 2)
					FAIL("element %u: boolean value %u", tf->ie, v[0]);
				*dst = v[0] == 1;
				break;
			case MT_FT_TIME:
				set_u(dst, f->type, ntp_us_to_ns(mt_load_be64(v)));
				break;
			case MT_FT_IP: {
				struct mt_ipaddr *ip = (struct mt_ipaddr *)dst;

				memset(ip, 0, sizeof(*ip));
				ip->ver = l == 16 ? 6 : 4;
				memcpy(ip->a, v, l);
				break;
			}
			case MT_FT_STR:
			case MT_FT_HEX: {
				struct mt_sref s;

				mt_rec_set_str(r, &s, v, l);
				memcpy(dst, &s, sizeof(s));
				break;
			}
			default: {
				uint64_t x = 0;

				for (size_t k = 0; k < l; k++)
					x = x << 8 | v[k];
				set_u(dst, f->type, x);
				break;
			}
			}
		}
		off += h + l;
	}
	*used = off;
	return 0;
}

int mt_ipfix_decode(struct mt_ipfix_dec *d, const uint8_t *msg, size_t len,
		    mt_ipfix_record_fn fn, void *ctx,
		    struct mt_ipfix_msg_info *info, char *why, size_t whylen)
{
	size_t off = MT_IPFIX_HDR_LEN;
	long mlen = mt_ipfix_msg_len(msg, len);

	memset(info, 0, sizeof(*info));
	if (mlen <= 0)
		FAIL(mlen == 0 ? "message shorter than its header" :
				 "not an IPFIX version 10 message header");
	if ((size_t)mlen != len)
		FAIL("message length %ld but %zu bytes given", mlen, len);
	info->length = (uint32_t)mlen;
	info->export_time = mt_load_be32(msg + 4);
	info->seq = mt_load_be32(msg + 8);
	info->domain = mt_load_be32(msg + 12);
	while (off < len) {
		uint16_t sid, slen;
		size_t end, so;

		if (len - off < MT_IPFIX_SET_HDR_LEN)
			FAIL("set header cut short at offset %zu", off);
		sid = mt_load_be16(msg + off);
		slen = mt_load_be16(msg + off + 2);
		if (slen < MT_IPFIX_SET_HDR_LEN || slen > len - off)
			FAIL("set %u at offset %zu: length %u beyond the message", sid, off, slen);
		end = off + slen;
		so = off + MT_IPFIX_SET_HDR_LEN;
		if (sid == MT_IPFIX_SET_TEMPLATE || sid == MT_IPFIX_SET_OPTIONS) {
			while (end - so >= 4) {
				size_t used;

				if (add_template(d, info->domain, msg + so, end - so, &used,
						 sid == MT_IPFIX_SET_OPTIONS, why, whylen))
					return -1;
				so += used;
				info->templates++;
			}
		} else if (sid >= 256) {
			struct mt_ipfix_tmpl *t = find_tmpl(d, info->domain, sid, NULL);

			if (!t) {
				/* RFC 7011 8: data before its template is not decodable;
				 * count it (one unknown record per set). */
				info->skipped++;
			} else {
				while (end - so >= t->min_len && end > so) {
					size_t used;
					struct mt_rec *r = &d->rec;

					if (t->rtype >= 0)
						mt_rec_init(r, (enum mt_rtype)t->rtype);
					else
						mt_rec_init(r, MT_REC_flow); /* scratch only */
					if (decode_fields(d, r, (uint8_t *)r, sizeof(*r), t, msg + so,
							  end - so, &used, 0, why, whylen))
						return -1;
					if (used == 0)
						FAIL("template %u: empty record", t->id);
					so += used;
					if (t->rtype < 0) {
						info->skipped++;
						continue;
					}
					info->records++;
					if (fn && fn(ctx, info, r))
						return 0;
				}
			}
		} else {
			FAIL("set id %u is reserved", sid);
		}
		off = end;
	}
	return 0;
}
