/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spool tests on a real directory: numbering and the merge of the three
 * classes in sequence order, replay after a restart with the counter
 * carried over, acknowledgements removing files, rewinding after a lost
 * connection, torn tails from a crash cut off at start-up (and a hostile
 * message in a spool file refused by the decoder the same way), priority
 * dropping when full (low first, every dropped record counted), the
 * collector's first acknowledgement moving or renumbering the counter (an
 * unconfirmed spool is always renumbered, even when its numbers are ahead
 * of the collector's), drop counts no stats record carried kept in the
 * state file, and the refusals (a second exporter on one spool, another
 * domain's spool).
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipfix.h"
#include "spool.h"

#define DOMAIN 7
#define SEGMENT 30000   /* the 26 KB template message and a few messages */

static char dir[64];
static struct mt_counters ctr;
static uint8_t msgbuf[MT_IPFIX_MSG_MAX], out[MT_IPFIX_MSG_MAX];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mt-spool.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	memset(&ctr, 0, sizeof(ctr));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct mt_spool *open_spool(uint64_t max, uint64_t segment)
{
	struct mt_spool_cfg cfg = {
		.dir = dir, .max_bytes = max, .segment_bytes = segment,
		.domain = DOMAIN, .pen = MT_IPFIX_PEN_DEFAULT, .quiet = true,
	};
	struct mt_spool *sp;
	char err[256];
	int rc = mt_spool_open(&sp, &cfg, &ctr, err, sizeof(err));

	if (rc)
		fail_msg("mt_spool_open: %s", err);
	return sp;
}

/* A message of `n` flow records whose ports carry `tag`, so each message
 * is distinct. */
static size_t make_msg(unsigned n, unsigned tag)
{
	static struct mt_rec r;
	struct mt_ipfix_enc e;
	uint8_t a[16] = { 192, 0, 2, 1 };

	mt_ipfix_begin(&e, msgbuf, sizeof(msgbuf), DOMAIN, MT_IPFIX_PEN_DEFAULT, 1700000000, 0);
	for (unsigned i = 0; i < n; i++) {
		mt_rec_init(&r, MT_REC_flow);
		mt_rec_set_ip(&r.b.flow.src_ip, a, 4);
		mt_rec_set_ip(&r.b.flow.dest_ip, a, 4);
		r.b.flow.src_port = (uint16_t)tag;
		r.b.flow.dest_port = (uint16_t)i;
		r.b.flow.proto = 6;
		r.b.flow.timestamp = 1700000000ull * MT_NS_PER_SEC;
		assert_int_equal(mt_ipfix_record(&e, &r), 0);
	}
	return mt_ipfix_end(&e);
}

static void append(struct mt_spool *sp, enum mt_prio p, unsigned n, unsigned tag)
{
	size_t len = make_msg(n, tag);

	assert_int_equal(mt_spool_append(sp, p, msgbuf, len, n), 0);
}

/* Which tag (source port) a spooled message was made with. */
static unsigned tag_of(const uint8_t *m, size_t len)
{
	struct mt_ipfix_dec d;
	struct mt_ipfix_msg_info info;
	char why[128];
	unsigned tag = 0;
	static uint8_t tmpl[MT_IPFIX_MSG_MAX];
	struct mt_ipfix_enc e;
	size_t tl;

	/* Templates come from the file head in real life; here they are
	 * made afresh (the same bytes). */
	mt_ipfix_begin(&e, tmpl, sizeof(tmpl), DOMAIN, MT_IPFIX_PEN_DEFAULT, 0, 0);
	assert_int_equal(mt_ipfix_templates(&e, false), 0);
	tl = mt_ipfix_end(&e);
	mt_ipfix_dec_init(&d, MT_IPFIX_PEN_DEFAULT);
	assert_int_equal(mt_ipfix_decode(&d, tmpl, tl, NULL, NULL, &info, why, sizeof(why)), 0);
	assert_int_equal(mt_ipfix_decode(&d, m, len, NULL, NULL, &info, why, sizeof(why)), 0);
	tag = d.rec.b.flow.src_port;
	mt_ipfix_dec_free(&d);
	return tag;
}

static unsigned count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".ipfix"))
			n++;
	closedir(d);
	return n;
}

