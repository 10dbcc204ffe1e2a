/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detection tests on event sequences: records built in code (auth, smtp,
 * imap, pop3, tls, anomaly, flow) fed to the engine with packet times, and
 * the alerts it writes checked field by field. Each detector is tested
 * just below, at and above its threshold, across its window, against its
 * allow-lists and, where it has one, for success after failures; the
 * engine for update pacing, its counters, and bounded memory under floods
 * of keys, table by table.
 */
#include "testutil.h"

#include <malloc.h>
#include <stdlib.h>

#include "app.h"
#include "config.h"
#include "detect.h"
#include "json.h"

#define T0 1700000000.0
#define MAXAL 64

/* What the tests look at of an alert. */
struct seen {
	uint32_t sid;
	uint16_t update;
	uint8_t severity;
	char detector[32];
	char signature[400];
	char source[64];
	char user[80];
	char server[64];
	char evidence[300];
	uint32_t attempts, failures, successes, distinct_users, distinct_sources;
	uint32_t distinct_senders;
	uint64_t messages, bytes;
	uint64_t first, last, ts;
	uint32_t nflows;
	uint64_t flow_id;
};

static struct {
	struct mt_config cfg;
	struct mt_detect *d;
	struct seen al[MAXAL];
	unsigned n;
	struct mt_buf json;         /* JSON of the last alert */
	bool no_json;               /* the flood test counts heap bytes */
	uint64_t next_flow;
} h;

static struct mt_rec rec;

static void copy_str(const struct mt_rec *r, struct mt_sref s, char *out, size_t len)
{
	struct mt_view v = mt_rec_str(r, s);
	size_t n = MT_MIN(v.len, len - 1);

	memcpy(out, v.p, n);
	out[n] = '\0';
}

static void collect(void *ctx, const struct mt_rec *r)
{
	const struct mt_body_alert *b = &r->b.alert;
	struct seen *s;

	(void)ctx;
	assert_int_equal(r->type, MT_REC_alert);
	if (!h.no_json) {
		mt_buf_reset(&h.json);
		mt_json_record(&h.json, r);
		mt_buf_putc(&h.json, '\0');
	}
	if (h.n >= MAXAL) {
		h.n++;
		return;
	}
	s = &h.al[h.n++];
	memset(s, 0, sizeof(*s));
	s->sid = b->signature_id;
	s->update = b->update;
	s->severity = b->severity;
	copy_str(r, b->detector, s->detector, sizeof(s->detector));
	copy_str(r, b->signature, s->signature, sizeof(s->signature));
	copy_str(r, b->src_prefix, s->source, sizeof(s->source));
	copy_str(r, b->user, s->user, sizeof(s->user));
	copy_str(r, b->server, s->server, sizeof(s->server));
	copy_str(r, b->evidence, s->evidence, sizeof(s->evidence));
	s->attempts = b->attempts;
	s->failures = b->failures;
	s->successes = b->successes;
	s->distinct_users = b->distinct_users;
	s->distinct_sources = b->distinct_sources;
	s->distinct_senders = b->distinct_senders;
	s->messages = b->messages;
	s->bytes = b->bytes;
	s->first = b->first_seen;
	s->last = b->last_seen;
	s->ts = b->timestamp;
	s->nflows = b->flow_ids.count;
	s->flow_id = b->flow_id;
}

static void cfg_text(const char *text)
{
	struct mt_config_errors e;

	mt_config_defaults(&h.cfg);
	memset(&e, 0, sizeof(e));
	if (text && mt_config_parse(&h.cfg, "test.conf", text, strlen(text), &e) != 0)
		fail_msg("config: %s", e.msg[0]);
}

/* A fresh engine on the defaults plus `text` ([detect] keys). */
static void start(const char *text)
{
	char err[256];

	mt_detect_destroy(h.d);
	h.d = NULL;
	h.n = 0;
	h.no_json = false;
	h.next_flow = 1000;
	cfg_text(text);
	h.d = mt_detect_create(&h.cfg, collect, NULL, err, sizeof(err));
	if (!h.d)
		fail_msg("mt_detect_create: %s", err);
}

static int teardown(void **state)
{
	(void)state;
	mt_detect_destroy(h.d);
	h.d = NULL;
	mt_buf_free(&h.json);
	return 0;
}

static uint64_t ns(double t)
{
	return (uint64_t)((T0 + t) * 1e9 + 0.5);
}

static void ip(struct mt_ipaddr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->ver = 4;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, a->a), 1);
	a->ver = 6;
}

static struct mt_rec *begin(enum mt_rtype type, double t, const char *src, const char *dst,
			    uint16_t port, uint8_t app)
{
	struct mt_body_flow *c;

	mt_rec_init(&rec, type);
	c = MT_REC_CONN(&rec);
	c->timestamp = ns(t);
	c->flow_id = ++h.next_flow;
	ip(&c->src_ip, src);
	c->src_port = (uint16_t)(40000 + h.next_flow % 20000);
	ip(&c->dest_ip, dst);
	c->dest_port = port;
	c->proto = 6;
	c->app_proto = app;
	return &rec;
}

static void str(struct mt_sref *dst, const char *s)
{
	if (s)
		mt_rec_set_str(&rec, dst, s, strlen(s));
}

static void feed(void)
{
	mt_detect_record(h.d, &rec);
	mt_detect_flush(h.d);
}

#define SRV "198.51.100.2"

/* One login attempt. */
static void auth_at(double t, const char *src, const char *dst, uint16_t port, uint8_t app,
		    const char *mech, bool clear, const char *user, const char *result)
{
	struct mt_body_auth *b = &begin(MT_REC_auth, t, src, dst, port, app)->b.auth;

	str(&b->mechanism, mech);
	str(&b->user, user);
	str(&b->result, result);
	b->cleartext = clear;
	b->attempt = 1;
	feed();
}

/* A SCRAM login (not cleartext): the credential detectors but no policy alert. */
static void login_scram(double t, const char *src, const char *user, bool ok)
{
	auth_at(t, src, SRV, 143, MT_APP_IMAP, "SCRAM-SHA-256", false, user,
		ok ? "success" : "failure");
}

static unsigned count_sid(uint32_t sid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h.n && i < MAXAL; i++)
		n += h.al[i].sid == sid;
	return n;
}

static const struct seen *last_sid(uint32_t sid)
{
	for (unsigned i = MT_MIN(h.n, (unsigned)MAXAL); i-- > 0;)
		if (h.al[i].sid == sid)
			return &h.al[i];
	fail_msg("no alert %u among %u", sid, h.n);
	return NULL;
}

static uint64_t ctr(enum mt_ctr c)
{
	return mt_detect_counters(h.d)->v[c];
}

/* ---- brute force ---------------------------------------------------- */

