/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log lines of the collector on standard error: UTC time, level, topic,
 * message. Lines about what peers do (refusals, protocol errors) go
 * through a per-topic rate limit, so a flood of bad connections costs a
 * few lines a second and a count of what was suppressed, not a full disk.
 */
#ifndef MT_COLL_LOG_H
#define MT_COLL_LOG_H

#include "mt_common.h"

enum mt_log_level { MT_LOG_ERR, MT_LOG_WARN, MT_LOG_INFO };

#define MT_LOG_BURST 20         /* lines per topic and second before suppressing */

void mt_log(enum mt_log_level lvl, const char *topic, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, unless `topic` already logged MT_LOG_BURST lines this second. */
void mt_log_limited(enum mt_log_level lvl, const char *topic, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Nothing below `lvl` is printed (tests, quiet tools). */
void mt_log_set_level(enum mt_log_level lvl);

#endif
