/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The collector's event loop (see server.h). Connections live in an epoll
 * set of their own, nested in the main one, so that when the writer falls
 * behind and the open batch is full, one epoll_ctl stops reading from
 * every appliance at once (their TCP windows fill, their spools take the
 * slack) while the writer's completions, signals and /metrics are still
 * served. Acknowledgements are pulled, not pushed: whenever a connection
 * can write and holds nothing unsent, it builds one MTAK frame per domain
 * of its appliance whose committed next sequence number it has not been
 * told yet, so acks coalesce and a connection that stops reading holds at
 * most one frame per domain.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "tlsconf.h"
#include "version.h"
#include "writer.h"

#define BATCH_MAX_BYTES (32u << 20)
#define READS_PER_TURN 8           /* TLS records read per connection per turn */
#define MSGS_PER_TURN 16           /* messages taken per call */
#define ACCEPTS_PER_TURN 64
#define SWEEP_NS (200 * MT_NS_PER_MS)
#define HEARTBEAT_NS (2 * MT_NS_PER_SEC)
#define STOP_WAIT_NS (30 * MT_NS_PER_SEC)
#define MTAK_LEN 16

enum ev_kind { EV_LISTEN, EV_METRICS, EV_HTTP, EV_CONN, EV_WRITER, EV_SIGNAL, EV_CEP };

struct ev {
	enum ev_kind kind;
};

struct dom_state {
	struct mt_ingest_dom d;
	bool committed;            /* a committed next number exists */
	uint32_t committed_next;
	uint64_t dups_at_start;    /* for the process-lifetime metrics */
	uint64_t gaps_at_start;
	uint64_t gap_events_at_start;
};

struct app_state {
	const struct mt_coll_appliance *cfg;
	unsigned dom_idx[MT_COLL_DOMAINS_MAX];
	unsigned connected;
	uint64_t records;
	uint64_t connections;
	int64_t first_seen_us;
	int64_t last_seen_us;
	char peer[MT_BATCH_PEER];
	bool dirty;
};

struct conn {
	struct ev ev;                /* first: epoll data points here */
	int fd;
	unsigned slot;
	bool open;                   /* handshake done, appliance known */
	bool want_out;
	bool pending;                /* has bytes to process without a socket event */
	int app;
	uint64_t start_ns;
	uint64_t last_rx_ns;
	char peer[64];
	mbedtls_ssl_context ssl;
	struct mt_ingest in;
	size_t out_len;
	size_t out_off;
	uint8_t out[MT_COLL_DOMAINS_MAX * MTAK_LEN];
	bool told[MT_COLL_DOMAINS_MAX];
	uint32_t told_next[MT_COLL_DOMAINS_MAX];
};

struct http_slot {
	struct ev ev;
	bool used;
	struct mt_http h;
};

struct server {
	const struct mt_coll_config *cfg;
	struct mt_tls_ctx tls;
	bool tls_ready;
	int ep, cep, lfd, mfd, sfd, lockfd;
	bool cep_armed;
	struct ev lev, mev, wev, sev, cepev;
	struct conn **conns;
	unsigned maxconns;
	unsigned nconns;
	struct http_slot http[MT_HTTP_MAX_CONNS];
	struct mt_store store;
	bool store_open;
	struct mt_writer writer;
	bool writer_started;
	struct mt_batch batches[2];
	struct mt_batch *cur;
	struct mt_batch *spare;      /* NULL while the writer holds it */
	uint64_t cur_since_ns;       /* when cur got content; 0 = empty */
	uint64_t last_submit_ns;
	bool blocked;
	bool any_pending;
	struct dom_state *doms;      /* sorted by domain id */
	unsigned ndoms;
	struct app_state *apps;
	const char **app_names;
	struct mt_metrics m;
	uint64_t now_ns;
	uint64_t next_sweep_ns;
	bool quit;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- domains and appliances ---- */

static int cmp_dom(const void *a, const void *b)
{
	const struct dom_state *x = a, *y = b;

	return x->d.domain < y->d.domain ? -1 : x->d.domain > y->d.domain;
}

static struct dom_state *find_dom(struct server *s, uint32_t domain)
{
	struct dom_state key;

	key.d.domain = domain;
	return bsearch(&key, s->doms, s->ndoms, sizeof(*s->doms), cmp_dom);
}

static struct mt_ingest_dom *lookup_dom(void *ctx, uint32_t domain)
{
	struct dom_state *d = find_dom(ctx, domain);

