/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for TCP reassembly. The input is a list of segments
 * (direction, flags, offset, length) cut from a known byte stream per
 * direction, in any order, duplicated and overlapping. The oracle: every
 * byte delivered must be the byte of the known stream at that offset (gaps
 * advance the offset), nothing arrives after a direction's end, and every
 * chunk returns to the pool.
 */
#include <stdlib.h>

#include "stream.h"

#define BASE0 0xfffff000u /* close to the wrap on purpose */
#define BASE1 0x12345678u

struct oracle {
	uint64_t pos[2];
	int ended[2];
};

static uint8_t truth(int dir, uint64_t k)
{
	return (uint8_t)((k * 2654435761u) >> 13) ^ (uint8_t)(dir * 0x5a);
}

static void o_data(void *ctx, void *owner, int dir, const uint8_t *p, uint32_t len)
{
	struct oracle *o = ctx;

	(void)owner;
	if (o->ended[dir])
		abort();
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != truth(dir, o->pos[dir] + i))
			abort();
	o->pos[dir] += len;
}

static void o_gap(void *ctx, void *owner, int dir, uint32_t len)
{
	struct oracle *o = ctx;

	(void)owner;
	if (o->ended[dir] || len == 0)
		abort();
	o->pos[dir] += len;
}

static void o_end(void *ctx, void *owner, int dir)
{
	struct oracle *o = ctx;

	(void)owner;
	if (o->ended[dir]++)
		abort();
}

static const struct mt_stream_ops ops = { o_data, o_gap, o_end };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[4096];
	struct mt_stream_config cfg = { 3 * MT_STREAM_CHUNK_DATA,
					8 * sizeof(struct mt_stream_chunk) };
	struct mt_counters ctr;
	struct mt_reasm ra;
	struct mt_stream s;
	struct oracle o = { { 0, 0 }, { 0, 0 } };
	const uint32_t base[2] = { BASE0, BASE1 };
	size_t i = 0;

	memset(&ctr, 0, sizeof(ctr));
	if (mt_reasm_init(&ra, &cfg, &ops, &o, &ctr) != 0)
		return 0;
	mt_stream_init(&s);
	/* Each segment: dir+flags (1), offset (2), length (2). */
	while (i + 5 <= size) {
		struct mt_pkt p;
		int dir = data[i] & 1;
		uint8_t fl = data[i] >> 1;
		uint32_t off = (uint32_t)data[i + 1] << 8 | data[i + 2];
		uint32_t len = ((uint32_t)data[i + 3] << 8 | data[i + 4]) % sizeof(payload);

		i += 5;
		memset(&p, 0, sizeof(p));
		p.tcp_flags = (uint8_t)(fl & (MT_TCP_SYN | MT_TCP_FIN | MT_TCP_ACK));
		if ((fl & 0x40) && (fl & 0x20))
			p.tcp_flags |= MT_TCP_RST;
		/* Stream offset k is sequence base+1+k; the SYN sits at base. */
		if (p.tcp_flags & MT_TCP_SYN) {
			p.seq = base[dir];
			len = 0;
		} else {
			p.seq = base[dir] + 1 + off;
		}
		p.ack = base[!dir] + 1 + (off ^ 0x55);
		/* Mirror where the reassembler starts a stream: at the SYN (a
		 * new SYN restarts one that has delivered nothing yet), else
		 * wherever the first segment with data or a FIN says. */
		if (p.tcp_flags & MT_TCP_SYN) {
			if (!s.d[dir].started ||
			    (s.d[dir].delivered == 0 && s.d[dir].ooo_head == UINT32_MAX))
				o.pos[dir] = 0;
		} else if (!s.d[dir].started &&
			   (len || (p.tcp_flags & MT_TCP_FIN))) {
			o.pos[dir] = off;
		}
		for (uint32_t k = 0; k < len; k++)
			payload[k] = truth(dir, (uint64_t)off + k);
		p.payload = payload;
		p.payload_len = len;
		mt_stream_segment(&ra, &s, NULL, dir, &p);
	}
	mt_stream_finish(&ra, &s, NULL);
	if (!o.ended[0] || !o.ended[1] || ra.free_count != ra.nchunks)
		abort();
	mt_reasm_free(&ra);
	return 0;
}