static void test_bruteforce_threshold(void **state)
{
	const struct seen *a;

	(void)state;
	start(NULL);
	for (int i = 0; i < 9; i++)
		login_scram(i * 5.0, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 0); /* just below: 9 in 40 s */
	login_scram(45.0, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1); /* at: the 10th */
	a = &h.al[0];
	assert_int_equal(a->sid, 8600101);
	assert_string_equal(a->detector, "bruteforce");
	assert_int_equal(a->update, 0);
	assert_int_equal(a->severity, 2);
	assert_int_equal(a->failures, 10);
	assert_int_equal(a->distinct_users, 1);
	assert_string_equal(a->source, "203.0.113.7");
	assert_string_equal(a->user, "alice");
	assert_string_equal(a->server, SRV ":143");
	assert_int_equal(a->first, ns(0));
	assert_int_equal(a->last, ns(45));
	assert_int_equal(a->nflows, 8);
	assert_string_equal(a->signature,
			    "IMAP brute force: 10 failed logins for alice from 203.0.113.7 in 45 s");
	/* Above: more failures soon after do not repeat it (rate limit). */
	for (int i = 0; i < 5; i++)
		login_scram(46.0 + i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	assert_int_equal(ctr(MT_CTR_detect_alerts_bruteforce), 1);
}

static void test_bruteforce_json(void **state)
{
	(void)state;
	start(NULL);
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	assert_string_equal((const char *)h.json.p,
		"{\"timestamp\":\"2023-11-14T22:13:29.000000+0000\",\"flow_id\":1010,"
		"\"event_type\":\"alert\",\"src_ip\":\"203.0.113.7\",\"src_port\":41010,"
		"\"dest_ip\":\"198.51.100.2\",\"dest_port\":143,\"proto\":\"TCP\","
		"\"app_proto\":\"imap\",\"alert\":{\"action\":\"allowed\","
		"\"signature_id\":8600101,\"signature\":\"IMAP brute force: 10 failed logins "
		"for alice from 203.0.113.7 in 9 s\",\"category\":\"Attempted User Privilege Gain\","
		"\"severity\":2,\"detector\":\"bruteforce\",\"update\":0,\"source\":\"203.0.113.7\","
		"\"user\":\"alice\",\"server\":\"198.51.100.2:143\","
		"\"first_seen\":\"2023-11-14T22:13:20.000000+0000\","
		"\"last_seen\":\"2023-11-14T22:13:29.000000+0000\",\"attempts\":10,\"failures\":10,"
		"\"distinct_users\":1,\"evidence\":\"10 failures in the last 60 s\","
		"\"flow_ids\":[1003,1004,1005,1006,1007,1008,1009,1010]}}\n");
}

static void test_bruteforce_window_slides(void **state)
{
	(void)state;
	start(NULL);
	/* 9 failures at 0..8 s, then one at 70 s: the early ones left the
	 * 60 s window, so there are never 10 inside it. */
	for (int i = 0; i < 9; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	login_scram(70.0, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 0);
	/* Eight more soon after: 9 inside the window with the one at 70 s. */
	for (int i = 0; i < 8; i++)
		login_scram(71.0 + i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 0);
	login_scram(80.0, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	/* A pause longer than the window (8 s -> 70 s) began a new episode. */
	assert_int_equal(h.al[0].failures, 10);
	assert_int_equal(h.al[0].first, ns(70));
	/* Sliding, not fixed: 5 failures late in one minute and 5 early in
	 * the next are 10 within 60 s. */
	start(NULL);
	for (int i = 0; i < 5; i++)
		login_scram(50.0 + i, "203.0.113.7", "alice", false);
	for (int i = 0; i < 5; i++)
		login_scram(61.0 + i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
}

static void test_bruteforce_updates(void **state)
{
	(void)state;
	start(NULL);
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	/* Doubling (10 -> 20) updates at once, before the minute is over. */
	for (int i = 10; i < 19; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	login_scram(19, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].update, 1);
	assert_int_equal(h.al[1].failures, 20);
	/* One failure every 10 s: one update a minute, not one each. */
	for (int i = 0; i < 12; i++)
		login_scram(25.0 + i * 10, "203.0.113.7", "alice", false);
	/* 25..135 s: updates when 60 s have passed since the last (19 s):
	 * at 85 s and at 145 s would be next. */
	assert_int_equal(h.n, 3);
	assert_int_equal(h.al[2].update, 2);
	assert_int_equal(h.al[2].ts, ns(85));
	assert_int_equal(ctr(MT_CTR_detect_updates), 2);
	/* Quiet for more than the window: a new attack is a new alert. */
	for (int i = 0; i < 10; i++)
		login_scram(400.0 + i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.al[3].update, 0);
	assert_int_equal(h.al[3].failures, 10);
}

static void test_bruteforce_allowlists(void **state)
{
	(void)state;
	start("[detect]\nallow_sources = 10.0.0.0/8, 203.0.113.0/28\n");
	for (int i = 0; i < 20; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 0);
	assert_true(ctr(MT_CTR_detect_allowlisted) >= 20);
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.17", "alice", false); /* outside /28 */
	assert_int_equal(h.n, 1);

	start("[detect]\nbruteforce_allow_users = svc-backup alice\n");
	for (int i = 0; i < 20; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(count_sid(8600101), 0);

	start("[detect]\nbruteforce_allow_servers = 198.51.100.0/24\n");
	for (int i = 0; i < 20; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(count_sid(8600101), 0);

	/* A list only silences its own detector. */
	start("[detect]\nspraying_allow_sources = 203.0.113.7\n");
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(count_sid(8600101), 1);
}

static void test_bruteforce_success_after(void **state)
{
	const struct seen *a;

	(void)state;
	start(NULL);
	/* A typo then the right password: no alert at all. */
	login_scram(0, "192.0.2.7", "alice", false);
	login_scram(1, "192.0.2.7", "alice", true);
	assert_int_equal(h.n, 0);
	/* A brute force, then a success from the same source. */
	for (int i = 0; i < 12; i++)
		login_scram(10 + i, "203.0.113.8", "bob", false);
	assert_int_equal(h.n, 1);
	login_scram(30, "203.0.113.8", "bob", true);
	assert_int_equal(h.n, 2);
	a = &h.al[1];
	assert_int_equal(a->sid, 8600103);
	assert_int_equal(a->severity, 1);
	assert_string_equal(a->detector, "bruteforce");
	assert_string_equal(a->user, "bob");
	assert_int_equal(a->failures, 12);
	assert_int_equal(a->successes, 1);
	assert_string_equal(a->signature, "IMAP login success for bob from 203.0.113.8 after "
					  "12 failed logins in 11 s: likely compromised");
	assert_int_equal(ctr(MT_CTR_detect_alerts_compromise), 1);
	/* A success from another source is not this attack's. */
	login_scram(31, "192.0.2.99", "bob", true);
	assert_int_equal(h.n, 2);
	/* Too late: compromise_window (10 min) after the last failure. */
	start(NULL);
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "bob", false);
	login_scram(9 + 601, "203.0.113.7", "bob", true);
	assert_int_equal(h.n, 1);
}

static void test_bruteforce_prefix(void **state)
{
	char src[32];
	const struct seen *a;

	(void)state;
	/* Stuffing off: these failures also come from many sources per user. */
	start("[detect]\nstuffing_enable = no\n");
	/* One address: the per-address alert only. */
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	assert_int_equal(count_sid(8600102), 0);
	/* Nine addresses of one /24, two failures each, alternating users:
	 * no address reaches 10, the network does. */
	start("[detect]\nstuffing_enable = no\n");
	for (int i = 0; i < 18; i++) {
		snprintf(src, sizeof(src), "192.0.2.%d", 10 + i % 9);
		login_scram(i, src, i % 2 ? "alice" : "bob", false);
	}
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600102);
	assert_string_equal(a->source, "192.0.2.0/24");
	assert_int_equal(a->failures, 10);
	assert_int_equal(a->distinct_sources, 9);
	assert_string_equal(a->user, "");
	/* IPv6: per /64. */
	start("[detect]\nstuffing_enable = no\n");
	for (int i = 0; i < 10; i++) {
		snprintf(src, sizeof(src), "2001:db8:1:2::%x", 0x10 + i);
		login_scram(i, src, "alice", false);
	}
	assert_int_equal(count_sid(8600102), 1);
	assert_string_equal(last_sid(8600102)->source, "2001:db8:1:2::/64");
	/* Prefix aggregation off. */
	start("[detect]\nbruteforce_prefix4 = 0\nstuffing_enable = no\n");
	for (int i = 0; i < 18; i++) {
		snprintf(src, sizeof(src), "192.0.2.%d", 10 + i % 9);
		login_scram(i, src, "alice", false);
	}
	assert_int_equal(h.n, 0);
}

/* ---- spraying and stuffing ------------------------------------------ */

static void test_spraying(void **state)
{
	char user[32];
	const struct seen *a;

	(void)state;
	start(NULL);
	for (int i = 0; i < 9; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		auth_at(i * 30.0, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true, user,
			"failure");
	}
	/* The same names again do not add to the distinct count. */
	for (int i = 0; i < 9; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		auth_at(300 + i * 30.0, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true,
			user, "failure");
	}
	assert_int_equal(count_sid(8600201), 0);
	auth_at(580, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true, "postmaster",
		"failure");
	assert_int_equal(count_sid(8600201), 1);
	a = last_sid(8600201);
	assert_string_equal(a->detector, "spraying");
	assert_int_equal(a->distinct_users, 10);
	assert_int_equal(a->failures, 19);
	assert_string_equal(a->signature,
			    "SMTP password spraying: 10 user names failed from 203.0.113.9 in 10 min");
	/* Failures spread over 10 users from one source are the spraying
	 * alert; the brute-force alert for the same source stays quiet. */
	start(NULL);
	for (int i = 0; i < 12; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		auth_at(i, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true, user, "failure");
	}
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600201);
	/* Too slow for the window: 10 names over 11 minutes. */
	start(NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		auth_at(i * 70.0, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true, user,
			"failure");
	}
	assert_int_equal(count_sid(8600201), 0);
	/* Spraying, then one of the names works. */
	start(NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		auth_at(i, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true, user, "failure");
	}
	auth_at(20, "203.0.113.9", SRV, 587, MT_APP_SMTP, "PLAIN", true, "user3", "success");
	assert_int_equal(count_sid(8600202), 1);
	assert_int_equal(last_sid(8600202)->severity, 1);
}

static void test_stuffing(void **state)
{
	char src[32];
	const struct seen *a;

	(void)state;
	start(NULL);
	/* Seven sources from seven networks: just below. */
	for (int i = 0; i < 7; i++) {
		snprintf(src, sizeof(src), "10.%d.0.1", i);
		login_scram(i * 20.0, src, "erin", false);
	}
	assert_int_equal(h.n, 0);
	snprintf(src, sizeof(src), "10.%d.0.1", 7);
	login_scram(150, src, "erin", false);
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600301);
	assert_string_equal(a->detector, "stuffing");
	assert_string_equal(a->user, "erin");
	assert_int_equal(a->distinct_sources, 8);
	assert_string_equal(a->source, "");
	/* Then a success from yet another source: likely compromise. */
	login_scram(200, "10.99.0.1", "erin", true);
	assert_int_equal(h.n, 2);
	a = &h.al[1];
	assert_int_equal(a->sid, 8600302);
	assert_int_equal(a->severity, 1);
	assert_string_equal(a->source, "10.99.0.1");
	/* Another user's success is not this attack's. */
	login_scram(201, "10.99.0.1", "frank", true);
	assert_int_equal(h.n, 2);
	/* Allow-listed user. */
	start("[detect]\nstuffing_allow_users = erin\n");
	for (int i = 0; i < 10; i++) {
		snprintf(src, sizeof(src), "10.%d.0.1", i);
		login_scram(i, src, "erin", false);
	}
	assert_int_equal(h.n, 0);
	/* Window: eight sources over more than ten minutes. */
	start(NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(src, sizeof(src), "10.%d.0.1", i);
		login_scram(i * 90.0, src, "erin", false);
	}
	assert_int_equal(h.n, 0);
}

static void test_stuffing_above(void **state)
{
	char src[32];

	(void)state;
	start(NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(src, sizeof(src), "10.%d.0.1", i);
		login_scram(i * 20.0, src, "erin", false);
	}
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].distinct_sources, 8);
	/* Above: seven more sources within 16 s of the alert are no new
	 * record; the 16th source doubles the count and updates at once. */
	for (int i = 8; i < 15; i++) {
		snprintf(src, sizeof(src), "10.%d.0.1", i);
		login_scram(150 + (i - 8) * 1.0, src, "erin", false);
	}
	assert_int_equal(h.n, 1);
	login_scram(160, "10.15.0.1", "erin", false);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].sid, 8600301);
	assert_int_equal(h.al[1].update, 1);
	assert_int_equal(h.al[1].distinct_sources, 16);
	assert_int_equal(h.al[1].first, ns(0));
	/* The same sources again, long after: the distinct count did not
	 * grow, so nothing new to say. */
	for (int i = 0; i < 16; i++) {
		snprintf(src, sizeof(src), "10.%d.0.1", i);
		login_scram(240 + i * 1.0, src, "erin", false);
	}
	assert_int_equal(h.n, 2);
	/* A 17th source a minute after the last record: an update. */
	login_scram(300, "10.16.0.1", "erin", false);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.al[2].update, 2);
	assert_int_equal(h.al[2].distinct_sources, 17);
	assert_int_equal(ctr(MT_CTR_detect_alerts_stuffing), 3);
}

