/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the frame decoder. The first byte picks the link
 * type, the rest is the frame; a second pass claims a longer wire length so
 * the snap-length paths run too. Checks that a decoded payload lies inside
 * the frame.
 */
#include <stdlib.h>

#include "decode.h"

static const enum mt_link links[] = {
	MT_LINK_ETHERNET, MT_LINK_RAW, MT_LINK_LINUX_SLL, MT_LINK_LINUX_SLL2,
	MT_LINK_NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mt_counters ctr;
	struct mt_pkt p;
	enum mt_decode_result r;
	uint8_t *frame;

	if (size < 1 || size > 65536)
		return 0;
	/* Copy so ASan sees reads past the end of exactly the frame. */
	frame = malloc(size - 1 ? size - 1 : 1);
	memcpy(frame, data + 1, size - 1);
	for (int pass = 0; pass < 2; pass++) {
		uint32_t cap = (uint32_t)(size - 1);

		struct mt_counters c1, c2;
		struct mt_pkt q;
		enum mt_decode_result r2;

		memset(&c1, 0, sizeof(c1));
		memset(&c2, 0, sizeof(c2));
		r = mt_decode(links[data[0] % 5], frame, cap, pass ? cap + 100 : cap,
			      1, &p, &c1);
		if (r == MT_DECODE_TCP || r == MT_DECODE_UDP) {
			if (p.payload < frame || p.payload + p.payload_len > frame + cap)
				abort();
		}
		/* The fast path must be indistinguishable from the general one. */
		r2 = mt_decode_general(links[data[0] % 5], frame, cap,
				       pass ? cap + 100 : cap, 1, &q, &c2);
		if (r != r2 || memcmp(&c1, &c2, sizeof(c1)) != 0)
			abort();
		if (r == MT_DECODE_TCP || r == MT_DECODE_UDP) {
			if (memcmp(p.src, q.src, 16) || memcmp(p.dst, q.dst, 16) ||
			    p.sport != q.sport || p.dport != q.dport ||
			    p.proto != q.proto || p.ip_ver != q.ip_ver ||
			    p.payload != q.payload || p.payload_len != q.payload_len ||
			    p.wire_len != q.wire_len || p.vlan_count != q.vlan_count ||
			    (p.vlan_count && p.vlan[0] != q.vlan[0]) ||
			    p.tunnel != q.tunnel || p.frag != q.frag ||
			    p.truncated != q.truncated || p.seq != q.seq ||
			    p.ack != q.ack || p.tcp_flags != q.tcp_flags ||
			    p.win != q.win || p.tcp_mss != q.tcp_mss ||
			    p.tcp_wscale != q.tcp_wscale)
				abort();
		}
		ctr.v[0] += c1.v[0];
	}
	free(frame);
	return 0;
}
