/* SPDX-License-Identifier: BSD-3-Clause */
/* Collector log lines and their rate limit (see log.h). */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define TOPICS 32

static enum mt_log_level max_level = MT_LOG_INFO;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static struct {
	const char *topic;      /* string literals: compared by address first */
	time_t sec;
	unsigned lines;
	unsigned suppressed;
} limits[TOPICS];

static const char *const level_names[] = { "error", "warning", "info" };

void mt_log_set_level(enum mt_log_level lvl)
{
	max_level = lvl;
}

static void vlog(enum mt_log_level lvl, const char *topic, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char msg[1024];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One fprintf per line: lines of the two threads never interleave. */
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ mailtap-collector %s: %s: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, level_names[lvl], topic, msg);
}

void mt_log(enum mt_log_level lvl, const char *topic, const char *fmt, ...)
{
	va_list ap;

	if (lvl > max_level)
		return;
	va_start(ap, fmt);
	vlog(lvl, topic, fmt, ap);
	va_end(ap);
}

void mt_log_limited(enum mt_log_level lvl, const char *topic, const char *fmt, ...)
{
	time_t now = time(NULL);
	unsigned i, suppressed = 0;
	bool print = true;
	va_list ap;

	if (lvl > max_level)
		return;
	pthread_mutex_lock(&mu);
	for (i = 0; i < TOPICS && limits[i].topic; i++)
		if (limits[i].topic == topic || strcmp(limits[i].topic, topic) == 0)
			break;
	if (i < TOPICS) {
		if (!limits[i].topic)
			limits[i].topic = topic;
		if (limits[i].sec != now) {
			suppressed = limits[i].suppressed;
			limits[i].sec = now;
			limits[i].lines = 0;
			limits[i].suppressed = 0;
		}
		if (++limits[i].lines > MT_LOG_BURST) {
			limits[i].suppressed++;
			print = false;
		}
	}
	pthread_mutex_unlock(&mu);
	if (suppressed)
		mt_log(lvl, topic, "%u similar lines suppressed in the last second", suppressed);
	if (!print)
		return;
	va_start(ap, fmt);
	vlog(lvl, topic, fmt, ap);
	va_end(ap);
}
