/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS analyzer for implicit-TLS mail ports, HTTPS front-ends and flows
 * handed over after STARTTLS. It frames records in both directions, joins
 * the handshake messages it needs (ClientHello, ServerHello, and the first
 * certificate of a TLS 1.2 Certificate message) in one bounded buffer, and
 * writes one `tls` record per handshake. Once a direction has nothing more
 * in clear to show, every further byte of it is skipped at O(1) per call.
 */
#include "app.h"
#include "tls_fp.h"

#include <stdio.h>

#define REC_MAX (16384 + 2048)   /* RFC 5246 ciphertext limit */
#define HS_HDR 4

#define REC_CCS 20
#define REC_ALERT 21
#define REC_HANDSHAKE 22
#define REC_APPDATA 23
#define REC_HEARTBEAT 24

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11

#define EXT_SERVER_NAME 0x0000
#define EXT_SUPPORTED_GROUPS 0x000a
#define EXT_EC_POINT_FORMATS 0x000b
#define EXT_SIGNATURE_ALGORITHMS 0x000d
#define EXT_ALPN 0x0010
#define EXT_SUPPORTED_VERSIONS 0x002b

/* What the record keeps of the lists (the fingerprints see all of them). */
#define TLS_CIPHERS_KEEP 64
#define TLS_GROUPS_KEEP 32
#define TLS_ALPN_BYTES 256      /* client ALPN names, [len][bytes]... */
#define TLS_ALPN_KEEP 16
#define TLS_SNI_MAX 255

/* SHA-256("HelloRetryRequest"), the random of a TLS 1.3 HelloRetryRequest
 * (RFC 8446 4.1.3): that ServerHello is not the one that settles things. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02,
	0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

enum hs_mode { HS_SKIP = 0, HS_BUFFER };

struct tls_dir {
	uint8_t done;          /* nothing more to read in clear: skip all */
	uint8_t framed;        /* a valid record header was seen */
	uint8_t hdr_len;
	uint8_t hdr[5];
	uint8_t rec_type;
	uint16_t rec_left;     /* body bytes of the current record to come */
	/* Handshake message layer, which runs across records. */
	uint8_t in_msg;
	uint8_t hs_hdr_len;
	uint8_t hs_hdr[HS_HDR];
	uint8_t hs_type;
	uint8_t hs_mode;       /* enum hs_mode */
	uint32_t hs_len;       /* body length */
	uint32_t hs_got;       /* body bytes seen */
	uint32_t hs_want;      /* body bytes wanted in the buffer (a prefix) */
};

struct tls {
	struct tls_dir d[2];
	/* One buffer for both directions: a server cannot answer a
	 * ClientHello it has not received, so the hellos never need it at
	 * once (tls_interleaved_handshake when they would). */
	uint32_t buf_cap;
	int8_t buf_owner;      /* direction whose message is in buf, or -1 */
	uint8_t starttls;
	uint8_t emitted;
	uint8_t ch_tried, ch_seen;
	uint8_t sh_seen, hrr_seen, tls13;
	uint8_t cert_tried, cert_parsed, cert_hashed;
	uint64_t ch_ns, sh_ns;
	/* ClientHello */
	uint8_t client_fp;     /* ja3/ja4 valid */
	uint8_t nciphers, ngroups, nalpns;
	uint16_t alpns_len;
	uint16_t sni_len;
	uint16_t ciphers[TLS_CIPHERS_KEEP];
	uint16_t groups[TLS_GROUPS_KEEP];
	uint8_t alpns[TLS_ALPN_BYTES];
	char sni[TLS_SNI_MAX + 1];
	char ja4[MT_TLS_JA4_LEN + 1];
	struct mt_tls_ja3 ja3;
	/* ServerHello */
	uint8_t server_fp;     /* ja3s valid */
	uint8_t server_alpn_len;
	uint16_t version;      /* negotiated */
	uint16_t cipher;
	char server_alpn[256];
	struct mt_tls_ja3 ja3s;
	struct mt_tls_cert cert;
	uint8_t buf[];         /* buf_cap bytes: one message being joined */
};

