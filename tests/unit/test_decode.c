/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decoder tests: every layer's good path, every malformed case with the
 * exact counter it must bump, and a check that every err_* counter is
 * exercised by some test here (so a new error class cannot go untested).
 */
#include "testutil.h"

#include "counters.h"
#include "decode.h"

static struct mt_counters ctr;
static bool err_seen[MT_CTR__COUNT];

static enum mt_decode_result dec(enum mt_link link, const struct fb *f,
				 struct mt_pkt *p)
{
	enum mt_decode_result r;

	memset(&ctr, 0, sizeof(ctr));
	r = mt_decode(link, f->d, (uint32_t)f->n, (uint32_t)f->n, 1000, p, &ctr);
	for (unsigned i = 0; i < MT_CTR__COUNT; i++)
		if (ctr.v[i])
			err_seen[i] = true;
	return r;
}

/* Exactly one decoder error counter is set, and it is `which`. */
static void assert_only_err(enum mt_ctr which)
{
	for (unsigned i = 0; i < MT_CTR__COUNT; i++) {
		if (strncmp(mt_counter_desc[i].name, "err_", 4) != 0)
			continue;
		if (i == which)
			assert_int_equal(ctr.v[i], 1);
		else if (ctr.v[i])
			fail_msg("unexpected %s", mt_counter_desc[i].name);
	}
}

static void assert_addr4(const uint8_t *a, const char *s)
{
	struct in_addr x;

	assert_int_equal(inet_pton(AF_INET, s, &x), 1);
	assert_memory_equal(a, &x, 4);
	for (int i = 4; i < 16; i++)
		assert_int_equal(a[i], 0);
}

static void test_eth_ipv4_tcp(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 25, 1000, 2000,
		MT_TCP_ACK | MT_TCP_PSH, "EHLO x\r\n", 8);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.ip_ver, 4);
	assert_int_equal(p.proto, 6);
	assert_addr4(p.src, "10.0.0.1");
	assert_addr4(p.dst, "10.0.0.2");
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 25);
	assert_int_equal(p.seq, 1000);
	assert_int_equal(p.ack, 2000);
	assert_int_equal(p.tcp_flags, MT_TCP_ACK | MT_TCP_PSH);
	assert_int_equal(p.payload_len, 8);
	assert_memory_equal(p.payload, "EHLO x\r\n", 8);
	assert_int_equal(p.wire_len, f.n);
	assert_int_equal(p.vlan_count, 0);
	assert_int_equal(p.tunnel, MT_TUNNEL_NONE);
	assert_int_equal(ctr.v[MT_CTR_decoder_ethernet], 1);
	assert_int_equal(ctr.v[MT_CTR_decoder_ipv4], 1);
	assert_int_equal(ctr.v[MT_CTR_decoder_tcp], 1);
}

static void test_ipv4_options_tcp_options(void **state)
{
	static const uint8_t ipopts[4] = { 1, 1, 1, 0 }; /* NOP NOP NOP EOL */
	static const uint8_t topts[8] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4_opts(&f, "192.0.2.1", "192.0.2.2", 6, 0, ipopts, 4);
	fb_tcp_opts(&f, 1234, 143, 1, 0, MT_TCP_SYN, topts, 8, NULL, 0);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.dport, 143);
	assert_int_equal(p.tcp_mss, 1460);
	assert_int_equal(p.tcp_wscale, 7);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(ctr.v[MT_CTR_decoder_tcp_bad_option], 0);
}

static void test_tcp_bad_option_counted(void **state)
{
	static const uint8_t topts[4] = { 2, 9, 0, 0 }; /* MSS claims 9 bytes */
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "192.0.2.1", "192.0.2.2", 6);
	fb_tcp_opts(&f, 1234, 143, 1, 0, MT_TCP_SYN, topts, 4, NULL, 0);
	fb_finish(&f);
	/* A bad option list is an anomaly, not a reason to drop the segment. */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(ctr.v[MT_CTR_decoder_tcp_bad_option], 1);
	assert_int_equal(p.tcp_mss, 0);
}

