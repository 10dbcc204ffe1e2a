/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP reassembly tests: in-order delivery, reordering, retransmission,
 * overlaps (first copy wins), gaps (by ACK, by cap, at the end), FIN and
 * RST, mid-stream pick-up and sequence wrap-around. A recorder callback
 * rebuilds each direction's byte stream with gaps marked, so each test
 * states the exact stream the analyzer would see.
 */
#include "testutil.h"

#include "stream.h"

#define REC_MAX 8192

struct recorder {
	char out[2][REC_MAX];   /* bytes delivered, '#' per missing byte */
	size_t n[2];
	unsigned gaps[2];
	unsigned ends[2];
	uint32_t gap_bytes[2];
};

static void r_data(void *ctx, void *owner, int dir, const uint8_t *p, uint32_t len)
{
	struct recorder *r = ctx;

	(void)owner;
	assert_true(r->n[dir] + len < REC_MAX);
	memcpy(r->out[dir] + r->n[dir], p, len);
	r->n[dir] += len;
	r->out[dir][r->n[dir]] = '\0';
	assert_int_equal(r->ends[dir], 0); /* nothing after the end */
}

static void r_gap(void *ctx, void *owner, int dir, uint32_t len)
{
	struct recorder *r = ctx;

	(void)owner;
	r->gaps[dir]++;
	r->gap_bytes[dir] += len;
	for (uint32_t i = 0; i < len && r->n[dir] + 1 < REC_MAX; i++)
		r->out[dir][r->n[dir]++] = '#';
	r->out[dir][r->n[dir]] = '\0';
}

static void r_end(void *ctx, void *owner, int dir)
{
	struct recorder *r = ctx;

	(void)owner;
	r->ends[dir]++;
}

static const struct mt_stream_ops ops = { r_data, r_gap, r_end };

struct fixture {
	struct mt_reasm ra;
	struct mt_stream s;
	struct recorder rec;
	struct mt_counters ctr;
};

static struct fixture *setup_with(uint32_t per_dir, uint64_t pool)
{
	static struct fixture fx;
	struct mt_stream_config cfg = { per_dir, pool };

	memset(&fx, 0, sizeof(fx));
	assert_int_equal(mt_reasm_init(&fx.ra, &cfg, &ops, &fx.rec, &fx.ctr), 0);
	mt_stream_init(&fx.s);
	return &fx;
}

static void teardown_fx(struct fixture *fx)
{
	/* Every chunk must be back in the pool. */
	assert_int_equal(fx->ra.free_count, fx->ra.nchunks);
	mt_reasm_free(&fx->ra);
}

static void seg(struct fixture *fx, int dir, uint32_t seq, uint32_t ack,
		uint8_t flags, const char *data)
{
	struct mt_pkt p;

	memset(&p, 0, sizeof(p));
	p.seq = seq;
	p.ack = ack;
	p.tcp_flags = flags;
	p.payload = (const uint8_t *)data;
	p.payload_len = data ? (uint32_t)strlen(data) : 0;
	mt_stream_segment(&fx->ra, &fx->s, NULL, dir, &p);
}

#define C 0
#define S 1
#define A MT_TCP_ACK
#define SYN MT_TCP_SYN
#define FIN MT_TCP_FIN
#define RST MT_TCP_RST

static void handshake(struct fixture *fx, uint32_t cisn, uint32_t sisn)
{
	seg(fx, C, cisn, 0, SYN, NULL);
	seg(fx, S, sisn, cisn + 1, SYN | A, NULL);
	seg(fx, C, cisn + 1, sisn + 1, A, NULL);
}

static void test_in_order_and_fin(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 100, 5000);
	seg(fx, S, 5001, 101, A, "220 hello\r\n");
	seg(fx, C, 101, 5012, A, "EHLO a\r\n");
	seg(fx, S, 5012, 109, A, "250 ok\r\n");
	seg(fx, C, 109, 5020, A | FIN, "QUIT\r\n");
	seg(fx, S, 5020, 116, A | FIN, "221 bye\r\n");
	assert_string_equal(fx->rec.out[C], "EHLO a\r\nQUIT\r\n");
	assert_string_equal(fx->rec.out[S], "220 hello\r\n250 ok\r\n221 bye\r\n");
	assert_int_equal(fx->rec.ends[C], 1);
	assert_int_equal(fx->rec.ends[S], 1);
	assert_int_equal(fx->rec.gaps[C] + fx->rec.gaps[S], 0);
	/* finish after both FINs changes nothing */
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_int_equal(fx->rec.ends[C], 1);
	assert_int_equal(fx->ctr.v[MT_CTR_stream_bytes_delivered], 14 + 28);
	teardown_fx(fx);
}

