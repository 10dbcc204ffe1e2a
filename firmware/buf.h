/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Growable text buffer for the control plane (JSON lines, reports). Growth
 * stops at a hard cap; past it the buffer is marked failed rather than grown.
 */
#ifndef MT_BUF_H
#define MT_BUF_H

#include "mt_common.h"

#define MT_BUF_MAX (16u << 20)

struct mt_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

void mt_buf_reset(struct mt_buf *b);
void mt_buf_free(struct mt_buf *b);
void mt_buf_put(struct mt_buf *b, const void *p, size_t n);
void mt_buf_putc(struct mt_buf *b, char c);
void mt_buf_puts(struct mt_buf *b, const char *s);
void mt_buf_printf(struct mt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
