/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the POP3 analyzer (chunked input, see app_fuzz.h). */
#include "app_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return app_fuzz_run(MT_APP_POP3, 110, data, size, NULL);
}
