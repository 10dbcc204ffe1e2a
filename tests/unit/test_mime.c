/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MIME parser tests through its own API (no SMTP): header unfolding and
 * address lists, RFC 2047 words, RFC 2231 file names, base64 and
 * quoted-printable decoding split at every offset, boundary delimiters
 * split at every pair of offsets, look-alikes, nesting, gaps, every cap,
 * and bare-LF messages. Expected SHA-256 values were computed apart from
 * mailtap (python3 hashlib over the decoded bytes).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "mime.h"

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_ABC_CRLF "552bab6864c7a7b69a502ed1854b9245c0e1a30f008aaa0b281da62585fdb025"
#define SHA_HELLO_WORLD_LF "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"
#define SHA_HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define SHA_ONE "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"
#define SHA_TWO "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct mtest {
	struct mt_mime m;
	uint8_t *extra;
	unsigned anomalies[MT_CTR__COUNT];
	unsigned total;
	char out[8192];
};

static struct mtest t;

static void on_anomaly(void *ctx, enum mt_ctr which, const uint8_t *ev, size_t len)
{
	assert_ptr_equal(ctx, &t);
	(void)ev;
	(void)len;
	assert_true(which >= MT_CTR_anomaly_mime_header_too_long &&
		    which <= MT_CTR_anomaly_mime_store_full);
	t.anomalies[which]++;
	t.total++;
}

static void mopen_lim(uint32_t header_max, uint32_t headers_max, uint32_t depth,
		      uint32_t parts)
{
	struct mt_mime_limits l = { header_max, headers_max, depth, parts };

	free(t.extra);
	memset(&t, 0, sizeof(t));
	t.extra = malloc(mt_mime_extra_size(&l));
	assert_non_null(t.extra);
	mt_mime_init(&t.m, &l, t.extra, on_anomaly);
	mt_mime_begin(&t.m);
}

/* The configuration defaults. */
static void mopen(void)
{
	mopen_lim(2048, 512, 8, 64);
}

static void mclose(void)
{
	free(t.extra);
	t.extra = NULL;
}

static void feed(const char *s, size_t n, size_t chunk)
{
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n; i += chunk)
		mt_mime_feed(&t.m, (const uint8_t *)s + i, MT_MIN(chunk, n - i), &t);
}

/* One message, `chunk` bytes at a time (0 = whole); returns the files as
 * "name|type|size|sha\n" lines. */
static const char *run(const char *msg, size_t chunk)
{
	feed(msg, strlen(msg), chunk);
	mt_mime_end(&t.m, &t);
	return NULL;
}

static const char *files(void)
{
	struct mt_mime_file f;
	uint32_t pos = 0;
	size_t o = 0;

	t.out[0] = '\0';
	while (mt_mime_file_next(&t.m, &pos, &f)) {
		o += (size_t)snprintf(t.out + o, sizeof(t.out) - o, "%.*s|%.*s|%llu|",
				      (int)f.name.len, (const char *)f.name.p,
				      (int)f.ctype.len, (const char *)f.ctype.p,
				      (unsigned long long)f.size);
		for (int i = 0; f.sha256 && i < 32; i++)
			o += (size_t)snprintf(t.out + o, sizeof(t.out) - o, "%02x", f.sha256[i]);
		o += (size_t)snprintf(t.out + o, sizeof(t.out) - o, "%s\n",
				      f.incomplete ? "(incomplete)" : "");
	}
	return t.out;
}

/* Values of a field joined by " | ". */
static const char *values(enum mt_mime_field fld)
{
	struct mt_view v;
	uint32_t pos = 0;
	size_t o = 0;

	t.out[0] = '\0';
	while (mt_mime_value_next(&t.m, fld, &pos, &v))
		o += (size_t)snprintf(t.out + o, sizeof(t.out) - o, "%s%.*s",
				      o ? " | " : "", (int)v.len, (const char *)v.p);
	return t.out;
}