	return d ? &d->d : NULL;
}

static void mark_dirty(struct server *s)
{
	if (!s->cur_since_ns)
		s->cur_since_ns = s->now_ns ? s->now_ns : mono_ns();
}

static int build_state(struct server *s)
{
	const struct mt_coll_config *cfg = s->cfg;
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->nappliances; i++)
		n += cfg->appliances[i].ndomains;
	s->doms = calloc(n ? n : 1, sizeof(*s->doms));
	s->apps = calloc(cfg->nappliances ? cfg->nappliances : 1, sizeof(*s->apps));
	s->app_names = calloc(cfg->nappliances ? cfg->nappliances : 1, sizeof(*s->app_names));
	if (!s->doms || !s->apps || !s->app_names)
		return -ENOMEM;
	for (unsigned i = 0; i < cfg->nappliances; i++) {
		s->apps[i].cfg = &cfg->appliances[i];
		s->app_names[i] = cfg->appliances[i].name;
		for (unsigned k = 0; k < cfg->appliances[i].ndomains; k++) {
			s->doms[s->ndoms].d.domain = cfg->appliances[i].domains[k];
			s->doms[s->ndoms].d.app = (uint16_t)i;
			s->ndoms++;
		}
	}
	qsort(s->doms, s->ndoms, sizeof(*s->doms), cmp_dom);
	for (unsigned i = 0; i < cfg->nappliances; i++)
		for (unsigned k = 0; k < cfg->appliances[i].ndomains; k++)
			s->apps[i].dom_idx[k] =
				(unsigned)(find_dom(s, cfg->appliances[i].domains[k]) - s->doms);
	return 0;
}

static void load_dom(void *ctx, const struct mt_batch_dom *d, const char *appliance)
{
	struct server *s = ctx;
	struct dom_state *ds = find_dom(s, d->domain);

	if (!ds)
		return; /* no longer configured: kept in the database, not served */
	if (appliance && strcmp(appliance, s->app_names[ds->d.app]) != 0)
		mt_log(MT_LOG_WARN, "config",
		       "observation domain %u was appliance %s's, now %s's: its sequence continues",
		       d->domain, appliance, s->app_names[ds->d.app]);
	ds->d.seq.known = true;
	ds->d.seq.next = d->next_seq;
	ds->d.seq.records = d->records;
	ds->d.seq.duplicates = d->duplicates;
	ds->d.seq.gaps = d->gaps;
	ds->d.seq.gap_events = d->gap_events;
	ds->d.first_seen_us = d->first_seen_us;
	ds->d.last_seen_us = d->last_seen_us;
	ds->committed = true;
	ds->committed_next = d->next_seq;
	ds->dups_at_start = d->duplicates;
	ds->gaps_at_start = d->gaps;
	ds->gap_events_at_start = d->gap_events;
}

static void load_app(void *ctx, const char *name, const struct mt_batch_app *a)
{
	struct server *s = ctx;

	for (unsigned i = 0; name && i < s->cfg->nappliances; i++)
		if (strcmp(s->app_names[i], name) == 0) {
			s->apps[i].records = a->records;
			s->apps[i].connections = a->connections;
			s->apps[i].first_seen_us = a->first_seen_us;
			s->apps[i].last_seen_us = a->last_seen_us;
			memcpy(s->apps[i].peer, a->peer, sizeof(a->peer));
		}
}

/* ---- batches ---- */

static void snapshot(struct server *s, struct mt_batch *b)
{
	for (unsigned i = 0; i < s->ndoms; i++) {
		struct dom_state *ds = &s->doms[i];
		struct mt_batch_dom *d;

		if (!ds->d.dirty || b->ndoms == b->doms_cap)
			continue;
		d = &b->doms[b->ndoms++];
		d->domain = ds->d.domain;
		d->app = ds->d.app;
		d->next_seq = ds->d.seq.next;
		d->records = ds->d.seq.records;
		d->duplicates = ds->d.seq.duplicates;
		d->gaps = ds->d.seq.gaps;
		d->gap_events = ds->d.seq.gap_events;
		d->first_seen_us = ds->d.first_seen_us;
		d->last_seen_us = ds->d.last_seen_us;
		ds->d.dirty = false;
	}
	for (unsigned i = 0; i < s->cfg->nappliances; i++) {
		struct app_state *as = &s->apps[i];
		struct mt_batch_app *a;

		if (!as->dirty || b->napps == b->apps_cap)
			continue;
		a = &b->apps[b->napps++];
		a->app = (uint16_t)i;
		a->connected = (uint16_t)MT_MIN(as->connected, 65535u);
		a->records = as->records;
		a->connections = as->connections;
		a->first_seen_us = as->first_seen_us;
		a->last_seen_us = as->last_seen_us;
		memcpy(a->peer, as->peer, sizeof(a->peer));
		as->dirty = false;
	}
	b->now_us = wall_us();
}

static void arm_cep(struct server *s, bool on)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &s->cepev };

	if (on == s->cep_armed)
		return;
	if (epoll_ctl(s->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->cep, &e) == 0)
		s->cep_armed = on;
	else
		mt_log(MT_LOG_ERR, "epoll", "%s: %s", on ? "resume" : "pause", strerror(errno));
}

static void submit(struct server *s)
{
	struct mt_batch *b = s->cur;

	snapshot(s, b);
	mt_writer_submit(&s->writer, b);
	s->cur = s->spare;
	s->spare = NULL;
	mt_batch_reset(s->cur);
	s->cur_since_ns = 0;
	s->last_submit_ns = s->now_ns;
	if (s->blocked) {
		s->blocked = false;
		arm_cep(s, true);
		s->any_pending = true;
	}
}

static void maybe_submit(struct server *s)
{
	const struct mt_coll_config *c = s->cfg;
	bool due;

	if (!s->spare)
		return; /* the writer still holds the other batch */
	due = s->blocked || s->cur->nrec >= c->storage.batch_records ||
	      (s->cur_since_ns && s->now_ns - s->cur_since_ns >= c->storage.batch_interval_ns) ||
	      s->now_ns - s->last_submit_ns >= HEARTBEAT_NS;
	if (due)
		submit(s);
}