static void test_ethernet_padding(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, MT_TCP_ACK, NULL, 0);
	memset(f.d + f.n, 0xee, 6); /* 54 -> 60 bytes: minimum frame padding */
	f.n += 6;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.wire_len, 60);
}

static void test_vlan_single_and_qinq(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x8100);
	fb_vlan(&f, 100, 0x0800);
	fb_ipv4(&f, "10.1.1.1", "10.1.1.2", 6);
	fb_tcp(&f, 5555, 110, 1, 1, MT_TCP_ACK, "x", 1);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.vlan_count, 1);
	assert_int_equal(p.vlan[0], 100);

	fb_init(&f);
	fb_eth(&f, 0x88a8);
	fb_vlan(&f, 200, 0x8100);
	fb_vlan(&f, 300, 0x86dd);
	fb_ipv6(&f, "2001:db8::1", "2001:db8::2", 6);
	fb_tcp(&f, 5555, 993, 1, 1, MT_TCP_ACK, NULL, 0);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.vlan_count, 2);
	assert_int_equal(p.vlan[0], 200);
	assert_int_equal(p.vlan[1], 300);
	assert_int_equal(ctr.v[MT_CTR_decoder_vlan], 2);
	assert_int_equal(p.ip_ver, 6);
}

static void test_vlan_too_many_and_truncated(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x8100);
	for (int i = 0; i < MT_DECODE_MAX_VLAN_WALK; i++)
		fb_vlan(&f, (uint16_t)(i + 1), 0x8100);
	fb_vlan(&f, 99, 0x0800);
	fb_ipv4(&f, "10.1.1.1", "10.1.1.2", 6);
	fb_tcp(&f, 1, 2, 0, 0, 0, NULL, 0);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_vlan_too_many);

	fb_init(&f);
	fb_eth(&f, 0x8100);
	fb_u16(&f, 5); /* TCI without the next type */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_vlan_truncated);
}

static void test_eth_truncated_and_other_l3(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_bytes(&f, "\x01\x02\x03\x04\x05\x06\x07", 7);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_eth_truncated);

	fb_init(&f);
	fb_eth(&f, 0x0806); /* ARP */
	fb_bytes(&f, "\0\1\x08\0\6\4\0\1", 8);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_OTHER);
	assert_int_equal(ctr.v[MT_CTR_decoder_other_l3], 1);
}

static void build_ipv4_tcp(struct fb *f)
{
	fb_tcp4(f, "10.0.0.1", 1000, "10.0.0.2", 25, 1, 1, MT_TCP_ACK, "abcd", 4);
}

static void test_ipv4_malformed(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	/* Header cut short. */
	build_ipv4_tcp(&f);
	f.n = 14 + 19;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv4_truncated);
	/* Version 5 in an IPv4 ethertype. */
	build_ipv4_tcp(&f);
	f.d[14] = 0x55;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv4_bad_version);
	/* IHL 4 (16 bytes) is below the minimum. */
	build_ipv4_tcp(&f);
	f.d[14] = 0x44;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv4_bad_ihl);
	/* IHL 15 (60 bytes) beyond a 44-byte packet. */
	build_ipv4_tcp(&f);
	f.d[14] = 0x4f;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv4_bad_ihl);
	/* Total length beyond the frame (not a snaplen cut). */
	build_ipv4_tcp(&f);
	mt_store_be16(f.d + 16, 1500);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv4_bad_len);
	/* Total length below the header length. */
	build_ipv4_tcp(&f);
	mt_store_be16(f.d + 16, 10);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv4_bad_len);
}

