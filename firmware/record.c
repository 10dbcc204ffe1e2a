/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Field descriptor tables generated from schema.h and the arena helpers
 * producers use to attach strings and lists to a record.
 */
#include "record.h"

#define MT_F_DESC(rec, fname, ftype, fpen, fie, fjson, fflags)             \
	{ .name = #fname, .json = fjson,                                   \
	  .offset = (uint32_t)(offsetof(struct mt_rec, b) +                \
			       offsetof(struct mt_body_##rec, fname)),     \
	  .ie = (fie), .type = MT_FT_##ftype, .pen = MT_PEN_##fpen,          \
	  .flags = (fflags), .sub = MT_SUBOF_##ftype },
#define MT_S_DESC(rec, fname, ftype, fpen, fie, fjson, fflags)             \
	{ .name = #fname, .json = fjson,                                   \
	  .offset = (uint32_t)offsetof(struct mt_body_##rec, fname),       \
	  .ie = (fie), .type = MT_FT_##ftype, .pen = MT_PEN_##fpen,          \
	  .flags = (fflags), .sub = MT_SUBOF_##ftype },
#define MT_CTRF_MT_F_DESC(id, g, n, h) MT_STATS_FIELD_(MT_F_DESC, id, g, n, h)
#define OMIT_ZERO MT_FF_OMIT_ZERO

#define MT_R_FIELDS(name, tid) \
	static const struct mt_field_desc fields_##name[] = { MT_FIELDS_##name(MT_F_DESC) };
MT_RECORD_TYPES(MT_R_FIELDS)
#undef MT_R_FIELDS

#define MT_S_FIELDS(name, tid) \
	static const struct mt_field_desc sfields_##name[] = { MT_FIELDS_##name(MT_S_DESC) };
MT_SUBRECORD_TYPES(MT_S_FIELDS)
#undef MT_S_FIELDS

#define MT_S_SIZECHECK(name, tid) \
	_Static_assert(sizeof(struct mt_body_##name) <= MT_SUB_MAX_SIZE, "sub-record too big");
MT_SUBRECORD_TYPES(MT_S_SIZECHECK)
#undef MT_S_SIZECHECK

/* Every record that starts with the connection fields has them where the
 * flow body has them, so MT_REC_CONN() can fill any of them. */
#define MT_CONN_CHECK(rec)                                                       \
	_Static_assert(offsetof(struct mt_body_##rec, vlan) ==                   \
			       offsetof(struct mt_body_flow, vlan) &&            \
			       offsetof(struct mt_body_##rec, src_ip) ==         \
				       offsetof(struct mt_body_flow, src_ip),    \
		       #rec " connection fields");
MT_CONN_CHECK(smtp)
MT_CONN_CHECK(imap)
MT_CONN_CHECK(pop3)
MT_CONN_CHECK(auth)
MT_CONN_CHECK(tls)
MT_CONN_CHECK(anomaly)
MT_CONN_CHECK(alert)

const struct mt_rtype_desc mt_stypes[MT_SUB__COUNT] = {
#define MT_S_DESC_T(sname, tid)                                              \
	[MT_SUB_##sname] = { .name = #sname, .template_id = tid,            \
			     .nfields = MT_ARRAY_SIZE(sfields_##sname),     \
			     .body_size = sizeof(struct mt_body_##sname),   \
			     .fields = sfields_##sname },
	MT_SUBRECORD_TYPES(MT_S_DESC_T)
#undef MT_S_DESC_T
};

const struct mt_rtype_desc mt_rtypes[MT_REC__COUNT] = {
#define MT_R_DESC(rname, tid)                                                \
	[MT_REC_##rname] = { .name = #rname, .template_id = tid,           \
			     .nfields = MT_ARRAY_SIZE(fields_##rname),     \
			     .body_size = sizeof(struct mt_body_##rname),  \
			     .fields = fields_##rname },
	MT_RECORD_TYPES(MT_R_DESC)
#undef MT_R_DESC
};

static const char *const app_names[MT_APP__COUNT] = {
#define MT_A_NAME(id, name) [MT_APP_##id] = name,
	MT_APPS(MT_A_NAME)
#undef MT_A_NAME
};

const char *mt_app_name(unsigned app)
{
	return app < MT_APP__COUNT ? app_names[app] : "";
}

int mt_app_from_name(const char *name)
{
	for (unsigned i = 1; i < MT_APP__COUNT; i++)
		if (strcmp(app_names[i], name) == 0)
			return (int)i;
	return -1;
}

int mt_rtype_from_name(const char *name)
{
	for (unsigned i = 0; i < MT_REC__COUNT; i++)
		if (strcmp(mt_rtypes[i].name, name) == 0)
			return (int)i;
	return -1;
}

void mt_rec_init(struct mt_rec *r, enum mt_rtype type)
{
	r->type = (uint16_t)type;
	r->flags = 0;
	r->arena_used = 0;
	/* Only this type's body: the union is as big as the stats record. */
	memset(&r->b, 0, (unsigned)type < MT_REC__COUNT ? mt_rtypes[type].body_size :
							  sizeof(r->b));
}

void mt_rec_set_str(struct mt_rec *r, struct mt_sref *dst, const void *p,
		    size_t len)
{
	size_t room = MT_REC_ARENA - r->arena_used;

	if (len > room) {
		len = room;
		r->flags |= MT_REC_F_TRUNCATED;
	}
	dst->off = r->arena_used;
	dst->len = (uint32_t)len;
	if (len)
		memcpy(r->arena + r->arena_used, p, len);
	r->arena_used += (uint32_t)len;
}

bool mt_rec_list_add(struct mt_rec *r, struct mt_lref *l, const void *p,
		     size_t len)
{
	uint32_t off = r->arena_used;
	uint32_t next = UINT32_MAX;

	if (len > UINT16_MAX || MT_REC_ARENA - off < 6 + len) {
		r->flags |= MT_REC_F_TRUNCATED;
		return false;
	}
	memcpy(r->arena + off, &next, 4);
	mt_store_be16(r->arena + off + 4, (uint16_t)len);
	if (len)
		memcpy(r->arena + off + 6, p, len);
	r->arena_used += 6 + (uint32_t)len;
	if (l->count == 0)
		l->head = off;
	else
		memcpy(r->arena + l->tail, &off, 4);
	l->tail = off;
	l->count++;
	return true;
}

bool mt_rec_list_add_u16(struct mt_rec *r, struct mt_lref *l, uint16_t v)
{
	uint8_t b[2];

	mt_store_be16(b, v);
	return mt_rec_list_add(r, l, b, 2);
}

bool mt_rec_list_add_u64(struct mt_rec *r, struct mt_lref *l, uint64_t v)
{
	uint8_t b[8];

	mt_store_be64(b, v);
	return mt_rec_list_add(r, l, b, 8);
}

bool mt_rec_list_next(const struct mt_rec *r, uint32_t *pos,
		      struct mt_view *item)
{
	uint32_t next;

	if (*pos == UINT32_MAX || *pos > MT_REC_ARENA - 6)
		return false;
	memcpy(&next, r->arena + *pos, 4);
	item->len = mt_load_be16(r->arena + *pos + 4);
	item->p = r->arena + *pos + 6;
	if (item->len > MT_REC_ARENA - *pos - 6)
		return false;
	*pos = next;
	return true;
}

void mt_rec_set_ip(struct mt_ipaddr *dst, const uint8_t addr[16], uint8_t ver)
{
	dst->ver = ver;
	memcpy(dst->a, addr, 16);
}
