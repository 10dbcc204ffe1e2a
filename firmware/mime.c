/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Streaming MIME parser (see mime.h). A line scanner finds line ends with
 * memchr and holds back only what it must: the start of a line that may be
 * a boundary delimiter (at most MT_MIME_BOUNDARY_MAX + 40 bytes), the line
 * end before it (RFC 2046 gives it to the delimiter), and a CR that ends a
 * chunk. Header fields are unfolded into one capped buffer; bodies go
 * through a streaming decoder into SHA-256 and are never kept.
 */
#include "mime.h"

#include <mbedtls/version.h>

/* mbedTLS 3 renamed the _ret functions back to the plain names. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha_starts(c) mbedtls_sha256_starts((c), 0)
#define sha_update(c, p, n) mbedtls_sha256_update((c), (p), (n))
#define sha_finish(c, o) mbedtls_sha256_finish((c), (o))
#else
#define sha_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define sha_update(c, p, n) mbedtls_sha256_update_ret((c), (p), (n))
#define sha_finish(c, o) mbedtls_sha256_finish_ret((c), (o))
#endif

enum mode {
	M_IDLE = 0,   /* no message */
	M_HEADERS,    /* a header block */
	M_BODY,       /* content of a leaf part */
	M_SKIP,       /* preamble, epilogue, opaque or lost content */
};

enum lstate {
	L_BOL = 0,    /* at the start of a line */
	L_MID,        /* inside a line known not to be a delimiter */
	L_PEEK,       /* a line starting with '-': may be a delimiter */
	L_WSTAIL,     /* a delimiter followed by more blanks than pk holds */
};

enum cte { CTE_IDENT = 0, CTE_B64, CTE_QP };

enum qp_state { Q_TEXT = 0, Q_EQ, Q_EQ1, Q_EQWS };

/* Suffix after "--boundary": "--" closes, then blanks (RFC 2046 LWSP). */
enum rest { R_NONE = 0, R_DASH1, R_CLOSE, R_BLANK_OPEN, R_BLANK_CLOSE };

/* Once-per-message anomalies. */
#define REP_LINE 0x01
#define REP_STORE 0x02

/* fs entry: [flags][ctype_len][name_len16][size64][sha 32][ctype][name] */
#define FE_HDR 44
#define FE_INCOMPLETE 0x01

static const uint8_t crlf[2] = { '\r', '\n' };

static void report(struct mt_mime *m, void *ctx, enum mt_ctr which,
		   const uint8_t *ev, size_t len)
{
	if (m->anomaly)
		m->anomaly(ctx, which, ev, len);
}

static void report_once(struct mt_mime *m, void *ctx, uint8_t bit,
			enum mt_ctr which, const uint8_t *ev, size_t len)
{
	if (m->reported & bit)
		return;
	m->reported |= bit;
	report(m, ctx, which, ev, len);
}

