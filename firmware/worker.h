/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker is everything one core does to a packet: decode, flow lookup,
 * TCP reassembly for flows worth analysing, and the records those produce.
 * It has no DPDK types: the pcap reader, the DPDK lcore loop, the unit tests,
 * the fuzzers and the benchmark all drive the same struct mt_worker.
 */
#ifndef MT_WORKER_H
#define MT_WORKER_H

#include "app.h"
#include "config.h"
#include "counters.h"
#include "decode.h"
#include "flow.h"
#include "record.h"
#include "stream.h"

/* Receives each record the worker produces; the record is only valid for
 * the duration of the call (copy it to keep it). */
typedef void (*mt_emit_fn)(void *ctx, const struct mt_rec *r);

struct mt_worker {
	struct mt_counters ctr;        /* written only by this worker */
	struct mt_flow_table flows;
	struct mt_reasm reasm;
	struct mt_stream *streams;     /* parallel to flows.flows */
	struct mt_apps apps;
	struct mt_app_config appcfg;
	unsigned id;
	mt_emit_fn emit;
	void *emit_ctx;
	const struct mt_stream_ops *observer; /* tests: sees stream events */
	void *observer_ctx;
	uint64_t now_ns;
	struct mt_rec rec;             /* scratch record being built */
};

/* Control plane: sizes every pool from the configuration. 0 or -errno. */
int mt_worker_init(struct mt_worker *w, const struct mt_config *cfg,
		   unsigned id, mt_emit_fn emit, void *emit_ctx);
void mt_worker_fini(struct mt_worker *w);

/* A captured frame, borrowed for the duration of a call. */
struct mt_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_ns;
};

#define MT_WORKER_BURST_MAX 64

/*
 * Up to MT_WORKER_BURST_MAX frames: decoded and hashed first, their flow
 * entries prefetched, then processed in order. Same results as calling
 * mt_worker_packet() on each, in less time when flows do not fit the cache.
 */
void mt_worker_burst(struct mt_worker *w, enum mt_link link,
		     const struct mt_frame *frames, unsigned n);

/* One captured frame. The frame is borrowed for the duration of the call. */
void mt_worker_packet(struct mt_worker *w, enum mt_link link,
		      const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		      uint64_t ts_ns);

/* Advance time without a packet (idle links): ends timed-out flows. */
void mt_worker_tick(struct mt_worker *w, uint64_t now_ns);

/* End of input or shutdown: ends every flow, writing its record. */
void mt_worker_flush(struct mt_worker *w);

/* Builds a stats record from summed counters. */
void mt_worker_stats_record(struct mt_rec *r, const struct mt_counters *sum,
			    uint64_t ts_ns, uint64_t uptime_s);

#endif
