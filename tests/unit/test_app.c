/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Protocol recognition tests (app.c, and the worker's probe of unlisted
 * ports): what mt_app_probe() makes of first payloads, content deciding
 * over the port hint, mail servers on unusual ports whose greeting does not
 * name the protocol (held until the client's first command confirms it,
 * then replayed: no "command before greeting", the login recorded), what
 * is not mail going quietly, and a mail port speaking something else.
 */
#include "apptest.h"

#include "worker.h"

/* ---- the probe ---- */

static void test_probe_server_greetings(void **state)
{
	static const struct {
		const char *greeting;
		uint8_t want;
	} cases[] = {
		/* Greetings that name their protocol are enough alone. */
		{ "220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n", MT_APP_SMTP },
		{ "220-mx.example.org ESMTP\r\n", MT_APP_SMTP },
		{ "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n", MT_APP_IMAP },
		{ "+OK POP3 server ready\r\n", MT_APP_POP3 },
		/* The right shape without the name: a candidate. */
		{ "220 mail.example.com ready\r\n", MT_APP_SMTP | MT_APP_TENTATIVE },
		{ "220-mail.example.com\r\n", MT_APP_SMTP | MT_APP_TENTATIVE },
		{ "* OK ready.\r\n", MT_APP_IMAP | MT_APP_TENTATIVE },
		{ "* PREAUTH logged in as bob\r\n", MT_APP_IMAP | MT_APP_TENTATIVE },
		{ "+OK Dovecot (Debian) ready.\r\n", MT_APP_POP3 | MT_APP_TENTATIVE },
		{ "220 ProFTPD Server ready.\r\n", MT_APP_SMTP | MT_APP_TENTATIVE },
		/* Not a mail greeting at all. */
		{ "SSH-2.0-OpenSSH_9.2p1\r\n", MT_APP_NONE },
		{ "HTTP/1.1 200 OK\r\n", MT_APP_NONE },
		{ "421 busy\r\n", MT_APP_NONE },
		{ "* BYE\r\n", MT_APP_NONE },
		{ "+O", MT_APP_NONE },
	};

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(cases); i++) {
		uint8_t got = mt_app_probe((const uint8_t *)cases[i].greeting,
					   strlen(cases[i].greeting), MT_DIR_S2C);

		if (got != cases[i].want)
			fail_msg("probe(\"%s\") = %#x, want %#x", cases[i].greeting,
				 got, cases[i].want);
	}
}

static void test_probe_client_commands(void **state)
{
	static const struct {
		const char *cmd;
		uint8_t want;
	} cases[] = {
		{ "EHLO client.example.org\r\n", MT_APP_SMTP },
		{ "HELO x\r\n", MT_APP_SMTP },
		{ "a1 LOGIN bob secret\r\n", MT_APP_IMAP },
		{ "A001 CAPABILITY\r\n", MT_APP_IMAP },
		{ "USER carol\r\n", MT_APP_POP3 },
		{ "CAPA\r\n", MT_APP_POP3 },
		{ "GET / HTTP/1.1\r\n", MT_APP_NONE },
		{ "SSH-2.0-OpenSSH_9.2p1\r\n", MT_APP_NONE },
	};

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(cases); i++) {
		uint8_t got = mt_app_probe((const uint8_t *)cases[i].cmd,
					   strlen(cases[i].cmd), MT_DIR_C2S);

		if (got != cases[i].want)
			fail_msg("probe(\"%s\") = %#x, want %#x", cases[i].cmd, got,
				 cases[i].want);
	}
}

/* ---- sessions recognised from content ---- */

/* A flow on `port` whose recognition starts from what the worker knows:
 * `user8` is the port's hint or what mt_app_probe() said, as the worker
 * sets it; no analyzer is forced on it. */
static void open_hint(uint16_t port, uint8_t user8)
{
	at_open_cfg(MT_APP_SMTP, port, NULL);
	/* at_open_cfg() forced an analyzer on the flow: end that session
	 * (its slot is reused) and forget what it wrote. */
	mt_app_close(&at.apps, &at.flow, at.now);
	mt_buf_reset(&at.out);
	memset(&at.ctr, 0, sizeof(at.ctr));
	at.flow.app_proto = MT_APP_NONE;
	at.flow.user8 = user8;
}

/* As the worker does on a listed port: the port's hint. */
static void open_port(uint16_t port)
{
	open_hint(port, MT_APP_NONE);
	at.flow.user8 = at.cfg.port_app[port];
}

