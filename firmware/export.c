/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exporter (see export.h): the record ring, the export thread's loop
 * (pack, spool, connect, send, read acknowledgements) and shutdown. One
 * thread owns the spool, the encoders and the connection, so none of them
 * needs a lock; the main thread touches only the producer end of the ring
 * and its own counters.
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509.h>

#include "identity.h"
#include "ipfix.h"
#include "tlsconf.h"

#define RING_MARK_WRAP UINT32_MAX   /* entry length: continue at the start */
#define RING_ENTRY_HDR 8            /* u32 length, u32 reserved */
#define DRAIN_BATCH 4096            /* records per loop turn, then the socket */
#define SEND_BATCH 64               /* messages per loop turn */
#define SYNC_INTERVAL_NS MT_NS_PER_SEC
#define IDLE_WAIT_MS 1000
#define ACK_FRAME 16
#define ACK_VERSION 1
#define ACK_TYPE_ACK 1
#define LOG_REPEAT_NS (60 * MT_NS_PER_SEC)
#define KEEPALIVE_IDLE_S 30
#define KEEPALIVE_INTVL_S 10
#define KEEPALIVE_CNT 3
#define USER_TIMEOUT_MS 60000        /* unacknowledged TCP data this long: dead */

/* Which class a record type travels in; a type not named here is normal. */
static const struct {
	const char *type;
	enum mt_prio prio;
} prio_table[] = {
	{ "alert", MT_PRIO_HIGH },
	{ "auth", MT_PRIO_HIGH },
	{ "smtp", MT_PRIO_NORMAL },
	{ "imap", MT_PRIO_NORMAL },
	{ "pop3", MT_PRIO_NORMAL },
	{ "tls", MT_PRIO_NORMAL },
	{ "anomaly", MT_PRIO_NORMAL },
	{ "flow", MT_PRIO_LOW },
	{ "stats", MT_PRIO_LOW },
};

static const enum mt_ctr ring_drop_ctr[MT_PRIO__COUNT] = {
	MT_CTR_export_ring_drops_high,
	MT_CTR_export_ring_drops_normal,
	MT_CTR_export_ring_drops_low,
};

/*
 * The drop counters: each dropped record (or message) is counted in one of
 * them, and each must reach the collector in a stats record. `ring` is the
 * class whose ring drops it counts (kept by the producer), or -1.
 */
#define DROP(n, r) { MT_CTR_export_##n, offsetof(struct mt_body_stats, export_##n), r }
static const struct {
	enum mt_ctr id;
	size_t stats_off;        /* the counter's field in a stats record body */
	int ring;
} drop_ctrs[] = {
	DROP(ring_drops_high, MT_PRIO_HIGH),
	DROP(ring_drops_normal, MT_PRIO_NORMAL),
	DROP(ring_drops_low, MT_PRIO_LOW),
	DROP(encode_errors, -1),
	DROP(spool_write_errors, -1),
	DROP(spool_dropped_low, -1),
	DROP(spool_dropped_normal, -1),
	DROP(spool_dropped_high, -1),
};
#undef DROP
#define NDROP MT_ARRAY_SIZE(drop_ctrs)

/* Body size of each record type: only that much of the union travels. */
static const uint32_t body_size[MT_REC__COUNT] = {
#define MT_R_BODY(name, tid) [MT_REC_##name] = sizeof(struct mt_body_##name),
	MT_RECORD_TYPES(MT_R_BODY)
#undef MT_R_BODY
};

enum cstate {
	C_IDLE,          /* no connection; next attempt at retry_at */
	C_CONNECTING,    /* TCP connect in progress */
	C_HANDSHAKE,     /* TLS handshake in progress */
	C_FIRST_ACK,     /* templates sent; waiting for the collector's number */
	C_UP,            /* sending the spool */
};

/* A message being filled, one per class. */
struct pending {
	uint8_t *buf;
	struct mt_ipfix_enc enc;
	bool open;
	uint64_t opened_ns;
	bool has_stats;               /* holds a stats record, whose drops are: */
	uint64_t stats_drops[NDROP];
};

struct conn {
	enum cstate state;
	int fd;
	mbedtls_ssl_context ssl;
	bool ssl_ready;
	struct addrinfo *ai;          /* addresses of this attempt */
	struct addrinfo *ai_next;     /* next one to try */
	char peer[80];                /* address connected to, for messages */
	uint64_t deadline;            /* connect + handshake, or first ack */
	uint64_t since;               /* established at */
	uint8_t ack[ACK_FRAME];       /* an acknowledgement frame split by reads */
	unsigned ack_len;
	/* The message being written: bytes [out_off, out_len) remain. */
	uint8_t *out;
	uint8_t *out_store;           /* spooled messages are read into this */
	size_t out_len;
	size_t out_off;
	bool out_busy;
	bool out_is_data;
	bool want_write;              /* the last write would have blocked */
	struct mt_spool_msg out_msg;
};

struct mt_export {
	/* Producer end: main thread only. */
	struct {
		uint64_t head;
		uint64_t queued;
		uint64_t drops[MT_PRIO__COUNT];
		uint64_t drops_by_type[MT_REC__COUNT];
	} prod MT_CACHE_ALIGNED;
	/* Consumer end: export thread. */
	uint64_t tail MT_CACHE_ALIGNED;
	int sleeping;                 /* consumer about to wait: wake it */
	int stopping;
	int connected;
	uint8_t *ring;
	uint64_t ring_cap;
	int efd;

