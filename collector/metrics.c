/* SPDX-License-Identifier: BSD-3-Clause */
/* Prometheus exposition and the /metrics HTTP handler (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const refusal_names[MT_REFUSAL__COUNT] = {
#define MT_RF_NAME(n, h) [MT_REFUSAL_##n] = #n,
	MT_REFUSALS(MT_RF_NAME)
#undef MT_RF_NAME
};

static const double lat_bounds[MT_METRICS_LAT_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

const char *mt_refusal_name(enum mt_refusal r)
{
	return r < MT_REFUSAL__COUNT ? refusal_names[r] : "unknown";
}

void mt_metrics_observe_batch(struct mt_metrics *m, uint64_t write_ns)
{
	double s = (double)write_ns / 1e9;

	for (unsigned i = 0; i < MT_METRICS_LAT_BUCKETS; i++)
		if (s <= lat_bounds[i])
			m->lat_buckets[i]++;
	m->lat_count++;
	m->lat_sum += s;
	m->batches++;
}

static void head(struct mt_buf *b, const char *name, const char *type, const char *help)
{
	mt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct mt_buf *b, const char *name, const char *type, const char *help,
		uint64_t v)
{
	head(b, name, type, help);
	mt_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void mt_metrics_render(struct mt_buf *b, const struct mt_metrics *m)
{
	one(b, "mailtap_collector_start_time_seconds", "gauge",
	    "Unix time the collector started.", m->start_time_s);
	head(b, "mailtap_collector_connections", "gauge",
	     "Appliance connections open now, by state.");
	mt_buf_printf(b, "mailtap_collector_connections{state=\"handshake\"} %llu\n",
		      (unsigned long long)m->conn_handshaking);
	mt_buf_printf(b, "mailtap_collector_connections{state=\"established\"} %llu\n",
		      (unsigned long long)m->conn_established);
	one(b, "mailtap_collector_connections_total", "counter",
	    "TCP connections accepted on the IPFIX/TLS port.", m->connections_accepted);
	one(b, "mailtap_collector_handshakes_total", "counter",
	    "Connections that completed the TLS handshake and passed the allow-list.",
	    m->handshakes);
	head(b, "mailtap_collector_refusals_total", "counter",
	     "Connections refused or cut, by reason.");
	for (unsigned i = 0; i < MT_REFUSAL__COUNT; i++)
		mt_buf_printf(b, "mailtap_collector_refusals_total{reason=\"%s\"} %llu\n",
			      refusal_names[i], (unsigned long long)m->refusals[i]);
	head(b, "mailtap_collector_closed_total", "counter",
	     "Established connections closed, by reason (refusals not included).");
	mt_buf_printf(b, "mailtap_collector_closed_total{reason=\"peer\"} %llu\n",
		      (unsigned long long)m->closed_peer);
	mt_buf_printf(b, "mailtap_collector_closed_total{reason=\"idle\"} %llu\n",
		      (unsigned long long)m->closed_idle);
	mt_buf_printf(b, "mailtap_collector_closed_total{reason=\"error\"} %llu\n",
		      (unsigned long long)m->closed_error);
	one(b, "mailtap_collector_messages_total", "counter",
	    "IPFIX messages taken in.", m->messages);
	one(b, "mailtap_collector_received_bytes_total", "counter",
	    "IPFIX bytes received (after TLS).", m->bytes);
	head(b, "mailtap_collector_records_total", "counter",
	     "Records stored (committed), by record type.");
	for (unsigned t = 0; t < MT_REC__COUNT; t++)
		mt_buf_printf(b, "mailtap_collector_records_total{type=\"%s\"} %llu\n",
			      mt_rtypes[t].name, (unsigned long long)m->records[t]);
	one(b, "mailtap_collector_duplicates_total", "counter",
	    "Records discarded because their sequence number was stored already (replays).",
	    m->duplicates);
	one(b, "mailtap_collector_gap_records_total", "counter",
	    "Records appliances numbered but never sent (sequence gaps, e.g. spool drops).",
	    m->gap_records);
	one(b, "mailtap_collector_gap_events_total", "counter",
	    "Messages that opened a sequence gap.", m->gap_events);
	one(b, "mailtap_collector_acks_sent_total", "counter",
	    "Acknowledgement frames (MTAK) sent.", m->acks_sent);
	one(b, "mailtap_collector_backpressure_total", "counter",
	    "Times reading stopped because the writer was behind.", m->backpressure);
	head(b, "mailtap_collector_insert_batch_seconds", "histogram",
	     "Time to insert and commit one batch.");
	for (unsigned i = 0; i < MT_METRICS_LAT_BUCKETS; i++)
		mt_buf_printf(b, "mailtap_collector_insert_batch_seconds_bucket{le=\"%g\"} %llu\n",
			      lat_bounds[i], (unsigned long long)m->lat_buckets[i]);
	mt_buf_printf(b, "mailtap_collector_insert_batch_seconds_bucket{le=\"+Inf\"} %llu\n",
		      (unsigned long long)m->lat_count);
	mt_buf_printf(b, "mailtap_collector_insert_batch_seconds_sum %.6f\n", m->lat_sum);
	mt_buf_printf(b, "mailtap_collector_insert_batch_seconds_count %llu\n",
		      (unsigned long long)m->lat_count);
	one(b, "mailtap_collector_write_errors_total", "counter",
	    "Transactions that failed (and were retried).", m->write_errors);
	one(b, "mailtap_collector_retention_deleted_total", "counter",
	    "Records deleted by retention.", m->retention_deleted);
	one(b, "mailtap_collector_database_bytes", "gauge",
	    "Size of the SQLite database file plus its write-ahead log.", m->db_bytes);
	one(b, "mailtap_collector_http_requests_total", "counter",
	    "HTTP requests served on the metrics address.", m->http_requests);
}

/* ---- HTTP/1.0 ---- */

