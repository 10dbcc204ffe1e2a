/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker glue: the per-packet path (decode -> flow -> stream) and the
 * control-plane set-up of the pools it uses. Flow records are built here
 * when the flow table reports a flow's end.
 */
#include "worker.h"
#include "version.h"

#include <errno.h>
#include <stdlib.h>

static bool is_server_port(void *ctx, uint16_t port)
{
	const struct mt_worker *w = ctx;

	return w->appcfg.port_app[port] != MT_APP_NONE;
}

static void on_data(void *ctx, void *owner, int dir, const uint8_t *p,
		    uint32_t len)
{
	struct mt_worker *w = ctx;

	if (w->observer && w->observer->data)
		w->observer->data(w->observer_ctx, owner, dir, p, len);
	mt_app_data(&w->apps, owner, dir, p, len, w->now_ns);
}

static void on_gap(void *ctx, void *owner, int dir, uint32_t len)
{
	struct mt_worker *w = ctx;
	struct mt_flow *f = owner;

	f->gaps[dir & 1]++;
	if (w->observer && w->observer->gap)
		w->observer->gap(w->observer_ctx, owner, dir, len);
	mt_app_gap(&w->apps, f, dir, len, w->now_ns);
}

static void on_end(void *ctx, void *owner, int dir)
{
	struct mt_worker *w = ctx;

	if (w->observer && w->observer->end)
		w->observer->end(w->observer_ctx, owner, dir);
}

static const struct mt_stream_ops stream_ops = {
	.data = on_data,
	.gap = on_gap,
	.end = on_end,
};

static void emit_app_record(void *ctx, const struct mt_rec *r)
{
	struct mt_worker *w = ctx;

	if (w->emit)
		w->emit(w->emit_ctx, r);
}

static void on_flow_end(void *ctx, struct mt_flow *f)
{
	struct mt_worker *w = ctx;
	struct mt_rec *r = &w->rec;
	struct mt_body_flow *b = &r->b.flow;

	if (f->stream != MT_FLOW_NIL)
		mt_stream_finish(&w->reasm, &w->streams[f->stream], f);
	/* Session records come before the flow record that closes it. */
	mt_app_close(&w->apps, f, w->now_ns);

	mt_rec_init(r, MT_REC_flow);
	mt_app_conn(r, f);
	b->timestamp = f->start_ns;
	b->pkts_toserver = f->pkts[MT_DIR_TOSERVER];
	b->pkts_toclient = f->pkts[MT_DIR_TOCLIENT];
	b->bytes_toserver = f->bytes[MT_DIR_TOSERVER];
	b->bytes_toclient = f->bytes[MT_DIR_TOCLIENT];
	b->start = f->start_ns;
	b->end = f->last_ns;
	b->reason = f->reason;
	b->midstream = f->midstream;
	b->gaps_toserver = f->gaps[MT_DIR_TOSERVER];
	b->gaps_toclient = f->gaps[MT_DIR_TOCLIENT];
	b->tunnel = f->tunnel;
	b->tunnel_id = f->tunnel_id;
	if (f->key.proto == 6) {
		b->tcp_flags_ts = f->flags[MT_DIR_TOSERVER];
		b->tcp_flags_tc = f->flags[MT_DIR_TOCLIENT];
		b->tcp_flags = b->tcp_flags_ts | b->tcp_flags_tc;
	}
	if (r->flags & MT_REC_F_TRUNCATED)
		MT_CTR_INC(&w->ctr, output_record_truncated);
	MT_CTR_INC(&w->ctr, output_records);
	if (w->emit)
		w->emit(w->emit_ctx, r);
}

