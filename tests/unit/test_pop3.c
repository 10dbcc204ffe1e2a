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
	};

	return cmocka_run_group_tests_name("pop3", tests, NULL, NULL);
}
