/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Base64 (RFC 4648) decoding: a one-shot decoder for SASL exchanges and a
 * streaming one for MIME bodies that carries at most three bytes of state
 * between segments and skips line breaks and white space.
 */
#ifndef MT_B64_H
#define MT_B64_H

#include "mt_common.h"

/* Decodes `n` bytes into `out` (at most `cap` bytes written). Returns the
 * decoded length, or -1 when the input is not strict base64. */
long mt_b64_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

struct mt_b64_stream {
	uint32_t acc;     /* bits not yet output */
	uint8_t nchars;   /* base64 characters in acc (0-3) */
	uint8_t ended;    /* padding seen */
	uint8_t bad;      /* an invalid character was seen */
};

/* Decodes what it can of `in` into `out` (room for (n / 4 + 1) * 3 bytes
 * is always enough); returns the number of bytes written. */
size_t mt_b64_stream_feed(struct mt_b64_stream *s, const uint8_t *in, size_t n,
			  uint8_t *out);

#endif