/* ---- cleartext credentials ---------------------------------------- */

static void test_cleartext(void **state)
{
	const struct seen *a;

	(void)state;
	start(NULL);
	auth_at(0, "192.0.2.10", SRV, 587, MT_APP_SMTP, "PLAIN", true, "alice", "success");
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600401);
	assert_int_equal(a->severity, 3);
	assert_string_equal(a->detector, "cleartext");
	assert_string_equal(a->user, "alice");
	assert_string_equal(a->server, SRV ":587");
	assert_string_equal(a->signature, "SMTP credentials in cleartext: PLAIN for alice to "
					  "198.51.100.2:587 from 192.0.2.10 (success)");
	/* Once per server and user per window (24 h). */
	auth_at(60, "192.0.2.11", SRV, 587, MT_APP_SMTP, "LOGIN", true, "alice", "success");
	auth_at(3600, "192.0.2.10", SRV, 587, MT_APP_SMTP, "PLAIN", true, "alice", "success");
	assert_int_equal(h.n, 1);
	auth_at(61, "192.0.2.10", SRV, 110, MT_APP_POP3, "USER", true, "alice", "success");
	auth_at(62, "192.0.2.10", SRV, 587, MT_APP_SMTP, "PLAIN", true, "bob", "success");
	assert_int_equal(h.n, 3);
	auth_at(86400 + 1, "192.0.2.10", SRV, 587, MT_APP_SMTP, "PLAIN", true, "alice", "success");
	assert_int_equal(h.n, 4);
	assert_int_equal(h.al[3].update, 0);
	/* Failed logins are left to the attack detectors by default. */
	auth_at(90000, "192.0.2.10", SRV, 143, MT_APP_IMAP, "LOGIN", true, "carol", "failure");
	assert_int_equal(h.n, 4);
	/* Not cleartext: CRAM-MD5, SCRAM. APOP is (its digest falls to a
	 * dictionary). */
	auth_at(90001, "192.0.2.10", SRV, 143, MT_APP_IMAP, "CRAM-MD5", false, "carol", "success");
	assert_int_equal(h.n, 4);
	auth_at(90002, "192.0.2.10", SRV, 110, MT_APP_POP3, "APOP", false, "carol", "success");
	assert_int_equal(h.n, 5);
	start("[detect]\ncleartext_failures = yes\ncleartext_allow_servers = 192.0.2.0/24\n");
	auth_at(0, "192.0.2.10", SRV, 143, MT_APP_IMAP, "LOGIN", true, "carol", "failure");
	assert_int_equal(h.n, 1);
	auth_at(1, "192.0.2.10", "192.0.2.25", 143, MT_APP_IMAP, "LOGIN", true, "carol", "success");
	assert_int_equal(h.n, 1);
	start("[detect]\ncleartext_enable = no\n");
	auth_at(0, "192.0.2.10", SRV, 587, MT_APP_SMTP, "PLAIN", true, "alice", "success");
	assert_int_equal(h.n, 0);
}

/* ---- STARTTLS ------------------------------------------------------ */

static void smtp_session(double t, const char *src, const char *dst, const char *const *caps,
			 bool offered, bool requested, uint16_t reply, const char *mech,
			 const char *user, uint16_t txn)
{
	struct mt_body_smtp *b = &begin(MT_REC_smtp, t, src, dst, 587, MT_APP_SMTP)->b.smtp;

	for (unsigned i = 0; caps && caps[i]; i++)
		mt_rec_list_add(&rec, &b->capabilities, caps[i], strlen(caps[i]));
	b->starttls_offered = offered;
	b->starttls_requested = requested;
	b->starttls_reply = reply;
	str(&b->auth_mech, mech);
	str(&b->auth_user, user);
	if (user)
		str(&b->auth_result, "success");
	b->transaction = txn;
	feed();
}

static const char *const caps_tls[] = { "PIPELINING", "SIZE 1048576", "STARTTLS",
					"AUTH PLAIN LOGIN", "CHUNKING", "8BITMIME", NULL };
static const char *const caps_none[] = { "PIPELINING", "SIZE 1048576", "AUTH PLAIN LOGIN",
					 "CHUNKING", "8BITMIME", "XFORWARD", NULL };
static const char *const caps_mangled[] = { "PIPELINING", "SIZE 1048576", "XXXXXXXA",
					    "AUTH PLAIN LOGIN", "CHUNKING", NULL };

static void test_starttls_not_offered(void **state)
{
	const struct seen *a;

	(void)state;
	start(NULL);
	/* No history: a server that never offered STARTTLS is not news. */
	smtp_session(0, "192.0.2.10", SRV, caps_none, false, false, 0, NULL, NULL, 0);
	assert_int_equal(h.n, 0);
	smtp_session(10, "192.0.2.10", SRV, caps_tls, true, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 0);
	smtp_session(3600, "192.0.2.11", SRV, caps_none, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600501);
	assert_int_equal(a->severity, 2);
	assert_string_equal(a->server, SRV ":587");
	assert_string_equal(a->signature,
			    "SMTP STARTTLS no longer offered by 198.51.100.2:587 (offered 60 min before)");
	/* Later transactions of a session repeat its fields: judged once. */
	smtp_session(3601, "192.0.2.11", SRV, caps_none, false, false, 0, NULL, NULL, 2);
	assert_int_equal(h.n, 1);
	/* Another port of the same address is another server. */
	start(NULL);
	smtp_session(0, "192.0.2.10", SRV, caps_tls, true, false, 0, NULL, NULL, 1);
	begin(MT_REC_smtp, 5, "192.0.2.10", SRV, 25, MT_APP_SMTP);
	mt_rec_list_add(&rec, &rec.b.smtp.capabilities, "PIPELINING", 10);
	feed();
	assert_int_equal(h.n, 0);
	/* Forgotten after starttls_memory. */
	start("[detect]\nstarttls_memory = 1h\n");
	smtp_session(0, "192.0.2.10", SRV, caps_tls, true, false, 0, NULL, NULL, 1);
	smtp_session(3601, "192.0.2.10", SRV, caps_none, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 0);
	/* A TLS record after STARTTLS teaches it too; credentials follow. */
	start(NULL);
	begin(MT_REC_tls, 0, "192.0.2.10", SRV, 587, MT_APP_SMTP)->b.tls.starttls = 1;
	feed();
	smtp_session(10, "192.0.2.10", SRV, caps_none, false, false, 0, "LOGIN", "alice", 1);
	assert_int_equal(count_sid(8600501), 1);
	a = last_sid(8600501);
	assert_int_equal(a->severity, 1);
	assert_string_equal(a->user, "alice");
}

static void test_starttls_mangled_and_refused(void **state)
{
	const struct seen *a;

	(void)state;
	start(NULL);
	smtp_session(0, "192.0.2.10", SRV, caps_mangled, false, false, 0, "PLAIN", "alice", 1);
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600502);
	assert_int_equal(a->severity, 1);
	assert_string_equal(a->evidence, "capability `XXXXXXXA', STARTTLS never requested");
	assert_string_equal(a->signature,
			    "SMTP STARTTLS stripping: `XXXXXXXA' in place of STARTTLS in the "
			    "capabilities of 198.51.100.2:587; credentials for alice then sent in "
			    "cleartext (PLAIN)");
	/* Same server and kind within the hour: counted, updated on pace. */
	smtp_session(5, "192.0.2.12", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 2); /* 1 -> 2 sessions: doubled */
	assert_int_equal(h.al[1].update, 1);
	assert_int_equal(h.al[1].attempts, 2);
	/* Real extensions of eight letters are not masks. */
	start(NULL);
	smtp_session(0, "192.0.2.10", SRV, caps_none, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 0);
	/* 454 to STARTTLS. */
	start(NULL);
	smtp_session(0, "192.0.2.10", SRV, caps_tls, true, true, 454, NULL, NULL, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600503);
	assert_int_equal(h.al[0].severity, 2);
	assert_string_equal(h.al[0].evidence, "STARTTLS reply 454, offered in the same session");
	/* Accepted STARTTLS is fine. */
	smtp_session(1, "192.0.2.10", SRV, caps_tls, true, true, 220, NULL, NULL, 0);
	assert_int_equal(h.n, 1);
	/* IMAP NO and POP3 -ERR. */
	start(NULL);
	begin(MT_REC_imap, 0, "192.0.2.10", SRV, 143, MT_APP_IMAP);
	rec.b.imap.starttls_offered = 1;
	rec.b.imap.starttls_requested = 1;
	str(&rec.b.imap.starttls_reply, "NO");
	str(&rec.b.imap.auth_mech, "LOGIN");
	str(&rec.b.imap.auth_user, "bob");
	feed();
	begin(MT_REC_pop3, 1, "192.0.2.10", SRV, 110, MT_APP_POP3);
	mt_rec_list_add(&rec, &rec.b.pop3.capabilities, "XXXX", 4);
	mt_rec_list_add(&rec, &rec.b.pop3.capabilities, "UIDL", 4);
	feed();
	begin(MT_REC_pop3, 2, "192.0.2.10", "198.51.100.3", 110, MT_APP_POP3);
	rec.b.pop3.stls_requested = 1;
	str(&rec.b.pop3.stls_reply, "-ERR");
	feed();
	assert_int_equal(h.n, 3);
	assert_int_equal(h.al[0].sid, 8600503);
	assert_int_equal(h.al[0].severity, 1);
	assert_string_equal(h.al[0].user, "bob");
	assert_int_equal(h.al[1].sid, 8600502);
	assert_int_equal(h.al[2].sid, 8600503);
	/* Allow-listed server. */
	start("[detect]\nstarttls_allow_servers = 198.51.100.2\n");
	smtp_session(0, "192.0.2.10", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 0);
}

