/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IMAP analyzer tests: a Dovecot-like session compared as exact JSON, the
 * same session one byte at a time, literals split at every offset in both
 * directions, LITERAL+ and refused literals, absurd sizes, SASL exchanges,
 * STARTTLS and command injection, out-of-order completions, each anomaly,
 * and gaps inside and outside literals.
 */
#include "apptest.h"

#include <stdio.h>

/* ---- a session as steps: which side speaks, and what ---- */

#define MAX_STEPS 64

struct step {
	int dir;
	size_t len;
	char text[1024];
};

static struct step steps[MAX_STEPS];
static size_t nsteps;

static void add(int dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(int dir, const char *fmt, ...)
{
	va_list ap;
	struct step *s;

	assert_true(nsteps < MAX_STEPS);
	s = &steps[nsteps++];
	va_start(ap, fmt);
	s->len = (size_t)vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
	assert_true(s->len < sizeof(s->text));
	s->dir = dir;
}

#define C(...) add(MT_DIR_C2S, __VA_ARGS__)
#define S(...) add(MT_DIR_S2C, __VA_ARGS__)

static void run_steps(size_t chunk)
{
	for (size_t i = 0; i < nsteps; i++)
		at_feed(steps[i].dir, steps[i].text, steps[i].len, chunk);
}

/* Message bodies with lines that would mislead a parser reading literals
 * as protocol: a fake completion, a fake EXPUNGE, a fake literal. */
static const char *msg1 =
	"From: bob@example.org\r\nSubject: one\r\n\r\na5 OK not a reply\r\n* 9 EXPUNGE\r\n";
static const char *msg2 =
	"From: carol@example.org\r\nSubject: two {12}\r\n\r\n* 2 FETCH (BODY[] {3}\r\n";
static const char *msg3 = "Subject: three\r\n\r\n)\r\n";
static const char *msg_append =
	"From: alice@example.org\r\nSubject: sent\r\n\r\na9 LOGIN mallory x\r\n";

static void build_session(void)
{
	nsteps = 0;
	S("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
	  "STARTTLS AUTH=PLAIN] Dovecot ready.\r\n");
	C("a1 CAPABILITY\r\n");
	S("* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
	  "STARTTLS AUTH=PLAIN AUTH=LOGIN\r\n"
	  "a1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n");
	C("a2 LOGIN alice \"wr\\\"ong\"\r\n");
	S("a2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	/* The user name as a literal, then the password as one. */
	C("a3 LOGIN {5}\r\n");
	S("+ OK\r\n");
	C("alice {6}\r\n");
	S("+ OK\r\n");
	C("s3cret\r\n");
	S("a3 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT "
	  "THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS "
	  "CONDSTORE QRESYNC ESEARCH MOVE] Logged in\r\n");
	C("a4 SELECT INBOX\r\n");
	S("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
	  "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
	  "Flags permitted.\r\n"
	  "* 3 EXISTS\r\n* 0 RECENT\r\n"
	  "* OK [UIDVALIDITY 1714557600] UIDs valid\r\n"
	  "* OK [UIDNEXT 4] Predicted next UID\r\n"
	  "a4 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n");
	C("a5 UID FETCH 1:* (FLAGS BODY.PEEK[])\r\n");
	S("* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[] {%zu}\r\n%s)\r\n", strlen(msg1), msg1);
	S("* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[] {%zu}\r\n%s)\r\n", strlen(msg2), msg2);
	S("* 3 FETCH (UID 3 FLAGS () BODY[] {%zu}\r\n%s)\r\n", strlen(msg3), msg3);
	S("a5 OK Fetch completed (0.001 + 0.000 secs).\r\n");
	C("a6 STORE 1 +FLAGS (\\Deleted)\r\n");
	S("* 1 FETCH (FLAGS (\\Seen \\Deleted))\r\na6 OK Store completed.\r\n");
	C("a7 EXPUNGE\r\n");
	S("* 1 EXPUNGE\r\na7 OK Expunge completed.\r\n");
	C("a8 APPEND Sent (\\Seen) {%zu}\r\n", strlen(msg_append));
	S("+ OK\r\n");
	C("%s\r\n", msg_append);
	S("a8 OK [APPENDUID 1714557601 1] Append completed.\r\n");
	C("a9 IDLE\r\n");
	S("+ idling\r\n");
	S("* 3 EXISTS\r\n");
	C("DONE\r\n");
	S("a9 OK Idle completed (0.001 + 1.000 secs).\r\n");
	C("a10 LOGOUT\r\n");
	S("* BYE Logging out\r\na10 OK Logout completed.\r\n");
}

#define CONN "\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"192.0.2.25\"," \
	     "\"dest_port\":143,\"proto\":\"TCP\",\"app_proto\":\"imap\""

#define IMAP_BODY                                                                      \
	"\"imap\":{\"capabilities\":[\"IMAP4rev1\",\"SASL-IR\",\"LOGIN-REFERRALS\",\"ID\","   \
	"\"ENABLE\",\"IDLE\",\"LITERAL+\",\"STARTTLS\",\"AUTH=PLAIN\",\"AUTH=LOGIN\","       \
	"\"SORT\",\"THREAD=REFERENCES\",\"MULTIAPPEND\",\"UNSELECT\",\"CHILDREN\","           \
	"\"NAMESPACE\",\"UIDPLUS\",\"CONDSTORE\",\"QRESYNC\",\"ESEARCH\",\"MOVE\"],"         \
	"\"starttls_offered\":true,\"auth_mech\":\"LOGIN\",\"auth_user\":\"alice\","        \
	"\"auth_result\":\"success\",\"auth_attempts\":2,\"commands\":10,"                  \
	"\"mailboxes\":[\"INBOX\"],\"exists\":3,\"fetch_commands\":1,"                     \
	"\"messages_fetched\":3,\"bytes_fetched\":161,\"deleted\":1,\"expunged\":1,"        \
	"\"appends\":1,\"append_bytes\":62,\"idle\":1,\"logout\":true}}\n"

static const char *expect =
	"{\"timestamp\":\"2024-05-01T10:00:00.000005+0000\",\"flow_id\":4242,"
	"\"event_type\":\"auth\"," CONN ",\"auth\":{\"mechanism\":\"LOGIN\","
	"\"user\":\"alice\",\"result\":\"failure\",\"cleartext\":true,"
	"\"reply\":\"NO [AUTHENTICATIONFAILED] Authentication failed.\",\"attempt\":1}}\n"
	"{\"timestamp\":\"2024-05-01T10:00:00.000011+0000\",\"flow_id\":4242,"
	"\"event_type\":\"auth\"," CONN ",\"auth\":{\"mechanism\":\"LOGIN\","
	"\"user\":\"alice\",\"result\":\"success\",\"cleartext\":true,"
	"\"reply\":\"OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT "
	"THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS CONDSTORE "
	"QRESYNC ESEARCH MOVE] Logged in\",\"attempt\":2}}\n"
	"{\"timestamp\":\"2024-05-01T10:00:00.000000+0000\",\"flow_id\":4242,"
	"\"event_type\":\"imap\"," CONN "," IMAP_BODY;

static void test_session_exact(void **state)
{
	(void)state;
	build_session();
	at_open(MT_APP_IMAP, 143);
	run_steps(0);
	assert_string_equal(at_close(), expect);
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* Replaces every "timestamp":"..." value so outputs fed in different
 * chunkings can be compared. */
static void strip_times(char *s)
{
	char *p = s;

	while ((p = strstr(p, "\"timestamp\":\"")) != NULL) {
		p += 13;
		for (; *p && *p != '"'; p++)
			*p = 'T';
	}
}

static char *dup_out(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	assert_non_null(d);
	memcpy(d, s, n);
	strip_times(d);
	return d;
}

/* The same session one byte per segment: identical records, bar times. */
static void test_session_bytewise(void **state)
{
	char *want = dup_out(expect), *got;

	(void)state;
	build_session();
	at_open(MT_APP_IMAP, 143);
	run_steps(1);
	got = dup_out(at_close());
	assert_string_equal(got, want);
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
	free(got);
	free(want);
}

/* One direction's bytes split in two at every offset, the other direction
 * whole: same records every time. */
static void split_everywhere(int split_dir, const char *const *seq, size_t nseq,
			     const char *const *other, size_t nother)
{
	char all[4096];
	size_t total = 0;
	char *want = NULL;

	for (size_t i = 0; i < nseq; i++) {
		memcpy(all + total, seq[i], strlen(seq[i]));
		total += strlen(seq[i]);
	}
	for (size_t cut = 0; cut <= total; cut++) {
		char *got;

		at_open(MT_APP_IMAP, 143);
		at_s2c("* OK IMAP4rev1 ready\r\n");
		for (size_t i = 0; i < nother; i++)
			at_feed(!split_dir, other[i], strlen(other[i]), 0);
		at_feed(split_dir, all, cut, 0);
		at_feed(split_dir, all + cut, total - cut, 0);
		got = dup_out(at_close());
		assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
		if (!want)
			want = got;
		else {
			assert_string_equal(got, want);
			free(got);
		}
		at_free();
	}
	free(want);
}

static void test_literal_split_every_offset(void **state)
{
	/* Server: two messages, each with several literals in one response,
	 * the line going on after each; and a zero-length literal. */
	static const char *const srv[] = {
		"* 1 FETCH (UID 7 BODY[HEADER] {21}\r\nSubject: x\r\na1 OK x\r\n"
		" BODY[TEXT] {9}\r\n* 1 BYE\r\n FLAGS (\\Seen))\r\n",
		"* 2 FETCH (ENVELOPE (NIL {4}\r\nsubj NIL) RFC822 {0}\r\n"
		" BINARY[1] ~{5}\r\nab\r\nc)\r\n",
		"a1 OK done\r\n",
	};
	static const char *const cli_for_srv[] = { "a1 FETCH 1:2 (BODY[] BINARY[1])\r\n" };
	/* Client: a literal user name and password, a LITERAL+ APPEND with
	 * two messages (MULTIAPPEND), a literal mailbox name. */
	static const char *const cli[] = {
		"b1 LOGIN {4}\r\nanna {3}\r\npw!\r\n",
		"b2 APPEND Drafts {7+}\r\nhello\r\n (\\Seen) {3+}\r\nxyz\r\n",
		"b3 SELECT {7}\r\nArchive\r\n",
	};
	static const char *const srv_for_cli[] = {
		"+ go\r\n", "+ go\r\n", "b1 OK in\r\n", "b2 OK stored\r\n",
		"* 12 EXISTS\r\n", "b3 OK selected\r\n",
	};
	const char *out;

	(void)state;
	split_everywhere(MT_DIR_S2C, srv, MT_ARRAY_SIZE(srv), cli_for_srv,
			 MT_ARRAY_SIZE(cli_for_srv));
	/* And what that gives, once. */
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s(cli_for_srv[0]);
	for (size_t i = 0; i < MT_ARRAY_SIZE(srv); i++)
		at_s2c(srv[i]);
	out = at_close();
	assert_non_null(strstr(out, "\"fetch_commands\":1,\"messages_fetched\":2,\"bytes_fetched\":35}"));
	at_free();

	/* Client literals: the server's answers come first here (the
	 * harness feeds one direction at a time), then the client's bytes. */
	split_everywhere(MT_DIR_C2S, cli, MT_ARRAY_SIZE(cli), NULL, 0);
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	for (size_t i = 0; i < MT_ARRAY_SIZE(cli); i++)
		at_c2s(cli[i]);
	for (size_t i = 0; i < MT_ARRAY_SIZE(srv_for_cli); i++)
		at_s2c(srv_for_cli[i]);
	out = at_close();
	assert_non_null(strstr(out, "\"user\":\"anna\",\"result\":\"success\""));
	assert_non_null(strstr(out, "\"commands\":3,\"mailboxes\":[\"Archive\"],\"exists\":12,"
				    "\"appends\":2,\"append_bytes\":10}"));
	assert_null(strstr(out, "pw!"));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_unknown_tag], 0);
	at_free();
}

/* LITERAL+ needs no "+"; a synchronising literal the server refuses is
 * never sent, and the client's next command must still be read. */
static void test_nonsync_and_refused_literals(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
	at_c2s("a1 LOGIN {3+}\r\nbob {4+}\r\npass\r\n");
	at_c2s("a2 APPEND INBOX {11+}\r\nHi there!\r\n\r\n");
	at_s2c("a1 OK done\r\na2 OK done\r\n");
	/* Refused: no "+", a tagged NO, then the client goes on. */
	at_c2s("a3 APPEND Missing {400}\r\n");
	at_s2c("a3 NO [TRYCREATE] Mailbox doesn't exist: Missing\r\n");
	at_c2s("a4 SELECT INBOX\r\n");
	at_s2c("* 2 EXISTS\r\na4 OK selected\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"user\":\"bob\",\"result\":\"success\""));
	assert_non_null(strstr(out, "\"commands\":4,\"mailboxes\":[\"INBOX\"],\"exists\":2,"
				    "\"appends\":1,\"append_bytes\":11}"));
	assert_null(strstr(out, "pass"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void test_absurd_literal(void **state)
{
	static const uint8_t junk[4096] = { 'x' };
	const char *out;

	(void)state;
	/* Client: absurd, refused, and the session goes on. */
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 APPEND INBOX {99999999999}\r\n");
	at_s2c("a1 NO Too big\r\n");
	at_c2s("a2 APPEND INBOX {999999999999999999999999999999}\r\n");
	at_s2c("a2 BAD Too big\r\n");
	at_c2s("a3 NOOP\r\n");
	at_s2c("a3 OK\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_literal_too_large], 2);
	assert_non_null(strstr(out, "\"event\":\"imap_literal_too_large\",\"direction\":\"toserver\","
				    "\"evidence\":\"{99999999999}\""));
	assert_non_null(strstr(out, "\"commands\":3}"));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_unknown_tag], 0);
	at_free();

	/* Server: an absurd literal in a FETCH is skipped to the end of the
	 * stream; what is counted is what passed. */
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 FETCH 1 BODY[]\r\n");
	at_s2c("* 1 FETCH (BODY[] {18446744073709551616000}\r\n)\r\n");
	for (int i = 0; i < 100; i++)
		at_feed(MT_DIR_S2C, junk, sizeof(junk), 0);
	out = at_close();
	assert_non_null(strstr(out, "\"messages_fetched\":1,\"bytes_fetched\":409603}"));
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_literal_too_large], 1);
	at_free();
}

