/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fast-path benchmark: replays frames held in memory through one worker
 * (decode + flow + stream) on one core and prints packets/s, Gbit/s and
 * ns/packet, next to a baseline measured in the same run on the same
 * frames: the cost of merely touching each packet (reading its first bytes
 * and length). Workloads: 64-byte frames of many flows, an IMIX mix, and
 * any capture files named on the command line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../drivers/pcap_file.h"
#include "worker.h"

struct frame {
	uint8_t *data;
	uint32_t len;
	uint32_t wire;
	uint64_t ts;
};

struct load {
	const char *name;
	struct frame *f;
	size_t n, cap;
	uint64_t bytes;
	int link;
	uint64_t span_ns;  /* time covered by one pass */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MT_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void add(struct load *l, const uint8_t *d, uint32_t len, uint32_t wire,
		uint64_t ts)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->f = realloc(l->f, l->cap * sizeof(*l->f));
		if (!l->f)
			abort();
	}
	l->f[l->n].data = malloc(len);
	memcpy(l->f[l->n].data, d, len);
	l->f[l->n].len = len;
	l->f[l->n].wire = wire;
	l->f[l->n].ts = ts;
	l->bytes += wire;
	l->n++;
}

/* Ethernet/IPv4/TCP frame of `size` bytes from flow number `k`. */
static uint32_t make_frame(uint8_t *b, uint32_t size, uint32_t k, uint16_t dport,
			   uint32_t seq)
{
	uint32_t iplen = size - 14;

	memset(b, 0, size);
	b[0] = 0x02;
	b[6] = 0x02;
	b[12] = 0x08;
	b[14] = 0x45;
	mt_store_be16(b + 16, (uint16_t)iplen);
	b[22] = 64;
	b[23] = 6;
	b[26] = 10;
	b[27] = (uint8_t)(k >> 16);
	b[28] = (uint8_t)(k >> 8);
	b[29] = (uint8_t)k;
	b[30] = 10;
	b[31] = 200;
	b[32] = 0;
	b[33] = 1;
	mt_store_be16(b + 34, (uint16_t)(1024 + (k % 60000)));
	mt_store_be16(b + 36, dport);
	mt_store_be32(b + 38, seq);
	b[46] = 0x50;
	b[47] = MT_TCP_ACK;
	mt_store_be16(b + 48, 65535);
	return size;
}

static void synth_small(struct load *l, uint32_t flows, uint32_t pkts)
{
	uint8_t b[64];

	l->name = "64B frames, non-mail";
	l->link = MT_LINK_ETHERNET;
	for (uint32_t i = 0; i < pkts; i++) {
		/* 60 bytes + 4 FCS = a 64-byte Ethernet frame. */
		uint32_t n = make_frame(b, 60, (i * 7919u) % flows, 80, i);

		add(l, b, n, n, 1000000000ull + i * 100ull);
	}
	l->span_ns = pkts * 100ull;
}

static void synth_imix(struct load *l, uint32_t flows, uint32_t pkts)
{
	static uint8_t b[1514];
	static const uint32_t mix[12] = { 60, 60, 60, 60, 60, 60, 60, 590, 590, 590, 590, 1514 };
	uint32_t *seq = calloc(flows, sizeof(*seq));

	/* Client-to-server data on mail ports, in order per flow, so every
	 * byte goes through reassembly (the analyzers' input). */
	l->name = "IMIX 7:4:1, mail ports";
	l->link = MT_LINK_ETHERNET;
	for (uint32_t i = 0; i < pkts; i++) {
		uint32_t k = (i * 7919u) % flows;
		uint32_t n = make_frame(b, mix[i % 12], k, (k & 1) ? 25 : 143,
					1000 + seq[k]);

		seq[k] += n - 54;
		add(l, b, n, n, 1000000000ull + i * 100ull);
	}
	free(seq);
	l->span_ns = pkts * 100ull;
}

static int load_pcap(struct load *l, const char *path)
{
	char err[256];
	struct mt_pcap *p = mt_pcap_open(path, err, sizeof(err));
	const uint8_t *d;
	uint32_t cap, wire;
	uint64_t ts, first = 0, last = 0;

	if (!p) {
		fprintf(stderr, "bench: %s\n", err);
		return -1;
	}
	l->name = path;
	l->link = mt_pcap_link(p);
	while (mt_pcap_next(p, &d, &cap, &wire, &ts, err, sizeof(err)) == 1) {
		if (!first)
			first = ts;
		last = ts;
		add(l, d, cap, wire, ts);
	}
	mt_pcap_close(p);
	l->span_ns = last - first + MT_NS_PER_SEC;
	return l->n ? 0 : -1;
}

static void sink(void *ctx, const struct mt_rec *r)
{
	(*(uint64_t *)ctx) += r->type + 1;
}

