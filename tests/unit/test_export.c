/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Exporter tests against a real collector on loopback: a thread of this
 * test listens on 127.0.0.1, decodes what arrives with the IPFIX decoder
 * and writes acknowledgement frames (whole, split byte by byte, or two in
 * one write). They cover packing per priority class under the message size
 * cap, sequence numbers continuous across messages, reconnects and
 * restarts, the collector's first acknowledgement moving the counter
 * forward, the flush interval, a record larger than a message, ack = no,
 * ring-full drops counted by class without the producer ever waiting,
 * drops after a run's last stats record carried into the next run's, an
 * unconfirmed spool renumbered behind a collector that already has records
 * of the domain, and the configuration checks. (TLS is exercised end to end by
 * tests/e2e/test_export_tls.sh with real certificates.)
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "ipfix.h"
#include "worker.h"

#define DOMAIN 42
#define MAX_MSGS 4096

enum ack_style { ACK_WHOLE, ACK_SPLIT, ACK_COALESCE, ACK_NONE };

struct rx_msg {
	uint32_t seq;
	uint32_t nrec;
	uint32_t len;
	uint8_t types;           /* bit per record type class seen */
	enum mt_prio prio;
	bool mixed;              /* records of more than one class */
};

/* The test collector. */
struct coll {
	int lfd;
	uint16_t port;
	pthread_t th;
	pthread_mutex_t mu;
	volatile int stop;
	long first_ack;          /* -1: send `next` (what it has) */
	enum ack_style style;
	int close_after;         /* drop the connection after this many data
				  * messages, unacknowledged (once) */
	uint32_t next;           /* next expected; duplicates dropped */
	bool have_next;
	unsigned nmsg;
	struct rx_msg msg[MAX_MSGS];
	unsigned records;        /* distinct records stored */
	unsigned dups;
	unsigned conns;
	unsigned templates_only;
	unsigned errors;         /* undecodable, or another domain's */
	unsigned norder;
	uint16_t order[1 << 16]; /* src_port of each stored record, in order */
	unsigned nstats;         /* stats records stored, the first few kept */
	struct mt_body_stats stats[4];
};

static char spool_dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(spool_dir, sizeof(spool_dir), "/tmp/mt-export.XXXXXX");
	return mkdtemp(spool_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", spool_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void frame(uint8_t f[16], uint32_t domain, uint32_t next)
{
	memcpy(f, "MTAK\x01\x01\x00\x00", 8);
	mt_store_be32(f + 8, domain);
	mt_store_be32(f + 12, next);
}

struct rx_ctx {
	struct coll *c;
	struct rx_msg *m;
	bool first;
};

static int on_rec(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct rx_ctx *x = ctx;
	enum mt_prio p = mt_export_prio(r->type);

	(void)info;
	if (x->first)
		x->m->prio = p;
	else if (x->m->prio != p)
		x->m->mixed = true;
	x->first = false;
	if (x->c->norder < MT_ARRAY_SIZE(x->c->order))
		x->c->order[x->c->norder++] = MT_REC_CONN(r)->src_port;
	if (r->type == MT_REC_stats && x->c->nstats < MT_ARRAY_SIZE(x->c->stats))
		x->c->stats[x->c->nstats++] = r->b.stats;
	return 0;
}

static void serve(struct coll *c, int fd)
{
	static uint8_t buf[2 * MT_IPFIX_MSG_MAX];
	struct mt_ipfix_dec dec;
	size_t have = 0;
	uint8_t f[32];
	int unacked = 0;

	mt_ipfix_dec_init(&dec, MT_IPFIX_PEN_DEFAULT);
	pthread_mutex_lock(&c->mu);
	c->conns++;
	frame(f, DOMAIN + 1, 12345); /* another domain's: to be ignored */
	frame(f + 16, DOMAIN, c->first_ack >= 0 ? (uint32_t)c->first_ack : c->next);
	/* A collector that says it has records up to first_ack has them:
	 * anything numbered below is a duplicate to it. */
	if (c->first_ack >= 0 && !c->have_next) {
		c->next = (uint32_t)c->first_ack;
		c->have_next = true;
	}
	pthread_mutex_unlock(&c->mu);
	if (c->style != ACK_NONE && write_all(fd, f, 32) != 0)
		goto out;
	while (!c->stop) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		long mlen;
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		while ((mlen = mt_ipfix_msg_len(buf, have)) > 0 && (size_t)mlen <= have) {
			struct mt_ipfix_msg_info info;
			struct rx_msg m = { 0 };
			struct rx_ctx rc = { c, &m, true };
			char why[200];
			uint32_t seq = mt_load_be32(buf + 8);

			pthread_mutex_lock(&c->mu);
			/* cmocka asserts belong to the main thread: count here,
			 * check there. */
			if (mt_ipfix_decode(&dec, buf, (size_t)mlen, NULL, NULL, &info, why,
					    sizeof(why)) != 0 || info.domain != DOMAIN) {
				c->errors++;
				pthread_mutex_unlock(&c->mu);
				goto out;
			}
			if (info.records == 0) {
				c->templates_only++;
			} else if (c->have_next && mt_seq_lt(seq, c->next)) {
				c->dups += info.records;
			} else {
				if (mt_ipfix_decode(&dec, buf, (size_t)mlen, on_rec, &rc, &info, why,
						    sizeof(why)) != 0)
					c->errors++;
				m.seq = seq;
				m.nrec = info.records;
				m.len = (uint32_t)mlen;
				if (c->nmsg < MAX_MSGS)
					c->msg[c->nmsg++] = m;
				c->records += info.records;
				c->next = seq + info.records;
				c->have_next = true;
			}
			pthread_mutex_unlock(&c->mu);
			memmove(buf, buf + mlen, have - (size_t)mlen);
			have -= (size_t)mlen;
			if (info.records == 0)
				continue;
			if (c->close_after > 0 && ++unacked >= c->close_after) {
				c->close_after = 0;
				goto out; /* vanish without acknowledging */
			}
			frame(f, DOMAIN, c->next);
			if (c->style == ACK_WHOLE) {
				if (write_all(fd, f, 16))
					goto out;
			} else if (c->style == ACK_SPLIT) {
				for (unsigned i = 0; i < 16; i++)
					if (write_all(fd, f + i, 1))
						goto out;
			} else if (c->style == ACK_COALESCE) {
				/* The same number twice in one write. */
				memcpy(f + 16, f, 16);
				if (write_all(fd, f, 32))
					goto out;
			}
		}
	}
out:
	mt_ipfix_dec_free(&dec);
	close(fd);
}

