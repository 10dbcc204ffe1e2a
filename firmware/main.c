/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mailtapd: the appliance program. `--read FILE` runs the whole pipeline on
 * one worker over a capture file; `-c FILE` alone runs the DPDK path the
 * configuration describes; `--check-config` validates a configuration.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../drivers/dpdk_port.h"
#include "../drivers/pcap_file.h"
#include "config.h"
#include "export.h"
#include "identity.h"
#include "output.h"
#include "version.h"
#include "worker.h"

static volatile int quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mailtapd --read FILE [--json OUT|-] [--ipfix OUT] [-c CONFIG] [--quiet]\n"
		"       mailtapd -c CONFIG            run the DPDK path\n"
		"       mailtapd --check-config -c CONFIG\n"
		"       mailtapd --version\n"
		"\n"
		"  -r, --read FILE     analyse a pcap/pcapng file on one worker\n"
		"  -j, --json OUT      write EVE JSON lines to OUT (- for stdout)\n"
		"      --ipfix OUT     also write the records as an IPFIX file (RFC 5655)\n"
		"  -c, --config FILE   configuration (docs/config.md)\n"
		"  -q, --quiet         no summary on stderr at exit\n"
		"      --check-config  report every error in CONFIG and exit\n");
}

static void emit_to_output(void *ctx, const struct mt_rec *r)
{
	mt_output_record(ctx, r);
}

/* Human summary on stderr: what was seen, then every non-zero counter. */
static void print_summary(const struct mt_counters *c, const struct mt_output *o)
{
	const char *group = "";

	fprintf(stderr, "mailtapd: %llu packets, %llu bytes, %llu flows",
		(unsigned long long)c->v[MT_CTR_capture_pkts],
		(unsigned long long)c->v[MT_CTR_capture_bytes],
		(unsigned long long)o->by_type[MT_REC_flow]);
	for (unsigned a = 1; a < MT_APP__COUNT; a++)
		if (o->flows_by_app[a])
			fprintf(stderr, ", %llu %s",
				(unsigned long long)o->flows_by_app[a],
				mt_app_name(a));
	fprintf(stderr, "\n");
	for (unsigned i = 0; i < MT_CTR__COUNT; i++) {
		if (!c->v[i])
			continue;
		if (strcmp(group, mt_counter_desc[i].group) != 0) {
			group = mt_counter_desc[i].group;
			fprintf(stderr, "  %s:\n", group);
		}
		fprintf(stderr, "    %-24s %llu\n", mt_counter_desc[i].name,
			(unsigned long long)c->v[i]);
	}
	if (o->write_errors)
		fprintf(stderr, "  output write errors: %llu\n",
			(unsigned long long)o->write_errors);
}

/* A stats record: the worker's counters and the exporter's. */
static void stats_record(struct mt_worker *w, struct mt_output *out, uint64_t ts,
			 uint64_t uptime_s)
{
	struct mt_counters sum = w->ctr;

	mt_output_counters(out, &sum);
	mt_worker_stats_record(&w->rec, &sum, ts, uptime_s);
	mt_output_record(out, &w->rec);
}

static int run_read(const char *path, const struct mt_config *cfg,
		    struct mt_output *out, struct mt_counters *total)
{
	struct mt_worker *w;
	struct mt_pcap *pc;
	char err[256];
	const uint8_t *data;
	uint32_t caplen, wirelen;
	uint64_t ts, first_ts = 0, next_stats = 0;
	int link, rc;

