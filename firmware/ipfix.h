/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX (RFC 7011) encoding and decoding of mailtap records, generated from
 * the schema: one template per record type and address family, lists as
 * basicList / subTemplateList (RFC 6313), enterprise elements under a
 * configurable PEN, reverse-direction counters under RFC 5103's PEN. The
 * decoder validates every length before use and turns anything
 * inconsistent into an error with a reason; the collector uses it.
 */
#ifndef MT_IPFIX_H
#define MT_IPFIX_H

#include "record.h"

#define MT_IPFIX_VERSION 10
#define MT_IPFIX_HDR_LEN 16
#define MT_IPFIX_SET_HDR_LEN 4
#define MT_IPFIX_SET_TEMPLATE 2
#define MT_IPFIX_SET_OPTIONS 3
#define MT_IPFIX_VARLEN 65535
#define MT_IPFIX_MSG_MAX 65535
#define MT_IPFIX_IE_BASICLIST 291
#define MT_IPFIX_IE_SUBTEMPLATELIST 292
#define MT_IPFIX_PEN_REVERSE 29305u
#define MT_IPFIX_PEN_DEFAULT 32473u  /* RFC 5612: for documentation */
#define MT_IPFIX_TYPEINFO_TID 299    /* RFC 5610 type records (options) */

/* Template ids: the schema's id for IPv4 (or address-free) records, plus
 * these offsets for the IPv6 and no-address variants. */
#define MT_IPFIX_TID_V6 0x400
#define MT_IPFIX_TID_NOIP 0x800

/* ---- encoder ---- */

struct mt_ipfix_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t set_off;       /* start of the open data set, 0 if none */
	uint16_t set_id;
	uint32_t pen;
	uint32_t nrec;        /* data records in this message */
};

/* Starts a message in `buf` (at most `cap` bytes, capped at 65535). */
void mt_ipfix_begin(struct mt_ipfix_enc *e, uint8_t *buf, size_t cap,
		    uint32_t domain, uint32_t pen, uint32_t export_time,
		    uint32_t seq);

/* Appends the template set (every template) and, when `typeinfo`, the
 * RFC 5610 type records naming the enterprise elements. 0 or -ENOSPC. */
int mt_ipfix_templates(struct mt_ipfix_enc *e, bool typeinfo);

/* Appends one data record. 0, -ENOSPC (nothing appended: start a new
 * message) or -EINVAL (record type unknown). */
int mt_ipfix_record(struct mt_ipfix_enc *e, const struct mt_rec *r);

/* Closes the message; returns its length. */
size_t mt_ipfix_end(struct mt_ipfix_enc *e);

/* ---- decoder ---- */

struct mt_ipfix_tmpl;

struct mt_ipfix_msg_info {
	uint32_t length;
	uint32_t export_time;
	uint32_t seq;
	uint32_t domain;
	uint32_t records;         /* data records decoded */
	uint32_t skipped;         /* data records of unknown templates */
	uint32_t templates;       /* template records received */
};

typedef int (*mt_ipfix_record_fn)(void *ctx, const struct mt_ipfix_msg_info *info,
				  const struct mt_rec *r);

/* Templates of one transport session (RFC 7011: never shared between
 * sessions), keyed by observation domain and template id. */
struct mt_ipfix_dec {
	uint32_t pen;
	unsigned ntmpl;
	struct mt_ipfix_tmpl *tmpl[64];
	struct mt_rec rec;
};

void mt_ipfix_dec_init(struct mt_ipfix_dec *d, uint32_t pen);
void mt_ipfix_dec_free(struct mt_ipfix_dec *d);

/*
 * Length of the message at the start of `p` (from its header), or 0 when
 * fewer than 16 bytes are there, or -1 when the header is invalid.
 */
long mt_ipfix_msg_len(const uint8_t *p, size_t n);

/*
 * Decodes one whole message: templates are learnt, each data record is
 * handed to `fn` (which may return non-zero to stop). Returns 0, or -1
 * with the reason in `why` (the message is inconsistent; records already
 * handed over stay handed over).
 */
int mt_ipfix_decode(struct mt_ipfix_dec *d, const uint8_t *msg, size_t len,
		    mt_ipfix_record_fn fn, void *ctx,
		    struct mt_ipfix_msg_info *info, char *why, size_t whylen);

/* Element name for a field, as exported in the RFC 5610 type records:
 * the JSON path in lowerCamelCase ("smtp.mail_from" -> "smtpMailFrom"). */
void mt_ipfix_ie_name(const char *json_path, char *out, size_t outlen);

#endif
