/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Streaming MIME parser (RFC 2045-2047, 2183, 2231, 5322) for message
 * content seen on the wire: fed arbitrary chunks, it keeps the top-level
 * header fields an analyst asks for, walks multipart bodies by boundary, and
 * for every named or attached part decodes the content (base64,
 * quoted-printable) into a running SHA-256 without ever holding a body.
 * Used by the SMTP analyzer; nothing in it is SMTP-specific, so the IMAP
 * analyzer can feed it FETCH literals the same way.
 */
#ifndef MT_MIME_H
#define MT_MIME_H

#include <mbedtls/sha256.h>

#include "b64.h"
#include "counters.h"

/* RFC 2046 allows 70; longer ones are accepted up to this, then the
 * multipart is reported (mime_missing_boundary) and treated as opaque. */
#define MT_MIME_BOUNDARY_MAX 100
/* Longest file name and content type kept, in bytes of UTF-8. */
#define MT_MIME_NAME_MAX 255
#define MT_MIME_CTYPE_MAX 127
/* Longest single header value kept (Subject, From, ...) and longest
 * address of a To / Cc list. */
#define MT_MIME_VALUE_MAX 512
#define MT_MIME_ADDR_MAX 256
/* Addresses kept per To / Cc field. */
#define MT_MIME_LIST_MAX 32
/* Per-message result stores; beyond them values and file entries are
 * dropped and counted (mime_store_full). */
#define MT_MIME_HDR_STORE 2048
#define MT_MIME_FILE_STORE 1536
/* Body lines longer than this are reported (RFC 5322 2.1.1). */
#define MT_MIME_LINE_MAX 998

/* Top-level header fields kept. */
enum mt_mime_field {
	MT_MIME_FROM = 1,
	MT_MIME_TO,          /* list: one value per address */
	MT_MIME_CC,          /* list */
	MT_MIME_SUBJECT,     /* RFC 2047 decoded, UTF-8 */
	MT_MIME_MESSAGE_ID,
	MT_MIME_DATE,
	MT_MIME_X_MAILER,
	MT_MIME_USER_AGENT,
	MT_MIME__FIELDS
};

struct mt_mime_limits {
	uint32_t header_max;   /* one unfolded header field */
	uint32_t headers_max;  /* header fields per part */
	uint32_t depth_max;    /* multipart / message nesting (at most 32) */
	uint32_t parts_max;    /* body parts per message */
};

/* Anomaly sink: `which` is one of the mime_* anomaly counters. */
typedef void (*mt_mime_anomaly_fn)(void *ctx, enum mt_ctr which,
				   const uint8_t *evidence, size_t len);

/* One named or attached part, as read back from the results. */
struct mt_mime_file {
	struct mt_view name;     /* UTF-8 where the encoding said so; may be empty */
	struct mt_view ctype;    /* "application/pdf", lower case; may be empty */
	uint64_t size;           /* decoded bytes seen */
	const uint8_t *sha256;   /* 32 bytes; NULL when the part is incomplete */
	bool incomplete;         /* a gap, the end of data or a cap cut it short */
};

struct mt_mime_level {
	uint8_t blen;
	uint8_t msg_depth;       /* message/rfc822 levels above this multipart */
};

struct mt_mime {
	/* Configuration (mt_mime_init). */
	struct mt_mime_limits lim;
	mt_mime_anomaly_fn anomaly;
	uint8_t *hbuf;           /* lim.header_max bytes */
	uint8_t *bnd;            /* lim.depth_max * MT_MIME_BOUNDARY_MAX bytes */

	/* Structure. */
	uint8_t mode;            /* enum in mime.c */
	uint8_t nb;              /* multipart levels open */
	uint8_t msg_depth;       /* message/rfc822 levels inside the innermost */
	uint8_t top;             /* headers being read are the message's own */
	struct mt_mime_level lvl[32];
	uint32_t parts;          /* body parts started (for the cap) */
	uint16_t leaves;         /* leaf parts (email.parts) */
	uint16_t received;       /* Received: fields of the message */
	uint8_t reported;        /* once-per-message anomalies (bit set) */
	uint16_t have;           /* single-value fields already stored */