static void test_authenticate(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2] ready\r\n");
	/* SASL-IR: "\0bob\0secret" */
	at_c2s("a1 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n");
	at_s2c("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	/* With a continuation: empty challenge, then the response. */
	at_c2s("a2 authenticate plain\r\n");
	at_s2c("+ \r\n");
	at_c2s("AGNhcm9sAHB3\r\n"); /* "\0carol\0pw" */
	at_s2c("a2 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"mechanism\":\"PLAIN\",\"user\":\"bob\",\"result\":\"failure\","
				    "\"cleartext\":true,\"reply\":\"NO [AUTHENTICATIONFAILED] "
				    "Authentication failed.\",\"attempt\":1}"));
	assert_non_null(strstr(out, "\"mechanism\":\"PLAIN\",\"user\":\"carol\",\"result\":\"success\","
				    "\"cleartext\":true,\"reply\":\"OK [CAPABILITY IMAP4rev1 IDLE] "
				    "Logged in\",\"attempt\":2}"));
	assert_non_null(strstr(out, "\"auth_mech\":\"PLAIN\",\"auth_user\":\"carol\","
				    "\"auth_result\":\"success\",\"auth_attempts\":2,\"commands\":2}"));
	assert_null(strstr(out, "secret"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();

	/* SASL LOGIN and XOAUTH2 over continuations, CRAM-MD5 not cleartext. */
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("x AUTHENTICATE LOGIN\r\n");
	at_s2c("+ VXNlcm5hbWU6\r\n");
	at_c2s("ZGF2ZQ==\r\n"); /* dave */
	at_s2c("+ UGFzc3dvcmQ6\r\n");
	at_c2s("cGFzcw==\r\n");
	at_s2c("x NO bad\r\n");
	/* "user=erin\1auth=Bearer tok\1\1" */
	at_c2s("y AUTHENTICATE XOAUTH2 dXNlcj1lcmluAWF1dGg9QmVhcmVyIHRvawEB\r\n");
	at_s2c("y OK welcome\r\n");
	at_c2s("z AUTHENTICATE CRAM-MD5\r\n");
	at_s2c("+ PDEyMzQ1QGhvc3Q+\r\n");
	/* "frank 5f4dcc3b5aa765d61d8327deb882cf99" */
	at_c2s("ZnJhbmsgNWY0ZGNjM2I1YWE3NjVkNjFkODMyN2RlYjg4MmNmOTk=\r\n");
	at_s2c("z OK welcome\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"mechanism\":\"LOGIN\",\"user\":\"dave\",\"result\":\"failure\""));
	assert_non_null(strstr(out, "\"mechanism\":\"XOAUTH2\",\"user\":\"erin\",\"result\":\"success\","
				    "\"cleartext\":true"));
	assert_non_null(strstr(out, "\"mechanism\":\"CRAM-MD5\",\"user\":\"frank\",\"result\":\"success\","
				    "\"cleartext\":false"));
	at_free();
}

