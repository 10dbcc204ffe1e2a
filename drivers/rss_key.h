/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RSS hash key mailtapd programs into every port that has more than one
 * RX queue (dpdk_port.c), kept here so tests/unit/test_rss.c hashes with
 * exactly the same bytes. Plain C, no DPDK types.
 *
 * 0x6d5a repeated makes the Toeplitz hash symmetric (Woo and Park, "Scalable
 * TCP Session Monitoring with Symmetric Receive-side Scaling", 2012): the
 * 32-bit key window at bit i depends only on i mod 16, so the hash is a
 * linear function of the XOR of the tuple's 16-bit words, and swapping
 * source and destination (addresses and ports) leaves that XOR unchanged.
 * Both directions of a flow therefore reach the same queue and worker.
 * The price: tuples whose 16-bit words XOR alike collide, so the hash has
 * at most 16 bits of entropy; far more than the queue count needs.
 */
#ifndef MT_RSS_KEY_H
#define MT_RSS_KEY_H

#include <stdint.h>

/* Writes the key for a port whose driver wants `len` bytes of it. */
static inline void mt_rss_key_fill(uint8_t *key, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

#endif