static void anomaly_at(double t, const char *src, uint16_t port, uint8_t app, const char *event,
		       const char *dir, const void *ev, size_t evlen)
{
	struct mt_body_anomaly *b = &begin(MT_REC_anomaly, t, src, SRV, port, app)->b.anomaly;

	str(&b->type, "applayer");
	str(&b->event, event);
	str(&b->dir, dir);
	if (ev)
		mt_rec_set_str(&rec, &b->evidence, ev, evlen);
	feed();
}

static void test_starttls_anomalies_and_known_server(void **state)
{
	(void)state;
	start(NULL);
	anomaly_at(0, "192.0.2.10", 587, MT_APP_SMTP, "app_starttls_cleartext", "toserver",
		   "EHLO x", 6);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600504);
	assert_int_equal(h.al[0].severity, 1);
	assert_string_equal(h.al[0].evidence, "app_starttls_cleartext: EHLO x");
	anomaly_at(1, "192.0.2.10", 587, MT_APP_SMTP, "app_data_before_starttls_reply", "toserver",
		   "MAIL FROM:<a@b>", 15);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].sid, 8600505);
	/* Credentials in the clear to a server known for STARTTLS, in a
	 * session that showed no capabilities (a POP3 client without CAPA). */
	begin(MT_REC_pop3, 10, "192.0.2.10", SRV, 110, MT_APP_POP3);
	mt_rec_list_add(&rec, &rec.b.pop3.capabilities, "STLS", 4);
	rec.b.pop3.stls_offered = 1;
	feed();
	begin(MT_REC_pop3, 20, "192.0.2.10", SRV, 110, MT_APP_POP3);
	str(&rec.b.pop3.auth_mech, "USER");
	str(&rec.b.pop3.auth_user, "grace");
	str(&rec.b.pop3.auth_result, "success");
	feed();
	assert_int_equal(count_sid(8600506), 1);
	assert_string_equal(last_sid(8600506)->user, "grace");
	/* The client that saw the offer and ignored it is only the
	 * cleartext detector's business. */
	begin(MT_REC_pop3, 30, "192.0.2.10", SRV, 110, MT_APP_POP3);
	mt_rec_list_add(&rec, &rec.b.pop3.capabilities, "STLS", 4);
	rec.b.pop3.stls_offered = 1;
	str(&rec.b.pop3.auth_mech, "USER");
	str(&rec.b.pop3.auth_user, "heidi");
	feed();
	assert_int_equal(h.n, 3);
}

/* One alert per server and kind per starttls_window (1 h), the window
 * running from the latest evidence: it slides while the downgrade goes on. */
static void test_starttls_window_slides(void **state)
{
	(void)state;
	start(NULL);
	smtp_session(0, "192.0.2.10", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].update, 0);
	smtp_session(3000, "192.0.2.11", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].update, 1);
	assert_int_equal(h.al[1].attempts, 2);
	/* 6500 s after the first but 3500 s after the latest: the same
	 * episode, an update. */
	smtp_session(6500, "192.0.2.12", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.al[2].sid, 8600502);
	assert_int_equal(h.al[2].update, 2);
	assert_int_equal(h.al[2].attempts, 3);
	assert_int_equal(h.al[2].first, ns(0));
	/* Quiet for more than the window: a new alert. */
	smtp_session(6500 + 3601, "192.0.2.13", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.al[3].update, 0);
	assert_int_equal(h.al[3].attempts, 1);
	assert_int_equal(h.al[3].first, ns(6500 + 3601));
	/* starttls_window sets it: with 15 min, 20 min of quiet is a new alert. */
	start("[detect]\nstarttls_window = 15m\n");
	smtp_session(0, "192.0.2.10", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	smtp_session(1200, "192.0.2.10", SRV, caps_mangled, false, false, 0, NULL, NULL, 1);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].update, 0);
}

/* ---- exfiltration -------------------------------------------------- */

static void imap_session_from(double t, const char *src, const char *user, uint32_t exists,
			      uint32_t fetched, uint64_t bytes, uint32_t deleted, uint32_t expunged)
{
	struct mt_body_imap *b = &begin(MT_REC_imap, t, src, SRV, 143, MT_APP_IMAP)->b.imap;

	str(&b->auth_mech, "AUTHENTICATE");
	str(&b->auth_user, user);
	str(&b->auth_result, "success");
	mt_rec_list_add(&rec, &b->mailboxes, "INBOX", 5);
	b->exists = exists;
	b->messages_fetched = fetched;
	b->bytes_fetched = bytes;
	b->deleted = deleted;
	b->expunged = expunged;
	feed();
}

/* An IMAP session that started at `t` (its summary's timestamp). */
static void imap_session(double t, const char *user, uint32_t exists, uint32_t fetched,
			 uint64_t bytes, uint32_t deleted, uint32_t expunged)
{
	imap_session_from(t, "192.0.2.10", user, exists, fetched, bytes, deleted, expunged);
}

/* Another connection's record at `t` (a UDP flow, which no detector
 * uses): the engine's clock is the newest record time, so a session
 * summary fed next arrives at `t`, as at the end of its session. */
static void clock_to(double t)
{
	begin(MT_REC_flow, t, "192.0.2.200", "198.51.100.200", 53, MT_APP_NONE)->b.flow.proto = 17;
	feed();
}

static void test_exfil_volume(void **state)
{
	const struct seen *a;

	(void)state;
	start(NULL);
	/* 499 messages in five sessions over 8 minutes: just below. */
	for (int i = 0; i < 4; i++)
		imap_session(i * 120.0, "frank", 5000, 100, 1000000, 0, 0);
	imap_session(480, "frank", 5000, 99, 1000000, 0, 0);
	assert_int_equal(h.n, 0);
	imap_session(500, "frank", 5000, 1, 1000, 0, 0);
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600601);
	assert_string_equal(a->detector, "exfiltration");
	assert_string_equal(a->user, "frank");
	assert_int_equal(a->messages, 500);
	assert_int_equal(a->bytes, 5001000);
	assert_int_equal(a->attempts, 6);
	/* Bytes alone: 200 MiB in one POP3 session. */
	start(NULL);
	begin(MT_REC_pop3, 0, "192.0.2.10", SRV, 110, MT_APP_POP3);
	str(&rec.b.pop3.auth_user, "grace");
	str(&rec.b.pop3.auth_result, "success");
	rec.b.pop3.stat_messages = 1000;
	rec.b.pop3.retr_messages = 10;
	rec.b.pop3.retr_bytes = 200ull << 20;
	feed();
	assert_int_equal(h.n, 1);
	assert_string_equal(h.al[0].signature, "POP3 mass download: grace retrieved 10 messages "
					       "(200.0 MiB) in 0 s from 192.0.2.10");
	/* Spread over more than the window: never 500 inside it. */
	start(NULL);
	for (int i = 0; i < 10; i++)
		imap_session(i * 120.0, "frank", 5000, 90, 1000, 0, 0);
	assert_int_equal(h.n, 0);
	/* Allow-listed (a backup account). */
	start("[detect]\nexfil_allow_users = backup\n");
	imap_session(0, "backup", 10000, 10000, 1ull << 30, 0, 0);
	assert_int_equal(h.n, 0);
}

static void test_exfil_whole_mailbox(void **state)
{
	(void)state;
	start(NULL);
	imap_session(0, "frank", 19, 19, 1000, 0, 0);   /* below the minimum */
	imap_session(1, "frank", 100, 89, 1000, 0, 0);  /* below 90% */
	assert_int_equal(h.n, 0);
	imap_session(2, "frank", 20, 18, 1000, 0, 0);   /* 90% of 20 */
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600602);
	assert_string_equal(h.al[0].evidence, "fetched 18, announced 20 (90%)");
	assert_string_equal(h.al[0].signature,
			    "IMAP whole-mailbox download: frank fetched 18 of the 20 messages of "
			    "INBOX (1000 bytes) in one session from 192.0.2.10");
	/* A second whole download within the window: an update when due. */
	imap_session(3, "frank", 20, 20, 1000, 0, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].update, 1);
}

static void test_exfil_deletion(void **state)
{
	(void)state;
	start(NULL);
	imap_session(0, "ivan", 0, 0, 0, 60, 60);   /* \Deleted then EXPUNGE: 60 */
	imap_session(60, "ivan", 0, 0, 0, 39, 0);
	assert_int_equal(h.n, 0);
	imap_session(120, "ivan", 0, 0, 0, 0, 1);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600603);
	assert_int_equal(h.al[0].messages, 100);
}

static void test_exfil_volume_above(void **state)
{
	(void)state;
	start(NULL);
	imap_session(0, "frank", 5000, 500, 1000, 0, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].messages, 500);
	/* Above: more soon after is no new record until the count doubles
	 * (messages plus MiB: 500 -> 1000) or a minute has passed. */
	imap_session(10, "frank", 5000, 400, 1000, 0, 0);
	assert_int_equal(h.n, 1);
	imap_session(20, "frank", 5000, 100, 1000, 0, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].sid, 8600601);
	assert_int_equal(h.al[1].update, 1);
	assert_int_equal(h.al[1].messages, 1000);
	assert_int_equal(h.al[1].attempts, 3);
	imap_session(50, "frank", 5000, 1, 1000, 0, 0);
	assert_int_equal(h.n, 2); /* grown, but 30 s and not doubled */
	imap_session(81, "frank", 5000, 1, 1000, 0, 0);
	assert_int_equal(h.n, 3); /* a minute after the last record */
	assert_int_equal(h.al[2].update, 2);
	assert_int_equal(h.al[2].messages, 1002);
	assert_int_equal(h.al[2].first, ns(0));
	/* Quiet for more than the window: a new alert, not an update. */
	imap_session(700, "frank", 5000, 500, 1000, 0, 0);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.al[3].update, 0);
	assert_int_equal(h.al[3].messages, 500);
	assert_int_equal(h.al[3].attempts, 1);
}