/* A view being read front to back; every read is checked. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->n < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->n--;
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->n < 2)
		return false;
	*v = mt_load_be16(r->p);
	r->p += 2;
	r->n -= 2;
	return true;
}

static bool rd_bytes(struct rd *r, size_t len, struct rd *sub)
{
	if (r->n < len)
		return false;
	sub->p = r->p;
	sub->n = len;
	r->p += len;
	r->n -= len;
	return true;
}

/* A length-prefixed vector: `w` is the size of the length (1 or 2). */
static bool rd_vec(struct rd *r, int w, struct rd *sub)
{
	uint8_t l8;
	uint16_t l16;

	if (w == 1)
		return rd_u8(r, &l8) && rd_bytes(r, l8, sub);
	return rd_u16(r, &l16) && rd_bytes(r, l16, sub);
}

static uint32_t tls_state_size(const struct mt_app_config *cfg)
{
	return (uint32_t)sizeof(struct tls) + cfg->tls_handshake_max;
}

/* The line and message buffers are tracked by length: not cleared. */
static uint32_t tls_state_clear(const struct mt_app_config *cfg)
{
	(void)cfg;
	return (uint32_t)sizeof(struct tls);
}

static void tls_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	struct tls *s = st;

	s->buf_cap = env->cfg->tls_handshake_max;
	s->buf_owner = -1;
	s->starttls = after_starttls;
}

/* ---- ClientHello ---- */

struct client_exts {
	uint16_t types[MT_TLS_EXT_MAX];
	struct mt_tls_hello_fp fp;
	bool too_many;
};

static void client_sni(struct tls *s, struct mt_app_env *env, struct rd e)
{
	struct rd list, name;
	uint8_t type;

	if (!rd_vec(&e, 2, &list) || e.n)
		goto bad;
	while (list.n) {
		if (!rd_u8(&list, &type) || !rd_vec(&list, 2, &name))
			goto bad;
		if (type == 0 && !s->sni_len) { /* host_name */
			s->sni_len = (uint16_t)MT_MIN(name.n, (size_t)TLS_SNI_MAX);
			memcpy(s->sni, name.p, s->sni_len);
			s->sni[s->sni_len] = '\0';
		}
	}
	return;
bad:
	mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_C2S, e.p, e.n);
}

static void client_alpn(struct tls *s, struct mt_app_env *env, struct rd e,
			struct mt_tls_hello_fp *fp)
{
	struct rd list, name;

	if (!rd_vec(&e, 2, &list) || e.n)
		goto bad;
	while (list.n) {
		if (!rd_vec(&list, 1, &name))
			goto bad;
		if (!fp->alpn) {
			fp->alpn = name.p;
			fp->alpn_len = (uint32_t)name.n;
		}
		if (s->nalpns < TLS_ALPN_KEEP &&
		    s->alpns_len + 1 + name.n <= TLS_ALPN_BYTES) {
			s->alpns[s->alpns_len] = (uint8_t)name.n;
			memcpy(s->alpns + s->alpns_len + 1, name.p, name.n);
			s->alpns_len = (uint16_t)(s->alpns_len + 1 + name.n);
			s->nalpns++;
		}
	}
	return;
bad:
	mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_C2S, e.p, e.n);
}

/* A list of 16-bit values with a `w`-byte length: a view for the
 * fingerprints, or false when its lengths do not add up. */
static bool u16_list(struct rd e, int w, const uint8_t **p, uint32_t *n)
{
	struct rd v;

	if (!rd_vec(&e, w, &v) || e.n || (v.n & 1))
		return false;
	*p = v.p;
	*n = (uint32_t)(v.n / 2);
	return true;
}