static void respond(struct mt_http *h, const char *status, const char *ctype,
		    const struct mt_buf *body)
{
	mt_buf_reset(&h->resp);
	mt_buf_printf(&h->resp,
		      "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\n\r\n",
		      status, ctype, body ? body->len : 0);
	if (body && body->len)
		mt_buf_put(&h->resp, body->p, body->len);
	h->responding = true;
	h->sent = 0;
}

int mt_http_read(struct mt_http *h, mt_http_render_fn render, void *ctx)
{
	char *eol, method[8], path[64];
	struct mt_buf body = { 0 };

	if (h->responding)
		return 1;
	for (;;) {
		ssize_t n;

		if (h->len >= MT_HTTP_REQ_MAX) {
			mt_buf_puts(&body, "request too large\n");
			respond(h, "431 Request Header Fields Too Large", "text/plain", &body);
			mt_buf_free(&body);
			return 1;
		}
		n = recv(h->fd, h->req + h->len, MT_HTTP_REQ_MAX - h->len, 0);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		h->len += (size_t)n;
	}
	h->req[h->len] = '\0';
	/* HTTP/1.0 clients end the head with an empty line; nothing after it
	 * matters for a GET. */
	if (!strstr(h->req, "\r\n\r\n") && !strstr(h->req, "\n\n"))
		return 0;
	eol = strpbrk(h->req, "\r\n");
	if (eol)
		*eol = '\0';
	if (sscanf(h->req, "%7s %63s", method, path) != 2) {
		mt_buf_puts(&body, "bad request\n");
		respond(h, "400 Bad Request", "text/plain", &body);
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		mt_buf_puts(&body, "only GET\n");
		respond(h, "405 Method Not Allowed", "text/plain", &body);
	} else if (strcmp(path, "/metrics") == 0) {
		render(ctx, &body);
		if (body.failed) {
			mt_buf_reset(&body);
			mt_buf_puts(&body, "metrics too large\n");
			respond(h, "500 Internal Server Error", "text/plain", &body);
		} else {
			respond(h, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
				strcmp(method, "HEAD") == 0 ? NULL : &body);
		}
	} else if (strcmp(path, "/") == 0) {
		mt_buf_puts(&body, "mailtap-collector: metrics at /metrics\n");
		respond(h, "200 OK", "text/plain", &body);
	} else {
		mt_buf_puts(&body, "not found\n");
		respond(h, "404 Not Found", "text/plain", &body);
	}
	mt_buf_free(&body);
	return 1;
}

int mt_http_write(struct mt_http *h)
{
	while (h->sent < h->resp.len) {
		ssize_t n = send(h->fd, h->resp.p + h->sent, h->resp.len - h->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		h->sent += (size_t)n;
	}
	return 1;
}