static void *coll_main(void *arg)
{
	struct coll *c = arg;

	while (!c->stop) {
		struct pollfd pfd = { c->lfd, POLLIN, 0 };
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(c->lfd, NULL, NULL);
		if (fd >= 0)
			serve(c, fd);
	}
	return NULL;
}

/* One collector at a time; it stays readable after coll_stop(). */
static struct coll the_coll;

static struct coll *coll_start(enum ack_style style, long first_ack)
{
	struct coll *c = &the_coll;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->style = style;
	c->first_ack = first_ack;
	pthread_mutex_init(&c->mu, NULL);
	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(c->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(c->lfd, 4), 0);
	getsockname(c->lfd, (struct sockaddr *)&a, &al);
	c->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&c->th, NULL, coll_main, c), 0);
	return c;
}

static void coll_stop(struct coll *c)
{
	c->stop = 1;
	pthread_join(c->th, NULL);
	close(c->lfd);
	pthread_mutex_destroy(&c->mu);
}

/* A port nothing listens on. */
static uint16_t dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void config(struct mt_config *cfg, uint16_t port, bool ack)
{
	mt_config_defaults(cfg);
	snprintf(cfg->export.collector, sizeof(cfg->export.collector), "127.0.0.1:%u", port);
	cfg->export.tls = false;
	cfg->export.ack = ack;
	cfg->export.domain_id = DOMAIN;
	snprintf(cfg->export.spool_dir, sizeof(cfg->export.spool_dir), "%s/spool", spool_dir);
	cfg->export.message_size = 1400;
	cfg->export.flush_interval_ns = 50 * MT_NS_PER_MS;
	cfg->export.reconnect_min_ns = 20 * MT_NS_PER_MS;
	cfg->export.reconnect_max_ns = 100 * MT_NS_PER_MS;
	cfg->export.handshake_timeout_ns = 2 * MT_NS_PER_SEC;
	cfg->export.drain_timeout_ns = 5 * MT_NS_PER_SEC;
}

static struct mt_export *start(const struct mt_config *cfg)
{
	struct mt_export *x;
	char err[256];

	if (mt_export_start(&x, cfg, err, sizeof(err)) != 0)
		fail_msg("mt_export_start: %s", err);
	return x;
}

