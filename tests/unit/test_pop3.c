/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * POP3 analyzer tests: a whole session compared as exact JSON, the same
 * session fed one byte at a time, SASL exchanges, STLS, pipelining, the
 * multi-line terminator split across segments, and each anomaly.
 */
#include "apptest.h"

static const char *session_c =
	"CAPA\r\n"
	"USER alice\r\n"
	"PASS wrong\r\n"
	"USER alice\r\n"
	"PASS right\r\n"
	"STAT\r\n"
	"RETR 1\r\n"
	"DELE 1\r\n"
	"QUIT\r\n";

static const char *session_s =
	"+OK Dovecot ready.\r\n"
	"+OK\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"
	"+OK\r\n"
	"-ERR [AUTH] Authentication failed.\r\n"
	"+OK\r\n"
	"+OK Logged in.\r\n"
	"+OK 2 1500\r\n"
	"+OK 31 octets\r\nSubject: x\r\n\r\n..dot line\r\nbody\r\n.\r\n"
	"+OK Marked to be deleted.\r\n"
	"+OK Logging out.\r\n";

/* Client and server lines interleave as on the wire: one command, its reply. */
static void run_session(size_t chunk)
{
	const char *c = session_c, *s = session_s;
	/* Greeting first. */
	const char *e = strstr(s, "\r\n") + 2;

	at_feed(MT_DIR_S2C, s, (size_t)(e - s), chunk);
	s = e;
	while (*c) {
		const char *ce = strstr(c, "\r\n") + 2;
		const char *se;

		at_feed(MT_DIR_C2S, c, (size_t)(ce - c), chunk);
		/* The reply: one line, or up to the terminator. */
		if (!strncmp(c, "CAPA", 4) || !strncmp(c, "RETR", 4))
			se = strstr(s, "\r\n.\r\n") + 5;
		else
			se = strstr(s, "\r\n") + 2;
		at_feed(MT_DIR_S2C, s, (size_t)(se - s), chunk);
		c = ce;
		s = se;
	}
}

static const char *expect =
	"{\"timestamp\":\"2024-05-01T10:00:00.000007+0000\",\"flow_id\":4242,\"event_type\":\"auth\","
	"\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"192.0.2.25\",\"dest_port\":110,"
	"\"proto\":\"TCP\",\"app_proto\":\"pop3\",\"auth\":{\"mechanism\":\"USER\",\"user\":\"alice\","
	"\"result\":\"failure\",\"cleartext\":true,\"reply\":\"-ERR [AUTH] Authentication failed.\","
	"\"attempt\":1}}\n"
	"{\"timestamp\":\"2024-05-01T10:00:00.000011+0000\",\"flow_id\":4242,\"event_type\":\"auth\","
	"\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"192.0.2.25\",\"dest_port\":110,"
	"\"proto\":\"TCP\",\"app_proto\":\"pop3\",\"auth\":{\"mechanism\":\"USER\",\"user\":\"alice\","
	"\"result\":\"success\",\"cleartext\":true,\"reply\":\"+OK Logged in.\",\"attempt\":2}}\n"
	"{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\",\"flow_id\":4242,\"event_type\":\"pop3\","
	"\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"192.0.2.25\",\"dest_port\":110,"
	"\"proto\":\"TCP\",\"app_proto\":\"pop3\",\"pop3\":{\"capabilities\":[\"TOP\",\"UIDL\","
	"\"RESP-CODES\",\"STLS\",\"USER\",\"SASL PLAIN LOGIN\"],\"stls_offered\":true,"
	"\"auth_mech\":\"USER\",\"auth_user\":\"alice\",\"auth_result\":\"success\","
	"\"auth_attempts\":2,\"commands\":9,\"stat_messages\":2,\"stat_bytes\":1500,"
	"\"retr_messages\":1,\"retr_bytes\":32,\"deleted\":1,\"quit\":true}}\n";