static void client_ext(struct tls *s, struct mt_app_env *env, uint16_t type,
		       struct rd e, struct mt_tls_hello_fp *fp)
{
	struct rd v;
	bool ok = true;

	switch (type) {
	case EXT_SERVER_NAME:
		client_sni(s, env, e);
		return;
	case EXT_ALPN:
		client_alpn(s, env, e, fp);
		return;
	case EXT_SUPPORTED_GROUPS:
		ok = u16_list(e, 2, &fp->groups, &fp->ngroups);
		for (uint32_t i = 0; ok && i < fp->ngroups && s->ngroups < TLS_GROUPS_KEEP; i++)
			s->groups[s->ngroups++] = mt_load_be16(fp->groups + 2 * i);
		break;
	case EXT_EC_POINT_FORMATS:
		ok = rd_vec(&e, 1, &v) && !e.n;
		if (ok) {
			fp->point_formats = v.p;
			fp->npoint_formats = (uint32_t)v.n;
		}
		break;
	case EXT_SIGNATURE_ALGORITHMS:
		ok = u16_list(e, 2, &fp->sigalgs, &fp->nsigalgs);
		break;
	case EXT_SUPPORTED_VERSIONS:
		ok = u16_list(e, 1, &fp->versions, &fp->nversions);
		break;
	default:
		break;
	}
	if (!ok)
		mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_C2S, e.p, e.n);
}

/* Walks an extension block; calls `one` per extension. Returns false when
 * an extension overruns the block (what came before it stands). */
static bool walk_exts(struct rd blk, uint16_t *types, uint32_t *ntypes, bool *too_many,
		      void (*one)(void *ctx, uint16_t type, struct rd e), void *ctx)
{
	while (blk.n) {
		uint16_t type;
		struct rd e;

		if (!rd_u16(&blk, &type) || !rd_vec(&blk, 2, &e))
			return false;
		if (*ntypes < MT_TLS_EXT_MAX)
			types[(*ntypes)++] = type;
		else
			*too_many = true;
		one(ctx, type, e);
	}
	return true;
}

struct client_walk {
	struct tls *s;
	struct mt_app_env *env;
	struct mt_tls_hello_fp *fp;
};

static void client_one(void *ctx, uint16_t type, struct rd e)
{
	struct client_walk *w = ctx;

	client_ext(w->s, w->env, type, e, w->fp);
}

/* Parses the ClientHello in s->buf (len bytes). */
static void client_hello(struct tls *s, struct mt_app_env *env, uint32_t len)
{
	struct rd r = { s->buf, len }, random, sid, cs, comp, exts;
	uint16_t types[MT_TLS_EXT_MAX];
	struct mt_tls_hello_fp fp;
	struct client_walk w = { s, env, &fp };
	bool too_many = false;

	memset(&fp, 0, sizeof(fp));
	if (!rd_u16(&r, &fp.version) || !rd_bytes(&r, 32, &random) ||
	    !rd_vec(&r, 1, &sid) || sid.n > 32 || !rd_vec(&r, 2, &cs) ||
	    (cs.n & 1) || !rd_vec(&r, 1, &comp))
		goto bad;
	fp.ciphers = (uint8_t *)(uintptr_t)cs.p; /* our own buffer */
	fp.nciphers = (uint32_t)(cs.n / 2);
	for (uint32_t i = 0; i < fp.nciphers && s->nciphers < TLS_CIPHERS_KEEP; i++)
		s->ciphers[s->nciphers++] = mt_load_be16(cs.p + 2 * i);
	/* Extensions are optional (RFC 5246 7.4.1.2), but when present the
	 * block ends the message. */
	if (r.n) {
		if (!rd_vec(&r, 2, &exts) || r.n)
			mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_C2S,
				       r.p, r.n);
		else if (!walk_exts(exts, types, &fp.nexts, &too_many, client_one, &w))
			mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_C2S,
				       exts.p, exts.n);
	}
	fp.exts = types;
	s->ch_seen = 1;
	if (too_many) {
		mt_app_anomaly(env, MT_CTR_anomaly_tls_too_many_extensions, MT_DIR_C2S,
			       NULL, 0);
		return;
	}
	mt_tls_fp_client(&fp, &s->ja3, s->ja4);
	s->client_fp = 1;
	return;