/* As the worker does on an unlisted port: the probe sees the greeting. */
static void open_probed(uint16_t port, const char *greeting)
{
	open_hint(port, MT_APP_NONE);
	at.flow.user8 = mt_app_probe((const uint8_t *)greeting, strlen(greeting),
				     MT_DIR_S2C);
}

static uint64_t anomalies(void)
{
	uint64_t n = 0;

	for (unsigned i = MT_ANOMALY_FIRST; i < MT_CTR__COUNT; i++)
		n += at.ctr.v[i];
	return n;
}

static void test_content_overrides_port(void **state)
{
	const char *out;

	(void)state;
	/* IMAP answering on the SMTP port. */
	open_port(25);
	assert_int_equal(at.flow.user8, MT_APP_SMTP);
	at_s2c("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n");
	at_c2s("a1 LOGIN bob secret\r\n");
	at_s2c("a1 OK Logged in\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"dest_port\":25,\"proto\":\"TCP\",\"app_proto\":\"imap\","
				    "\"auth\":{\"mechanism\":\"LOGIN\",\"user\":\"bob\","
				    "\"result\":\"success\""));
	assert_int_equal(at.ctr.v[MT_CTR_app_detected_imap], 1);
	assert_int_equal(anomalies(), 0);
	at_free();

	/* SMTP answering on the IMAP port, greeting naming nothing. */
	open_port(143);
	assert_int_equal(at.flow.user8, MT_APP_IMAP);
	at_s2c("220 mail.example.com ready\r\n");
	at_c2s("EHLO c\r\n");
	at_s2c("250-mail\r\n250 AUTH PLAIN\r\n");
	at_c2s("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n");
	at_s2c("535 5.7.8 no\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"dest_port\":143,\"proto\":\"TCP\",\"app_proto\":\"smtp\","
				    "\"auth\":{\"mechanism\":\"PLAIN\",\"user\":\"bob\","
				    "\"result\":\"failure\""));
	assert_int_equal(at.ctr.v[MT_CTR_app_detected_smtp], 1);
	assert_int_equal(anomalies(), 0);
	at_free();

	/* POP3 on the SMTP port; the client speaks first after a greeting
	 * split in two segments. */
	open_port(25);
	at_s2c("+OK Dov");
	at_s2c("ecot ready.\r\n");
	at_c2s("USER carol\r\n");
	at_s2c("+OK\r\n");
	at_c2s("PASS x\r\n");
	at_s2c("+OK Logged in.\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"app_proto\":\"pop3\",\"auth\":{\"mechanism\":\"USER\","
				    "\"user\":\"carol\",\"result\":\"success\""));
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* The whole POP3 session on port 1110, as JSON: the session record starts
 * at the greeting, as on port 110. */
static const char *expect_pop3_1110 =
	"{\"timestamp\":\"2024-05-01T10:00:00.000007+0000\",\"flow_id\":4242,\"event_type\":\"auth\","
	"\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"192.0.2.25\",\"dest_port\":1110,"
	"\"proto\":\"TCP\",\"app_proto\":\"pop3\",\"auth\":{\"mechanism\":\"USER\",\"user\":\"carol\","
	"\"result\":\"success\",\"cleartext\":true,\"reply\":\"+OK Logged in.\",\"attempt\":1}}\n"
	"{\"timestamp\":\"2024-05-01T10:00:00.000001+0000\",\"flow_id\":4242,\"event_type\":\"pop3\","
	"\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"192.0.2.25\",\"dest_port\":1110,"
	"\"proto\":\"TCP\",\"app_proto\":\"pop3\",\"pop3\":{\"capabilities\":[\"TOP\",\"UIDL\","
	"\"USER\"],\"auth_mech\":\"USER\",\"auth_user\":\"carol\",\"auth_result\":\"success\","
	"\"auth_attempts\":1,\"commands\":4,\"quit\":true}}\n";

