/* SPDX-License-Identifier: BSD-3-Clause */
/* PLACEHOLDER: the TLS analyzer is being written; this one consumes bytes. */
#include "app.h"

static uint32_t tls_state_size(const struct mt_app_config *cfg)
{
	(void)cfg;
	return 8;
}

static void tls_open(void *st, struct mt_app_env *env, bool after_starttls)
{
	(void)st;
	(void)env;
	(void)after_starttls;
}

static size_t tls_data(void *st, struct mt_app_env *env, int dir,
			const uint8_t *p, size_t n)
{
	(void)st;
	(void)env;
	(void)dir;
	(void)p;
	return n;
}

static void tls_close(void *st, struct mt_app_env *env)
{
	(void)st;
	(void)env;
}

const struct mt_analyzer mt_tls_analyzer = {
	.app = MT_APP_TLS,
	.state_size = tls_state_size,
	.open = tls_open,
	.data = tls_data,
	.close = tls_close,
};
