/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the MIME parser through its own API. The first byte
 * picks the chunking (bits 0-5: chunk length - 1; bit 6: lengths vary with
 * a PRNG seeded by the second byte) and bit 7 a gap at the offset given by
 * the second byte; the rest is one message, parsed twice on the same state
 * (the second time in other chunks) to exercise reuse. Every result is read
 * back in full so ASan sees any bad offset in the stores.
 */
#include <stdlib.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every byte of every result is folded into this, so each is read. */
uint8_t fuzz_mime_sink;

static void on_anomaly(void *ctx, enum mt_ctr which, const uint8_t *ev, size_t len)
{
	(void)ctx;
	if (which < MT_CTR_anomaly_mime_header_too_long ||
	    which > MT_CTR_anomaly_mime_store_full)
		abort();
	for (size_t i = 0; i < len; i++)
		fuzz_mime_sink ^= ev[i];
}

static void check_results(const struct mt_mime *m)
{
	struct mt_mime_file f;
	struct mt_view v;
	uint32_t pos;

	for (int fld = MT_MIME_FROM; fld < MT_MIME__FIELDS; fld++) {
		pos = 0;
		while (mt_mime_value_next(m, (enum mt_mime_field)fld, &pos, &v))
			for (size_t i = 0; i < v.len; i++)
				fuzz_mime_sink ^= v.p[i];
	}
	pos = 0;
	while (mt_mime_file_next(m, &pos, &f)) {
		for (size_t i = 0; i < f.name.len; i++)
			fuzz_mime_sink ^= f.name.p[i];
		for (size_t i = 0; i < f.ctype.len; i++)
			fuzz_mime_sink ^= f.ctype.p[i];
		if (f.sha256)
			for (int i = 0; i < 32; i++)
				fuzz_mime_sink ^= f.sha256[i];
		if (f.name.len > MT_MIME_NAME_MAX || f.ctype.len > MT_MIME_CTYPE_MAX)
			abort();
	}
}

static void parse(struct mt_mime *m, const uint8_t *p, size_t n, uint8_t mode,
		  uint8_t seed)
{
	uint32_t rnd = seed * 2654435761u + 1;
	size_t gap_at = (mode & 0x80) ? (size_t)seed * 7 : (size_t)-1;
	size_t i = 0;

	mt_mime_begin(m);
	while (i < n) {
		size_t k = (mode & 0x3f) + 1u;
		uint8_t *chunk;

		if (mode & 0x40) {
			rnd = rnd * 1103515245u + 12345u;
			k = (rnd >> 16) % 97 + 1;
		}
		k = k < n - i ? k : n - i;
		if (i <= gap_at && gap_at < i + k) {
			mt_mime_gap(m, NULL);
			gap_at = (size_t)-1;
		}
		/* Copied so ASan sees any read past this chunk. */
		chunk = malloc(k);
		memcpy(chunk, p + i, k);
		mt_mime_feed(m, chunk, k, NULL);
		free(chunk);
		i += k;
	}
	mt_mime_end(m, NULL);
	check_results(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small caps so that hitting them is common. */
	static const struct mt_mime_limits lim = { 256, 16, 3, 6 };
	static struct mt_mime m;
	static uint8_t *extra;

	if (size < 2)
		return 0;
	if (!extra) {
		extra = malloc(mt_mime_extra_size(&lim));
		if (!extra)
			abort();
	}
	mt_mime_init(&m, &lim, extra, on_anomaly);
	parse(&m, data + 2, size - 2, data[0], data[1]);
	parse(&m, data + 2, size - 2, (uint8_t)(data[0] ^ 0x45), (uint8_t)(data[1] + 1));
	return 0;
}