static void test_unusual_port_pop3(void **state)
{
	(void)state;
	open_probed(1110, "+OK Dovecot (Debian) ready.\r\n");
	assert_int_equal(at.flow.user8, MT_APP_POP3 | MT_APP_TENTATIVE);
	at_s2c("+OK Dovecot (Debian) ready.\r\n");
	/* Nothing is claimed before the client speaks. */
	assert_int_equal(at.flow.app_proto, MT_APP_NONE);
	assert_int_equal(at.ctr.v[MT_CTR_app_sessions], 0);
	at_c2s("CAPA\r\n");
	assert_int_equal(at.flow.app_proto, MT_APP_POP3);
	at_s2c("+OK\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n");
	at_c2s("USER carol\r\n");
	at_s2c("+OK\r\n");
	at_c2s("PASS Carol.Singer42\r\n");
	at_s2c("+OK Logged in.\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("+OK Logging out.\r\n");
	assert_string_equal(at_close(), expect_pop3_1110);
	assert_int_equal(anomalies(), 0);
	assert_int_equal(at.ctr.v[MT_CTR_app_sessions], 1);
	assert_int_equal(at.ctr.v[MT_CTR_app_detected_pop3], 1);
	assert_int_equal(at.ctr.v[MT_CTR_app_detected_other_port], 1);
	at_free();

	/* A POP3 client may log in with AUTH at once. */
	open_probed(2110, "+OK ready\r\n");
	at_s2c("+OK ready\r\n");
	at_c2s("AUTH PLAIN AGNhcm9sAHg=\r\n");
	at_s2c("-ERR [AUTH] Authentication failed.\r\n");
	assert_non_null(strstr(at_close(), "\"auth\":{\"mechanism\":\"PLAIN\",\"user\":\"carol\","
					   "\"result\":\"failure\""));
	assert_int_equal(anomalies(), 0);
	at_free();
}

static void test_unusual_port_imap(void **state)
{
	const char *out;

	(void)state;
	open_probed(1143, "* OK ready.\r\n");
	assert_int_equal(at.flow.user8, MT_APP_IMAP | MT_APP_TENTATIVE);
	at_s2c("* OK ready.\r\n");
	/* The command arrives a byte at a time. */
	at_feed(MT_DIR_C2S, "a1 LOGIN bob secret\r\n", 21, 1);
	at_s2c("a1 OK Logged in\r\n");
	at_c2s("a2 LOGOUT\r\n");
	at_s2c("* BYE\r\na2 OK bye\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"dest_port\":1143,\"proto\":\"TCP\",\"app_proto\":\"imap\","
				    "\"auth\":{\"mechanism\":\"LOGIN\",\"user\":\"bob\","
				    "\"result\":\"success\",\"cleartext\":true,"
				    "\"reply\":\"OK Logged in\",\"attempt\":1}}\n"));
	assert_non_null(strstr(out, "\"imap\":{\"auth_mech\":\"LOGIN\",\"auth_user\":\"bob\","
				    "\"auth_result\":\"success\",\"auth_attempts\":1,"
				    "\"commands\":2,\"logout\":true}}\n"));
	assert_int_equal(anomalies(), 0);
	assert_int_equal(at.ctr.v[MT_CTR_app_detected_other_port], 1);
	at_free();
}

static void test_unusual_port_smtp(void **state)
{
	const char *out;

	(void)state;
	open_probed(2526, "220 mail.example.com ready\r\n");
	assert_int_equal(at.flow.user8, MT_APP_SMTP | MT_APP_TENTATIVE);
	at_s2c("220 mail.example.com ready\r\n");
	at_c2s("EHLO c\r\n");
	at_s2c("250-mail\r\n250 AUTH PLAIN\r\n");
	at_c2s("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n");
	at_s2c("235 ok\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"auth\":{\"mechanism\":\"PLAIN\",\"user\":\"bob\","
				    "\"result\":\"success\",\"cleartext\":true,"
				    "\"reply\":\"235 ok\",\"attempt\":1}}\n"));
	assert_non_null(strstr(out, "\"smtp\":{\"helo\":\"c\",\"status\":\"no_transaction\","
				    "\"capabilities\":[\"AUTH PLAIN\"],\"auth_mech\":\"PLAIN\","));
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* A greeting longer than recognition's own buffer, in several segments,
 * and a client command in the same segment as the next one. */