static void test_reordered_segments(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 7, 1, A, "ghi");
	seg(fx, C, 4, 1, A, "defG"); /* "G" overlaps the queued "g" */
	assert_int_equal(fx->rec.n[C], 0);
	seg(fx, C, 1, 1, A, "abc");
	assert_string_equal(fx->rec.out[C], "abcdefghi");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_ooo_queued], 1);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_retransmission_and_overlap_first_wins(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "hello ");
	seg(fx, C, 1, 1, A, "hello ");  /* exact retransmission */
	seg(fx, C, 4, 1, A, "XXXworld"); /* overlap: "XXX" must not replace "lo " */
	assert_string_equal(fx->rec.out[C], "hello world");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_retransmissions], 1);
	assert_int_equal(fx->ctr.v[MT_CTR_stream_overlaps], 1);

	/* Overlap inside the queue: the first queued copy wins as well. */
	seg(fx, C, 20, 1, A, "BBBB");
	seg(fx, C, 18, 1, A, "ccXXXXdd");
	seg(fx, C, 12, 1, A, "aaaaaa");
	assert_string_equal(fx->rec.out[C], "hello worldaaaaaaccBBBBdd");
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_gap_declared_by_ack(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "aaaa");
	/* "bbbb" at 5 is lost by the tap; "cccc" waits in the queue. */
	seg(fx, C, 9, 1, A, "cccc");
	assert_string_equal(fx->rec.out[C], "aaaa");
	/* The server acknowledges everything: the hole will never be filled. */
	seg(fx, S, 1, 13, A, NULL);
	assert_string_equal(fx->rec.out[C], "aaaa####cccc");
	assert_int_equal(fx->rec.gaps[C], 1);
	assert_int_equal(fx->rec.gap_bytes[C], 4);
	/* A late copy of the lost data is now a retransmission. */
	seg(fx, C, 5, 1, A, "bbbb");
	assert_string_equal(fx->rec.out[C], "aaaa####cccc");
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_gap_by_flow_cap(void **state)
{
	/* One chunk per direction. */
	struct fixture *fx = setup_with(MT_STREAM_CHUNK_DATA, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "aa");
	seg(fx, C, 10, 1, A, "xx"); /* queued: the one chunk */
	/* Cap: give up on the first hole only (up to the queued "xx"), which
	 * frees the chunk, so "yy" waits for its own hole to be filled. */
	seg(fx, C, 20, 1, A, "yy");
	assert_string_equal(fx->rec.out[C], "aa#######xx");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_ooo_flow_cap], 1);
	assert_int_equal(fx->rec.gaps[C], 1);
	assert_int_equal(fx->s.d[C].ooo_chunks, 1);
	seg(fx, C, 22, 1, A, "zz"); /* cap again: hole up to "yy" */
	assert_string_equal(fx->rec.out[C], "aa#######xx########yyzz");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_ooo_flow_cap], 2);
	assert_int_equal(fx->rec.gaps[C], 2);
	assert_int_equal(fx->ctr.v[MT_CTR_stream_gap_bytes], 15);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

/*
 * The cap is hit by a segment lying before the queued data: only the hole
 * in front of it is missing; it and the queued data stay in order and
 * nothing captured is counted as lost (the old code gave "aa#######xx").
 */
static void test_cap_segment_before_queue(void **state)
{
	struct fixture *fx = setup_with(MT_STREAM_CHUNK_DATA, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "aa");
	seg(fx, C, 10, 1, A, "xx");
	seg(fx, C, 5, 1, A, "bb");
	assert_string_equal(fx->rec.out[C], "aa##bb");
	assert_int_equal(fx->rec.gaps[C], 1);
	assert_int_equal(fx->ctr.v[MT_CTR_stream_ooo_flow_cap], 1);
	assert_int_equal(fx->s.d[C].ooo_chunks, 1);
	/* The hole before "xx" can still be filled. */
	seg(fx, C, 7, 1, A, "ccc");
	assert_string_equal(fx->rec.out[C], "aa##bbcccxx");
	assert_int_equal(fx->rec.gaps[C], 1);
	assert_int_equal(fx->ctr.v[MT_CTR_stream_gap_bytes], 2);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[C], "aa##bbcccxx");
	teardown_fx(fx);
}