static void block(struct server *s)
{
	if (s->blocked)
		return;
	s->blocked = true;
	s->m.backpressure++;
	arm_cep(s, false);
}

/* ---- connections ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct conn *c = ctx;
	ssize_t n = recv(c->fd, buf, len, 0);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static void set_out(struct server *s, struct conn *c, bool on)
{
	struct epoll_event e = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = &c->ev };

	if (c->want_out == on)
		return;
	if (epoll_ctl(s->cep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->want_out = on;
}

/* Printable copy of a peer-supplied name for logs. */
static void clean(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

enum close_why { CLOSE_PEER, CLOSE_IDLE, CLOSE_ERROR, CLOSE_REFUSED, CLOSE_SHUTDOWN };

static void close_conn(struct server *s, struct conn *c, enum close_why why, const char *detail)
{
	if (c->open) {
		struct app_state *as = &s->apps[c->app];

		/* Best effort: a close_notify that does not fit is dropped. */
		mbedtls_ssl_close_notify(&c->ssl);
		as->connected--;
		as->dirty = true;
		mark_dirty(s);
		s->m.conn_established--;
		if (why == CLOSE_PEER)
			s->m.closed_peer++;
		else if (why == CLOSE_IDLE)
			s->m.closed_idle++;
		else if (why == CLOSE_ERROR)
			s->m.closed_error++;
		mt_log(why == CLOSE_ERROR ? MT_LOG_WARN : MT_LOG_INFO, "connection",
		       "appliance %s (%s) disconnected: %s; %llu messages, %llu records stored, %llu duplicates",
		       as->cfg->name, c->peer, detail, (unsigned long long)c->in.messages,
		       (unsigned long long)c->in.records, (unsigned long long)c->in.duplicates);
	} else {
		s->m.conn_handshaking--;
	}
	close(c->fd);
	mbedtls_ssl_free(&c->ssl);
	mt_ingest_free(&c->in);
	s->conns[c->slot] = NULL;
	s->nconns--;
	free(c);
}

static void refuse(struct server *s, struct conn *c, enum mt_refusal r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void refuse(struct server *s, struct conn *c, enum mt_refusal r, const char *fmt, ...)
{
	char detail[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	s->m.refusals[r]++;
	mt_log_limited(MT_LOG_WARN, "refused", "%s%s%s: %s: %s", c->peer,
		       c->open ? " appliance " : "", c->open ? s->app_names[c->app] : "",
		       mt_refusal_name(r), detail);
	close_conn(s, c, CLOSE_REFUSED, mt_refusal_name(r));
}

/* MTAK frames for every domain whose committed number this connection
 * has not been told (docs/export.md). */
static void build_acks(struct server *s, struct conn *c)
{
	const struct app_state *as = &s->apps[c->app];

	for (unsigned k = 0; k < as->cfg->ndomains; k++) {
		const struct dom_state *ds = &s->doms[as->dom_idx[k]];
		uint8_t *f;

		if (!ds->committed || (c->told[k] && c->told_next[k] == ds->committed_next))
			continue;
		f = c->out + c->out_len;
		memcpy(f, "MTAK", 4);
		f[4] = 1;
		f[5] = 1;
		f[6] = f[7] = 0;
		mt_store_be32(f + 8, ds->d.domain);
		mt_store_be32(f + 12, ds->committed_next);
		c->out_len += MTAK_LEN;
		c->told[k] = true;
		c->told_next[k] = ds->committed_next;
		s->m.acks_sent++;
	}
}

/* Writes acknowledgements; false when the connection was closed. */
static bool flush_out(struct server *s, struct conn *c)
{
	for (;;) {
		int n;

		if (c->out_off == c->out_len) {
			c->out_off = c->out_len = 0;
			build_acks(s, c);
			if (!c->out_len) {
				set_out(s, c, false);
				return true;
			}
		}
		/* After WANT_WRITE mbedTLS wants the same buffer again: out is
		 * not touched until it has all been written. */
		n = mbedtls_ssl_write(&c->ssl, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n == MBEDTLS_ERR_SSL_WANT_WRITE || n == MBEDTLS_ERR_SSL_WANT_READ || n == 0) {
			set_out(s, c, true);
			return true;
		}
		{
			char e[160];

			mt_tls_strerror(n, e, sizeof(e));
			close_conn(s, c, CLOSE_ERROR, e);
		}
		return false;
	}
}

static bool peer_closed(int rc)
{
	return rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
	       rc == MBEDTLS_ERR_SSL_CONN_EOF || rc == MBEDTLS_ERR_NET_CONN_RESET;
}

/* Takes in complete messages; false when the connection was closed. */
static bool take(struct server *s, struct conn *c)
{
	struct app_state *as = &s->apps[c->app];
	struct mt_ingest_env env = {
		.batch = s->cur,
		.lookup = lookup_dom,
		.ctx = s,
		.appliance = as->cfg,
		.app = (uint16_t)c->app,
		.now_us = wall_us(),
	};
	uint64_t msgs = c->in.messages, recs = c->in.records;
	char why[300];
	int rc = mt_ingest_process(&c->in, &env, MSGS_PER_TURN, why, sizeof(why));

	s->m.messages += c->in.messages - msgs;
	if (c->in.messages != msgs) {
		as->records += c->in.records - recs;
		as->last_seen_us = env.now_us;
		as->dirty = true;
		mark_dirty(s);
	}
	switch (rc) {
	case 0:
		return true;
	case -EAGAIN:
		c->pending = true;
		s->any_pending = true;
		block(s);
		return true;
	case -EPERM:
		refuse(s, c, MT_REFUSAL_domain_not_bound, "%s", why);
		return false;
	default:
		refuse(s, c, MT_REFUSAL_bad_ipfix, "%s", why);
		return false;
	}
}

static void read_conn(struct server *s, struct conn *c)
{
	c->pending = false;
	for (unsigned reads = 0; reads < READS_PER_TURN;) {
		uint8_t *p;
		size_t room;
		int n;

		if (s->blocked) {
			c->pending = true;
			s->any_pending = true;
			return;
		}
		if (mt_ingest_ready(&c->in)) {
			if (!take(s, c))
				return;
			if (s->blocked)
				return;
			continue;
		}
		room = mt_ingest_space(&c->in, &p);
		if (!room) {
			close_conn(s, c, CLOSE_ERROR, "out of memory for the input buffer");
			return;
		}
		n = mbedtls_ssl_read(&c->ssl, p, room);
		reads++;
		if (n > 0) {
			mt_ingest_added(&c->in, (size_t)n);
			s->m.bytes += (uint64_t)n;
			c->last_rx_ns = s->now_ns;
			continue;
		}
		if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		if (peer_closed(n)) {
			close_conn(s, c, CLOSE_PEER, "peer closed the connection");
		} else {
			char e[160];

			mt_tls_strerror(n, e, sizeof(e));
			close_conn(s, c, CLOSE_ERROR, e);
		}
		return;
	}
	/* Budget used up: mbedTLS may hold decrypted bytes no socket event
	 * will announce, so come back without waiting. */
	c->pending = true;
	s->any_pending = true;
}

static void handshake_done(struct server *s, struct conn *c)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
	const struct mt_coll_appliance *a;
	struct app_state *as;
	char cn[256], shown[MT_COLL_NAME + 8];

	if (!crt || !mt_tls_peer_cn(crt, cn, sizeof(cn))) {
		refuse(s, c, MT_REFUSAL_no_cert, "certificate without a common name");
		return;
	}
	/* A name with a NUL inside ("tap-01\0x") must not pass for its
	 * prefix: compare the whole encoded length. */
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			if (n->val.len != strlen(cn)) {
				refuse(s, c, MT_REFUSAL_not_allowed, "certificate common name has a NUL byte");
				return;
			}
			break;
		}
	a = mt_coll_config_appliance(s->cfg, cn);
	if (!a) {
		clean(shown, sizeof(shown), cn);
		refuse(s, c, MT_REFUSAL_not_allowed, "certificate common name `%s' is not on the allow-list",
		       shown);
		return;
	}
	c->open = true;
	c->app = (int)(a - s->cfg->appliances);
	c->last_rx_ns = s->now_ns;
	as = &s->apps[c->app];
	as->connected++;
	as->connections++;
	as->last_seen_us = wall_us();
	if (!as->first_seen_us)
		as->first_seen_us = as->last_seen_us;
	memcpy(as->peer, c->peer, sizeof(as->peer));
	as->dirty = true;
	mark_dirty(s);
	s->m.handshakes++;
	s->m.conn_handshaking--;
	s->m.conn_established++;
	mt_log(MT_LOG_INFO, "connection", "appliance %s connected from %s (%s, %s)", a->name, c->peer,
	       mbedtls_ssl_get_version(&c->ssl), mbedtls_ssl_get_ciphersuite(&c->ssl));
	/* The numbers we expect, right away (docs/export.md). */
	if (flush_out(s, c))
		read_conn(s, c);
}

static void handshake(struct server *s, struct conn *c)
{
	int rc = mbedtls_ssl_handshake(&c->ssl);
	char e[200];

	if (rc == 0) {
		set_out(s, c, false);
		handshake_done(s, c);
		return;
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
		set_out(s, c, false);
		return;
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		set_out(s, c, true);
		return;
	}
	mt_tls_strerror(rc, e, sizeof(e));
	switch (rc) {
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
		refuse(s, c, MT_REFUSAL_tls_version, "%s (TLS 1.2 or later required)", e);
		break;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED: {
		char info[256];
		uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
		char *nl;

		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		while ((nl = strchr(info, '\n')))
			*nl = *(nl + 1) ? ';' : '\0';
		refuse(s, c, MT_REFUSAL_cert_verify, "client certificate: %s", info);
		break;
	}
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		refuse(s, c, MT_REFUSAL_no_cert, "%s", e);
		break;
	default:
		if (peer_closed(rc))
			refuse(s, c, MT_REFUSAL_tls_handshake, "connection closed during the handshake");
		else
			refuse(s, c, MT_REFUSAL_tls_handshake, "%s", e);
		break;
	}
}

static void on_conn(struct server *s, struct conn *c, uint32_t events)
{
	if (!c->open) {
		handshake(s, c);
		return;
	}
	if ((events & EPOLLOUT) && !flush_out(s, c))
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_conn(s, c);
}

static void tune_socket(int fd)
{
	int one = 1, idle = 60, intvl = 10, cnt = 6;

	/* Acknowledgements are small and late ones keep spools full. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A dead appliance (power cut, cable) is noticed within minutes. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void addr_text(const struct sockaddr_storage *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(a->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		snprintf(out, len, "?");
	}
}

static void on_accept(struct server *s)
{
	for (unsigned i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		struct epoll_event e;
		struct conn *c;
		char peer[64];
		unsigned slot;
		int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				mt_log_limited(MT_LOG_ERR, "accept", "%s", strerror(errno));
			return;
		}
		s->m.connections_accepted++;
		addr_text(&sa, peer, sizeof(peer));
		if (s->nconns >= s->maxconns) {
			s->m.refusals[MT_REFUSAL_too_many_connections]++;
			mt_log_limited(MT_LOG_WARN, "refused", "%s: too_many_connections: %u open",
				       peer, s->nconns);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		for (slot = 0; s->conns[slot]; slot++)
			;
		c->ev.kind = EV_CONN;
		c->fd = fd;
		c->slot = slot;
		c->app = -1;
		c->start_ns = s->now_ns;
		memcpy(c->peer, peer, sizeof(peer));
		mt_ingest_init(&c->in, s->cfg->server.pen);
		mbedtls_ssl_init(&c->ssl);
		if (mbedtls_ssl_setup(&c->ssl, &s->tls.conf) != 0) {
			mbedtls_ssl_free(&c->ssl);
			close(fd);
			free(c);
			continue;
		}
		mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
		tune_socket(fd);
		e.events = EPOLLIN;
		e.data.ptr = &c->ev;
		if (epoll_ctl(s->cep, EPOLL_CTL_ADD, fd, &e) != 0) {
			mbedtls_ssl_free(&c->ssl);
			close(fd);
			free(c);
			continue;
		}
		s->conns[slot] = c;
		s->nconns++;
		s->m.conn_handshaking++;
	}
}

/* ---- writer completions ---- */

static void on_writer(struct server *s)
{
	struct mt_batch *b = mt_writer_collect(&s->writer);

	if (!b)
		return;
	if (b->rc == 0) {
		for (unsigned i = 0; i < b->ndoms; i++) {
			struct dom_state *ds = find_dom(s, b->doms[i].domain);

			if (ds) {
				ds->committed = true;
				ds->committed_next = b->doms[i].next_seq;
			}
		}
		for (unsigned t = 0; t < MT_REC__COUNT; t++)
			s->m.records[t] += b->by_type[t];
		mt_metrics_observe_batch(&s->m, b->write_ns);
		/* Now, and only now, the appliances may forget these records. */
		for (unsigned i = 0; i < s->maxconns; i++) {
			struct conn *c = s->conns[i];

			if (c && c->open && !c->want_out)
				flush_out(s, c);
		}
	}
	mt_batch_reset(b);
	s->spare = b;
}

/* ---- metrics ---- */

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void label(struct mt_buf *b, const char *name)
{
	/* Appliance names are [A-Za-z0-9._-] (configuration): no escaping. */
	mt_buf_puts(b, name);
}

static void render(void *ctx, struct mt_buf *b)
{
	struct server *s = ctx;
	struct mt_metrics *m = &s->m;
	char wal[MT_COLL_STR + 8];

	m->duplicates = m->gap_records = m->gap_events = 0;
	for (unsigned i = 0; i < s->ndoms; i++) {
		const struct dom_state *ds = &s->doms[i];

		m->duplicates += ds->d.seq.duplicates - ds->dups_at_start;
		m->gap_records += ds->d.seq.gaps - ds->gaps_at_start;
		m->gap_events += ds->d.seq.gap_events - ds->gap_events_at_start;
	}
	m->write_errors = atomic_load(&s->writer.write_errors);
	m->retention_deleted = atomic_load(&s->writer.retention_deleted);
	snprintf(wal, sizeof(wal), "%s-wal", s->cfg->storage.path);
	m->db_bytes = file_size(s->cfg->storage.path) + file_size(wal);
	m->http_requests++;
	mt_metrics_render(b, m);
	mt_buf_puts(b, "# HELP mailtap_collector_appliance_connected Connections open now, per appliance.\n"
		       "# TYPE mailtap_collector_appliance_connected gauge\n");
	for (unsigned i = 0; i < s->cfg->nappliances; i++) {
		mt_buf_puts(b, "mailtap_collector_appliance_connected{appliance=\"");
		label(b, s->app_names[i]);
		mt_buf_printf(b, "\"} %u\n", s->apps[i].connected);
	}
	mt_buf_puts(b, "# HELP mailtap_collector_appliance_records_total Records stored, per appliance (since it was first seen).\n"
		       "# TYPE mailtap_collector_appliance_records_total counter\n");
	for (unsigned i = 0; i < s->cfg->nappliances; i++) {
		mt_buf_puts(b, "mailtap_collector_appliance_records_total{appliance=\"");
		label(b, s->app_names[i]);
		mt_buf_printf(b, "\"} %llu\n", (unsigned long long)s->apps[i].records);
	}
	mt_buf_puts(b, "# HELP mailtap_collector_domain_gap_records_total Sequence gaps, per observation domain (since first seen).\n"
		       "# TYPE mailtap_collector_domain_gap_records_total counter\n");
	for (unsigned i = 0; i < s->ndoms; i++) {
		mt_buf_puts(b, "mailtap_collector_domain_gap_records_total{appliance=\"");
		label(b, s->app_names[s->doms[i].d.app]);
		mt_buf_printf(b, "\",domain=\"%u\"} %llu\n", s->doms[i].d.domain,
			      (unsigned long long)s->doms[i].d.seq.gaps);
	}
	mt_buf_puts(b, "# HELP mailtap_collector_domain_duplicates_total Duplicates discarded, per observation domain (since first seen).\n"
		       "# TYPE mailtap_collector_domain_duplicates_total counter\n");
	for (unsigned i = 0; i < s->ndoms; i++) {
		mt_buf_puts(b, "mailtap_collector_domain_duplicates_total{appliance=\"");
		label(b, s->app_names[s->doms[i].d.app]);
		mt_buf_printf(b, "\",domain=\"%u\"} %llu\n", s->doms[i].d.domain,
			      (unsigned long long)s->doms[i].d.seq.duplicates);
	}
	mt_buf_puts(b, "# HELP mailtap_collector_domain_next_sequence Next sequence number committed, per observation domain.\n"
		       "# TYPE mailtap_collector_domain_next_sequence gauge\n");
	for (unsigned i = 0; i < s->ndoms; i++) {
		if (!s->doms[i].committed)
			continue;
		mt_buf_puts(b, "mailtap_collector_domain_next_sequence{appliance=\"");
		label(b, s->app_names[s->doms[i].d.app]);
		mt_buf_printf(b, "\",domain=\"%u\"} %u\n", s->doms[i].d.domain,
			      s->doms[i].committed_next);
	}
}

static void close_http(struct server *s, struct http_slot *h)
{
	close(h->h.fd);
	mt_buf_free(&h->h.resp);
	h->used = false;
	(void)s;
}

static void on_metrics_accept(struct server *s)
{
	for (unsigned i = 0; i < ACCEPTS_PER_TURN; i++) {
		int fd = accept4(s->mfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event e;
		unsigned k;

		if (fd < 0)
			return;
		for (k = 0; k < MT_HTTP_MAX_CONNS && s->http[k].used; k++)
			;
		if (k == MT_HTTP_MAX_CONNS) {
			close(fd); /* a scraper storm: the next scrape gets in */
			continue;
		}
		memset(&s->http[k].h, 0, sizeof(s->http[k].h));
		s->http[k].ev.kind = EV_HTTP;
		s->http[k].used = true;
		s->http[k].h.fd = fd;
		s->http[k].h.deadline_ns = s->now_ns + MT_HTTP_TIMEOUT_NS;
		e.events = EPOLLIN;
		e.data.ptr = &s->http[k].ev;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) != 0)
			close_http(s, &s->http[k]);
	}
}

static void on_http(struct server *s, struct http_slot *h)
{
	int rc;

	if (!h->h.responding) {
		rc = mt_http_read(&h->h, render, s);
		if (rc < 0) {
			close_http(s, h);
			return;
		}
		if (rc == 0)
			return;
	}
	rc = mt_http_write(&h->h);
	if (rc != 0) {
		close_http(s, h);
	} else {
		struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &h->ev };

		epoll_ctl(s->ep, EPOLL_CTL_MOD, h->h.fd, &e);
	}
}