static void test_snaplen_truncation(void **state)
{
	struct fb f;
	struct mt_pkt p;
	char big[600];

	(void)state;
	memset(big, 'A', sizeof(big));
	fb_tcp4(&f, "10.0.0.1", 1000, "10.0.0.2", 25, 1, 1, MT_TCP_ACK, big,
		sizeof(big));
	memset(&ctr, 0, sizeof(ctr));
	/* Captured with a 96-byte snap length. */
	assert_int_equal(mt_decode(MT_LINK_ETHERNET, f.d, 96, (uint32_t)f.n, 1, &p,
				   &ctr),
			 MT_DECODE_TCP);
	assert_int_equal(p.truncated, 1);
	assert_int_equal(p.wire_len, f.n);
	assert_int_equal(p.payload_len, 96 - 54);
	assert_int_equal(ctr.v[MT_CTR_capture_truncated], 1);
}

static void test_ipv4_fragments(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4_opts(&f, "10.0.0.1", "10.0.0.2", 6, 0x2000, NULL, 0);
	fb_tcp(&f, 1000, 25, 1, 1, MT_TCP_ACK, "first", 5);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.frag, MT_FRAG_FIRST);
	assert_int_equal(p.dport, 25);
	assert_int_equal(ctr.v[MT_CTR_decoder_ipv4_frag_first], 1);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4_opts(&f, "10.0.0.1", "10.0.0.2", 6, 0x0003, NULL, 0);
	fb_bytes(&f, "rest of the segment", 19);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_OTHER);
	assert_int_equal(p.frag, MT_FRAG_LATER);
	assert_int_equal(ctr.v[MT_CTR_decoder_ipv4_frag_later], 1);
	assert_int_equal(ctr.v[MT_CTR_decoder_tcp], 0);
}

static void test_ipv6_ext_headers(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "2001:db8::a", "2001:db8::b", 0);
	fb_ipv6_ext(&f, 43);          /* hop-by-hop -> routing */
	fb_ipv6_ext(&f, 60);          /* routing -> destination options */
	fb_ipv6_ext(&f, 44);          /* destination options -> fragment */
	fb_ipv6_frag(&f, 6, 0, true); /* first fragment -> TCP */
	fb_tcp(&f, 2000, 587, 7, 0, MT_TCP_SYN, NULL, 0);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.ip_ver, 6);
	assert_int_equal(p.dport, 587);
	assert_int_equal(p.frag, MT_FRAG_FIRST);
	assert_int_equal(ctr.v[MT_CTR_decoder_ipv6_frag_first], 1);
	assert_int_equal(p.src[15], 0xa);

	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "2001:db8::a", "2001:db8::b", 44);
	fb_ipv6_frag(&f, 6, 100, false);
	fb_bytes(&f, "later", 5);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_OTHER);
	assert_int_equal(ctr.v[MT_CTR_decoder_ipv6_frag_later], 1);
}

static void test_ipv6_malformed(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "::1", "::2", 6);
	f.n -= 1;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv6_truncated);

	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "::1", "::2", 59);
	fb_finish(&f);
	f.d[14] = 0x40;
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv6_bad_version);

	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "::1", "::2", 59);
	fb_finish(&f);
	mt_store_be16(f.d + 14 + 4, 100); /* payload beyond the frame */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv6_bad_len);

	/* An extension header claiming more bytes than there are. */
	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "::1", "::2", 0);
	fb_ipv6_ext(&f, 6);
	fb_finish(&f);
	f.d[14 + 40 + 1] = 3; /* 32 bytes */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv6_ext_truncated);

	/* An extension header cut below its 8-byte minimum. */
	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "::1", "::2", 60);
	fb_bytes(&f, "\x06\x00\x00", 3);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv6_ext_truncated);

	/* A chain longer than the walk cap (what a loop would look like). */
	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "::1", "::2", 60);
	for (int i = 0; i < MT_DECODE_MAX_IPV6_EXT + 1; i++)
		fb_ipv6_ext(&f, 60);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_ipv6_ext_too_many);
}