bad:
	mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_handshake, MT_DIR_C2S, s->buf,
		       MT_MIN(len, 64u));
}

/* ---- ServerHello ---- */

struct server_walk {
	struct tls *s;
	struct mt_app_env *env;
	uint16_t selected;       /* supported_versions, 0 when absent */
};

static void server_one(void *ctx, uint16_t type, struct rd e)
{
	struct server_walk *w = ctx;
	struct rd list, name;
	bool ok = true;

	switch (type) {
	case EXT_SUPPORTED_VERSIONS:
		ok = rd_u16(&e, &w->selected) && !e.n;
		break;
	case EXT_ALPN:
		ok = rd_vec(&e, 2, &list) && !e.n && rd_vec(&list, 1, &name) && !list.n;
		if (ok) {
			w->s->server_alpn_len = (uint8_t)name.n; /* < 256 by its length byte */
			memcpy(w->s->server_alpn, name.p, name.n);
		}
		break;
	default:
		break;
	}
	if (!ok)
		mt_app_anomaly(w->env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_S2C,
			       e.p, e.n);
}

/* Parses the ServerHello in s->buf. Returns true for a HelloRetryRequest. */
static bool server_hello(struct tls *s, struct mt_app_env *env, uint32_t len)
{
	struct rd r = { s->buf, len }, random, sid, exts;
	struct server_walk w = { s, env, 0 };
	uint16_t version, cipher, types[MT_TLS_EXT_MAX];
	uint32_t ntypes = 0;
	uint8_t comp;
	bool too_many = false;

	if (!rd_u16(&r, &version) || !rd_bytes(&r, 32, &random) ||
	    !rd_vec(&r, 1, &sid) || sid.n > 32 || !rd_u16(&r, &cipher) ||
	    !rd_u8(&r, &comp)) {
		mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_handshake, MT_DIR_S2C, s->buf,
			       MT_MIN(len, 64u));
		return false;
	}
	if (!memcmp(random.p, hrr_random, sizeof(hrr_random)))
		return true;
	s->server_alpn_len = 0;
	if (r.n) {
		if (!rd_vec(&r, 2, &exts) || r.n)
			mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_S2C,
				       r.p, r.n);
		else if (!walk_exts(exts, types, &ntypes, &too_many, server_one, &w))
			mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_extension, MT_DIR_S2C,
				       exts.p, exts.n);
	}
	s->sh_seen = 1;
	s->cipher = cipher;
	s->version = w.selected ? w.selected : version;
	s->tls13 = s->version == 0x0304;
	if (too_many) {
		mt_app_anomaly(env, MT_CTR_anomaly_tls_too_many_extensions, MT_DIR_S2C,
			       NULL, 0);
		return false;
	}
	mt_tls_fp_server(version, cipher, types, ntypes, &s->ja3s);
	s->server_fp = 1;
	return false;
}

/* ---- Certificate (TLS 1.2 and older: in clear) ---- */

/* The first 6 bytes of the body are in buf: how much of the message the
 * first certificate needs, or 0 when the lengths do not add up. */
static uint32_t cert_prefix(const struct tls *s, uint32_t hs_len)
{
	uint32_t list = (uint32_t)s->buf[0] << 16 | (uint32_t)s->buf[1] << 8 | s->buf[2];
	uint32_t one = (uint32_t)s->buf[3] << 16 | (uint32_t)s->buf[4] << 8 | s->buf[5];

	if (list + 3 != hs_len || one + 3 > list)
		return 0;
	return 6 + one;
}