/*
 * A session summary arrives when its session ends and carries the start:
 * a session longer than the window adds only its share of the window,
 * count * window / length, rounded up. The whole-mailbox signal is per
 * session and unchanged.
 */
static void test_exfil_long_session(void **state)
{
	const struct seen *a;

	(void)state;
	/* 600 messages and 1 GiB over a day: 5 messages and 7.1 MiB of it
	 * fit 10 minutes. */
	start(NULL);
	clock_to(86400);
	imap_session(0, "frank", 5000, 600, 1ull << 30, 0, 0);
	assert_int_equal(h.n, 0);
	/* The share is counted and rounded up: 5 + 494 is just below, one
	 * more is 500. */
	imap_session(86400, "frank", 5000, 494, 1000, 0, 0);
	assert_int_equal(h.n, 0);
	imap_session(86401, "frank", 5000, 1, 1000, 0, 0);
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600601);
	assert_int_equal(a->messages, 1095);
	assert_int_equal(a->attempts, 3);
	/* The episode began when the long session did. */
	assert_int_equal(a->first, ns(0));
	assert_int_equal(a->last, ns(86401));
	assert_non_null(strstr(a->signature, "fetched 1095 messages (1024.0 MiB) in 24 h"));
	assert_non_null(strstr(a->evidence, "500 messages, "));

	/* The same 600 in 5 minutes: all of it, and the span says so. */
	start(NULL);
	clock_to(300);
	imap_session(0, "frank", 5000, 600, 1000000, 0, 0);
	assert_int_equal(h.n, 1);
	a = &h.al[0];
	assert_int_equal(a->sid, 8600601);
	assert_int_equal(a->messages, 600);
	assert_int_equal(a->first, ns(0));
	assert_int_equal(a->last, ns(300));
	assert_string_equal(a->signature, "IMAP mass download: frank fetched 600 messages "
					  "(976.6 KiB) in 5 min from 192.0.2.10");
	assert_string_equal(a->evidence,
			    "600 messages, 1000000 bytes in the last 600 s over 1 sessions");

	/* Just inside the window: all 500 count. */
	start(NULL);
	clock_to(599.5);
	imap_session(0, "frank", 5000, 500, 1000, 0, 0);
	assert_int_equal(count_sid(8600601), 1);
	/* Just beyond it, the share: 600 * 600 / 721 rounds up to 500 ... */
	start(NULL);
	clock_to(721.5);
	imap_session(0, "frank", 5000, 600, 1000, 0, 0);
	assert_int_equal(count_sid(8600601), 1);
	assert_non_null(strstr(h.al[0].evidence, "500 messages, "));
	assert_non_null(strstr(h.al[0].evidence, "counted pro rata"));
	/* ... and 600 * 600 / 722 to 499. */
	start(NULL);
	clock_to(722.5);
	imap_session(0, "frank", 5000, 600, 1000, 0, 0);
	assert_int_equal(h.n, 0);

	/* Bytes alike: 250 MiB over 20 minutes is 125 MiB a window. */
	start(NULL);
	clock_to(1200);
	imap_session(0, "frank", 5000, 10, 250ull << 20, 0, 0);
	assert_int_equal(h.n, 0);
	start(NULL);
	clock_to(590);
	imap_session(0, "frank", 5000, 10, 250ull << 20, 0, 0);
	assert_int_equal(count_sid(8600601), 1);

	/* Whole mailbox in a day-long session: still reported. */
	start(NULL);
	clock_to(86400);
	imap_session(0, "frank", 600, 600, 1000, 0, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600602);

	/* Deletions alike: 150 over a day are 2 a window; in 5 min, 150. */
	start(NULL);
	clock_to(86400);
	imap_session(0, "ivan", 0, 0, 0, 150, 150);
	assert_int_equal(h.n, 0);
	start(NULL);
	clock_to(300);
	imap_session(0, "ivan", 0, 0, 0, 150, 150);
	assert_int_equal(count_sid(8600603), 1);
	assert_int_equal(h.al[0].first, ns(0));
	assert_int_equal(h.al[0].messages, 150);
}

static void test_exfil_deletion_window_slides(void **state)
{
	(void)state;
	start(NULL);
	/* The user stays active, but the 98 deletions at 0 s have left the
	 * window by 610 s. */
	imap_session(0, "ivan", 0, 0, 0, 98, 0);
	imap_session(300, "ivan", 0, 0, 0, 1, 0);
	imap_session(610, "ivan", 0, 0, 0, 1, 0);
	imap_session(620, "ivan", 0, 0, 0, 97, 0);
	assert_int_equal(h.n, 0); /* 99 inside */
	imap_session(630, "ivan", 0, 0, 0, 1, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600603);
	assert_string_equal(h.al[0].evidence, "100 deletions in the last 600 s");
	/* One episode all along: its total covers all of it. */
	assert_int_equal(h.al[0].messages, 198);
	assert_int_equal(h.al[0].first, ns(0));
	/* Sliding, not fixed: 50 late in one ten-minute span and 50 early
	 * in the next are 100 within the window. */
	start(NULL);
	imap_session(550, "ivan", 0, 0, 0, 50, 0);
	imap_session(650, "ivan", 0, 0, 0, 50, 0);
	assert_int_equal(count_sid(8600603), 1);
}

static void test_exfil_allowlists(void **state)
{
	(void)state;
	/* Deletions by an allow-listed user; another user is still seen. */
	start("[detect]\nexfil_allow_users = ivan\n");
	imap_session(0, "ivan", 0, 0, 0, 500, 500);
	assert_int_equal(h.n, 0);
	assert_true(ctr(MT_CTR_detect_allowlisted) >= 1);
	imap_session(1, "judy", 0, 0, 0, 100, 0);
	assert_int_equal(count_sid(8600603), 1);
	assert_string_equal(h.al[0].user, "judy");
	start("[detect]\nexfil_allow_servers = 198.51.100.0/24\n");
	imap_session(0, "ivan", 0, 0, 0, 500, 500);
	assert_int_equal(h.n, 0);
	/* Whole mailbox from an allow-listed host (a backup server). */
	start("[detect]\nexfil_allow_sources = 192.0.2.0/24\n");
	imap_session(0, "frank", 100, 100, 1000, 0, 0);
	assert_int_equal(h.n, 0);
	imap_session_from(1, "203.0.113.20", "frank", 100, 100, 1000, 0, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600602);
	assert_string_equal(h.al[0].source, "203.0.113.20");
	start("[detect]\nexfil_allow_users = frank\n");
	imap_session(0, "frank", 100, 100, 1000, 0, 0);
	assert_int_equal(h.n, 0);
	imap_session(1, "grace", 100, 100, 1000, 0, 0);
	assert_int_equal(count_sid(8600602), 1);
	/* Another detector's list does not silence this one. */
	start("[detect]\nrelay_allow_users = frank\n");
	imap_session(0, "frank", 100, 100, 1000, 0, 0);
	assert_int_equal(count_sid(8600602), 1);
}

/* ---- exploits ------------------------------------------------------ */

static void test_exploit(void **state)
{
	static const uint8_t nul[] = "MAIL FROM:<a\0b@x>";

	(void)state;
	start(NULL);
	anomaly_at(0, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver",
		   "FROM:<${run{/bin/sh}}@x>", 24);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600701);
	assert_int_equal(h.al[0].severity, 1);
	assert_string_equal(h.al[0].detector, "exploit");
	assert_string_equal(h.al[0].evidence, "FROM:<${run{/bin/sh}}@x>");
	anomaly_at(1, "203.0.113.66", 25, MT_APP_SMTP, "smtp_nul_in_command", "toserver", nul,
		   sizeof(nul) - 1);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.al[1].evidence, "MAIL FROM:<a\\x00b@x>");
	/* The same kind from the same source within the hour: counted. */
	anomaly_at(2, "203.0.113.66", 25, MT_APP_SMTP, "smtp_nul_in_command", "toserver", nul,
		   sizeof(nul) - 1);
	assert_int_equal(h.n, 3); /* 1 -> 2 connections: doubled */
	assert_int_equal(h.al[2].update, 1);
	anomaly_at(3, "203.0.113.66", 25, MT_APP_SMTP, "smtp_nul_in_command", "toserver", nul,
		   sizeof(nul) - 1);
	assert_int_equal(h.n, 3);
	/* Not exploits: unknown commands, replies, server-side lines. */
	anomaly_at(4, "203.0.113.66", 25, MT_APP_SMTP, "smtp_unknown_command", "toserver", "X", 1);
	anomaly_at(5, "203.0.113.66", 143, MT_APP_IMAP, "imap_line_too_long", "toclient", "X", 1);
	assert_int_equal(h.n, 3);
	anomaly_at(6, "203.0.113.66", 143, MT_APP_IMAP, "imap_literal_too_large", "toserver",
		   "a1 APPEND INBOX {99999999999}", 29);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.al[3].sid, 8600711);
	/* Evidence is escaped and cut. */
	{
		uint8_t big[200];

		memset(big, 0xff, sizeof(big));
		anomaly_at(7, "203.0.113.66", 110, MT_APP_POP3, "pop3_line_too_long", "toserver",
			   big, sizeof(big));
		assert_int_equal(h.n, 5);
		assert_true(strlen(h.al[4].evidence) < 160);
		assert_non_null(strstr(h.al[4].evidence, "\\xff\\xff"));
		assert_non_null(strstr(h.al[4].evidence, "..."));
	}
	start("[detect]\nexploit_allow_sources = 203.0.113.0/24\n");
	anomaly_at(0, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver", "x", 1);
	assert_int_equal(h.n, 0);
}

