/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mailtap-collector: receives IPFIX over mutually authenticated TLS from
 * many appliances and stores every record once (`serve`), answers
 * questions about them (`query`, `appliances`), and makes the lab CA and
 * certificates (`ca`). One subcommand per job, dispatched here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "coll_config.h"
#include "log.h"
#include "query.h"
#include "server.h"
#include "sqlschema.h"
#include "store.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mailtap-collector COMMAND [options]\n"
		"\n"
		"  serve -c CONFIG          receive and store records (docs/collector.md)\n"
		"  check-config -c CONFIG   report every error in CONFIG and exit\n"
		"  query (--db FILE | -c CONFIG) [--type T] [--since W] [--until W] [--src IP]\n"
		"        [--user NAME] [--appliance NAME] [--format table|json] [--limit N]\n"
		"  appliances (--db FILE | -c CONFIG)\n"
		"  ca init --dir DIR | ca issue --dir DIR (--appliance NAME | --collector NAME)\n"
		"  schema                   print the SQL tables the collector creates\n"
		"  version\n"
		"\n"
		"Run a command with --help for its options.\n");
}

/* Loads and checks a configuration; prints every error. */
static int load_config(const char *path, struct mt_coll_config *cfg)
{
	struct mt_config_errors e;

	mt_coll_config_defaults(cfg);
	memset(&e, 0, sizeof(e));
	if (mt_coll_config_load(cfg, path, &e) == 0)
		return 0;
	for (unsigned i = 0; i < e.count && i < MT_INI_MAX_ERRORS; i++)
		fprintf(stderr, "%s\n", e.msg[i]);
	if (e.count > MT_INI_MAX_ERRORS)
		fprintf(stderr, "... and %u more\n", e.count - MT_INI_MAX_ERRORS);
	return -1;
}

/* -c CONFIG (or --config CONFIG) from a subcommand's arguments. */
static const char *config_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

static int cmd_serve(int argc, char **argv, bool check_only)
{
	struct mt_coll_config cfg;
	const char *path = config_arg(argc, argv);
	int rc;

	if (!path) {
		fprintf(stderr, "usage: mailtap-collector %s -c CONFIG\n", argv[0]);
		return 2;
	}
	if (load_config(path, &cfg) != 0)
		return 1;
	if (check_only) {
		printf("%s: ok (%u appliances)\n", path, cfg.nappliances);
		mt_coll_config_free(&cfg);
		return 0;
	}
	rc = mt_server_run(&cfg);
	mt_coll_config_free(&cfg);
	return rc == 0 ? 0 : 1;
}

static int cmd_schema(void)
{
	struct mt_buf b = { 0 };

	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		mt_sql_create(&b, (enum mt_rtype)t);
		mt_buf_putc(&b, '\n');
	}
	if (b.p)
		fputs(b.p, stdout);
	mt_buf_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	mt_store_global_init();
	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("mailtap-collector %s\n", MT_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1, false);
	if (!strcmp(cmd, "check-config"))
		return cmd_serve(argc - 1, argv + 1, true);
	if (!strcmp(cmd, "query"))
		return mt_query_main(argc - 1, argv + 1, stdout);
	if (!strcmp(cmd, "appliances"))
		return mt_appliances_main(argc - 1, argv + 1, stdout);
	if (!strcmp(cmd, "ca"))
		return mt_ca_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "schema"))
		return cmd_schema();
	fprintf(stderr, "mailtap-collector: unknown command `%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