/* ---- timers ---- */

static void sweep(struct server *s)
{
	const struct mt_coll_config *c = s->cfg;

	for (unsigned i = 0; i < s->maxconns; i++) {
		struct conn *cn = s->conns[i];

		if (!cn)
			continue;
		if (!cn->open && s->now_ns - cn->start_ns >= c->server.handshake_timeout_ns)
			refuse(s, cn, MT_REFUSAL_handshake_timeout, "no finished handshake after %.1fs",
			       (double)(s->now_ns - cn->start_ns) / 1e9);
		else if (cn->open && c->server.idle_timeout_ns &&
			 s->now_ns - cn->last_rx_ns >= c->server.idle_timeout_ns)
			close_conn(s, cn, CLOSE_IDLE, "idle timeout");
	}
	for (unsigned k = 0; k < MT_HTTP_MAX_CONNS; k++)
		if (s->http[k].used && s->now_ns >= s->http[k].h.deadline_ns)
			close_http(s, &s->http[k]);
}

static void process_pending(struct server *s)
{
	if (!s->any_pending || s->blocked)
		return;
	s->any_pending = false;
	for (unsigned i = 0; i < s->maxconns && !s->blocked; i++) {
		struct conn *c = s->conns[i];

		if (c && c->open && c->pending)
			read_conn(s, c);
	}
}

