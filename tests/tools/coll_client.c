/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * coll_client: a small IPFIX-over-TLS exporter for testing and
 * benchmarking mailtap-collector. It sends synthetic records (every record
 * type, deterministic from the domain and index) or replays an IPFIX file
 * made by `mailtapd --ipfix`, over mbedTLS with a client certificate, and
 * behaves like the appliance's exporter where it matters: templates first
 * on every connection, MTAK acknowledgements read back, everything not
 * acknowledged resent after a reconnect. It can also misbehave on purpose
 * (TLS 1.1 only, garbage instead of TLS, garbage IPFIX after the
 * handshake) for the refusal tests, and fork many exporters at once.
 *
 * usage: coll_client --connect HOST:PORT --ca F --cert F --key F [options]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "ipfix.h"
#include "json.h"
#include "tlsconf.h"

#define PEN MT_IPFIX_PEN_DEFAULT

struct msg {
	size_t off;
	uint32_t len;
	uint32_t seq;
	uint32_t n;            /* data records (sequence numbers it consumes) */
};

struct opts {
	char host[256];
	char port[8];
	const char *ca, *cert, *key, *server_name;
	uint32_t domain;
	uint32_t start_seq;
	unsigned long records;
	unsigned procs;
	const char *replay_files[64];
	unsigned nreplay;
	unsigned repeat;
	const char *json;
	size_t msg_size;
	double timeout;
	unsigned attempts;
	bool tls11;
	bool garbage;
	bool garbage_ipfix;
	bool quiet;
	bool types_flow_only;
	const char *dump;      /* write the stream to this file instead of sending */
	bool stats;            /* print transfer start/end for benchmarks */
	uint64_t base_time;    /* seconds; 0 = an hour ago */
	unsigned replay_back;  /* after a reconnect, resend this many acked messages */
	double stall;          /* send half a message, then hang this long */
	unsigned long chunk;   /* sends records in rounds of this many (0 = all) */
};