int mt_worker_init(struct mt_worker *w, const struct mt_config *cfg,
		   unsigned id, mt_emit_fn emit, void *emit_ctx)
{
	struct mt_flow_config fc = {
		.capacity = cfg->flow.capacity,
		.vlan_in_key = cfg->flow.vlan_in_key,
	};
	struct mt_stream_config sc = {
		.max_ooo_bytes_per_dir = cfg->stream.ooo_max_bytes,
		.pool_bytes = cfg->stream.ooo_pool_bytes,
	};
	const typeof(cfg->analyzers) *an = &cfg->analyzers;
	char why[96];
	int rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->emit = emit;
	w->emit_ctx = emit_ctx;
	rc = mt_app_config_init(&w->appcfg, an->smtp_ports, an->imap_ports,
				an->pop3_ports, an->tls_ports, why, sizeof(why));
	if (rc)
		return rc;
	w->appcfg.detect_other_ports = an->detect_other_ports;
	w->appcfg.max_sessions = an->max_sessions;
	w->appcfg.smtp_reply_max = an->smtp_reply_max;
	w->appcfg.smtp_rcpt_max = an->smtp_rcpt_max;
	w->appcfg.imap_line_max = an->imap_line_max;
	w->appcfg.imap_literal_max = an->imap_literal_max;
	w->appcfg.pop3_line_max = an->pop3_line_max;
	w->appcfg.mime_header_max = an->mime_header_max;
	w->appcfg.mime_headers_max = an->mime_headers_max;
	w->appcfg.mime_depth_max = an->mime_depth_max;
	w->appcfg.mime_parts_max = an->mime_parts_max;
	w->appcfg.tls_handshake_max = (uint32_t)an->tls_handshake_max;
	fc.timeout_ns[MT_FLOW_TC_NEW] = cfg->flow.timeout_new_ns;
	fc.timeout_ns[MT_FLOW_TC_ESTABLISHED] = cfg->flow.timeout_established_ns;
	fc.timeout_ns[MT_FLOW_TC_CLOSED] = cfg->flow.timeout_closed_ns;
	fc.timeout_ns[MT_FLOW_TC_UDP] = cfg->flow.timeout_udp_ns;
	rc = mt_flow_table_init(&w->flows, &fc, on_flow_end, is_server_port, w,
				&w->ctr);
	if (rc)
		return rc;
	rc = mt_reasm_init(&w->reasm, &sc, &stream_ops, w, &w->ctr);
	if (rc)
		goto err_flows;
	w->streams = calloc(cfg->flow.capacity, sizeof(*w->streams));
	if (!w->streams) {
		rc = -ENOMEM;
		goto err_reasm;
	}
	rc = mt_apps_init(&w->apps, &w->appcfg, &w->ctr, emit_app_record, w);
	if (rc)
		goto err_streams;
	return 0;

err_streams:
	free(w->streams);
err_reasm:
	mt_reasm_free(&w->reasm);
err_flows:
	mt_flow_table_free(&w->flows);
	return rc;
}

void mt_worker_fini(struct mt_worker *w)
{
	mt_apps_free(&w->apps);
	free(w->streams);
	mt_reasm_free(&w->reasm);
	mt_flow_table_free(&w->flows);
	w->streams = NULL;
}

/* Everything after decoding: flow accounting and, for analysed flows,
 * reassembly. */