static void test_unusual_port_long_greeting(void **state)
{
	static const char banner[] =
		"220-mail.example.com Welcome. Unauthorised use of this system is\r\n"
		"220-prohibited and may be prosecuted. All sessions are logged and\r\n"
		"220-monitored; by continuing you consent to that monitoring.\r\n"
		"220 mail.example.com ready\r\n";
	const char *out;

	(void)state;
	open_probed(2526, banner);
	assert_int_equal(at.flow.user8, MT_APP_SMTP | MT_APP_TENTATIVE);
	at_feed(MT_DIR_S2C, banner, strlen(banner), 50);
	at_c2s("EHLO client.example.org\r\nQUIT\r\n");
	at_s2c("250-mail.example.com\r\n250 PIPELINING\r\n221 bye\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"smtp\":{\"helo\":\"client.example.org\","
				    "\"status\":\"no_transaction\",\"capabilities\":[\"PIPELINING\"]"));
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* FTP greets like SMTP; its client answers with USER or AUTH TLS, never
 * EHLO: the flow is let go without a record, an anomaly or an app_proto,
 * and its session slot is free at once. */
static void test_unusual_port_not_mail(void **state)
{
	static const char *const ftp_first[] = { "USER anonymous\r\n", "AUTH TLS\r\n",
						 "FEAT\r\n" };

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(ftp_first); i++) {
		open_probed(2121, "220 ProFTPD Server ready.\r\n");
		at_s2c("220 ProFTPD Server ready.\r\n");
		at_c2s(ftp_first[i]);
		assert_null(at.flow.app);
		at_s2c("331 Anonymous login ok\r\n");
		at_c2s("PASS x\r\n");
		assert_null(at.flow.app);
		assert_string_equal(at_close(), "");
		assert_int_equal(at.flow.app_proto, MT_APP_NONE);
		assert_int_equal(anomalies(), 0);
		assert_int_equal(at.ctr.v[MT_CTR_app_sessions], 0);
		assert_int_equal(at.ctr.v[MT_CTR_app_detection_failed], 0);
		assert_int_equal(at.ctr.v[MT_CTR_app_detected_other_port], 0);
		at_free();
	}

	/* A "+OK" banner answered by HTTP. */
	open_probed(8080, "+OK hello\r\n");
	at_s2c("+OK hello\r\n");
	at_c2s("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_string_equal(at_close(), "");
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* More than MT_APP_HOLD_BYTES before the client speaks is not a greeting;
 * a hole before the client's confirmation is not guessed across. */
static void test_unusual_port_held_limits(void **state)
{
	char big[MT_APP_HOLD_BYTES + 64];

	(void)state;
	memset(big, 'x', sizeof(big));
	memcpy(big, "220-", 4);
	for (size_t i = 60; i < sizeof(big); i += 60)
		memcpy(big + i - 2, "\r\n", 2);
	open_probed(2526, "220-banner\r\n");
	at_feed(MT_DIR_S2C, big, sizeof(big), 100);
	assert_null(at.flow.app);
	at_c2s("EHLO c\r\n");
	at_s2c("250 ok\r\n");
	assert_string_equal(at_close(), "");
	assert_int_equal(at.flow.app_proto, MT_APP_NONE);
	assert_int_equal(anomalies(), 0);
	at_free();

	open_probed(1110, "+OK ready\r\n");
	at_s2c("+OK ready\r\n");
	mt_app_gap(&at.apps, &at.flow, MT_DIR_S2C, 100, at.now);
	assert_null(at.flow.app);
	at_c2s("USER carol\r\n");
	assert_string_equal(at_close(), "");
	assert_int_equal(at.flow.app_proto, MT_APP_NONE);
	assert_int_equal(at.ctr.v[MT_CTR_app_detection_failed], 0);
	at_free();
}

/* On a mail port, something that is no mail protocol: one anomaly with
 * what was seen, and the flow's app_proto is "failed". */
static void test_unknown_protocol_on_mail_port(void **state)
{
	(void)state;
	open_port(25);
	at_c2s("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	at_s2c("HTTP/1.1 200 OK\r\n\r\n");
	assert_string_equal(
		at_close(),
		"{\"timestamp\":\"2024-05-01T10:00:00.000001+0000\",\"flow_id\":4242,"
		"\"event_type\":\"anomaly\",\"src_ip\":\"192.0.2.1\",\"src_port\":40000,"
		"\"dest_ip\":\"192.0.2.25\",\"dest_port\":25,\"proto\":\"TCP\","
		"\"app_proto\":\"failed\",\"anomaly\":{\"type\":\"applayer\","
		"\"event\":\"app_unknown_protocol\",\"direction\":\"toserver\","
		"\"evidence\":\"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"}}\n");
	assert_int_equal(at.flow.app_proto, MT_APP_FAILED);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_app_unknown_protocol], 1);
	assert_int_equal(at.ctr.v[MT_CTR_app_detection_failed], 1);
	at_free();

	/* A server banner that is no mail greeting on the POP3 port. */
	open_port(110);
	at_s2c("SSH-2.0-OpenSSH_9.2p1\r\n");
	assert_non_null(strstr(at_close(), "\"app_proto\":\"failed\",\"anomaly\":{\"type\":\"applayer\","
					   "\"event\":\"app_unknown_protocol\",\"direction\":\"toclient\","
					   "\"evidence\":\"SSH-2.0-OpenSSH_9.2p1\\r\\n\"}}\n"));
	at_free();
}

