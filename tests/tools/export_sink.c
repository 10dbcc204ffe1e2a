/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal stand-in collector for the export tests and benchmark: accepts
 * mutual-TLS (or plain TCP) connections one at a time, checks the client
 * certificate's CN, decodes the IPFIX stream with mt_ipfix_decode, writes
 * every record as an EVE JSON line, keeps the next expected sequence
 * number in a state file (so it drops replayed duplicates, as a collector
 * does, even across its own restarts) and acknowledges each message with
 * an MTAK frame (docs/export.md) - optionally late, or never, or dying by
 * SIGKILL after N messages. With --probe it is instead a TLS client whose
 * highest version can be forced down, to show the policy refuses it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

#include "ipfix.h"
#include "json.h"
#include "tlsconf.h"

#define RXBUF (2 * MT_IPFIX_MSG_MAX)

static volatile sig_atomic_t quit;

struct opts {
	const char *listen;
	const char *port_file;
	const char *ca, *cert, *key;
	const char *expect_cn;
	const char *out;
	const char *state;
	const char *probe;
	const char *server_name;
	const char *max_tls;
	bool plain;
	bool no_ack;
	bool discard;     /* decode and acknowledge, write nothing (benchmark) */
	bool quiet;
	long ack_delay_ms;
	long die_after;
	long first_ack;   /* -1: the state file's number (0 without one) */
	uint32_t domain;
};

struct sink {
	struct opts o;
	struct mt_tls_ctx tls;
	FILE *out;
	struct mt_buf jb;
	uint32_t next;         /* next sequence number expected */
	bool have_next;
	long messages;
	unsigned long long records, dups, gaps, conns, refused;
};

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void say(const struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct sink *s, const char *fmt, ...)
{
	va_list ap;

	if (s && s->o.quiet)
		return;
	fputs("export_sink: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: export_sink --listen ADDR:PORT --out FILE [--state FILE] [--port-file F]\n"
		"                   (--plain | --ca CA --cert CRT --key KEY [--expect-cn NAME])\n"
		"                   [--domain N] [--no-ack] [--ack-delay-ms N] [--first-ack N]\n"
		"                   [--die-after MESSAGES] [--discard] [--quiet]\n"
		"       export_sink --probe HOST:PORT --ca CA --cert CRT --key KEY\n"
		"                   [--server-name NAME] [--max-tls 1.1|1.2]\n");
}

static bool split(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	const char *c = strrchr(s, ':');

	if (!c || (size_t)(c - s) >= hl)
		return false;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	snprintf(port, pl, "%s", c + 1);
	return true;
}

static void load_state(struct sink *s)
{
	FILE *f;
	unsigned v;

	if (!s->o.state || !(f = fopen(s->o.state, "r")))
		return;
	if (fscanf(f, "%u", &v) == 1) {
		s->next = v;
		s->have_next = true;
	}
	fclose(f);
}

/* Records and then the number are on disk before the acknowledgement
 * leaves: a crash in between replays the message (at worst a duplicate
 * line), never loses one. */
static void save_state(struct sink *s)
{
	char tmp[1024];
	FILE *f;

	if (!s->o.state)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->o.state);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%u\n", s->next);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
	rename(tmp, s->o.state);
}

static int on_record(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct sink *s = ctx;

	(void)info;
	mt_buf_reset(&s->jb);
	mt_json_record(&s->jb, r);
	fwrite(s->jb.p, 1, s->jb.len, s->out);
	return 0;
}

/* Blocking I/O on one connection, TLS or not. */
struct io {
	struct sink *s;
	mbedtls_ssl_context *ssl;
	int fd;
};

