/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the whole per-packet path (decode, flow table,
 * reassembly, records, JSON). The input is a list of frames, each preceded
 * by a 2-byte length and a 1-byte time step, fed to a small worker so
 * eviction and timeouts happen often.
 */
#include <stdlib.h>

#include "json.h"
#include "worker.h"

static struct mt_buf out;

static void emit(void *ctx, const struct mt_rec *r)
{
	(void)ctx;
	mt_buf_reset(&out);
	mt_json_record(&out, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mt_worker w;
	static struct mt_config cfg;
	static int ready;
	uint64_t t = 1700000000ull * MT_NS_PER_SEC;
	size_t i = 0;

	if (!ready) {
		mt_config_defaults(&cfg);
		cfg.flow.capacity = 8;
		cfg.stream.ooo_max_bytes = 4096;
		cfg.stream.ooo_pool_bytes = 16 * sizeof(struct mt_stream_chunk);
		cfg.analyzers.max_sessions = 4;
		ready = 1;
	}
	if (mt_worker_init(&w, &cfg, 0, emit, NULL) != 0)
		abort();
	while (i + 3 <= size) {
		uint32_t len = (uint32_t)data[i] << 8 | data[i + 1];
		uint8_t step = data[i + 2];
		uint8_t *frame;

		i += 3;
		if (len > size - i)
			len = (uint32_t)(size - i);
		t += (uint64_t)step * 250 * MT_NS_PER_MS;
		frame = malloc(len ? len : 1);
		memcpy(frame, data + i, len);
		mt_worker_packet(&w, MT_LINK_ETHERNET, frame, len, len, t);
		free(frame);
		i += len;
	}
	mt_worker_flush(&w);
	if (w.flows.active != 0 || w.reasm.free_count != w.reasm.nchunks)
		abort();
	mt_worker_fini(&w);
	return 0;
}