static void certificate(struct tls *s, struct mt_app_env *env, uint32_t len)
{
	const uint8_t *der = s->buf + 6;
	uint32_t n = len - 6;

	s->cert_hashed = 1;
	if (mt_tls_cert_summary(der, n, &s->cert) == 0)
		s->cert_parsed = 1;
	else
		mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_certificate, MT_DIR_S2C, der,
			       MT_MIN(n, 64u));
}

/* ---- the record ---- */

static void version_name(uint16_t v, char *out, size_t cap)
{
	/* Suricata's names, so that SIEM rules written for it match. */
	switch (v) {
	case 0x0304: snprintf(out, cap, "TLS 1.3"); break;
	case 0x0303: snprintf(out, cap, "TLS 1.2"); break;
	case 0x0302: snprintf(out, cap, "TLS 1.1"); break;
	case 0x0301: snprintf(out, cap, "TLS 1.0"); break;
	case 0x0300: snprintf(out, cap, "SSLv3"); break;
	case 0x0002: snprintf(out, cap, "SSLv2"); break;
	default:
		if ((v & 0xff00) == 0x7f00)
			snprintf(out, cap, "TLS 1.3 draft-%u", v & 0xff);
		else
			snprintf(out, cap, "0x%04x", v);
		break;
	}
}

static void release(struct tls *s, int dir)
{
	if (s->buf_owner == dir)
		s->buf_owner = -1;
}

static void emit(struct tls *s, struct mt_app_env *env)
{
	struct mt_rec *r = mt_app_rec(env, MT_REC_tls);
	struct mt_body_tls *b = &r->b.tls;
	char ver[24];

	s->emitted = 1;
	s->d[0].done = s->d[1].done = 1;
	s->buf_owner = -1;
	b->timestamp = s->ch_seen ? s->ch_ns : s->sh_ns ? s->sh_ns : env->now_ns;
	if (s->sh_seen) {
		version_name(s->version, ver, sizeof(ver));
		mt_rec_set_str(r, &b->version, ver, strlen(ver));
	}
	mt_rec_set_str(r, &b->sni, s->sni, s->sni_len);
	if (s->cert_parsed) {
		mt_rec_set_str(r, &b->subject, s->cert.subject, strlen(s->cert.subject));
		mt_rec_set_str(r, &b->issuerdn, s->cert.issuer, strlen(s->cert.issuer));
		mt_rec_set_str(r, &b->serial, s->cert.serial, strlen(s->cert.serial));
	}
	if (s->cert_hashed)
		mt_rec_set_str(r, &b->fingerprint_sha256, s->cert.sha256,
			       sizeof(s->cert.sha256));
	if (s->cert_parsed) {
		mt_rec_set_str(r, &b->notbefore, s->cert.notbefore, strlen(s->cert.notbefore));
		mt_rec_set_str(r, &b->notafter, s->cert.notafter, strlen(s->cert.notafter));
	}
	if (s->client_fp) {
		mt_rec_set_str(r, &b->ja3_hash, s->ja3.hash, 32);
		mt_rec_set_str(r, &b->ja3_string, s->ja3.str, s->ja3.len);
		mt_rec_set_str(r, &b->ja4, s->ja4, MT_TLS_JA4_LEN);
	}
	if (s->server_fp) {
		mt_rec_set_str(r, &b->ja3s_hash, s->ja3s.hash, 32);
		mt_rec_set_str(r, &b->ja3s_string, s->ja3s.str, s->ja3s.len);
	}
	for (uint16_t off = 0; off < s->alpns_len; off = (uint16_t)(off + 1 + s->alpns[off]))
		mt_rec_list_add(r, &b->client_alpns, s->alpns + off + 1, s->alpns[off]);
	mt_rec_set_str(r, &b->server_alpn, s->server_alpn, s->server_alpn_len);
	for (unsigned i = 0; i < s->nciphers; i++)
		mt_rec_list_add_u16(r, &b->client_ciphers, s->ciphers[i]);
	if (s->sh_seen)
		b->cipher_suite = s->cipher;
	for (unsigned i = 0; i < s->ngroups; i++)
		mt_rec_list_add_u16(r, &b->supported_groups, s->groups[i]);
	b->starttls = s->starttls;
	mt_app_emit(env);
}

