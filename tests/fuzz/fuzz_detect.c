/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for detection: the input is a sequence of records
 * (auth, smtp, imap, pop3, tls, anomaly, flow) with fuzzer-chosen
 * addresses, user names, counts, strings and time steps, fed to one engine
 * that lives for the whole run with small tables. Checks: no crash, every
 * alert is a well-formed record, and memory and table use stay within the
 * caps fixed at creation, whatever the sequence.
 */
#include <stdio.h>
#include <stdlib.h>

#include "detect.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint32_t u32(struct in *in)
{
	uint32_t v = u8(in);

	v = v << 8 | u8(in);
	v = v << 8 | u8(in);
	return v << 8 | u8(in);
}

static struct mt_rec rec;
static struct mt_buf out;

static void sink(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	if (r->type != MT_REC_alert || r->arena_used > MT_REC_ARENA ||
	    r->b.alert.severity < 1 || r->b.alert.severity > 3 || r->b.alert.flow_ids.count > 8)
		abort();
	mt_buf_reset(&out);
	mt_json_record(&out, r);
	if (out.failed)
		abort();
}

/* Bytes of the input as a string of up to `max` bytes (any byte, NUL too). */
static void str(struct in *in, struct mt_sref *dst, unsigned max)
{
	unsigned n = u8(in) % (max + 1);

	n = (unsigned)MT_MIN((size_t)n, in->n);
	mt_rec_set_str(&rec, dst, in->p, n);
	in->p += n;
	in->n -= n;
}

static void pick(struct in *in, struct mt_sref *dst, const char *const *list, unsigned n)
{
	uint8_t k = u8(in);

	if (k >= 240) {
		str(in, dst, 16);
		return;
	}
	mt_rec_set_str(&rec, dst, list[k % n], strlen(list[k % n]));
}

static void addr(struct in *in, struct mt_ipaddr *a, bool server)
{
	uint8_t k = u8(in);

	memset(a, 0, sizeof(*a));
	/* A small address space, so keys collide and tables churn. */
	if (k & 0x80) {
		a->ver = 6;
		a->a[0] = 0x20, a->a[1] = 0x01, a->a[2] = 0x0d, a->a[3] = 0xb8;
		a->a[7] = k & 3;
		a->a[15] = (uint8_t)(server ? k & 1 : u8(in));
	} else {
		a->ver = 4;
		a->a[0] = server ? 198 : 10;
		a->a[1] = server ? 51 : k & 7;
		a->a[2] = server ? 100 : (k >> 3) & 7;
		a->a[3] = server ? (uint8_t)(2 + (k & 1)) : u8(in);
	}
}

static const char *const mechs[] = { "PLAIN", "LOGIN", "USER", "APOP", "CRAM-MD5",
				     "SCRAM-SHA-256", "XOAUTH2", "" };
static const char *const results[] = { "success", "failure", "unknown", "" };
static const char *const events[] = {
	"smtp_expansion_string", "smtp_command_too_long", "smtp_nul_in_command",
	"smtp_non_ascii_command", "smtp_command_before_greeting", "smtp_data_smuggling",
	"imap_literal_too_large", "imap_line_too_long", "imap_nul_in_command",
	"pop3_line_too_long", "app_starttls_cleartext", "app_data_before_starttls_reply",
	"smtp_unknown_command",
};
static const char *const caps[] = { "STARTTLS", "XXXXXXXA", "STLS", "XXXX", "PIPELINING",
				    "CHUNKING", "AUTH PLAIN LOGIN", "8BITMIME", "IMAP4rev1",
				    "********" };
static const char *const replies[] = { "OK", "NO", "BAD", "+OK", "-ERR", "" };
static const uint16_t ports[] = { 25, 587, 143, 110, 465, 993, 995, 22 };