/*
 * A capped segment reaching into the queued data: its bytes up to the
 * queue are delivered, the queued copy of the overlap wins, its tail
 * after the queue follows.
 */
static void test_cap_segment_overlaps_queue(void **state)
{
	struct fixture *fx = setup_with(MT_STREAM_CHUNK_DATA, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "aa");
	seg(fx, C, 10, 1, A, "xx");
	seg(fx, C, 5, 1, A, "bbbbbYYzz");
	assert_string_equal(fx->rec.out[C], "aa##bbbbbxxzz");
	assert_int_equal(fx->rec.gaps[C], 1);
	assert_int_equal(fx->s.d[C].ooo_chunks, 0);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[C], "aa##bbbbbxxzz");
	teardown_fx(fx);
}

/* Several queued pieces, cap hit far ahead: holes go one at a time. */
static void test_cap_gives_up_one_hole_at_a_time(void **state)
{
	struct fixture *fx = setup_with(2 * MT_STREAM_CHUNK_DATA, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "a");
	seg(fx, C, 5, 1, A, "b");
	seg(fx, C, 9, 1, A, "c");
	seg(fx, C, 30, 1, A, "d"); /* cap: give up 2..4, "b" frees a chunk */
	assert_string_equal(fx->rec.out[C], "a###b");
	assert_int_equal(fx->s.d[C].ooo_chunks, 2);
	seg(fx, C, 6, 1, A, "EFG");
	assert_string_equal(fx->rec.out[C], "a###bEFGc");
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[C], "a###bEFGc####################d");
	teardown_fx(fx);
}

/* A segment too big for the cap is still delivered whole, behind its hole. */
static void test_cap_big_segment_partly_queued(void **state)
{
	struct fixture *fx = setup_with(MT_STREAM_CHUNK_DATA, 1 << 20);
	static char big[4001];

	(void)state;
	memset(big, 'q', 4000);
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "p");
	seg(fx, C, 4, 1, A, big);  /* needs three chunks, one allowed */
	assert_int_equal(fx->rec.n[C], 1 + 2 + 4000);
	assert_int_equal(fx->rec.gaps[C], 1);
	assert_int_equal(fx->rec.out[C][3], 'q');
	assert_int_equal(fx->rec.out[C][4002], 'q');
	assert_int_equal(fx->ctr.v[MT_CTR_stream_overlaps], 0);
	assert_int_equal(fx->s.d[C].ooo_chunks, 0);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

/* Pool empty: the same rule, the pool cap counted. */
static void test_pool_cap_segment_before_queue(void **state)
{
	struct fixture *fx = setup_with(65536, sizeof(struct mt_stream_chunk));

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "aa");
	seg(fx, C, 10, 1, A, "xx");
	seg(fx, C, 5, 1, A, "bb");
	assert_string_equal(fx->rec.out[C], "aa##bb");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_ooo_pool_cap], 1);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[C], "aa##bb###xx");
	teardown_fx(fx);
}

/* An in-order segment reaching into queued data: the queued copy wins. */
static void test_in_order_overlap_queue_first_wins(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 5, 1, A, "EF");
	seg(fx, C, 9, 1, A, "IJ");
	seg(fx, C, 1, 1, A, "abcdXXghYYkl");
	assert_string_equal(fx->rec.out[C], "abcdEFghIJkl");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_overlaps], 1);
	assert_int_equal(fx->s.d[C].ooo_chunks, 0);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_gap_by_pool(void **state)
{
	/* Pool of exactly one chunk shared by both directions. */
	struct fixture *fx = setup_with(65536, sizeof(struct mt_stream_chunk));

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, S, 5, 1, A, "late");      /* takes the only chunk */
	seg(fx, C, 5, 1, A, "x");         /* pool empty: client moves on */
	assert_string_equal(fx->rec.out[C], "####x");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_ooo_pool_cap], 1);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[S], "####late");
	teardown_fx(fx);
}