static void test_session_exact(void **state)
{
	(void)state;
	at_open(MT_APP_POP3, 110);
	run_session(0);
	assert_string_equal(at_close(), expect);
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* The same session one byte per segment: only timestamps move. */
static void test_session_bytewise(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_POP3, 110);
	run_session(1);
	out = at_close();
	assert_non_null(strstr(out, "\"retr_messages\":1,\"retr_bytes\":32,\"deleted\":1,\"quit\":true}}\n"));
	assert_non_null(strstr(out, "\"result\":\"failure\""));
	assert_non_null(strstr(out, "\"capabilities\":[\"TOP\",\"UIDL\",\"RESP-CODES\",\"STLS\",\"USER\",\"SASL PLAIN LOGIN\"]"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void test_sasl_plain_login_cram(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK ready\r\n");
	/* PLAIN with an initial response: "\0bob\0secret" */
	at_c2s("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n");
	at_s2c("-ERR [AUTH] Authentication failed.\r\n");
	/* LOGIN: user then password after challenges */
	at_c2s("AUTH LOGIN\r\n");
	at_s2c("+ VXNlcm5hbWU6\r\n");
	at_c2s("Y2Fyb2w=\r\n"); /* carol */
	at_s2c("+ UGFzc3dvcmQ6\r\n");
	at_c2s("cGFzcw==\r\n");
	at_s2c("+OK Logged in.\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"mechanism\":\"PLAIN\",\"user\":\"bob\",\"result\":\"failure\",\"cleartext\":true"));
	assert_non_null(strstr(out, "\"mechanism\":\"LOGIN\",\"user\":\"carol\",\"result\":\"success\",\"cleartext\":true"));
	assert_null(strstr(out, "secret"));
	at_free();

	at_open(MT_APP_POP3, 110);
	at_s2c("+OK ready\r\n");
	at_c2s("AUTH CRAM-MD5\r\n");
	at_s2c("+ PDEyMzQ1QGhvc3Q+\r\n");
	/* "dave 5f4dcc3b5aa765d61d8327deb882cf99" */
	at_c2s("ZGF2ZSA1ZjRkY2MzYjVhYTc2NWQ2MWQ4MzI3ZGViODgyY2Y5OQ==\r\n");
	at_s2c("+OK\r\n");
	at_c2s("APOP erin c4c9334bac560ecc979e58001b3e22fb\r\n");
	at_s2c("-ERR bad\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"mechanism\":\"CRAM-MD5\",\"user\":\"dave\",\"result\":\"success\",\"cleartext\":false"));
	assert_non_null(strstr(out, "\"mechanism\":\"APOP\",\"user\":\"erin\",\"result\":\"failure\",\"cleartext\":false"));
	at_free();
}

static void test_pipelined_and_split_terminator(void **state)
{
	const char *out;
	const char *replies =
		"+OK 2 messages\r\nline\r\n.\r\n"
		"+OK\r\nsecond\r\n.\r\n"
		"+OK top\r\nh: v\r\n.\r\n";

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_c2s("RETR 1\r\nRETR 2\r\nTOP 3 0\r\nLIST 1\r\n");
	/* Split in three places, one inside "\r\n.\r\n". */
	at_feed(MT_DIR_S2C, replies, 20, 0);
	at_feed(MT_DIR_S2C, replies + 20, 3, 0);
	at_feed(MT_DIR_S2C, replies + 23, strlen(replies) - 23, 7);
	at_s2c("+OK 1 120\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"retr_messages\":2,\"retr_bytes\":20,\"top_messages\":1"));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_reply_without_command], 0);
	at_free();
}

static void test_stls_switches_to_tls(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_c2s("STLS\r\n");
	/* The TLS ServerHello may follow in the same segment as the +OK. */
	at_s2c("+OK Begin TLS negotiation now.\r\n\x16\x03\x03\x00\x04\x02\x00\x00\x00");
	out = at_close();
	assert_non_null(strstr(out, "\"stls_requested\":true,\"stls_reply\":\"+OK\""));
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 1);
	at_free();
}

static void test_anomalies(void **state)
{
	char longline[1200];
	const char *out;

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_c2s("USER early\r\n");           /* before the greeting */
	at_s2c("+OK hi\r\n");
	at_s2c("+OK\r\n");                  /* reply to USER: fine */
	at_s2c("+OK nobody asked\r\n");     /* reply without command */
	at_c2s("XYZZY\r\n");                /* unknown command */
	at_s2c("-ERR unknown\r\n");
	at_c2s("USER b\xc3\xa9\r\n");       /* non-ASCII */
	at_s2c("+OK\r\n");
	at_c2s("AUTH PLAIN !!notbase64!!\r\n");
	at_s2c("-ERR\r\n");
	memset(longline, 'A', sizeof(longline));
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	at_c2s(longline);                   /* over pop3_line_max */
	at_s2c("-ERR\r\n");
	at_s2c("what?\r\n");                /* invalid reply */
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_command_before_greeting], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_reply_without_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_unknown_command], 2);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_non_ascii_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_bad_base64], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_line_too_long], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_invalid_reply], 1);
	/* One anomaly record per kind, with evidence. */
	assert_non_null(strstr(out, "\"anomaly\":{\"type\":\"applayer\",\"event\":\"pop3_command_before_greeting\","
				    "\"direction\":\"toserver\",\"evidence\":\"USER early\"}"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 7);
	at_free();
}