	/* Export thread only from here on. */
	struct mt_counters ctr MT_CACHE_ALIGNED;
	struct mt_config cfg;         /* [export] keys */
	char host[256];
	char port[16];
	uint8_t prio_of[MT_REC__COUNT];
	struct mt_tls_ctx tls;
	struct mt_spool *spool;
	struct pending pm[MT_PRIO__COUNT];
	struct conn c;
	uint8_t *tmpl;                /* templates-only message for connections */
	size_t tmpl_len;
	struct mt_rec rec;            /* unpacked from the ring */
	unsigned backoff_exp;
	uint64_t retry_at;
	uint64_t next_sync;
	uint64_t drain_deadline;
	bool draining;
	bool ever_connected;
	bool first_attempt_done;
	uint64_t rng;
	char last_log[256];
	uint64_t last_log_ns;
	char last_fail[200];          /* reason of the last connection failure */
	uint64_t last_fail_ns;
	unsigned fail_repeats;        /* the same reason since, not printed */
	pthread_t thread;
	bool thread_started;
	uint64_t thread_cpu_ns; /* the export thread's CPU time, set as it ends */
	uint64_t spooled_msgs;        /* left at stop */
	uint64_t spooled_recs;
	/* Drop counts as the last spooled stats record carried them: drops
	 * beyond these are not reported yet (kept in the spool's state). */
	uint64_t reported[NDROP];
	uint64_t carried_ring[MT_PRIO__COUNT]; /* of prod.drops: an earlier run's */
	unsigned nctr;                /* the counters of group "export" */
	uint16_t ctr_ids[64];
};

/* ---- small helpers ---- */

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * MT_NS_PER_SEC + (uint64_t)t.tv_nsec;
}

static uint64_t rand64(struct mt_export *x)
{
	x->rng ^= x->rng << 13;
	x->rng ^= x->rng >> 7;
	x->rng ^= x->rng << 17;
	return x->rng;
}

/* "20ms", "1.5s", "60s": for messages. */
static const char *dur(char *out, size_t n, uint64_t ns)
{
	if (ns < MT_NS_PER_SEC)
		snprintf(out, n, "%llums", (unsigned long long)(ns / MT_NS_PER_MS));
	else
		snprintf(out, n, "%.3gs", (double)ns / 1e9);
	return out;
}

/* Errors of the connection repeat every few seconds while the collector
 * is away: the same line at most once a minute. */
static void __attribute__((format(printf, 2, 3))) logx(struct mt_export *x,
						      const char *fmt, ...)
{
	char line[256];
	uint64_t now = mono_ns();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (strcmp(line, x->last_log) == 0 && now - x->last_log_ns < LOG_REPEAT_NS)
		return;
	snprintf(x->last_log, sizeof(x->last_log), "%s", line);
	x->last_log_ns = now;
	fprintf(stderr, "mailtapd: export: %s\n", line);
}

static void prio_init(uint8_t prio_of[MT_REC__COUNT])
{
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		prio_of[t] = MT_PRIO_NORMAL;
		for (unsigned i = 0; i < MT_ARRAY_SIZE(prio_table); i++)
			if (strcmp(mt_rtypes[t].name, prio_table[i].type) == 0)
				prio_of[t] = (uint8_t)prio_table[i].prio;
	}
}

enum mt_prio mt_export_prio(unsigned rtype)
{
	uint8_t p[MT_REC__COUNT];

	if (rtype >= MT_REC__COUNT)
		return MT_PRIO_NORMAL;
	prio_init(p);
	return (enum mt_prio)p[rtype];
}

int mt_export_check_config(const struct mt_config *cfg, const char *name, char *err,
			   size_t errlen)
{
	struct mt_config_errors e = { 0 };

	/* One set of rules: config.c's, which also locates them in a file. */
	mt_config_check_export(cfg, name, &e);
	if (!e.count)
		return 0;
	snprintf(err, errlen, "%s", e.msg[0]);
	return -EINVAL;
}

/* ---- the ring (single producer, single consumer) ---- */

static size_t packed_size(const struct mt_rec *r)
{
	return (RING_ENTRY_HDR + 8 + body_size[r->type] + r->arena_used + 7) & ~(size_t)7;
}

static bool ring_put(struct mt_export *x, const struct mt_rec *r)
{
	uint64_t head = x->prod.head;
	uint64_t tail = __atomic_load_n(&x->tail, __ATOMIC_ACQUIRE);
	size_t size = packed_size(r);
	uint64_t pos = head % x->ring_cap, room = x->ring_cap - pos;
	uint64_t need = room < size ? room + size : size;
	uint8_t *p;
	uint32_t len = (uint32_t)size;

	if (x->ring_cap - (head - tail) < need)
		return false;
	if (room < size) {
		uint32_t mark = RING_MARK_WRAP;

		memcpy(x->ring + pos, &mark, 4);
		head += room;
		pos = 0;
	}
	p = x->ring + pos;
	memcpy(p, &len, 4);
	memcpy(p + RING_ENTRY_HDR, r, 8); /* type, flags, arena_used */
	memcpy(p + RING_ENTRY_HDR + 8, &r->b, body_size[r->type]);
	memcpy(p + RING_ENTRY_HDR + 8 + body_size[r->type], r->arena, r->arena_used);
	__atomic_store_n(&x->prod.head, head + size, __ATOMIC_RELEASE);
	/* Pairs with the fence in wait_for_work(): either the thread sees the new
	 * head, or this sees it sleeping and wakes it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&x->sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&x->sleeping, 0, __ATOMIC_ACQ_REL)) {
		uint64_t one = 1;

		if (write(x->efd, &one, sizeof(one)) < 0) {
			/* The counter is full: the thread is awake anyway. */
		}
	}
	return true;
}

static bool offer(struct mt_export *x, const struct mt_rec *r)
{
	if (r->type >= MT_REC__COUNT || r->arena_used > MT_REC_ARENA)
		return false;
	if (!ring_put(x, r))
		return false;
	__atomic_store_n(&x->prod.queued, x->prod.queued + 1, __ATOMIC_RELAXED);
	return true;
}

bool mt_export_offer(struct mt_export *x, const struct mt_rec *r)
{
	return offer(x, r);
}

