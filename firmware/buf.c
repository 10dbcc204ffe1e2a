/* SPDX-License-Identifier: BSD-3-Clause */
/* Growable, capped text buffer (control plane only). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool reserve(struct mt_buf *b, size_t n)
{
	size_t want;
	char *np;

	if (b->failed)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	want = b->cap ? b->cap : 256;
	while (want < b->len + n + 1)
		want *= 2;
	if (want > MT_BUF_MAX) {
		b->failed = true;
		return false;
	}
	np = realloc(b->p, want);
	if (!np) {
		b->failed = true;
		return false;
	}
	b->p = np;
	b->cap = want;
	return true;
}

void mt_buf_reset(struct mt_buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->p)
		b->p[0] = '\0';
}

void mt_buf_free(struct mt_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void mt_buf_put(struct mt_buf *b, const void *p, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void mt_buf_putc(struct mt_buf *b, char c)
{
	mt_buf_put(b, &c, 1);
}

void mt_buf_puts(struct mt_buf *b, const char *s)
{
	mt_buf_put(b, s, strlen(s));
}

void mt_buf_printf(struct mt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}