/* ---- through the worker: probe, reassembly, hand-over ---- */

static struct mt_buf wout;

static void wcollect(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	mt_json_record(&wout, r);
}

struct conn {
	struct mt_worker *w;
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	uint64_t t;
};

static void conn_pkt(struct conn *c, int from_client, uint8_t flags, const void *p, size_t n)
{
	struct fb f;

	if (from_client)
		fb_tcp4(&f, c->cli, c->cport, c->srv, c->sport, c->cseq, c->sseq, flags, p, n);
	else
		fb_tcp4(&f, c->srv, c->sport, c->cli, c->cport, c->sseq, c->cseq, flags, p, n);
	c->t += 1000000;
	mt_worker_packet(c->w, MT_LINK_ETHERNET, f.d, (uint32_t)f.n, (uint32_t)f.n, c->t);
	if (from_client)
		c->cseq += (uint32_t)n + ((flags & (MT_TCP_SYN | MT_TCP_FIN)) ? 1 : 0);
	else
		c->sseq += (uint32_t)n + ((flags & (MT_TCP_SYN | MT_TCP_FIN)) ? 1 : 0);
}

/* A whole connection: handshake, each step ("C..." from the client, "S..."
 * from the server, the first character dropped), close. */
static void conn_run(struct mt_worker *w, uint16_t cport, uint16_t sport,
		     const char *const *steps, const uint8_t *hello, size_t hello_len)
{
	struct conn c = { w, "10.0.0.1", "10.0.0.2", cport, sport, 1000, 5000,
			  1714557600000000000ull + (uint64_t)cport * 1000000000ull };

	conn_pkt(&c, 1, MT_TCP_SYN, NULL, 0);
	conn_pkt(&c, 0, MT_TCP_SYN | MT_TCP_ACK, NULL, 0);
	conn_pkt(&c, 1, MT_TCP_ACK, NULL, 0);
	if (hello)
		conn_pkt(&c, 1, MT_TCP_ACK | MT_TCP_PSH, hello, hello_len);
	for (size_t i = 0; steps && steps[i]; i++)
		conn_pkt(&c, steps[i][0] == 'C', MT_TCP_ACK | MT_TCP_PSH, steps[i] + 1,
			 strlen(steps[i] + 1));
	conn_pkt(&c, 1, MT_TCP_ACK | MT_TCP_FIN, NULL, 0);
	conn_pkt(&c, 0, MT_TCP_ACK | MT_TCP_FIN, NULL, 0);
	conn_pkt(&c, 1, MT_TCP_ACK, NULL, 0);
}

/* A ClientHello with SNI: what matters here is only that it is one. */
static size_t client_hello(uint8_t *b, const char *sni)
{
	size_t n = 0, sl = strlen(sni);
	size_t ext = 9 + sl, body = 2 + 32 + 1 + 4 + 2 + 2 + ext;

	b[n++] = 0x16, b[n++] = 0x03, b[n++] = 0x01;
	mt_store_be16(b + n, (uint16_t)(4 + body)), n += 2;
	b[n++] = 0x01, b[n++] = 0, mt_store_be16(b + n, (uint16_t)body), n += 2;
	b[n++] = 0x03, b[n++] = 0x03;
	memset(b + n, 0x5a, 32), n += 32;
	b[n++] = 0;                                        /* session id */
	mt_store_be16(b + n, 2), n += 2;
	mt_store_be16(b + n, 0xc02f), n += 2;              /* one suite */
	b[n++] = 1, b[n++] = 0;                            /* null compression */
	mt_store_be16(b + n, (uint16_t)ext), n += 2;
	mt_store_be16(b + n, 0), n += 2;                   /* server_name */
	mt_store_be16(b + n, (uint16_t)(5 + sl)), n += 2;
	mt_store_be16(b + n, (uint16_t)(3 + sl)), n += 2;
	b[n++] = 0;
	mt_store_be16(b + n, (uint16_t)sl), n += 2;
	memcpy(b + n, sni, sl), n += sl;
	return n;
}

