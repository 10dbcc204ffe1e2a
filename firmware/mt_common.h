/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small definitions every mailtap module shares: branch hints, alignment,
 * byte-order loads that are safe on unaligned wire data, and time units.
 * Nothing here depends on DPDK, so the fast path builds and tests without it.
 */
#ifndef MT_COMMON_H
#define MT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MT_CACHE_LINE 64
#define MT_CACHE_ALIGNED __attribute__((aligned(MT_CACHE_LINE)))

#define MT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Time is nanoseconds since the Unix epoch, taken from packet timestamps. */
#define MT_NS_PER_SEC 1000000000ull
#define MT_NS_PER_MS  1000000ull
#define MT_NS_PER_US  1000ull

/* Wire data is not aligned: every multi-byte load goes through memcpy. */
static inline uint16_t mt_load_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t mt_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t mt_load_be64(const uint8_t *p)
{
	return (uint64_t)mt_load_be32(p) << 32 | mt_load_be32(p + 4);
}

static inline void mt_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void mt_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void mt_store_be64(uint8_t *p, uint64_t v)
{
	mt_store_be32(p, (uint32_t)(v >> 32));
	mt_store_be32(p + 4, (uint32_t)v);
}

/* Sequence-number arithmetic modulo 2^32 (RFC 1982 style). */
static inline int32_t mt_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline bool mt_seq_lt(uint32_t a, uint32_t b)
{
	return mt_seq_diff(a, b) < 0;
}

static inline bool mt_seq_leq(uint32_t a, uint32_t b)
{
	return mt_seq_diff(a, b) <= 0;
}

static inline uint8_t mt_ascii_upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

/* Does (p, n) start with the upper-case literal `lit`, ignoring ASCII case? */
static inline bool mt_starts_ci(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	if (n < l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (mt_ascii_upper(p[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/* Is (p, n) exactly the upper-case literal `lit`, ignoring ASCII case? */
static inline bool mt_eq_ci(const uint8_t *p, size_t n, const char *lit)
{
	return n == strlen(lit) && mt_starts_ci(p, n, lit);
}

/* Borrowed byte view: the owner outlives every user of the view. */
struct mt_view {
	const uint8_t *p;
	size_t len;
};

#endif
