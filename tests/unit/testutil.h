/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the unit tests: a frame builder that appends headers and
 * fixes every length field at the end (so tests write what a packet is, not
 * its byte arithmetic), and cmocka includes in the order cmocka wants.
 */
#ifndef MT_TESTUTIL_H
#define MT_TESTUTIL_H

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mt_common.h"

#define FB_MAX 4096
#define FB_DEPTH 8

struct fb {
	uint8_t d[FB_MAX];
	size_t n;
	/* Length fields to fix in fb_finish(), innermost last. */
	struct {
		size_t off;
		int kind; /* 4 = IPv4 total length, 6 = IPv6 payload length, 17 = UDP */
	} fix[FB_DEPTH];
	int nfix;
};

static inline void fb_init(struct fb *f)
{
	memset(f, 0, sizeof(*f));
}

static inline void fb_bytes(struct fb *f, const void *p, size_t n)
{
	assert_true(f->n + n <= FB_MAX);
	memcpy(f->d + f->n, p, n);
	f->n += n;
}

static inline void fb_u8(struct fb *f, uint8_t v)
{
	fb_bytes(f, &v, 1);
}

static inline void fb_u16(struct fb *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	fb_bytes(f, b, 2);
}

static inline void fb_u32(struct fb *f, uint32_t v)
{
	fb_u16(f, (uint16_t)(v >> 16));
	fb_u16(f, (uint16_t)v);
}

static inline void fb_eth(struct fb *f, uint16_t type)
{
	static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1 };

	fb_bytes(f, macs, 12);
	fb_u16(f, type);
}

/* A tag after an Ethernet type of 0x8100/0x88a8: TCI then the next type. */
static inline void fb_vlan(struct fb *f, uint16_t vid, uint16_t next)
{
	fb_u16(f, vid & 0x0fff);
	fb_u16(f, next);
}

static inline void fb_ipv4_opts(struct fb *f, const char *src, const char *dst,
				uint8_t proto, uint16_t frag, const uint8_t *opts,
				size_t optlen)
{
	struct in_addr a;

	assert_int_equal(optlen % 4, 0);
	f->fix[f->nfix].off = f->n;
	f->fix[f->nfix++].kind = 4;
	fb_u8(f, (uint8_t)(0x40 | (5 + optlen / 4)));
	fb_u8(f, 0);
	fb_u16(f, 0); /* total length: fixed later */
	fb_u16(f, 0x1234);
	fb_u16(f, frag);
	fb_u8(f, 64);
	fb_u8(f, proto);
	fb_u16(f, 0);
	assert_int_equal(inet_pton(AF_INET, src, &a), 1);
	fb_bytes(f, &a, 4);
	assert_int_equal(inet_pton(AF_INET, dst, &a), 1);
	fb_bytes(f, &a, 4);
	if (optlen)
		fb_bytes(f, opts, optlen);
}

static inline void fb_ipv4(struct fb *f, const char *src, const char *dst,
			   uint8_t proto)
{
	fb_ipv4_opts(f, src, dst, proto, 0, NULL, 0);
}

static inline void fb_ipv6(struct fb *f, const char *src, const char *dst,
			   uint8_t nh)
{
	struct in6_addr a;

	f->fix[f->nfix].off = f->n;
	f->fix[f->nfix++].kind = 6;
	fb_u32(f, 0x60000000);
	fb_u16(f, 0);
	fb_u8(f, nh);
	fb_u8(f, 64);
	assert_int_equal(inet_pton(AF_INET6, src, &a), 1);
	fb_bytes(f, &a, 16);
	assert_int_equal(inet_pton(AF_INET6, dst, &a), 1);
	fb_bytes(f, &a, 16);
}

/* Generic 8-byte IPv6 extension header (hop-by-hop, routing, dst options). */
static inline void fb_ipv6_ext(struct fb *f, uint8_t nh)
{
	uint8_t h[8] = { nh, 0, 1, 4, 0, 0, 0, 0 };

	fb_bytes(f, h, 8);
}

static inline void fb_ipv6_frag(struct fb *f, uint8_t nh, uint16_t off8, bool more)
{
	fb_u8(f, nh);
	fb_u8(f, 0);
	fb_u16(f, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	fb_u32(f, 0xabcd);
}

static inline void fb_tcp_opts(struct fb *f, uint16_t sport, uint16_t dport,
			       uint32_t seq, uint32_t ack, uint8_t flags,
			       const uint8_t *opts, size_t optlen,
			       const void *payload, size_t plen)
{
	assert_int_equal(optlen % 4, 0);
	fb_u16(f, sport);
	fb_u16(f, dport);
	fb_u32(f, seq);
	fb_u32(f, ack);
	fb_u8(f, (uint8_t)((5 + optlen / 4) << 4));
	fb_u8(f, flags);
	fb_u16(f, 65535);
	fb_u16(f, 0);
	fb_u16(f, 0);
	if (optlen)
		fb_bytes(f, opts, optlen);
	if (plen)
		fb_bytes(f, payload, plen);
}

static inline void fb_tcp(struct fb *f, uint16_t sport, uint16_t dport,
			  uint32_t seq, uint32_t ack, uint8_t flags,
			  const void *payload, size_t plen)
{
	fb_tcp_opts(f, sport, dport, seq, ack, flags, NULL, 0, payload, plen);
}

static inline void fb_udp(struct fb *f, uint16_t sport, uint16_t dport,
			  const void *payload, size_t plen)
{
	f->fix[f->nfix].off = f->n;
	f->fix[f->nfix++].kind = 17;
	fb_u16(f, sport);
	fb_u16(f, dport);
	fb_u16(f, 0);
	fb_u16(f, 0);
	if (plen)
		fb_bytes(f, payload, plen);
}

/* Sets every recorded length field to cover everything after it. */
static inline void fb_finish(struct fb *f)
{
	for (int i = 0; i < f->nfix; i++) {
		size_t off = f->fix[i].off;
		size_t len = f->n - off;

		switch (f->fix[i].kind) {
		case 4:
			mt_store_be16(f->d + off + 2, (uint16_t)len);
			break;
		case 6:
			mt_store_be16(f->d + off + 4, (uint16_t)(len - 40));
			break;
		case 17:
			mt_store_be16(f->d + off + 4, (uint16_t)len);
			break;
		}
	}
}

/* A whole Ethernet/IPv4/TCP frame in one call. */
static inline void fb_tcp4(struct fb *f, const char *src, uint16_t sport,
			   const char *dst, uint16_t dport, uint32_t seq,
			   uint32_t ack, uint8_t flags, const void *payload,
			   size_t plen)
{
	fb_init(f);
	fb_eth(f, 0x0800);
	fb_ipv4(f, src, dst, 6);
	fb_tcp(f, sport, dport, seq, ack, flags, payload, plen);
	fb_finish(f);
}

#endif