static void test_numbering_and_merge(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	static const struct { enum mt_prio p; unsigned n; } plan[] = {
		{ MT_PRIO_LOW, 3 }, { MT_PRIO_HIGH, 2 }, { MT_PRIO_NORMAL, 1 },
		{ MT_PRIO_LOW, 4 }, { MT_PRIO_HIGH, 1 }, { MT_PRIO_LOW, 5 },
	};
	struct mt_spool_msg m;
	uint32_t seq = 0;

	(void)state;
	assert_int_equal(mt_spool_next_seq(sp), 0);
	for (unsigned i = 0; i < MT_ARRAY_SIZE(plan); i++)
		append(sp, plan[i].p, plan[i].n, 100 + i);
	assert_int_equal(mt_spool_next_seq(sp), 16);
	assert_int_equal(ctr.v[MT_CTR_export_messages_spooled], 6);
	assert_int_equal(ctr.v[MT_CTR_export_records_spooled], 16);
	assert_int_equal(mt_spool_files(sp), 3);
	assert_int_equal(mt_spool_next_unsent_seq(sp), 0);
	for (unsigned i = 0; i < MT_ARRAY_SIZE(plan); i++) {
		assert_int_equal(mt_spool_next(sp, out, &m), 1);
		assert_int_equal(m.seq, seq);
		assert_int_equal(m.nrec, plan[i].n);
		assert_int_equal(m.prio, plan[i].p);
		assert_int_equal(mt_load_be32(out + 8), seq);
		assert_int_equal(mt_load_be32(out + 12), DOMAIN);
		assert_int_equal(tag_of(out, m.len), 100 + i);
		seq += plan[i].n;
	}
	assert_int_equal(mt_spool_next(sp, out, &m), 0);
	assert_false(mt_spool_has_unsent(sp));
	assert_int_equal(mt_spool_next_unsent_seq(sp), 16);

	/* A lost connection: everything unacknowledged again, in order. */
	assert_true(mt_spool_ack(sp, 5));  /* messages 0 and 3 */
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 5);
	mt_spool_rewind(sp);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 5);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 6);
	/* An acknowledgement of numbers never given out is refused. */
	assert_false(mt_spool_ack(sp, 17));
	assert_true(mt_spool_ack(sp, 16));
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 16);
	assert_false(mt_spool_has_unsent(sp));
	mt_spool_close(sp);
	/* Acknowledged files do not outlive a clean stop. */
	assert_int_equal(count_files(), 0);
}

static void test_restart_keeps_everything(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	struct mt_spool_msg m;
	uint64_t msgs, recs;

	(void)state;
	for (unsigned i = 0; i < 20; i++)
		append(sp, (enum mt_prio)(i % 3), 1 + i % 4, 200 + i);
	assert_true(mt_spool_ack(sp, 6)); /* 1 + 2 + 3 */
	assert_int_equal(mt_spool_next_seq(sp), 50);
	mt_spool_unacked(sp, &msgs, &recs);
	assert_int_equal(msgs, 17);
	assert_int_equal(recs, 44);
	mt_spool_close(sp);

	memset(&ctr, 0, sizeof(ctr));
	sp = open_spool(1 << 20, SEGMENT);
	assert_int_equal(mt_spool_next_seq(sp), 50);
	assert_int_equal(mt_spool_acked(sp), 6);
	mt_spool_unacked(sp, &msgs, &recs);
	assert_int_equal(msgs, 17);
	assert_int_equal(recs, 44);
	for (unsigned i = 3; i < 20; i++) {
		assert_int_equal(mt_spool_next(sp, out, &m), 1);
		assert_int_equal(tag_of(out, m.len), 200 + i);
	}
	assert_int_equal(mt_spool_next(sp, out, &m), 0);
	/* New messages continue the numbers. */
	append(sp, MT_PRIO_HIGH, 2, 999);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 50);
	assert_true(mt_spool_ack(sp, 52));
	mt_spool_close(sp);
	assert_int_equal(count_files(), 0);

	/* Empty spool: the counter lives in the state file. */
	sp = open_spool(1 << 20, SEGMENT);
	assert_int_equal(mt_spool_next_seq(sp), 52);
	assert_int_equal(mt_spool_files(sp), 0);
	mt_spool_close(sp);
}