static int io_write(struct io *io, const uint8_t *p, size_t n)
{
	while (n) {
		int w;

		if (io->ssl) {
			w = mbedtls_ssl_write(io->ssl, p, n);
			if (w == MBEDTLS_ERR_SSL_WANT_WRITE || w == MBEDTLS_ERR_SSL_WANT_READ)
				continue;
		} else {
			w = (int)send(io->fd, p, n, MSG_NOSIGNAL);
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* >0 bytes, 0 closed, -1 error, -2 timeout (check quit). */
static int io_read(struct io *io, uint8_t *p, size_t n)
{
	int r;

	if (io->ssl) {
		r = mbedtls_ssl_read(io->ssl, p, n);
		if (r == MBEDTLS_ERR_SSL_TIMEOUT)
			return -2;
		if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return 0;
		return r < 0 ? -1 : r;
	}
	{
		struct pollfd pfd = { io->fd, POLLIN, 0 };

		if (poll(&pfd, 1, 200) == 0)
			return -2;
	}
	r = (int)recv(io->fd, p, n, 0);
	return r < 0 ? -1 : r;
}

static int send_ack(struct io *io, uint32_t next)
{
	uint8_t f[16] = { 'M', 'T', 'A', 'K', 1, 1, 0, 0 };

	mt_store_be32(f + 8, io->s->o.domain);
	mt_store_be32(f + 12, next);
	return io_write(io, f, sizeof(f));
}

/* One message off the wire. */
static int handle_msg(struct io *io, struct mt_ipfix_dec *dec, const uint8_t *m, size_t len)
{
	struct sink *s = io->s;
	struct mt_ipfix_msg_info info;
	char why[200];
	uint32_t seq = mt_load_be32(m + 8);
	bool dup;

	/* Decode into a scratch pass first: templates must be learnt even
	 * from a duplicate, and a bad message must not half-write. */
	if (mt_ipfix_decode(dec, m, len, NULL, NULL, &info, why, sizeof(why)) != 0) {
		say(s, "undecodable message (seq %u): %s", seq, why);
		return -1;
	}
	if (s->o.discard && info.records) {
		s->records += info.records;
		s->messages++;
		s->next = seq + info.records;
		s->have_next = true;
		return s->o.no_ack ? 0 : send_ack(io, s->next);
	}
	if (info.records == 0)
		return 0; /* templates */
	if (info.domain != s->o.domain) {
		say(s, "message of domain %u, expected %u", info.domain, s->o.domain);
		return -1;
	}
	dup = s->have_next && mt_seq_lt(seq, s->next);
	if (dup) {
		s->dups += info.records;
	} else {
		if (s->have_next && seq != s->next) {
			s->gaps += seq - s->next;
			say(s, "sequence gap: expected %u, got %u", s->next, seq);
		}
		/* Decoded again, now to the file: the decoder's templates are
		 * those of this session, so it gives the same records. */
		if (mt_ipfix_decode(dec, m, len, on_record, s, &info, why, sizeof(why)) != 0)
			return -1;
		fflush(s->out);
		fsync(fileno(s->out));
		s->records += info.records;
		s->next = seq + info.records;
		s->have_next = true;
		save_state(s);
	}
	s->messages++;
	if (s->o.die_after > 0 && s->messages >= s->o.die_after) {
		say(s, "dying after %ld messages, unacknowledged, as told", s->messages);
		fflush(stderr);
		raise(SIGKILL);
	}
	if (s->o.no_ack)
		return 0;
	if (s->o.ack_delay_ms > 0) {
		struct timespec ts = { s->o.ack_delay_ms / 1000,
				       (s->o.ack_delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return send_ack(io, s->next);
}

static void serve(struct sink *s, int fd, const char *peer)
{
	static uint8_t buf[RXBUF];
	mbedtls_ssl_context ssl;
	struct mt_ipfix_dec dec;
	struct io io = { s, NULL, fd };
	size_t have = 0;
	int rc;

	mt_ipfix_dec_init(&dec, MT_IPFIX_PEN_DEFAULT);
	if (!s->o.plain) {
		char m[200], cn[256];

		mbedtls_ssl_init(&ssl);
		mbedtls_ssl_setup(&ssl, &s->tls.conf);
		mbedtls_ssl_set_bio(&ssl, &io.fd, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
		while ((rc = mbedtls_ssl_handshake(&ssl)) != 0) {
			if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
				continue;
			if (rc == MBEDTLS_ERR_SSL_TIMEOUT && !quit)
				continue;
			mt_tls_strerror(rc, m, sizeof(m));
			s->refused++;
			say(s, "handshake with %s failed: %s (-0x%04x)", peer, m, (unsigned)-rc);
			goto out;
		}
		if (!mt_tls_peer_cn(mbedtls_ssl_get_peer_cert(&ssl), cn, sizeof(cn)))
			cn[0] = '\0';
		if (s->o.expect_cn && strcmp(cn, s->o.expect_cn) != 0) {
			s->refused++;
			say(s, "refused %s: client CN `%s', expected `%s'", peer, cn, s->o.expect_cn);
			mbedtls_ssl_close_notify(&ssl);
			goto out;
		}
		say(s, "connection from %s: %s, %s, client CN `%s'", peer,
		      mbedtls_ssl_get_version(&ssl), mbedtls_ssl_get_ciphersuite(&ssl), cn);
		io.ssl = &ssl;
	} else {
		say(s, "connection from %s (plain TCP)", peer);
	}
	s->conns++;
	/* What this collector expects next, right after the handshake. */
	if (!s->o.no_ack &&
	    send_ack(&io, s->o.first_ack >= 0 ? (uint32_t)s->o.first_ack : s->next) != 0)
		goto out;
	while (!quit) {
		long mlen;
		int n = io_read(&io, buf + have, sizeof(buf) - have);

		if (n == -2)
			continue;
		if (n <= 0) {
			say(s, "%s: %s", peer, n == 0 ? "closed" : "read error");
			break;
		}
		have += (size_t)n;
		while ((mlen = mt_ipfix_msg_len(buf, have)) > 0 && (size_t)mlen <= have) {
			if (handle_msg(&io, &dec, buf, (size_t)mlen) != 0)
				goto out;
			memmove(buf, buf + mlen, have - (size_t)mlen);
			have -= (size_t)mlen;
		}
		if (mlen < 0) {
			say(s, "%s: not an IPFIX stream", peer);
			break;
		}
	}
out:
	if (!s->o.plain)
		mbedtls_ssl_free(&ssl);
	mt_ipfix_dec_free(&dec);
	close(fd);
}

static int run_sink(struct sink *s)
{
	char host[256], port[16], err[300];
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int lfd, one = 1;

	if (!s->o.out || !split(s->o.listen, host, sizeof(host), port, sizeof(port))) {
		usage();
		return 2;
	}
	if (!s->o.plain) {
		if (!s->o.ca || !s->o.cert || !s->o.key) {
			usage();
			return 2;
		}
		if (mt_tls_ctx_init(&s->tls, true, s->o.ca, s->o.cert, s->o.key, err,
				    sizeof(err)) != 0) {
			say(NULL, "%s", err);
			return 1;
		}
		/* Lets the loop look at the quit flag now and then. */
		mbedtls_ssl_conf_read_timeout(&s->tls.conf, 200);
	}
	s->out = fopen(s->o.out, "a");
	if (!s->out) {
		say(NULL, "%s: %s", s->o.out, strerror(errno));
		return 1;
	}
	load_state(s);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		say(NULL, "%s: not an IPv4 address", host);
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(port));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 8) != 0) {
		say(NULL, "%s: %s", s->o.listen, strerror(errno));
		return 1;
	}
	getsockname(lfd, (struct sockaddr *)&a, &alen);
	if (s->o.port_file) {
		char tmp[1024];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", s->o.port_file);
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%u\n", ntohs(a.sin_port));
			fclose(f);
			rename(tmp, s->o.port_file);
		}
	}
	say(s, "listening on %s:%u (%s)", host, ntohs(a.sin_port), s->o.plain ? "plain TCP" : "TLS");
	while (!quit) {
		struct pollfd pfd = { lfd, POLLIN, 0 };
		struct sockaddr_in pa;
		socklen_t pl = sizeof(pa);
		char peer[64], ip[32];
		int fd;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept(lfd, (struct sockaddr *)&pa, &pl);
		if (fd < 0)
			continue;
		inet_ntop(AF_INET, &pa.sin_addr, ip, sizeof(ip));
		snprintf(peer, sizeof(peer), "%s:%u", ip, ntohs(pa.sin_port));
		serve(s, fd, peer);
	}
	close(lfd);
	fclose(s->out);
	mt_buf_free(&s->jb);
	if (!s->o.plain)
		mt_tls_ctx_free(&s->tls);
	say(s, "%llu connections, %llu refused, %ld messages, %llu records, %llu duplicates "
	      "dropped, %llu records missing (gaps)", s->conns, s->refused, s->messages,
	      s->records, s->dups, s->gaps);
	return 0;
}

/* TLS client with a chosen highest version: 0 when the handshake worked. */
static int run_probe(const struct opts *o)
{
	char host[256], port[16], m[200];
	mbedtls_net_context net;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt ca, cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	int rc;

	if (!split(o->probe, host, sizeof(host), port, sizeof(port)) || !o->ca || !o->cert ||
	    !o->key) {
		usage();
		return 2;
	}
	mbedtls_net_init(&net);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&cert);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0);
	if (!rc)
		rc = mbedtls_x509_crt_parse_file(&ca, o->ca);
	if (!rc)
		rc = mbedtls_x509_crt_parse_file(&cert, o->cert);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (!rc)
		rc = mbedtls_pk_parse_keyfile(&key, o->key, NULL, mbedtls_ctr_drbg_random, &drbg);
#else
	if (!rc)
		rc = mbedtls_pk_parse_keyfile(&key, o->key, NULL);
#endif
	if (!rc)
		rc = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
						 MBEDTLS_SSL_TRANSPORT_STREAM,
						 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		mt_tls_strerror(rc, m, sizeof(m));
		fprintf(stderr, "export_sink: probe set-up: %s\n", m);
		return 2;
	}
	/* The library's whole default suite list (CBC included), so that only
	 * the version can be what the server refuses. */
	if (o->max_tls && strcmp(o->max_tls, "1.1") == 0) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
		fprintf(stderr, "export_sink: this mbedTLS has no TLS 1.1\n");
		return 2;
#else
		mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
					     MBEDTLS_SSL_MINOR_VERSION_1);
		mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
					     MBEDTLS_SSL_MINOR_VERSION_2);