static void test_headers(void **state)
{
	(void)state;
	mopen();
	run("Received: from a by b\r\n"
	    "Received: from c\r\n\tby d\r\n"
	    "From: \"Example, Alice\" <alice@example.com>\r\n"
	    "From: forged@example.net\r\n"
	    "To: Bob <bob@example.org>, \"Doe, Carol\" <carol@example.net>,\r\n"
	    "  dave@example.org (Dave, the boss),\r\n"
	    "\t<erin@example.org>, ,\r\n"
	    "Cc: undisclosed-recipients:;\r\n"
	    "Subject: folded\r\n"
	    "  over two lines\r\n"
	    "Message-ID:<id@example.com>\r\n"
	    "Date: Wed, 01 May 2024 10:00:00 +0000   \r\n"
	    "User-Agent: Mozilla Thunderbird\r\n"
	    "X-Mailer: PHPMailer 6.8\r\n"
	    "this line has no colon\r\n"
	    "\r\n"
	    "Subject: not a header, the body\r\n", 0);
	assert_string_equal(values(MT_MIME_FROM), "\"Example, Alice\" <alice@example.com>");
	assert_string_equal(values(MT_MIME_TO),
			    "Bob <bob@example.org> | \"Doe, Carol\" <carol@example.net> | "
			    "dave@example.org (Dave, the boss) | <erin@example.org>");
	assert_string_equal(values(MT_MIME_CC), "undisclosed-recipients:;");
	assert_string_equal(values(MT_MIME_SUBJECT), "folded  over two lines");
	assert_string_equal(values(MT_MIME_MESSAGE_ID), "<id@example.com>");
	assert_string_equal(values(MT_MIME_DATE), "Wed, 01 May 2024 10:00:00 +0000");
	assert_string_equal(values(MT_MIME_USER_AGENT), "Mozilla Thunderbird");
	assert_string_equal(values(MT_MIME_X_MAILER), "PHPMailer 6.8");
	assert_int_equal(t.m.received, 2);
	assert_int_equal(t.m.leaves, 1);
	assert_int_equal(t.total, 0);
	assert_string_equal(files(), "");

	/* The same, one byte at a time, and with bare LF line ends. */
	mopen();
	run("From: a@example.com\nSubject: x\n y\nTo: b@example.org\n\nbody\n", 1);
	assert_string_equal(values(MT_MIME_SUBJECT), "x y");
	assert_string_equal(values(MT_MIME_TO), "b@example.org");
	mclose();
}

static const struct {
	const char *in, *out;
	unsigned bad;
} words[] = {
	{ "=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9", 0 },
	{ "=?ISO-8859-1?B?Y2Fm6Q==?=", "caf\xc3\xa9", 0 },           /* Latin-1 to UTF-8 */
	{ "=?latin1?Q?=E9t=E9?=", "\xc3\xa9t\xc3\xa9", 0 },
	{ "=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "\xc3\xa9\xc3\xa9", 0 }, /* blanks between go */
	{ "=?UTF-8?B?w6k?=", "\xc3\xa9", 0 },                        /* no padding */
	{ "a =?utf-8?q?b?= c", "a b c", 0 },
	{ "=?UTF-8?Q?a_b?=\t =?UTF-8?Q?_c?=", "a b c", 0 },
	{ "=?koi8-r?B?8NLJ18XU?=", "\xf0\xd2\xc9\xd7\xc5\xd4", 0 }, /* kept as is */
	{ "=?utf-8*en?q?hi?=", "hi", 0 },                            /* RFC 2231 language */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=", 1 },
	{ "=?utf-8?B?!!!?= tail", "=?utf-8?B?!!!?= tail", 1 },
	{ "=??q?x?=", "=??q?x?=", 1 },
	{ "=?utf-8?q?no end", "=?utf-8?q?no end", 1 },
	{ "plain = ?not? a word", "plain = ?not? a word", 0 },
	{ "=?utf-8?q?x?==?utf-8?q?y?=", "xy", 0 },
};

static void test_encoded_words(void **state)
{
	char msg[256];

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(words); i++) {
		mopen();
		snprintf(msg, sizeof(msg), "Subject: %s\r\n\r\n", words[i].in);
		run(msg, i % 3 + 1);
		if (strcmp(values(MT_MIME_SUBJECT), words[i].out) ||
		    t.anomalies[MT_CTR_anomaly_mime_bad_encoded_word] != words[i].bad) {
			fprintf(stderr, "%s -> [%s] %u anomalies\n", words[i].in, t.out,
				t.anomalies[MT_CTR_anomaly_mime_bad_encoded_word]);
			fail();
		}
	}
	mclose();
}

