/* SPDX-License-Identifier: BSD-3-Clause */
/* PLACEHOLDER: the IMAP analyzer is being written; this one consumes bytes. */
#include "app.h"

static uint32_t imap_state_size(const struct mt_app_config *cfg)
{
	(void)cfg;
	return 8;
}

static void imap_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	(void)st;
	(void)env;
	(void)after_starttls;
}

static size_t imap_data(void *st, struct mt_app_env *env, int dir,
			const uint8_t *p, size_t n)
{
	(void)st;
	(void)env;
	(void)dir;
	(void)p;
	return n;
}

static void imap_close(void *st, struct mt_app_env *env)
{
	(void)st;
	(void)env;
}

const struct mt_analyzer mt_imap_analyzer = {
	.app = MT_APP_IMAP,
	.state_size = imap_state_size,
	.open = imap_open,
	.data = imap_data,
	.close = imap_close,
};