struct client {
	const struct opts *o;
	uint8_t *buf;
	size_t len, cap;
	struct msg *m;
	size_t nm, capm;
	uint32_t domain;
	uint32_t end_seq;      /* after the last record */
	bool acked_valid;
	uint32_t acked;
	size_t first_unacked;
	bool ignore_ack;       /* this connection's first ack is to be ignored */
	unsigned long reconnects;
	unsigned long acks;
	FILE *json;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "coll_client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* ---- messages ---- */

static uint8_t *reserve(struct client *c, size_t n)
{
	if (c->len + n > c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 1u << 20;

		while (nc < c->len + n)
			nc *= 2;
		c->buf = realloc(c->buf, nc);
		if (!c->buf)
			die("out of memory");
		c->cap = nc;
	}
	return c->buf + c->len;
}

static void add_msg(struct client *c, size_t len, uint32_t seq, uint32_t n)
{
	if (c->nm == c->capm) {
		c->capm = c->capm ? c->capm * 2 : 1024;
		c->m = realloc(c->m, c->capm * sizeof(*c->m));
		if (!c->m)
			die("out of memory");
	}
	c->m[c->nm].off = c->len;
	c->m[c->nm].len = (uint32_t)len;
	c->m[c->nm].seq = seq;
	c->m[c->nm].n = n;
	c->nm++;
	c->len += len;
}

/* Synthetic records: every field filled from a generator seeded by the
 * domain and the record's index, so any run can be checked against
 * another. The type mix is flow-heavy, as on a real mail segment. */
static uint64_t rng;
static uint64_t base_time; /* seconds: the first synthetic record's time */

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(struct mt_rec *r, uint8_t *base, const struct mt_rtype_desc *rt, unsigned long idx,
		 int ipver, bool sub)
{
	static const char *const words[] = { "alice", "bob", "carol", "dave", "mallory",
					     "example.org", "mail", "INBOX", "Sent" };

	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		uint8_t *p = base + f->offset;
		uint64_t v = rnd();
		char s[96];
		int sl;

		switch (f->type) {
		case MT_FT_U8:
		case MT_FT_FLAGS8:
			*p = (uint8_t)v;
			break;
		case MT_FT_PROTO:
			*p = 6;
			break;
		case MT_FT_APP:
			*p = (uint8_t)(1 + v % 4);
			break;
		case MT_FT_REASON:
			*p = (uint8_t)(v % 4);
			break;
		case MT_FT_TUNNEL:
			*p = 0;
			break;
		case MT_FT_BOOL:
			*p = (uint8_t)(v & 1);
			break;
		case MT_FT_U16: {
			uint16_t x = (uint16_t)v;

			memcpy(p, &x, 2);
			break;
		}
		case MT_FT_U32: {
			uint32_t x = (uint32_t)(v % 100000);

			memcpy(p, &x, 4);
			break;
		}
		case MT_FT_U64: {
			uint64_t x = v >> 20;

			memcpy(p, &x, 8);
			break;
		}
		case MT_FT_TIME: {
			/* One record a millisecond from the base, microsecond grain. */
			uint64_t t = (base_time + idx / 1000) * MT_NS_PER_SEC +
				     (idx % 1000) * MT_NS_PER_MS + (v % 1000) * MT_NS_PER_US;

			memcpy(p, &t, 8);
			break;
		}
		case MT_FT_IP: {
			struct mt_ipaddr *ip = (struct mt_ipaddr *)p;

			memset(ip, 0, sizeof(*ip));
			ip->ver = (uint8_t)ipver;
			if (ipver == 4) {
				ip->a[0] = 10;
				ip->a[1] = (uint8_t)(v >> 8);
				ip->a[2] = (uint8_t)(v >> 16);
				ip->a[3] = (uint8_t)(1 + v % 250);
			} else if (ipver == 6) {
				ip->a[0] = 0x20;
				ip->a[1] = 0x01;
				ip->a[2] = 0x0d;
				ip->a[3] = 0xb8;
				for (int k = 8; k < 16; k++)
					ip->a[k] = (uint8_t)rnd();
			}
			break;
		}
		case MT_FT_STR:
		case MT_FT_HEX: {
			struct mt_sref sr;

			if (f->type == MT_FT_HEX) {
				uint8_t h[32];

				for (unsigned k = 0; k < sizeof(h); k++)
					h[k] = (uint8_t)rnd();
				mt_rec_set_str(r, &sr, h, v % 3 ? 32 : 0);
			} else {
				sl = snprintf(s, sizeof(s), "%s-%s%lu", f->name,
					      words[v % MT_ARRAY_SIZE(words)], idx % 977);
				mt_rec_set_str(r, &sr, s, v % 5 ? (size_t)sl : 0);
			}
			memcpy(p, &sr, sizeof(sr));
			break;
		}
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST: {
			struct mt_lref l;
			unsigned items = sub ? 0 : (unsigned)(v % 4);

			memcpy(&l, p, sizeof(l));
			for (unsigned k = 0; k < items; k++) {
				if (f->type == MT_FT_U16LIST) {
					mt_rec_list_add_u16(r, &l, (uint16_t)(250 + k));
				} else if (f->type == MT_FT_U64LIST) {
					mt_rec_list_add_u64(r, &l, rnd() >> 16);
				} else if (f->type == MT_FT_STRLIST) {
					sl = snprintf(s, sizeof(s), "%s%u@%s", words[(v + k) % 5], k,
						      words[5]);
					mt_rec_list_add(r, &l, s, (size_t)sl);
				} else {
					uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));

					memset(item, 0, sizeof(item));
					fill(r, item, &mt_stypes[f->sub - 1], idx, ipver, true);
					mt_rec_list_add(r, &l, item, MT_SUB_MAX_SIZE);
				}
			}
			memcpy(p, &l, sizeof(l));
			break;
		}
		default:
			break;
		}
	}
}

static enum mt_rtype pick_type(unsigned long idx, bool flow_only)
{
	static const enum mt_rtype mix[20] = {
		MT_REC_flow,  MT_REC_flow, MT_REC_flow, MT_REC_flow,    MT_REC_flow,
		MT_REC_flow,  MT_REC_flow, MT_REC_flow, MT_REC_flow,    MT_REC_flow,
		MT_REC_flow,  MT_REC_flow, MT_REC_smtp, MT_REC_smtp,    MT_REC_auth,
		MT_REC_auth,  MT_REC_imap, MT_REC_pop3, MT_REC_tls,     MT_REC_anomaly,
	};

	if (flow_only)
		return MT_REC_flow;
	/* Now and then the rarer types too. */
	if (idx % 997 == 500)
		return MT_REC_alert;
	if (idx % 1009 == 7)
		return MT_REC_stats;
	return mix[idx % 20];
}