static int timeout_ms(struct server *s)
{
	uint64_t until = s->next_sweep_ns;

	if (s->any_pending && !s->blocked)
		return 0;
	if (s->cur_since_ns && s->spare)
		until = MT_MIN(until, s->cur_since_ns + s->cfg->storage.batch_interval_ns);
	if (s->spare)
		until = MT_MIN(until, s->last_submit_ns + HEARTBEAT_NS);
	if (until <= s->now_ns)
		return 0;
	return (int)MT_MIN((until - s->now_ns + MT_NS_PER_MS - 1) / MT_NS_PER_MS, 1000u);
}

/* ---- start-up and shutdown ---- */

static int listen_on(const char *addr, char *err, size_t errlen)
{
	char host[MT_COLL_ADDR], why[160], portstr[8];
	struct addrinfo hints, *ai = NULL;
	uint16_t port;
	int fd, one = 1, rc;

	if (!mt_coll_parse_addr(addr, host, sizeof(host), &port, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "%s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void add_ev(struct server *s, int fd, struct ev *ev, enum ev_kind kind)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = ev };

	ev->kind = kind;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) != 0)
		mt_log(MT_LOG_ERR, "epoll", "add: %s", strerror(errno));
}

/* Waits for the writer's batch (if any) and handles it; false on timeout. */
static bool drain_writer(struct server *s, uint64_t deadline)
{
	while (!s->spare) {
		struct pollfd p = { .fd = s->writer.efd, .events = POLLIN };

		s->now_ns = mono_ns();
		if (s->now_ns >= deadline)
			return false;
		if (poll(&p, 1, 100) > 0)
			on_writer(s);
	}
	return true;
}