static void test_tcp_malformed(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	build_ipv4_tcp(&f);
	f.n = 14 + 20 + 19;
	mt_store_be16(f.d + 16, 20 + 19);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_tcp_truncated);

	build_ipv4_tcp(&f);
	f.d[14 + 20 + 12] = 0x40; /* data offset 4 */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_tcp_bad_doff);

	build_ipv4_tcp(&f);
	f.d[14 + 20 + 12] = 0xf0; /* 60 bytes, beyond the 24-byte segment */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_tcp_bad_doff);
}

static void test_udp_icmp_other(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.53", 17);
	fb_udp(&f, 3333, 53, "query", 5);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_UDP);
	assert_int_equal(p.sport, 3333);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 5);

	mt_store_be16(f.d + 14 + 20 + 4, 7); /* below the header */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_udp_bad_len);
	mt_store_be16(f.d + 14 + 20 + 4, 200); /* beyond the packet */
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_udp_bad_len);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.53", 17);
	fb_bytes(&f, "abc", 3);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_udp_truncated);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", 1);
	fb_bytes(&f, "\x08\0\0\0\0\0\0\0", 8);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_OTHER);
	assert_int_equal(ctr.v[MT_CTR_decoder_icmp], 1);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", 132); /* SCTP */
	fb_bytes(&f, "\0\0\0\0", 4);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_OTHER);
	assert_int_equal(ctr.v[MT_CTR_decoder_other_l4], 1);
}

/* Outer Ethernet/IPv4/GRE header; the caller appends GRE extras and payload. */
static void outer_gre(struct fb *f, uint16_t flags, uint16_t proto)
{
	fb_init(f);
	fb_eth(f, 0x0800);
	fb_ipv4(f, "172.16.0.1", "172.16.0.2", 47);
	fb_u16(f, flags);
	fb_u16(f, proto);
}

static void inner_eth_tcp(struct fb *f)
{
	fb_eth(f, 0x8100);
	fb_vlan(f, 42, 0x0800);
	fb_ipv4(f, "10.9.9.1", "10.9.9.2", 6);
	fb_tcp(f, 4444, 25, 1, 1, MT_TCP_ACK, "MAIL", 4);
}

static void test_gre(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	/* Plain GRE carrying IPv4, with a key. */
	outer_gre(&f, 0x2000, 0x0800);
	fb_u32(&f, 77);
	fb_ipv4(&f, "10.9.9.1", "10.9.9.2", 6);
	fb_tcp(&f, 4444, 25, 1, 1, MT_TCP_ACK, "MAIL", 4);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.tunnel, MT_TUNNEL_GRE);
	assert_int_equal(p.tunnel_id, 77);
	assert_addr4(p.src, "10.9.9.1");
	assert_int_equal(p.payload_len, 4);

	/* Transparent Ethernet bridging, checksum and sequence present; the
	 * outer VLAN is dropped, the inner one kept. */
	fb_init(&f);
	fb_eth(&f, 0x8100);
	fb_vlan(&f, 7, 0x0800);
	fb_ipv4(&f, "172.16.0.1", "172.16.0.2", 47);
	fb_u16(&f, 0x9000);
	fb_u16(&f, 0x6558);
	fb_u32(&f, 0);
	fb_u32(&f, 1);
	inner_eth_tcp(&f);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.tunnel, MT_TUNNEL_GRE);
	assert_int_equal(p.vlan_count, 1);
	assert_int_equal(p.vlan[0], 42);

	outer_gre(&f, 0x0001, 0x880b); /* version 1: PPTP */
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_gre_unsupported);

	outer_gre(&f, 0x0000, 0x1234); /* unknown payload type */
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_gre_unsupported);

	outer_gre(&f, 0xb000, 0x0800); /* C, K, S: 16 bytes, only 4 present */
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_gre_truncated);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "172.16.0.1", "172.16.0.2", 47);
	fb_u16(&f, 0);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_gre_truncated);
}