static inline void after_decode(struct mt_worker *w, enum mt_decode_result res,
				const struct mt_pkt *pkt,
				const struct mt_flow_lookup *lk)
{
	enum mt_flow_dir dir;
	struct mt_flow *f;

	if (pkt->ts_ns > w->now_ns) {
		w->now_ns = pkt->ts_ns;
		mt_flow_expire(&w->flows, pkt->ts_ns);
	}
	if (res != MT_DECODE_TCP && res != MT_DECODE_UDP) {
		if (res == MT_DECODE_OTHER)
			MT_CTR_INC(&w->ctr, flow_not_tracked);
		return;
	}
	f = mt_flow_packet_lk(&w->flows, pkt, lk, &dir);
	if (res != MT_DECODE_TCP)
		return;
	if (unlikely(f->stream == MT_FLOW_NIL)) {
		if (f->pkts[0] + f->pkts[1] == 1) {
			uint16_t sport = f->client_is_a ? f->key.pb : f->key.pa;

			/* A new flow: analysed when its server port is listed;
			 * otherwise its first payload packets are probed. */
			f->user8 = w->appcfg.port_app[sport];
			if (f->user8 == MT_APP_NONE && w->appcfg.detect_other_ports)
				f->probe = 4;
		}
		if (f->user8 == MT_APP_NONE) {
			if (!f->probe || pkt->payload_len == 0 || pkt->frag ||
			    pkt->truncated)
				return;
			f->probe--;
			f->user8 = mt_app_probe(pkt->payload, pkt->payload_len, dir);
			if (f->user8 == MT_APP_NONE)
				return;
			f->probe = 0;
			/* A greeting that does not name its protocol is counted
			 * when the client confirms it (app.c); until then this
			 * segment, the greeting, is what the session holds. */
			if (!(f->user8 & MT_APP_TENTATIVE))
				MT_CTR_INC(&w->ctr, app_detected_other_port);
		}
		f->stream = mt_flow_index(&w->flows, f);
		mt_stream_init(&w->streams[f->stream]);
	} else if (unlikely(f->user8 == MT_APP_FAILED)) {
		/* A candidate greeting the client did not confirm (app.c):
		 * nothing will be analysed, so nothing more is reassembled. */
		return;
	}
	mt_stream_segment(&w->reasm, &w->streams[f->stream], f, dir, pkt);
}

void mt_worker_packet(struct mt_worker *w, enum mt_link link,
		      const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
		      uint64_t ts_ns)
{
	struct mt_frame fr = { frame, caplen, wirelen, ts_ns };

	mt_worker_burst(w, link, &fr, 1);
}

void mt_worker_burst(struct mt_worker *w, enum mt_link link,
		     const struct mt_frame *fr, unsigned n)
{
	struct mt_pkt pkt[MT_WORKER_BURST_MAX];
	struct mt_flow_lookup lk[MT_WORKER_BURST_MAX];
	uint8_t res[MT_WORKER_BURST_MAX];

	if (n > MT_WORKER_BURST_MAX)
		abort(); /* caller's contract */
	for (unsigned i = 0; i < n; i++) {
		MT_CTR_INC(&w->ctr, capture_pkts);
		MT_CTR_ADD(&w->ctr, capture_bytes,
			   fr[i].wirelen > fr[i].caplen ? fr[i].wirelen : fr[i].caplen);
		res[i] = (uint8_t)mt_decode(link, fr[i].data, fr[i].caplen,
					    fr[i].wirelen, fr[i].ts_ns, &pkt[i],
					    &w->ctr);
		if (res[i] == MT_DECODE_TCP || res[i] == MT_DECODE_UDP)
			mt_flow_lookup_prepare(&w->flows, &pkt[i], &lk[i]);
	}
	if (n > 1)
		for (unsigned i = 0; i < n; i++)
			if (res[i] == MT_DECODE_TCP || res[i] == MT_DECODE_UDP)
				mt_flow_lookup_prefetch(&w->flows, &lk[i]);
	for (unsigned i = 0; i < n; i++)
		after_decode(w, (enum mt_decode_result)res[i], &pkt[i], &lk[i]);
}

void mt_worker_tick(struct mt_worker *w, uint64_t now_ns)
{
	if (now_ns > w->now_ns) {
		w->now_ns = now_ns;
		mt_flow_expire(&w->flows, now_ns);
	}
}

void mt_worker_flush(struct mt_worker *w)
{
	mt_flow_flush(&w->flows);
}

void mt_worker_stats_record(struct mt_rec *r, const struct mt_counters *sum,
			    uint64_t ts_ns, uint64_t uptime_s)
{
	struct mt_body_stats *b = &r->b.stats;

	mt_rec_init(r, MT_REC_stats);
	b->timestamp = ts_ns;
	b->uptime = uptime_s;
	mt_rec_set_str(r, &b->version, MT_VERSION, sizeof(MT_VERSION) - 1);
#define MT_STATS_SET(id, g, n, h) b->g##_##n = sum->v[MT_CTR_##g##_##n];
	MT_COUNTERS(MT_STATS_SET)
#undef MT_STATS_SET
}