static const struct {
	const char *hdr, *name;
} names[] = {
	{ "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
	  "r\xc3\xa9sum\xc3\xa9.pdf" },
	{ "Content-Disposition: attachment; filename*=iso-8859-1'fr'caf%E9.txt",
	  "caf\xc3\xa9.txt" },
	{ "Content-Disposition: attachment;\r\n filename*0*=UTF-8''%E2%82%AC;\r\n"
	  " filename*1*=%20rates; filename*2=\".pdf\"", "\xe2\x82\xac rates.pdf" },
	/* Continuations out of order are put back in order. */
	{ "Content-Disposition: attachment; filename*1=\"name.txt\"; filename*0=\"long\"",
	  "longname.txt" },
	{ "Content-Disposition: inline; filename=\"=?UTF-8?B?w6kudHh0?=\"", "\xc3\xa9.txt" },
	{ "Content-Disposition: attachment; filename=\"a\\\"b;c.txt\"", "a\"b;c.txt" },
	{ "Content-Disposition: attachment; FileName = plain.txt ; size=3", "plain.txt" },
	{ "Content-Type: text/plain; name=\"ct.txt\"\r\n"
	  "Content-Disposition: attachment; filename=\"cd.txt\"", "cd.txt" },
	{ "Content-Disposition: attachment; filename=\"cd.txt\"\r\n"
	  "Content-Type: text/plain; name=\"ct.txt\"", "cd.txt" },
	{ "Content-Type: text/plain; name*=UTF-8''%F0%9F%93%8E.txt", "\xf0\x9f\x93\x8e.txt" },
	/* RFC 2231 wins over the plain parameter. */
	{ "Content-Disposition: attachment; filename=\"fallback.txt\";"
	  " filename*=utf-8''real.txt", "real.txt" },
	{ "Content-Disposition: attachment", "" },
};

static void test_file_names(void **state)
{
	char msg[512], want[300];

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(names); i++) {
		mopen();
		snprintf(msg, sizeof(msg), "%s\r\n\r\nabc", names[i].hdr);
		run(msg, i % 4 + 1);
		snprintf(want, sizeof(want), "%s|%s|3|" SHA_ABC "\n", names[i].name,
			 strstr(names[i].hdr, "text/plain") ? "text/plain" : "");
		if (strcmp(files(), want)) {
			fprintf(stderr, "%s\n-> %s", names[i].hdr, t.out);
			fail();
		}
		assert_int_equal(t.total, 0);
	}
	/* Neither a name nor "attachment": not a file. */
	mopen();
	run("Content-Disposition: inline\r\n\r\nabc", 0);
	assert_string_equal(files(), "");
	mclose();
}

static const char *b64_msg =
	"Content-Type: application/octet-stream; name=h.bin\r\n"
	"Content-Transfer-Encoding: BASE64\r\n"
	"\r\n"
	"aGVs\r\nbG8g d29y\tbGQK\r\n";

static void test_base64(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk < 16; chunk++) {
		mopen();
		run(b64_msg, chunk);
		assert_string_equal(files(), "h.bin|application/octet-stream|12|" SHA_HELLO_WORLD_LF "\n");
		assert_int_equal(t.total, 0);
	}
	/* Invalid characters: reported once per part, skipped. */
	mopen();
	run("Content-Type: application/x; name=x\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "aGVs!bG8g\r\n*d29ybGQK\r\n", 0);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_bad_base64], 1);
	assert_string_equal(files(), "x|application/x|12|" SHA_HELLO_WORLD_LF "\n");
	mclose();
}