bool mt_export_push(struct mt_export *x, const struct mt_rec *r)
{
	if (likely(offer(x, r)))
		return true;
	if (r->type < MT_REC__COUNT) {
		unsigned p = x->prio_of[r->type];

		__atomic_store_n(&x->prod.drops[p], x->prod.drops[p] + 1, __ATOMIC_RELAXED);
		x->prod.drops_by_type[r->type]++;
	}
	return false;
}

/* Next record from the ring into x->rec; false when empty. */
static bool ring_get(struct mt_export *x)
{
	uint64_t head = __atomic_load_n(&x->prod.head, __ATOMIC_ACQUIRE);

	while (x->tail != head) {
		uint64_t pos = x->tail % x->ring_cap;
		const uint8_t *p = x->ring + pos;
		uint32_t len;

		memcpy(&len, p, 4);
		if (len == RING_MARK_WRAP) {
			__atomic_store_n(&x->tail, x->tail + (x->ring_cap - pos), __ATOMIC_RELEASE);
			continue;
		}
		memcpy(&x->rec, p + RING_ENTRY_HDR, 8);
		memcpy(&x->rec.b, p + RING_ENTRY_HDR + 8, body_size[x->rec.type]);
		memcpy(x->rec.arena, p + RING_ENTRY_HDR + 8 + body_size[x->rec.type],
		       x->rec.arena_used);
		__atomic_store_n(&x->tail, x->tail + len, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

static bool ring_empty(struct mt_export *x)
{
	return x->tail == __atomic_load_n(&x->prod.head, __ATOMIC_ACQUIRE);
}

/* ---- packing ---- */

static void msg_begin(struct mt_export *x, enum mt_prio p, size_t cap, uint64_t now)
{
	struct pending *pm = &x->pm[p];

	/* Sequence number and export time are set when the message closes. */
	mt_ipfix_begin(&pm->enc, pm->buf, cap, x->cfg.export.domain_id,
		       MT_IPFIX_PEN_DEFAULT, 0, 0);
	pm->open = true;
	pm->opened_ns = now;
	pm->has_stats = false;
}

static void msg_close(struct mt_export *x, enum mt_prio p)
{
	struct pending *pm = &x->pm[p];
	size_t len;

	if (!pm->open)
		return;
	pm->open = false;
	if (pm->enc.nrec == 0)
		return;
	len = mt_ipfix_end(&pm->enc);
	mt_store_be32(pm->buf + 4, (uint32_t)time(NULL));
	/* Numbered, and on disk, before anything is sent. A message the
	 * spool cannot take is counted there. */
	if (mt_spool_append(x->spool, p, pm->buf, len, pm->enc.nrec) == 0 && pm->has_stats)
		memcpy(x->reported, pm->stats_drops, sizeof(x->reported));
}

/* A stats record was packed: the drops it carries are reported once its
 * message is in the spool. */
static void note_stats(struct pending *pm, const struct mt_rec *r)
{
	const uint8_t *body = (const uint8_t *)&r->b.stats;

	for (unsigned k = 0; k < NDROP; k++)
		memcpy(&pm->stats_drops[k], body + drop_ctrs[k].stats_off, sizeof(uint64_t));
	pm->has_stats = true;
}

/* A drop counter's value now. */
static uint64_t drop_value(const struct mt_export *x, unsigned k)
{
	if (drop_ctrs[k].ring >= 0)
		return __atomic_load_n(&x->prod.drops[drop_ctrs[k].ring], __ATOMIC_RELAXED);
	return x->ctr.v[drop_ctrs[k].id];
}

/* Hands the spool the drops no spooled stats record carries, for its
 * state file: the next run reports them if this one does not. */
static void save_unreported(struct mt_export *x)
{
	struct mt_counters un;

	memset(&un, 0, sizeof(un));
	for (unsigned k = 0; k < NDROP; k++) {
		uint64_t v = drop_value(x, k);

		un.v[drop_ctrs[k].id] = v > x->reported[k] ? v - x->reported[k] : 0;
	}
	mt_spool_set_unreported(x->spool, &un);
}

static void pack(struct mt_export *x, const struct mt_rec *r, uint64_t now)
{
	enum mt_prio p = (enum mt_prio)x->prio_of[r->type];
	struct pending *pm = &x->pm[p];
	int rc;

	if (!pm->open)
		msg_begin(x, p, x->cfg.export.message_size, now);
	rc = mt_ipfix_record(&pm->enc, r);
	if (rc == -ENOSPC && pm->enc.nrec) {
		msg_close(x, p);
		msg_begin(x, p, x->cfg.export.message_size, now);
		rc = mt_ipfix_record(&pm->enc, r);
	}
	if (rc == 0 && r->type == MT_REC_stats)
		note_stats(pm, r);
	if (rc == -ENOSPC) {
		/* Larger than export.message_size alone: a message of its
		 * own, up to IPFIX's limit. */
		msg_begin(x, p, MT_IPFIX_MSG_MAX, now);
		rc = mt_ipfix_record(&pm->enc, r);
		if (rc == 0 && r->type == MT_REC_stats)
			note_stats(pm, r);
		if (rc == 0)
			msg_close(x, p);
	}
	if (rc) {
		x->ctr.v[MT_CTR_export_encode_errors]++;
		if (pm->open && pm->enc.nrec == 0)
			pm->open = false;
	}
}

static void flush_due(struct mt_export *x, uint64_t now, bool all)
{
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		if (x->pm[p].open &&
		    (all || now - x->pm[p].opened_ns >= x->cfg.export.flush_interval_ns))
			msg_close(x, (enum mt_prio)p);
}

/* ---- connection ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

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
	int fd = *(int *)ctx;
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static void tls_err(int rc, char *out, size_t n)
{
	mt_tls_strerror(rc, out, n);
}

static uint64_t backoff(struct mt_export *x)
{
	uint64_t d = x->cfg.export.reconnect_min_ns;

	for (unsigned i = 0; i < x->backoff_exp && d < x->cfg.export.reconnect_max_ns; i++)
		d *= 2;
	if (d > x->cfg.export.reconnect_max_ns)
		d = x->cfg.export.reconnect_max_ns;
	if (x->backoff_exp < 63)
		x->backoff_exp++;
	/* Half of it fixed, half random: appliances that lost the same
	 * collector do not all come back in the same second. */
	return d / 2 + (d / 2 ? rand64(x) % (d / 2 + 1) : 0);
}

static void conn_close(struct mt_export *x)
{
	struct conn *c = &x->c;

	if (c->ssl_ready) {
		if (c->state >= C_FIRST_ACK)
			mbedtls_ssl_close_notify(&c->ssl); /* best effort */
		mbedtls_ssl_free(&c->ssl);
		c->ssl_ready = false;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->ai)
		freeaddrinfo(c->ai);
	c->ai = c->ai_next = NULL;
	c->out_busy = false;
	c->want_write = false;
	c->ack_len = 0;
	if (c->state != C_IDLE)
		__atomic_store_n(&x->connected, 0, __ATOMIC_RELEASE);
	c->state = C_IDLE;
}

/* Drops the connection, schedules the next attempt. */
static void conn_fail(struct mt_export *x, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_fail(struct mt_export *x, uint64_t now, const char *fmt, ...)
{
	char why[200], d[32];
	uint64_t delay;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (x->c.state >= C_FIRST_ACK)
		x->ctr.v[MT_CTR_export_disconnects]++;
	conn_close(x);
	/* Whatever was written and not acknowledged goes again. */
	mt_spool_rewind(x->spool);
	delay = backoff(x);
	x->retry_at = now + delay;
	/* While the collector stays away the same reason comes back every
	 * few seconds: once a minute is enough. */
	if (strcmp(why, x->last_fail) == 0 && now - x->last_fail_ns < LOG_REPEAT_NS) {
		x->fail_repeats++;
		return;
	}
	if (x->fail_repeats && strcmp(why, x->last_fail) == 0)
		fprintf(stderr, "mailtapd: export: %s:%s: %s; retrying in %s (%u more times "
			"since the last message)\n", x->host, x->port, why,
			dur(d, sizeof(d), delay), x->fail_repeats);
	else
		fprintf(stderr, "mailtapd: export: %s:%s: %s; retrying in %s\n", x->host,
			x->port, why, dur(d, sizeof(d), delay));
	snprintf(x->last_fail, sizeof(x->last_fail), "%s", why);
	x->last_fail_ns = now;
	x->fail_repeats = 0;
}

static void set_sockopts(int fd)
{
	int one = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S;
	int cnt = KEEPALIVE_CNT, uto = USER_TIMEOUT_MS;

	/* One message is one write: no reason to wait for more. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A collector that vanished without a word is noticed. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
}

/* Starts a non-blocking connect to the next address of this attempt. */
static void try_next_addr(struct mt_export *x, uint64_t now, const char *last_err)
{
	struct conn *c = &x->c;

	while (c->ai_next) {
		struct addrinfo *a = c->ai_next;
		char h[64] = "?", s[16] = "?";

		c->ai_next = a->ai_next;
		getnameinfo(a->ai_addr, a->ai_addrlen, h, sizeof(h), s, sizeof(s),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(c->peer, sizeof(c->peer), a->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
			 h, s);
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       a->ai_protocol);
		if (c->fd < 0) {
			last_err = strerror(errno);
			continue;
		}
		set_sockopts(c->fd);
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			c->state = C_CONNECTING;
			return;
		}
		last_err = strerror(errno);
		close(c->fd);
		c->fd = -1;
	}
	x->ctr.v[MT_CTR_export_connect_failures]++;
	conn_fail(x, now, "cannot connect: %s", last_err ? last_err : "no address");
}

static void conn_start(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC,
				  .ai_flags = AI_ADDRCONFIG };
	int rc;

	if (x->first_attempt_done)
		x->ctr.v[MT_CTR_export_reconnects]++;
	x->first_attempt_done = true;
	c->deadline = now + x->cfg.export.handshake_timeout_ns;
	/* Resolved on every attempt: the collector may move. */
	rc = getaddrinfo(x->host, x->port, &hints, &c->ai);
	if (rc) {
		c->ai = NULL;
		x->ctr.v[MT_CTR_export_connect_failures]++;
		conn_fail(x, now, "cannot resolve: %s", gai_strerror(rc));
		return;
	}
	c->ai_next = c->ai;
	try_next_addr(x, now, NULL);
}

/* Queues a whole message for writing. */
static void out_set(struct mt_export *x, uint8_t *buf, size_t len, bool data)
{
	struct conn *c = &x->c;

	c->out = buf;
	c->out_len = len;
	c->out_off = 0;
	c->out_busy = true;
	c->out_is_data = data;
}

/* Handshake done (or plain TCP up): templates first, then wait for the
 * collector's word on the counter before any data. */
static void established(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;

	x->ctr.v[MT_CTR_export_connects]++;
	c->since = now;
	x->last_fail[0] = '\0'; /* the next failure is news again */
	x->fail_repeats = 0;
	mt_spool_rewind(x->spool);
	/* Template-only: carries the next number, consumes none. The
	 * RFC 5610 type records stay in the spool files, where they would
	 * not be counted as sent data. */
	mt_store_be32(x->tmpl + 4, (uint32_t)time(NULL));
	mt_store_be32(x->tmpl + 8, mt_spool_next_unsent_seq(x->spool));
	out_set(x, x->tmpl, x->tmpl_len, false);
	if (x->cfg.export.ack) {
		c->state = C_FIRST_ACK;
		c->deadline = now + x->cfg.export.handshake_timeout_ns;
	} else {
		c->state = C_UP;
		__atomic_store_n(&x->connected, 1, __ATOMIC_RELEASE);
	}
	if (x->cfg.export.tls)
		logx(x, "connected to %s:%s (%s, %s, %s)", x->host, x->port, c->peer,
		     mbedtls_ssl_get_version(&c->ssl), mbedtls_ssl_get_ciphersuite(&c->ssl));
	else
		logx(x, "connected to %s:%s (%s, plain TCP)", x->host, x->port, c->peer);
	x->ever_connected = true;
}

static void handshake_step(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;
	char m[160], v[256] = "";
	int rc = mbedtls_ssl_handshake(&c->ssl);
	uint32_t flags;

	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		c->want_write = rc == MBEDTLS_ERR_SSL_WANT_WRITE;
		return;
	}
	c->want_write = false;
	if (rc == 0) {
		established(x, now);
		return;
	}
	x->ctr.v[MT_CTR_export_tls_failures]++;
	tls_err(rc, m, sizeof(m));
	flags = mbedtls_ssl_get_verify_result(&c->ssl);
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags && flags != (uint32_t)-1) {
		size_t n;

		mbedtls_x509_crt_verify_info(v, sizeof(v), "", flags);
		n = strlen(v);
		while (n && (v[n - 1] == '\n'))
			v[--n] = '\0';
		for (char *p = v; *p; p++)
			if (*p == '\n')
				*p = ';';
	}
	if (v[0])
		conn_fail(x, now, "TLS handshake failed: %s (%s; server name %s)", m, v,
			  x->cfg.export.server_name[0] ? x->cfg.export.server_name : x->host);
	else
		conn_fail(x, now, "TLS handshake failed: %s", m);
}

