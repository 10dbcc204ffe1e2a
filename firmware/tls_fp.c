/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JA3, JA3S and JA4 over parsed hello fields, and the certificate summary,
 * with mbedTLS for MD5, SHA-256 and X.509 (2.28 and 3.x alike). Strings are
 * built in fixed buffers while the digests are streamed, so a hostile hello
 * with thousands of cipher suites costs linear time and no memory.
 */
#include "tls_fp.h"

#include <errno.h>
#include <stdio.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

/* mbedTLS 3 dropped the _ret suffixes that 2.x added in 2.7. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define md5_starts(c) mbedtls_md5_starts(c)
#define md5_update(c, p, n) mbedtls_md5_update(c, p, n)
#define md5_finish(c, o) mbedtls_md5_finish(c, o)
#define sha256_starts(c) mbedtls_sha256_starts(c, 0)
#define sha256_update(c, p, n) mbedtls_sha256_update(c, p, n)
#define sha256_finish(c, o) mbedtls_sha256_finish(c, o)
#define sha256_once(p, n, o) mbedtls_sha256(p, n, o, 0)
#else
#define md5_starts(c) mbedtls_md5_starts_ret(c)
#define md5_update(c, p, n) mbedtls_md5_update_ret(c, p, n)
#define md5_finish(c, o) mbedtls_md5_finish_ret(c, o)
#define sha256_starts(c) mbedtls_sha256_starts_ret(c, 0)
#define sha256_update(c, p, n) mbedtls_sha256_update_ret(c, p, n)
#define sha256_finish(c, o) mbedtls_sha256_finish_ret(c, o)
#define sha256_once(p, n, o) mbedtls_sha256_ret(p, n, o, 0)
#endif

static const char hexd[] = "0123456789abcdef";

static uint16_t at16(const uint8_t *p, uint32_t i)
{
	return mt_load_be16(p + 2 * (size_t)i);
}

/* ---- JA3 / JA3S: text into a bounded buffer, MD5 over all of it ---- */

struct ja3_sink {
	mbedtls_md5_context md5;
	struct mt_tls_ja3 *out;
};

static void put(struct ja3_sink *s, const char *p, size_t n)
{
	struct mt_tls_ja3 *o = s->out;
	size_t room = MT_TLS_JA3_MAX - o->len;

	md5_update(&s->md5, (const unsigned char *)p, n);
	if (n > room) {
		n = room;
		o->truncated = true;
	}
	memcpy(o->str + o->len, p, n);
	o->len += (uint32_t)n;
}

/* Decimal digits of a 16-bit value; snprintf per cipher was a third of
 * the cost of a ClientHello. */
static void put_dec(struct ja3_sink *s, unsigned v)
{
	char b[8];
	size_t n = sizeof(b);

	do {
		b[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n);
	put(s, b + n, sizeof(b) - n);
}

/* ",v-v-v": one dash-joined field, GREASE left out. */
static void put_list16(struct ja3_sink *s, const uint8_t *be, const uint16_t *host,
		       uint32_t n)
{
	bool first = true;

	put(s, ",", 1);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t v = be ? at16(be, i) : host[i];

		if (mt_tls_is_grease(v))
			continue;
		if (!first)
			put(s, "-", 1);
		put_dec(s, v);
		first = false;
	}
}

static void sink_open(struct ja3_sink *s, struct mt_tls_ja3 *out)
{
	memset(out, 0, sizeof(*out));
	s->out = out;
	mbedtls_md5_init(&s->md5);
	md5_starts(&s->md5);
}

static void sink_close(struct ja3_sink *s)
{
	uint8_t d[16];

	md5_finish(&s->md5, d);
	mbedtls_md5_free(&s->md5);
	for (int i = 0; i < 16; i++) {
		s->out->hash[2 * i] = hexd[d[i] >> 4];
		s->out->hash[2 * i + 1] = hexd[d[i] & 15];
	}
	s->out->hash[32] = '\0';
	s->out->str[s->out->len] = '\0';
}

static void ja3(const struct mt_tls_hello_fp *h, struct mt_tls_ja3 *out)
{
	struct ja3_sink s;
	bool first = true;

	sink_open(&s, out);
	put_dec(&s, h->version);
	put_list16(&s, h->ciphers, NULL, h->nciphers);
	put_list16(&s, NULL, h->exts, h->nexts);
	put_list16(&s, h->groups, NULL, h->ngroups);
	/* Point formats are single bytes: never GREASE. */
	put(&s, ",", 1);
	for (uint32_t i = 0; i < h->npoint_formats; i++) {
		if (!first)
			put(&s, "-", 1);
		put_dec(&s, h->point_formats[i]);
		first = false;
	}
	sink_close(&s);
}

