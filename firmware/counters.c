/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names and help texts of the counters, generated from the table in
 * counters.h, and the summing the control plane does across workers.
 */
#include "counters.h"

const struct mt_counter_desc mt_counter_desc[MT_CTR__COUNT] = {
#define MT_C_DESC(id, g, n, h) [MT_CTR_##g##_##n] = { #g, #n, h, id },
	MT_COUNTERS(MT_C_DESC)
#undef MT_C_DESC
};

void mt_counters_add(struct mt_counters *dst, const struct mt_counters *src)
{
	for (size_t i = 0; i < MT_CTR__COUNT; i++)
		dst->v[i] += src->v[i];
}