/* OAUTHBEARER (RFC 7628), with SASL-IR and without: the user is the GS2
 * header's a= attribute; the error challenge is answered by %x01. */
static void test_authenticate_oauthbearer(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER] ready\r\n");
	/* "n,a=user@example.com,\1host=server.example.com\1port=587\1
	 * auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\1\1" */
	at_c2s("a1 AUTHENTICATE OAUTHBEARER bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB\r\n");
	at_s2c("+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIn0=\r\n");
	at_c2s("AQ==\r\n");
	at_s2c("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	at_c2s("a2 AUTHENTICATE OAUTHBEARER\r\n");
	at_s2c("+ \r\n");
	at_c2s("bixhPWdyYWNlLAFhdXRoPUJlYXJlciB0b2sBAQ==\r\n"); /* "n,a=grace,\1auth=Bearer tok\1\1" */
	at_s2c("a2 OK Logged in\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"auth\":{\"mechanism\":\"OAUTHBEARER\",\"user\":\"user@example.com\","
				    "\"result\":\"failure\",\"cleartext\":true,"
				    "\"reply\":\"NO [AUTHENTICATIONFAILED] Authentication failed.\","
				    "\"attempt\":1}}"));
	assert_non_null(strstr(out, "\"auth\":{\"mechanism\":\"OAUTHBEARER\",\"user\":\"grace\","
				    "\"result\":\"success\",\"cleartext\":true,"
				    "\"reply\":\"OK Logged in\",\"attempt\":2}}"));
	assert_non_null(strstr(out, "\"auth_mech\":\"OAUTHBEARER\",\"auth_user\":\"grace\","
				    "\"auth_result\":\"success\",\"auth_attempts\":2,"));
	assert_null(strstr(out, "Bearer"));
	assert_null(strstr(out, "vF9dft4q"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void test_authenticate_cancelled(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 AUTHENTICATE PLAIN\r\n");
	at_s2c("+ \r\n");
	at_c2s("*\r\n");
	at_s2c("a1 BAD Authentication aborted by client.\r\n");
	/* The next line is a command again, not a SASL response. */
	at_c2s("a2 LOGIN gina pw\r\n");
	at_s2c("a2 OK Logged in\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"mechanism\":\"PLAIN\",\"result\":\"failure\",\"cleartext\":true,"
				    "\"reply\":\"BAD Authentication aborted by client.\",\"attempt\":1}"));
	assert_non_null(strstr(out, "\"mechanism\":\"LOGIN\",\"user\":\"gina\",\"result\":\"success\""));
	assert_non_null(strstr(out, "\"auth_attempts\":2,\"commands\":2}"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void test_starttls_switches_to_tls(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
	at_c2s("a1 STARTTLS\r\n");
	/* The ServerHello may follow in the same segment as the OK. */
	at_s2c("a1 OK Begin TLS negotiation now.\r\n\x16\x03\x03\x00\x04\x02\x00\x00\x00");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 1);
	assert_non_null(strstr(out, "\"capabilities\":[\"IMAP4rev1\",\"STARTTLS\",\"LOGINDISABLED\"],"
				    "\"starttls_offered\":true,\"starttls_requested\":true,"
				    "\"starttls_reply\":\"OK\",\"commands\":1}"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();

	/* Refused: the session stays IMAP. */
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 starttls\r\n");
	at_s2c("a1 BAD TLS not configured\r\n");
	at_c2s("a2 LOGOUT\r\n");
	at_s2c("a2 OK bye\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 0);
	assert_non_null(strstr(out, "\"starttls_requested\":true,\"starttls_reply\":\"BAD\","
				    "\"commands\":2,\"logout\":true}"));
	at_free();
}

/* Commands pipelined behind STARTTLS would run inside TLS on a vulnerable
 * server (CVE-2011-0411 and its kin). The evidence must not leak the
 * password. */
static void test_starttls_injection(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
	at_c2s("a1 STARTTLS\r\na2 LOGIN victim hunter2\r\n");
	at_s2c("a1 OK Begin TLS negotiation now.\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_app_data_before_starttls_reply], 1);
	assert_non_null(strstr(out, "\"event\":\"app_data_before_starttls_reply\","
				    "\"direction\":\"toserver\",\"evidence\":\"a2 LOGIN\"}"));
	assert_null(strstr(out, "hunter2"));
	assert_int_equal(at.ctr.v[MT_CTR_app_starttls_switches], 1);
	at_free();
}

static void test_pipelined_out_of_order(void **state)
{
	const char *out, *p1, *p2;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 LOGIN bob pw1\r\na2 LOGIN carol pw2\r\na3 NOOP\r\n"
	       "a4 SELECT INBOX\r\na5 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n"
	       "a6 UID STORE 10,12 +FLAGS \\Deleted\r\n"
	       "a7 STORE 1 -FLAGS (\\Deleted)\r\n");
	at_s2c("a3 OK\r\na2 OK Logged in\r\na1 NO [AUTHENTICATIONFAILED] no\r\n");
	at_s2c("* 9 EXISTS\r\na4 OK [READ-WRITE] done\r\n");
	at_s2c("* 5 FETCH (FLAGS (\\Deleted) UID 10)\r\n* 6 FETCH (UID 12 FLAGS (\\Seen \\Deleted))\r\n");
	at_s2c("a6 OK\r\na5 OK\r\n");
	at_s2c("* 1 FETCH (FLAGS (\\Seen))\r\na7 OK\r\n");
	out = at_close();
	p1 = strstr(out, "\"user\":\"carol\",\"result\":\"success\"");
	p2 = strstr(out, "\"user\":\"bob\",\"result\":\"failure\"");
	assert_non_null(p1);
	assert_non_null(p2);
	assert_true(p1 < p2); /* records in completion order */
	assert_non_null(strstr(out, "\"attempt\":1}"));
	/* 2 FETCH answers to a6, 3 messages in a5's silent set. */
	assert_non_null(strstr(out, "\"commands\":7,\"mailboxes\":[\"INBOX\"],\"exists\":9,\"deleted\":5}"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void test_expunge_vanished_search_copy(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 EXAMINE \"Shared/Team \\\"A\\\"\"\r\n");
	at_s2c("* 40 EXISTS\r\n* VANISHED (EARLIER) 1:20\r\na1 OK\r\n");
	at_c2s("a2 UID SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\xc3\xa9t\xc3\r\n");
	at_s2c("* SEARCH 1 2\r\na2 OK\r\n");
	at_c2s("a3 SEARCH ALL\r\na4 UID MOVE 1:2 Trash\r\na5 COPY 3 Archive\r\n");
	at_s2c("a3 OK\r\n* VANISHED 1:2\r\na4 OK\r\na5 OK\r\n");
	at_c2s("a6 UID EXPUNGE 5\r\n");
	at_s2c("* 3 EXPUNGE\r\na6 OK\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"commands\":6,\"mailboxes\":[\"Shared/Team \\\"A\\\"\"],"
				    "\"exists\":40,\"search_commands\":2,\"expunged\":3,"
				    "\"copies\":2}"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

static void test_anomalies(void **state)
{
	char longline[9000];
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_c2s("a0 CAPABILITY\r\n");                        /* before greeting */
	at_s2c("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n");
	at_s2c("* CAPABILITY IMAP4rev1 LOGINDISABLED\r\na0 OK\r\n");
	at_s2c("zz OK nobody asked\r\n");                    /* unknown tag */
	at_c2s("a1 LOGIN bob \"p\xc3\xa9w\"\r\n");           /* quoted UTF-8: fine */
	at_s2c("a1 NO disabled\r\n");                        /* login after LOGINDISABLED */
	at_c2s("a2 SELECT b\xc3\xa9\r\n");                   /* non-ASCII atom */
	at_s2c("a2 NO\r\n");
	at_feed(MT_DIR_C2S, "a3 NOOP\0x\r\n", 11, 0);      /* NUL */
	at_s2c("a3 OK\r\n");
	at_c2s("a4 SEARCH {abc}\r\n");                       /* bad literal */
	at_s2c("a4 BAD\r\n");
	at_c2s("a5 AUTHENTICATE PLAIN !!notbase64!!\r\n");   /* bad base64 */
	at_s2c("a5 BAD\r\n");
	at_c2s("(nonsense\r\n");                             /* invalid command */
	at_s2c("* BAD Error in IMAP command\r\n");
	at_s2c("HTTP/1.1 400 Bad Request\r\n");              /* invalid response */
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "a6 SEARCH ", 10);
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	at_c2s(longline);                                    /* line too long */
	at_s2c("a6 BAD\r\n");
	at_c2s("a7 APPEND INBOX {300000000}\r\n");           /* beyond 256M */
	at_s2c("a7 NO\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_command_before_greeting], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_unknown_tag], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_login_after_logindisabled], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_non_ascii_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_nul_in_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_bad_literal], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_bad_base64], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_invalid_command], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_invalid_response], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_line_too_long], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_literal_too_large], 1);
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 11);
	/* One record per kind, with evidence that never carries a password. */
	assert_non_null(strstr(out, "\"event\":\"imap_command_before_greeting\","
				    "\"direction\":\"toserver\",\"evidence\":\"a0 CAPABILITY\"}"));
	assert_non_null(strstr(out, "\"event\":\"imap_login_after_logindisabled\","
				    "\"direction\":\"toserver\",\"evidence\":\"a1 LOGIN\"}"));
	assert_non_null(strstr(out, "\"event\":\"imap_unknown_tag\",\"direction\":\"toclient\","
				    "\"evidence\":\"zz OK nobody asked\"}"));
	assert_non_null(strstr(out, "\"event\":\"imap_bad_base64\",\"direction\":\"toserver\"}"));
	assert_non_null(strstr(out, "\"event\":\"imap_bad_literal\",\"direction\":\"toserver\","
				    "\"evidence\":\"a4 SEARCH {abc}\"}"));
	assert_null(strstr(out, "notbase64"));
	/* The 7 commands after the greeting plus a0; the line after the
	 * too-long one and the refused literal did not derail anything. */
	assert_non_null(strstr(out, "\"commands\":8,"));
	at_free();
}

static void test_too_many_pending(void **state)
{
	char line[64];
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	for (int i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "t%d NOOP\r\n", i);
		at_c2s(line);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "t%d OK\r\n", i);
		at_s2c(line);
	}
	/* Twelve logins in a row: beyond the auth slots, still one record each. */
	for (int i = 0; i < 12; i++) {
		snprintf(line, sizeof(line), "l%d LOGIN u%d pw\r\n", i, i);
		at_c2s(line);
	}
	for (int i = 0; i < 12; i++) {
		snprintf(line, sizeof(line), "l%d NO\r\n", i);
		at_s2c(line);
	}
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_too_many_pending], 8 + 4);
	/* The evicted ones' answers are expected, not unknown. */
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_unknown_tag], 0);
	assert_non_null(strstr(out, "\"user\":\"u0\",\"result\":\"failure\""));
	assert_non_null(strstr(out, "\"user\":\"u7\",\"result\":\"failure\""));
	assert_non_null(strstr(out, "\"auth_attempts\":12,\"commands\":52}"));
	at_free();
}

/* A hole inside a message literal only shortens what is left of it; the
 * parse stays in step. */
static void test_gap_inside_fetch_literal(void **state)
{
	char rest[1000 - 16 - 900];
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 FETCH 1:2 BODY.PEEK[]\r\n");
	at_s2c("* 1 FETCH (BODY[] {1000}\r\nSubject: big\r\n\r\n");
	mt_app_gap(&at.apps, &at.flow, MT_DIR_S2C, 900, at.now);
	memset(rest, '7', sizeof(rest));
	at_feed(MT_DIR_S2C, rest, sizeof(rest), 0); /* the last 84 bytes */
	at_s2c(")\r\n");
	at_s2c("* 2 FETCH (BODY[] {3}\r\nabc)\r\na1 OK\r\n");
	out = at_close();
	assert_non_null(strstr(out, "\"fetch_commands\":1,\"messages_fetched\":2,\"bytes_fetched\":1003}"));
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	at_free();
}

/* Header-only sections are bytes fetched but not messages: a client that
 * syncs subjects is not downloading the mailbox. */
static void test_header_only_fetch(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 FETCH 1:4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.HEADER)\r\n");
	at_s2c("* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {5}\r\nS: x\n RFC822.HEADER {2}\r\nhh)\r\n");
	at_s2c("* 2 FETCH (BODY[1.MIME] {3}\r\nmmm)\r\n");
	at_s2c("* 3 FETCH (BODY[2.TEXT] {4}\r\ntttt)\r\n");
	at_s2c("* 4 FETCH (BODY[TEXT] \"qq\")\r\na1 OK\r\n");
	out = at_close();
	/* 5 + 2 + 3 header bytes; 4 + 2 content bytes in two messages. */
	assert_non_null(strstr(out, "\"fetch_commands\":1,\"messages_fetched\":2,\"bytes_fetched\":16}"));
	at_free();
}

/* A hole outside a literal: resynchronise on a line that looks like IMAP,
 * and do not blame completions on commands lost in the hole. */
static void test_gap_resynchronises(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 FETCH 1 BODY[]\r\n");
	at_s2c("* 1 FETCH (BODY[] {5000}\r\nSubject: x\r\n");
	/* The hole swallows the end of the literal and more. */
	mt_app_gap(&at.apps, &at.flow, MT_DIR_S2C, 6000, at.now);
	at_s2c("tail of a body line\r\n* looks like a bullet\r\n)\r\n");
	mt_app_gap(&at.apps, &at.flow, MT_DIR_C2S, 30, at.now);
	at_c2s("and the rest of it\r\na3 NOOP\r\n");
	at_s2c("a2 OK lost command\r\na1 OK\r\na3 OK\r\n");
	at_s2c("zz OK blamed again\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_unknown_tag], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_invalid_response], 0);
	assert_non_null(strstr(out, "\"commands\":2,\"fetch_commands\":1,\"messages_fetched\":1,"
				    "\"bytes_fetched\":5000}"));
	at_free();
}

/* A line too long to keep still announces its literal at its end. */
static void test_long_line_keeps_literal(void **state)
{
	static char line[12000];
	const char *out;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "* 1 FETCH (UID 4 ENVELOPE (\"");
	memset(line + n, 's', 10000);
	n += 10000;
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      "\" NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODY[TEXT]<0> {20}\r\n");
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 UID FETCH 4 (ENVELOPE BODY.PEEK[TEXT]<0.20>)\r\n");
	at_feed(MT_DIR_S2C, line, (size_t)n, 1000);
	at_s2c("a1 OK fake\r\n* 9 EXPU)\r\na1 OK done\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_line_too_long], 1);
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_imap_unknown_tag], 0);
	assert_non_null(strstr(out, "\"messages_fetched\":1,\"bytes_fetched\":20}"));
	at_free();
}

