/* SPDX-License-Identifier: BSD-3-Clause */
/* JSON-lines sink and record tallies (main thread only). */
#include "output.h"

#include <errno.h>

#include "json.h"

int mt_output_open(struct mt_output *o, const char *path, char *err,
		   size_t errlen)
{
	memset(o, 0, sizeof(*o));
	if (!path || !path[0])
		return 0;
	if (strcmp(path, "-") == 0) {
		o->json = stdout;
		o->json_is_stdout = true;
		return 0;
	}
	o->json = fopen(path, "w");
	if (!o->json) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

void mt_output_record(struct mt_output *o, const struct mt_rec *r)
{
	if (r->type < MT_REC__COUNT)
		o->by_type[r->type]++;
	if (r->type == MT_REC_flow && r->b.flow.app_proto < MT_APP__COUNT)
		o->flows_by_app[r->b.flow.app_proto]++;
	if (!o->json)
		return;
	mt_buf_reset(&o->buf);
	mt_json_record(&o->buf, r);
	if (o->buf.failed || fwrite(o->buf.p, 1, o->buf.len, o->json) != o->buf.len)
		o->write_errors++;
}

int mt_output_close(struct mt_output *o)
{
	int rc = 0;

	if (o->json) {
		if (fflush(o->json) != 0)
			rc = -errno;
		if (!o->json_is_stdout && fclose(o->json) != 0)
			rc = -errno;
	}
	mt_buf_free(&o->buf);
	o->json = NULL;
	return rc;
}