static void test_acks_remove_files(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	struct mt_spool_msg m;
	unsigned files;

	(void)state;
	/* Each message is about 1 KB: four per file. */
	for (unsigned i = 0; i < 16; i++)
		append(sp, MT_PRIO_LOW, 10, i);
	files = mt_spool_files(sp);
	assert_true(files >= 3);
	assert_int_equal(count_files(), files);
	while (mt_spool_next(sp, out, &m) == 1)
		;
	assert_true(mt_spool_ack(sp, 40));
	assert_true(mt_spool_files(sp) < files);
	assert_int_equal(count_files(), mt_spool_files(sp));
	assert_true(mt_spool_ack(sp, 160));
	/* Only the file still being appended to may stay (until full). */
	assert_true(mt_spool_files(sp) <= 1);
	assert_int_equal(count_files(), mt_spool_files(sp));
	assert_int_equal(ctr.v[MT_CTR_export_spool_files], mt_spool_files(sp));
	assert_int_equal(ctr.v[MT_CTR_export_spool_bytes], mt_spool_bytes(sp));
	mt_spool_close(sp);
	assert_int_equal(count_files(), 0);
}

static void test_torn_tail_cut(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, 1 << 20);
	struct mt_spool_msg m;
	char path[128];
	struct stat st;
	off_t good;
	size_t len;
	int fd;

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		append(sp, MT_PRIO_NORMAL, 5, 300 + i);
	mt_spool_close(sp);
	snprintf(path, sizeof(path), "%s/normal-%016x.ipfix", dir, 0);
	assert_int_equal(stat(path, &st), 0);
	good = st.st_size;
	/* A crash half-way through the fourth message. */
	len = make_msg(5, 303);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, msgbuf, len / 2), (ssize_t)(len / 2));
	close(fd);
	/* And a file that is not IPFIX at all. */
	snprintf(path, sizeof(path), "%s/low-%016x.ipfix", dir, 5);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "garbage, not a template message", 31), 31);
	close(fd);

	memset(&ctr, 0, sizeof(ctr));
	sp = open_spool(1 << 20, 1 << 20);
	assert_int_equal(ctr.v[MT_CTR_export_spool_truncated], 1);
	snprintf(path, sizeof(path), "%s/normal-%016x.ipfix", dir, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, good);
	snprintf(path, sizeof(path), "%s/low-%016x.ipfix", dir, 5);
	assert_int_equal(stat(path, &st), -1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(mt_spool_next(sp, out, &m), 1);
		assert_int_equal(m.seq, 5 * i);
		assert_int_equal(tag_of(out, m.len), 300 + i);
	}
	assert_int_equal(mt_spool_next(sp, out, &m), 0);
	/* New files do not reuse the serial of the garbage one. */
	append(sp, MT_PRIO_LOW, 1, 400);
	snprintf(path, sizeof(path), "%s/low-%016x.ipfix", dir, 6);
	assert_int_equal(stat(path, &st), 0);
	mt_spool_close(sp);
}

/* A spool file is read back through the IPFIX decoder at start-up: the
 * audit's hostile message (a subTemplateList naming the top-level `stats`
 * template, which overflowed a stack buffer in the decoder) planted after a
 * good message is refused and cut off like a torn tail. */
static void test_hostile_message_in_spool_file(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, 1 << 20);
	static uint8_t bad[MT_IPFIX_MSG_MAX];
	struct mt_ipfix_enc e;
	struct mt_spool_msg m;
	char path[128];
	size_t off, body = 3 + 4000;
	int fd;

	(void)state;
	append(sp, MT_PRIO_NORMAL, 5, 700);
	mt_spool_close(sp);
	/* Templates, template 1000 = { subTemplateList }, then a record of
	 * it whose list names template 257. */
	mt_ipfix_begin(&e, bad, sizeof(bad), DOMAIN, MT_IPFIX_PEN_DEFAULT, 0, 5);
	assert_int_equal(mt_ipfix_templates(&e, false), 0);
	off = mt_ipfix_end(&e);
	mt_store_be16(bad + off, MT_IPFIX_SET_TEMPLATE);
	mt_store_be16(bad + off + 2, 12);
	mt_store_be16(bad + off + 4, 1000);
	mt_store_be16(bad + off + 6, 1);
	mt_store_be16(bad + off + 8, MT_IPFIX_IE_SUBTEMPLATELIST);
	mt_store_be16(bad + off + 10, MT_IPFIX_VARLEN);
	off += 12;
	mt_store_be16(bad + off, 1000);
	mt_store_be16(bad + off + 2, (uint16_t)(4 + 3 + body));
	bad[off + 4] = 255;
	mt_store_be16(bad + off + 5, (uint16_t)body);
	bad[off + 7] = 4;
	mt_store_be16(bad + off + 8, 257);
	memset(bad + off + 10, 0x41, 4000);
	off += 4 + 3 + body;
	mt_store_be16(bad + 2, (uint16_t)off);
	snprintf(path, sizeof(path), "%s/normal-%016x.ipfix", dir, 0);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, off), (ssize_t)off);
	close(fd);

	memset(&ctr, 0, sizeof(ctr));
	sp = open_spool(1 << 20, 1 << 20);
	assert_int_equal(ctr.v[MT_CTR_export_spool_truncated], 1);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(tag_of(out, m.len), 700);
	assert_int_equal(mt_spool_next(sp, out, &m), 0);
	mt_spool_close(sp);
}