/* "Caf\xe9 = ok\r\nsoft broken line\r\nend" */
#define SHA_QP "60fac60d3fdcd73327eb5ac81f14fdc0d6862d2b31ea4028fee54d7f3e408ebe"

static const char *qp_msg =
	"Content-Type: text/plain; name=q.txt\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=e9 =3D ok  \r\n"
	"soft broken=\r\n"
	" line\r\n"
	"end=\r\n";

/* Soft breaks, escapes and trailing blanks cut at every offset. */
static void test_quoted_printable(void **state)
{
	size_t n = strlen(qp_msg);

	(void)state;
	for (size_t k = 0; k <= n; k++) {
		mopen();
		feed(qp_msg, k, 0);
		feed(qp_msg + k, n - k, 0);
		mt_mime_end(&t.m, &t);
		if (strcmp(files(), "q.txt|text/plain|32|" SHA_QP "\n")) {
			fprintf(stderr, "split at %zu: %s", k, t.out);
			fail();
		}
	}
	mclose();
}

/* x\r\n--b1x\r\n--b1-\r\ny */
#define SHA_LOOKALIKE "b547dfdd9b6f2e1f3000def74f3e9b6331108c12b578329c9aca3d6ba982ff94"

static const char *bnd_msg =
	"Content-Type: multipart/mixed; boundary=b1\r\n"
	"\r\n"
	"preamble\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; name=a.txt\r\n"
	"\r\n"
	"abc\r\n"
	"--b1 \t\r\n"
	"Content-Type: text/plain; name=b.txt\r\n"
	"\r\n"
	"abc\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Disposition: attachment; filename=c.txt\r\n"
	"\r\n"
	"x\r\n"
	"--b1x\r\n"
	"--b1-\r\n"
	"y\r\n"
	"--b1-- \r\n"
	"epilogue\r\n"
	"--b1\r\n"
	"Content-Disposition: attachment; filename=no.txt\r\n";

static const char *bnd_files =
	"a.txt|text/plain|3|" SHA_ABC "\n"
	"b.txt|text/plain|5|" SHA_ABC_CRLF "\n"
	"c.txt||18|" SHA_LOOKALIKE "\n";

/* Three segments, cut at every pair of offsets: every delimiter, its
 * CRLF and each byte of the look-alikes land on a segment edge. */
static void test_boundaries_every_split(void **state)
{
	size_t n = strlen(bnd_msg);

	(void)state;
	for (size_t i = 0; i <= n; i++)
		for (size_t j = i; j <= n; j++) {
			mopen();
			feed(bnd_msg, i, 0);
			feed(bnd_msg + i, j - i, 0);
			feed(bnd_msg + j, n - j, 0);
			mt_mime_end(&t.m, &t);
			if (strcmp(files(), bnd_files) || t.m.leaves != 3 || t.total) {
				fprintf(stderr, "split at %zu, %zu:\n%s", i, j, t.out);
				fail();
			}
		}
	mclose();
}

static void test_nesting(void **state)
{
	(void)state;
	/* An outer delimiter ends an inner multipart that never closed. */
	mopen();
	run("Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n"
	    "--out\r\nContent-Type: multipart/alternative; boundary=\"in\"\r\n\r\n"
	    "--in\r\nContent-Type: text/plain; name=one.txt\r\n\r\none\r\n"
	    "--out\r\nContent-Type: text/plain; name=two.txt\r\n\r\ntwo\r\n"
	    "--out--\r\n", 0);
	assert_string_equal(files(), "one.txt|text/plain|3|" SHA_ONE "\ntwo.txt|text/plain|3|" SHA_TWO "\n");
	assert_int_equal(t.m.leaves, 2);

	/* A named message/rfc822 is a file (hashed whole), not descended. */
	mopen();
	run("Subject: outer\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
	    "--m\r\nContent-Type: message/rfc822; name=\"fwd.eml\"\r\n\r\n"
	    "From: x@y\r\nSubject: s\r\n\r\nbody\r\n--m--\r\n", 0);
	assert_string_equal(files(), "fwd.eml|message/rfc822|29|"
				     "646601a4269ef1ce53f7f32ccd66b5c45c1b381c231f6758c4936a90b286fac1\n");
	assert_string_equal(values(MT_MIME_SUBJECT), "outer");

	/* Nothing to split on. */
	mopen();
	run("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n", 0);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_missing_boundary], 1);
	assert_int_equal(t.m.leaves, 1);
	mclose();
}