static const char *flow_of(uint16_t cport)
{
	char key[48];
	const char *p = wout.p;

	snprintf(key, sizeof(key), "\"src_port\":%u,", cport);
	while ((p = strstr(p, "\"event_type\":\"flow\"")) != NULL) {
		const char *nl = strchr(p, '\n'), *k = strstr(p, key);

		if (k && k < nl)
			return p;
		p = nl;
	}
	return "";
}

static void test_worker_unusual_ports(void **state)
{
	static const char *const pop3[] = {
		"S+OK Dovecot (Debian) ready.\r\n", "CUSER carol\r\n", "S+OK\r\n",
		"CPASS x\r\n", "S+OK Logged in.\r\n", "CQUIT\r\n", "S+OK bye\r\n", NULL
	};
	static const char *const ftp[] = {
		"S220 ProFTPD Server ready.\r\n", "CUSER anonymous\r\n",
		"S331 Anonymous login ok\r\n", "CPASS x\r\n", "S230 ok\r\n", NULL
	};
	static struct mt_worker w;
	struct mt_config cfg;
	uint8_t hello[128];
	size_t hello_len = client_hello(hello, "mail.example.test");

	(void)state;
	mt_config_defaults(&cfg);
	cfg.flow.capacity = 64;
	cfg.stream.ooo_pool_bytes = 1 << 16;
	cfg.analyzers.max_sessions = 4;
	mt_buf_reset(&wout);
	assert_int_equal(mt_worker_init(&w, &cfg, 0, wcollect, NULL), 0);
	conn_run(&w, 40001, 1110, pop3, NULL, 0);
	conn_run(&w, 40002, 2121, ftp, NULL, 0);
	conn_run(&w, 40003, 8443, NULL, hello, hello_len);
	mt_worker_flush(&w);
	assert_non_null(wout.p);
	/* POP3: the login and its outcome, no anomaly. */
	assert_non_null(strstr(wout.p, "\"dest_port\":1110,\"proto\":\"TCP\",\"app_proto\":\"pop3\","
				       "\"auth\":{\"mechanism\":\"USER\",\"user\":\"carol\","
				       "\"result\":\"success\""));
	assert_non_null(strstr(flow_of(40001), "\"app_proto\":\"pop3\""));
	/* FTP: a flow record without app_proto, nothing else. */
	assert_non_null(strstr(flow_of(40002), "\"dest_port\":2121,\"proto\":\"TCP\",\"flow\":"));
	/* TLS: recognised by its ClientHello. */
	assert_non_null(strstr(wout.p, "\"dest_port\":8443,\"proto\":\"TCP\",\"app_proto\":\"tls\","
				       "\"tls\":{"));
	assert_non_null(strstr(wout.p, "\"sni\":\"mail.example.test\""));
	assert_non_null(strstr(flow_of(40003), "\"app_proto\":\"tls\""));
	assert_null(strstr(wout.p, "\"event_type\":\"anomaly\""));
	assert_int_equal(w.ctr.v[MT_CTR_app_detected_other_port], 2);
	assert_int_equal(w.ctr.v[MT_CTR_app_sessions], 2);
	assert_int_equal(w.ctr.v[MT_CTR_app_detected_pop3], 1);
	assert_int_equal(w.ctr.v[MT_CTR_app_detected_tls], 1);
	mt_worker_fini(&w);
	mt_buf_free(&wout);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_server_greetings),
		cmocka_unit_test(test_probe_client_commands),
		cmocka_unit_test(test_content_overrides_port),
		cmocka_unit_test(test_unusual_port_pop3),
		cmocka_unit_test(test_unusual_port_imap),
		cmocka_unit_test(test_unusual_port_smtp),
		cmocka_unit_test(test_unusual_port_long_greeting),
		cmocka_unit_test(test_unusual_port_not_mail),
		cmocka_unit_test(test_unusual_port_held_limits),
		cmocka_unit_test(test_unknown_protocol_on_mail_port),
		cmocka_unit_test(test_worker_unusual_ports),
	};

	return cmocka_run_group_tests_name("app", tests, NULL, NULL);
}