/* Size of the template message that opens every file. */
static size_t header_len(void)
{
	static uint8_t b[MT_IPFIX_MSG_MAX];
	struct mt_ipfix_enc e;

	mt_ipfix_begin(&e, b, sizeof(b), DOMAIN, MT_IPFIX_PEN_DEFAULT, 0, 0);
	assert_int_equal(mt_ipfix_templates(&e, true), 0);
	return mt_ipfix_end(&e);
}

static void test_priority_dropping(void **state)
{
	size_t len = make_msg(10, 0), hdr = header_len();
	/* Messages per file: a file is closed once it reaches SEGMENT. */
	unsigned k = (unsigned)((SEGMENT - hdr + len - 1) / len);
	uint64_t file = hdr + k * len;
	struct mt_spool *sp = open_spool(6 * file, SEGMENT);
	struct mt_spool_msg m;
	uint32_t seq;
	unsigned n_high = 0, tag;
	uint64_t msgs, recs;

	(void)state;
	for (unsigned i = 0; i < 2 * k; i++)
		append(sp, MT_PRIO_LOW, 10, i);         /* 2 low files */
	for (unsigned i = 0; i < 2 * k; i++)
		append(sp, MT_PRIO_NORMAL, 10, 100 + i); /* 2 normal files */
	for (unsigned i = 0; i < 2 * k; i++)
		append(sp, MT_PRIO_HIGH, 10, 200 + i);   /* 2 high files */
	assert_int_equal(mt_spool_bytes(sp), 6 * file);
	assert_int_equal(mt_spool_files(sp), 6);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_low], 0);
	/* Full: new high messages push out whole files: both low ones
	 * (oldest first), then the normal ones; high stays. */
	tag = 300;
	while (ctr.v[MT_CTR_export_spool_dropped_low] == 0)
		append(sp, MT_PRIO_HIGH, 10, tag++);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_low], 10 * k);
	assert_true(mt_spool_bytes(sp) <= 6 * file);
	while (ctr.v[MT_CTR_export_spool_dropped_low] == 10 * k)
		append(sp, MT_PRIO_HIGH, 10, tag++);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_low], 20 * k);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_normal], 0);
	while (ctr.v[MT_CTR_export_spool_dropped_normal] == 0)
		append(sp, MT_PRIO_HIGH, 10, tag++);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_normal], 10 * k);
	while (ctr.v[MT_CTR_export_spool_dropped_normal] == 10 * k)
		append(sp, MT_PRIO_HIGH, 10, tag++);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_normal], 20 * k);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_low], 20 * k);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_high], 0);
	/* Fill the room the last normal file left. */
	for (unsigned i = 1; i < k; i++)
		append(sp, MT_PRIO_HIGH, 10, tag++);
	assert_int_equal(mt_spool_bytes(sp), 6 * file);
	/* A low message never pushes out higher ones: it is dropped itself,
	 * and its numbers are spent (a gap at the collector). */
	seq = mt_spool_next_seq(sp);
	assert_int_equal(mt_spool_append(sp, MT_PRIO_LOW, msgbuf, len, 10), -ENOSPC);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_low], 20 * k + 10);
	assert_int_equal(mt_spool_next_seq(sp), seq + 10);
	/* High messages push out the oldest high ones once nothing else is
	 * left. */
	for (unsigned i = 0; ctr.v[MT_CTR_export_spool_dropped_high] == 0; i++) {
		assert_true(i <= k + 1);
		append(sp, MT_PRIO_HIGH, 10, 500 + i);
	}
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_high], 10 * k);
	/* What is left is high, in order, from after the dropped file; the
	 * unacknowledged tally kept through all the dropping agrees. */
	mt_spool_unacked(sp, &msgs, &recs);
	assert_int_equal(msgs, 5 * k + 1);
	assert_int_equal(recs, 10 * (5 * k + 1));
	seq = 0;
	while (mt_spool_next(sp, out, &m) == 1) {
		assert_int_equal(m.prio, MT_PRIO_HIGH);
		assert_true(seq == 0 || mt_seq_lt(seq, m.seq));
		seq = m.seq;
		n_high++;
	}
	assert_int_equal(n_high, 5 * k + 1);
	assert_true(mt_spool_bytes(sp) <= 6 * file);
	mt_spool_close(sp);
}