static void test_odd_delimiters(void **state)
{
	char msg[1024];
	size_t o;

	(void)state;
	/* Bare LF everywhere; the LF before the delimiter is its own. */
	mopen();
	run("Subject: lf\nContent-Type: multipart/mixed; boundary=z\n\n"
	    "--z\nContent-Type: text/plain; name=lf.txt\n\nlf body\n\n--z--\n", 1);
	assert_string_equal(files(), "lf.txt|text/plain|8|"
				     "37d2fde31c635565116694be57cdab7f96300919b2d7cee2752380220fa723d8\n");

	/* A delimiter with more trailing blanks than the look-ahead holds. */
	mopen();
	o = (size_t)snprintf(msg, sizeof(msg),
			     "Content-Type: multipart/mixed; boundary=\"=_Part 0.1\"\r\n\r\n"
			     "--=_Part 0.1\r\nContent-Type: text/plain; name=one.txt\r\n\r\none\r\n--=_Part 0.1");
	memset(msg + o, ' ', 300);
	o += 300;
	o += (size_t)snprintf(msg + o, sizeof(msg) - o,
			      "\r\nContent-Type: text/plain; name=two.txt\r\n\r\ntwo\r\n--=_Part 0.1--\r\n");
	run(msg, 7);
	assert_string_equal(files(), "one.txt|text/plain|3|" SHA_ONE "\ntwo.txt|text/plain|3|" SHA_TWO "\n");

	/* The same blanks followed by text: content after all. */
	mopen();
	o = (size_t)snprintf(msg, sizeof(msg),
			     "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
			     "--b\r\nContent-Type: text/plain; name=one.txt\r\n\r\n--b");
	memset(msg + o, ' ', 300);
	o += 300;
	snprintf(msg + o, sizeof(msg) - o, "z\r\n--b--\r\n");
	run(msg, 0);
	assert_non_null(strstr(files(), "one.txt|text/plain|304|"));
	assert_int_equal(t.m.leaves, 1);
	mclose();
}

static void test_gap(void **state)
{
	const char *msg =
		"Content-Type: multipart/mixed; boundary=g\r\n\r\n"
		"--g\r\nContent-Type: application/octet-stream; name=lost.bin\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"aGVsbG8gd29ybGQK\r\naGVsbG8gd29ybGQK\r\n"
		"--g\r\nContent-Type: text/plain; name=kept.txt\r\n\r\nhello\r\n--g--\r\n";
	const char *second = strstr(msg, "aGVsbG8gd29ybGQK\r\n--g");

	(void)state;
	mopen();
	feed(msg, (size_t)(strstr(msg, "aGVs") + 6 - msg), 0);
	mt_mime_gap(&t.m, &t);
	feed(second, strlen(second), 0);
	mt_mime_end(&t.m, &t);
	assert_string_equal(files(), "lost.bin|application/octet-stream|3|(incomplete)\n"
				     "kept.txt|text/plain|5|" SHA_HELLO "\n");

	/* A hole in the message's own header block: what follows it is not
	 * trusted as headers. */
	mopen();
	feed("Subject: a\r\nFr", 14, 0);
	mt_mime_gap(&t.m, &t);
	run("om: x\r\nTo: y\r\n\r\nbody", 0);
	assert_string_equal(values(MT_MIME_SUBJECT), "a");
	assert_string_equal(values(MT_MIME_TO), "");
	mclose();
}

