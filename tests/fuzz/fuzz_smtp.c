/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the SMTP analyzer and, through DATA and BDAT, the
 * MIME parser (chunked input with both directions and gaps, see
 * app_fuzz.h). */
#include "app_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return app_fuzz_run(MT_APP_SMTP, 25, data, size, NULL);
}
