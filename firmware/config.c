/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INI parser and the key table. The parser is a line reader with a hard
 * line cap; values are validated against the table and every problem is
 * reported with file, line, section and key. Control plane only.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#define MT_CONFIG_LINE_MAX 4096

#define OFF(f) ((uint32_t)offsetof(struct mt_config, f))
#define W(f) ((uint8_t)sizeof(((struct mt_config *)0)->f))

const struct mt_config_key mt_config_keys[] = {
	{ "flow", "capacity", MT_CT_U32, W(flow.capacity), OFF(flow.capacity),
	  1, 100000000, "65536",
	  "Flows tracked per worker. Memory is allocated at start-up (see docs/flows.md)." },
	{ "flow", "timeout_new", MT_CT_DURATION, W(flow.timeout_new_ns),
	  OFF(flow.timeout_new_ns), MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "30s",
	  "Idle time after which a TCP flow whose handshake never completed ends." },
	{ "flow", "timeout_established", MT_CT_DURATION,
	  W(flow.timeout_established_ns), OFF(flow.timeout_established_ns),
	  MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "600s",
	  "Idle time after which an established TCP flow ends (reason timeout)." },
	{ "flow", "timeout_closed", MT_CT_DURATION, W(flow.timeout_closed_ns),
	  OFF(flow.timeout_closed_ns), 0, 3600 * MT_NS_PER_SEC, "5s",
	  "Time a flow closed by FIN or RST waits for stragglers before its record is written." },
	{ "flow", "timeout_udp", MT_CT_DURATION, W(flow.timeout_udp_ns),
	  OFF(flow.timeout_udp_ns), MT_NS_PER_MS, 86400 * MT_NS_PER_SEC, "60s",
	  "Idle time after which a UDP flow ends." },
	{ "flow", "vlan_in_key", MT_CT_BOOL, W(flow.vlan_in_key),
	  OFF(flow.vlan_in_key), 0, 1, "yes",
	  "VLAN ids are part of the flow key: the same 5-tuple on two VLANs is two flows." },
	{ "stream", "ooo_max_bytes", MT_CT_SIZE, W(stream.ooo_max_bytes),
	  OFF(stream.ooo_max_bytes), 0, 64u << 20, "64k",
	  "Out-of-order bytes held per flow direction before the hole is declared a gap." },
	{ "stream", "ooo_pool_bytes", MT_CT_SIZE, W(stream.ooo_pool_bytes),
	  OFF(stream.ooo_pool_bytes), 0, 64ull << 30, "16M",
	  "Out-of-order buffer shared by all flows of one worker." },
	{ "analyzers", "smtp_ports", MT_CT_PORTS, 0, OFF(analyzers.smtp_ports), 0, 0,
	  "25 587",
	  "Server ports analysed as SMTP and submission (content decides if another protocol answers)." },
	{ "analyzers", "imap_ports", MT_CT_PORTS, 0, OFF(analyzers.imap_ports), 0, 0,
	  "143", "Server ports analysed as IMAP." },
	{ "analyzers", "pop3_ports", MT_CT_PORTS, 0, OFF(analyzers.pop3_ports), 0, 0,
	  "110", "Server ports analysed as POP3." },
	{ "analyzers", "tls_ports", MT_CT_PORTS, 0, OFF(analyzers.tls_ports), 0, 0,
	  "465 993 995 443",
	  "Server ports analysed as TLS: implicit-TLS mail and HTTPS mail front-ends." },
	{ "analyzers", "detect_other_ports", MT_CT_BOOL, W(analyzers.detect_other_ports),
	  OFF(analyzers.detect_other_ports), 0, 1, "yes",
	  "Recognise SMTP, IMAP and POP3 on any other TCP port from the first bytes each side sends." },
	{ "analyzers", "max_sessions", MT_CT_U32, W(analyzers.max_sessions),
	  OFF(analyzers.max_sessions), 0, 16000000, "8192",
	  "Mail sessions analysed at once per worker; beyond it flows are still recorded but not analysed." },
	{ "analyzers", "smtp_reply_max", MT_CT_U32, W(analyzers.smtp_reply_max),
	  OFF(analyzers.smtp_reply_max), 64, 65536, "1024",
	  "Longest SMTP reply line kept (commands are capped at RFC 5321's 512 bytes)." },
	{ "analyzers", "smtp_rcpt_max", MT_CT_U32, W(analyzers.smtp_rcpt_max),
	  OFF(analyzers.smtp_rcpt_max), 1, 1024, "64",
	  "Recipients stored per SMTP transaction; all are counted." },
	{ "analyzers", "imap_line_max", MT_CT_U32, W(analyzers.imap_line_max),
	  OFF(analyzers.imap_line_max), 128, 1u << 20, "8192",
	  "Longest IMAP command or response line (outside literals) kept." },
	{ "analyzers", "imap_literal_max", MT_CT_SIZE, W(analyzers.imap_literal_max),
	  OFF(analyzers.imap_literal_max), 1, 1ull << 40, "256M",
	  "IMAP literals announced larger than this are reported as an anomaly (they are still skipped, never buffered)." },
	{ "analyzers", "pop3_line_max", MT_CT_U32, W(analyzers.pop3_line_max),
	  OFF(analyzers.pop3_line_max), 64, 65536, "1024",
	  "Longest POP3 command or status line kept." },
	{ "analyzers", "mime_header_max", MT_CT_U32, W(analyzers.mime_header_max),
	  OFF(analyzers.mime_header_max), 128, 65536, "2048",
	  "Longest (unfolded) message header field kept." },
	{ "analyzers", "mime_headers_max", MT_CT_U32, W(analyzers.mime_headers_max),
	  OFF(analyzers.mime_headers_max), 8, 100000, "512",
	  "Header fields per message part before the rest are skipped." },
	{ "analyzers", "mime_depth_max", MT_CT_U32, W(analyzers.mime_depth_max),
	  OFF(analyzers.mime_depth_max), 1, 32, "8",
	  "Nesting of multipart bodies followed." },
	{ "analyzers", "mime_parts_max", MT_CT_U32, W(analyzers.mime_parts_max),
	  OFF(analyzers.mime_parts_max), 1, 100000, "64",
	  "Parts per message analysed (attachments beyond it are not hashed)." },
	{ "analyzers", "tls_handshake_max", MT_CT_SIZE, W(analyzers.tls_handshake_max),
	  OFF(analyzers.tls_handshake_max), 1024, 1u << 20, "32k",
	  "Largest TLS handshake message reassembled (certificate chains)." },
	{ "dpdk", "eal_args", MT_CT_STR, 0, OFF(dpdk.eal_args), 0, 0, "",
	  "DPDK EAL arguments, as on a DPDK command line; give the main lcore plus one lcore per port and RX queue (for example -l 0,1 --no-pci --vdev net_pcap0,rx_pcap=x.pcap)." },
	{ "dpdk", "ports", MT_CT_STR, 0, OFF(dpdk.ports), 0, 0, "0",
	  "DPDK port ids to receive from, space separated." },
	{ "dpdk", "rx_queues", MT_CT_U32, W(dpdk.rx_queues), OFF(dpdk.rx_queues),
	  1, 128, "1",
	  "RX queues per port; one worker lcore per queue, symmetric RSS across them." },
	{ "dpdk", "rx_desc", MT_CT_U32, W(dpdk.rx_desc), OFF(dpdk.rx_desc), 64,
	  32768, "1024", "RX descriptors per queue." },
	{ "dpdk", "mbufs", MT_CT_U32, W(dpdk.mbufs), OFF(dpdk.mbufs), 1023,
	  16777215, "16383", "Packet buffers in the pool (per port)." },
	{ "dpdk", "mbuf_cache", MT_CT_U32, W(dpdk.mbuf_cache),
	  OFF(dpdk.mbuf_cache), 0, 512, "256", "Per-lcore mbuf cache size." },
	{ "dpdk", "burst", MT_CT_U32, W(dpdk.burst), OFF(dpdk.burst), 1, 512,
	  "32", "Packets requested per rx_burst call." },
	{ "dpdk", "promiscuous", MT_CT_BOOL, W(dpdk.promiscuous),
	  OFF(dpdk.promiscuous), 0, 1, "yes",
	  "Put ports in promiscuous mode (a tap sees other hosts' traffic)." },
	{ "dpdk", "idle_exit", MT_CT_DURATION, W(dpdk.idle_exit_ns),
	  OFF(dpdk.idle_exit_ns), 0, 86400 * MT_NS_PER_SEC, "0",
	  "Replay mode: exit after this long without packets on any queue and keep packet time frozen while idle (0 = run until signalled, live clock)." },
	{ "dpdk", "record_ring", MT_CT_U32, W(dpdk.record_ring),
	  OFF(dpdk.record_ring), 64, 1u << 24, "4096",
	  "Records buffered between each worker and the main lcore (rounded up to a power of two)." },
	{ "output", "json", MT_CT_STR, 0, OFF(output.json), 0, 0, "",
	  "Write EVE-style JSON lines to this file (- for standard output, empty for none)." },
	{ "output", "stats_interval", MT_CT_DURATION, W(output.stats_interval_ns),
	  OFF(output.stats_interval_ns), 0, 86400 * MT_NS_PER_SEC, "0",
	  "Emit a stats record this often: packet time with --read, wall time on DPDK (0 = only at exit)." },
};