/* Written as soon as nothing more can come in clear: both hellos seen and
 * the server done (TLS 1.3 after its ServerHello, TLS 1.2 after the
 * certificate or the message that takes its place). */
static void try_emit(struct tls *s, struct mt_app_env *env)
{
	if (!s->emitted && s->ch_seen && s->sh_seen && s->d[MT_DIR_S2C].done)
		emit(s, env);
}

/* ---- handshake messages ---- */

static void too_large(struct tls *s, struct mt_app_env *env, int dir)
{
	struct tls_dir *d = &s->d[dir];

	mt_app_anomaly(env, MT_CTR_anomaly_tls_handshake_too_large, dir, d->hs_hdr, HS_HDR);
	d->hs_mode = HS_SKIP;
	release(s, dir);
}

/* Claims the buffer for a message of `want` body bytes, or says why not. */
static bool claim(struct tls *s, struct mt_app_env *env, int dir, uint32_t want)
{
	struct tls_dir *d = &s->d[dir];

	if (want > s->buf_cap) {
		too_large(s, env, dir);
		return false;
	}
	if (s->buf_owner >= 0 && s->buf_owner != dir) {
		mt_app_anomaly(env, MT_CTR_anomaly_tls_interleaved_handshake, dir,
			       d->hs_hdr, HS_HDR);
		return false;
	}
	s->buf_owner = (int8_t)dir;
	d->hs_mode = HS_BUFFER;
	d->hs_want = want;
	return true;
}

/* A handshake header is complete: decide whether the body is wanted. */
static void message_start(struct tls *s, struct mt_app_env *env, int dir)
{
	struct tls_dir *d = &s->d[dir];

	d->hs_mode = HS_SKIP;
	if (dir == MT_DIR_C2S) {
		/* Only the first ClientHello: after a HelloRetryRequest the
		 * second one says the same with one key share changed. */
		if (d->hs_type != HS_CLIENT_HELLO || s->ch_tried)
			return;
		s->ch_tried = 1;
		s->ch_ns = env->now_ns;
		/* Unless it can be read, the client has nothing else to show. */
		if (!claim(s, env, dir, d->hs_len))
			d->done = 1;
		return;
	}
	if (d->hs_type == HS_SERVER_HELLO && !s->sh_seen) {
		if (!s->sh_ns)
			s->sh_ns = env->now_ns;
		if (!claim(s, env, dir, d->hs_len))
			d->done = 1;
		return;
	}
	if (!s->sh_seen || s->tls13 || s->cert_tried)
		return;
	/* TLS 1.2 and older: the Certificate, when there is one, comes
	 * right after the ServerHello. Whatever comes instead means there
	 * is none to see. */
	s->cert_tried = 1;
	if (d->hs_type != HS_CERTIFICATE) {
		d->done = 1;
		return;
	}
	/* The lengths of the list and of the first certificate first. */
	if (d->hs_len < 6) {
		mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_handshake, dir, d->hs_hdr, HS_HDR);
		d->done = 1;
		return;
	}
	if (!claim(s, env, dir, 6))
		d->done = 1;
}