/* Only the client's half on the tap: no greeting will ever be seen, so
 * its commands are not "before the greeting". */
static void test_one_sided_no_greeting_anomaly(void **state)
{
	(void)state;
	at_open(MT_APP_POP3, 110);
	at.flow.pkts[MT_DIR_TOCLIENT] = 0;
	at_c2s("USER alice\r\nPASS x\r\n");
	at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_command_before_greeting], 0);
	at_free();
}

static void test_gap_resynchronises(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_c2s("RETR 1\r\n");
	at_s2c("+OK\r\nsome bo");
	mt_app_gap(&at.apps, &at.flow, MT_DIR_S2C, 5000, at.now);
	at_s2c("dy\r\n.\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("+OK bye\r\n");
	out = at_close();
	/* The terminator after the hole still ends the message; replies after
	 * a gap are not blamed on the client. */
	assert_non_null(strstr(out, "\"retr_messages\":1"));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_reply_without_command], 0);
	at_free();
}

/* A buffer the pipelining tests build their commands and replies in. */
static char pbuf_c[32768], pbuf_s[131072];

static void __attribute__((format(printf, 3, 4)))
cat(char *dst, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(dst);
	va_list ap;

	assert_true(len + 80 < cap);
	va_start(ap, fmt);
	vsnprintf(dst + len, cap - len, fmt, ap);
	va_end(ap);
}

/* 40 RETRs in one segment, then their 40 replies in another: every reply
 * is framed, every message counted (16 were, once). */
