/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared INI reading and value syntax (see ini.h). */
#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void mt_ini_error(struct mt_config_errors *err, const char *name, unsigned line,
		  const char *fmt, ...)
{
	char tmp[220];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (err->count < MT_INI_MAX_ERRORS) {
		if (line)
			snprintf(err->msg[err->count], sizeof(err->msg[0]), "%s:%u: %s",
				 name, line, tmp);
		else
			snprintf(err->msg[err->count], sizeof(err->msg[0]), "%s: %s", name,
				 tmp);
	}
	err->count++;
}

void mt_ini_init(struct mt_ini *r, const char *name, const char *text, size_t len,
		 struct mt_config_errors *err)
{
	r->name = name;
	r->text = text;
	r->len = len;
	r->pos = 0;
	r->line = 0;
	r->err = err;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int mt_ini_next(struct mt_ini *r, struct mt_ini_item *it)
{
	while (r->pos < r->len) {
		size_t n = 0;
		char *s, *eq;

		r->line++;
		while (r->pos < r->len && r->text[r->pos] != '\n') {
			if (n < sizeof(r->buf) - 1)
				r->buf[n++] = r->text[r->pos];
			r->pos++;
		}
		r->pos++;
		it->line = r->line;
		if (n > MT_INI_LINE_MAX) {
			mt_ini_error(r->err, r->name, r->line, "line longer than %u bytes",
				     MT_INI_LINE_MAX);
			continue;
		}
		r->buf[n] = '\0';
		if (memchr(r->buf, '\0', n)) {
			mt_ini_error(r->err, r->name, r->line, "NUL byte in line");
			continue;
		}
		s = trim(r->buf);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] != '\0' || close - s - 1 >= 256) {
				mt_ini_error(r->err, r->name, r->line,
					     "malformed section header `%.40s'", s);
				it->kind = MT_INI_BAD_SECTION;
				return it->kind;
			}
			*close = '\0';
			it->section = trim(s + 1);
			it->kind = MT_INI_SECTION;
			return it->kind;
		}
		eq = strchr(s, '=');
		if (!eq) {
			mt_ini_error(r->err, r->name, r->line,
				     "expected `key = value', got `%.40s'", s);
			continue;
		}
		*eq = '\0';
		it->key = trim(s);
		it->value = trim(eq + 1);
		n = strlen(it->value);
		if (n >= 2 && it->value[0] == '"' && it->value[n - 1] == '"') {
			it->value[n - 1] = '\0';
			it->value++;
		}
		it->kind = MT_INI_KEY;
		return it->kind;
	}
	it->kind = MT_INI_END;
	return it->kind;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

bool mt_ini_parse_num(const char *s, enum mt_ini_num kind, uint64_t *out)
{
	static const char *const size_sfx[] = { "k", "K", "m", "M", "g", "G", NULL };
	static const uint64_t size_mul[] = { 1ull << 10, 1ull << 10, 1ull << 20,
					     1ull << 20, 1ull << 30, 1ull << 30 };
	static const char *const dur_sfx[] = { "ms", "s", "m", "h", "d", NULL };
	static const uint64_t dur_mul[] = { MT_NS_PER_MS, MT_NS_PER_SEC,
					    60 * MT_NS_PER_SEC, 3600 * MT_NS_PER_SEC,
					    86400 * MT_NS_PER_SEC };
	const char *const *sfx = kind == MT_INI_SIZE ? size_sfx : dur_sfx;
	const uint64_t *mul = kind == MT_INI_SIZE ? size_mul : dur_mul;
	char num[32];
	size_t n = 0;
	uint64_t v, m = kind == MT_INI_DURATION ? MT_NS_PER_SEC : 1;

	if (kind == MT_INI_NUMBER)
		return parse_u64(s, out);
	while (isdigit((unsigned char)s[n]) && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	num[n] = '\0';
	if (n == 0 || !parse_u64(num, &v))
		return false;
	if (s[n]) {
		unsigned i;

		for (i = 0; sfx[i]; i++)
			if (strcmp(s + n, sfx[i]) == 0)
				break;
		if (!sfx[i])
			return false;
		m = mul[i];
	}
	if (v && m > UINT64_MAX / v)
		return false;
	*out = v * m;
	return true;
}

bool mt_ini_parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0")) {
		*out = false;
		return true;
	}
	return false;
}

bool mt_ini_number(struct mt_config_errors *err, const char *name, unsigned line,
		   const char *section, const char *key, const char *val,
		   enum mt_ini_num kind, uint64_t min, uint64_t max, void *dst,
		   unsigned width)
{
	uint64_t v;

	if (!mt_ini_parse_num(val, kind, &v)) {
		mt_ini_error(err, name, line, "[%s] %s: `%s' is not a %s", section, key, val,
			     kind == MT_INI_SIZE ? "size (like 64k, 16M)" :
			     kind == MT_INI_DURATION ? "duration (like 500ms, 30s, 10m)" :
						       "number");
		return false;
	}
	if (v < min || v > max) {
		if (kind == MT_INI_DURATION)
			mt_ini_error(err, name, line, "[%s] %s: `%s' is out of range %gs-%gs",
				     section, key, val, (double)min / 1e9, (double)max / 1e9);
		else
			mt_ini_error(err, name, line, "[%s] %s: `%s' is out of range %llu-%llu%s",
				     section, key, val, (unsigned long long)min,
				     (unsigned long long)max, kind == MT_INI_SIZE ? " bytes" : "");
		return false;
	}
	if (width == 4)
		*(uint32_t *)dst = (uint32_t)v;
	else
		*(uint64_t *)dst = v;
	return true;
}

int mt_ini_load(const char *path, size_t max, char **text, size_t *len,
		struct mt_config_errors *err)
{
	FILE *f = fopen(path, "rb");
	long n;

	*text = NULL;
	if (!f) {
		mt_ini_error(err, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || (size_t)n > max ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		mt_ini_error(err, path, 0, "unreadable or larger than %zu MiB", max >> 20);
		return -1;
	}
	*text = malloc((size_t)n + 1);
	if (!*text || fread(*text, 1, (size_t)n, f) != (size_t)n) {
		free(*text);
		*text = NULL;
		fclose(f);
		mt_ini_error(err, path, 0, "read error");
		return -1;
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}