static void one(struct in *in, struct mt_detect *d, uint64_t *now)
{
	uint8_t op = u8(in), step = u8(in);
	struct mt_body_flow *c;

	/* Mostly small steps, now and then a jump past every window. */
	*now += step == 255 ? 86400 * MT_NS_PER_SEC : (uint64_t)step * 50 * MT_NS_PER_MS;
	mt_rec_init(&rec, (enum mt_rtype)(op % 7 == 0 ? MT_REC_auth : op % 7 == 1 ? MT_REC_smtp :
					  op % 7 == 2 ? MT_REC_imap : op % 7 == 3 ? MT_REC_pop3 :
					  op % 7 == 4 ? MT_REC_tls : op % 7 == 5 ? MT_REC_anomaly :
					  MT_REC_flow));
	c = MT_REC_CONN(&rec);
	/* Timestamps may also run backwards: session records carry their
	 * start, and workers interleave. */
	c->timestamp = (op & 0x80) && *now > MT_NS_PER_SEC ? *now - MT_NS_PER_SEC : *now;
	c->flow_id = u32(in);
	addr(in, &c->src_ip, false);
	addr(in, &c->dest_ip, true);
	c->src_port = (uint16_t)u32(in);
	c->dest_port = ports[u8(in) % MT_ARRAY_SIZE(ports)];
	c->proto = (op & 0x40) ? 17 : 6;
	c->app_proto = (uint8_t)(u8(in) % MT_APP__COUNT);
	switch (rec.type) {
	case MT_REC_auth:
		pick(in, &rec.b.auth.mechanism, mechs, MT_ARRAY_SIZE(mechs));
		str(in, &rec.b.auth.user, 80);
		pick(in, &rec.b.auth.result, results, MT_ARRAY_SIZE(results));
		rec.b.auth.cleartext = u8(in) & 1;
		break;
	case MT_REC_smtp:
		for (uint8_t i = 0, k = u8(in) % 6; i < k; i++) {
			const char *cap = caps[u8(in) % MT_ARRAY_SIZE(caps)];

			mt_rec_list_add(&rec, &rec.b.smtp.capabilities, cap, strlen(cap));
		}
		rec.b.smtp.starttls_offered = u8(in) & 1;
		rec.b.smtp.starttls_requested = u8(in) & 1;
		rec.b.smtp.starttls_reply = (uint16_t)(u8(in) % 3 == 0 ? 454 : 220);
		rec.b.smtp.transaction = u8(in) % 3;
		rec.b.smtp.recipients = u32(in) % 500;
		str(in, &rec.b.smtp.mail_from, 40);
		pick(in, &rec.b.smtp.auth_mech, mechs, MT_ARRAY_SIZE(mechs));
		str(in, &rec.b.smtp.auth_user, 70);
		pick(in, &rec.b.smtp.auth_result, results, MT_ARRAY_SIZE(results));
		break;
	case MT_REC_imap:
		if (u8(in) & 1)
			mt_rec_list_add(&rec, &rec.b.imap.capabilities, "STARTTLS", 8);
		rec.b.imap.starttls_offered = u8(in) & 1;
		rec.b.imap.starttls_requested = u8(in) & 1;
		pick(in, &rec.b.imap.starttls_reply, replies, MT_ARRAY_SIZE(replies));
		pick(in, &rec.b.imap.auth_mech, mechs, MT_ARRAY_SIZE(mechs));
		str(in, &rec.b.imap.auth_user, 70);
		pick(in, &rec.b.imap.auth_result, results, MT_ARRAY_SIZE(results));
		if (u8(in) & 1)
			mt_rec_list_add(&rec, &rec.b.imap.mailboxes, "INBOX", 5);
		rec.b.imap.exists = u32(in) % 1000;
		rec.b.imap.messages_fetched = u32(in) % 1200;
		rec.b.imap.bytes_fetched = (uint64_t)u32(in) << (u8(in) % 24);
		rec.b.imap.deleted = u32(in) % 200;
		rec.b.imap.expunged = u32(in) % 200;
		break;
	case MT_REC_pop3:
		if (u8(in) & 1) {
			const char *cap = caps[u8(in) % MT_ARRAY_SIZE(caps)];

			mt_rec_list_add(&rec, &rec.b.pop3.capabilities, cap, strlen(cap));
		}
		rec.b.pop3.stls_offered = u8(in) & 1;
		rec.b.pop3.stls_requested = u8(in) & 1;
		pick(in, &rec.b.pop3.stls_reply, replies, MT_ARRAY_SIZE(replies));
		pick(in, &rec.b.pop3.auth_mech, mechs, MT_ARRAY_SIZE(mechs));
		str(in, &rec.b.pop3.auth_user, 70);
		pick(in, &rec.b.pop3.auth_result, results, MT_ARRAY_SIZE(results));
		rec.b.pop3.stat_messages = u32(in) % 1000;
		rec.b.pop3.retr_messages = u32(in) % 1200;
		rec.b.pop3.retr_bytes = (uint64_t)u32(in) << (u8(in) % 24);
		rec.b.pop3.deleted = u32(in) % 200;
		break;
	case MT_REC_tls:
		rec.b.tls.starttls = u8(in) & 1;
		break;
	case MT_REC_anomaly:
		pick(in, &rec.b.anomaly.event, events, MT_ARRAY_SIZE(events));
		mt_rec_set_str(&rec, &rec.b.anomaly.dir, u8(in) & 1 ? "toclient" : "toserver", 8);
		str(in, &rec.b.anomaly.evidence, 64);
		break;
	default:
		rec.b.flow.tcp_flags_ts = u8(in);
		rec.b.flow.tcp_flags_tc = u8(in);
		rec.b.flow.midstream = u8(in) & 1;
		break;
	}
	mt_detect_record(d, &rec);
	mt_detect_flush(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mt_detect *d;
	static size_t mem;
	static uint64_t now = 1700000000ull * MT_NS_PER_SEC;
	struct in in = { data, size };
	const char *name;
	uint32_t used, cap;
	size_t bytes;

	if (!d) {
		static struct mt_config cfg;
		char err[256];

		mt_config_defaults(&cfg);
		/* Small tables and low thresholds: evictions and alerts in
		 * every few hundred records. */
		cfg.detect.auth_sources_max = 16;
		cfg.detect.auth_prefixes_max = 16;
		cfg.detect.auth_users_max = 16;
		cfg.detect.exfil_users_max = 16;
		cfg.detect.relay_keys_max = 16;
		cfg.detect.scan_sources_max = 16;
		cfg.detect.servers_max = 16;
		cfg.detect.events_max = 16;
		cfg.detect.bruteforce_failures = 3;
		cfg.detect.spraying_users = 3;
		cfg.detect.stuffing_sources = 2;
		cfg.detect.scan_targets = 3;
		cfg.detect.relay_senders = 3;
		cfg.detect.relay_recipients = 50;
		cfg.detect.exfil_messages = 100;
		cfg.detect.exfil_mailbox_min = 5;
		cfg.detect.exfil_deletions = 20;
		snprintf(cfg.detect.bruteforce_allow.sources,
			 sizeof(cfg.detect.bruteforce_allow.sources), "10.7.0.0/16 2001:db8::3/128");
		d = mt_detect_create(&cfg, sink, NULL, err, sizeof(err));
		if (!d)
			abort();
		mem = mt_detect_memory(d);
	}
	while (in.n >= 4)
		one(&in, d, &now);
	if (mt_detect_memory(d) != mem)
		abort();
	for (unsigned i = 0; mt_detect_table_usage(d, i, &name, &used, &cap, &bytes); i++)
		if (used > cap)
			abort();
	return 0;
}
