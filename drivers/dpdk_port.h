/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK packet path of mailtapd: EAL start-up from the configuration,
 * port and queue set-up (symmetric RSS where the PMD has it), one worker
 * lcore per RX queue running struct mt_worker, and the main lcore draining
 * each worker's record ring into the output.
 */
#ifndef MT_DPDK_PORT_H
#define MT_DPDK_PORT_H

#include "../firmware/config.h"
#include "../firmware/counters.h"
#include "../firmware/output.h"

/*
 * Runs until signalled or, with [dpdk] idle_exit, until the input goes
 * quiet. `total` receives the summed counters of every worker and port.
 * Returns 0, or a negative errno after printing why to stderr.
 */
int mt_dpdk_run(const struct mt_config *cfg, const char *prog,
		struct mt_output *out, struct mt_counters *total,
		volatile int *quit);

#endif
