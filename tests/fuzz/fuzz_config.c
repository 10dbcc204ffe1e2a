/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target for the configuration parser: any bytes, no crash, and
 * an error count consistent with the result. */
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mt_config cfg;
	static struct mt_config_errors err;
	int rc;

	mt_config_defaults(&cfg);
	memset(&err, 0, sizeof(err));
	rc = mt_config_parse(&cfg, "fuzz", (const char *)data, size, &err);
	if ((rc == 0) != (err.count == 0))
		abort();
	return 0;
}
