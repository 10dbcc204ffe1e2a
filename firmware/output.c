/* SPDX-License-Identifier: BSD-3-Clause */
/* JSON-lines sink and record tallies (main thread only). */
#include "output.h"

#include <errno.h>
#include <stdlib.h>

#include "detect.h"
#include "export.h"
#include "identity.h"
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

static size_t ipfix_cap;

static void ipfix_flush(struct mt_output *o, bool restart)
{
	size_t len = mt_ipfix_end(&o->enc);

	if (o->enc.nrec || !restart) {
		if (fwrite(o->ipfix_msg, 1, len, o->ipfix) != len)
			o->write_errors++;
	}
	o->ipfix_seq += o->enc.nrec;
	if (restart)
		mt_ipfix_begin(&o->enc, o->ipfix_msg, ipfix_cap, o->ipfix_domain,
			       MT_IPFIX_PEN_DEFAULT, o->ipfix_time, o->ipfix_seq);
}

int mt_output_open_ipfix(struct mt_output *o, const char *path, uint32_t domain,
			 size_t msg_size, char *err, size_t errlen)
{
	o->ipfix = fopen(path, "wb");
	if (!o->ipfix) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	ipfix_cap = MT_MIN(msg_size, (size_t)MT_IPFIX_MSG_MAX);
	o->ipfix_msg = malloc(MT_IPFIX_MSG_MAX);
	if (!o->ipfix_msg) {
		fclose(o->ipfix);
		o->ipfix = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->ipfix_domain = domain;
	/* Templates and type records in a message of their own, at the
	 * largest size: they do not fit a small one. */
	mt_ipfix_begin(&o->enc, o->ipfix_msg, MT_IPFIX_MSG_MAX, domain,
		       MT_IPFIX_PEN_DEFAULT, 0, 0);
	if (mt_ipfix_templates(&o->enc, true) != 0) {
		snprintf(err, errlen, "templates do not fit an IPFIX message");
		return -ENOSPC;
	}
	ipfix_flush(o, true);
	return 0;
}

int mt_output_set_identity(struct mt_output *o, struct mt_identity *id)
{
	if (!o->idrec)
		o->idrec = malloc(sizeof(*o->idrec));
	if (!o->idrec)
		return -ENOMEM;
	o->identity = id;
	return 0;
}

void mt_output_counters(const struct mt_output *o, struct mt_counters *sum)
{
	if (o->export)
		mt_export_read_counters(o->export, sum);
	if (o->detect)
		mt_detect_counters_into(o->detect, sum);
}

/* Writes one record to every sink. Transforms of what leaves the
 * appliance belong here, after detection has seen the record as it was. */
static void write_record(struct mt_output *o, const struct mt_rec *r)
{
	/* User names first, for every sink alike; only records that name a
	 * user are copied. */
	if (o->identity && mt_identity_applies(o->identity, r)) {
		memcpy(o->idrec, r, mt_rec_size(r));
		mt_identity_apply(o->identity, o->idrec);
		r = o->idrec;
	}
	if (o->export)
		mt_export_push(o->export, r);
	if (r->type < MT_REC__COUNT)
		o->by_type[r->type]++;
	if (r->type == MT_REC_flow && r->b.flow.app_proto < MT_APP__COUNT)
		o->flows_by_app[r->b.flow.app_proto]++;
	if (o->ipfix) {
		/* Export time: the record's own time, so files replay alike. */
		if (o->enc.nrec == 0)
			o->ipfix_time = (uint32_t)(MT_REC_CONN(r)->timestamp / MT_NS_PER_SEC);
		if (mt_ipfix_record(&o->enc, r) == -ENOSPC) {
			ipfix_flush(o, true);
			if (mt_ipfix_record(&o->enc, r) != 0)
				o->write_errors++;
		}
	}
	if (!o->json)
		return;
	mt_buf_reset(&o->buf);
	mt_json_record(&o->buf, r);
	if (o->buf.failed || fwrite(o->buf.p, 1, o->buf.len, o->json) != o->buf.len)
		o->write_errors++;
}

static void write_alert(void *ctx, const struct mt_rec *r)
{
	write_record(ctx, r);
}

int mt_output_detect(struct mt_output *o, const struct mt_config *cfg, char *err,
		     size_t errlen)
{
	o->detect = mt_detect_create(cfg, write_alert, o, err, errlen);
	return o->detect || !err[0] ? 0 : -1;
}

void mt_output_record(struct mt_output *o, const struct mt_rec *r)
{
	/* Detection first, on the record as the analyzer wrote it (real user
	 * names). Its alerts then take the same way out as every record,
	 * write_record(), and never come back into detection. */
	if (o->detect) {
		mt_detect_record(o->detect, r);
		r = mt_detect_stats(o->detect, r);
	}
	write_record(o, r);
	if (o->detect)
		mt_detect_flush(o->detect);
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
	if (o->ipfix) {
		ipfix_flush(o, false);
		if (fclose(o->ipfix) != 0)
			rc = -errno;
		free(o->ipfix_msg);
		o->ipfix = NULL;
	}
	mt_buf_free(&o->buf);
	free(o->idrec);
	o->idrec = NULL;
	o->identity = NULL;
	mt_detect_destroy(o->detect);
	o->detect = NULL;
	o->json = NULL;
	return rc;
}
