/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Export benchmark (run by tests/bench/run.sh, `make bench`):
 *   1. IPFIX records encoded per second on one core, for flow, smtp and
 *      auth records shaped like real ones, packed into 16000-byte
 *      messages, next to a baseline measured in the same run: the JSON
 *      writer on the same records;
 *   2. the record rate of the workers on each capture named (one core,
 *      frames in memory) next to the encode rate of those very records:
 *      the export thread keeps up when the second is the larger;
 *   3. with --tls, records per second through the whole exporter - ring,
 *      packing, spool on disk, mutual TLS on loopback to export_sink,
 *      acknowledgements - from the first record handed over to the last
 *      one acknowledged.
 *
 * usage: export_bench [--seconds S] [--records N] [--tls HOST:PORT --ca CA
 *                     --cert CRT --key KEY --server-name NAME --spool DIR]
 *                     [CAPTURE.pcap...]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../drivers/pcap_file.h"
#include "export.h"
#include "ipfix.h"
#include "json.h"
#include "worker.h"

struct recs {
	struct mt_rec **r;
	size_t n, cap;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void keep(struct recs *s, const struct mt_rec *r)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r)
			abort();
	}
	s->r[s->n] = malloc(sizeof(struct mt_rec));
	if (!s->r[s->n])
		abort();
	memcpy(s->r[s->n], r, mt_rec_size(r));
	s->n++;
}

static void conn(struct mt_rec *r, uint16_t sport, uint16_t dport)
{
	static const uint8_t c[16] = { 198, 51, 100, 23 }, s[16] = { 192, 0, 2, 25 };

	MT_REC_CONN(r)->timestamp = 1700000000ull * MT_NS_PER_SEC + 123456000;
	MT_REC_CONN(r)->flow_id = 0x1234567890abcull;
	mt_rec_set_ip(&MT_REC_CONN(r)->src_ip, c, 4);
	mt_rec_set_ip(&MT_REC_CONN(r)->dest_ip, s, 4);
	MT_REC_CONN(r)->src_port = sport;
	MT_REC_CONN(r)->dest_port = dport;
	MT_REC_CONN(r)->proto = 6;
	MT_REC_CONN(r)->app_proto = MT_APP_SMTP;
}

static void str(struct mt_rec *r, struct mt_sref *f, const char *s)
{
	mt_rec_set_str(r, f, s, strlen(s));
}

/* Records shaped like those of a real SMTP submission. */
static void synthetic(struct mt_rec *flow, struct mt_rec *smtp, struct mt_rec *auth)
{
	mt_rec_init(flow, MT_REC_flow);
	conn(flow, 51234, 587);
	flow->b.flow.pkts_toserver = 14;
	flow->b.flow.pkts_toclient = 12;
	flow->b.flow.bytes_toserver = 2311;
	flow->b.flow.bytes_toclient = 1894;
	flow->b.flow.start = flow->b.flow.timestamp;
	flow->b.flow.end = flow->b.flow.timestamp + 350 * MT_NS_PER_MS;
	flow->b.flow.reason = 1;
	flow->b.flow.tcp_flags = flow->b.flow.tcp_flags_ts = flow->b.flow.tcp_flags_tc = 0x1b;

	mt_rec_init(smtp, MT_REC_smtp);
	conn(smtp, 51234, 587);
	str(smtp, &smtp->b.smtp.helo, "client7.branch.example.org");
	str(smtp, &smtp->b.smtp.mail_from, "<alice.martin@branch.example.org>");
	mt_rec_list_add(smtp, &smtp->b.smtp.rcpt_to, "<bob@example.net>", 17);
	mt_rec_list_add(smtp, &smtp->b.smtp.rcpt_to, "<carol.dupont@example.com>", 26);
	mt_rec_list_add_u16(smtp, &smtp->b.smtp.rcpt_reply, 250);
	mt_rec_list_add_u16(smtp, &smtp->b.smtp.rcpt_reply, 250);
	smtp->b.smtp.recipients = 2;
	smtp->b.smtp.mail_reply = 250;
	smtp->b.smtp.data_reply = 250;
	str(smtp, &smtp->b.smtp.status, "delivered");
	smtp->b.smtp.transaction = 1;
	smtp->b.smtp.message_size = 48211;
	mt_rec_list_add(smtp, &smtp->b.smtp.capabilities, "PIPELINING", 10);
	mt_rec_list_add(smtp, &smtp->b.smtp.capabilities, "SIZE 10240000", 13);
	mt_rec_list_add(smtp, &smtp->b.smtp.capabilities, "AUTH PLAIN LOGIN", 16);
	mt_rec_list_add(smtp, &smtp->b.smtp.capabilities, "8BITMIME", 8);
	smtp->b.smtp.starttls_offered = 1;
	str(smtp, &smtp->b.smtp.auth_mech, "PLAIN");
	str(smtp, &smtp->b.smtp.auth_user, "alice.martin");
	str(smtp, &smtp->b.smtp.auth_result, "success");
	smtp->b.smtp.auth_attempts = 1;
	str(smtp, &smtp->b.smtp.email_from, "Alice Martin <alice.martin@branch.example.org>");
	mt_rec_list_add(smtp, &smtp->b.smtp.email_to, "bob@example.net", 15);
	str(smtp, &smtp->b.smtp.email_subject, "Quarterly figures, draft 3");
	str(smtp, &smtp->b.smtp.email_message_id, "<20240501100000.4711@branch.example.org>");
	str(smtp, &smtp->b.smtp.email_date, "Wed, 01 May 2024 10:00:00 +0200");
	str(smtp, &smtp->b.smtp.email_x_mailer, "Thunderbird 115.10");
	smtp->b.smtp.email_parts = 2;
	mt_rec_list_add(smtp, &smtp->b.smtp.email_attachment, "figures-q1.xlsx", 15);

	mt_rec_init(auth, MT_REC_auth);
	conn(auth, 51234, 587);
	str(auth, &auth->b.auth.mechanism, "PLAIN");
	str(auth, &auth->b.auth.user, "alice.martin");
	str(auth, &auth->b.auth.result, "success");
	auth->b.auth.cleartext = 0;
	str(auth, &auth->b.auth.reply, "235 2.7.0 Authentication successful");
	auth->b.auth.attempt = 1;
}

