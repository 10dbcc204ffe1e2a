/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Resumable line reader for the text protocols. It only ever hands out
 * whole lines (without CR LF), borrowed from the input when a line lies in
 * one segment and copied into the caller's fixed buffer when it spans
 * several. A line longer than the buffer is handed out once, cut at the
 * cap and flagged, and the rest of it is skipped up to the next LF: a long
 * line is flagged bad input, never a reason for a bigger buffer.
 */
#ifndef MT_LINE_H
#define MT_LINE_H

#include "mt_common.h"

struct mt_line {
	uint32_t len;         /* bytes of a partial line held in the buffer */
	uint8_t discarding;   /* skipping the tail of an over-long line */
	uint8_t truncated;    /* the line just returned was cut at the cap */
};

static inline void mt_line_reset(struct mt_line *lb)
{
	lb->len = 0;
	lb->discarding = 0;
	lb->truncated = 0;
}

/*
 * Takes bytes from (*p, *n), advancing both. Returns true with `out` set to
 * the next complete line, false when the input ran out first (a partial
 * line stays buffered). `buf` and `cap` are the caller's storage; `out` is
 * valid until the next call or until the input is released.
 */
bool mt_line_next(struct mt_line *lb, uint8_t *buf, uint32_t cap,
		  const uint8_t **p, size_t *n, struct mt_view *out);

#endif