/* One alert per source and kind per exploit_window (1 h) from the latest
 * evidence: it slides while the probing goes on. */
static void test_exploit_window_slides(void **state)
{
	(void)state;
	start(NULL);
	anomaly_at(0, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver", "x", 1);
	anomaly_at(3000, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver",
		   "x", 1);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].update, 1);
	anomaly_at(6500, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver",
		   "x", 1);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.al[2].update, 2);
	assert_int_equal(h.al[2].attempts, 3);
	assert_int_equal(h.al[2].first, ns(0));
	anomaly_at(6500 + 3601, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string",
		   "toserver", "x", 1);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.al[3].update, 0);
	assert_int_equal(h.al[3].attempts, 1);
	assert_string_equal(h.al[3].signature, "SMTP exploit attempt: ${...} expansion string in "
					       "a command (CVE-2019-10149 style) from 203.0.113.66 "
					       "to 198.51.100.2:25");
	/* exploit_window sets it: with 5 min, 10 min of quiet is a new alert. */
	start("[detect]\nexploit_window = 5m\n");
	anomaly_at(0, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver", "x", 1);
	anomaly_at(600, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver",
		   "x", 1);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[1].update, 0);
}

/* ---- relay --------------------------------------------------------- */

static void smtp_txn(double t, const char *src, const char *user, const char *from,
		     uint32_t rcpts)
{
	struct mt_body_smtp *b = &begin(MT_REC_smtp, t, src, SRV, 587, MT_APP_SMTP)->b.smtp;

	b->transaction = 1;
	b->recipients = rcpts;
	str(&b->mail_from, from);
	str(&b->auth_user, user);
	if (user)
		str(&b->auth_result, "success");
	feed();
}

static void test_relay(void **state)
{
	char from[64];

	(void)state;
	start(NULL);
	for (int i = 0; i < 19; i++)
		smtp_txn(i * 10.0, "192.0.2.10", "mallory", "<mallory@example.test>", 10);
	smtp_txn(200, "192.0.2.10", "mallory", "<mallory@example.test>", 9);
	assert_int_equal(h.n, 0); /* 199 */
	smtp_txn(210, "192.0.2.11", "mallory", "<mallory@example.test>", 1);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600801);
	assert_string_equal(h.al[0].user, "mallory");
	assert_int_equal(h.al[0].attempts, 200);
	assert_int_equal(h.al[0].messages, 21);
	/* Unauthenticated: per source; relay_allow_sources for the MX. */
	start("[detect]\nrelay_allow_sources = 192.0.2.25\n");
	smtp_txn(0, "192.0.2.25", NULL, "<list@example.test>", 5000);
	assert_int_equal(h.n, 0);
	smtp_txn(1, "192.0.2.26", NULL, "<list@example.test>", 250);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.al[0].source, "192.0.2.26");
	assert_string_equal(h.al[0].user, "");
	/* Many envelope senders from one source. */
	start(NULL);
	for (int i = 0; i < 19; i++) {
		snprintf(from, sizeof(from), "<s%d@example.test>", i);
		smtp_txn(i, "192.0.2.30", NULL, from, 1);
	}
	smtp_txn(19.5, "192.0.2.30", NULL, "<s0@example.test>", 1);
	assert_int_equal(h.n, 0);
	smtp_txn(20, "192.0.2.30", NULL, "<s19@example.test>", 1);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600802);
	/* Senders are not users: their own field. */
	assert_int_equal(h.al[0].distinct_senders, 20);
	assert_int_equal(h.al[0].distinct_users, 0);
}

static void test_relay_window_slides(void **state)
{
	char from[64];

	(void)state;
	start(NULL);
	/* The key stays active (never quiet for a window), but the 150
	 * recipients at 0 s have left the window by 610 s: 50 inside it. */
	smtp_txn(0, "192.0.2.10", "mallory", "<mallory@example.test>", 150);
	smtp_txn(300, "192.0.2.10", "mallory", "<mallory@example.test>", 40);
	smtp_txn(610, "192.0.2.10", "mallory", "<mallory@example.test>", 10);
	smtp_txn(620, "192.0.2.10", "mallory", "<mallory@example.test>", 149);
	assert_int_equal(h.n, 0); /* 199 inside */
	smtp_txn(630, "192.0.2.10", "mallory", "<mallory@example.test>", 1);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600801);
	assert_string_equal(h.al[0].evidence, "200 recipients in the last 600 s");
	/* One episode all along: its totals and span cover all of it. */
	assert_int_equal(h.al[0].attempts, 350);
	assert_int_equal(h.al[0].messages, 5);
	assert_int_equal(h.al[0].first, ns(0));
	/* Sliding, not fixed: late in one ten-minute span and early in the
	 * next are within one window. */
	start(NULL);
	smtp_txn(550, "192.0.2.10", "mallory", "<mallory@example.test>", 100);
	smtp_txn(650, "192.0.2.10", "mallory", "<mallory@example.test>", 100);
	assert_int_equal(count_sid(8600801), 1);
	/* Senders alike: the 10 of the first seconds are forgotten by 700 s,
	 * the 9 of 300 s are not. */
	start(NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(from, sizeof(from), "<a%d@example.test>", i);
		smtp_txn(i, "192.0.2.30", NULL, from, 1);
	}
	for (int i = 0; i < 9; i++) {
		snprintf(from, sizeof(from), "<b%d@example.test>", i);
		smtp_txn(300 + i, "192.0.2.30", NULL, from, 1);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(from, sizeof(from), "<c%d@example.test>", i);
		smtp_txn(700 + i, "192.0.2.30", NULL, from, 1);
	}
	assert_int_equal(count_sid(8600802), 0); /* 19 inside */
	smtp_txn(710, "192.0.2.30", NULL, "<c10@example.test>", 1);
	assert_int_equal(count_sid(8600802), 1);
	assert_int_equal(last_sid(8600802)->distinct_senders, 20);
	assert_int_equal(last_sid(8600802)->messages, 30);
}

/* ---- scans --------------------------------------------------------- */

static void flow_at(double t, const char *src, const char *dst, uint16_t port, uint8_t ts_flags,
		    uint8_t tc_flags, uint8_t app)
{
	struct mt_body_flow *b = &begin(MT_REC_flow, t, src, dst, port, app)->b.flow;

	b->tcp_flags_ts = ts_flags;
	b->tcp_flags_tc = tc_flags;
	b->tcp_flags = ts_flags | tc_flags;
	b->start = ns(t);
	b->end = ns(t + 1);
	feed();
}

static void test_scan(void **state)
{
	char dst[32];
	static const uint16_t ports[] = { 25, 110, 143, 465, 587, 993, 995 };

	(void)state;
	start(NULL);
	/* Complete sessions, other ports and midstream flows do not count. */
	for (int i = 0; i < 30; i++) {
		snprintf(dst, sizeof(dst), "10.0.0.%d", i);
		flow_at(i, "203.0.113.5", dst, 25, 0x1b, 0x1b, MT_APP_SMTP);
		flow_at(i, "203.0.113.5", dst, 22, 0x02, 0x14, MT_APP_NONE);
		flow_at(i, "203.0.113.5", dst, 143, 0x10, 0x10, MT_APP_NONE);
	}
	assert_int_equal(h.n, 0);
	/* 19 distinct server ports: SYN only, RST, handshake without data. */
	for (int i = 0; i < 19; i++) {
		snprintf(dst, sizeof(dst), "10.0.1.%d", i / 7);
		flow_at(100 + i, "203.0.113.5", dst, ports[i % 7], 0x02,
			i % 3 == 0 ? 0 : i % 3 == 1 ? 0x14 : 0x12, MT_APP_NONE);
	}
	flow_at(120, "203.0.113.5", "10.0.1.0", 25, 0x02, 0, MT_APP_NONE); /* repeat */
	assert_int_equal(h.n, 0);
	flow_at(121, "203.0.113.5", "10.0.1.9", 993, 0x02, 0, MT_APP_NONE);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600901);
	assert_string_equal(h.al[0].detector, "scan");
	assert_int_equal(h.al[0].attempts, 21);
	assert_string_equal(h.al[0].signature, "Mail-port scan: 203.0.113.5 tried 20 mail server "
					       "ports without completing a session in 21 s");
	start("[detect]\nscan_allow_sources = 203.0.113.5\n");
	for (int i = 0; i < 30; i++) {
		snprintf(dst, sizeof(dst), "10.0.2.%d", i);
		flow_at(i, "203.0.113.5", dst, 25, 0x02, 0, MT_APP_NONE);
	}
	assert_int_equal(h.n, 0);
}

static void test_scan_window_slides(void **state)
{
	char dst[32];

	(void)state;
	start(NULL);
	/* The source stays active, but the 10 targets of the first seconds
	 * have left the window by 700 s; the 9 of 300 s have not. */
	for (int i = 0; i < 10; i++) {
		snprintf(dst, sizeof(dst), "10.0.3.%d", i);
		flow_at(i, "203.0.113.5", dst, 25, 0x02, 0, MT_APP_NONE);
	}
	for (int i = 0; i < 9; i++) {
		snprintf(dst, sizeof(dst), "10.0.4.%d", i);
		flow_at(300 + i, "203.0.113.5", dst, 25, 0x02, 0, MT_APP_NONE);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(dst, sizeof(dst), "10.0.5.%d", i);
		flow_at(700 + i, "203.0.113.5", dst, 25, 0x02, 0, MT_APP_NONE);
	}
	assert_int_equal(h.n, 0); /* 19 inside */
	flow_at(710, "203.0.113.5", "10.0.5.10", 25, 0x02, 0, MT_APP_NONE);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600901);
	assert_string_equal(h.al[0].evidence, "30 incomplete connections to 20 distinct server "
					      "ports in the last 600 s");
	assert_int_equal(h.al[0].attempts, 30);
	assert_int_equal(h.al[0].first, ns(0));
	/* Sliding, not fixed: 10 targets late in one ten-minute span and 10
	 * early in the next. */
	start(NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(dst, sizeof(dst), "10.0.5.%d", i);
		flow_at(590 + i, "203.0.113.5", dst, 25, 0x02, 0, MT_APP_NONE);
		snprintf(dst, sizeof(dst), "10.0.6.%d", i);
		flow_at(601 + i, "203.0.113.5", dst, 25, 0x02, 0, MT_APP_NONE);
	}
	assert_int_equal(h.n, 1);
}