static void connect_done(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;
	int err = 0, rc;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		close(c->fd);
		c->fd = -1;
		try_next_addr(x, now, strerror(err));
		return;
	}
	freeaddrinfo(c->ai);
	c->ai = c->ai_next = NULL;
	if (!x->cfg.export.tls) {
		established(x, now);
		return;
	}
	mbedtls_ssl_init(&c->ssl);
	c->ssl_ready = true;
	rc = mbedtls_ssl_setup(&c->ssl, &x->tls.conf);
	if (rc == 0)
		rc = mbedtls_ssl_set_hostname(&c->ssl, x->cfg.export.server_name[0] ?
						       x->cfg.export.server_name : x->host);
	if (rc) {
		char m[160];

		tls_err(rc, m, sizeof(m));
		x->ctr.v[MT_CTR_export_tls_failures]++;
		conn_fail(x, now, "TLS set-up failed: %s", m);
		return;
	}
	mbedtls_ssl_set_bio(&c->ssl, &c->fd, bio_send, bio_recv, NULL);
	c->state = C_HANDSHAKE;
	handshake_step(x, now);
}

static void first_ack(struct mt_export *x, uint32_t next, uint64_t now)
{
	uint32_t before = mt_spool_next_seq(x->spool);

	switch (mt_spool_first_ack(x->spool, next)) {
	case MT_SPOOL_MOVED:
		logx(x, "collector expects sequence number %u, ahead of ours (%u): "
		     "moved forward", next, before);
		break;
	case MT_SPOOL_RENUMBERED:
		logx(x, "collector expects sequence number %u: spooled records "
		     "renumbered to follow it (was %u)", next, before);
		break;
	default:
		break;
	}
	if (x->c.state == C_FIRST_ACK) {
		x->c.state = C_UP;
		__atomic_store_n(&x->connected, 1, __ATOMIC_RELEASE);
	}
	/* The collector answered: it is healthy, start backoff afresh. */
	x->backoff_exp = 0;
	(void)now;
}