static void test_pipelined_40_retr(void **state)
{
	const char *out;

	(void)state;
	pbuf_c[0] = pbuf_s[0] = '\0';
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_c2s("USER u\r\nPASS p\r\n");
	at_s2c("+OK\r\n+OK Logged in.\r\n");
	for (int i = 1; i <= 40; i++) {
		cat(pbuf_c, sizeof(pbuf_c), "RETR %d\r\n", i);
		/* 12 bytes of message each; a dot-stuffed line in every
		 * tenth, and a line that looks like a status line. */
		if (i % 10 == 0)
			cat(pbuf_s, sizeof(pbuf_s), "+OK %d octets\r\n..x\r\n+OK n\r\n.\r\n", 12);
		else
			cat(pbuf_s, sizeof(pbuf_s), "+OK %d octets\r\nSubject: x\r\n.\r\n", 12);
	}
	at_c2s(pbuf_c);
	at_feed(MT_DIR_S2C, pbuf_s, strlen(pbuf_s), 0);
	at_c2s("QUIT\r\n");
	at_s2c("+OK bye\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"commands\":43,\"retr_messages\":40,\"retr_bytes\":480,\"quit\":true}}\n"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();

	/* The same in 7-byte segments, replies interleaved with commands. */
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_feed(MT_DIR_C2S, pbuf_c, strlen(pbuf_c) / 2, 7);
	at_feed(MT_DIR_S2C, pbuf_s, strlen(pbuf_s) / 3, 7);
	at_feed(MT_DIR_C2S, pbuf_c + strlen(pbuf_c) / 2, strlen(pbuf_c) - strlen(pbuf_c) / 2, 7);
	at_feed(MT_DIR_S2C, pbuf_s + strlen(pbuf_s) / 3, strlen(pbuf_s) - strlen(pbuf_s) / 3, 7);
	out = at_close();
	assert_non_null(strstr(out, "\"commands\":40,\"retr_messages\":40,\"retr_bytes\":480}}\n"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* What a mail client that pipelines sends: STAT, LIST, UIDL, then RETR and
 * DELE for each message, TOP for some; 60 messages. */
static void test_pipelined_mixed(void **state)
{
	char want[160];
	const char *out;

	(void)state;
	pbuf_c[0] = pbuf_s[0] = '\0';
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	strcat(pbuf_c, "STAT\r\nLIST\r\nUIDL\r\n");
	strcat(pbuf_s, "+OK 60 720\r\n+OK 60 messages\r\n");
	for (int i = 1; i <= 60; i++)
		cat(pbuf_s, sizeof(pbuf_s), "%d 12\r\n", i);
	strcat(pbuf_s, ".\r\n+OK\r\n");
	for (int i = 1; i <= 60; i++)
		cat(pbuf_s, sizeof(pbuf_s), "%d uid\r\n", i);
	strcat(pbuf_s, ".\r\n");
	for (int i = 1; i <= 60; i++) {
		cat(pbuf_c, sizeof(pbuf_c), "RETR %d\r\n", i);
		cat(pbuf_s, sizeof(pbuf_s), "+OK %d octets\r\nSubject: x\r\n.\r\n", 12);
		if (i % 3 == 0) {
			cat(pbuf_c, sizeof(pbuf_c), "TOP %d 0\r\n", i);
			strcat(pbuf_s, "+OK\r\nSubject: x\r\n.\r\n");
		}
		cat(pbuf_c, sizeof(pbuf_c), "DELE %d\r\n", i);
		/* One DELE refused: it is not a deletion. */
		strcat(pbuf_s, i == 7 ? "-ERR no such message\r\n" : "+OK Marked to be deleted.\r\n");
		if (i % 20 == 0) {
			cat(pbuf_c, sizeof(pbuf_c), "LIST %d\r\n", i);
			cat(pbuf_s, sizeof(pbuf_s), "+OK %d 12\r\n", i);
		}
	}
	strcat(pbuf_c, "QUIT\r\n");
	strcat(pbuf_s, "+OK bye\r\n");
	at_c2s(pbuf_c);
	at_feed(MT_DIR_S2C, pbuf_s, strlen(pbuf_s), 1460);
	out = at_close();
	/* 3 + 60 RETR + 20 TOP + 60 DELE + 3 LIST + QUIT; retr_bytes counts
	 * what TOP shows too. */
	snprintf(want, sizeof(want),
		 "\"commands\":147,\"stat_messages\":60,\"stat_bytes\":720,"
		 "\"retr_messages\":60,\"retr_bytes\":960,\"top_messages\":20,"
		 "\"deleted\":59,\"quit\":true}}\n");
	assert_non_null(strstr(out, want));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* Past the FIFO (hundreds of pipelined commands that do not repeat in a
 * pattern of one or two): counted by verb, every reply framed by content,
 * every message counted. The overflow is reported. */
static void test_pipelined_beyond_fifo(void **state)
{
	const char *out;

	(void)state;
	pbuf_c[0] = pbuf_s[0] = '\0';
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	for (int i = 1; i <= 400; i++) {
		cat(pbuf_c, sizeof(pbuf_c), "RETR %d\r\nNOOP\r\nDELE %d\r\n", i, i);
		cat(pbuf_s, sizeof(pbuf_s), "+OK %d octets\r\nReceived: x\r\n\r\nbody\r\n.\r\n+OK\r\n+OK\r\n", 21);
	}
	/* Multi-line replies of every kind past the FIFO too. */
	strcat(pbuf_c, "LIST\r\nUIDL\r\nRETR 999\r\nCAPA\r\nTOP 1 0\r\nQUIT\r\n");
	strcat(pbuf_s, "+OK\r\n1 20\r\n2 20\r\n.\r\n+OK\r\n1 a\r\n.\r\n-ERR no such message\r\n"
		       "+OK\r\nTOP\r\n.\r\n+OK\r\nReceived: y\r\n.\r\n+OK bye\r\n");
	at_c2s(pbuf_c);
	at_feed(MT_DIR_S2C, pbuf_s, strlen(pbuf_s), 1000);
	out = at_close();
	/* Every message counted and every byte of it (past the FIFO, RETR
	 * and TOP are told apart by the counts, so only their sum is sure);
	 * the listings are not message data, CAPA's answer is capabilities.
	 * A one-line +OK there is a guess between NOOP and DELE. */
	assert_non_null(strstr(out, "\"capabilities\":[\"TOP\"],\"commands\":1206,"));
	assert_non_null(strstr(out, "\"retr_bytes\":8413,"));
	{
		const char *r = strstr(out, "\"retr_messages\":");
		const char *t = strstr(out, "\"top_messages\":");
		const char *d = strstr(out, "\"deleted\":");
		long nr, nt, nd;

		assert_non_null(r);
		nr = strtol(r + 16, NULL, 10);
		nt = t ? strtol(t + 15, NULL, 10) : 0;
		assert_int_equal(nr + nt, 401);
		assert_non_null(d);
		nd = strtol(d + 10, NULL, 10);
		assert_true(nd >= 390 && nd <= 400);
	}
	assert_true(at.ctr.v[MT_CTR_anomaly_pop3_too_many_pending] > 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_reply_without_command], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_invalid_reply], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_line_too_long], 0);
	at_free();
}

/* Logins pipelined before any reply: each attempt is credited to its own
 * USER (or APOP) name, not to the last name sent. */
static void test_pipelined_logins(void **state)
{
	const char *out, *a, *b, *c;

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_c2s("USER alice\r\nPASS one\r\nUSER bob\r\nPASS two\r\n"
	       "USER carol\r\nAPOP dave 0123456789abcdef0123456789abcdef\r\n");
	at_s2c("+OK\r\n-ERR [AUTH] failed\r\n+OK\r\n+OK Logged in.\r\n");
	at_s2c("-ERR no such user\r\n-ERR bad digest\r\n");
	out = at_close();
	a = strstr(out, "\"mechanism\":\"USER\",\"user\":\"alice\",\"result\":\"failure\"");
	b = strstr(out, "\"mechanism\":\"USER\",\"user\":\"bob\",\"result\":\"success\"");
	c = strstr(out, "\"mechanism\":\"USER\",\"user\":\"carol\",\"result\":\"failure\"");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	assert_non_null(strstr(out, "\"mechanism\":\"APOP\",\"user\":\"dave\",\"result\":\"failure\""));
	assert_null(strstr(out, "\"user\":\"bob\",\"result\":\"failure\""));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_reply_without_command], 0);
	at_free();

	/* More names in flight than the queue keeps: still one record per
	 * attempt, and the first names stay right. */
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	for (int i = 0; i < 12; i++) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "USER u%02d\r\nPASS p\r\n", i);
		at_c2s(cmd);
	}
	for (int i = 0; i < 12; i++)
		at_s2c("+OK\r\n-ERR [AUTH] failed\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"user\":\"u00\",\"result\":\"failure\""));
	assert_non_null(strstr(out, "\"user\":\"u06\",\"result\":\"failure\""));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_reply_without_command], 0);
	{
		unsigned n = 0;

		for (const char *p = out; (p = strstr(p, "\"event_type\":\"auth\"")); p++)
			n++;
		assert_int_equal(n, 12);
	}
	at_free();
}