/* ---- engine ------------------------------------------------------- */

static void test_config_errors_and_disable(void **state)
{
	char err[256];
	struct mt_detect *d;

	(void)state;
	/* The configuration file refuses these lists already (test_config);
	 * detection still checks a configuration built some other way. */
	cfg_text(NULL);
	snprintf(h.cfg.detect.bruteforce_allow.sources,
		 sizeof(h.cfg.detect.bruteforce_allow.sources), "10.0.0.0/8 10.0.0/8");
	d = mt_detect_create(&h.cfg, collect, NULL, err, sizeof(err));
	assert_null(d);
	assert_string_equal(err, "[detect] bruteforce_allow_sources: `10.0.0/8' is not an "
				 "address or CIDR prefix");
	cfg_text(NULL);
	snprintf(h.cfg.detect.allow.servers, sizeof(h.cfg.detect.allow.servers),
		 "2001:db8::/129");
	assert_null(mt_detect_create(&h.cfg, collect, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "allow_servers"));
	cfg_text("[detect]\nenable = no\n");
	assert_null(mt_detect_create(&h.cfg, collect, NULL, err, sizeof(err)));
	assert_string_equal(err, "");
	/* Thresholds that distinct sets cannot count are refused. */
	{
		struct mt_config c;
		struct mt_config_errors e;
		const char *t = "[detect]\nspraying_users = 33\n";

		mt_config_defaults(&c);
		memset(&e, 0, sizeof(e));
		assert_int_equal(mt_config_parse(&c, "t.conf", t, strlen(t), &e), -1);
		assert_non_null(strstr(e.msg[0], "spraying_users"));
	}
}

static void test_stats_and_ignored_records(void **state)
{
	struct mt_rec *s = calloc(1, sizeof(*s));
	const struct mt_rec *out;

	(void)state;
	start(NULL);
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	/* Alerts and stats records are not evidence. */
	mt_rec_init(s, MT_REC_alert);
	mt_detect_record(h.d, s);
	mt_rec_init(s, MT_REC_stats);
	s->b.stats.capture_pkts = 42;
	s->b.stats.detect_alerts = 999;
	mt_detect_record(h.d, s);
	assert_int_equal(ctr(MT_CTR_detect_records), 10);
	out = mt_detect_stats(h.d, s);
	assert_ptr_not_equal(out, s);
	assert_int_equal(out->b.stats.capture_pkts, 42);
	assert_int_equal(out->b.stats.detect_alerts, 1);
	assert_int_equal(out->b.stats.detect_alerts_bruteforce, 1);
	assert_int_equal(out->b.stats.detect_records, 10);
	mt_rec_init(s, MT_REC_flow);
	assert_ptr_equal(mt_detect_stats(h.d, s), s);
	free(s);
}

static void test_identity_keeps_names_out_of_text(void **state)
{
	char err[256];

	(void)state;
	mt_detect_destroy(h.d);
	h.n = 0;
	cfg_text(NULL);
	snprintf(h.cfg.export.identity, sizeof(h.cfg.export.identity), "hmac");
	h.d = mt_detect_create(&h.cfg, collect, NULL, err, sizeof(err));
	assert_non_null(h.d);
	for (int i = 0; i < 10; i++)
		login_scram(i, "203.0.113.7", "alice", false);
	assert_int_equal(h.n, 1);
	/* The user field is for the identity transform to rewrite; the
	 * free text must not carry the name past it. */
	assert_string_equal(h.al[0].user, "alice");
	assert_null(strstr(h.al[0].signature, "alice"));
	assert_null(strstr(h.al[0].evidence, "alice"));
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void table_caps_hold(void)
{
	const char *name;
	uint32_t used, cap;
	size_t bytes;

	for (unsigned i = 0; mt_detect_table_usage(h.d, i, &name, &used, &cap, &bytes); i++)
		if (used > cap)
			fail_msg("table %s: %u entries over its cap %u", name, used, cap);
}

/*
 * A flood of random sources and user names (two million failed logins)
 * among which one real brute force runs: memory stays what it was at
 * creation, every table stays within its cap, evictions are counted, and
 * the real attack is still found because it stays among the recently
 * active keys.
 */
static void test_flood_bounded(void **state)
{
	struct mt_body_flow *c;
	struct mt_body_auth *b;
	struct mallinfo2 before, after;
	size_t mem;
	char user[24];
	const int flood = 2000000;
	int attacker = 0;

	(void)state;
	start("[detect]\nauth_sources_max = 1024\nauth_prefixes_max = 256\n"
	      "auth_users_max = 1024\nevents_max = 256\n");
	mem = mt_detect_memory(h.d);
	h.no_json = true;
	before = mallinfo2();
	for (int i = 0; i < flood; i++) {
		/* Every 500th: the attacker stays among the 1024 most
		 * recently active sources. */
		bool real = i % 500 == 0;
		double t = i * 0.00002; /* 40 s in all */

		mt_rec_init(&rec, MT_REC_auth);
		c = MT_REC_CONN(&rec);
		b = &rec.b.auth;
		c->timestamp = ns(t);
		c->flow_id = (uint64_t)i + 1;
		c->proto = 6;
		c->app_proto = MT_APP_IMAP;
		c->dest_ip.ver = 4;
		c->dest_ip.a[0] = 198, c->dest_ip.a[1] = 51, c->dest_ip.a[2] = 100, c->dest_ip.a[3] = 2;
		c->dest_port = 143;
		c->src_ip.ver = 4;
		if (real) {
			c->src_ip.a[0] = 203, c->src_ip.a[1] = 0, c->src_ip.a[2] = 113;
			c->src_ip.a[3] = 7;
			mt_rec_set_str(&rec, &b->user, "dave", 4);
			attacker++;
		} else {
			uint64_t x = next_rand();

			memcpy(c->src_ip.a, &x, 4);
			c->src_ip.a[0] |= 1;
			snprintf(user, sizeof(user), "u%016llx", (unsigned long long)next_rand());
			mt_rec_set_str(&rec, &b->user, user, strlen(user));
		}
		mt_rec_set_str(&rec, &b->mechanism, "SCRAM-SHA-1", 11);
		mt_rec_set_str(&rec, &b->result, "failure", 7);
		mt_detect_record(h.d, &rec);
		mt_detect_flush(h.d);
	}
	after = mallinfo2();
	assert_int_equal(attacker, 4000);
	assert_int_equal(mt_detect_memory(h.d), mem);
	/* No allocation after creation: the heap did not grow. */
	assert_int_equal(after.uordblks, before.uordblks);
	table_caps_hold();
	assert_true(ctr(MT_CTR_detect_evictions_auth_sources) > (uint64_t)flood / 2);
	assert_true(ctr(MT_CTR_detect_evictions_auth_users) > (uint64_t)flood / 2);
	assert_int_equal(ctr(MT_CTR_detect_records), flood);
	/* The real attack: 4000 failures from 203.0.113.7 in 40 s. */
	assert_true(count_sid(8600101) >= 1);
	assert_string_equal(h.al[0].source, "203.0.113.7");
	assert_string_equal(h.al[0].user, "dave");
	assert_int_equal(h.al[0].failures, 10);
}

/* The same with random user names from one source: the spraying set
 * saturates at its cap (and the spraying alert fires), memory does not
 * move. */
static void test_flood_users_one_source(void **state)
{
	char user[24];
	size_t mem;

	(void)state;
	start("[detect]\nauth_users_max = 64\n");
	mem = mt_detect_memory(h.d);
	for (int i = 0; i < 200000; i++) {
		snprintf(user, sizeof(user), "x%llx", (unsigned long long)next_rand());
		login_scram(i * 0.001, "203.0.113.9", user, false);
	}
	assert_int_equal(mt_detect_memory(h.d), mem);
	table_caps_hold();
	/* 10, 20 (doubled), then 32 a minute later; the set stays at its cap. */
	assert_int_equal(count_sid(8600201), 3);
	assert_int_equal(last_sid(8600201)->distinct_users, 32);
	assert_non_null(strstr(last_sid(8600201)->signature, "at least 32 user names"));
}

static void test_eviction_loses_only_idle_keys(void **state)
{
	char src[32];

	(void)state;
	start("[detect]\nauth_sources_max = 16\nauth_prefixes_max = 16\n");
	/* 16 sources fill the table; the attacker keeps being touched. */
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 16; i++) {
			snprintf(src, sizeof(src), "10.%d.%d.1", round, i);
			login_scram(round * 2.0 + i * 0.01, src, "x", false);
		}
		login_scram(round * 2.0 + 1, "203.0.113.7", "dave", false);
	}
	/* Between two attempts 16 other keys came: the attacker was evicted
	 * each time, and the count shows it. */
	assert_int_equal(count_sid(8600101), 0);
	assert_true(ctr(MT_CTR_detect_evictions_auth_sources) > 100);
	/* With 15 others per round it stays. */
	start("[detect]\nauth_sources_max = 16\nauth_prefixes_max = 16\n");
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 15; i++) {
			snprintf(src, sizeof(src), "10.%d.%d.1", round, i);
			login_scram(round * 2.0 + i * 0.01, src, "x", false);
		}
		login_scram(round * 2.0 + 1, "203.0.113.7", "dave", false);
	}
	assert_int_equal(count_sid(8600101), 1);
}

/*
 * Floods of the other tables: 100 000 keys through a cap of 256, all live
 * (within their windows), then a real attack. Memory and the heap stay as
 * they were at creation, every live key pushed out is counted, and the
 * attack is still found: a full table makes room for it.
 */