/* Handles one 16-byte frame; false on a protocol error. */
static bool ack_frame(struct mt_export *x, const uint8_t *f, uint64_t now)
{
	uint32_t domain = mt_load_be32(f + 8), next = mt_load_be32(f + 12);

	if (memcmp(f, "MTAK", 4) != 0 || f[4] != ACK_VERSION || f[5] != ACK_TYPE_ACK) {
		x->ctr.v[MT_CTR_export_ack_errors]++;
		conn_fail(x, now, "malformed acknowledgement (magic %02x%02x%02x%02x, "
			  "version %u, type %u)", f[0], f[1], f[2], f[3], f[4], f[5]);
		return false;
	}
	x->ctr.v[MT_CTR_export_acks]++;
	if (domain != x->cfg.export.domain_id)
		return true; /* another domain's: not ours to act on */
	if (x->c.state == C_FIRST_ACK) {
		first_ack(x, next, now);
		return true;
	}
	if (!mt_spool_ack(x->spool, next)) {
		x->ctr.v[MT_CTR_export_ack_errors]++;
		logx(x, "%s:%s acknowledged sequence number %u, never sent (ours is at %u): "
		     "ignored", x->host, x->port, next, mt_spool_next_seq(x->spool));
		return true;
	}
	/* It stored records under our numbers (its first acknowledgement
	 * did not come in time): a later first acknowledgement must not
	 * renumber them as if no collector had seen them. */
	mt_spool_confirm(x->spool);
	return true;
}

/* Reads whatever the collector sent; false when the connection is gone. */
static bool read_acks(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;
	uint8_t buf[4096];

	for (;;) {
		int n;

		if (x->cfg.export.tls) {
			n = mbedtls_ssl_read(&c->ssl, buf, sizeof(buf));
			if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
				return true;
			if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0) {
				conn_fail(x, now, "the collector closed the connection");
				return false;
			}
			if (n < 0) {
				char m[160];

				tls_err(n, m, sizeof(m));
				conn_fail(x, now, "connection lost: %s", m);
				return false;
			}
		} else {
			ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return true;
			if (r == 0) {
				conn_fail(x, now, "the collector closed the connection");
				return false;
			}
			if (r < 0) {
				conn_fail(x, now, "connection lost: %s", strerror(errno));
				return false;
			}
			n = (int)r;
		}
		if (!x->cfg.export.ack)
			continue; /* a plain collector has nothing to say */
		/* Frames may arrive split or several in one read. */
		for (int i = 0; i < n;) {
			unsigned take = MT_MIN((unsigned)(n - i), ACK_FRAME - c->ack_len);

			memcpy(c->ack + c->ack_len, buf + i, take);
			c->ack_len += take;
			i += (int)take;
			if (c->ack_len == ACK_FRAME) {
				c->ack_len = 0;
				if (!ack_frame(x, c->ack, now))
					return false;
			}
		}
	}
}