	pc = mt_pcap_open(path, err, sizeof(err));
	if (!pc) {
		fprintf(stderr, "mailtapd: %s\n", err);
		return 1;
	}
	link = mt_pcap_link(pc);
	if (link < 0) {
		fprintf(stderr, "mailtapd: %s: link type %s is not supported\n",
			path, mt_pcap_link_name(pc));
		mt_pcap_close(pc);
		return 1;
	}
	w = aligned_alloc(MT_CACHE_LINE, sizeof(*w));
	if (!w || mt_worker_init(w, cfg, 0, emit_to_output, out) != 0) {
		fprintf(stderr, "mailtapd: cannot allocate the worker's pools "
				"(flow.capacity %u, stream.ooo_pool_bytes %llu)\n",
			cfg->flow.capacity,
			(unsigned long long)cfg->stream.ooo_pool_bytes);
		free(w);
		mt_pcap_close(pc);
		return 1;
	}
	while (!quit && (rc = mt_pcap_next(pc, &data, &caplen, &wirelen, &ts, err,
					   sizeof(err))) == 1) {
		if (!first_ts) {
			first_ts = ts;
			next_stats = ts + cfg->output.stats_interval_ns;
		}
		mt_worker_packet(w, (enum mt_link)link, data, caplen, wirelen, ts);
		if (cfg->output.stats_interval_ns && ts >= next_stats) {
			stats_record(w, out, ts, (ts - first_ts) / MT_NS_PER_SEC);
			next_stats += cfg->output.stats_interval_ns;
			if (next_stats <= ts)
				next_stats = ts + cfg->output.stats_interval_ns;
		}
	}
	if (rc < 0)
		fprintf(stderr, "mailtapd: %s: %s (flows so far are still reported)\n",
			path, err);
	mt_worker_flush(w);
	stats_record(w, out, w->now_ns,
		     first_ts ? (w->now_ns - first_ts) / MT_NS_PER_SEC : 0);
	*total = w->ctr;
	mt_worker_fini(w);
	free(w);
	mt_pcap_close(pc);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "ipfix", required_argument, NULL, 'I' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *read_path = NULL, *json_path = NULL, *conf_path = NULL;
	const char *ipfix_path = NULL;
	bool quiet = false, check = false;
	struct mt_config cfg;
	struct mt_config_errors cerr = { 0 };
	struct mt_output out;
	struct mt_counters total;
	struct mt_identity ident;
	struct mt_export *exporter = NULL;
	char err[256];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "r:j:c:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			read_path = optarg;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'c':
			conf_path = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'C':
			check = true;
			break;
		case 'I':
			ipfix_path = optarg;
			break;
		case 'V':
			printf("mailtapd %s\n", MT_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailtapd: unexpected argument `%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	mt_config_defaults(&cfg);
	if (conf_path && mt_config_load(&cfg, conf_path, &cerr) != 0) {
		for (unsigned i = 0; i < cerr.count && i < MT_CONFIG_MAX_ERRORS; i++)
			fprintf(stderr, "%s\n", cerr.msg[i]);
		if (cerr.count > MT_CONFIG_MAX_ERRORS)
			fprintf(stderr, "... and %u more errors\n",
				cerr.count - MT_CONFIG_MAX_ERRORS);
		fprintf(stderr, "mailtapd: %s: %u error%s\n", conf_path, cerr.count,
			cerr.count == 1 ? "" : "s");
		return 1;
	}
	if (mt_export_check_config(&cfg, conf_path ? conf_path : "defaults", err,
				   sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check) {
		if (!conf_path) {
			fprintf(stderr, "mailtapd: --check-config needs -c CONFIG\n");
			return 2;
		}
		printf("%s: ok\n", conf_path);
		return 0;
	}
	if (!read_path && !conf_path) {
		usage(stderr);
		return 2;
	}
	if (!json_path && cfg.output.json[0])
		json_path = cfg.output.json;
	if (mt_output_open(&out, json_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "mailtapd: cannot write JSON: %s\n", err);
		return 1;
	}
	if (ipfix_path && mt_output_open_ipfix(&out, ipfix_path, cfg.export.domain_id,
					       cfg.export.message_size, err,
					       sizeof(err)) != 0) {
		fprintf(stderr, "mailtapd: cannot write IPFIX: %s\n", err);
		return 1;
	}
	if (mt_output_detect(&out, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "mailtapd: %s%s%s\n", conf_path ? conf_path : "",
			conf_path ? ": " : "", err);
		return 1;
	}
	if (mt_identity_init(&ident, cfg.export.identity, cfg.export.identity_key, err,
			     sizeof(err)) != 0) {
		fprintf(stderr, "mailtapd: %s\n", err);
		return 1;
	}
	if (ident.mode != MT_IDENTITY_CLEAR && mt_output_set_identity(&out, &ident) != 0) {
		fprintf(stderr, "mailtapd: out of memory\n");
		return 1;
	}
	if (cfg.export.collector[0]) {
		if (mt_export_start(&exporter, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "mailtapd: %s\n", err);
			return 1;
		}
		out.export = exporter;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	memset(&total, 0, sizeof(total));
	if (read_path)
		rc = run_read(read_path, &cfg, &out, &total);
	else
		rc = mt_dpdk_run(&cfg, argv[0], &out, &total, &quit) ? 1 : 0;
	if (exporter) {
		/* Whatever is not acknowledged in time stays spooled: not an
		 * error, the next start sends it. */
		mt_export_stop(exporter);
		mt_export_read_counters(exporter, &total);
	}
	if (mt_output_close(&out) != 0) {
		fprintf(stderr, "mailtapd: error writing JSON output\n");
		rc = 1;
	}
	mt_export_free(exporter);
	mt_identity_free(&ident);
	if (!quiet)
		print_summary(&total, &out);
	return rc;
}