static void make_synthetic(struct client *c)
{
	const struct opts *o = c->o;
	struct mt_rec *r = malloc(sizeof(*r));
	struct mt_ipfix_enc e;
	struct mt_buf jb = { 0 };
	uint32_t seq = o->start_seq;
	unsigned long i = 0;

	if (!r)
		die("out of memory");
	while (i < o->records) {
		uint8_t *p = reserve(c, MT_IPFIX_MSG_MAX);
		size_t len;

		mt_ipfix_begin(&e, p, o->msg_size, c->domain, PEN, 1790000000u, seq);
		for (; i < o->records; i++) {
			enum mt_rtype t = pick_type(i, o->types_flow_only);

			rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)c->domain << 32) ^ (i * 0x2545f4914f6cdd1dull);
			mt_rec_init(r, t);
			fill(r, (uint8_t *)r, &mt_rtypes[t], i, (i % 7 == 3) ? 6 : (i % 31 == 5) ? 0 : 4,
			     false);
			if (mt_ipfix_record(&e, r) == -ENOSPC)
				break;
			if (c->json) {
				mt_buf_reset(&jb);
				mt_json_record(&jb, r);
				fwrite(jb.p, 1, jb.len, c->json);
			}
		}
		if (e.nrec == 0)
			die("a record does not fit a message of %zu bytes", o->msg_size);
		len = mt_ipfix_end(&e);
		add_msg(c, len, seq, e.nrec);
		seq += e.nrec;
	}
	c->end_seq = seq;
	mt_buf_free(&jb);
	free(r);
}

static int count_rec(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	(void)ctx;
	(void)info;
	(void)r;
	return 0;
}

/* Record types --skip-type leaves out of a re-encoded replay. */
static uint32_t skip_types;

/* Keeps a copy of every decoded record (replay with --repeat). */
struct recs {
	uint8_t *buf;
	size_t len, cap;
	size_t n;
	uint64_t tmin, tmax;
};

static int keep_rec(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct recs *k = ctx;
	size_t sz = mt_rec_size(r), asz = (sz + 7) & ~(size_t)7;
	uint64_t t = MT_REC_CONN(r)->timestamp;

	(void)info;
	if (r->type < 32 && (skip_types & (1u << r->type)))
		return 0;
	if (k->len + asz > k->cap) {
		k->cap = (k->cap + asz) * 2;
		k->buf = realloc(k->buf, k->cap);
		if (!k->buf)
			die("out of memory");
	}
	/* Offsets in the arena stay valid: the arena moves with the record. */
	memcpy(k->buf + k->len, r, sz);
	k->len += asz;
	k->n++;
	if (!k->tmin || t < k->tmin)
		k->tmin = t;
	if (t > k->tmax)
		k->tmax = t;
	return 0;
}

/*
 * Messages of RFC 5655 files (what mailtapd --ipfix writes). One file
 * once, with no --skip-type, is sent as it is, with the file's own
 * numbers. Otherwise the
 * files' records are sent `repeat` times over, re-encoded into new
 * messages with contiguous numbers, every time field of round k moved by
 * k times the records' time span: a long, realistic stream whose time
 * keeps going forward, as a real appliance's does.
 */