/* Writes until the socket is full or nothing is left; false when the
 * connection is gone. */
static bool write_out(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;

	for (unsigned sent = 0; sent < SEND_BATCH;) {
		if (!c->out_busy) {
			if (c->state != C_UP)
				return true;
			if (mt_spool_next(x->spool, c->out_store, &c->out_msg) != 1)
				return true;
			out_set(x, c->out_store, c->out_msg.len, true);
		}
		while (c->out_off < c->out_len) {
			int n;

			if (x->cfg.export.tls) {
				n = mbedtls_ssl_write(&c->ssl, c->out + c->out_off,
						      c->out_len - c->out_off);
				if (n == MBEDTLS_ERR_SSL_WANT_WRITE ||
				    n == MBEDTLS_ERR_SSL_WANT_READ) {
					c->want_write = true;
					return true;
				}
				if (n < 0) {
					char m[160];

					tls_err(n, m, sizeof(m));
					conn_fail(x, now, "connection lost: %s", m);
					return false;
				}
			} else {
				ssize_t r = send(c->fd, c->out + c->out_off,
						 c->out_len - c->out_off,
						 MSG_NOSIGNAL | MSG_DONTWAIT);

				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
					      errno == EINTR)) {
					c->want_write = true;
					return true;
				}
				if (r < 0) {
					conn_fail(x, now, "connection lost: %s", strerror(errno));
					return false;
				}
				n = (int)r;
			}
			c->out_off += (size_t)n;
		}
		c->want_write = false;
		c->out_busy = false;
		if (c->out_is_data) {
			x->ctr.v[MT_CTR_export_messages_sent]++;
			x->ctr.v[MT_CTR_export_records_sent] += c->out_msg.nrec;
			x->ctr.v[MT_CTR_export_bytes_sent] += c->out_msg.len;
			sent++;
			if (!x->cfg.export.ack) {
				/* Nobody will say more than that it was written. */
				mt_spool_ack(x->spool, c->out_msg.seq + c->out_msg.nrec);
				x->backoff_exp = 0;
			}
		}
	}
	return true;
}

static void conn_step(struct mt_export *x, uint64_t now)
{
	struct conn *c = &x->c;
	char d[32];

	switch (c->state) {
	case C_IDLE:
		if (now >= x->retry_at)
			conn_start(x, now);
		return;
	case C_CONNECTING:
		if (now >= c->deadline) {
			x->ctr.v[MT_CTR_export_connect_failures]++;
			conn_fail(x, now, "connection timed out after %s",
				  dur(d, sizeof(d), x->cfg.export.handshake_timeout_ns));
			return;
		}
		connect_done(x, now);
		return;
	case C_HANDSHAKE:
		if (now >= c->deadline) {
			x->ctr.v[MT_CTR_export_tls_failures]++;
			conn_fail(x, now, "TLS handshake timed out after %s",
				  dur(d, sizeof(d), x->cfg.export.handshake_timeout_ns));
			return;
		}
		handshake_step(x, now);
		return;
	case C_FIRST_ACK:
		if (now >= c->deadline) {
			logx(x, "%s:%s sent no acknowledgement after the handshake: "
			     "sending without it", x->host, x->port);
			c->state = C_UP;
			__atomic_store_n(&x->connected, 1, __ATOMIC_RELEASE);
		}
		/* fall through */
	case C_UP:
		if (!read_acks(x, now))
			return;
		write_out(x, now);
		return;
	}
}

/* ---- the thread ---- */

static bool all_delivered(struct mt_export *x)
{
	uint64_t msgs, recs;

	mt_spool_unacked(x->spool, &msgs, &recs);
	return msgs == 0;
}

/* Sleeps until a record arrives, the socket is ready or a timer is due. */
static void wait_for_work(struct mt_export *x, uint64_t now)
{
	struct pollfd pfd[2];
	uint64_t due = now + (uint64_t)IDLE_WAIT_MS * MT_NS_PER_MS;
	nfds_t n = 1;
	int ms;

	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		if (x->pm[p].open)
			due = MT_MIN(due, x->pm[p].opened_ns + x->cfg.export.flush_interval_ns);
	if (x->c.state == C_IDLE)
		due = MT_MIN(due, x->retry_at);
	else
		due = MT_MIN(due, x->c.deadline > now && x->c.state < C_UP ? x->c.deadline : due);
	if (x->draining)
		due = MT_MIN(due, x->drain_deadline);
	due = MT_MIN(due, x->next_sync);
	pfd[0].fd = x->efd;
	pfd[0].events = POLLIN;
	if (x->c.fd >= 0) {
		pfd[1].fd = x->c.fd;
		pfd[1].events = POLLIN;
		if (x->c.state == C_CONNECTING || x->c.want_write)
			pfd[1].events |= POLLOUT;
		n = 2;
		/* Data waiting and the socket not known to be full: no sleep. */
		if (x->c.state == C_UP && !x->c.want_write &&
		    (x->c.out_busy || mt_spool_has_unsent(x->spool)))
			due = now;
		/* mbedTLS may hold decrypted bytes the socket no longer shows. */
		if (x->c.ssl_ready && mbedtls_ssl_get_bytes_avail(&x->c.ssl))
			due = now;
	}
	/* Announce the sleep, then look at the ring once more (pairs with
	 * the fence in ring_put). */
	__atomic_store_n(&x->sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!ring_empty(x) || __atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE) != x->draining)
		due = now;
	ms = due > now ? (int)MT_MIN((due - now + MT_NS_PER_MS - 1) / MT_NS_PER_MS,
				     (uint64_t)IDLE_WAIT_MS) : 0;
	if (poll(pfd, n, ms) > 0 && (pfd[0].revents & POLLIN)) {
		uint64_t v;

		if (read(x->efd, &v, sizeof(v)) < 0) {
			/* Nothing was pending after all. */
		}
	}
	__atomic_store_n(&x->sleeping, 0, __ATOMIC_RELAXED);
}

