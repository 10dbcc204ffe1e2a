/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Symmetric RSS, which no virtual PMD exercises (net_tap cannot program its
 * hash, net_pcap has none): the Toeplitz hash a NIC computes is recomputed
 * here in software with the very key mailtapd programs (drivers/rss_key.h,
 * the bytes dpdk_port.c writes) for many IPv4 and IPv6 tuples, and both
 * directions of every flow must hash alike, so they meet on one worker;
 * the hash must also spread flows over the queues (through the default
 * redirection table), including one client's many connections to one
 * server, the brute-force case.
 *
 * The hash is DPDK's own software Toeplitz, rte_softrss (rte_thash.h, the
 * NIC's tuple layout); a plain bit-by-bit Toeplitz written from the
 * definition checks it, and both are checked first against the published
 * verification suite (Microsoft "Verifying the RSS Hash Calculation", the
 * same vectors as the Intel 82599 datasheet 7.1.2.8.3).
 */
#include "testutil.h"

#include <rte_ip.h>
#include <rte_thash.h>

#include "../../drivers/rss_key.h"

#define KEY_MAX 52   /* 40: ixgbe, mlx5, net_tap; 52: i40e, ice */

/* The key of the verification suite. */
static const uint8_t ms_key[40] __attribute__((aligned(4))) = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct tuple {
	int ver;             /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

/* Toeplitz from its definition: for every set input bit k (most
 * significant first), XOR in the 32 key bits starting at key bit k. */
static uint32_t toeplitz(const uint8_t *key, size_t klen, const uint8_t *in, size_t n)
{
	uint32_t h = 0;
	uint32_t win = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
		       (uint32_t)key[2] << 8 | key[3];

	for (size_t i = 0; i < n; i++)
		for (int b = 7; b >= 0; b--) {
			if ((in[i] >> b) & 1)
				h ^= win;
			win <<= 1;
			if (i + 4 < klen && ((key[i + 4] >> b) & 1))
				win |= 1;
		}
	return h;
}

/* The input as the NIC sees it: source address, destination address,
 * then (l4) source and destination port, all in network order. */
static uint32_t ref_hash(const uint8_t *key, size_t klen, const struct tuple *t, bool l4)
{
	uint8_t in[36];
	size_t al = t->ver == 4 ? 4 : 16, n = 0;

	memcpy(in + n, t->src, al);
	n += al;
	memcpy(in + n, t->dst, al);
	n += al;
	if (l4) {
		in[n++] = (uint8_t)(t->sport >> 8);
		in[n++] = (uint8_t)t->sport;
		in[n++] = (uint8_t)(t->dport >> 8);
		in[n++] = (uint8_t)t->dport;
	}
	return toeplitz(key, klen, in, n);
}

/* DPDK's software RSS over the tuple in its documented layout. */
static uint32_t dpdk_hash(const uint8_t *key, const struct tuple *t, bool l4)
{
	union rte_thash_tuple tt;

	memset(&tt, 0, sizeof(tt));
	if (t->ver == 4) {
		tt.v4.src_addr = (uint32_t)t->src[0] << 24 | (uint32_t)t->src[1] << 16 |
				 (uint32_t)t->src[2] << 8 | t->src[3];
		tt.v4.dst_addr = (uint32_t)t->dst[0] << 24 | (uint32_t)t->dst[1] << 16 |
				 (uint32_t)t->dst[2] << 8 | t->dst[3];
		tt.v4.sport = t->sport;
		tt.v4.dport = t->dport;
		return rte_softrss((uint32_t *)&tt,
				   l4 ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN, key);
	}
	{
		struct rte_ipv6_hdr h;

		memset(&h, 0, sizeof(h));
		memcpy(h.src_addr, t->src, 16);
		memcpy(h.dst_addr, t->dst, 16);
		rte_thash_load_v6_addrs(&h, &tt);
		tt.v6.sport = t->sport;
		tt.v6.dport = t->dport;
		return rte_softrss((uint32_t *)&tt,
				   l4 ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN, key);
	}
}

static struct tuple mk(int ver, const char *src, uint16_t sport, const char *dst,
		       uint16_t dport)
{
	struct tuple t;

	memset(&t, 0, sizeof(t));
	t.ver = ver;
	assert_int_equal(inet_pton(ver == 4 ? AF_INET : AF_INET6, src, t.src), 1);
	assert_int_equal(inet_pton(ver == 4 ? AF_INET : AF_INET6, dst, t.dst), 1);
	t.sport = sport;
	t.dport = dport;
	return t;
}

static struct tuple reversed(const struct tuple *t)
{
	struct tuple r = *t;

	memcpy(r.src, t->dst, 16);
	memcpy(r.dst, t->src, 16);
	r.sport = t->dport;
	r.dport = t->sport;
	return r;
}

/* Both implementations against the published suite. */
static void test_verification_suite(void **state)
{
	static const struct {
		int ver;
		const char *src, *dst;
		uint16_t sport, dport;
		uint32_t l3, l4;
	} v[] = {
		{ 4, "66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178 },
		{ 4, "199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea },
		{ 4, "24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
		{ 4, "38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f },
		{ 4, "153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2 },
		{ 6, "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766,
		  0x2cc18cd5, 0x40207d3d },
		{ 6, "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739,
		  0x0f0c461c, 0xdde51bbf },
		{ 6, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf",
		  44251, 38024, 0x4b61e985, 0x02d1feef },
	};

	(void)state;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(v); i++) {
		struct tuple t = mk(v[i].ver, v[i].src, v[i].sport, v[i].dst, v[i].dport);

		assert_int_equal(ref_hash(ms_key, sizeof(ms_key), &t, false), v[i].l3);
		assert_int_equal(ref_hash(ms_key, sizeof(ms_key), &t, true), v[i].l4);
		assert_int_equal(dpdk_hash(ms_key, &t, false), v[i].l3);
		assert_int_equal(dpdk_hash(ms_key, &t, true), v[i].l4);
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static struct tuple random_tuple(int ver)
{
	struct tuple t;

	memset(&t, 0, sizeof(t));
	t.ver = ver;
	for (unsigned i = 0; i < (ver == 4 ? 4u : 16u); i++) {
		t.src[i] = (uint8_t)rnd();
		t.dst[i] = (uint8_t)rnd();
	}
	t.sport = (uint16_t)rnd();
	t.dport = (uint16_t)rnd();
	return t;
}

/* What a PMD does with the hash by default: a redirection table of
 * `reta` entries filled round robin over the queues. */
static unsigned queue_of(uint32_t hash, unsigned reta, unsigned nq)
{
	return (hash % reta) % nq;
}

/* Every key length a PMD may ask for, every tuple kind, both directions:
 * DPDK's hash and the reference agree, and the two directions are equal. */
static void test_mailtap_key_is_symmetric(void **state)
{
	static const unsigned klens[] = { 40, 52 };
	uint8_t key[KEY_MAX] __attribute__((aligned(4)));

	(void)state;
	for (unsigned k = 0; k < MT_ARRAY_SIZE(klens); k++) {
		memset(key, 0, sizeof(key));
		mt_rss_key_fill(key, klens[k]);
		for (unsigned i = 0; i < 20000; i++) {
			/* IPv4 and IPv6; the NIC's input for TCP and UDP is the
			 * same 4-tuple (RTE_ETH_RSS_NONFRAG_IPV*_TCP and _UDP),
			 * and non-TCP/UDP packets and fragments hash on the
			 * addresses alone (RTE_ETH_RSS_IP). */
			struct tuple t = random_tuple(i & 1 ? 6 : 4);
			struct tuple r = reversed(&t);

			for (int l4 = 0; l4 < 2; l4++) {
				uint32_t h = dpdk_hash(key, &t, l4);

				if (h != dpdk_hash(key, &r, l4))
					fail_msg("key %u: IPv%d %s tuple %u: directions "
						 "hash %08x and %08x", klens[k], t.ver,
						 l4 ? "L4" : "L3", i, h, dpdk_hash(key, &r, l4));
				assert_int_equal(h, ref_hash(key, klens[k], &t, l4));
			}
		}
	}
}

/* The check above can fail: the suite's own key is not symmetric. */
static void test_asymmetric_key_detected(void **state)
{
	unsigned differ = 0;

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		struct tuple t = random_tuple(4);
		struct tuple r = reversed(&t);

		differ += dpdk_hash(ms_key, &t, true) != dpdk_hash(ms_key, &r, true);
	}
	assert_true(differ > 900);
}

/* Each queue gets between half and one and a half times its fair share. */
static void check_spread(const char *what, const uint32_t *hash, unsigned n)
{
	static const unsigned retas[] = { 64, 128, 512 };
	static const unsigned nqs[] = { 2, 3, 4, 8 };

	for (unsigned r = 0; r < MT_ARRAY_SIZE(retas); r++)
		for (unsigned q = 0; q < MT_ARRAY_SIZE(nqs); q++) {
			unsigned cnt[8] = { 0 };

			for (unsigned i = 0; i < n; i++)
				cnt[queue_of(hash[i], retas[r], nqs[q])]++;
			for (unsigned j = 0; j < nqs[q]; j++)
				if (cnt[j] * nqs[q] * 2 < n || cnt[j] * nqs[q] * 2 > 3 * n)
					fail_msg("%s: %u queues, RETA %u: queue %u has %u of "
						 "%u flows", what, nqs[q], retas[r], j, cnt[j], n);
		}
}

static void test_mailtap_key_spreads(void **state)
{
	enum { N = 4096 };
	static uint32_t h[N];
	uint8_t key[KEY_MAX] __attribute__((aligned(4)));
	struct tuple t;

	(void)state;
	mt_rss_key_fill(key, 40);

	/* Many IPv4 clients to one mail server, random ephemeral ports. */
	for (unsigned i = 0; i < N; i++) {
		t = random_tuple(4);
		memcpy(t.dst, (const uint8_t[]){ 192, 0, 2, 25 }, 4);
		t.dport = 25;
		t.sport = (uint16_t)(32768 + rnd() % 28232);
		h[i] = dpdk_hash(key, &t, true);
	}
	check_spread("IPv4 clients to one server", h, N);

	/* One client's successive connections to one server (brute force):
	 * only the source port changes. */
	for (unsigned i = 0; i < N; i++) {
		t = mk(4, "198.51.100.10", (uint16_t)(40000 + i), "198.51.100.2", 143);
		h[i] = dpdk_hash(key, &t, true);
	}
	check_spread("one client, one server, successive ports", h, N);

	/* The same over IPv6. */
	for (unsigned i = 0; i < N; i++) {
		t = mk(6, "2001:db8::10", (uint16_t)(40000 + i), "2001:db8::2", 993);
		h[i] = dpdk_hash(key, &t, true);
	}
	check_spread("IPv6 one client, one server", h, N);

	/* Random IPv6 tuples, and address-only hashing. */
	for (unsigned i = 0; i < N; i++) {
		t = random_tuple(6);
		h[i] = dpdk_hash(key, &t, true);
	}
	check_spread("random IPv6 tuples", h, N);
	for (unsigned i = 0; i < N; i++) {
		t = random_tuple(i & 1 ? 6 : 4);
		h[i] = dpdk_hash(key, &t, false);
	}
	check_spread("addresses only", h, N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verification_suite),
		cmocka_unit_test(test_mailtap_key_is_symmetric),
		cmocka_unit_test(test_asymmetric_key_detected),
		cmocka_unit_test(test_mailtap_key_spreads),
	};

	return cmocka_run_group_tests_name("rss", tests, NULL, NULL);
}