static void load_replay(struct client *c)
{
	const struct opts *o = c->o;
	struct mt_ipfix_dec d;
	struct recs keep = { 0 };
	struct mt_ipfix_enc e;
	struct mt_rec *r = malloc(sizeof(*r));
	uint8_t *msg = malloc(MT_IPFIX_MSG_MAX);
	bool renumber = o->nreplay > 1 || o->repeat > 1 || skip_types, first = true;
	uint32_t seq = 0;
	uint64_t span;

	if (!msg || !r)
		die("out of memory");
	for (unsigned fi = 0; fi < o->nreplay; fi++) {
		FILE *f = fopen(o->replay_files[fi], "rb");

		if (!f)
			die("%s: %s", o->replay_files[fi], strerror(errno));
		mt_ipfix_dec_init(&d, PEN);
		for (;;) {
			struct mt_ipfix_msg_info info;
			char why[200];
			size_t got = fread(msg, 1, MT_IPFIX_HDR_LEN, f);
			uint32_t n;
			long ml;

			if (got == 0)
				break;
			ml = mt_ipfix_msg_len(msg, got);
			if (ml <= 0 ||
			    fread(msg + MT_IPFIX_HDR_LEN, 1, (size_t)ml - MT_IPFIX_HDR_LEN, f) !=
				    (size_t)ml - MT_IPFIX_HDR_LEN)
				die("%s: not a file of IPFIX messages", o->replay_files[fi]);
			if (mt_ipfix_decode(&d, msg, (size_t)ml, renumber ? keep_rec : count_rec,
					    &keep, &info, why, sizeof(why)))
				die("%s: %s", o->replay_files[fi], why);
			n = info.records + info.skipped;
			if (renumber && !(first && info.records == 0))
				continue; /* re-encoded below */
			/* The domain is the client's. */
			mt_store_be32(msg + 12, c->domain);
			seq = info.seq;
			first = false;
			memcpy(reserve(c, (size_t)ml), msg, (size_t)ml);
			add_msg(c, (size_t)ml, seq, n);
			seq += n;
			c->end_seq = seq;
		}
		mt_ipfix_dec_free(&d);
		fclose(f);
	}
	if (!renumber)
		goto out;
	span = keep.tmax - keep.tmin + MT_NS_PER_SEC;
	for (unsigned k = 0; k < o->repeat; k++) {
		size_t pos = 0;

		mt_ipfix_begin(&e, reserve(c, MT_IPFIX_MSG_MAX), o->msg_size, c->domain, PEN,
			       1790000000u, seq);
		for (size_t i = 0; i < keep.n; i++) {
			const struct mt_rec *src = (const struct mt_rec *)(keep.buf + pos);
			const struct mt_rtype_desc *rt = &mt_rtypes[src->type];
			size_t sz = mt_rec_size(src);

			memcpy(r, src, sz);
			pos += (sz + 7) & ~(size_t)7;
			for (unsigned fi = 0; fi < rt->nfields; fi++)
				if (rt->fields[fi].type == MT_FT_TIME) {
					uint64_t t;

					memcpy(&t, (uint8_t *)r + rt->fields[fi].offset, 8);
					if (t)
						t += k * span;
					memcpy((uint8_t *)r + rt->fields[fi].offset, &t, 8);
				}
			if (mt_ipfix_record(&e, r) == -ENOSPC) {
				size_t len = mt_ipfix_end(&e);

				add_msg(c, len, seq, e.nrec);
				seq += e.nrec;
				mt_ipfix_begin(&e, reserve(c, MT_IPFIX_MSG_MAX), o->msg_size, c->domain,
					       PEN, 1790000000u, seq);
				if (mt_ipfix_record(&e, r) != 0)
					die("a record does not fit a message of %zu bytes", o->msg_size);
			}
		}
		if (e.nrec) {
			size_t len = mt_ipfix_end(&e);

			add_msg(c, len, seq, e.nrec);
			seq += e.nrec;
		}
	}
	c->end_seq = seq;
out:
	free(keep.buf);
	free(msg);
	free(r);
}

/* ---- transport ---- */

struct tconn {
	int fd;
	mbedtls_ssl_context ssl;
	bool ssl_init;
	uint8_t ack[16];
	unsigned ack_len;
};

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = recv(fd, buf, len, 0);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static int tcp_connect(const struct opts *o)
{
	struct addrinfo hints, *ai, *a;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(o->host, o->port, &hints, &ai) != 0)
		return -1;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	return fd;
}

static bool wait_fd(int fd, short ev, double deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	double left = deadline - now_s();

	if (left <= 0)
		return false;
	return poll(&p, 1, (int)(left * 1000) + 1) > 0;
}