static void test_caps(void **state)
{
	char msg[4096];
	size_t o;

	(void)state;
	mopen_lim(128, 8, 2, 3);
	o = (size_t)snprintf(msg, sizeof(msg), "Subject: ");
	memset(msg + o, 's', 200);
	o += 200;
	snprintf(msg + o, sizeof(msg) - o,
		 "\r\nContent-Type: multipart/mixed; boundary=a\r\n"
		 "X-1: 1\r\nX-2: 2\r\nX-3: 3\r\nX-4: 4\r\nX-5: 5\r\nX-6: 6\r\n"
		 "From: hidden@example.com\r\n\r\n"  /* ninth field: skipped */
		 "--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		 "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"  /* depth 3 */
		 "--c\r\nContent-Type: text/plain; name=deep.txt\r\n\r\nx\r\n--c--\r\n"
		 "--b--\r\n"
		 "--a\r\nContent-Type: text/plain; name=one.txt\r\n\r\none\r\n"
		 "--a\r\nContent-Type: text/plain; name=many.txt\r\n\r\nx\r\n"  /* 4th part */
		 "--a\r\nContent-Type: text/plain; name=more.txt\r\n\r\nx\r\n"  /* 5th part */
		 "--a--\r\n");
	run(msg, 0);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_header_too_long], 1);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_too_many_headers], 1);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_nesting_too_deep], 1);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_too_many_parts], 2);
	assert_int_equal(strlen(values(MT_MIME_SUBJECT)), 128 - 9);
	assert_string_equal(values(MT_MIME_FROM), "");
	assert_string_equal(files(), "one.txt|text/plain|3|" SHA_ONE "\n");

	/* 40 addresses: 32 kept. */
	mopen();
	o = (size_t)snprintf(msg, sizeof(msg), "To: ");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "u%d@example.org, ", i);
	snprintf(msg + o, sizeof(msg) - o, "\r\n\r\n");
	run(msg, 0);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_store_full], 1);
	assert_non_null(strstr(values(MT_MIME_TO), "| u31@example.org"));
	assert_null(strstr(values(MT_MIME_TO), "u32@"));

	/* More named parts than the file store holds. */
	mopen();
	o = (size_t)snprintf(msg, sizeof(msg), "Content-Type: multipart/mixed; boundary=f\r\n\r\n");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o,
				      "--f\r\nContent-Type: text/plain; name=file-number-%02d.txt\r\n\r\nabc\r\n", i);
	snprintf(msg + o, sizeof(msg) - o, "--f--\r\n");
	run(msg, 0);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_store_full], 1);
	assert_int_equal(t.m.leaves, 40);
	assert_non_null(strstr(files(), "file-number-00.txt|text/plain|3|" SHA_ABC));
	mclose();
}

static void test_long_lines_and_reuse(void **state)
{
	char msg[3000];

	(void)state;
	mopen();
	memcpy(msg, "Subject: a\r\n\r\n", 14);
	memset(msg + 14, 'x', 2500);
	memcpy(msg + 1200, "\r\n", 2);
	strcpy(msg + 2514, "\r\n");
	run(msg, 100);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_line_too_long], 1);
	/* The next message starts clean: own results, own once-only flags. */
	mt_mime_begin(&t.m);
	run("Subject: b\r\nContent-Type: text/plain; name=n.txt\r\n\r\n", 0);
	assert_string_equal(values(MT_MIME_SUBJECT), "b");
	assert_string_equal(files(), "n.txt|text/plain|0|" SHA_EMPTY "\n");
	mt_mime_begin(&t.m);
	run(msg, 3000);
	assert_int_equal(t.anomalies[MT_CTR_anomaly_mime_line_too_long], 2);
	assert_string_equal(files(), "");
	mclose();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_quoted_printable),
		cmocka_unit_test(test_boundaries_every_split),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_odd_delimiters),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_long_lines_and_reuse),
	};

	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