/* After COMPRESS DEFLATE nothing is readable; nothing must be misread. */
static void test_compress(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* OK ready\r\n");
	at_c2s("a1 COMPRESS DEFLATE\r\n");
	at_s2c("a1 OK DEFLATE active\r\n\x78\x9c\x01\x02zz OK x\r\n");
	at_c2s("\x78\x9c garbage\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	assert_non_null(strstr(out, "\"commands\":1}"));
	at_free();
}

/* Picked up in the middle of a session (no SYN, no greeting): the first
 * bytes may be inside a literal; nothing is blamed until lines look right. */
static void test_midstream(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	mt_app_close(&at.apps, &at.flow, at.now);
	mt_buf_reset(&at.out);
	at.flow.midstream = 1;
	assert_true(mt_app_force(&at.apps, &at.flow, MT_APP_IMAP, at.now));
	at_s2c("dy of a message {12}\r\n)\r\na5 OK Fetch completed.\r\n");
	at_c2s("xt line\r\nb1 LOGIN zed pw\r\n");
	at_s2c("b1 OK Logged in\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	assert_non_null(strstr(out, "\"mechanism\":\"LOGIN\",\"user\":\"zed\",\"result\":\"success\""));
	assert_non_null(strstr(out, "\"auth_attempts\":1,\"commands\":1}"));
	at_free();
}

