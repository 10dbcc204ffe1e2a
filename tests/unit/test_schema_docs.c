/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * docs/records.md must document every field of every record type (as its
 * JSON path in backquotes, or the path's last component within its
 * record's section), so the schema and its documentation cannot drift.
 */
#include "testutil.h"

#include <stdlib.h>

#include "record.h"

static char doc[1 << 18];

/* The text of `## `name`` up to the next `## `. */
static const char *section(const char *name, size_t *len)
{
	char head[64];
	const char *s, *e;

	snprintf(head, sizeof(head), "## `%s`", name);
	s = strstr(doc, head);
	if (!s)
		return NULL;
	e = strstr(s + 1, "\n## ");
	*len = e ? (size_t)(e - s) : strlen(s);
	return s;
}

static bool mentioned(const char *sec, size_t len, const char *path)
{
	char want[160];
	const char *p = sec;

	snprintf(want, sizeof(want), "`%s`", path);
	while ((p = memmem(p, len - (size_t)(p - sec), want, strlen(want))) != NULL)
		return true;
	return false;
}

static void test_every_field_documented(void **state)
{
	FILE *f = fopen("docs/records.md", "r");
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		const struct mt_rtype_desc *rt = &mt_rtypes[t];
		size_t len = 0;
		const char *sec = section(rt->name, &len);

		if (!sec)
			fail_msg("docs/records.md has no section for `%s`", rt->name);
		for (unsigned i = 0; i < rt->nfields; i++) {
			const char *path = rt->fields[i].json;

			/* Connection fields are documented once, at the top;
			 * counters by group in the stats section. */
			if (strchr(path, '.') == NULL) {
				if (!strstr(doc, path))
					fail_msg("`%s` (%s) undocumented", path, rt->name);
				continue;
			}
			if (t == MT_REC_stats)
				continue;
			if (!mentioned(sec, len, path))
				fail_msg("`%s` of `%s` is not in its section of docs/records.md",
					 path, rt->name);
		}
	}
	/* Counters: each group named in the stats section. */
	{
		size_t len = 0;
		const char *sec = section("stats", &len);

		for (unsigned i = 0; i < MT_CTR__COUNT; i++) {
			char g[64];

			snprintf(g, sizeof(g), "stats.%s.", mt_counter_desc[i].group);
			if (!memmem(sec, len, g, strlen(g)))
				fail_msg("counter group `%s` not described in docs/records.md",
					 mt_counter_desc[i].group);
		}
	}
	for (unsigned s = 0; s < MT_SUB__COUNT; s++)
		for (unsigned i = 0; i < mt_stypes[s].nfields; i++) {
			char want[96];

			/* Documented as `email.files[].NAME`. */
			snprintf(want, sizeof(want), "[].%s`", mt_stypes[s].fields[i].json);
			if (!strstr(doc, want))
				fail_msg("sub-record field %s undocumented", want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_documented),
	};

	return cmocka_run_group_tests_name("schema_docs", tests, NULL, NULL);
}