static void stop(struct server *s)
{
	uint64_t deadline = mono_ns() + STOP_WAIT_NS;

	mt_log(MT_LOG_INFO, "server", "stopping: committing what is held");
	if (s->lfd >= 0) {
		close(s->lfd);
		s->lfd = -1;
	}
	/* Commit what we hold and acknowledge it before saying goodbye, so
	 * the appliances do not replay it at the next start. */
	if (drain_writer(s, deadline)) {
		submit(s);
		drain_writer(s, deadline);
	}
	for (unsigned i = 0; i < s->maxconns; i++)
		if (s->conns[i])
			close_conn(s, s->conns[i], CLOSE_SHUTDOWN, "collector stopping");
	if (s->spare) {
		s->cur->final = true; /* appliances disconnected, collector stopped */
		submit(s);
		drain_writer(s, deadline);
	}
	mt_writer_stop(&s->writer);
	s->writer_started = false;
}

static void cleanup(struct server *s)
{
	if (s->writer_started)
		mt_writer_stop(&s->writer);
	for (unsigned i = 0; s->conns && i < s->maxconns; i++)
		if (s->conns[i])
			close_conn(s, s->conns[i], CLOSE_SHUTDOWN, "collector stopping");
	for (unsigned k = 0; k < MT_HTTP_MAX_CONNS; k++)
		if (s->http[k].used)
			close_http(s, &s->http[k]);
	if (s->store_open)
		mt_store_close(&s->store);
	mt_batch_free(&s->batches[0]);
	mt_batch_free(&s->batches[1]);
	if (s->tls_ready)
		mt_tls_ctx_free(&s->tls);
	if (s->ep >= 0)
		close(s->ep);
	if (s->cep >= 0)
		close(s->cep);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->mfd >= 0)
		close(s->mfd);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->conns);
	free(s->doms);
	free(s->apps);
	free(s->app_names);
}

