/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The INI reading shared by mailtapd's and the collector's configuration:
 * a line iterator with a hard line cap that hands out section headers and
 * key = value pairs (comments, blanks and quotes dealt with), error
 * messages as "FILE:LINE: reason" collected rather than stopping at the
 * first, and the value syntaxes both use (numbers, sizes, durations,
 * booleans) with their range messages. Control plane only.
 */
#ifndef MT_INI_H
#define MT_INI_H

#include "mt_common.h"

#define MT_INI_LINE_MAX 4096
#define MT_INI_MAX_ERRORS 64

struct mt_config_errors {
	unsigned count;
	char msg[MT_INI_MAX_ERRORS][256];
};

enum mt_ini_kind {
	MT_INI_END = 0,
	MT_INI_SECTION,      /* item.section: the text inside [ ], trimmed */
	MT_INI_BAD_SECTION,  /* a malformed header (already reported) */
	MT_INI_KEY,          /* item.key = item.value (quotes removed) */
};

struct mt_ini_item {
	int kind;
	unsigned line;
	char *section;
	char *key;
	char *value;
};

struct mt_ini {
	const char *name;
	const char *text;
	size_t len;
	size_t pos;
	unsigned line;
	struct mt_config_errors *err;
	char buf[MT_INI_LINE_MAX + 2];
};

void mt_ini_init(struct mt_ini *r, const char *name, const char *text, size_t len,
		 struct mt_config_errors *err);

/* The next section header or key. Lines that are neither (and are not
 * blank or comments) are reported and skipped. */
int mt_ini_next(struct mt_ini *r, struct mt_ini_item *it);

/* Adds "NAME:LINE: message" (or "NAME: message" for line 0). */
void mt_ini_error(struct mt_config_errors *err, const char *name, unsigned line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Numbers: decimal; sizes: optional k/M/G suffix (1024s); durations:
 * seconds, optional ms/s/m/h/d suffix, in nanoseconds. */
enum mt_ini_num { MT_INI_NUMBER, MT_INI_SIZE, MT_INI_DURATION };

bool mt_ini_parse_num(const char *s, enum mt_ini_num kind, uint64_t *out);
bool mt_ini_parse_bool(const char *s, bool *out);

/*
 * Parses `val` as `kind` within [min, max]; on failure reports
 * "[section] key: `val' is not a ..." or "... is out of range ..." at
 * `line` and returns false. On success stores the value in `dst`, a
 * uint32_t when `width` is 4, else a uint64_t.
 */
bool mt_ini_number(struct mt_config_errors *err, const char *name, unsigned line,
		   const char *section, const char *key, const char *val,
		   enum mt_ini_num kind, uint64_t min, uint64_t max, void *dst,
		   unsigned width);

/* Reads a whole file of at most `max` bytes; the caller frees *text. */
int mt_ini_load(const char *path, size_t max, char **text, size_t *len,
		struct mt_config_errors *err);

#endif
