/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What leaves the appliance of a user name: the name itself, a keyed
 * HMAC-SHA256 of it (the same user always maps to the same value, so the
 * collector can still correlate, but cannot read the name), or nothing.
 * Applied on the main thread to every record before any output sees it;
 * one thread only (the HMAC state is reused from record to record).
 */
#ifndef MT_IDENTITY_H
#define MT_IDENTITY_H

#include <mbedtls/md.h>

#include "record.h"

enum mt_identity_mode {
	MT_IDENTITY_CLEAR,
	MT_IDENTITY_HMAC,
	MT_IDENTITY_NONE,
};

#define MT_IDENTITY_KEY_MIN 32      /* bytes: the HMAC-SHA256 output size */
#define MT_IDENTITY_KEY_FILE_MAX 4096
#define MT_IDENTITY_HEX_LEN 64      /* lower-case hex of a SHA-256 */

struct mt_identity {
	enum mt_identity_mode mode;
	/* HMAC state derived from the key (inner and outer pads); the key
	 * itself is wiped once this is set up. mbedtls_md_free wipes it. */
	mbedtls_md_context_t md;
	bool md_ready;
};

/* Parses "clear", "hmac" or "none"; false for anything else. */
bool mt_identity_parse_mode(const char *s, enum mt_identity_mode *mode);

/*
 * Sets up `id` for a mode given by name. For hmac, `key_path` names the key
 * file (raw bytes, or only hex digits with an optional final newline; at
 * least MT_IDENTITY_KEY_MIN bytes once decoded). Returns 0, or -errno with
 * a message naming the file and the reason in `err`.
 */
int mt_identity_init(struct mt_identity *id, const char *mode, const char *key_path,
		     char *err, size_t errlen);

/* Same with a key in memory (tests; any length, as HMAC allows). The
 * caller wipes its copy. */
int mt_identity_init_key(struct mt_identity *id, const uint8_t *key, size_t len,
			 char *err, size_t errlen);

/* Wipes the key state. */
void mt_identity_free(struct mt_identity *id);

/* True when a record of this type, as it is, would be changed. */
bool mt_identity_applies(const struct mt_identity *id, const struct mt_rec *r);

/*
 * Rewrites the user-name fields of `r` (see the table in identity.c). The
 * clear name is wiped from the record's arena, not just unreferenced. A
 * name whose hash does not fit the arena is left empty and the record
 * flagged truncated.
 */
void mt_identity_apply(struct mt_identity *id, struct mt_rec *r);

/* HMAC-SHA256 of `p` as 64 lower-case hex digits and a NUL into `out`. */
int mt_identity_hmac_hex(struct mt_identity *id, const void *p, size_t len,
			 char out[MT_IDENTITY_HEX_LEN + 1]);

#endif
