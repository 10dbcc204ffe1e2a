/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the IPFIX decoder alone: the input is a stream of
 * messages (framed by their own length fields, as on TCP) decoded by one
 * decoder, so templates learnt from one message apply to the next. Every
 * decoded record is written as JSON and re-encoded, and the re-encoding
 * must decode again: what the decoder accepts, the encoder can carry.
 */
#include <stdlib.h>

#include "ipfix.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mt_buf json;
static uint8_t again[MT_IPFIX_MSG_MAX];

static int on_record(void *ctx, const struct mt_ipfix_msg_info *info, const struct mt_rec *r)
{
	struct mt_ipfix_enc e;
	struct mt_ipfix_dec d2;
	struct mt_ipfix_msg_info i2;
	char why[160];
	size_t len;

	(void)ctx;
	mt_buf_reset(&json);
	mt_json_record(&json, r);
	mt_ipfix_begin(&e, again, sizeof(again), info->domain, MT_IPFIX_PEN_DEFAULT, 0, 0);
	if (mt_ipfix_templates(&e, false) || mt_ipfix_record(&e, r))
		return 0; /* a record too big for a message on its own is fine */
	len = mt_ipfix_end(&e);
	mt_ipfix_dec_init(&d2, MT_IPFIX_PEN_DEFAULT);
	if (mt_ipfix_decode(&d2, again, len, NULL, NULL, &i2, why, sizeof(why)) || i2.records != 1)
		abort();
	mt_ipfix_dec_free(&d2);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_ipfix_dec d;
	struct mt_ipfix_msg_info info;
	char why[160];
	size_t off = 0;

	mt_ipfix_dec_init(&d, MT_IPFIX_PEN_DEFAULT);
	while (off < size) {
		long n = mt_ipfix_msg_len(data + off, size - off);
		uint8_t *msg;

		if (n <= 0 || (size_t)n > size - off)
			break;
		/* Copied so ASan sees any read past this message. */
		msg = malloc((size_t)n);
		memcpy(msg, data + off, (size_t)n);
		if (mt_ipfix_decode(&d, msg, (size_t)n, on_record, NULL, &info, why,
				    sizeof(why)) != 0 && why[0] == '\0')
			abort(); /* every refusal says why */
		free(msg);
		off += (size_t)n;
	}
	mt_ipfix_dec_free(&d);
	return 0;
}