/* Records encoded per second, over `secs`, cycling through `set`. */
static double encode_rate(struct mt_rec **set, size_t n, double secs, double *bytes_per)
{
	static uint8_t buf[MT_IPFIX_MSG_MAX];
	struct mt_ipfix_enc e;
	uint64_t t0 = now_ns(), stop = t0 + (uint64_t)(secs * 1e9), count = 0, bytes = 0;
	size_t i = 0;

	mt_ipfix_begin(&e, buf, 16000, 1, MT_IPFIX_PEN_DEFAULT, 0, 0);
	for (;;) {
		for (unsigned k = 0; k < 1024; k++) {
			if (mt_ipfix_record(&e, set[i]) == -ENOSPC) {
				bytes += mt_ipfix_end(&e);
				mt_ipfix_begin(&e, buf, 16000, 1, MT_IPFIX_PEN_DEFAULT, 0, 0);
				if (mt_ipfix_record(&e, set[i]) != 0)
					abort();
			}
			count++;
			if (++i == n)
				i = 0;
		}
		if (now_ns() >= stop)
			break;
	}
	bytes += mt_ipfix_end(&e);
	if (bytes_per)
		*bytes_per = (double)bytes / (double)count;
	return (double)count / ((double)(now_ns() - t0) / 1e9);
}

/* The baseline: the JSON writer on the same records. */
static double json_rate(struct mt_rec **set, size_t n, double secs)
{
	struct mt_buf b = { 0 };
	uint64_t t0 = now_ns(), stop = t0 + (uint64_t)(secs * 1e9), count = 0;
	size_t i = 0;

	for (;;) {
		for (unsigned k = 0; k < 1024; k++) {
			mt_buf_reset(&b);
			mt_json_record(&b, set[i]);
			count++;
			if (++i == n)
				i = 0;
		}
		if (now_ns() >= stop)
			break;
	}
	mt_buf_free(&b);
	return (double)count / ((double)(now_ns() - t0) / 1e9);
}

struct frame {
	uint8_t *d;
	uint32_t len, wire;
	uint64_t ts;
};

static void keep_rec(void *ctx, const struct mt_rec *r)
{
	keep(ctx, r);
}

static void count_rec(void *ctx, const struct mt_rec *r)
{
	(void)r;
	(*(uint64_t *)ctx)++;
}

/* Workers' record rate on a capture (frames in memory, one core), and the
 * records themselves into `out`. */