/* "{n}" ending a status response, a continuation request or sitting in an
 * unterminated quoted string announces nothing: what follows is read as
 * lines. */
static void test_not_literals(void **state)
{
	const char *out;

	(void)state;
	at_open(MT_APP_IMAP, 143);
	at_s2c("* PREAUTH [CAPABILITY IMAP4rev1] logged in as {5}\r\n");
	at_c2s("a1 SELECT \"INBOX {5}\r\n");
	at_s2c("a1 BAD Missing '\"' {3}\r\n");
	at_c2s("a2 EXAMINE INBOX\r\n");
	at_s2c("* OK [ALERT] maintenance at {4}\r\n+ ready {2}\r\n* 7 EXISTS\r\na2 OK\r\n");
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_app_anomaly_records], 0);
	/* The malformed quoted name is no mailbox. */
	assert_non_null(strstr(out, "\"capabilities\":[\"IMAP4rev1\"],\"commands\":2,"
				    "\"mailboxes\":[\"INBOX\"],\"exists\":7}"));
	at_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_exact),
		cmocka_unit_test(test_session_bytewise),
		cmocka_unit_test(test_literal_split_every_offset),
		cmocka_unit_test(test_nonsync_and_refused_literals),
		cmocka_unit_test(test_absurd_literal),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_authenticate_oauthbearer),
		cmocka_unit_test(test_authenticate_cancelled),
		cmocka_unit_test(test_starttls_switches_to_tls),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_pipelined_out_of_order),
		cmocka_unit_test(test_expunge_vanished_search_copy),
		cmocka_unit_test(test_anomalies),
		cmocka_unit_test(test_too_many_pending),
		cmocka_unit_test(test_gap_inside_fetch_literal),
		cmocka_unit_test(test_header_only_fetch),
		cmocka_unit_test(test_gap_resynchronises),
		cmocka_unit_test(test_long_line_keeps_literal),
		cmocka_unit_test(test_compress),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_not_literals),
	};

	return cmocka_run_group_tests_name("imap", tests, NULL, NULL);
}
