/* SPDX-License-Identifier: BSD-3-Clause */
/* The capped, resumable line reader (see line.h). */
#include "line.h"

static void strip_cr(struct mt_view *v)
{
	if (v->len && v->p[v->len - 1] == '\r')
		v->len--;
}

bool mt_line_next(struct mt_line *lb, uint8_t *buf, uint32_t cap,
		  const uint8_t **p, size_t *n, struct mt_view *out)
{
	const uint8_t *lf;
	size_t take;

	lb->truncated = 0;
	while (lb->discarding) {
		lf = memchr(*p, '\n', *n);
		if (!lf) {
			*p += *n;
			*n = 0;
			return false;
		}
		*n -= (size_t)(lf + 1 - *p);
		*p = lf + 1;
		lb->discarding = 0;
	}
	if (*n == 0)
		return false;
	lf = memchr(*p, '\n', *n);
	if (lf) {
		size_t linelen = (size_t)(lf - *p);

		if (lb->len == 0) {
			/* Whole line in this segment: hand it out in place. */
			out->p = *p;
			out->len = linelen;
			strip_cr(out);
			if (out->len > cap) {
				out->len = cap;
				lb->truncated = 1;
			}
		} else {
			take = MT_MIN(linelen, (size_t)(cap - lb->len));
			memcpy(buf + lb->len, *p, take);
			out->p = buf;
			out->len = lb->len + take;
			if (take < linelen) {
				lb->truncated = 1;
			} else {
				strip_cr(out);
			}
			lb->len = 0;
		}
		*n -= linelen + 1;
		*p = lf + 1;
		return true;
	}
	/* No end of line yet: keep what fits. */
	take = MT_MIN(*n, (size_t)(cap - lb->len));
	memcpy(buf + lb->len, *p, take);
	lb->len += (uint32_t)take;
	if (take < *n || lb->len == cap) {
		/* Over the cap without an LF (a CR alone at the cap could be
		 * the line end, but a cap-length line is over-long anyway). */
		out->p = buf;
		out->len = lb->len;
		lb->truncated = 1;
		lb->len = 0;
		lb->discarding = 1;
		*p += *n;
		*n = 0;
		return true;
	}
	*p += *n;
	*n = 0;
	return false;
}