static void test_first_ack(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	struct mt_spool_msg m;

	(void)state;
	/* A fresh spool numbers provisionally: a collector that already has
	 * 1000 records of this domain gets these after them. */
	append(sp, MT_PRIO_LOW, 3, 1);
	append(sp, MT_PRIO_HIGH, 2, 2);
	assert_int_equal(mt_spool_first_ack(sp, 1000), MT_SPOOL_RENUMBERED);
	assert_int_equal(mt_spool_next_seq(sp), 1005);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 1000);
	assert_int_equal(mt_load_be32(out + 8), 1000);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 1003);
	assert_int_equal(ctr.v[MT_CTR_export_seq_resyncs], 1);
	mt_spool_close(sp);

	/* The files were renumbered on disk too. */
	sp = open_spool(1 << 20, SEGMENT);
	assert_int_equal(mt_spool_next_seq(sp), 1005);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 1000);
	/* Confirmed now: a collector not ahead just acknowledges. */
	assert_int_equal(mt_spool_first_ack(sp, 1003), MT_SPOOL_IN_STEP);
	assert_int_equal(mt_spool_acked(sp), 1003);
	/* A collector ahead of a confirmed counter has what is spooled. */
	assert_int_equal(mt_spool_first_ack(sp, 5000), MT_SPOOL_MOVED);
	assert_int_equal(mt_spool_next_seq(sp), 5000);
	assert_int_equal(mt_spool_acked(sp), 5000);
	assert_false(mt_spool_has_unsent(sp));
	append(sp, MT_PRIO_NORMAL, 1, 3);
	mt_spool_rewind(sp);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 5000);
	mt_spool_close(sp);
}

/*
 * The auditor's case: a spool no collector has confirmed (appliance B,
 * fresh, spooled 52 records with the collector down) already numbers past
 * what the collector expects of the domain (8: appliance A's records).
 * Its records are new all the same: renumbered to follow the 8, none of
 * them taken as acknowledged. Before the fix the counter counted as "in
 * step" and the first 8 records as stored: the collector discarded them as
 * duplicates of A's.
 */
static void test_unconfirmed_spool_ahead_of_collector(void **state)
{
	static const unsigned sizes[] = { 5, 20, 3, 24 }; /* 52 records */
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	struct mt_spool_msg m;
	uint64_t msgs, recs;
	uint32_t seq;

	(void)state;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(sizes); i++)
		append(sp, i % 2 ? MT_PRIO_LOW : MT_PRIO_NORMAL, sizes[i], 10 + i);
	assert_int_equal(mt_spool_next_seq(sp), 52);
	assert_false(mt_spool_confirmed(sp));
	/* mailtapd stops before the collector comes back. */
	mt_spool_close(sp);

	memset(&ctr, 0, sizeof(ctr));
	sp = open_spool(1 << 20, SEGMENT);
	assert_false(mt_spool_confirmed(sp));
	assert_int_equal(mt_spool_first_ack(sp, 8), MT_SPOOL_RENUMBERED);
	assert_true(mt_spool_confirmed(sp));
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 0);
	assert_int_equal(ctr.v[MT_CTR_export_seq_resyncs], 1);
	mt_spool_unacked(sp, &msgs, &recs);
	assert_int_equal(msgs, 4);
	assert_int_equal(recs, 52);
	assert_int_equal(mt_spool_acked(sp), 8);
	assert_int_equal(mt_spool_next_seq(sp), 60);
	seq = 8;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(sizes); i++) {
		assert_int_equal(mt_spool_next(sp, out, &m), 1);
		assert_int_equal(m.seq, seq);
		assert_int_equal(mt_load_be32(out + 8), seq);
		assert_int_equal(m.nrec, sizes[i]);
		assert_int_equal(tag_of(out, m.len), 10 + i);
		seq += sizes[i];
	}
	assert_int_equal(mt_spool_next(sp, out, &m), 0);
	/* The collector stores them and says so. */
	assert_true(mt_spool_ack(sp, 60));
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 52);
	mt_spool_close(sp);
	assert_int_equal(count_files(), 0);
}

