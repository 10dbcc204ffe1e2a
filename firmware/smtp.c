/* SPDX-License-Identifier: BSD-3-Clause */
/* PLACEHOLDER: the SMTP analyzer is being written; this one consumes bytes. */
#include "app.h"

static uint32_t smtp_state_size(const struct mt_app_config *cfg)
{
	(void)cfg;
	return 8;
}

static void smtp_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	(void)st;
	(void)env;
	(void)after_starttls;
}

static size_t smtp_data(void *st, struct mt_app_env *env, int dir,
			const uint8_t *p, size_t n)
{
	(void)st;
	(void)env;
	(void)dir;
	(void)p;
	return n;
}

static void smtp_close(void *st, struct mt_app_env *env)
{
	(void)st;
	(void)env;
}

const struct mt_analyzer mt_smtp_analyzer = {
	.app = MT_APP_SMTP,
	.state_size = smtp_state_size,
	.open = smtp_open,
	.data = smtp_data,
	.close = smtp_close,
};