void mt_tls_fp_server(uint16_t version, uint16_t cipher, const uint16_t *exts,
		      uint32_t nexts, struct mt_tls_ja3 *ja3s)
{
	struct ja3_sink s;

	sink_open(&s, ja3s);
	put_dec(&s, version);
	put(&s, ",", 1);
	put_dec(&s, cipher);
	put_list16(&s, NULL, exts, nexts);
	sink_close(&s);
}

/* ---- JA4 ---- */

/* Heapsort of big-endian 16-bit values in place: O(n log n) on hostile
 * lists, no allocation (glibc's qsort may malloc). */
static void sift(uint8_t *v, uint32_t root, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * root + 1;
		uint8_t t0, t1;

		if (c >= n)
			return;
		if (c + 1 < n && at16(v, c + 1) > at16(v, c))
			c++;
		if (at16(v, root) >= at16(v, c))
			return;
		t0 = v[2 * root];
		t1 = v[2 * root + 1];
		v[2 * root] = v[2 * c];
		v[2 * root + 1] = v[2 * c + 1];
		v[2 * c] = t0;
		v[2 * c + 1] = t1;
		root = c;
	}
}

static void sort_be16(uint8_t *v, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (uint32_t end = n; end > 1; end--) {
		uint8_t t0 = v[0], t1 = v[1];

		v[0] = v[2 * (end - 1)];
		v[1] = v[2 * (end - 1) + 1];
		v[2 * (end - 1)] = t0;
		v[2 * (end - 1) + 1] = t1;
		sift(v, 0, end - 1);
	}
}

struct hex_list {
	mbedtls_sha256_context sha;
	bool any;
};

/* Appends "%04x" to a comma list being hashed. */
static void hash_hex16(struct hex_list *l, uint16_t v, char sep)
{
	char b[5];

	if (l->any)
		sha256_update(&l->sha, (const unsigned char *)&sep, 1);
	b[0] = hexd[v >> 12];
	b[1] = hexd[(v >> 8) & 15];
	b[2] = hexd[(v >> 4) & 15];
	b[3] = hexd[v & 15];
	sha256_update(&l->sha, (const unsigned char *)b, 4);
	l->any = true;
}

/* First 12 hex digits of the digest, or twelve zeros for an empty list. */
static void hash12(struct hex_list *l, char *out)
{
	uint8_t d[32];

	sha256_finish(&l->sha, d);
	mbedtls_sha256_free(&l->sha);
	for (int i = 0; i < 6; i++) {
		out[2 * i] = l->any ? hexd[d[i] >> 4] : '0';
		out[2 * i + 1] = l->any ? hexd[d[i] & 15] : '0';
	}
}