static void test_large_segment_spans_chunks(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);
	static char big[4001];

	(void)state;
	memset(big, 'q', 4000);
	handshake(fx, 0, 0);
	seg(fx, C, 2, 1, A, big);   /* out of order, needs three chunks */
	assert_int_equal(fx->s.d[C].ooo_chunks, 3);
	seg(fx, C, 1, 1, A, "p");
	assert_int_equal(fx->rec.n[C], 4001);
	assert_int_equal(fx->rec.out[C][0], 'p');
	assert_int_equal(fx->rec.out[C][4000], 'q');
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_rst_ends_both(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "abc");
	seg(fx, C, 10, 1, A, "queued");
	seg(fx, S, 1, 4, RST, NULL);
	assert_int_equal(fx->rec.ends[C], 1);
	assert_int_equal(fx->rec.ends[S], 1);
	/* Queued data is delivered behind a gap before the end. */
	assert_string_equal(fx->rec.out[C], "abc######queued");
	seg(fx, C, 16, 1, A, "after");
	assert_string_equal(fx->rec.out[C], "abc######queued");
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_int_equal(fx->rec.ends[C], 1);
	teardown_fx(fx);
}

static void test_midstream_and_one_sided(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	/* Only the client side is on the tap, and the capture began late. */
	seg(fx, C, 70000, 9, A, "A1 LOGIN ");
	seg(fx, C, 70009, 9, A, "bob pw\r\n");
	seg(fx, C, 70017, 9, A | FIN, NULL);
	assert_string_equal(fx->rec.out[C], "A1 LOGIN bob pw\r\n");
	assert_int_equal(fx->rec.ends[C], 1);
	assert_int_equal(fx->rec.ends[S], 0);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_int_equal(fx->rec.ends[S], 1);
	teardown_fx(fx);
}

static void test_fin_with_missing_data(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "ab");
	seg(fx, C, 6, 1, A | FIN, "f"); /* "cde" lost, FIN at 7 */
	assert_int_equal(fx->rec.ends[C], 0);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[C], "ab###f");
	assert_int_equal(fx->rec.ends[C], 1);
	teardown_fx(fx);
}

static void test_sequence_wraparound(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0xfffffffa, 0);
	/* next expected: 0xfffffffb; the data crosses 2^32 */
	seg(fx, C, 0x00000003, 1, A, "WXYZ");      /* after the wrap, queued */
	seg(fx, C, 0xfffffffb, 1, A, "abcdefgh");  /* fills up to 0x00000003 */
	assert_string_equal(fx->rec.out[C], "abcdefghWXYZ");
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_out_of_window(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);

	(void)state;
	handshake(fx, 0, 0);
	seg(fx, C, 1, 1, A, "ok");
	seg(fx, C, 1u << 31, 1, A, "junk");
	assert_int_equal(fx->ctr.v[MT_CTR_stream_out_of_window], 1);
	assert_string_equal(fx->rec.out[C], "ok");
	assert_int_equal(fx->s.d[C].ooo_chunks, 0);
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	teardown_fx(fx);
}

static void test_fragment_payload_ignored(void **state)
{
	struct fixture *fx = setup_with(65536, 1 << 20);
	struct mt_pkt p;

	(void)state;
	handshake(fx, 0, 0);
	memset(&p, 0, sizeof(p));
	p.seq = 1;
	p.tcp_flags = A;
	p.payload = (const uint8_t *)"partial";
	p.payload_len = 7;
	p.frag = MT_FRAG_FIRST;
	mt_stream_segment(&fx->ra, &fx->s, NULL, C, &p);
	assert_int_equal(fx->rec.n[C], 0);
	seg(fx, C, 20, 1, A, "next");
	mt_stream_finish(&fx->ra, &fx->s, NULL);
	assert_string_equal(fx->rec.out[C], "###################next");
	teardown_fx(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_fin),
		cmocka_unit_test(test_reordered_segments),
		cmocka_unit_test(test_retransmission_and_overlap_first_wins),
		cmocka_unit_test(test_gap_declared_by_ack),
		cmocka_unit_test(test_gap_by_flow_cap),
		cmocka_unit_test(test_gap_by_pool),
		cmocka_unit_test(test_cap_segment_before_queue),
		cmocka_unit_test(test_cap_segment_overlaps_queue),
		cmocka_unit_test(test_cap_gives_up_one_hole_at_a_time),
		cmocka_unit_test(test_cap_big_segment_partly_queued),
		cmocka_unit_test(test_pool_cap_segment_before_queue),
		cmocka_unit_test(test_in_order_overlap_queue_first_wins),
		cmocka_unit_test(test_large_segment_spans_chunks),
		cmocka_unit_test(test_rst_ends_both),
		cmocka_unit_test(test_midstream_and_one_sided),
		cmocka_unit_test(test_fin_with_missing_data),
		cmocka_unit_test(test_sequence_wraparound),
		cmocka_unit_test(test_out_of_window),
		cmocka_unit_test(test_fragment_payload_ignored),
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