/* The same at the edges: the collector expecting exactly our counter (all
 * 52 would have been "acknowledged"), and exactly our first number (the
 * one case where nothing moves). */
static void test_unconfirmed_spool_edges(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	struct mt_spool_msg m;
	uint64_t msgs, recs;

	(void)state;
	append(sp, MT_PRIO_HIGH, 30, 1);
	append(sp, MT_PRIO_LOW, 22, 2);
	assert_int_equal(mt_spool_first_ack(sp, 52), MT_SPOOL_RENUMBERED);
	mt_spool_unacked(sp, &msgs, &recs);
	assert_int_equal(recs, 52);
	assert_int_equal(ctr.v[MT_CTR_export_records_acked], 0);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 52);
	assert_int_equal(mt_spool_next_seq(sp), 104);
	mt_spool_close(sp);
	teardown(NULL);
	setup(NULL);

	sp = open_spool(1 << 20, SEGMENT);
	append(sp, MT_PRIO_HIGH, 30, 1);
	assert_int_equal(mt_spool_first_ack(sp, 0), MT_SPOOL_IN_STEP);
	assert_int_equal(ctr.v[MT_CTR_export_seq_resyncs], 0);
	assert_int_equal(mt_spool_next(sp, out, &m), 1);
	assert_int_equal(m.seq, 0);
	mt_spool_close(sp);
}

/* A collector that acknowledged records under our numbers has confirmed
 * them even without a first acknowledgement: a later first
 * acknowledgement takes its word instead of renumbering (which would have
 * it store the same records twice). */
static void test_confirmed_by_ack(void **state)
{
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	struct mt_spool_msg m;

	(void)state;
	append(sp, MT_PRIO_HIGH, 10, 1);
	append(sp, MT_PRIO_HIGH, 10, 2);
	assert_true(mt_spool_ack(sp, 10));
	mt_spool_confirm(sp);
	mt_spool_close(sp);
	sp = open_spool(1 << 20, SEGMENT);
	assert_true(mt_spool_confirmed(sp));
	/* It stored the second message too; the acknowledgement was lost. */
	assert_int_equal(mt_spool_first_ack(sp, 20), MT_SPOOL_IN_STEP);
	assert_int_equal(mt_spool_next(sp, out, &m), 0);
	assert_int_equal(mt_spool_next_seq(sp), 20);
	mt_spool_close(sp);
}

static void read_state_file(char *text, size_t cap)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/state", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, cap - 1);
	assert_true(n > 0);
	text[n] = '\0';
	close(fd);
}

/* Drops no stats record carried survive a restart in the state file, by
 * counter; the next run reads them back. */
static void test_unreported_drops_kept(void **state)
{
	struct mt_counters un, got;
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT);
	char text[4096];
	char path[128];
	int fd;

	(void)state;
	mt_spool_unreported(sp, &got);
	for (unsigned i = 0; i < MT_CTR__COUNT; i++)
		assert_int_equal(got.v[i], 0);
	memset(&un, 0, sizeof(un));
	un.v[MT_CTR_export_spool_dropped_low] = 1200;
	un.v[MT_CTR_export_spool_dropped_high] = 7;
	un.v[MT_CTR_export_ring_drops_normal] = 33;
	mt_spool_set_unreported(sp, &un);
	append(sp, MT_PRIO_LOW, 2, 1);
	mt_spool_close(sp);
	read_state_file(text, sizeof(text));
	assert_non_null(strstr(text, "mailtap-spool 1\ndomain 7\nnext 2\nacked 0\nconfirmed 0\n"));
	assert_non_null(strstr(text, "\nunreported export.spool_dropped_low 1200\n"));
	assert_non_null(strstr(text, "\nunreported export.spool_dropped_high 7\n"));
	assert_non_null(strstr(text, "\nunreported export.ring_drops_normal 33\n"));
	assert_null(strstr(text, "spool_dropped_normal"));

	sp = open_spool(1 << 20, SEGMENT);
	mt_spool_unreported(sp, &got);
	for (unsigned i = 0; i < MT_CTR__COUNT; i++)
		if (got.v[i] != un.v[i])
			fail_msg("counter %s.%s: %llu, want %llu", mt_counter_desc[i].group,
				 mt_counter_desc[i].name, (unsigned long long)got.v[i],
				 (unsigned long long)un.v[i]);
	/* Reported now (the exporter says so): gone from the file. */
	memset(&un, 0, sizeof(un));
	mt_spool_set_unreported(sp, &un);
	mt_spool_sync(sp);
	read_state_file(text, sizeof(text));
	assert_null(strstr(text, "unreported"));
	mt_spool_close(sp);

	/* A state file of an older mailtapd (five lines) reads as none; a
	 * counter this one does not know is skipped. */
	snprintf(path, sizeof(path), "%s/state", dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "mailtap-spool 1\ndomain 7\nnext 2\nacked 0\nconfirmed 1\n"
		 "unreported export.no_such_counter 5\nunreported export.encode_errors 4\n");
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	sp = open_spool(1 << 20, SEGMENT);
	mt_spool_unreported(sp, &got);
	assert_int_equal(got.v[MT_CTR_export_encode_errors], 4);
	assert_int_equal(mt_spool_next_seq(sp), 2);
	assert_true(mt_spool_confirmed(sp));
	mt_spool_close(sp);
}