/* A NUL in a command is reported, with the line as evidence unless it is
 * a login line; the user name keeps its NUL in both records. */
static void test_nul_in_command(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_feed(MT_DIR_C2S, "USER a\0b\r\n", 10, 0);
	at_s2c("+OK\r\n");
	at_feed(MT_DIR_C2S, "PASS s\0cret\r\n", 13, 0);
	at_s2c("-ERR [AUTH] failed\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_pop3_nul_in_command], 2);
	assert_non_null(strstr(out, "\"event\":\"pop3_nul_in_command\",\"direction\":\"toserver\","
				    "\"evidence\":\"USER a\\u0000b\"}"));
	assert_non_null(strstr(out, "\"auth\":{\"mechanism\":\"USER\",\"user\":\"a\\u0000b\","));
	assert_non_null(strstr(out, "\"auth_mech\":\"USER\",\"auth_user\":\"a\\u0000b\","));
	assert_null(strstr(out, "cret"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 1);
	at_free();

	/* A password with a NUL on its own: the evidence stops at PASS. */
	at_open(MT_APP_POP3, 110);
	at_s2c("+OK hi\r\n");
	at_c2s("USER bob\r\n");
	at_s2c("+OK\r\n");
	at_feed(MT_DIR_C2S, "PASS s\0cret\r\n", 13, 0);
	at_s2c("+OK\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"event\":\"pop3_nul_in_command\",\"direction\":\"toserver\","
				    "\"evidence\":\"PASS\"}"));
	assert_null(strstr(out, "cret"));
	at_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_exact),
		cmocka_unit_test(test_session_bytewise),
		cmocka_unit_test(test_sasl_plain_login_cram),
		cmocka_unit_test(test_pipelined_and_split_terminator),
		cmocka_unit_test(test_stls_switches_to_tls),
		cmocka_unit_test(test_anomalies),
		cmocka_unit_test(test_one_sided_no_greeting_anomaly),
		cmocka_unit_test(test_gap_resynchronises),
		cmocka_unit_test(test_pipelined_40_retr),
		cmocka_unit_test(test_pipelined_mixed),
		cmocka_unit_test(test_pipelined_beyond_fifo),
		cmocka_unit_test(test_nul_in_command),
		cmocka_unit_test(test_pipelined_logins),
	};

	return cmocka_run_group_tests_name("pop3", tests, NULL, NULL);
}