static void update_gauges(struct mt_export *x)
{
	x->ctr.v[MT_CTR_export_spool_bytes] = mt_spool_bytes(x->spool);
	x->ctr.v[MT_CTR_export_spool_files] = mt_spool_files(x->spool);
}

static void *thread_main(void *arg)
{
	struct mt_export *x = arg;
	uint64_t msgs, recs;

	x->next_sync = mono_ns() + SYNC_INTERVAL_NS;
	x->retry_at = 0;
	for (;;) {
		uint64_t now = mono_ns();
		unsigned n = 0;

		while (n < DRAIN_BATCH && ring_get(x)) {
			pack(x, &x->rec, now);
			n++;
		}
		if (!x->draining && __atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE) &&
		    ring_empty(x)) {
			/* The producer is done and everything it gave is
			 * here: close the partly filled messages now. */
			x->draining = true;
			x->drain_deadline = now + x->cfg.export.drain_timeout_ns;
			flush_due(x, now, true);
			mt_spool_unacked(x->spool, &msgs, &recs);
			if (msgs) {
				char d[32];

				/* Says why mailtapd has not exited yet. */
				fprintf(stderr, "mailtapd: export: input done; %llu records "
					"(%llu messages) in the spool wait for %s:%s, "
					"for up to %s ([export] drain_timeout)\n",
					(unsigned long long)recs, (unsigned long long)msgs,
					x->host, x->port,
					dur(d, sizeof(d), x->cfg.export.drain_timeout_ns));
			}
			if (x->c.state == C_IDLE)
				x->retry_at = now; /* one more try, now */
		}
		flush_due(x, now, false);
		conn_step(x, now);
		if (now >= x->next_sync) {
			save_unreported(x);
			mt_spool_sync(x->spool);
			x->next_sync = now + SYNC_INTERVAL_NS;
		}
		update_gauges(x);
		if (x->draining && (all_delivered(x) || now >= x->drain_deadline))
			break;
		if (n == DRAIN_BATCH)
			continue;
		wait_for_work(x, mono_ns());
	}
	conn_close(x);
	mt_spool_unacked(x->spool, &x->spooled_msgs, &x->spooled_recs);
	/* Drops of the drain come after the last stats record: kept for the
	 * next run's. */
	save_unreported(x);
	mt_spool_close(x->spool);
	x->spool = NULL;
	{
		struct timespec ts;

		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
			x->thread_cpu_ns = (uint64_t)ts.tv_sec * MT_NS_PER_SEC +
					   (uint64_t)ts.tv_nsec;
	}
	return NULL;
}

uint64_t mt_export_thread_cpu_ns(const struct mt_export *x)
{
	return x->thread_cpu_ns;
}

/* ---- control ---- */

bool mt_export_connected(const struct mt_export *x)
{
	return __atomic_load_n(&x->connected, __ATOMIC_ACQUIRE);
}

void mt_export_read_counters(const struct mt_export *x, struct mt_counters *sum)
{
	for (unsigned k = 0; k < x->nctr; k++)
		sum->v[x->ctr_ids[k]] = __atomic_load_n(&x->ctr.v[x->ctr_ids[k]], __ATOMIC_RELAXED);
	sum->v[MT_CTR_export_records_queued] =
		__atomic_load_n(&x->prod.queued, __ATOMIC_RELAXED);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		sum->v[ring_drop_ctr[p]] = __atomic_load_n(&x->prod.drops[p], __ATOMIC_RELAXED);
}

void mt_export_avoid_cpus(struct mt_export *x, const cpu_set_t *busy)
{
	cpu_set_t set;

	if (!x->thread_started ||
	    pthread_getaffinity_np(x->thread, sizeof(set), &set) != 0)
		return;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, busy))
			CPU_CLR(i, &set);
	/* Every allowed CPU polls: share the caller's (the main lcore). */
	if (CPU_COUNT(&set) == 0 &&
	    pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		return;
	pthread_setaffinity_np(x->thread, sizeof(set), &set);
}

static void free_all(struct mt_export *x)
{
	if (x->spool)
		mt_spool_close(x->spool);
	mt_tls_ctx_free(&x->tls);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		free(x->pm[p].buf);
	free(x->tmpl);
	free(x->c.out_store);
	free(x->ring);
	if (x->efd >= 0)
		close(x->efd);
	free(x);
}

/*
 * Drops an earlier run counted after its last stats record (kept in the
 * spool's state): this run's counters start with them, so its first stats
 * record reports them. Before the thread starts and before any push.
 */
static void carry_unreported(struct mt_export *x)
{
	struct mt_counters un;
	uint64_t total = 0;

	mt_spool_unreported(x->spool, &un);
	for (unsigned k = 0; k < NDROP; k++) {
		uint64_t v = un.v[drop_ctrs[k].id];

		if (drop_ctrs[k].ring >= 0) {
			x->prod.drops[drop_ctrs[k].ring] += v;
			x->carried_ring[drop_ctrs[k].ring] += v;
		} else
			x->ctr.v[drop_ctrs[k].id] += v;
		total += v;
	}
	if (total)
		fprintf(stderr, "mailtapd: export: %llu drops counted by an earlier run after "
			"its last stats record: carried into this run's counters\n",
			(unsigned long long)total);
}