static inline uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static inline bool blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static bool eq_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	if (n != l)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(p[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static bool prefix_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && eq_ci(p, l, lit);
}

static void trim(const uint8_t **p, size_t *n)
{
	while (*n && (blank(**p) || **p == '\r' || **p == '\n')) {
		(*p)++;
		(*n)--;
	}
	while (*n && (blank((*p)[*n - 1]) || (*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\n'))
		(*n)--;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- results ---- */

static void store_value(struct mt_mime *m, void *ctx, enum mt_mime_field f,
			const uint8_t *p, size_t n)
{
	uint16_t len16;

	if ((size_t)m->hs_used + 3 + n > sizeof(m->hs)) {
		report_once(m, ctx, REP_STORE, MT_CTR_anomaly_mime_store_full, p, n);
		return;
	}
	len16 = (uint16_t)n;
	m->hs[m->hs_used] = (uint8_t)f;
	memcpy(m->hs + m->hs_used + 1, &len16, 2);
	memcpy(m->hs + m->hs_used + 3, p, n);
	m->hs_used = (uint16_t)(m->hs_used + 3 + n);
}

bool mt_mime_value_next(const struct mt_mime *m, enum mt_mime_field f,
			uint32_t *pos, struct mt_view *v)
{
	while (*pos + 3 <= m->hs_used) {
		uint32_t at = *pos;
		uint16_t len16;

		memcpy(&len16, m->hs + at + 1, 2);
		*pos = at + 3 + len16;
		if (m->hs[at] == (uint8_t)f) {
			v->p = m->hs + at + 3;
			v->len = len16;
			return true;
		}
	}
	return false;
}

bool mt_mime_file_next(const struct mt_mime *m, uint32_t *pos,
		       struct mt_mime_file *f)
{
	uint32_t at = *pos;
	uint16_t nlen;
	uint8_t clen;

	if (at + FE_HDR > m->fs_used)
		return false;
	clen = m->fs[at + 1];
	memcpy(&nlen, m->fs + at + 2, 2);
	memcpy(&f->size, m->fs + at + 4, 8);
	f->incomplete = (m->fs[at] & FE_INCOMPLETE) != 0;
	f->sha256 = f->incomplete ? NULL : m->fs + at + 12;
	f->ctype.p = m->fs + at + FE_HDR;
	f->ctype.len = clen;
	f->name.p = m->fs + at + FE_HDR + clen;
	f->name.len = nlen;
	*pos = at + FE_HDR + clen + nlen;
	return true;
}

/* ---- text decoding: charsets, RFC 2047, RFC 2231 ---- */

static bool is_latin1(const uint8_t *cs, size_t n)
{
	static const char *const names[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1",
		"l1", "cp819", "ibm819", "iso-ir-100", "iso_8859-1:1987",
	};
	/* RFC 2231 section 5: "charset*language" */
	const uint8_t *star = memchr(cs, '*', n);

	if (star)
		n = (size_t)(star - cs);
	for (size_t i = 0; i < MT_ARRAY_SIZE(names); i++)
		if (eq_ci(cs, n, names[i]))
			return true;
	return false;
}

/* Appends `in` to out[*o..cap) as UTF-8: Latin-1 is converted, anything
 * else (UTF-8, ASCII, charsets we do not map) is copied byte for byte. */
static void put_charset(bool latin1, const uint8_t *in, size_t n,
			uint8_t *out, size_t *o, size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (latin1 && c >= 0x80) {
			if (*o + 2 > cap)
				return;
			out[(*o)++] = (uint8_t)(0xc0 | c >> 6);
			out[(*o)++] = (uint8_t)(0x80 | (c & 0x3f));
		} else {
			if (*o >= cap)
				return;
			out[(*o)++] = c;
		}
	}
}

/*
 * One encoded word "=?charset?E?text?=" at s (s[0..1] == "=?"). Returns 1
 * when decoded (appended to out), -1 when malformed (the caller copies
 * `*used` bytes literally), 0 when no "?=" follows at all (nothing later
 * can be an encoded word either). `*used` is what the word spans.
 */
static int encoded_word(const uint8_t *s, size_t n, uint8_t *out, size_t *o,
			size_t cap, size_t *used)
{
	uint8_t tmp[MT_MIME_VALUE_MAX];
	const uint8_t *cs = s + 2, *text, *e;
	size_t k = 2, tl, tn = 0;
	uint8_t enc;

	while (k < n && k < 2 + 64 && s[k] != '?')
		k++;
	if (k >= n || s[k] != '?' || k == 2 || k + 2 >= n || s[k + 2] != '?') {
		*used = 2;
		return -1;
	}
	enc = lower(s[k + 1]);
	if (enc != 'b' && enc != 'q') {
		*used = 2;
		return -1;
	}
	text = s + k + 3;
	e = memmem(text, n - k - 3, "?=", 2);
	if (!e)
		return 0;
	tl = (size_t)(e - text);
	*used = (size_t)(e + 2 - s);
	if (enc == 'b') {
		struct mt_b64_stream b;
		uint8_t q[(64 / 4 + 1) * 3];

		memset(&b, 0, sizeof(b));
		for (size_t i = 0; i < tl; i += 64) {
			size_t c = MT_MIN((size_t)64, tl - i);
			size_t got = mt_b64_stream_feed(&b, text + i, c, q);

			got = MT_MIN(got, sizeof(tmp) - tn);
			memcpy(tmp + tn, q, got);
			tn += got;
		}
		/* Unpadded last quantum: decoders accept it, so do we. */
		if (b.nchars == 1)
			b.bad = 1;
		else if (b.nchars == 2 && tn < sizeof(tmp))
			tmp[tn++] = (uint8_t)(b.acc >> 4);
		else if (b.nchars == 3 && tn + 2 <= sizeof(tmp)) {
			tmp[tn++] = (uint8_t)(b.acc >> 10);
			tmp[tn++] = (uint8_t)(b.acc >> 2);
		}
		if (b.bad)
			return -1;
	} else {
		for (size_t i = 0; i < tl && tn < sizeof(tmp); i++) {
			uint8_t c = text[i];

			if (c == '_') {
				c = ' ';
			} else if (c == '=' && i + 2 < tl && hexval(text[i + 1]) >= 0 &&
				   hexval(text[i + 2]) >= 0) {
				c = (uint8_t)(hexval(text[i + 1]) << 4 | hexval(text[i + 2]));
				i += 2;
			}
			tmp[tn++] = c;
		}
	}
	put_charset(is_latin1(cs, k - 2), tmp, tn, out, o, cap);
	return 1;
}

/* RFC 2047 decoding of an unstructured value (Subject, a file name).
 * White space between two encoded words is dropped; everything else is
 * copied. Linear: every byte is looked at a bounded number of times. */
static size_t decode_2047(struct mt_mime *m, void *ctx, const uint8_t *in,
			  size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0, ws_at = 0, ws_len = 0;
	bool prev_word = false, give_up = false;

	while (i < n && o < cap) {
		uint8_t c = in[i];

		if (blank(c) && prev_word) {
			/* Held until we know whether another word follows. */
			if (ws_len == 0)
				ws_at = i;
			ws_len++;
			i++;
			continue;
		}
		if (c == '=' && !give_up && i + 1 < n && in[i + 1] == '?') {
			size_t used = 0;
			int r = encoded_word(in + i, n - i, out, &o, cap, &used);

			if (r == 1) {
				/* Blanks between two encoded words go. */
				i += used;
				ws_len = 0;
				prev_word = true;
				continue;
			}
			if (r == 0) {
				/* No "?=" anywhere after: nothing later can be a
				 * word either, so stop looking. */
				give_up = true;
				report(m, ctx, MT_CTR_anomaly_mime_bad_encoded_word,
				       in + i, n - i);
			}
			if (r == -1) {
				report(m, ctx, MT_CTR_anomaly_mime_bad_encoded_word,
				       in + i, used);
				if (ws_len)
					put_charset(false, in + ws_at, ws_len, out, &o, cap);
				ws_len = 0;
				put_charset(false, in + i, used, out, &o, cap);
				i += used;
				prev_word = false;
				continue;
			}
		}
		if (ws_len) {
			put_charset(false, in + ws_at, ws_len, out, &o, cap);
			ws_len = 0;
		}
		prev_word = false;
		if (o < cap)
			out[o++] = c;
		i++;
	}
	if (ws_len)
		put_charset(false, in + ws_at, ws_len, out, &o, cap);
	return o;
}

/* ---- parameters (RFC 2045 5.1, RFC 2231) ---- */

#define PARAM_SEGS 32

struct pseg {
	uint32_t off, len;      /* within the header value (mime_header_max <= 64k) */
	uint8_t quoted, ext, set;
};

/* Copies a quoted-string body (backslash escapes removed). */
static void put_unquoted(const uint8_t *p, size_t n, uint8_t *out, size_t *o,
			 size_t cap)
{
	for (size_t i = 0; i < n && *o < cap; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		out[(*o)++] = p[i];
	}
}

static void put_pct(const uint8_t *p, size_t n, uint8_t *out, size_t *o, size_t cap)
{
	for (size_t i = 0; i < n && *o < cap; i++) {
		uint8_t c = p[i];

		if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
		    hexval(p[i + 2]) >= 0) {
			c = (uint8_t)(hexval(p[i + 1]) << 4 | hexval(p[i + 2]));
			i += 2;
		}
		out[(*o)++] = c;
	}
}

/*
 * Value of parameter `name` in a Content-Type or Content-Disposition value
 * `v` (the part after the first ';' is searched). RFC 2231 forms
 * (name*=charset''%xx, name*0=, name*1*=...) win over the plain one; when
 * `text` is set the result is decoded to UTF-8 (charset, RFC 2047 words in
 * a plain value); otherwise it is returned raw. Returns false if absent.
 */
static bool param_get(struct mt_mime *m, void *ctx, const uint8_t *v, size_t n,
		      const char *name, bool text, uint8_t *out, size_t cap,
		      size_t *olen)
{
	struct pseg segs[PARAM_SEGS], plain, ext1;
	size_t nl = strlen(name), i, o = 0;
	const uint8_t *semi = memchr(v, ';', n);
	uint8_t tmp[MT_MIME_VALUE_MAX];

	memset(segs, 0, sizeof(segs));
	memset(&plain, 0, sizeof(plain));
	memset(&ext1, 0, sizeof(ext1));
	if (!semi)
		return false;
	i = (size_t)(semi - v) + 1;
	while (i < n) {
		size_t a0, a1, v0, v1;
		uint8_t quoted = 0;
		struct pseg *dst = NULL;
		const uint8_t *attr;
		size_t al;

		while (i < n && (blank(v[i]) || v[i] == ';'))
			i++;
		a0 = i;
		while (i < n && v[i] != '=' && v[i] != ';' && !blank(v[i]))
			i++;
		a1 = i;
		while (i < n && blank(v[i]))
			i++;
		if (i >= n || v[i] != '=') {
			/* Not a parameter: skip to the next ';'. */
			while (i < n && v[i] != ';')
				i++;
			continue;
		}
		i++;
		while (i < n && blank(v[i]))
			i++;
		if (i < n && v[i] == '"') {
			quoted = 1;
			v0 = ++i;
			while (i < n && v[i] != '"') {
				if (v[i] == '\\' && i + 1 < n)
					i++;
				i++;
			}
			v1 = MT_MIN(i, n);
			if (i < n)
				i++;
		} else {
			v0 = i;
			while (i < n && v[i] != ';')
				i++;
			v1 = i;
			while (v1 > v0 && blank(v[v1 - 1]))
				v1--;
		}
		attr = v + a0;
		al = a1 - a0;
		if (al < nl || !prefix_ci(attr, al, name))
			continue;
		if (al == nl) {
			dst = &plain;
		} else if (attr[nl] == '*') {
			size_t k = nl + 1;
			unsigned idx = 0, digits = 0;

			if (k == al) {
				dst = &ext1;
				dst->ext = 1;
			} else {
				while (k < al && attr[k] >= '0' && attr[k] <= '9' && digits < 3) {
					idx = idx * 10 + (unsigned)(attr[k] - '0');
					k++;
					digits++;
				}
				if (!digits || idx >= PARAM_SEGS ||
				    !(k == al || (k + 1 == al && attr[k] == '*')))
					continue;
				dst = &segs[idx];
				if (dst->set)
					continue;
				dst->ext = k + 1 == al;
			}
		}
		if (!dst || dst->set)
			continue;
		dst->set = 1;
		dst->off = (uint32_t)v0;
		dst->len = (uint32_t)(v1 - v0);
		dst->quoted = quoted;
	}
	if (ext1.set || segs[0].set) {
		/* charset'language'pct-encoded in the first (extended) piece. */
		const uint8_t *cs = NULL;
		size_t csl = 0, tn = 0;
		struct pseg *first = ext1.set ? &ext1 : &segs[0];
		unsigned nseg = ext1.set ? 1 : PARAM_SEGS;

		for (unsigned k = 0; k < nseg; k++) {
			struct pseg *sg = ext1.set ? &ext1 : &segs[k];
			const uint8_t *p = v + sg->off;
			size_t l = sg->len;

			if (!sg->set)
				break;
			if (sg->ext && sg == first) {
				const uint8_t *q1 = memchr(p, '\'', l), *q2;

				if (q1) {
					q2 = memchr(q1 + 1, '\'', l - (size_t)(q1 + 1 - p));
					if (q2) {
						cs = p;
						csl = (size_t)(q1 - p);
						l -= (size_t)(q2 + 1 - p);
						p = q2 + 1;
					}
				}
			}
			if (!text)
				put_unquoted(p, l, tmp, &tn, sizeof(tmp));
			else if (sg->ext)
				put_pct(p, l, tmp, &tn, sizeof(tmp));
			else if (sg->quoted)
				put_unquoted(p, l, tmp, &tn, sizeof(tmp));
			else
				put_charset(false, p, l, tmp, &tn, sizeof(tmp));
		}
		if (text)
			put_charset(cs && is_latin1(cs, csl), tmp, tn, out, &o, cap);
		else
			put_charset(false, tmp, tn, out, &o, cap);
		*olen = o;
		return true;
	}
	if (!plain.set)
		return false;
	if (plain.quoted) {
		size_t tn = 0;

		put_unquoted(v + plain.off, plain.len, tmp, &tn, sizeof(tmp));
		if (text)
			o = decode_2047(m, ctx, tmp, tn, out, cap);
		else
			put_charset(false, tmp, tn, out, &o, cap);
	} else if (text) {
		o = decode_2047(m, ctx, v + plain.off, plain.len, out, cap);
	} else {
		put_charset(false, v + plain.off, plain.len, out, &o, cap);
	}
	*olen = o;
	return true;
}

/* ---- header fields ---- */

/* To / Cc: addresses split at commas outside quotes, comments and <>. */
static void store_list(struct mt_mime *m, void *ctx, enum mt_mime_field f,
		       const uint8_t *v, size_t n)
{
	unsigned items = 0, paren = 0;
	bool inq = false, esc = false, angle = false;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		uint8_t c = i < n ? v[i] : ',';

		if (i < n) {
			if (esc) {
				esc = false;
				continue;
			}
			if (inq) {
				if (c == '\\')
					esc = true;
				else if (c == '"')
					inq = false;
				continue;
			}
			if (c == '"')
				inq = true;
			else if (c == '(')
				paren++;
			else if (c == ')' && paren)
				paren--;
			else if (c == '<')
				angle = true;
			else if (c == '>')
				angle = false;
			if (c != ',' || paren || angle)
				continue;
		}
		{
			const uint8_t *ip = v + start;
			size_t il = i - start;

			start = i + 1;
			trim(&ip, &il);
			if (!il)
				continue;
			if (++items > MT_MIME_LIST_MAX) {
				report_once(m, ctx, REP_STORE, MT_CTR_anomaly_mime_store_full,
					    ip, il);
				return;
			}
			store_value(m, ctx, f, ip, MT_MIN(il, (size_t)MT_MIME_ADDR_MAX));
		}
	}
}

static void single(struct mt_mime *m, void *ctx, enum mt_mime_field f,
		   const uint8_t *v, size_t n)
{
	/* The first occurrence counts: a second From: is a forgery trick and
	 * shows up to the reader of the message as the first one does. */
	if (m->have & (1u << f))
		return;
	m->have |= (uint16_t)(1u << f);
	if (f == MT_MIME_TO || f == MT_MIME_CC) {
		store_list(m, ctx, f, v, n);
		return;
	}
	if (f == MT_MIME_SUBJECT) {
		uint8_t dec[MT_MIME_VALUE_MAX];
		size_t dl = decode_2047(m, ctx, v, n, dec, sizeof(dec));

		store_value(m, ctx, f, dec, dl);
		return;
	}
	store_value(m, ctx, f, v, MT_MIN(n, (size_t)MT_MIME_VALUE_MAX));
}

static void content_type(struct mt_mime *m, void *ctx, const uint8_t *v, size_t n)
{
	const uint8_t *semi = memchr(v, ';', n), *t = v;
	size_t tl = semi ? (size_t)(semi - v) : n, bl = 0;
	uint8_t name[MT_MIME_NAME_MAX];
	size_t nl = 0;

	trim(&t, &tl);
	tl = MT_MIN(tl, sizeof(m->h_ctype));
	for (size_t i = 0; i < tl; i++)
		m->h_ctype[i] = (char)lower(t[i]);
	m->h_ctype_len = (uint8_t)tl;
	if (prefix_ci(t, tl, "multipart/")) {
		uint8_t b[MT_MIME_BOUNDARY_MAX + 1];

		m->h_multipart = 1;
		/* One byte more than we accept tells "too long" apart. */
		if (!param_get(m, ctx, v, n, "boundary", false, b, sizeof(b), &bl) ||
		    bl == 0 || bl > MT_MIME_BOUNDARY_MAX) {
			m->h_has_bnd = 0;
		} else if (m->nb < m->lim.depth_max) {
			/* Staged in the next level's slot; pushed at the end of
			 * the header block if the nesting cap allows. */
			memcpy(m->bnd + (size_t)m->nb * MT_MIME_BOUNDARY_MAX, b, bl);
			m->h_bnd_len = (uint8_t)bl;
			m->h_has_bnd = 1;
		} else {
			m->h_has_bnd = 2; /* usable, but no slot left: nesting cap */
		}
	} else if (eq_ci(t, tl, "message/rfc822") || eq_ci(t, tl, "message/global")) {
		m->h_rfc822 = 1;
	}
	if (!m->h_name_from_cd &&
	    param_get(m, ctx, v, n, "name", true, name, sizeof(name), &nl)) {
		memcpy(m->h_name, name, nl);
		m->h_name_len = (uint16_t)nl;
	}
}

static void content_disposition(struct mt_mime *m, void *ctx, const uint8_t *v,
				size_t n)
{
	const uint8_t *semi = memchr(v, ';', n), *t = v;
	size_t tl = semi ? (size_t)(semi - v) : n;
	uint8_t name[MT_MIME_NAME_MAX];
	size_t nl = 0;

	trim(&t, &tl);
	if (eq_ci(t, tl, "attachment"))
		m->h_attach = 1;
	if (param_get(m, ctx, v, n, "filename", true, name, sizeof(name), &nl)) {
		memcpy(m->h_name, name, nl);
		m->h_name_len = (uint16_t)nl;
		m->h_name_from_cd = 1;
	}
}

#define SEEN_CT 0x01
#define SEEN_CD 0x02
#define SEEN_CTE 0x04

/* A complete (unfolded) field is in hbuf. */
static void field_done(struct mt_mime *m, void *ctx)
{
	const uint8_t *h = m->hbuf, *colon, *name, *v;
	size_t nl, vl;

	if (m->hlen == 0)
		return;
	if (++m->nfields > m->lim.headers_max) {
		if (m->nfields == m->lim.headers_max + 1)
			report(m, ctx, MT_CTR_anomaly_mime_too_many_headers, h, m->hlen);
		goto out;
	}
	if (m->htrunc)
		report(m, ctx, MT_CTR_anomaly_mime_header_too_long, h, m->hlen);
	colon = memchr(h, ':', m->hlen);
	if (!colon)
		goto out;
	name = h;
	nl = (size_t)(colon - h);
	trim(&name, &nl);
	v = colon + 1;
	vl = m->hlen - (size_t)(v - h);
	trim(&v, &vl);
	if (eq_ci(name, nl, "content-type")) {
		if (!(m->h_seen & SEEN_CT)) {
			m->h_seen |= SEEN_CT;
			content_type(m, ctx, v, vl);
		}
	} else if (eq_ci(name, nl, "content-disposition")) {
		if (!(m->h_seen & SEEN_CD)) {
			m->h_seen |= SEEN_CD;
			content_disposition(m, ctx, v, vl);
		}
	} else if (eq_ci(name, nl, "content-transfer-encoding")) {
		if (!(m->h_seen & SEEN_CTE)) {
			m->h_seen |= SEEN_CTE;
			if (eq_ci(v, vl, "base64"))
				m->h_cte = CTE_B64;
			else if (eq_ci(v, vl, "quoted-printable"))
				m->h_cte = CTE_QP;
		}
	} else if (m->top) {
		static const struct {
			const char *name;
			uint8_t f;
		} tops[] = {
			{ "from", MT_MIME_FROM }, { "to", MT_MIME_TO }, { "cc", MT_MIME_CC },
			{ "subject", MT_MIME_SUBJECT }, { "message-id", MT_MIME_MESSAGE_ID },
			{ "date", MT_MIME_DATE }, { "x-mailer", MT_MIME_X_MAILER },
			{ "user-agent", MT_MIME_USER_AGENT },
		};

		if (eq_ci(name, nl, "received")) {
			if (m->received < UINT16_MAX)
				m->received++;
			goto out;
		}
		for (size_t i = 0; i < MT_ARRAY_SIZE(tops); i++)
			if (eq_ci(name, nl, tops[i].name)) {
				single(m, ctx, tops[i].f, v, vl);
				break;
			}
	}
out:
	m->hlen = 0;
	m->htrunc = 0;
}

static void headers_begin(struct mt_mime *m, bool top)
{
	m->mode = M_HEADERS;
	m->top = top;
	m->hlen = 0;
	m->htrunc = 0;
	m->nfields = 0;
	m->h_cte = CTE_IDENT;
	m->h_attach = 0;
	m->h_multipart = 0;
	m->h_rfc822 = 0;
	m->h_name_from_cd = 0;
	m->h_has_bnd = 0;
	m->h_bnd_len = 0;
	m->h_seen = 0;
	m->h_name_len = 0;
	m->h_ctype_len = 0;
}

/* ---- leaf content: decoding and hashing ---- */

static void start_file(struct mt_mime *m, void *ctx)
{
	size_t need = FE_HDR + m->h_ctype_len + m->h_name_len;
	uint8_t *e;
	uint16_t nl = m->h_name_len;

	if (m->fs_used + need > sizeof(m->fs)) {
		report_once(m, ctx, REP_STORE, MT_CTR_anomaly_mime_store_full,
			    (const uint8_t *)m->h_name, m->h_name_len);
		return;
	}
	e = m->fs + m->fs_used;
	memset(e, 0, FE_HDR);
	e[1] = m->h_ctype_len;
	memcpy(e + 2, &nl, 2);
	memcpy(e + FE_HDR, m->h_ctype, m->h_ctype_len);
	memcpy(e + FE_HDR + m->h_ctype_len, m->h_name, m->h_name_len);
	m->file_off = m->fs_used;
	m->fs_used = (uint16_t)(m->fs_used + need);
	m->nfiles++;
	m->file = 1;
	m->cte = m->h_cte;
	m->part_bad = 0;
	m->file_size = 0;
	m->qp_state = Q_TEXT;
	m->qp_ws_len = 0;
	memset(&m->b64, 0, sizeof(m->b64));
	mbedtls_sha256_init(&m->sha);
	sha_starts(&m->sha);
}

static inline void hash(struct mt_mime *m, const uint8_t *p, size_t n)
{
	if (n) {
		sha_update(&m->sha, p, n);
		m->file_size += n;
	}
}

/* Quoted-printable (RFC 2045 6.7), resumable at any byte: "=" and one hex
 * digit may end a chunk, and blanks are held until we know they are not
 * the trailing white space a decoder must drop. Line breaks come out as
 * CRLF, the canonical form. */
static void qp_decode(struct mt_mime *m, const uint8_t *p, size_t n)
{
	uint8_t out[512];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (o + sizeof(m->qp_ws) + 4 > sizeof(out)) {
			hash(m, out, o);
			o = 0;
		}
again:
		switch (m->qp_state) {
		case Q_TEXT:
			if (blank(c)) {
				if (m->qp_ws_len == sizeof(m->qp_ws)) {
					memcpy(out + o, m->qp_ws, m->qp_ws_len);
					o += m->qp_ws_len;
					m->qp_ws_len = 0;
				}
				m->qp_ws[m->qp_ws_len++] = c;
				break;
			}
			if (c == '\r')
				break;
			if (c == '\n') {
				m->qp_ws_len = 0; /* trailing blanks */
				out[o++] = '\r';
				out[o++] = '\n';
				break;
			}
			memcpy(out + o, m->qp_ws, m->qp_ws_len);
			o += m->qp_ws_len;
			m->qp_ws_len = 0;
			if (c == '=')
				m->qp_state = Q_EQ;
			else
				out[o++] = c;
			break;
		case Q_EQ:
			if (hexval(c) >= 0) {
				m->qp_hex = c;
				m->qp_state = Q_EQ1;
			} else if (c == '\n') {
				m->qp_state = Q_TEXT; /* soft line break */
			} else if (blank(c) || c == '\r') {
				m->qp_state = Q_EQWS;
			} else {
				out[o++] = '=';
				m->qp_state = Q_TEXT;
				goto again;
			}
			break;
		case Q_EQWS:
			if (c == '\n') {
				m->qp_state = Q_TEXT;
			} else if (!blank(c) && c != '\r') {
				out[o++] = '=';
				m->qp_state = Q_TEXT;
				goto again;
			}
			break;
		case Q_EQ1:
			m->qp_state = Q_TEXT;
			if (hexval(c) >= 0) {
				out[o++] = (uint8_t)(hexval(m->qp_hex) << 4 | hexval(c));
			} else {
				out[o++] = '=';
				out[o++] = m->qp_hex;
				goto again;
			}
			break;
		}
	}
	hash(m, out, o);
}

static void decode(struct mt_mime *m, void *ctx, const uint8_t *p, size_t n)
{
	uint8_t out[(1020 / 4 + 1) * 3];

	if (!m->file || !n)
		return;
	switch (m->cte) {
	case CTE_B64:
		for (size_t i = 0; i < n; i += 1020) {
			size_t k = MT_MIN((size_t)1020, n - i);

			hash(m, out, mt_b64_stream_feed(&m->b64, p + i, k, out));
			if (m->b64.bad && !m->part_bad) {
				m->part_bad = 1;
				report(m, ctx, MT_CTR_anomaly_mime_bad_base64, p + i, k);
			}
		}
		break;
	case CTE_QP:
		qp_decode(m, p, n);
		break;
	default:
		hash(m, p, n);
		break;
	}
}

static void part_finish(struct mt_mime *m, void *ctx, bool incomplete)
{
	uint8_t *e;

	if (m->mode == M_BODY)
		m->mode = M_SKIP;
	if (!m->file)
		return;
	m->file = 0;
	e = m->fs + m->file_off;
	if (!incomplete) {
		uint8_t tail[3];
		size_t t = 0;

		if (m->cte == CTE_B64) {
			/* An unpadded last quantum, as lenient decoders take it. */
			if (m->b64.nchars == 2) {
				tail[t++] = (uint8_t)(m->b64.acc >> 4);
			} else if (m->b64.nchars == 3) {
				tail[t++] = (uint8_t)(m->b64.acc >> 10);
				tail[t++] = (uint8_t)(m->b64.acc >> 2);
			} else if (m->b64.nchars == 1 && !m->part_bad) {
				m->part_bad = 1;
				report(m, ctx, MT_CTR_anomaly_mime_bad_base64, NULL, 0);
			}
		} else if (m->cte == CTE_QP) {
			/* "=" at the very end is a soft break; "=X" is literal. */
			if (m->qp_state == Q_EQ1) {
				tail[t++] = '=';
				tail[t++] = m->qp_hex;
			}
		}
		hash(m, tail, t);
		sha_finish(&m->sha, e + 12);
	} else {
		e[0] |= FE_INCOMPLETE;
	}
	memcpy(e + 4, &m->file_size, 8);
	mbedtls_sha256_free(&m->sha);
}

/* ---- structure ---- */

static void headers_end(struct mt_mime *m, void *ctx)
{
	bool named;
	uint32_t depth = (uint32_t)m->nb + m->msg_depth;

	field_done(m, ctx);
	m->top = 0;
	named = m->h_name_len > 0 || m->h_attach;
	if (m->h_multipart) {
		if (!m->h_has_bnd) {
			report(m, ctx, MT_CTR_anomaly_mime_missing_boundary,
			       (const uint8_t *)m->h_ctype, m->h_ctype_len);
			goto leaf;
		}
		if (depth + 1 > m->lim.depth_max || m->h_has_bnd != 1) {
			report(m, ctx, MT_CTR_anomaly_mime_nesting_too_deep,
			       (const uint8_t *)m->h_ctype, m->h_ctype_len);
			m->mode = M_SKIP;
			return;
		}
		m->lvl[m->nb].blen = m->h_bnd_len;
		m->lvl[m->nb].msg_depth = m->msg_depth;
		m->nb++;
		m->mode = M_SKIP; /* the preamble */
		return;
	}
	if (m->h_rfc822 && !named && m->h_cte == CTE_IDENT) {
		/* A forwarded message: its own header block and body follow. */
		if (depth + 1 > m->lim.depth_max) {
			report(m, ctx, MT_CTR_anomaly_mime_nesting_too_deep,
			       (const uint8_t *)m->h_ctype, m->h_ctype_len);
			m->mode = M_SKIP;
			return;
		}
		if (++m->parts > m->lim.parts_max) {
			report(m, ctx, MT_CTR_anomaly_mime_too_many_parts, NULL, 0);
			m->mode = M_SKIP;
			return;
		}
		m->msg_depth++;
		headers_begin(m, false);
		return;
	}
leaf:
	if (m->leaves < UINT16_MAX)
		m->leaves++;
	m->mode = M_BODY;
	if (named)
		start_file(m, ctx);
}

/* Whatever entity is open ends here (a delimiter, a gap, the end). */
static void entity_end(struct mt_mime *m, void *ctx, bool incomplete)
{
	if (m->mode == M_HEADERS)
		headers_end(m, ctx);
	if (m->mode == M_BODY)
		part_finish(m, ctx, incomplete);
}

static void run_flush(struct mt_mime *m, void *ctx)
{
	if (m->run_n) {
		decode(m, ctx, m->run_p, m->run_n);
		m->run_n = 0;
	}
}

/* Body bytes. `stable` bytes lie in the caller's chunk and may be merged
 * with the previous run (one decoder call per chunk instead of per line);
 * others come from our own small buffers and are decoded at once. */
static void body_out(struct mt_mime *m, void *ctx, const uint8_t *p, size_t n,
		     bool stable)
{
	if (!m->file || !n)
		return;
	if (stable && m->run_n && m->run_p + m->run_n == p) {
		m->run_n += n;
		return;
	}
	run_flush(m, ctx);
	if (stable) {
		m->run_p = p;
		m->run_n = n;
	} else {
		decode(m, ctx, p, n);
	}
}

static void delimiter(struct mt_mime *m, void *ctx, unsigned level, bool close)
{
	/* The line end before a delimiter is part of the delimiter. */
	m->held_len = 0;
	run_flush(m, ctx);
	entity_end(m, ctx, false);
	m->nb = (uint8_t)(level + 1);
	m->msg_depth = m->lvl[level].msg_depth;
	if (close) {
		m->nb = (uint8_t)level;
		m->mode = M_SKIP; /* the epilogue */
		return;
	}
	if (++m->parts > m->lim.parts_max) {
		/* Each part beyond the cap is counted, then skipped. */
		report(m, ctx, MT_CTR_anomaly_mime_too_many_parts, NULL, 0);
		m->mode = M_SKIP;
		return;
	}
	headers_begin(m, false);
}

/* A line turned out not to be a delimiter; `c` is its first byte. */
static void line_begin(struct mt_mime *m, void *ctx, uint8_t c)
{
	switch (m->mode) {
	case M_HEADERS:
		/* Not a continuation: the previous field is complete. */
		if (!blank(c))
			field_done(m, ctx);
		break;
	case M_BODY:
		if (m->held_len)
			body_out(m, ctx, m->held_p, m->held_len, m->held_in_chunk);
		break;
	default:
		break;
	}
	m->held_len = 0;
}

static void line_bytes(struct mt_mime *m, void *ctx, const uint8_t *p, size_t n,
		       bool stable)
{
	uint32_t room;

	m->line_len += (uint32_t)MT_MIN(n, (size_t)UINT32_MAX - m->line_len);
	if (m->line_len > MT_MIME_LINE_MAX)
		report_once(m, ctx, REP_LINE, MT_CTR_anomaly_mime_line_too_long, p, n);
	switch (m->mode) {
	case M_HEADERS:
		room = m->lim.header_max - m->hlen;
		if (n > room) {
			m->htrunc = 1;
			n = room;
		}
		memcpy(m->hbuf + m->hlen, p, n);
		m->hlen += (uint32_t)n;
		break;
	case M_BODY:
		body_out(m, ctx, p, n, stable);
		break;
	default:
		break;
	}
}

static void line_end(struct mt_mime *m, void *ctx, const uint8_t *eol, size_t len,
		     bool stable)
{
	if (m->mode == M_HEADERS && m->line_len == 0) {
		headers_end(m, ctx);
	} else if (m->mode == M_BODY) {
		/* Held: it belongs to the content only if no delimiter follows. */
		m->held_p = eol;
		m->held_len = (uint8_t)len;
		m->held_in_chunk = stable;
	}
	m->line_len = 0;
	m->lstate = L_BOL;
}

/* The peeked line start is ordinary content. */
static void peek_fail(struct mt_mime *m, void *ctx)
{
	size_t k = m->pk_len;

	m->lstate = L_MID;
	if (!k)
		return;
	/* A CR last may be the first half of the line end. */
	if (m->pk[k - 1] == '\r') {
		k--;
		m->pend_cr = 1;
	}
	line_begin(m, ctx, m->pk[0]);
	line_bytes(m, ctx, m->pk, k, false);
	m->pk_len = 0;
}

/* Can the peeked line still be a delimiter of level i, given byte c at
 * position k of the line? Updates the level's suffix state. */
static bool step(struct mt_mime *m, unsigned i, size_t k, uint8_t c)
{
	size_t bl = m->lvl[i].blen;

	if (k < 2)
		return c == '-';
	if (k - 2 < bl)
		return c == m->bnd[i * MT_MIME_BOUNDARY_MAX + (k - 2)];
	switch (m->rest[i]) {
	case R_NONE:
		if (c == '-')
			m->rest[i] = R_DASH1;
		else if (blank(c) || c == '\r')
			m->rest[i] = R_BLANK_OPEN;
		else
			return false;
		return true;
	case R_DASH1:
		if (c != '-')
			return false;
		m->rest[i] = R_CLOSE;
		return true;
	case R_CLOSE:
	case R_BLANK_CLOSE:
		if (!blank(c) && c != '\r')
			return false;
		m->rest[i] = R_BLANK_CLOSE;
		return true;
	default:
		return blank(c) || c == '\r';
	}
}

/* Innermost level the peeked line completes, or -1. */
static int peek_match(struct mt_mime *m, bool *close)
{
	for (int i = m->nb - 1; i >= 0; i--) {
		if (!(m->cand & (1u << i)) || m->pk_len < 2u + m->lvl[i].blen)
			continue;
		if (m->rest[i] == R_DASH1)
			continue;
		*close = m->rest[i] == R_CLOSE || m->rest[i] == R_BLANK_CLOSE;
		return i;
	}
	return -1;
}

static const uint8_t *peek(struct mt_mime *m, void *ctx, const uint8_t *p,
			   const uint8_t *end)
{
	while (p < end) {
		uint8_t c = *p;
		bool close = false;
		int lvl;

		if (c == '\n') {
			lvl = peek_match(m, &close);
			p++;
			if (lvl >= 0) {
				m->line_len = 0;
				m->pk_len = 0;
				m->lstate = L_BOL;
				delimiter(m, ctx, (unsigned)lvl, close);
				return p;
			}
			peek_fail(m, ctx);
			line_end(m, ctx, m->pend_cr ? crlf : crlf + 1,
				 m->pend_cr ? 2 : 1, false);
			m->pend_cr = 0;
			return p;
		}
		if (m->pk_len == sizeof(m->pk)) {
			/* Only blanks can still follow a delimiter here. */
			lvl = peek_match(m, &close);
			if (lvl >= 0 && m->rest[lvl] != R_NONE) {
				m->wt_level = (uint8_t)lvl;
				m->wt_close = close;
				m->ws_tail = 0;
				m->lstate = L_WSTAIL;
			} else {
				peek_fail(m, ctx);
			}
			return p;
		}
		m->pk[m->pk_len++] = c;
		p++;
		for (uint32_t bits = m->cand; bits; bits &= bits - 1) {
			unsigned i = (unsigned)__builtin_ctz(bits);

			if (!step(m, i, m->pk_len - 1u, c))
				m->cand &= ~(1u << i);
		}
		if (!m->cand) {
			peek_fail(m, ctx);
			return p;
		}
	}
	return p;
}

static const uint8_t *wstail(struct mt_mime *m, void *ctx, const uint8_t *p,
			     const uint8_t *end)
{
	static const uint8_t spaces[32] = "                                ";

	while (p < end && (blank(*p) || *p == '\r')) {
		p++;
		m->ws_tail++;
	}
	if (p == end)
		return p;
	if (*p == '\n') {
		m->pk_len = 0;
		m->line_len = 0;
		m->lstate = L_BOL;
		delimiter(m, ctx, m->wt_level, m->wt_close);
		return p + 1;
	}
	/* Not a delimiter after all. The blanks were not kept: they come out
	 * as spaces, so a hash over such a pathological line may differ. */
	m->pend_cr = 0;
	peek_fail(m, ctx);
	m->pend_cr = 0;
	while (m->ws_tail) {
		uint32_t k = MT_MIN(m->ws_tail, (uint32_t)sizeof(spaces));

		line_bytes(m, ctx, spaces, k, false);
		m->ws_tail -= k;
	}
	return p;
}

static const uint8_t *mid(struct mt_mime *m, void *ctx, const uint8_t *p,
			  const uint8_t *end)
{
	const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
	const uint8_t *stop = lf ? lf : end;
	size_t k = (size_t)(stop - p);
	bool cr_before = false, cr_in_chunk = false;

	if (m->pend_cr) {
		/* The CR that ended the last chunk: a line end only if an LF
		 * comes straight after it. */
		m->pend_cr = 0;
		if (lf && k == 0)
			cr_before = true;
		else
			line_bytes(m, ctx, crlf, 1, false);
	}
	if (k && stop[-1] == '\r') {
		k--;
		if (lf)
			cr_in_chunk = true;
		else
			m->pend_cr = 1;
	}
	if (k)
		line_bytes(m, ctx, p, k, true);
	if (!lf)
		return end;
	if (cr_in_chunk)
		line_end(m, ctx, stop - 1, 2, true);
	else if (cr_before)
		line_end(m, ctx, crlf, 2, false);
	else
		line_end(m, ctx, stop, 1, true);
	return lf + 1;
}

void mt_mime_feed(struct mt_mime *m, const uint8_t *p, size_t n, void *ctx)
{
	const uint8_t *end = p + n;

	if (m->mode == M_IDLE || !n)
		return;
	while (p < end) {
		switch (m->lstate) {
		case L_BOL:
			m->line_len = 0;
			if (m->nb && *p == '-') {
				m->pk_len = 0;
				m->cand = m->nb >= 32 ? UINT32_MAX : (1u << m->nb) - 1;
				memset(m->rest, R_NONE, m->nb);
				m->lstate = L_PEEK;
				break;
			}
			line_begin(m, ctx, *p);
			m->lstate = L_MID;
			/* fall through */
		case L_MID:
			p = mid(m, ctx, p, end);
			break;
		case L_PEEK:
			p = peek(m, ctx, p, end);
			break;
		case L_WSTAIL:
			p = wstail(m, ctx, p, end);
			break;
		}
	}
	run_flush(m, ctx);
	/* A held line end inside the chunk must outlive it. */
	if (m->held_len && m->held_in_chunk) {
		memcpy(m->held, m->held_p, m->held_len);
		m->held_p = m->held;
		m->held_in_chunk = 0;
	}
}

void mt_mime_gap(struct mt_mime *m, void *ctx)
{
	if (m->mode == M_IDLE)
		return;
	m->held_len = 0;
	m->run_n = 0;
	if (m->mode == M_HEADERS) {
		/* The rest of the header block is gone: nothing it said is
		 * trustworthy, so its content is skipped. */
		m->top = 0;
		m->mode = M_SKIP;
	} else if (m->mode == M_BODY) {
		part_finish(m, ctx, true);
	}
	m->mode = M_SKIP;
	m->lstate = L_MID;
	m->pend_cr = 0;
	m->pk_len = 0;
	m->line_len = 0;
}

void mt_mime_end(struct mt_mime *m, void *ctx)
{
	static const uint8_t spaces[32] = "                                ";

	if (m->mode == M_IDLE)
		return;
	switch (m->lstate) {
	case L_PEEK:
	case L_WSTAIL:
		if (m->pk_len) {
			line_begin(m, ctx, m->pk[0]);
			line_bytes(m, ctx, m->pk, m->pk_len, false);
		}
		while (m->lstate == L_WSTAIL && m->ws_tail) {
			uint32_t k = MT_MIN(m->ws_tail, (uint32_t)sizeof(spaces));

			line_bytes(m, ctx, spaces, k, false);
			m->ws_tail -= k;
		}
		break;
	case L_MID:
		if (m->pend_cr)
			line_bytes(m, ctx, crlf, 1, false);
		break;
	default:
		break;
	}
	/* No delimiter follows: the last line end is content. */
	if (m->mode == M_BODY && m->held_len)
		body_out(m, ctx, m->held_p, m->held_len, false);
	m->held_len = 0;
	m->pend_cr = 0;
	run_flush(m, ctx);
	entity_end(m, ctx, false);
	m->mode = M_IDLE;
}

size_t mt_mime_extra_size(const struct mt_mime_limits *lim)
{
	return (size_t)lim->header_max +
	       (size_t)MT_MIN(lim->depth_max, 32u) * MT_MIME_BOUNDARY_MAX;
}

void mt_mime_init(struct mt_mime *m, const struct mt_mime_limits *lim,
		  uint8_t *extra, mt_mime_anomaly_fn anomaly)
{
	memset(m, 0, sizeof(*m));
	m->lim = *lim;
	if (m->lim.depth_max > 32)
		m->lim.depth_max = 32;
	m->anomaly = anomaly;
	m->hbuf = extra;
	m->bnd = extra + lim->header_max;
}

void mt_mime_begin(struct mt_mime *m)
{
	memset(&m->mode, 0, sizeof(*m) - offsetof(struct mt_mime, mode));
	headers_begin(m, true);
	m->lstate = L_BOL;
}