/* The wanted prefix of the body is in buf. */
static void message_ready(struct tls *s, struct mt_app_env *env, int dir)
{
	struct tls_dir *d = &s->d[dir];

	switch (d->hs_type) {
	case HS_CLIENT_HELLO:
		client_hello(s, env, d->hs_want);
		d->done = 1; /* nothing after it is needed from the client */
		break;
	case HS_SERVER_HELLO:
		if (server_hello(s, env, d->hs_want))
			s->hrr_seen = 1;
		else if (s->tls13)
			d->done = 1; /* the rest is encrypted */
		break;
	case HS_CERTIFICATE:
		if (d->hs_want == 6) {
			uint32_t want = cert_prefix(s, d->hs_len);

			if (!want) {
				mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_handshake, dir,
					       s->buf, 6);
				d->done = 1;
			} else if (want > s->buf_cap) {
				too_large(s, env, dir);
				d->done = 1;
			} else if (want > 6) {
				d->hs_want = want; /* keep buffering */
				return;
			} else {
				/* An empty first certificate: nothing to summarise. */
				d->done = 1;
			}
			break;
		}
		certificate(s, env, d->hs_want);
		d->done = 1;
		break;
	default:
		break;
	}
	d->hs_mode = HS_SKIP;
	release(s, dir);
}

static void message_abort(struct tls *s, int dir)
{
	struct tls_dir *d = &s->d[dir];

	d->in_msg = 0;
	d->hs_hdr_len = 0;
	d->hs_mode = HS_SKIP;
	release(s, dir);
}

/* Body bytes of a handshake record, any split. */
static void handshake_bytes(struct tls *s, struct mt_app_env *env, int dir,
			    const uint8_t *p, size_t n)
{
	struct tls_dir *d = &s->d[dir];

	while (n && !d->done) {
		size_t take;

		if (!d->in_msg) {
			take = MT_MIN((size_t)(HS_HDR - d->hs_hdr_len), n);
			memcpy(d->hs_hdr + d->hs_hdr_len, p, take);
			d->hs_hdr_len = (uint8_t)(d->hs_hdr_len + take);
			p += take;
			n -= take;
			if (d->hs_hdr_len < HS_HDR)
				return;
			d->hs_hdr_len = 0;
			d->hs_type = d->hs_hdr[0];
			d->hs_len = (uint32_t)d->hs_hdr[1] << 16 | (uint32_t)d->hs_hdr[2] << 8 |
				    d->hs_hdr[3];
			d->hs_got = 0;
			d->in_msg = 1;
			message_start(s, env, dir);
			if (d->hs_mode == HS_BUFFER && d->hs_want == 0)
				message_ready(s, env, dir);
			if (d->hs_len == 0)
				d->in_msg = 0;
			continue;
		}
		take = MT_MIN((size_t)(d->hs_len - d->hs_got), n);
		if (d->hs_mode == HS_BUFFER && d->hs_got < d->hs_want) {
			size_t k = MT_MIN(take, (size_t)(d->hs_want - d->hs_got));

			memcpy(s->buf + d->hs_got, p, k);
			if (d->hs_got + k == d->hs_want) {
				/* A prefix may grow (certificate): take only what
				 * was copied and go round again. */
				d->hs_got += (uint32_t)k;
				p += k;
				n -= k;
				message_ready(s, env, dir);
				if (d->hs_got == d->hs_len)
					d->in_msg = 0;
				continue;
			}
		}
		d->hs_got += (uint32_t)take;
		p += take;
		n -= take;
		if (d->hs_got == d->hs_len)
			message_abort(s, dir); /* skipped to its end */
	}
}

/* ---- records ---- */

/* Whether the header bytes gathered so far can still be a record. */
static bool header_ok(const uint8_t *h, unsigned len)
{
	if (len >= 1 && (h[0] < REC_CCS || h[0] > REC_HEARTBEAT))
		return false;
	if (len >= 2 && h[1] != 3)
		return false;
	if (len >= 3 && h[2] > 4)
		return false;
	if (len >= 5 && mt_load_be16(h + 3) > REC_MAX)
		return false;
	return true;
}

