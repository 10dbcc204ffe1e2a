/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Records in memory: one struct per record type generated from schema.h,
 * plus an arena for variable-length data (strings, lists) referenced by
 * offset, so a record is one self-contained block that can be copied into a
 * ring. A field descriptor table (type, offset, IPFIX element, JSON path)
 * lets the JSON writer, IPFIX codec and SQL layer walk any record.
 */
#ifndef MT_RECORD_H
#define MT_RECORD_H

#include "mt_common.h"
#include "schema.h"

/* Variable-length data of one record; beyond it, strings are truncated and
 * list items dropped, and the record is flagged (counter record_truncated). */
#define MT_REC_ARENA 8192

enum mt_ftype {
	MT_FT_U8,
	MT_FT_U16,
	MT_FT_U32,
	MT_FT_U64,
	MT_FT_BOOL,
	MT_FT_TIME,    /* ns since the epoch; JSON ISO 8601 with microseconds */
	MT_FT_FLAGS8,  /* printed as two hex digits, like Suricata's tcp_flags */
	MT_FT_PROTO,   /* IP protocol number; JSON "TCP", "UDP", or the number */
	MT_FT_APP,     /* enum mt_app; JSON the protocol name */
	MT_FT_REASON,  /* enum mt_flow_reason */
	MT_FT_TUNNEL,  /* enum mt_tunnel */
	MT_FT_IP,      /* struct mt_ipaddr */
	MT_FT_STR,     /* struct mt_sref: text */
	MT_FT_HEX,     /* struct mt_sref: bytes printed as lower-case hex */
	MT_FT_STRLIST, /* struct mt_lref of strings */
	MT_FT_U16LIST, /* struct mt_lref of 16-bit numbers */
	MT_FT_SUBLIST, /* struct mt_lref of sub-records (see MT_SUBRECORD_TYPES) */
	MT_FT_U64LIST, /* struct mt_lref of 64-bit numbers */
	MT_FT__COUNT
};

/* Schema type tokens that are lists of sub-records, and their item type. */
#define MT_FT_FILES MT_FT_SUBLIST

enum mt_pen_kind {
	MT_PEN_IANA = 0,
	MT_PEN_MT,     /* mailtap enterprise elements (configurable PEN) */
	MT_PEN_REV,    /* RFC 5103 reverse direction, PEN 29305 */
};

#define MT_FF_OMIT_ZERO 0x01

/* Application protocols a flow can be identified as. */
#define MT_APPS(A)  \
	A(NONE, "")     \
	A(SMTP, "smtp") \
	A(IMAP, "imap") \
	A(POP3, "pop3") \
	A(TLS, "tls")   \
	A(FAILED, "failed")

enum mt_app {
#define MT_A_ENUM(id, name) MT_APP_##id,
	MT_APPS(MT_A_ENUM)
#undef MT_A_ENUM
	MT_APP__COUNT
};

struct mt_ipaddr {
	uint8_t ver;   /* 4 or 6; 0 = absent */
	uint8_t a[16];
};

struct mt_sref {
	uint32_t off;
	uint32_t len;
};

/* List items live in the arena as [u32 next][u16 len][len bytes]. */
struct mt_lref {
	uint32_t head;
	uint32_t tail;
	uint32_t count;
};

#define MT_CTYPE_U8 uint8_t
#define MT_CTYPE_U16 uint16_t
#define MT_CTYPE_U32 uint32_t
#define MT_CTYPE_U64 uint64_t
#define MT_CTYPE_BOOL uint8_t
#define MT_CTYPE_TIME uint64_t
#define MT_CTYPE_FLAGS8 uint8_t
#define MT_CTYPE_PROTO uint8_t
#define MT_CTYPE_APP uint8_t
#define MT_CTYPE_REASON uint8_t
#define MT_CTYPE_TUNNEL uint8_t
#define MT_CTYPE_IP struct mt_ipaddr
#define MT_CTYPE_STR struct mt_sref
#define MT_CTYPE_HEX struct mt_sref
#define MT_CTYPE_STRLIST struct mt_lref
#define MT_CTYPE_U16LIST struct mt_lref
#define MT_CTYPE_FILES struct mt_lref
#define MT_CTYPE_U64LIST struct mt_lref

/* Sub-record type of a field: 0 for plain fields. */
#define MT_SUBOF_U8 0
#define MT_SUBOF_U16 0
#define MT_SUBOF_U32 0
#define MT_SUBOF_U64 0
#define MT_SUBOF_BOOL 0
#define MT_SUBOF_TIME 0
#define MT_SUBOF_FLAGS8 0
#define MT_SUBOF_PROTO 0
#define MT_SUBOF_APP 0
#define MT_SUBOF_REASON 0
#define MT_SUBOF_TUNNEL 0
#define MT_SUBOF_IP 0
#define MT_SUBOF_STR 0
#define MT_SUBOF_HEX 0
#define MT_SUBOF_STRLIST 0
#define MT_SUBOF_U16LIST 0
#define MT_SUBOF_U64LIST 0
#define MT_SUBOF_FILES (MT_SUB_file + 1)