/* A record of a type, tagged by its client port. */
static void make(struct mt_rec *r, enum mt_rtype t, uint16_t tag, size_t strlen_)
{
	static char big[MT_REC_ARENA];
	uint8_t a[16] = { 198, 51, 100, 7 };

	mt_rec_init(r, t);
	if (t != MT_REC_stats) {
		mt_rec_set_ip(&MT_REC_CONN(r)->src_ip, a, 4);
		mt_rec_set_ip(&MT_REC_CONN(r)->dest_ip, a, 4);
		MT_REC_CONN(r)->src_port = tag;
		MT_REC_CONN(r)->dest_port = 25;
		MT_REC_CONN(r)->proto = 6;
		MT_REC_CONN(r)->timestamp = 1700000000ull * MT_NS_PER_SEC + tag * MT_NS_PER_US;
	}
	if (t == MT_REC_auth) {
		memset(big, 'u', sizeof(big));
		mt_rec_set_str(r, &r->b.auth.mechanism, "PLAIN", 5);
		mt_rec_set_str(r, &r->b.auth.user, big, strlen_);
	}
}

static bool wait_until(struct coll *c, unsigned records, long ms)
{
	for (long t = 0; t < ms; t += 10) {
		unsigned n;

		pthread_mutex_lock(&c->mu);
		n = c->records;
		pthread_mutex_unlock(&c->mu);
		if (n >= records)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Sequence numbers follow one another with no gap and no repeat. */
static void check_sequence(struct coll *c, uint32_t first)
{
	uint32_t next = first;

	assert_int_equal(c->errors, 0);
	for (unsigned i = 0; i < c->nmsg; i++) {
		assert_int_equal(c->msg[i].seq, next);
		assert_false(c->msg[i].mixed);
		next += c->msg[i].nrec;
	}
}

static void test_priority_table(void **state)
{
	(void)state;
	assert_int_equal(mt_export_prio(MT_REC_auth), MT_PRIO_HIGH);
	assert_int_equal(mt_export_prio(MT_REC_alert), MT_PRIO_HIGH);
	assert_int_equal(mt_export_prio(MT_REC_smtp), MT_PRIO_NORMAL);
	assert_int_equal(mt_export_prio(MT_REC_imap), MT_PRIO_NORMAL);
	assert_int_equal(mt_export_prio(MT_REC_pop3), MT_PRIO_NORMAL);
	assert_int_equal(mt_export_prio(MT_REC_tls), MT_PRIO_NORMAL);
	assert_int_equal(mt_export_prio(MT_REC_anomaly), MT_PRIO_NORMAL);
	assert_int_equal(mt_export_prio(MT_REC_flow), MT_PRIO_LOW);
	assert_int_equal(mt_export_prio(MT_REC_stats), MT_PRIO_LOW);
	assert_int_equal(mt_export_prio(9999), MT_PRIO_NORMAL);
}

static void test_config_checks(void **state)
{
	struct mt_config cfg;
	char err[256];

	(void)state;
	mt_config_defaults(&cfg);
	assert_int_equal(mt_export_check_config(&cfg, "t.conf", err, sizeof(err)), 0);
	snprintf(cfg.export.identity, sizeof(cfg.export.identity), "hashed");
	assert_int_equal(mt_export_check_config(&cfg, "t.conf", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf: [export] identity: `hashed' is neither clear, hmac nor none");
	snprintf(cfg.export.identity, sizeof(cfg.export.identity), "hmac");
	assert_int_equal(mt_export_check_config(&cfg, "t.conf", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "identity_key"));
	snprintf(cfg.export.identity, sizeof(cfg.export.identity), "none");

	static const char *const bad[] = { "host:0", "host:99999", "host:", "a:b:c",
					   "[::1", "[::1]x", ":4740" };
	for (unsigned i = 0; i < MT_ARRAY_SIZE(bad); i++) {
		snprintf(cfg.export.collector, sizeof(cfg.export.collector), "%s", bad[i]);
		if (mt_export_check_config(&cfg, "t.conf", err, sizeof(err)) != -EINVAL)
			fail_msg("collector `%s' accepted", bad[i]);
		assert_non_null(strstr(err, "[export] collector"));
	}
	static const char *const good[] = { "collector.example", "10.0.0.1:4740",
					    "[2001:db8::1]:4740", "[2001:db8::1]" };
	for (unsigned i = 0; i < MT_ARRAY_SIZE(good); i++) {
		snprintf(cfg.export.collector, sizeof(cfg.export.collector), "%s", good[i]);
		if (mt_export_check_config(&cfg, "t.conf", err, sizeof(err)) != 0)
			fail_msg("collector `%s' refused: %s", good[i], err);
	}
	cfg.export.key[0] = '\0';
	assert_int_equal(mt_export_check_config(&cfg, "t.conf", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls = yes"));
	cfg.export.tls = false;
	cfg.export.reconnect_min_ns = 2 * cfg.export.reconnect_max_ns;
	assert_int_equal(mt_export_check_config(&cfg, "t.conf", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reconnect_min"));
	mt_config_defaults(&cfg);
	snprintf(cfg.export.collector, sizeof(cfg.export.collector), "c");
	cfg.export.spool_segment = cfg.export.spool_max + 1;
	assert_int_equal(mt_export_check_config(&cfg, "t.conf", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "spool_segment"));
}

/* Many records of every class: each message of one class, at most
 * message_size, numbered without gaps; every record acknowledged. */
static void test_packing_and_acks(enum ack_style style)
{
	static const enum mt_rtype types[] = { MT_REC_flow, MT_REC_smtp, MT_REC_auth,
					       MT_REC_pop3, MT_REC_flow, MT_REC_alert };
	struct coll *c = coll_start(style, -1);
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;
	unsigned n = 3000;

	config(&cfg, c->port, true);
	x = start(&cfg);
	for (unsigned i = 0; i < n; i++) {
		make(&r, types[i % MT_ARRAY_SIZE(types)], (uint16_t)i, 5);
		assert_true(mt_export_push(x, &r));
	}
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	coll_stop(c);
	/* Stopped only once everything was acknowledged. */
	assert_int_equal(ctr.v[MT_CTR_export_records_queued], n);
	assert_int_equal(ctr.v[MT_CTR_export_records_spooled], n);
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], n);
	assert_int_equal(ctr.v[MT_CTR_export_records_sent], n);
	assert_int_equal(ctr.v[MT_CTR_export_connects], 1);
	assert_int_equal(ctr.v[MT_CTR_export_spool_bytes], 0);
	assert_int_equal(ctr.v[MT_CTR_export_ack_errors], 0);
	assert_int_equal(c->records, n);
	assert_int_equal(c->templates_only, 1);
	check_sequence(c, 0);
	for (unsigned i = 0; i < c->nmsg; i++)
		assert_true(c->msg[i].len <= 1400);
	/* Within a class, records keep the order they were pushed in. */
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		int last = -1;

		for (unsigned k = 0, i = 0; i < c->nmsg; i++) {
			for (unsigned j = 0; j < c->msg[i].nrec; j++, k++) {
				unsigned tag = c->order[k];

				if (mt_export_prio(types[tag % MT_ARRAY_SIZE(types)]) != p)
					continue;
				assert_true((int)tag > last);
				last = (int)tag;
			}
		}
	}
}

static void test_acks_whole(void **state)
{
	(void)state;
	test_packing_and_acks(ACK_WHOLE);
}

static void test_acks_split(void **state)
{
	(void)state;
	test_packing_and_acks(ACK_SPLIT);
}

static void test_acks_coalesced(void **state)
{
	(void)state;
	test_packing_and_acks(ACK_COALESCE);
}

/* A partly filled message leaves after flush_interval, not at shutdown. */
static void test_flush_interval(void **state)
{
	struct coll *c = coll_start(ACK_WHOLE, -1);
	static struct mt_rec r;
	struct mt_config cfg;
	struct mt_export *x;

	(void)state;
	config(&cfg, c->port, true);
	x = start(&cfg);
	make(&r, MT_REC_auth, 1, 5);
	mt_export_push(x, &r);
	assert_true(wait_until(c, 1, 3000));
	make(&r, MT_REC_flow, 2, 0);
	mt_export_push(x, &r);
	assert_true(wait_until(c, 2, 3000));
	assert_int_equal(c->nmsg, 2);
	mt_export_stop(x);
	mt_export_free(x);
	coll_stop(c);
}

/* Larger than message_size: a message of its own; larger than IPFIX
 * allows is impossible (the arena is smaller), so nothing is lost. */
static void test_record_larger_than_message(void **state)
{
	struct coll *c = coll_start(ACK_WHOLE, -1);
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;

	(void)state;
	config(&cfg, c->port, true);
	cfg.export.message_size = 512;
	x = start(&cfg);
	make(&r, MT_REC_auth, 1, 10);
	mt_export_push(x, &r);
	make(&r, MT_REC_auth, 2, 4000);
	mt_export_push(x, &r);
	make(&r, MT_REC_auth, 3, 10);
	mt_export_push(x, &r);
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	coll_stop(c);
	assert_int_equal(ctr.v[MT_CTR_export_encode_errors], 0);
	assert_int_equal(c->records, 3);
	assert_int_equal(c->nmsg, 3);
	assert_true(c->msg[1].len > 4000);
	assert_int_equal(c->order[0], 1);
	assert_int_equal(c->order[1], 2);
	assert_int_equal(c->order[2], 3);
	check_sequence(c, 0);
}

/* The collector is down at first: records wait in the spool and arrive,
 * in order, once it is up; a restart with a non-empty spool loses nothing
 * and the numbers go on. */
static void test_unreachable_then_restart(void **state)
{
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;
	struct coll *c;

	(void)state;
	config(&cfg, dead_port(), true);
	cfg.export.drain_timeout_ns = 200 * MT_NS_PER_MS;
	x = start(&cfg);
	for (unsigned i = 0; i < 500; i++) {
		make(&r, i % 2 ? MT_REC_flow : MT_REC_pop3, (uint16_t)i, 0);
		mt_export_push(x, &r);
	}
	sleep_ms(300);
	assert_int_equal(mt_export_stop(x), 500);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	assert_true(ctr.v[MT_CTR_export_connect_failures] >= 1);
	assert_true(ctr.v[MT_CTR_export_reconnects] >= 1);
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 0);

	/* Next start, collector up: the spool first, then new records. */
	c = coll_start(ACK_WHOLE, -1);
	config(&cfg, c->port, true);
	x = start(&cfg);
	for (unsigned i = 500; i < 600; i++) {
		make(&r, MT_REC_auth, (uint16_t)i, 3);
		mt_export_push(x, &r);
	}
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_free(x);
	assert_int_equal(c->records, 600);
	assert_int_equal(c->dups, 0);
	check_sequence(c, 0);
	for (unsigned i = 0; i < 500; i++)
		assert_int_equal(c->order[i] < 500, true);

	/* And a third start continues the numbers (the spool is empty: the
	 * counter comes from the state file). */
	config(&cfg, c->port, true);
	x = start(&cfg);
	make(&r, MT_REC_flow, 7, 0);
	mt_export_push(x, &r);
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_free(x);
	assert_int_equal(c->records, 601);
	assert_int_equal(c->msg[c->nmsg - 1].seq, 600);
	coll_stop(c);
}

/* The collector vanishes after two messages without acknowledging: the
 * exporter reconnects and sends them again; the collector, keeping its
 * own count, stores each record once. */
static void test_reconnect_replays(void **state)
{
	/* It keeps saying it has nothing (0): the replay is what fills it. */
	struct coll *c = coll_start(ACK_WHOLE, 0);
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;

	(void)state;
	c->close_after = 2;
	config(&cfg, c->port, true);
	x = start(&cfg);
	for (unsigned i = 0; i < 1000; i++) {
		make(&r, MT_REC_flow, (uint16_t)i, 0);
		mt_export_push(x, &r);
	}
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	coll_stop(c);
	assert_true(ctr.v[MT_CTR_export_connects] >= 2);
	assert_true(ctr.v[MT_CTR_export_disconnects] >= 1);
	assert_int_equal(c->records, 1000);
	assert_true(c->dups > 0);
	check_sequence(c, 0);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(c->order[i], i);
}

/* A collector that already has 7000 records of this domain: a fresh
 * appliance's numbers follow them. */
static void test_first_ack_moves_counter(void **state)
{
	struct coll *c = coll_start(ACK_WHOLE, 7000);
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;

	(void)state;
	config(&cfg, c->port, true);
	x = start(&cfg);
	for (unsigned i = 0; i < 50; i++) {
		make(&r, MT_REC_smtp, (uint16_t)i, 0);
		mt_export_push(x, &r);
	}
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	coll_stop(c);
	assert_int_equal(ctr.v[MT_CTR_export_seq_resyncs], 1);
	assert_int_equal(c->records, 50);
	check_sequence(c, 7000);
}

/*
 * The auditor's case through the exporter: the collector already holds 8
 * records of the domain (another appliance's); this appliance, on a fresh
 * spool, spooled 52 with the collector down, and restarts with it up. All
 * 52 and the 8 new ones are stored, numbered from 8: none is taken for a
 * duplicate. (Before the fix the exporter counted the spool "in step" and
 * its first 8 records as acknowledged; the collector discarded them.)
 */
static void test_unconfirmed_spool_ahead(void **state)
{
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;
	struct coll *c;

	(void)state;
	config(&cfg, dead_port(), true);
	cfg.export.drain_timeout_ns = 100 * MT_NS_PER_MS;
	x = start(&cfg);
	for (unsigned i = 0; i < 52; i++) {
		make(&r, MT_REC_smtp, (uint16_t)i, 0);
		assert_true(mt_export_push(x, &r));
	}
	assert_int_equal(mt_export_stop(x), 52);
	mt_export_free(x);

	c = coll_start(ACK_WHOLE, 8);
	config(&cfg, c->port, true);
	x = start(&cfg);
	for (unsigned i = 52; i < 60; i++) {
		make(&r, MT_REC_auth, (uint16_t)i, 3);
		assert_true(mt_export_push(x, &r));
	}
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	coll_stop(c);
	assert_int_equal(c->records, 60);
	assert_int_equal(c->dups, 0);
	assert_int_equal(ctr.v[MT_CTR_export_seq_resyncs], 1);
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 60);
	check_sequence(c, 8);
	for (unsigned i = 0; i < 52; i++)
		assert_true(c->order[i] < 52); /* the spool first, in order */
}

/* A stats record as mailtapd's main loop makes it (every counter, the
 * exporter's included), offered until the ring has room for it. */
static void push_stats(struct mt_export *x)
{
	static struct mt_rec r;
	struct mt_counters sum;
	int i;

	memset(&sum, 0, sizeof(sum));
	mt_export_read_counters(x, &sum);
	mt_worker_stats_record(&r, &sum, 1700000000ull * MT_NS_PER_SEC, 1);
	for (i = 0; i < 500 && !mt_export_offer(x, &r); i++)
		sleep_ms(10);
	assert_true(i < 500);
}

static uint64_t ring_drops(const struct mt_counters *c, unsigned p)
{
	static const enum mt_ctr id[MT_PRIO__COUNT] = {
		MT_CTR_export_ring_drops_high, MT_CTR_export_ring_drops_normal,
		MT_CTR_export_ring_drops_low,
	};

	return c->v[id[p]];
}

/*
 * Drops after a run's last stats record (here: a full ring after it; with
 * --read, whatever the drain drops) reach no stats record of that run.
 * They are kept in the spool's state: the next run's counters start with
 * them and its first stats record carries them to the collector; once
 * carried, a third run starts from zero.
 */
static void test_drops_after_last_stats_carried(void **state)
{
	static struct mt_rec r;
	struct mt_counters c1, c2, c3;
	uint64_t at_stats[MT_PRIO__COUNT];
	struct mt_config cfg;
	struct mt_export *x;
	struct coll *c;
	unsigned pushed = 0;

	(void)state;
	config(&cfg, dead_port(), true);
	cfg.export.ring_size = 64 << 10;
	cfg.export.drain_timeout_ns = 0;
	x = start(&cfg);
	/* Some drops, then a stats record that reports them, then more. */
	memset(&c1, 0, sizeof(c1));
	for (; ring_drops(&c1, MT_PRIO_HIGH) == 0 && pushed < 200000; pushed++) {
		make(&r, MT_REC_auth, (uint16_t)pushed, 8000);
		mt_export_push(x, &r);
		mt_export_read_counters(x, &c1);
	}
	assert_true(ring_drops(&c1, MT_PRIO_HIGH) > 0);
	mt_export_read_counters(x, &c1);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		at_stats[p] = ring_drops(&c1, p);
	push_stats(x);
	for (uint64_t before = at_stats[MT_PRIO_HIGH];
	     ring_drops(&c1, MT_PRIO_HIGH) == before && pushed < 400000; pushed++) {
		make(&r, MT_REC_auth, (uint16_t)pushed, 8000);
		mt_export_push(x, &r);
		mt_export_read_counters(x, &c1);
	}
	mt_export_stop(x);
	mt_export_read_counters(x, &c1);
	mt_export_free(x);
	assert_true(ring_drops(&c1, MT_PRIO_HIGH) > at_stats[MT_PRIO_HIGH]);

	/* Next start: the counters begin with what no stats record carried. */
	c = coll_start(ACK_WHOLE, -1);
	config(&cfg, c->port, true);
	cfg.export.ring_size = 64 << 20;
	x = start(&cfg);
	memset(&c2, 0, sizeof(c2));
	mt_export_read_counters(x, &c2);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		assert_int_equal(ring_drops(&c2, p), ring_drops(&c1, p) - at_stats[p]);
	push_stats(x);
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_free(x);
	coll_stop(c);
	/* The collector got the first run's stats record (from the spool),
	 * then this run's, which carries the rest. */
	assert_int_equal(c->errors, 0);
	assert_int_equal(c->nstats, 2);
	assert_int_equal(c->stats[0].export_ring_drops_high, at_stats[MT_PRIO_HIGH]);
	assert_int_equal(c->stats[1].export_ring_drops_high,
			 ring_drops(&c1, MT_PRIO_HIGH) - at_stats[MT_PRIO_HIGH]);
	assert_true(c->stats[1].export_ring_drops_high > 0);
	assert_int_equal(c->stats[1].export_ring_drops_normal,
			 ring_drops(&c1, MT_PRIO_NORMAL) - at_stats[MT_PRIO_NORMAL]);
	assert_int_equal(c->stats[1].export_ring_drops_low,
			 ring_drops(&c1, MT_PRIO_LOW) - at_stats[MT_PRIO_LOW]);

	/* Carried once: a third start has nothing left to carry. */
	c = coll_start(ACK_WHOLE, -1);
	config(&cfg, c->port, true);
	x = start(&cfg);
	memset(&c3, 0, sizeof(c3));
	mt_export_read_counters(x, &c3);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		assert_int_equal(ring_drops(&c3, p), 0);
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_free(x);
	coll_stop(c);
}

/* ack = no: a plain collector that never writes back. */
static void test_ack_no(void **state)
{
	struct coll *c = coll_start(ACK_NONE, -1);
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;

	(void)state;
	config(&cfg, c->port, false);
	x = start(&cfg);
	for (unsigned i = 0; i < 200; i++) {
		make(&r, MT_REC_tls, (uint16_t)i, 0);
		mt_export_push(x, &r);
	}
	assert_int_equal(mt_export_stop(x), 0);
	mt_export_read_counters(x, &ctr);
	mt_export_free(x);
	assert_true(wait_until(c, 200, 3000));
	coll_stop(c);
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 200);
	assert_int_equal(ctr.v[MT_CTR_export_acks], 0);
	check_sequence(c, 0);
}

/* A full ring drops, counts by class, and never makes the producer wait. */
static void test_ring_full_drops(void **state)
{
	static struct mt_rec r;
	struct mt_counters ctr = { 0 };
	struct mt_config cfg;
	struct mt_export *x;
	struct timespec t0, t1;
	unsigned pushed = 20000, queued = 0;
	double secs;

	(void)state;
	config(&cfg, dead_port(), true);
	cfg.export.ring_size = 64 << 10;
	cfg.export.drain_timeout_ns = 0;
	x = start(&cfg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < pushed; i++) {
		/* Big records: a few fill the ring. */
		make(&r, i % 3 == 0 ? MT_REC_auth : MT_REC_flow, (uint16_t)i, 0);
		if (r.type == MT_REC_auth)
			make(&r, MT_REC_auth, (uint16_t)i, 8000);
		queued += mt_export_push(x, &r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	mt_export_read_counters(x, &ctr);
	mt_export_stop(x);
	mt_export_free(x);
	assert_true(queued < pushed);
	assert_int_equal(ctr.v[MT_CTR_export_records_queued], queued);
	assert_int_equal(ctr.v[MT_CTR_export_ring_drops_high] +
			 ctr.v[MT_CTR_export_ring_drops_low] +
			 ctr.v[MT_CTR_export_ring_drops_normal], pushed - queued);
	assert_true(ctr.v[MT_CTR_export_ring_drops_high] > 0);
	assert_int_equal(ctr.v[MT_CTR_export_ring_drops_normal], 0);
	/* Generous: 20000 copies of at most 8 KB never take a second. */
	assert_true(secs < 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_table),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test_setup_teardown(test_acks_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acks_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acks_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_larger_than_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_then_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_ack_moves_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_spool_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drops_after_last_stats_carried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ack_no, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full_drops, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