static int capture(const char *path, double secs, struct recs *out, double *rate)
{
	static struct mt_worker w __attribute__((aligned(64)));
	struct frame *f = NULL;
	size_t n = 0, cap = 0;
	struct mt_config cfg;
	struct mt_pcap *pc;
	const uint8_t *d;
	uint32_t len, wire;
	uint64_t ts, recs = 0, pkts = 0, t0, el, span;
	char err[256];
	int link, rc;
	struct recs mine = { 0 };
	double enc;

	pc = mt_pcap_open(path, err, sizeof(err));
	if (!pc) {
		fprintf(stderr, "export_bench: %s\n", err);
		return -1;
	}
	link = mt_pcap_link(pc);
	while ((rc = mt_pcap_next(pc, &d, &len, &wire, &ts, err, sizeof(err))) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			f = realloc(f, cap * sizeof(*f));
			if (!f)
				abort();
		}
		f[n].d = malloc(len);
		memcpy(f[n].d, d, len);
		f[n].len = len;
		f[n].wire = wire;
		f[n].ts = ts;
		n++;
	}
	mt_pcap_close(pc);
	if (!n || link < 0)
		return 0;
	mt_config_defaults(&cfg);
	cfg.flow.capacity = 4096;
	/* One pass to keep the records, then timed passes to count them. */
	if (mt_worker_init(&w, &cfg, 0, keep_rec, &mine) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		mt_worker_packet(&w, (enum mt_link)link, f[i].d, f[i].len, f[i].wire, f[i].ts);
	mt_worker_flush(&w);
	mt_worker_fini(&w);
	/* Pass after pass through one worker, each later in time by the
	 * capture's span, so every pass makes its flows anew. */
	if (mt_worker_init(&w, &cfg, 0, count_rec, &recs) != 0)
		return -1;
	span = f[n - 1].ts - f[0].ts + 3600 * MT_NS_PER_SEC;
	t0 = now_ns();
	for (uint64_t pass = 0;; pass++) {
		for (size_t i = 0; i < n; i++)
			mt_worker_packet(&w, (enum mt_link)link, f[i].d, f[i].len, f[i].wire,
					 f[i].ts + pass * span);
		pkts += n;
		if ((el = now_ns() - t0) >= (uint64_t)(secs * 1e9))
			break;
	}
	mt_worker_flush(&w);
	el = now_ns() - t0;
	mt_worker_fini(&w);
	enc = mine.n ? encode_rate(mine.r, mine.n, secs / 2, NULL) : 0;
	printf("  %-34s %9.0f records/s made by a worker (%.2f Mpkt/s), %9.0f records/s encoded: %s\n",
	       strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
	       (double)recs / ((double)el / 1e9), (double)pkts / ((double)el / 1e3),
	       enc, enc > (double)recs / ((double)el / 1e9) ? "export keeps up" : "EXPORT FALLS BEHIND");
	if (rate)
		*rate = (double)recs / ((double)el / 1e9);
	for (size_t i = 0; i < mine.n; i++)
		keep(out, mine.r[i]);
	for (size_t i = 0; i < mine.n; i++)
		free(mine.r[i]);
	free(mine.r);
	for (size_t i = 0; i < n; i++)
		free(f[i].d);
	free(f);
	return 0;
}

struct tls_opts {
	const char *target, *ca, *cert, *key, *server_name, *spool;
};