static void list_open(struct hex_list *l)
{
	mbedtls_sha256_init(&l->sha);
	sha256_starts(&l->sha);
	l->any = false;
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void ja4(struct mt_tls_hello_fp *h, char *out)
{
	uint8_t ext_be[2 * MT_TLS_EXT_MAX];
	uint32_t nc = 0, ne = 0, next = MT_MIN(h->nexts, (uint32_t)MT_TLS_EXT_MAX);
	uint16_t ver = 0;
	bool sni = false, have_ver = false;
	struct hex_list l;
	char *o = out;

	for (uint32_t i = 0; i < h->nversions; i++) {
		uint16_t v = at16(h->versions, i);

		if (!mt_tls_is_grease(v) && (!have_ver || v > ver)) {
			ver = v;
			have_ver = true;
		}
	}
	if (!have_ver)
		ver = h->version;
	for (uint32_t i = 0; i < h->nciphers; i++)
		nc += !mt_tls_is_grease(at16(h->ciphers, i));
	for (uint32_t i = 0; i < next; i++) {
		ne += !mt_tls_is_grease(h->exts[i]);
		sni |= h->exts[i] == 0x0000;
		mt_store_be16(ext_be + 2 * i, h->exts[i]);
	}
	*o++ = 't';
	memcpy(o, ja4_version(ver), 2);
	o += 2;
	*o++ = sni ? 'd' : 'i';
	nc = MT_MIN(nc, 99u);
	ne = MT_MIN(ne, 99u);
	*o++ = (char)('0' + nc / 10);
	*o++ = (char)('0' + nc % 10);
	*o++ = (char)('0' + ne / 10);
	*o++ = (char)('0' + ne % 10);
	if (!h->alpn || !h->alpn_len) {
		*o++ = '0';
		*o++ = '0';
	} else if (alnum(h->alpn[0]) && alnum(h->alpn[h->alpn_len - 1])) {
		*o++ = (char)h->alpn[0];
		*o++ = (char)h->alpn[h->alpn_len - 1];
	} else {
		/* First and last digit of the value in hex. */
		*o++ = hexd[h->alpn[0] >> 4];
		*o++ = hexd[h->alpn[h->alpn_len - 1] & 15];
	}
	*o++ = '_';

	sort_be16(h->ciphers, h->nciphers);
	list_open(&l);
	for (uint32_t i = 0; i < h->nciphers; i++)
		if (!mt_tls_is_grease(at16(h->ciphers, i)))
			hash_hex16(&l, at16(h->ciphers, i), ',');
	hash12(&l, o);
	o += 12;
	*o++ = '_';

	/* SNI and ALPN are in part a already; signature algorithms follow in
	 * wire order, after '_' only when there are any. */
	sort_be16(ext_be, next);
	list_open(&l);
	for (uint32_t i = 0; i < next; i++) {
		uint16_t v = at16(ext_be, i);

		if (!mt_tls_is_grease(v) && v != 0x0000 && v != 0x0010)
			hash_hex16(&l, v, ',');
	}
	if (l.any) {
		char sep = '_';

		for (uint32_t i = 0; i < h->nsigalgs; i++) {
			uint16_t v = at16(h->sigalgs, i);

			if (mt_tls_is_grease(v))
				continue;
			hash_hex16(&l, v, sep);
			sep = ',';
		}
	}
	hash12(&l, o);
	o += 12;
	*o = '\0';
}

void mt_tls_fp_client(struct mt_tls_hello_fp *h, struct mt_tls_ja3 *ja3_out,
		      char ja4_out[MT_TLS_JA4_LEN + 1])
{
	ja3(h, ja3_out);
	ja4(h, ja4_out);
}

/* ---- certificate ---- */

#if MBEDTLS_VERSION_NUMBER >= 0x021C0000
/* A passive observer reports what it sees: an extension mbedTLS does not
 * know, even a critical one, must not hide the subject. */
static int accept_ext(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid,
		      int critical, const unsigned char *p, const unsigned char *end)
{
	(void)ctx;
	(void)crt;
	(void)oid;
	(void)critical;
	(void)p;
	(void)end;
	return 0;
}
#endif

static void fmt_time(char out[20], const mbedtls_x509_time *t)
{
	/* The values come from a parsed certificate but are ints: clamp so
	 * the string always fits. */
	snprintf(out, 20, "%04d-%02d-%02dT%02d:%02d:%02d",
		 MT_MIN(MT_MAX(t->year, 0), 9999), MT_MIN(MT_MAX(t->mon, 0), 99),
		 MT_MIN(MT_MAX(t->day, 0), 99), MT_MIN(MT_MAX(t->hour, 0), 99),
		 MT_MIN(MT_MAX(t->min, 0), 99), MT_MIN(MT_MAX(t->sec, 0), 99));
}

static void dn(char *out, size_t cap, const mbedtls_x509_name *name)
{
	/* On overflow mbedTLS returns an error but leaves a terminated
	 * prefix, which is the best we can show. */
	out[0] = '\0';
	if (mbedtls_x509_dn_gets(out, cap, name) < 0)
		out[cap - 1] = '\0';
}

int mt_tls_cert_summary(const uint8_t *der, size_t len, struct mt_tls_cert *out)
{
	mbedtls_x509_crt crt;
	size_t n;
	char *s;
	int rc;

	memset(out, 0, sizeof(*out));
	sha256_once(der, len, out->sha256);
	mbedtls_x509_crt_init(&crt);
#if MBEDTLS_VERSION_NUMBER >= 0x021C0000
	rc = mbedtls_x509_crt_parse_der_with_ext_cb(&crt, der, len, 0, accept_ext, NULL);
#else
	rc = mbedtls_x509_crt_parse_der_nocopy(&crt, der, len);
#endif
	if (rc) {
		mbedtls_x509_crt_free(&crt);
		return -EINVAL;
	}
	dn(out->subject, sizeof(out->subject), &crt.subject);
	dn(out->issuer, sizeof(out->issuer), &crt.issuer);
	n = MT_MIN(crt.serial.len, (size_t)MT_TLS_SERIAL_MAX);
	s = out->serial;
	for (size_t i = 0; i < n; i++) {
		static const char up[] = "0123456789ABCDEF";

		if (i)
			*s++ = ':';
		*s++ = up[crt.serial.p[i] >> 4];
		*s++ = up[crt.serial.p[i] & 15];
	}
	*s = '\0';
	fmt_time(out->notbefore, &crt.valid_from);
	fmt_time(out->notafter, &crt.valid_to);
	mbedtls_x509_crt_free(&crt);
	return 0;
}