static int start(struct server *s, const struct mt_coll_config *cfg)
{
	struct mt_store_opts so = {
		.path = cfg->storage.path,
		.sync_full = strcmp(cfg->storage.synchronous, "full") == 0,
		.cache_bytes = cfg->storage.cache_bytes,
	};
	struct rlimit rl;
	sigset_t sigs;
	char err[512];

	s->cfg = cfg;
	s->ep = s->cep = s->lfd = s->mfd = s->sfd = s->lockfd = -1;
	s->m.start_time_s = (uint64_t)(wall_us() / 1000000);
	if (!cfg->server.ca[0] || !cfg->server.cert[0] || !cfg->server.key[0]) {
		mt_log(MT_LOG_ERR, "config", "[server] ca, cert and key are required");
		return -1;
	}
	if (cfg->nappliances == 0)
		mt_log(MT_LOG_WARN, "config", "no [appliance NAME] section: every appliance will be refused");
	/* One descriptor per connection plus a few of our own. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < cfg->server.max_connections + 64u) {
		rl.rlim_cur = MT_MIN(rl.rlim_max, (rlim_t)cfg->server.max_connections + 64u);
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (mt_tls_ctx_init(&s->tls, true, cfg->server.ca, cfg->server.cert, cfg->server.key, err,
			    sizeof(err)) != 0) {
		s->tls_ready = s->tls.ready;
		mt_log(MT_LOG_ERR, "tls", "%s", err);
		return -1;
	}
	s->tls_ready = true;
	if (build_state(s) != 0) {
		mt_log(MT_LOG_ERR, "server", "out of memory");
		return -1;
	}
	if (mt_store_open(&s->store, &so, err, sizeof(err)) != 0) {
		mt_log(MT_LOG_ERR, "storage", "%s", err);
		return -1;
	}
	s->store_open = true;
	/* Two collectors on one database would both believe they own the
	 * sequence state. SQLite's own locks are fcntl locks; flock() is
	 * independent of them on Linux. */
	s->lockfd = open(cfg->storage.path, O_RDONLY | O_CLOEXEC);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		mt_log(MT_LOG_ERR, "storage", "%s: another collector is using this database (%s)",
		       cfg->storage.path, strerror(errno));
		return -1;
	}
	if (mt_store_load_domains(&s->store, load_dom, s, err, sizeof(err)) != 0 ||
	    mt_store_load_appliances(&s->store, load_app, s, err, sizeof(err)) != 0) {
		mt_log(MT_LOG_ERR, "storage", "%s", err);
		return -1;
	}
	if (mt_batch_init(&s->batches[0], BATCH_MAX_BYTES, s->ndoms, cfg->nappliances) ||
	    mt_batch_init(&s->batches[1], BATCH_MAX_BYTES, s->ndoms, cfg->nappliances)) {
		mt_log(MT_LOG_ERR, "server", "out of memory");
		return -1;
	}
	s->cur = &s->batches[0];
	s->spare = &s->batches[1];
	s->maxconns = cfg->server.max_connections;
	s->conns = calloc(s->maxconns, sizeof(*s->conns));
	if (!s->conns) {
		mt_log(MT_LOG_ERR, "server", "out of memory");
		return -1;
	}
	s->lfd = listen_on(cfg->server.listen, err, sizeof(err));
	if (s->lfd < 0) {
		mt_log(MT_LOG_ERR, "server", "listen %s", err);
		return -1;
	}
	if (cfg->metrics.listen[0]) {
		s->mfd = listen_on(cfg->metrics.listen, err, sizeof(err));
		if (s->mfd < 0) {
			mt_log(MT_LOG_ERR, "metrics", "listen %s", err);
			return -1;
		}
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->cep = epoll_create1(EPOLL_CLOEXEC);
	if (s->sfd < 0 || s->ep < 0 || s->cep < 0) {
		mt_log(MT_LOG_ERR, "server", "epoll/signalfd: %s", strerror(errno));
		return -1;
	}
	/* The writer starts after signals are blocked, so it inherits the
	 * mask and SIGTERM always reaches the loop's signalfd. */
	if (mt_writer_start(&s->writer, &s->store, s->app_names, cfg->storage.retention_ns,
			    cfg->storage.retention_batch) != 0) {
		mt_log(MT_LOG_ERR, "server", "writer thread: %s", strerror(errno));
		return -1;
	}
	s->writer_started = true;
	add_ev(s, s->lfd, &s->lev, EV_LISTEN);
	if (s->mfd >= 0)
		add_ev(s, s->mfd, &s->mev, EV_METRICS);
	add_ev(s, s->writer.efd, &s->wev, EV_WRITER);
	add_ev(s, s->sfd, &s->sev, EV_SIGNAL);
	s->cepev.kind = EV_CEP;
	arm_cep(s, true);
	s->now_ns = mono_ns();
	s->last_submit_ns = s->now_ns;
	s->next_sweep_ns = s->now_ns + SWEEP_NS;
	mt_log(MT_LOG_INFO, "server",
	       "mailtap-collector %s serving on %s (metrics %s), database %s (synchronous=%s), %u appliances, %u domains",
	       MT_VERSION, cfg->server.listen, cfg->metrics.listen[0] ? cfg->metrics.listen : "off",
	       cfg->storage.path, cfg->storage.synchronous, cfg->nappliances, s->ndoms);
	return 0;
}