#define MT_F_STRUCT(rec, name, type, pen, ie, json, flags) MT_CTYPE_##type name;
#define MT_CTRF_MT_F_STRUCT(id, g, n, h) MT_STATS_FIELD_(MT_F_STRUCT, id, g, n, h)
#define MT_R_STRUCT(name, tid) \
	struct mt_body_##name { MT_FIELDS_##name(MT_F_STRUCT) };
MT_RECORD_TYPES(MT_R_STRUCT)
#undef MT_R_STRUCT

#define MT_S_STRUCT(name, tid) \
	struct mt_body_##name { MT_FIELDS_##name(MT_F_STRUCT) };
MT_SUBRECORD_TYPES(MT_S_STRUCT)
#undef MT_S_STRUCT

enum mt_rtype {
#define MT_R_ENUM(name, tid) MT_REC_##name,
	MT_RECORD_TYPES(MT_R_ENUM)
#undef MT_R_ENUM
	MT_REC__COUNT
};

enum mt_stype {
#define MT_S_ENUM(name, tid) MT_SUB_##name,
	MT_SUBRECORD_TYPES(MT_S_ENUM)
#undef MT_S_ENUM
	MT_SUB__COUNT
};

#define MT_REC_F_TRUNCATED 0x0001

struct mt_rec {
	uint16_t type;        /* enum mt_rtype */
	uint16_t flags;
	uint32_t arena_used;
	union {
#define MT_R_UNION(name, tid) struct mt_body_##name name;
		MT_RECORD_TYPES(MT_R_UNION)
#undef MT_R_UNION
	} b;
	uint8_t arena[MT_REC_ARENA];
};

/* Bytes to copy to move a record: everything up to the used arena. */
static inline size_t mt_rec_size(const struct mt_rec *r)
{
	return offsetof(struct mt_rec, arena) + r->arena_used;
}

struct mt_field_desc {
	const char *name;      /* C and SQL name */
	const char *json;      /* dotted JSON path */
	uint32_t offset;       /* within struct mt_rec, or within a sub-record body */
	uint16_t ie;           /* IPFIX element id */
	uint8_t type;          /* enum mt_ftype */
	uint8_t pen;           /* enum mt_pen_kind */
	uint8_t flags;
	uint8_t sub;           /* for MT_FT_SUBLIST: enum mt_stype + 1 */
};

struct mt_rtype_desc {
	const char *name;      /* event_type */
	uint16_t template_id;
	uint16_t nfields;
	uint32_t body_size;    /* sizeof its struct mt_body_NAME */
	const struct mt_field_desc *fields;
};

extern const struct mt_rtype_desc mt_rtypes[MT_REC__COUNT];
/* Sub-record types; their field offsets are within struct mt_body_NAME. */
extern const struct mt_rtype_desc mt_stypes[MT_SUB__COUNT];

/* Largest sub-record body: list items are copied into a buffer this big. */
#define MT_SUB_MAX_SIZE 256

/* Starts an empty record of a type (zeroes the body, empties the arena). */
void mt_rec_init(struct mt_rec *r, enum mt_rtype type);

/* Copies bytes into the arena; truncates (and flags the record) when full. */
void mt_rec_set_str(struct mt_rec *r, struct mt_sref *dst, const void *p, size_t len);
bool mt_rec_list_add(struct mt_rec *r, struct mt_lref *l, const void *p, size_t len);
bool mt_rec_list_add_u16(struct mt_rec *r, struct mt_lref *l, uint16_t v);
bool mt_rec_list_add_u64(struct mt_rec *r, struct mt_lref *l, uint64_t v);

static inline struct mt_view mt_rec_str(const struct mt_rec *r, struct mt_sref s)
{
	struct mt_view v = { r->arena + s.off, s.len };

	return v;
}

/* Iterates a list: start with *pos = l->head, returns false at the end. */
bool mt_rec_list_next(const struct mt_rec *r, uint32_t *pos, struct mt_view *item);

void mt_rec_set_ip(struct mt_ipaddr *dst, const uint8_t addr[16], uint8_t ver);

/* A numeric field's value, whatever its C width (types U8..U64, TIME,
 * BOOL and the one-byte enumerations). `p` points at the field. */
static inline uint64_t mt_rec_get_uint(const uint8_t *p, uint8_t type)
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

/* Connection fields, common to every record type that starts with
 * MT_FIELDS_CONN; written through the flow body, whose layout they share. */
#define MT_REC_CONN(r) (&(r)->b.flow)

const char *mt_app_name(unsigned app);
int mt_app_from_name(const char *name);

/* Looks a record type up by event_type name; -1 when unknown. */
int mt_rtype_from_name(const char *name);

#endif