#define FLOOD 100000
#define FLOOD_CAP 256

struct flood {
	size_t mem;
	struct mallinfo2 heap;
};

static void flood_begin(struct flood *f)
{
	h.no_json = true;
	f->mem = mt_detect_memory(h.d);
	f->heap = mallinfo2();
}

static void flood_end(const struct flood *f)
{
	struct mallinfo2 now = mallinfo2();

	assert_int_equal(mt_detect_memory(h.d), f->mem);
	assert_int_equal(now.uordblks, f->heap.uordblks);
	table_caps_hold();
}

/* Flood key i: distinct addresses in 10/8. */
static void flood_addr(int i, char *out, size_t len)
{
	snprintf(out, len, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static void test_flood_exfil_users(void **state)
{
	struct flood f;
	char user[24];

	(void)state;
	start("[detect]\nexfil_users_max = 256\n");
	flood_begin(&f);
	for (int i = 0; i < FLOOD; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		imap_session(i * 0.001, user, 0, 1, 1000, 1, 0);
	}
	assert_int_equal(h.n, 0);
	assert_int_equal(ctr(MT_CTR_detect_evictions_exfil_users), FLOOD - FLOOD_CAP);
	imap_session(101, "mallory", 0, 300, 1000, 0, 0);
	imap_session(102, "mallory", 0, 200, 1000, 0, 0);
	flood_end(&f);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600601);
	assert_string_equal(h.al[0].user, "mallory");
	assert_int_equal(h.al[0].messages, 500);
	assert_int_equal(h.al[0].attempts, 2);
}

static void test_flood_relay_keys(void **state)
{
	struct flood f;
	char src[32];

	(void)state;
	start("[detect]\nrelay_keys_max = 256\n");
	flood_begin(&f);
	for (int i = 0; i < FLOOD; i++) {
		flood_addr(i, src, sizeof(src));
		smtp_txn(i * 0.001, src, NULL, "<news@example.test>", 10);
	}
	assert_int_equal(h.n, 0);
	assert_int_equal(ctr(MT_CTR_detect_evictions_relay_keys), FLOOD - FLOOD_CAP);
	smtp_txn(101, "203.0.113.50", NULL, "<spam@example.test>", 150);
	smtp_txn(102, "203.0.113.50", NULL, "<spam@example.test>", 50);
	flood_end(&f);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600801);
	assert_string_equal(h.al[0].source, "203.0.113.50");
	assert_int_equal(h.al[0].attempts, 200);
	assert_int_equal(h.al[0].messages, 2);
}

static void test_flood_scan_sources(void **state)
{
	struct flood f;
	char src[32], dst[32];

	(void)state;
	start("[detect]\nscan_sources_max = 256\n");
	flood_begin(&f);
	for (int i = 0; i < FLOOD; i++) {
		flood_addr(i, src, sizeof(src));
		flow_at(i * 0.001, src, SRV, 25, 0x02, 0, MT_APP_NONE);
	}
	assert_int_equal(h.n, 0);
	assert_int_equal(ctr(MT_CTR_detect_evictions_scan_sources), FLOOD - FLOOD_CAP);
	for (int i = 0; i < 20; i++) {
		snprintf(dst, sizeof(dst), "198.51.100.%d", 10 + i);
		flow_at(101 + i * 0.1, "203.0.113.5", dst, 143, 0x02, 0x14, MT_APP_NONE);
	}
	flood_end(&f);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600901);
	assert_string_equal(h.al[0].source, "203.0.113.5");
	assert_int_equal(h.al[0].attempts, 20);
}

/* The servers table is STARTTLS's memory: a server pushed out by more
 * than servers_max others is forgotten (documented), one that stayed
 * among them is still defended. */
static void test_flood_servers(void **state)
{
	struct flood f;
	char dst[32];

	(void)state;
	start("[detect]\nservers_max = 256\n");
	flood_begin(&f);
	for (int i = 0; i < FLOOD; i++) {
		flood_addr(i, dst, sizeof(dst));
		smtp_session(i * 0.001, "192.0.2.10", dst, caps_tls, true, false, 0, NULL, NULL, 1);
	}
	assert_int_equal(h.n, 0);
	assert_int_equal(ctr(MT_CTR_detect_evictions_servers), FLOOD - FLOOD_CAP);
	/* Learnt after the flood, then 255 more servers: still known. */
	smtp_session(101, "192.0.2.10", SRV, caps_tls, true, false, 0, NULL, NULL, 1);
	for (int i = 0; i < FLOOD_CAP - 1; i++) {
		flood_addr(FLOOD + i, dst, sizeof(dst));
		smtp_session(102 + i * 0.001, "192.0.2.10", dst, caps_tls, true, false, 0, NULL,
			     NULL, 1);
	}
	smtp_session(110, "192.0.2.11", SRV, caps_none, false, false, 0, NULL, NULL, 1);
	/* Another, followed by 256 more: pushed out, so no alert. */
	smtp_session(120, "192.0.2.10", "198.51.100.3", caps_tls, true, false, 0, NULL, NULL, 1);
	for (int i = 0; i < FLOOD_CAP; i++) {
		flood_addr(2 * FLOOD + i, dst, sizeof(dst));
		smtp_session(121 + i * 0.001, "192.0.2.10", dst, caps_tls, true, false, 0, NULL,
			     NULL, 1);
	}
	smtp_session(130, "192.0.2.11", "198.51.100.3", caps_none, false, false, 0, NULL, NULL, 1);
	flood_end(&f);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.al[0].sid, 8600501);
	assert_string_equal(h.al[0].server, SRV ":587");
}

/* The events table holds the one-off alerts (here exploit strings from
 * 100 000 sources, each an alert): after the flood an attacker's first
 * attempt is a new alert and its second is counted on the same key. */
static void test_flood_events(void **state)
{
	struct flood f;
	char src[32];

	(void)state;
	start("[detect]\nevents_max = 256\n");
	flood_begin(&f);
	for (int i = 0; i < FLOOD; i++) {
		flood_addr(i, src, sizeof(src));
		anomaly_at(i * 0.001, src, 25, MT_APP_SMTP, "smtp_nul_in_command", "toserver", "x",
			   1);
	}
	assert_int_equal(h.n, FLOOD);
	assert_int_equal(ctr(MT_CTR_detect_alerts_exploit), FLOOD);
	assert_int_equal(ctr(MT_CTR_detect_evictions_events), FLOOD - FLOOD_CAP);
	h.n = 0;
	anomaly_at(101, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver",
		   "${run{x}}", 9);
	anomaly_at(102, "203.0.113.66", 25, MT_APP_SMTP, "smtp_expansion_string", "toserver",
		   "${run{x}}", 9);
	flood_end(&f);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.al[0].sid, 8600701);
	assert_string_equal(h.al[0].source, "203.0.113.66");
	assert_int_equal(h.al[0].update, 0);
	assert_int_equal(h.al[1].update, 1);
	assert_int_equal(h.al[1].attempts, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bruteforce_threshold, teardown),
		cmocka_unit_test_teardown(test_bruteforce_json, teardown),
		cmocka_unit_test_teardown(test_bruteforce_window_slides, teardown),
		cmocka_unit_test_teardown(test_bruteforce_updates, teardown),
		cmocka_unit_test_teardown(test_bruteforce_allowlists, teardown),
		cmocka_unit_test_teardown(test_bruteforce_success_after, teardown),
		cmocka_unit_test_teardown(test_bruteforce_prefix, teardown),
		cmocka_unit_test_teardown(test_spraying, teardown),
		cmocka_unit_test_teardown(test_stuffing, teardown),
		cmocka_unit_test_teardown(test_stuffing_above, teardown),
		cmocka_unit_test_teardown(test_cleartext, teardown),
		cmocka_unit_test_teardown(test_starttls_not_offered, teardown),
		cmocka_unit_test_teardown(test_starttls_mangled_and_refused, teardown),
		cmocka_unit_test_teardown(test_starttls_anomalies_and_known_server, teardown),
		cmocka_unit_test_teardown(test_starttls_window_slides, teardown),
		cmocka_unit_test_teardown(test_exfil_volume, teardown),
		cmocka_unit_test_teardown(test_exfil_whole_mailbox, teardown),
		cmocka_unit_test_teardown(test_exfil_deletion, teardown),
		cmocka_unit_test_teardown(test_exfil_volume_above, teardown),
		cmocka_unit_test_teardown(test_exfil_long_session, teardown),
		cmocka_unit_test_teardown(test_exfil_deletion_window_slides, teardown),
		cmocka_unit_test_teardown(test_exfil_allowlists, teardown),
		cmocka_unit_test_teardown(test_exploit, teardown),
		cmocka_unit_test_teardown(test_exploit_window_slides, teardown),
		cmocka_unit_test_teardown(test_relay, teardown),
		cmocka_unit_test_teardown(test_relay_window_slides, teardown),
		cmocka_unit_test_teardown(test_scan, teardown),
		cmocka_unit_test_teardown(test_scan_window_slides, teardown),
		cmocka_unit_test_teardown(test_config_errors_and_disable, teardown),
		cmocka_unit_test_teardown(test_stats_and_ignored_records, teardown),
		cmocka_unit_test_teardown(test_identity_keeps_names_out_of_text, teardown),
		cmocka_unit_test_teardown(test_flood_bounded, teardown),
		cmocka_unit_test_teardown(test_flood_users_one_source, teardown),
		cmocka_unit_test_teardown(test_eviction_loses_only_idle_keys, teardown),
		cmocka_unit_test_teardown(test_flood_exfil_users, teardown),
		cmocka_unit_test_teardown(test_flood_relay_keys, teardown),
		cmocka_unit_test_teardown(test_flood_scan_sources, teardown),
		cmocka_unit_test_teardown(test_flood_servers, teardown),
		cmocka_unit_test_teardown(test_flood_events, teardown),
	};

	return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