static void tconn_close(struct tconn *t)
{
	if (t->ssl_init) {
		mbedtls_ssl_close_notify(&t->ssl);
		mbedtls_ssl_free(&t->ssl);
		t->ssl_init = false;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Connect and handshake; 0, or -1 with the reason printed. */
static int tconn_open(struct tconn *t, struct mt_tls_ctx *tls, const struct opts *o, double deadline)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->fd = tcp_connect(o);
	if (t->fd < 0)
		return -1;
	mbedtls_ssl_init(&t->ssl);
	t->ssl_init = true;
	if (mbedtls_ssl_setup(&t->ssl, &tls->conf) != 0 ||
	    mbedtls_ssl_set_hostname(&t->ssl, o->server_name ? o->server_name : o->host) != 0)
		return -1;
	mbedtls_ssl_set_bio(&t->ssl, &t->fd, bio_send, bio_recv, NULL);
	while ((rc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
		char e[160];

		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			if (!wait_fd(t->fd, rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, deadline)) {
				fprintf(stderr, "coll_client: handshake timed out\n");
				return -1;
			}
			continue;
		}
		mt_tls_strerror(rc, e, sizeof(e));
		fprintf(stderr, "coll_client: handshake failed: %s\n", e);
		return -1;
	}
	return 0;
}

/* Reads acknowledgements; -1 when the connection is gone. */
static int read_acks(struct client *c, struct tconn *t)
{
	uint8_t buf[4096];

	for (;;) {
		int n = mbedtls_ssl_read(&t->ssl, buf, sizeof(buf));

		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (n <= 0) {
			char e[160];

			mt_tls_strerror(n, e, sizeof(e));
			if (!c->o->quiet)
				fprintf(stderr, "coll_client: domain %u: connection closed: %s\n",
					c->domain, n == 0 ? "EOF" : e);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			t->ack[t->ack_len++] = buf[i];
			if (t->ack_len < 16)
				continue;
			t->ack_len = 0;
			if (memcmp(t->ack, "MTAK", 4) != 0 || t->ack[4] != 1 || t->ack[5] != 1) {
				fprintf(stderr, "coll_client: malformed acknowledgement\n");
				return -1;
			}
			c->acks++;
			if (mt_load_be32(t->ack + 8) != c->domain)
				continue;
			if (c->ignore_ack) {
				/* Like an exporter that lost its state: what the
				 * collector already has comes again (duplicates). */
				c->ignore_ack = false;
				continue;
			}
			{
				uint32_t next = mt_load_be32(t->ack + 12);

				if (!c->acked_valid || mt_seq_lt(c->acked, next)) {
					c->acked = next;
					c->acked_valid = true;
				}
			}
			while (c->first_unacked < c->nm &&
			       mt_seq_leq(c->m[c->first_unacked].seq + c->m[c->first_unacked].n, c->acked))
				c->first_unacked++;
		}
	}
}

/* Writes a whole buffer (blocking in poll); -1 on error. */
static int write_all(struct client *c, struct tconn *t, const uint8_t *p, size_t n, double deadline)
{
	size_t off = 0;

	while (off < n) {
		int w = mbedtls_ssl_write(&t->ssl, p + off, n - off);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == MBEDTLS_ERR_SSL_WANT_WRITE || w == MBEDTLS_ERR_SSL_WANT_READ) {
			struct pollfd pf = { .fd = t->fd, .events = POLLOUT | POLLIN };

			if (now_s() > deadline)
				return -1;
			if (poll(&pf, 1, 200) > 0 && (pf.revents & POLLIN) && read_acks(c, t) < 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int send_templates(struct client *c, struct tconn *t, double deadline)
{
	uint8_t *msg = malloc(MT_IPFIX_MSG_MAX);
	struct mt_ipfix_enc e;
	uint32_t seq = c->first_unacked < c->nm ? c->m[c->first_unacked].seq : c->end_seq;
	size_t len;
	int rc;

	if (!msg)
		die("out of memory");
	/* Template-only: carries the next number, consumes none. */
	mt_ipfix_begin(&e, msg, MT_IPFIX_MSG_MAX, c->domain, PEN, 1790000000u, seq);
	if (mt_ipfix_templates(&e, false) != 0)
		die("templates do not fit a message");
	len = mt_ipfix_end(&e);
	rc = write_all(c, t, msg, len, deadline);
	free(msg);
	return rc;
}

/* One connection's worth of sending; 0 when everything is acknowledged. */
static int session(struct client *c, struct mt_tls_ctx *tls)
{
	const struct opts *o = c->o;
	double deadline = now_s() + o->timeout, first_ack_until;
	struct tconn t;
	size_t next;

	if (tconn_open(&t, tls, o, deadline) != 0) {
		tconn_close(&t);
		return -1;
	}
	if (o->garbage_ipfix) {
		static const uint8_t junk[] = "HELO collector\r\nthis is not an IPFIX message at all\r\n";

		write_all(c, &t, junk, sizeof(junk) - 1, deadline);
		while (read_acks(c, &t) == 0 && now_s() < deadline)
			wait_fd(t.fd, POLLIN, deadline);
		tconn_close(&t);
		return -1;
	}
	if (send_templates(c, &t, deadline) != 0) {
		tconn_close(&t);
		return -1;
	}
	if (o->stall > 0) {
		/* A stuck appliance: half a message, then nothing. */
		if (c->nm)
			write_all(c, &t, c->buf + c->m[0].off, c->m[0].len / 2, deadline);
		usleep((useconds_t)(o->stall * 1e6));
		tconn_close(&t);
		return -2;
	}
	/* Like the exporter: wait a moment for the collector's word on the
	 * counter before sending data (a fresh domain is acknowledged after
	 * the collector's next commit). */
	c->ignore_ack = o->replay_back && c->reconnects;
	first_ack_until = c->ignore_ack ? 0 : now_s() + 2.0;
	while (!c->acked_valid && now_s() < first_ack_until) {
		if (read_acks(c, &t) < 0) {
			tconn_close(&t);
			return -1;
		}
		if (!c->acked_valid)
			wait_fd(t.fd, POLLIN, first_ack_until);
	}
	next = c->first_unacked;
	if (c->ignore_ack)
		next = next > o->replay_back ? next - o->replay_back : 0;
	while (c->first_unacked < c->nm) {
		struct pollfd pf = { .fd = t.fd, .events = POLLIN };

		if (now_s() > deadline) {
			fprintf(stderr, "coll_client: domain %u: timed out with %zu of %zu messages unacknowledged\n",
				c->domain, c->nm - c->first_unacked, c->nm);
			tconn_close(&t);
			return -2;
		}
		if (next < c->first_unacked && !o->replay_back)
			next = c->first_unacked;
		if (next < c->nm) {
			const struct msg *m = &c->m[next];
			int w = mbedtls_ssl_write(&t.ssl, c->buf + m->off, m->len);

			if (w == (int)m->len) {
				next++;
				if (read_acks(c, &t) < 0)
					break;
				continue;
			}
			if (w > 0 || (w != MBEDTLS_ERR_SSL_WANT_WRITE && w != MBEDTLS_ERR_SSL_WANT_READ)) {
				/* Partial writes do not happen for messages below 16 KiB;
				 * anything else is a lost connection. */
				if (w > 0 && write_all(c, &t, c->buf + m->off + w, m->len - (size_t)w,
						       deadline) == 0) {
					next++;
					continue;
				}
				break;
			}
			pf.events |= POLLOUT;
		}
		if (poll(&pf, 1, 200) > 0 && (pf.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    read_acks(c, &t) < 0)
			break;
	}
	tconn_close(&t);
	return c->first_unacked == c->nm ? 0 : -1;
}

static int run_one(const struct opts *o, uint32_t domain, const char *json_path)
{
	struct client c;
	struct mt_tls_ctx tls;
	char err[512];
	double t0, wall0;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.domain = domain;
	if (json_path) {
		c.json = fopen(json_path, "w");
		if (!c.json)
			die("%s: %s", json_path, strerror(errno));
	}
	base_time = o->base_time ? o->base_time : (uint64_t)time(NULL) / 3600 * 3600 - 3600;
	if (o->nreplay)
		load_replay(&c);
	else
		make_synthetic(&c);
	if (c.json)
		fclose(c.json);
	if (o->dump) {
		/* What a session would carry: templates, then every message. */
		FILE *f = fopen(o->dump, "wb");
		uint8_t *msg = malloc(MT_IPFIX_MSG_MAX);
		struct mt_ipfix_enc e;
		size_t len;

		if (!f || !msg)
			die("%s: %s", o->dump, strerror(errno));
		mt_ipfix_begin(&e, msg, MT_IPFIX_MSG_MAX, c.domain, PEN, 1790000000u,
			       c.nm ? c.m[0].seq : c.end_seq);
		if (mt_ipfix_templates(&e, false) != 0)
			die("templates do not fit a message");
		len = mt_ipfix_end(&e);
		if (fwrite(msg, 1, len, f) != len || fwrite(c.buf, 1, c.len, f) != c.len ||
		    fclose(f) != 0)
			die("%s: write error", o->dump);
		free(msg);
		free(c.buf);
		free(c.m);
		return 0;
	}
	if (mt_tls_ctx_init(&tls, false, o->ca, o->cert, o->key, err, sizeof(err)) != 0)
		die("%s", err);
	if (o->tls11) {
		/* What an outdated client offers: at most TLS 1.1, with the
		 * suites that exist there. */
		mbedtls_ssl_conf_min_version(&tls.conf, MBEDTLS_SSL_MAJOR_VERSION_3,
					     MBEDTLS_SSL_MINOR_VERSION_1);
		mbedtls_ssl_conf_max_version(&tls.conf, MBEDTLS_SSL_MAJOR_VERSION_3,
					     MBEDTLS_SSL_MINOR_VERSION_2);
		mbedtls_ssl_conf_ciphersuites(&tls.conf, mbedtls_ssl_list_ciphersuites());
	}
	t0 = now_s();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		wall0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	for (unsigned attempt = 0; attempt < o->attempts; attempt++) {
		rc = session(&c, &tls);
		if (rc == 0 || rc == -2)
			break;
		if (attempt + 1 < o->attempts) {
			/* The collector went away: back off a little, then resend
			 * what it has not acknowledged. */
			c.reconnects++;
			usleep((useconds_t)(MT_MIN(50000u * (attempt + 1), 500000u)));
		}
	}
	if (o->stats && rc == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		/* One line per exporter: the benchmark takes the earliest start
		 * and the latest end (generation is not part of the transfer). */
		printf("coll_client-stats domain %u records %lu start %.6f end %.6f\n", domain,
		       (unsigned long)(c.end_seq - (c.nm ? c.m[0].seq : c.end_seq)), wall0,
		       (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
		fflush(stdout);
	}
	if (!o->quiet || rc != 0)
		fprintf(stderr,
			"coll_client: domain %u: %s: %zu messages, seq %u..%u, acked %s%u, %lu acks, %lu reconnects, %.2fs\n",
			domain, rc == 0 ? "done" : "FAILED", c.nm, c.nm ? c.m[0].seq : 0, c.end_seq,
			c.acked_valid ? "" : "(none) ", c.acked, c.acks, c.reconnects, now_s() - t0);
	mt_tls_ctx_free(&tls);
	free(c.buf);
	free(c.m);
	return rc == 0 ? 0 : 1;
}

/* Raw bytes that are not TLS at all. */
static int run_garbage(const struct opts *o)
{
	static const char junk[] = "GET / HTTP/1.0\r\n\r\nthis is not a TLS client hello\r\n";
	double deadline = now_s() + o->timeout;
	int fd = tcp_connect(o);
	char buf[256];

	if (fd < 0)
		die("connect %s:%s: %s", o->host, o->port, strerror(errno));
	if (send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL) < 0)
		die("send: %s", strerror(errno));
	/* The collector must close on us (after a TLS alert, perhaps). */
	while (wait_fd(fd, POLLIN, deadline)) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			close(fd);
			fprintf(stderr, "coll_client: garbage: connection closed by the collector\n");
			return 0;
		}
	}
	close(fd);
	fprintf(stderr, "coll_client: garbage: still open after %.0fs\n", o->timeout);
	return 1;
}

/* `pattern` with its first "%u" replaced by `i`. */
static void subst(char *out, size_t len, const char *pattern, unsigned i)
{
	const char *at = strstr(pattern, "%u");

	snprintf(out, len, "%.*s%u%s", (int)(at - pattern), pattern, i, at + 2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: coll_client --connect HOST:PORT --ca F --cert F --key F [options]\n"
		"  --server-name N     name expected in the collector's certificate (default: host)\n"
		"  --domain D          observation domain (default 1; with --procs, D..D+P-1)\n"
		"  --records N         synthetic records to send (default 1000)\n"
		"  --flow-only         synthetic records all of type flow\n"
		"  --replay FILE       send the messages of an IPFIX file instead (repeatable)\n"
		"  --repeat K          send the --replay files K times over, renumbered\n"
		"  --skip-type T       with --replay: leave records of type T out (repeatable)\n"
		"  --start-seq N       first sequence number of synthetic records (default 0)\n"
		"  --msg-size B        message size (default 16000)\n"
		"  --procs P           P exporters at once (forked), one domain each; %%u in the\n"
		"                      --cert and --key paths becomes the exporter's index 0..P-1\n"
		"  --json FILE         write the synthetic records as EVE JSON (FILE.I with --procs)\n"
		"  --attempts N        connections tried before giving up (default 1000)\n"
		"  --timeout S         give up after S seconds per connection (default 120)\n"
		"  --tls11             offer TLS 1.1 at most (must be refused)\n"
		"  --garbage           send bytes that are not TLS (must be refused)\n"
		"  --garbage-ipfix     valid TLS, then bytes that are not IPFIX (must be refused)\n"
		"  --dump FILE         write the session's bytes (after TLS) to FILE, send nothing\n"
		"  --stats             print each exporter's transfer start and end (benchmarks)\n"
		"  --stall S           send templates and half a message, then hang S seconds\n"
		"  --replay-back N     after a reconnect, ignore the collector's first acknowledgement\n"
		"                      and resend N acknowledged messages too (an exporter restoring\n"
		"                      an old spool: the collector must discard them as duplicates)\n"
		"  --base-time T       time of the first synthetic record, Unix seconds (default:\n"
		"                      the last full hour minus one: recent, so retention keeps them)\n"
		"  --quiet\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "connect", required_argument, NULL, 'C' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "server-name", required_argument, NULL, 'S' },
		{ "domain", required_argument, NULL, 'd' },
		{ "records", required_argument, NULL, 'n' },
		{ "flow-only", no_argument, NULL, 'F' },
		{ "replay", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'K' },
		{ "start-seq", required_argument, NULL, 's' },
		{ "msg-size", required_argument, NULL, 'm' },
		{ "procs", required_argument, NULL, 'p' },
		{ "json", required_argument, NULL, 'j' },
		{ "attempts", required_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 't' },
		{ "tls11", no_argument, NULL, '1' },
		{ "garbage", no_argument, NULL, 'g' },
		{ "garbage-ipfix", no_argument, NULL, 'G' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "dump", required_argument, NULL, 'D' },
		{ "stats", no_argument, NULL, 'T' },
		{ "stall", required_argument, NULL, 'H' },
		{ "base-time", required_argument, NULL, 'b' },
		{ "replay-back", required_argument, NULL, 'R' },
		{ "skip-type", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	const char *connect_to = NULL;
	int opt, fails = 0;

	memset(&o, 0, sizeof(o));
	o.domain = 1;
	o.records = 1000;
	o.procs = 1;
	o.msg_size = 16000;
	o.timeout = 120;
	o.attempts = 1000;
	o.repeat = 1;
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			connect_to = optarg;
			break;
		case 'a':
			o.ca = optarg;
			break;
		case 'e':
			o.cert = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'S':
			o.server_name = optarg;
			break;
		case 'd':
			o.domain = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o.records = strtoul(optarg, NULL, 10);
			break;
		case 'F':
			o.types_flow_only = true;
			break;
		case 'r':
			if (o.nreplay == MT_ARRAY_SIZE(o.replay_files))
				usage();
			o.replay_files[o.nreplay++] = optarg;
			break;
		case 'K':
			o.repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			o.start_seq = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o.msg_size = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o.procs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'j':
			o.json = optarg;
			break;
		case 'A':
			o.attempts = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o.timeout = strtod(optarg, NULL);
			break;
		case '1':
			o.tls11 = true;
			break;
		case 'g':
			o.garbage = true;
			break;
		case 'G':
			o.garbage_ipfix = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'D':
			o.dump = optarg;
			break;
		case 'T':
			o.stats = true;
			break;
		case 'H':
			o.stall = strtod(optarg, NULL);
			break;
		case 'b':
			o.base_time = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			o.replay_back = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'X': {
			int t = mt_rtype_from_name(optarg);

			if (t < 0)
				die("--skip-type: no record type `%s'", optarg);
			skip_types |= 1u << t;
			break;
		}
		default:
			usage();
		}
	}
	if (o.dump && o.procs == 1)
		return run_one(&o, o.domain, o.json);
	if (!connect_to || (!o.garbage && (!o.ca || !o.cert || !o.key)) || o.procs == 0 ||
	    o.attempts == 0 || o.msg_size < 256)
		usage();
	{
		const char *colon = strrchr(connect_to, ':');

		if (!colon || colon == connect_to || (size_t)(colon - connect_to) >= sizeof(o.host))
			usage();
		memcpy(o.host, connect_to, (size_t)(colon - connect_to));
		snprintf(o.port, sizeof(o.port), "%s", colon + 1);
	}
	signal(SIGPIPE, SIG_IGN);
	if (o.garbage)
		return run_garbage(&o);
	if (o.tls11 || o.garbage_ipfix)
		o.attempts = 1;
	if (o.procs == 1)
		return run_one(&o, o.domain, o.json);
	for (unsigned i = 0; i < o.procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			char path[1024], cert[1024], key[1024];

			if (o.json)
				snprintf(path, sizeof(path), "%s.%u", o.json, i);
			/* One appliance per exporter when the paths say so. */
			if (strstr(o.cert, "%u") && strstr(o.key, "%u")) {
				subst(cert, sizeof(cert), o.cert, i);
				subst(key, sizeof(key), o.key, i);
				o.cert = cert;
				o.key = key;
			}
			_exit(run_one(&o, o.domain + i, o.json ? path : NULL));
		}
	}
	for (unsigned i = 0; i < o.procs; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fails++;
	}
	if (fails)
		fprintf(stderr, "coll_client: %d of %u exporters failed\n", fails, o.procs);
	return fails ? 1 : 0;
}