static void test_refusals(void **state)
{
	struct mt_spool_cfg cfg = {
		.dir = dir, .max_bytes = 1 << 20, .segment_bytes = SEGMENT,
		.domain = DOMAIN, .pen = MT_IPFIX_PEN_DEFAULT, .quiet = true,
	};
	struct mt_spool *sp = open_spool(1 << 20, SEGMENT), *sp2;
	char err[256], path[128];

	(void)state;
	append(sp, MT_PRIO_LOW, 1, 1);
	assert_int_equal(mt_spool_open(&sp2, &cfg, &ctr, err, sizeof(err)), -EWOULDBLOCK);
	assert_non_null(strstr(err, "in use by another mailtapd"));
	mt_spool_close(sp);

	cfg.domain = DOMAIN + 1;
	assert_int_equal(mt_spool_open(&sp2, &cfg, &ctr, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "observation domain 7"));
	/* The refusal left the other domain's state alone. */
	cfg.domain = DOMAIN;
	assert_int_equal(mt_spool_open(&sp2, &cfg, &ctr, err, sizeof(err)), 0);
	assert_int_equal(mt_spool_next_seq(sp2), 1);
	mt_spool_close(sp2);

	cfg.segment_bytes = 2 << 20;
	assert_int_equal(mt_spool_open(&sp2, &cfg, &ctr, err, sizeof(err)), -EINVAL);
	cfg.segment_bytes = SEGMENT;
	snprintf(path, sizeof(path), "%s/state", dir);
	{
		int fd = open(path, O_WRONLY | O_TRUNC);

		assert_int_equal(write(fd, "junk\n", 5), 5);
		close(fd);
	}
	assert_int_equal(mt_spool_open(&sp2, &cfg, &ctr, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a mailtap spool state file"));
	unlink(path);
	/* Without a state file the files still give the counter. */
	assert_int_equal(mt_spool_open(&sp2, &cfg, &ctr, err, sizeof(err)), 0);
	assert_int_equal(mt_spool_next_seq(sp2), 1);
	assert_true(mt_spool_has_unsent(sp2));
	mt_spool_close(sp2);
}

/* Records too large for the spool, and a message larger than the spool. */
static void test_message_larger_than_spool(void **state)
{
	struct mt_spool *sp = open_spool(SEGMENT, SEGMENT);
	size_t len = make_msg(50, 1);

	(void)state;
	/* Header (26 KB) + 5 KB does not fit 30000 bytes. */
	assert_int_equal(mt_spool_append(sp, MT_PRIO_HIGH, msgbuf, len, 50), -ENOSPC);
	assert_int_equal(ctr.v[MT_CTR_export_spool_dropped_high], 50);
	assert_int_equal(mt_spool_next_seq(sp), 50);
	len = make_msg(2, 2);
	assert_int_equal(mt_spool_append(sp, MT_PRIO_HIGH, msgbuf, len, 2), 0);
	assert_int_equal(mt_spool_append(sp, MT_PRIO_HIGH, msgbuf, len, 0), -EINVAL);
	mt_spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numbering_and_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acks_remove_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_message_in_spool_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_dropping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_spool_ahead_of_collector, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_spool_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_by_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreported_drops_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_larger_than_spool, setup, teardown),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