int mt_export_start(struct mt_export **out, const struct mt_config *cfg, char *err,
		    size_t errlen)
{
	struct mt_spool_cfg scfg;
	struct mt_ipfix_enc e;
	struct mt_export *x;
	char why[200];
	int rc;

	*out = NULL;
	rc = mt_export_check_config(cfg, "configuration", err, errlen);
	if (rc)
		return rc;
	if (!cfg->export.collector[0]) {
		snprintf(err, errlen, "[export] collector is not set");
		return -EINVAL;
	}
	/* aligned_alloc wants a multiple of the alignment. */
	x = aligned_alloc(MT_CACHE_LINE,
			  (sizeof(*x) + MT_CACHE_LINE - 1) & ~(size_t)(MT_CACHE_LINE - 1));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(x, 0, sizeof(*x));
	x->efd = -1;
	x->c.fd = -1;
	x->cfg = *cfg;
	prio_init(x->prio_of);
	/* Every counter of the group, wherever new ones are added. */
	for (unsigned i = 0; i < MT_CTR__COUNT && x->nctr < MT_ARRAY_SIZE(x->ctr_ids); i++)
		if (strcmp(mt_counter_desc[i].group, "export") == 0)
			x->ctr_ids[x->nctr++] = (uint16_t)i;
	/* 4740 (IPFIX over TLS) is the default either way; a plaintext
	 * collector is usually given with its port, 4739. */
	mt_config_split_hostport(cfg->export.collector, x->host, sizeof(x->host), x->port, sizeof(x->port),
		       MT_EXPORT_PORT_TLS, why, sizeof(why));
	x->rng = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	x->ring_cap = cfg->export.ring_size & ~(uint64_t)7;
	x->ring = malloc(x->ring_cap);
	x->tmpl = malloc(MT_IPFIX_MSG_MAX);
	x->c.out_store = malloc(MT_IPFIX_MSG_MAX);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		x->pm[p].buf = malloc(MT_IPFIX_MSG_MAX);
	x->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!x->ring || !x->tmpl || !x->c.out_store || !x->pm[0].buf || !x->pm[1].buf ||
	    !x->pm[2].buf || x->efd < 0) {
		snprintf(err, errlen, "cannot allocate the export ring of %llu bytes "
			 "([export] ring_size) and buffers",
			 (unsigned long long)cfg->export.ring_size);
		free_all(x);
		return -ENOMEM;
	}
	mt_ipfix_begin(&e, x->tmpl, MT_IPFIX_MSG_MAX, cfg->export.domain_id,
		       MT_IPFIX_PEN_DEFAULT, 0, 0);
	if (mt_ipfix_templates(&e, false) != 0) {
		snprintf(err, errlen, "templates do not fit an IPFIX message");
		free_all(x);
		return -ENOSPC;
	}
	x->tmpl_len = mt_ipfix_end(&e);
	if (cfg->export.tls &&
	    mt_tls_ctx_init(&x->tls, false, cfg->export.ca, cfg->export.cert,
			    cfg->export.key, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "[export] %s", why);
		free_all(x);
		return -EINVAL;
	}
	scfg = (struct mt_spool_cfg){
		.dir = cfg->export.spool_dir,
		.max_bytes = cfg->export.spool_max,
		.segment_bytes = cfg->export.spool_segment,
		.domain = cfg->export.domain_id,
		.pen = MT_IPFIX_PEN_DEFAULT,
	};
	rc = mt_spool_open(&x->spool, &scfg, &x->ctr, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "[export] spool: %s", why);
		free_all(x);
		return rc;
	}
	{
		uint64_t msgs, recs;

		mt_spool_unacked(x->spool, &msgs, &recs);
		if (recs)
			fprintf(stderr, "mailtapd: export: %llu records (%llu messages) "
				"spooled by an earlier run in %s, sent first\n",
				(unsigned long long)recs, (unsigned long long)msgs,
				cfg->export.spool_dir);
	}
	carry_unreported(x);
	rc = pthread_create(&x->thread, NULL, thread_main, x);
	if (rc) {
		snprintf(err, errlen, "cannot start the export thread: %s", strerror(rc));
		free_all(x);
		return -rc;
	}
	x->thread_started = true;
	pthread_setname_np(x->thread, "mt-export");
	*out = x;
	return 0;
}

uint64_t mt_export_stop(struct mt_export *x)
{
	uint64_t one = 1;
	uint64_t drops = 0;
	char d[32];

	if (!x->thread_started)
		return 0;
	__atomic_store_n(&x->stopping, 1, __ATOMIC_RELEASE);
	if (write(x->efd, &one, sizeof(one)) < 0) {
		/* Already signalled. */
	}
	pthread_join(x->thread, NULL);
	x->thread_started = false;
	/* This run's drops: the by-type counts know no others. */
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		drops += x->prod.drops[p] - x->carried_ring[p];
	if (drops) {
		char by[256] = "";
		size_t o = 0;

		for (unsigned t = 0; t < MT_REC__COUNT && o < sizeof(by); t++)
			if (x->prod.drops_by_type[t])
				o += (size_t)snprintf(by + o, sizeof(by) - o, "%s%s %llu",
						      o ? ", " : "", mt_rtypes[t].name,
						      (unsigned long long)x->prod.drops_by_type[t]);
		fprintf(stderr, "mailtapd: export: %llu records dropped, export ring full "
			"([export] ring_size): %s\n", (unsigned long long)drops, by);
	}
	if (x->spooled_recs)
		fprintf(stderr, "mailtapd: export: %llu records (%llu messages) still spooled "
			"in %s, not acknowledged by %s:%s within %s; they are sent after "
			"the next start\n", (unsigned long long)x->spooled_recs,
			(unsigned long long)x->spooled_msgs, x->cfg.export.spool_dir, x->host,
			x->port, dur(d, sizeof(d), x->cfg.export.drain_timeout_ns));
	else
		fprintf(stderr, "mailtapd: export: 0 records still spooled: %llu records "
			"%s %s:%s\n",
			(unsigned long long)x->ctr.v[MT_CTR_export_records_acked],
			x->cfg.export.ack ? "acknowledged by" : "written to", x->host, x->port);
	return x->spooled_recs;
}

void mt_export_free(struct mt_export *x)
{
	if (!x)
		return;
	if (x->thread_started)
		mt_export_stop(x);
	free_all(x);
}