static void test_erspan(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	/* Type II: GRE with S bit, 8-byte ERSPAN header, version 1. */
	outer_gre(&f, 0x1000, 0x88be);
	fb_u32(&f, 5);
	fb_u16(&f, 0x1000 | 0);  /* ver 1, vlan 0 */
	fb_u16(&f, 0x0000 | 33); /* session 33 */
	fb_u32(&f, 0);
	inner_eth_tcp(&f);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.tunnel, MT_TUNNEL_ERSPAN2);
	assert_int_equal(p.tunnel_id, 33);
	assert_int_equal(p.dport, 25);
	assert_int_equal(ctr.v[MT_CTR_decoder_erspan2], 1);

	/* Type I: no sequence bit, no ERSPAN header. */
	outer_gre(&f, 0x0000, 0x88be);
	inner_eth_tcp(&f);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.tunnel, MT_TUNNEL_ERSPAN2);

	/* Type III with the optional platform sub-header. */
	outer_gre(&f, 0x1000, 0x22eb);
	fb_u32(&f, 9);
	fb_u16(&f, 0x2000);       /* ver 2 */
	fb_u16(&f, 0x0000 | 512); /* session 512 */
	fb_u32(&f, 0xdeadbeef);   /* timestamp */
	fb_u16(&f, 0);            /* SGT */
	fb_u8(&f, 0);             /* P, FT=0 (Ethernet), HwID */
	fb_u8(&f, 0x01);          /* O: sub-header present */
	fb_u32(&f, 0);
	fb_u32(&f, 0);
	inner_eth_tcp(&f);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.tunnel, MT_TUNNEL_ERSPAN3);
	assert_int_equal(p.tunnel_id, 512);
	assert_int_equal(ctr.v[MT_CTR_decoder_erspan3], 1);

	/* Type II header with version 2 is not type II. */
	outer_gre(&f, 0x1000, 0x88be);
	fb_u32(&f, 5);
	fb_u16(&f, 0x2000);
	fb_u16(&f, 1);
	fb_u32(&f, 0);
	inner_eth_tcp(&f);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_erspan_bad_version);

	/* Type III cut inside its header. */
	outer_gre(&f, 0x1000, 0x22eb);
	fb_u32(&f, 9);
	fb_u32(&f, 0x20000000);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_erspan_truncated);

	/* Type II cut inside its header. */
	outer_gre(&f, 0x1000, 0x88be);
	fb_u32(&f, 9);
	fb_u16(&f, 0x1000);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_erspan_truncated);
}

static void test_vxlan(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x86dd);
	fb_ipv6(&f, "fd00::1", "fd00::2", 17);
	fb_udp(&f, 50000, MT_VXLAN_PORT, NULL, 0);
	fb_u32(&f, 0x08000000);
	fb_u32(&f, 0x00123400); /* VNI 0x1234 */
	inner_eth_tcp(&f);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_TCP);
	assert_int_equal(p.tunnel, MT_TUNNEL_VXLAN);
	assert_int_equal(p.tunnel_id, 0x1234);
	assert_int_equal(p.ip_ver, 4);
	assert_int_equal(p.vlan[0], 42);
	assert_int_equal(ctr.v[MT_CTR_decoder_vxlan], 1);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", 17);
	fb_udp(&f, 50000, MT_VXLAN_PORT, NULL, 0);
	fb_u32(&f, 0x00000000); /* I flag missing */
	fb_u32(&f, 0x00000100);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_vxlan_bad_flags);

	fb_init(&f);
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", 17);
	fb_udp(&f, 50000, MT_VXLAN_PORT, "\x08\0\0", 3);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_vxlan_truncated);
}