/* Not TLS. `rest` are the bytes after the header bytes gathered. */
static void not_tls(struct tls *s, struct mt_app_env *env, int dir,
		    const uint8_t *rest, size_t n)
{
	struct tls_dir *d = &s->d[dir];
	uint8_t ev[64];
	size_t k = d->hdr_len;

	memcpy(ev, d->hdr, k);
	n = MT_MIN(n, sizeof(ev) - k);
	memcpy(ev + k, rest, n);
	k += n;
	if (!d->framed && s->starttls)
		/* What STARTTLS stripping looks like: the peer goes on in
		 * clear where a handshake must start. */
		mt_app_anomaly(env, MT_CTR_anomaly_app_starttls_cleartext, dir, ev, k);
	else if (d->framed || !env->flow->midstream)
		mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_record, dir, ev, k);
	/* else: picked up mid-stream inside a record; nothing to resync on. */
	d->done = 1;
	release(s, dir);
}

static void record_start(struct tls *s, struct mt_app_env *env, int dir)
{
	struct tls_dir *d = &s->d[dir];

	d->framed = 1;
	d->rec_type = d->hdr[0];
	d->rec_left = mt_load_be16(d->hdr + 3);
	if (d->rec_type != REC_HANDSHAKE && (d->in_msg || d->hs_hdr_len)) {
		/* RFC 8446 5.1: handshake messages are not interleaved with
		 * other record types. */
		mt_app_anomaly(env, MT_CTR_anomaly_tls_bad_handshake, dir, d->hdr, 5);
		message_abort(s, dir);
	}
	switch (d->rec_type) {
	case REC_APPDATA:
		d->done = 1;
		break;
	case REC_CCS:
		/* Encrypted from here on, except a server's middlebox CCS
		 * after a HelloRetryRequest (RFC 8446 D.4): the real
		 * ServerHello is still to come. */
		if (dir == MT_DIR_C2S || !s->hrr_seen || s->sh_seen)
			d->done = 1;
		break;
	default:
		break;
	}
}

static size_t tls_data(void *st, struct mt_app_env *env, int dir,
		       const uint8_t *p, size_t n)
{
	struct tls *s = st;
	struct tls_dir *d = &s->d[dir];
	size_t i = 0;

	if (likely(d->done))
		return n;
	while (i < n && !d->done) {
		if (d->hdr_len < 5) {
			size_t take = MT_MIN((size_t)(5 - d->hdr_len), n - i);

			memcpy(d->hdr + d->hdr_len, p + i, take);
			d->hdr_len = (uint8_t)(d->hdr_len + take);
			i += take;
			if (!header_ok(d->hdr, d->hdr_len)) {
				not_tls(s, env, dir, p + i, n - i);
				break;
			}
			if (d->hdr_len < 5)
				break;
			record_start(s, env, dir);
		} else {
			size_t take = MT_MIN((size_t)d->rec_left, n - i);

			if (d->rec_type == REC_HANDSHAKE)
				handshake_bytes(s, env, dir, p + i, take);
			i += take;
			d->rec_left = (uint16_t)(d->rec_left - take);
		}
		if (d->hdr_len == 5 && d->rec_left == 0)
			d->hdr_len = 0; /* next record */
	}
	try_emit(s, env);
	return n;
}

static void tls_gap(void *st, struct mt_app_env *env, int dir, uint32_t len)
{
	struct tls *s = st;

	(void)len;
	/* Record boundaries are lost with the bytes: nothing to resync on. */
	s->d[dir].done = 1;
	release(s, dir);
	try_emit(s, env);
}

static void tls_close(void *st, struct mt_app_env *env)
{
	struct tls *s = st;

	if (!s->emitted && (s->ch_seen || s->sh_seen))
		emit(s, env);
}

const struct mt_analyzer mt_tls_analyzer = {
	.app = MT_APP_TLS,
	.state_size = tls_state_size,
	.state_clear = tls_state_clear,
	.open = tls_open,
	.data = tls_data,
	.gap = tls_gap,
	.close = tls_close,
};