/* Baseline: read the first 16 bytes and the length of each frame. */
static double run_touch(const struct load *l, uint64_t passes)
{
	volatile uint64_t acc = 0;
	uint64_t t0 = now_ns(), a = 0;

	for (uint64_t p = 0; p < passes; p++)
		for (size_t i = 0; i < l->n; i++) {
			uint64_t w[2] = { 0, 0 };

			memcpy(w, l->f[i].data, l->f[i].len >= 16 ? 16 : 8);
			a += w[0] ^ w[1] ^ l->f[i].len;
		}
	acc = a;
	(void)acc;
	return (double)(now_ns() - t0);
}

static double run_worker(const struct load *l, uint64_t passes, uint32_t capacity,
			 struct mt_counters *out)
{
	static struct mt_worker w;
	struct mt_config cfg;
	uint64_t t0, recs = 0, shift = 0;

	mt_config_defaults(&cfg);
	cfg.flow.capacity = capacity;
	if (getenv("MAILTAP_BENCH_NOAPP")) {
		/* Profiling aid: decode, flow and reassembly without analyzers. */
		cfg.analyzers.max_sessions = 0;
	}
	if (mt_worker_init(&w, &cfg, 0, sink, &recs) != 0)
		abort();
	t0 = now_ns();
	for (uint64_t p = 0; p < passes; p++) {
		for (size_t i = 0; i < l->n; i += 32) {
			struct mt_frame fr[32];
			unsigned k = 0;

			/* Bursts of 32, as a DPDK rx_burst hands them over. */
			for (; k < 32 && i + k < l->n; k++) {
				const struct frame *f = &l->f[i + k];

				fr[k].data = f->data;
				fr[k].caplen = f->len;
				fr[k].wirelen = f->wire;
				fr[k].ts_ns = f->ts + shift;
			}
			mt_worker_burst(&w, (enum mt_link)l->link, fr, k);
		}
		/* Next pass an hour later: the previous pass's flows time out. */
		shift += l->span_ns + 3600 * MT_NS_PER_SEC;
	}
	mt_worker_flush(&w);
	t0 = now_ns() - t0;
	*out = w.ctr;
	mt_worker_fini(&w);
	return (double)t0;
}

static void report(const struct load *l, uint32_t capacity, double min_secs)
{
	struct mt_counters c;
	uint64_t passes = 1;
	double t_touch, t_work, pkts, tt = 0;

	/* Scale passes so the timed run lasts about min_secs. */
	while ((tt = run_worker(l, passes, capacity, &c)) < min_secs * 1e9 / 4)
		passes *= 2;
	passes = (uint64_t)(passes * (min_secs * 1e9 / tt)) + 1;
	t_work = 1e300;
	t_touch = 1e300;
	for (int rep = 0; rep < 3; rep++) {
		double a = run_worker(l, passes, capacity, &c);
		double b = run_touch(l, passes);

		if (a < t_work)
			t_work = a;
		if (b < t_touch)
			t_touch = b;
	}
	pkts = (double)l->n * (double)passes;
	printf("%-34s %9zu pkts %5.0f B/pkt  flows %-8llu\n", l->name, l->n,
	       (double)l->bytes / (double)l->n,
	       (unsigned long long)(c.v[MT_CTR_flow_created] / passes));
	printf("  baseline (touch each packet)   %8.2f Mpps %8.2f Gbit/s %7.1f ns/pkt\n",
	       pkts / t_touch * 1e3, (double)l->bytes * passes * 8 / t_touch,
	       t_touch / pkts);
	printf("  decode+flow+stream, 1 core     %8.2f Mpps %8.2f Gbit/s %7.1f ns/pkt"
	       "  (%.1fx baseline time)\n",
	       pkts / t_work * 1e3, (double)l->bytes * passes * 8 / t_work,
	       t_work / pkts, t_work / t_touch);
	if (c.v[MT_CTR_stream_bytes_delivered])
		printf("  stream bytes delivered/pass    %llu\n",
		       (unsigned long long)(c.v[MT_CTR_stream_bytes_delivered] / passes));
}

int main(int argc, char **argv)
{
	double secs = 2.0;
	uint32_t flows = 100000;
	int i = 1;

	bool only = false;

	if (i < argc && strcmp(argv[i], "--quick") == 0) {
		secs = 0.3;
		i++;
	}
	if (i < argc && strcmp(argv[i], "--only") == 0) {
		only = true; /* the named captures, no synthetic workloads */
		i++;
	}
	if (only)
		goto captures;
	printf("mailtap fast-path benchmark: one core, frames replayed from memory\n");
	printf("(baseline = cost of reading each frame's first bytes, same run)\n\n");
	{
		struct load l = { 0 };

		synth_small(&l, flows, 1u << 20);
		report(&l, flows * 2, secs);
	}
	{
		struct load l = { 0 };

		synth_imix(&l, 10000, 1u << 18);
		report(&l, 20000, secs);
	}
captures:
	for (; i < argc; i++) {
		struct load l = { 0 };

		if (load_pcap(&l, argv[i]) == 0)
			report(&l, 65536, secs);
	}
	return 0;
}