static void test_tunnel_too_deep(void **state)
{
	struct fb f;
	struct mt_pkt p;

	(void)state;
	fb_init(&f);
	fb_eth(&f, 0x0800);
	for (int i = 0; i <= MT_DECODE_MAX_TUNNEL; i++) {
		fb_ipv4(&f, "172.16.0.1", "172.16.0.2", 47);
		fb_u16(&f, 0);
		fb_u16(&f, 0x0800);
	}
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", 6);
	fb_tcp(&f, 1, 25, 0, 0, MT_TCP_SYN, NULL, 0);
	fb_finish(&f);
	assert_int_equal(dec(MT_LINK_ETHERNET, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_tunnel_too_deep);
	assert_int_equal(ctr.v[MT_CTR_decoder_gre], MT_DECODE_MAX_TUNNEL + 1);
}

static void test_link_types(void **state)
{
	struct fb f, ip;
	struct mt_pkt p;

	(void)state;
	fb_init(&ip);
	fb_ipv4(&ip, "10.0.0.1", "10.0.0.2", 6);
	fb_tcp(&ip, 1, 110, 0, 0, MT_TCP_SYN, NULL, 0);
	fb_finish(&ip);

	assert_int_equal(dec(MT_LINK_RAW, &ip, &p), MT_DECODE_TCP);
	assert_int_equal(p.dport, 110);

	fb_init(&f); /* Linux cooked v1: 14 bytes, then protocol */
	fb_bytes(&f, "\0\0\0\1\0\6\2\0\0\0\0\1\0\0", 14);
	fb_u16(&f, 0x0800);
	fb_bytes(&f, ip.d, ip.n);
	assert_int_equal(dec(MT_LINK_LINUX_SLL, &f, &p), MT_DECODE_TCP);

	fb_init(&f); /* Linux cooked v2: protocol first, 20 bytes */
	fb_u16(&f, 0x0800);
	fb_bytes(&f, "\0\0\0\0\0\1\0\1\4\6\2\0\0\0\0\1\0\0", 18);
	fb_bytes(&f, ip.d, ip.n);
	assert_int_equal(dec(MT_LINK_LINUX_SLL2, &f, &p), MT_DECODE_TCP);

	fb_init(&f); /* BSD loopback, little-endian AF_INET */
	fb_bytes(&f, "\2\0\0\0", 4);
	fb_bytes(&f, ip.d, ip.n);
	assert_int_equal(dec(MT_LINK_NULL, &f, &p), MT_DECODE_TCP);

	assert_int_equal(dec((enum mt_link)147, &ip, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_link_unsupported);

	fb_init(&f);
	fb_bytes(&f, "\0\0", 2);
	assert_int_equal(dec(MT_LINK_LINUX_SLL, &f, &p), MT_DECODE_ERROR);
	assert_only_err(MT_CTR_decoder_err_eth_truncated);
}

static void test_addr_format(void **state)
{
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	char s[64];

	(void)state;
	a[15] = 1;
	mt_addr_format(a, 6, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1");
	memset(a, 0, sizeof(a));
	a[0] = 192;
	a[1] = 0;
	a[2] = 2;
	a[3] = 10;
	mt_addr_format(a, 4, s, sizeof(s));
	assert_string_equal(s, "192.0.2.10");
}

/* Runs last: every err_* counter must have been produced by a test above. */
static void test_every_error_is_tested(void **state)
{
	(void)state;
	for (unsigned i = 0; i < MT_CTR__COUNT; i++)
		if (strcmp(mt_counter_desc[i].group, "decoder") == 0 &&
		    strncmp(mt_counter_desc[i].name, "err_", 4) == 0 && !err_seen[i])
			fail_msg("decoder.%s is never exercised", mt_counter_desc[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_ipv4_tcp),
		cmocka_unit_test(test_ipv4_options_tcp_options),
		cmocka_unit_test(test_tcp_bad_option_counted),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_vlan_single_and_qinq),
		cmocka_unit_test(test_vlan_too_many_and_truncated),
		cmocka_unit_test(test_eth_truncated_and_other_l3),
		cmocka_unit_test(test_ipv4_malformed),
		cmocka_unit_test(test_snaplen_truncation),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_ipv6_malformed),
		cmocka_unit_test(test_tcp_malformed),
		cmocka_unit_test(test_udp_icmp_other),
		cmocka_unit_test(test_gre),
		cmocka_unit_test(test_erspan),
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_tunnel_too_deep),
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_every_error_is_tested),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
