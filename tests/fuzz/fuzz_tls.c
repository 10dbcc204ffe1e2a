/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the TLS analyzer (chunked input, see app_fuzz.h), on
 * port 443 with a 4 KB handshake cap so that oversized messages are common.
 * Seeds: the handshakes of tests/captures/tls, made by fuzz_seeds.py there.
 */
#include "app_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return app_fuzz_run(MT_APP_TLS, 443, data, size, NULL);
}