#endif
	}
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_own_cert(&conf, &cert, &key);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_setup(&ssl, &conf);
	mbedtls_ssl_set_hostname(&ssl, o->server_name ? o->server_name : host);
	rc = mbedtls_net_connect(&net, host, port, MBEDTLS_NET_PROTO_TCP);
	if (rc == 0) {
		mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
		while ((rc = mbedtls_ssl_handshake(&ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
		       rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			;
	}
	if (rc == 0) {
		printf("handshake ok: %s, %s\n", mbedtls_ssl_get_version(&ssl),
		       mbedtls_ssl_get_ciphersuite(&ssl));
		mbedtls_ssl_close_notify(&ssl);
	} else {
		mt_tls_strerror(rc, m, sizeof(m));
		printf("handshake failed: %s (-0x%04x)\n", m, (unsigned)-rc);
	}
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&cert);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "expect-cn", required_argument, NULL, 'N' },
		{ "out", required_argument, NULL, 'o' },
		{ "state", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "plain", no_argument, NULL, 'p' },
		{ "no-ack", no_argument, NULL, 'n' },
		{ "ack-delay-ms", required_argument, NULL, 'D' },
		{ "first-ack", required_argument, NULL, 'F' },
		{ "die-after", required_argument, NULL, 'k' },
		{ "probe", required_argument, NULL, 'r' },
		{ "server-name", required_argument, NULL, 'S' },
		{ "max-tls", required_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "discard", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sink s;
	int c;

	s.o.domain = 1;
	s.o.first_ack = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l': s.o.listen = optarg; break;
		case 'P': s.o.port_file = optarg; break;
		case 'A': s.o.ca = optarg; break;
		case 'C': s.o.cert = optarg; break;
		case 'K': s.o.key = optarg; break;
		case 'N': s.o.expect_cn = optarg; break;
		case 'o': s.o.out = optarg; break;
		case 's': s.o.state = optarg; break;
		case 'd': s.o.domain = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': s.o.plain = true; break;
		case 'n': s.o.no_ack = true; break;
		case 'D': s.o.ack_delay_ms = strtol(optarg, NULL, 10); break;
		case 'F': s.o.first_ack = strtol(optarg, NULL, 10); break;
		case 'k': s.o.die_after = strtol(optarg, NULL, 10); break;
		case 'r': s.o.probe = optarg; break;
		case 'S': s.o.server_name = optarg; break;
		case 'V': s.o.max_tls = optarg; break;
		case 'q': s.o.quiet = true; break;
		case 'x': s.o.discard = true; break;
		default:
			usage();
			return 2;
		}
	}
	if (s.o.probe)
		return run_probe(&s.o);
	if (!s.o.listen) {
		usage();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return run_sink(&s);
}