int mt_server_run(const struct mt_coll_config *cfg)
{
	struct server *s = calloc(1, sizeof(*s));
	struct epoll_event evs[64], cevs[256];
	int rc = -1;

	if (!s)
		return -1;
	if (start(s, cfg) != 0)
		goto out;
	while (!s->quit) {
		int n = epoll_wait(s->ep, evs, MT_ARRAY_SIZE(evs), timeout_ms(s));

		if (n < 0 && errno != EINTR) {
			mt_log(MT_LOG_ERR, "epoll", "%s", strerror(errno));
			break;
		}
		s->now_ns = mono_ns();
		for (int i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			switch (ev->kind) {
			case EV_LISTEN:
				on_accept(s);
				break;
			case EV_METRICS:
				on_metrics_accept(s);
				break;
			case EV_HTTP:
				on_http(s, (struct http_slot *)ev);
				break;
			case EV_WRITER:
				on_writer(s);
				break;
			case EV_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						/* The configuration is read at start only. */
						mt_log(MT_LOG_INFO, "server",
						       "SIGHUP ignored: restart to apply a new configuration (nothing is lost)");
						continue;
					}
					s->quit = true;
				}
				break;
			}
			case EV_CEP: {
				int cn = epoll_wait(s->cep, cevs, MT_ARRAY_SIZE(cevs), 0);

				/* A connection closed by an earlier event of this batch
				 * cannot appear: events are fetched here, after them. */
				for (int k = 0; k < cn; k++)
					on_conn(s, (struct conn *)cevs[k].data.ptr, cevs[k].events);
				break;
			}
			case EV_CONN:
				break;
			}
		}
		process_pending(s);
		maybe_submit(s);
		if (s->now_ns >= s->next_sweep_ns) {
			sweep(s);
			s->next_sweep_ns = s->now_ns + SWEEP_NS;
		}
	}
	stop(s);
	rc = 0;
out:
	cleanup(s);
	free(s);
	return rc;
}