static int tls_run(const struct tls_opts *o, struct recs *set, uint64_t records,
		   double *capacity)
{
	struct mt_config cfg;
	struct mt_counters ctr = { 0 };
	struct mt_export *x;
	char err[300];
	uint64_t t0, el, cpu, spins = 0;

	mt_config_defaults(&cfg);
	snprintf(cfg.export.collector, sizeof(cfg.export.collector), "%s", o->target);
	snprintf(cfg.export.server_name, sizeof(cfg.export.server_name), "%s",
		 o->server_name ? o->server_name : "");
	snprintf(cfg.export.ca, sizeof(cfg.export.ca), "%s", o->ca);
	snprintf(cfg.export.cert, sizeof(cfg.export.cert), "%s", o->cert);
	snprintf(cfg.export.key, sizeof(cfg.export.key), "%s", o->key);
	snprintf(cfg.export.spool_dir, sizeof(cfg.export.spool_dir), "%s", o->spool);
	cfg.export.drain_timeout_ns = 120 * MT_NS_PER_SEC;
	if (mt_export_start(&x, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "export_bench: %s\n", err);
		return -1;
	}
	/* Wait for the connection, so the time is the transfer's. */
	for (int i = 0; i < 500 && !mt_export_connected(x); i++) {
		struct timespec t = { 0, 10 * 1000000L };

		nanosleep(&t, NULL);
	}
	t0 = now_ns();
	for (uint64_t i = 0; i < records; i++) {
		/* The benchmark is the producer: it waits instead of dropping. */
		while (!mt_export_offer(x, set->r[i % set->n])) {
			/* Two cores here: leave one to the export thread. */
			struct timespec t = { 0, 50 * 1000 };

			nanosleep(&t, NULL);
			spins++;
		}
	}
	mt_export_stop(x);
	el = now_ns() - t0;
	mt_export_read_counters(x, &ctr);
	cpu = mt_export_thread_cpu_ns(x);
	mt_export_free(x);
	printf("  %-34s %9.0f records/s (%llu records in %.2fs: %llu messages, %.1f MB/s of IPFIX; "
	       "acknowledged %llu)\n", "mutual TLS to the sink, acked",
	       (double)ctr.v[MT_CTR_export_records_acked] / ((double)el / 1e9),
	       (unsigned long long)records, (double)el / 1e9,
	       (unsigned long long)ctr.v[MT_CTR_export_messages_sent],
	       (double)ctr.v[MT_CTR_export_bytes_sent] / ((double)el / 1e9) / 1e6,
	       (unsigned long long)ctr.v[MT_CTR_export_records_acked]);
	if (cpu && records) {
		/* The export thread's own CPU (ring, packing, spool writes, TLS,
		 * acknowledgements), whatever the sink and producer cost. */
		*capacity = (double)records * 1e9 / (double)cpu;
		printf("  %-34s %9.0f ns/record of the export thread's CPU: %.0f records/s per core\n",
		       "export thread CPU", (double)cpu / (double)records, *capacity);
	}
	(void)spins;
	return ctr.v[MT_CTR_export_records_acked] == records ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "records", required_argument, NULL, 'n' },
		{ "tls", required_argument, NULL, 't' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'S' },
		{ "spool", required_argument, NULL, 'D' },
		{ "mix", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	static struct mt_rec flow, smtp, auth;
	struct mt_rec *one[1];
	struct mt_rec *mix[3] = { &flow, &smtp, &auth };
	struct tls_opts t = { 0 };
	struct recs caps = { 0 };
	double secs = 1.0, bpr, mix_rate = 0, capacity = 0;
	const char *mixfile = NULL;
	uint64_t records = 300000;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': secs = atof(optarg); break;
		case 'n': records = strtoull(optarg, NULL, 10); break;
		case 't': t.target = optarg; break;
		case 'A': t.ca = optarg; break;
		case 'C': t.cert = optarg; break;
		case 'K': t.key = optarg; break;
		case 'S': t.server_name = optarg; break;
		case 'D': t.spool = optarg; break;
		case 'M': mixfile = optarg; break;
		default:
			fprintf(stderr, "usage: export_bench [--seconds S] [--records N] [--tls HOST:PORT "
				"--ca CA --cert CRT --key KEY --server-name NAME --spool DIR] [--mix FILE] "
				"[CAPTURE...]\n");
			return 2;
		}
	}
	synthetic(&flow, &smtp, &auth);
	printf("IPFIX encoding, one core, 16000-byte messages (baseline: JSON writer, same records)\n");
	for (unsigned i = 0; i < 3; i++) {
		double r, j;

		one[0] = mix[i];
		r = encode_rate(one, 1, secs, &bpr);
		j = json_rate(one, 1, secs);
		printf("  %-6s %10.0f records/s  %6.1f ns/record  %5.1f bytes/record   "
		       "(JSON %9.0f records/s, %6.1f ns/record)\n",
		       mt_rtypes[mix[i]->type].name, r, 1e9 / r, bpr, j, 1e9 / j);
	}
	{
		double r = encode_rate(mix, 3, secs, &bpr);

		printf("  %-6s %10.0f records/s  %6.1f ns/record  %5.1f bytes/record\n", "mixed",
		       r, 1e9 / r, bpr);
	}
	if (optind < argc)
		printf("\nworkers' record rate against the encoder's, per capture (one core each)\n");
	for (int i = optind; i < argc; i++)
		if (capture(argv[i], secs, &caps, NULL) != 0)
			rc = 1;
	if (mixfile) {
		printf("\nthe real mail mix (make bench builds it), one worker\n");
		if (capture(mixfile, secs, &caps, &mix_rate) != 0)
			rc = 1;
	}
	if (t.target) {
		if (!t.ca || !t.cert || !t.key || !t.spool) {
			fprintf(stderr, "export_bench: --tls needs --ca, --cert, --key and --spool\n");
			return 2;
		}
		printf("\nthrough the exporter: ring, packing, spool (%s), mutual TLS on loopback, acks\n",
		       t.spool);
		fflush(stdout); /* before the exporter's own lines on stderr */
		if (!caps.n) {
			keep(&caps, &flow);
			keep(&caps, &smtp);
			keep(&caps, &auth);
		}
		if (tls_run(&t, &caps, records, &capacity) != 0)
			rc = 1;
		if (capacity > 0 && mix_rate > 0)
			printf("  export thread against the workers: %.0f records/s per core of export "
			       "thread, one worker makes %.0f records/s on the real mail mix: "
			       "%.2f workers' worth (%s)\n", capacity, mix_rate, capacity / mix_rate,
			       capacity >= mix_rate ? "keeps up with one worker" :
						      "FALLS BEHIND one worker");
	}
	for (size_t i = 0; i < caps.n; i++)
		free(caps.r[i]);
	free(caps.r);
	return rc;
}
