/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The collector's counters, their Prometheus text exposition (format
 * 0.0.4) and the tiny HTTP/1.0 server that serves /metrics from the event
 * loop: one request per connection, request size and time capped, the
 * response written as the socket accepts it. Counters are touched by the
 * event loop thread only (the writer reports through the batches it
 * returns and a few atomics).
 */
#ifndef MT_METRICS_H
#define MT_METRICS_H

#include "buf.h"
#include "record.h"

/* Why a connection was refused or cut: X(name, help). */
#define MT_REFUSALS(X)                                                                         \
	X(tls_handshake, "TLS handshake failed (not TLS, no common cipher, bad record, ...)")  \
	X(tls_version, "client offered only TLS versions below 1.2")                           \
	X(cert_verify, "client certificate not verified by the CA (unknown CA, expired, ...)") \
	X(no_cert, "client sent no certificate")                                               \
	X(not_allowed, "certificate common name not on the allow-list")                        \
	X(domain_not_bound, "message for an observation domain not bound to the appliance")    \
	X(bad_ipfix, "malformed IPFIX message after the handshake")                            \
	X(handshake_timeout, "TLS handshake not finished in time")                             \
	X(too_many_connections, "connection limit reached")

enum mt_refusal {
#define MT_RF_ENUM(n, h) MT_REFUSAL_##n,
	MT_REFUSALS(MT_RF_ENUM)
#undef MT_RF_ENUM
	MT_REFUSAL__COUNT
};

const char *mt_refusal_name(enum mt_refusal r);

/* Insert batch latency buckets, seconds. */
#define MT_METRICS_LAT_BUCKETS 12

struct mt_metrics {
	uint64_t start_time_s;
	uint64_t connections_accepted;
	uint64_t handshakes;
	uint64_t conn_handshaking;       /* gauges, kept by the server */
	uint64_t conn_established;
	uint64_t refusals[MT_REFUSAL__COUNT];
	uint64_t closed_peer;
	uint64_t closed_idle;
	uint64_t closed_error;
	uint64_t messages;
	uint64_t bytes;                  /* IPFIX bytes after TLS */
	uint64_t records[MT_REC__COUNT]; /* stored (committed) */
	uint64_t duplicates;
	uint64_t gap_records;
	uint64_t gap_events;
	uint64_t acks_sent;
	uint64_t batches;
	uint64_t backpressure;           /* times reading paused for the writer */
	uint64_t lat_buckets[MT_METRICS_LAT_BUCKETS];
	uint64_t lat_count;
	double lat_sum;
	uint64_t write_errors;           /* copied from the writer at render time */
	uint64_t retention_deleted;
	uint64_t db_bytes;               /* database + WAL, at render time */
	uint64_t http_requests;
};

void mt_metrics_observe_batch(struct mt_metrics *m, uint64_t write_ns);

/* The whole exposition except per-appliance lines. */
void mt_metrics_render(struct mt_buf *b, const struct mt_metrics *m);

/* ---- HTTP ---- */

#define MT_HTTP_REQ_MAX 4096
#define MT_HTTP_MAX_CONNS 16
#define MT_HTTP_TIMEOUT_NS (5 * MT_NS_PER_SEC)

struct mt_http {
	int fd;
	size_t len;
	char req[MT_HTTP_REQ_MAX + 1];
	struct mt_buf resp;
	size_t sent;
	bool responding;
	uint64_t deadline_ns;
};

/* Fills `b` with the metrics body. */
typedef void (*mt_http_render_fn)(void *ctx, struct mt_buf *b);

/*
 * Reads what the socket has. Returns 0 (need more), 1 (a response is
 * ready: call mt_http_write when writable) or -1 (close).
 */
int mt_http_read(struct mt_http *h, mt_http_render_fn render, void *ctx);

/* Writes what the socket takes: 0 more to write, 1 done, -1 error. */
int mt_http_write(struct mt_http *h);

#endif