const unsigned mt_config_nkeys = MT_ARRAY_SIZE(mt_config_keys);

struct perr {
	struct mt_config_errors *err;
	const char *name;
};

static void add_err(struct perr *pe, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_err(struct perr *pe, unsigned line, const char *fmt, ...)
{
	struct mt_config_errors *e = pe->err;
	char tmp[200];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (e->count < MT_CONFIG_MAX_ERRORS)
		snprintf(e->msg[e->count], sizeof(e->msg[0]), "%s:%u: %s",
			 pe->name, line, tmp);
	e->count++;
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

static bool parse_scaled(const char *s, uint64_t unit_default,
			 const char *const *sfx, const uint64_t *mul,
			 uint64_t *out)
{
	char num[32];
	size_t n = 0;
	uint64_t v, m = unit_default;

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

bool mt_config_parse_ports(const char *s, uint8_t map[8192], char *why,
			   size_t whylen)
{
	const char *p = s;

	memset(map, 0, 8192);
	while (*p) {
		uint64_t v = 0;
		size_t n = 0;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (isdigit((unsigned char)p[n]) && n < 6) {
			v = v * 10 + (uint64_t)(p[n] - '0');
			n++;
		}
		if (n == 0 || (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != '\t') ||
		    v == 0 || v > 65535) {
			snprintf(why, whylen, "not a port number 1-65535 at `%.20s'", p);
			return false;
		}
		map[v >> 3] |= (uint8_t)(1u << (v & 7));
		p += n;
	}
	return true;
}

static void set_value(struct mt_config *cfg, const struct mt_config_key *k,
		      const char *val, struct perr *pe, unsigned line)
{
	static const char *const size_sfx[] = { "k", "K", "m", "M", "g", "G", NULL };
	static const uint64_t size_mul[] = { 1ull << 10, 1ull << 10, 1ull << 20,
					     1ull << 20, 1ull << 30, 1ull << 30 };
	static const char *const dur_sfx[] = { "ms", "s", "m", "h", NULL };
	static const uint64_t dur_mul[] = { MT_NS_PER_MS, MT_NS_PER_SEC,
					    60 * MT_NS_PER_SEC, 3600 * MT_NS_PER_SEC };
	uint8_t *dst = (uint8_t *)cfg + k->offset;
	uint64_t v = 0;
	char why[96];
	bool ok;

	switch (k->type) {
	case MT_CT_STR:
	case MT_CT_PORTS:
		if (strlen(val) >= MT_CONFIG_STR) {
			add_err(pe, line, "[%s] %s: value longer than %u bytes",
				k->section, k->key, MT_CONFIG_STR - 1);
			return;
		}
		if (k->type == MT_CT_PORTS) {
			uint8_t map[8192];

			if (!mt_config_parse_ports(val, map, why, sizeof(why))) {
				add_err(pe, line, "[%s] %s: %s", k->section,
					k->key, why);
				return;
			}
		}
		memcpy(dst, val, strlen(val) + 1);
		return;
	case MT_CT_BOOL:
		if (!strcmp(val, "yes") || !strcmp(val, "true") ||
		    !strcmp(val, "on") || !strcmp(val, "1")) {
			*(bool *)dst = true;
		} else if (!strcmp(val, "no") || !strcmp(val, "false") ||
			   !strcmp(val, "off") || !strcmp(val, "0")) {
			*(bool *)dst = false;
		} else {
			add_err(pe, line, "[%s] %s: `%s' is neither yes nor no",
				k->section, k->key, val);
		}
		return;
	case MT_CT_U32:
		ok = parse_u64(val, &v);
		break;
	case MT_CT_SIZE:
		ok = parse_scaled(val, 1, size_sfx, size_mul, &v);
		break;
	case MT_CT_DURATION:
		ok = parse_scaled(val, MT_NS_PER_SEC, dur_sfx, dur_mul, &v);
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		add_err(pe, line, "[%s] %s: `%s' is not a %s", k->section, k->key,
			val,
			k->type == MT_CT_SIZE ? "size (like 64k, 16M)" :
			k->type == MT_CT_DURATION ? "duration (like 500ms, 30s, 10m)" :
						    "number");
		return;
	}
	if (v < k->min || v > k->max) {
		if (k->type == MT_CT_DURATION)
			add_err(pe, line, "[%s] %s: `%s' is out of range %gs-%gs",
				k->section, k->key, val, (double)k->min / 1e9,
				(double)k->max / 1e9);
		else
			add_err(pe, line, "[%s] %s: `%s' is out of range %llu-%llu%s",
				k->section, k->key, val,
				(unsigned long long)k->min,
				(unsigned long long)k->max,
				k->type == MT_CT_SIZE ? " bytes" : "");
		return;
	}
	if (k->width == 4)
		*(uint32_t *)dst = (uint32_t)v;
	else
		*(uint64_t *)dst = v;
}

void mt_config_defaults(struct mt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned i = 0; i < mt_config_nkeys; i++) {
		struct perr pe = { NULL, "default" };

		set_value(cfg, &mt_config_keys[i], mt_config_keys[i].def, &pe, 0);
	}
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

static bool known_section(const char *s)
{
	for (unsigned i = 0; i < mt_config_nkeys; i++)
		if (strcmp(mt_config_keys[i].section, s) == 0)
			return true;
	return false;
}

int mt_config_parse(struct mt_config *cfg, const char *name, const char *text,
		    size_t len, struct mt_config_errors *err)
{
	unsigned seen_line[MT_ARRAY_SIZE(mt_config_keys)];
	char section[64] = "";
	bool section_ok = false;
	struct perr pe = { err, name };
	unsigned lineno = 0, before = err ? err->count : 0;
	size_t pos = 0;
	char line[MT_CONFIG_LINE_MAX + 2];

	memset(seen_line, 0, sizeof(seen_line));
	while (pos < len) {
		size_t n = 0;
		char *s, *eq, *key, *val;
		unsigned i;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = text[pos];
			pos++;
		}
		pos++;
		if (n > MT_CONFIG_LINE_MAX) {
			add_err(&pe, lineno, "line longer than %u bytes",
				MT_CONFIG_LINE_MAX);
			continue;
		}
		line[n] = '\0';
		if (memchr(line, '\0', n)) {
			add_err(&pe, lineno, "NUL byte in line");
			continue;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] != '\0' || close - s - 1 >= (long)sizeof(section)) {
				add_err(&pe, lineno, "malformed section header `%.40s'", s);
				section_ok = false;
				continue;
			}
			*close = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			section_ok = known_section(section);
			if (!section_ok)
				add_err(&pe, lineno, "unknown section [%s]", section);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			add_err(&pe, lineno, "expected `key = value', got `%.40s'", s);
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		n = strlen(val);
		if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
			val[n - 1] = '\0';
			val++;
		}
		if (!section[0]) {
			add_err(&pe, lineno, "key `%s' outside any section", key);
			continue;
		}
		if (!section_ok)
			continue; /* already reported the section */
		for (i = 0; i < mt_config_nkeys; i++)
			if (!strcmp(mt_config_keys[i].section, section) &&
			    !strcmp(mt_config_keys[i].key, key))
				break;
		if (i == mt_config_nkeys) {
			add_err(&pe, lineno, "[%s] %s: unknown key", section, key);
			continue;
		}
		if (seen_line[i]) {
			add_err(&pe, lineno, "[%s] %s: set twice (first on line %u)",
				section, key, seen_line[i]);
			continue;
		}
		seen_line[i] = lineno;
		set_value(cfg, &mt_config_keys[i], val, &pe, lineno);
	}
	return (err ? err->count : 0) == before ? 0 : -1;
}

int mt_config_load(struct mt_config *cfg, const char *path,
		   struct mt_config_errors *err)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long len;
	int rc;

	if (!f) {
		if (err && err->count < MT_CONFIG_MAX_ERRORS)
			snprintf(err->msg[err->count], sizeof(err->msg[0]),
				 "%s: cannot open: %s", path, strerror(errno));
		if (err)
			err->count++;
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		if (err && err->count < MT_CONFIG_MAX_ERRORS)
			snprintf(err->msg[err->count], sizeof(err->msg[0]),
				 "%s: unreadable or larger than 1 MiB", path);
		if (err)
			err->count++;
		return -1;
	}
	text = malloc((size_t)len + 1);
	if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
		free(text);
		fclose(f);
		if (err && err->count < MT_CONFIG_MAX_ERRORS)
			snprintf(err->msg[err->count], sizeof(err->msg[0]),
				 "%s: read error", path);
		if (err)
			err->count++;
		return -1;
	}
	fclose(f);
	rc = mt_config_parse(cfg, path, text, (size_t)len, err);
	free(text);
	return rc;
}