	/* Line scanner. */
	uint8_t lstate;
	uint8_t pend_cr;         /* a CR ended the last chunk mid-line */
	uint8_t held_len;        /* line end held back (belongs to a delimiter?) */
	uint8_t held_in_chunk;   /* held_p points into the caller's chunk */
	uint8_t held[2];
	uint8_t wt_level, wt_close;
	uint8_t pk_len;          /* start of a line that may be a delimiter */
	uint8_t pk[MT_MIME_BOUNDARY_MAX + 40];
	uint8_t rest[32];        /* per level: delimiter suffix state */
	uint32_t cand;           /* levels the peeked line may still close */
	uint32_t ws_tail;        /* blanks after a delimiter beyond pk */
	uint32_t line_len;
	const uint8_t *held_p;
	const uint8_t *run_p;    /* body bytes not yet handed to the decoder */
	size_t run_n;

	/* Header block being read. */
	uint32_t hlen;
	uint32_t nfields;
	uint8_t htrunc;
	uint8_t h_cte;
	uint8_t h_attach;        /* Content-Disposition: attachment */
	uint8_t h_multipart;
	uint8_t h_rfc822;
	uint8_t h_name_from_cd;  /* the name came from Content-Disposition */
	uint8_t h_has_bnd;       /* 1: staged, 2: usable but no level left */
	uint8_t h_bnd_len;
	uint8_t h_seen;          /* Content-Type / -Disposition / -Transfer-Encoding seen */
	uint16_t h_name_len;
	uint8_t h_ctype_len;
	char h_name[MT_MIME_NAME_MAX];
	char h_ctype[MT_MIME_CTYPE_MAX];

	/* Leaf part being decoded. */
	uint8_t file;            /* hashing this part */
	uint8_t cte;
	uint8_t part_bad;        /* bad base64 reported for this part */
	uint8_t qp_state;
	uint8_t qp_hex;
	uint8_t qp_ws_len;
	uint8_t qp_ws[32];
	uint32_t file_off;       /* its entry in fstore */
	uint64_t file_size;
	struct mt_b64_stream b64;
	mbedtls_sha256_context sha;

	/* Results. */
	uint16_t hs_used;
	uint16_t fs_used;
	uint16_t nfiles;
	uint8_t hs[MT_MIME_HDR_STORE];   /* [field][len16][bytes]... */
	uint8_t fs[MT_MIME_FILE_STORE];  /* see mime.c */
};

/* Bytes of caller-owned memory mt_mime_init() needs for these limits. */
size_t mt_mime_extra_size(const struct mt_mime_limits *lim);

/* Once per session: `extra` (mt_mime_extra_size bytes) must stay where it
 * is for as long as `m` is used. */
void mt_mime_init(struct mt_mime *m, const struct mt_mime_limits *lim,
		  uint8_t *extra, mt_mime_anomaly_fn anomaly);

/* A new message: forgets the previous one's results. */
void mt_mime_begin(struct mt_mime *m);

/* Message bytes, any chunking. `ctx` goes to the anomaly sink. */
void mt_mime_feed(struct mt_mime *m, const uint8_t *p, size_t n, void *ctx);

/* Bytes of the message were lost: the current part is incomplete and the
 * parser skips to the next boundary it knows. */
void mt_mime_gap(struct mt_mime *m, void *ctx);

/* The message is complete; results are final. */
void mt_mime_end(struct mt_mime *m, void *ctx);

/* Values of header field `f`: start with *pos = 0; false at the end. */
bool mt_mime_value_next(const struct mt_mime *m, enum mt_mime_field f,
			uint32_t *pos, struct mt_view *v);

/* Files in message order: start with *pos = 0; false at the end. */
bool mt_mime_file_next(const struct mt_mime *m, uint32_t *pos,
		       struct mt_mime_file *f);

#endif
