/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS analyzer tests. Real handshakes come from the captures in
 * tests/captures/tls (made by make.sh and synth.py there); every expected
 * JA3/JA3S value is tshark 4.0's (tls.handshake.ja3_full, ja3, ja3s_full,
 * ja3s), every JA4 is ja4_ref.py's (FoxIO's rules over tshark's dissection;
 * this tshark has no ja4 field), and every certificate field is what
 * `openssl x509` prints for the DER tshark extracts, as recorded in
 * tests/captures/tls/reference.txt. Then: splits at every offset, records
 * re-framed one handshake byte at a time, several messages per record,
 * caps, gaps, STARTTLS hand-over, GREASE, and each anomaly.
 */
#include "apptest.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>

#include "tls_fp.h"

/* ---- captures ---- */

#define CAP_BYTES 16384
#define CAP_SEGS 64

struct seg {
	int dir;
	uint32_t off, len;
};

struct cap {
	uint8_t data[2][CAP_BYTES];
	uint32_t len[2];
	struct seg seg[CAP_SEGS];
	int nseg;
};

static struct cap cap;

/* The captures sit beside this file's directory: the tests run from the
 * top of the tree, like make does. */
static void cap_path(char *out, size_t cap_len, const char *name)
{
	const char *f = __FILE__;
	const char *slash = strrchr(f, '/');
	int n = slash ? (int)(slash - f) : 1;

	snprintf(out, cap_len, "%.*s/../captures/tls/%s", n, slash ? f : ".", name);
}

/* Loads the TCP payloads of a capture (Ethernet, IPv4, one connection, no
 * loss: loopback or synthetic), each direction in order. */
static void cap_load(const char *name, uint16_t server_port)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *pkt;
	pcap_t *pc;

	memset(&cap, 0, sizeof(cap));
	cap_path(path, sizeof(path), name);
	pc = pcap_open_offline(path, err);
	if (!pc)
		fail_msg("%s: %s", path, err);
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		const uint8_t *ip = pkt + 14, *tcp;
		uint32_t ihl, doff, tot, plen;
		int dir;

		assert_true(h->caplen >= 14 + 20 + 20);
		assert_int_equal(mt_load_be16(pkt + 12), 0x0800);
		ihl = (ip[0] & 15u) * 4;
		tot = mt_load_be16(ip + 2);
		tcp = ip + ihl;
		doff = (tcp[12] >> 4) * 4u;
		plen = tot - ihl - doff;
		if (!plen)
			continue;
		dir = mt_load_be16(tcp + 2) == server_port ? MT_DIR_C2S : MT_DIR_S2C;
		assert_true(cap.nseg < CAP_SEGS);
		assert_true(cap.len[dir] + plen <= CAP_BYTES);
		memcpy(cap.data[dir] + cap.len[dir], tcp + doff, plen);
		cap.seg[cap.nseg].dir = dir;
		cap.seg[cap.nseg].off = cap.len[dir];
		cap.seg[cap.nseg].len = plen;
		cap.nseg++;
		cap.len[dir] += plen;
	}
	pcap_close(pc);
	assert_true(cap.nseg > 0);
}

/* Replays the capture segment by segment, each cut in `chunk`-byte pieces. */
static void cap_replay(size_t chunk)
{
	for (int i = 0; i < cap.nseg; i++)
		at_feed(cap.seg[i].dir, cap.data[cap.seg[i].dir] + cap.seg[i].off,
			cap.seg[i].len, chunk);
}

/* The one line of `event_type` in the output, or NULL; copied. */
static char *line_of(const char *out, const char *event_type)
{
	char key[64];
	const char *p, *start, *end;

	snprintf(key, sizeof(key), "\"event_type\":\"%s\"", event_type);
	p = strstr(out, key);
	if (!p)
		return NULL;
	for (start = p; start > out && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	return strndup(start, (size_t)(end ? end + 1 - start : (long)strlen(start)));
}

static int count_lines(const char *out)
{
	int n = 0;

	for (; *out; out++)
		n += *out == '\n';
	return n;
}

/* Everything after the timestamp: what must not depend on how bytes were
 * cut (only the packet times do). */
static const char *after_ts(const char *line)
{
	const char *p = strstr(line, "\"flow_id\"");

	assert_non_null(p);
	return p;
}

#define CONN(port, app)                                                        \
	"\"flow_id\":4242,\"event_type\":\"tls\",\"src_ip\":\"192.0.2.1\","    \
	"\"src_port\":40000,\"dest_ip\":\"192.0.2.25\",\"dest_port\":" #port ","  \
	"\"proto\":\"TCP\",\"app_proto\":\"" app "\""

#define HEAD(us, ev, port, app)                                                \
	"{\"timestamp\":\"2024-05-01T10:00:00." us "+0000\",\"flow_id\":4242,"  \
	"\"event_type\":\"" ev "\",\"src_ip\":\"192.0.2.1\",\"src_port\":40000," \
	"\"dest_ip\":\"192.0.2.25\",\"dest_port\":" #port ",\"proto\":\"TCP\","  \
	"\"app_proto\":\"" app "\""

static uint64_t anomalies(void)
{
	return at.ctr.v[MT_CTR_app_anomaly_records];
}

/* ---- building hellos ---- */

struct hb {
	uint8_t b[8192];
	size_t n;
};

static void hb_put(struct hb *h, const void *p, size_t n)
{
	if (!n)
		return;
	assert_true(h->n + n <= sizeof(h->b));
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void hb_u8(struct hb *h, uint8_t v)
{
	hb_put(h, &v, 1);
}

static void hb_u16(struct hb *h, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	hb_put(h, b, 2);
}

/* A length field of `w` bytes, filled by hb_close() once its data is in. */
static size_t hb_open(struct hb *h, int w)
{
	size_t at_ = h->n;

	assert_true(h->n + (size_t)w <= sizeof(h->b));
	h->n += (size_t)w;
	return at_;
}

static void hb_close(struct hb *h, size_t at_, int w)
{
	size_t len = h->n - at_ - (size_t)w;

	for (int i = w - 1; i >= 0; i--, len >>= 8)
		h->b[at_ + (size_t)i] = (uint8_t)len;
}

static void ext_raw(struct hb *h, uint16_t type, const void *data, size_t n)
{
	hb_u16(h, type);
	hb_u16(h, (uint16_t)n);
	hb_put(h, data, n);
}

static void ext_sni(struct hb *h, const char *name)
{
	size_t e, l;

	hb_u16(h, 0x0000);
	e = hb_open(h, 2);
	l = hb_open(h, 2);
	hb_u8(h, 0);
	hb_u16(h, (uint16_t)strlen(name));
	hb_put(h, name, strlen(name));
	hb_close(h, l, 2);
	hb_close(h, e, 2);
}

/* A ClientHello handshake message; `exts` NULL for none at all. */
static void client_hello(struct hb *h, const uint16_t *ciphers, size_t nc,
			 const struct hb *exts)
{
	uint8_t random[32];
	size_t m, c;

	memset(random, 0x11, sizeof(random));
	hb_u8(h, 1);
	m = hb_open(h, 3);
	hb_u16(h, 0x0303);
	hb_put(h, random, sizeof(random));
	hb_u8(h, 0);
	c = hb_open(h, 2);
	for (size_t i = 0; i < nc; i++)
		hb_u16(h, ciphers[i]);
	hb_close(h, c, 2);
	hb_u8(h, 1);
	hb_u8(h, 0);
	if (exts) {
		size_t e = hb_open(h, 2);

		hb_put(h, exts->b, exts->n);
		hb_close(h, e, 2);
	}
	hb_close(h, m, 3);
}

/* A TLS 1.2 (or older) ServerHello, renegotiation_info only. */
static void server_hello_v(struct hb *h, uint16_t version, uint16_t cipher)
{
	static const uint8_t reneg[] = { 0xff, 0x01, 0x00, 0x01, 0x00 };
	uint8_t random[32];
	size_t m, e;

	memset(random, 0x22, sizeof(random));
	hb_u8(h, 2);
	m = hb_open(h, 3);
	hb_u16(h, version);
	hb_put(h, random, sizeof(random));
	hb_u8(h, 0);
	hb_u16(h, cipher);
	hb_u8(h, 0);
	e = hb_open(h, 2);
	hb_put(h, reneg, sizeof(reneg));
	hb_close(h, e, 2);
	hb_close(h, m, 3);
}

static void server_hello12(struct hb *h, uint16_t cipher)
{
	server_hello_v(h, 0x0303, cipher);
}

static void certificate_msg(struct hb *h, const uint8_t *der, size_t n)
{
	size_t m, l, c;

	hb_u8(h, 11);
	m = hb_open(h, 3);
	l = hb_open(h, 3);
	c = hb_open(h, 3);
	hb_put(h, der, n);
	hb_close(h, c, 3);
	hb_close(h, l, 3);
	hb_close(h, m, 3);
}

/* Frames `n` bytes of one content type in records of at most `per` bytes. */
static void frame(struct hb *out, uint8_t type, const uint8_t *p, size_t n, size_t per)
{
	do {
		size_t k = MT_MIN(n, per);

		hb_u8(out, type);
		hb_u16(out, 0x0303);
		hb_u16(out, (uint16_t)k);
		hb_put(out, p, k);
		p += k;
		n -= k;
	} while (n);
}

/* The bodies of the handshake records at the start of `p` (stops at the
 * first other record): the handshake messages, unframed. */
static size_t unframe(struct hb *out, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (n - used >= 5 && p[used] == 22) {
		size_t len = mt_load_be16(p + used + 3);

		assert_true(used + 5 + len <= n);
		hb_put(out, p + used + 5, len);
		used += 5 + len;
	}
	return used;
}

static const uint16_t some_ciphers[] = { 0xc02f, 0xc030, 0x009e };

/* ---- the fingerprint functions alone ---- */

/* The example of FoxIO's JA4.md: its lists give t13d1516h2_8daaf6152771_
 * e5627efa2ab1, and without signature algorithms the extension hash is
 * the documented 6d807ffa2a79. */
static void test_ja4_spec_example(void **state)
{
	static const uint16_t cs[] = { 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
				       0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
				       0x009d, 0x002f, 0x0035 };
	static const uint16_t exts[] = { 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017,
					 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b,
					 0xff01, 0x000b, 0x000a, 0x0015 };
	static const uint16_t sig[] = { 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501,
					0x0806, 0x0601 };
	uint8_t cbe[sizeof(cs)], sbe[sizeof(sig)], ver[2] = { 0x03, 0x04 };
	struct mt_tls_hello_fp h;
	struct mt_tls_ja3 j3;
	char j4[MT_TLS_JA4_LEN + 1];

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(cs); i++)
		mt_store_be16(cbe + 2 * i, cs[i]);
	for (size_t i = 0; i < MT_ARRAY_SIZE(sig); i++)
		mt_store_be16(sbe + 2 * i, sig[i]);
	memset(&h, 0, sizeof(h));
	h.version = 0x0303;
	h.ciphers = cbe;
	h.nciphers = MT_ARRAY_SIZE(cs);
	h.exts = exts;
	h.nexts = MT_ARRAY_SIZE(exts);
	h.sigalgs = sbe;
	h.nsigalgs = MT_ARRAY_SIZE(sig);
	h.versions = ver;
	h.nversions = 1;
	h.alpn = (const uint8_t *)"h2";
	h.alpn_len = 2;
	mt_tls_fp_client(&h, &j3, j4);
	assert_string_equal(j4, "t13d1516h2_8daaf6152771_e5627efa2ab1");

	h.nsigalgs = 0;
	mt_tls_fp_client(&h, &j3, j4);
	assert_string_equal(j4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
}

static void ja4_of(const uint8_t *alpn, uint32_t alpn_len, const uint8_t *cbe, uint32_t nc,
		   const uint8_t *vers, uint32_t nv, char *out)
{
	struct mt_tls_hello_fp h;
	struct mt_tls_ja3 j3;

	memset(&h, 0, sizeof(h));
	h.version = 0x0301;
	h.ciphers = (uint8_t *)(uintptr_t)cbe; /* sorting a sorted list is a no-op */
	h.nciphers = nc;
	h.versions = vers;
	h.nversions = nv;
	h.alpn = alpn;
	h.alpn_len = alpn_len;
	mt_tls_fp_client(&h, &j3, out);
}

/* JA4.md's edge cases: empty lists hash to twelve zeros, counts stop at
 * 99, the ALPN falls back to hex digits when an end is not alphanumeric,
 * versions from supported_versions ignore GREASE. */
static void test_ja4_edges(void **state)
{
	static const uint8_t ab[] = { 0xab }, abcd[] = { 0xab, 0xcd }, x30ab[] = { 0x30, 0xab },
			     x3031abcd[] = { 0x30, 0x31, 0xab, 0xcd },
			     x30abcd31[] = { 0x30, 0xab, 0xcd, 0x31 };
	static const uint8_t grease_only[] = { 0x0a, 0x0a }, v13g[] = { 0x1a, 0x1a, 0x03, 0x04 };
	static const uint8_t future[] = { 0x03, 0x05 };
	uint8_t many[2 * 120];
	char j4[MT_TLS_JA4_LEN + 1];

	(void)state;
	ja4_of(NULL, 0, NULL, 0, NULL, 0, j4);
	assert_string_equal(j4, "t10i000000_000000000000_000000000000");
	ja4_of(ab, 1, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "ab", 2);
	ja4_of(abcd, 2, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "ad", 2);
	ja4_of(x30ab, 2, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "3b", 2);
	ja4_of(x3031abcd, 4, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "3d", 2);
	ja4_of(x30abcd31, 4, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "01", 2);
	ja4_of((const uint8_t *)"h", 1, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "hh", 2);
	ja4_of((const uint8_t *)"", 0, NULL, 0, NULL, 0, j4);
	assert_memory_equal(j4 + 8, "00", 2);
	/* A supported_versions of GREASE alone: the legacy version counts. */
	ja4_of(NULL, 0, grease_only, 1, grease_only, 1, j4);
	assert_string_equal(j4, "t10i000000_000000000000_000000000000");
	ja4_of(NULL, 0, NULL, 0, v13g, 2, j4);
	assert_memory_equal(j4, "t13", 3);
	ja4_of(NULL, 0, NULL, 0, future, 1, j4);
	assert_memory_equal(j4, "t00", 3);
	for (unsigned i = 0; i < 120; i++)
		mt_store_be16(many + 2 * i, (uint16_t)(0x0100 + i));
	ja4_of(NULL, 0, many, 120, NULL, 0, j4);
	assert_memory_equal(j4, "t10i9900", 8);
}

/* JA3: GREASE left out of every list, empty fields kept; digests from
 * Python's hashlib; JA3S as tshark 4.0 gives it for pop3s_frag.pcap. */
static void test_ja3_format(void **state)
{
	static const uint8_t cs[] = { 0x0a, 0x0a, 0x00, 0x2f }, groups[] = { 0x2a, 0x2a, 0x00, 0x17 };
	static const uint16_t exts[] = { 0x1a1a, 0x000a }, sexts[] = { 0xff01, 0x000b, 0x0023, 0x0017 };
	static uint8_t big[2 * 600];
	uint8_t csc[sizeof(cs)];
	struct mt_tls_hello_fp h;
	struct mt_tls_ja3 j3;
	char j4[MT_TLS_JA4_LEN + 1];

	(void)state;
	memcpy(csc, cs, sizeof(cs));
	memset(&h, 0, sizeof(h));
	h.version = 0x0301;
	h.ciphers = csc;
	h.nciphers = 2;
	h.exts = exts;
	h.nexts = 2;
	h.groups = groups;
	h.ngroups = 2;
	mt_tls_fp_client(&h, &j3, j4);
	assert_string_equal(j3.str, "769,47,10,23,");
	assert_string_equal(j3.hash, "c63fc10403f62f535bad53f879ad0371");
	assert_false(j3.truncated);

	/* 600 cipher suites: the text stops at the cap, the MD5 does not. */
	for (unsigned i = 0; i < 600; i++)
		mt_store_be16(big + 2 * i, (uint16_t)(i + 1));
	memset(&h, 0, sizeof(h));
	h.version = 0x0303;
	h.ciphers = big;
	h.nciphers = 600;
	mt_tls_fp_client(&h, &j3, j4);
	assert_true(j3.truncated);
	assert_int_equal(j3.len, MT_TLS_JA3_MAX);
	assert_memory_equal(j3.str + 1020, "282-", 4);
	assert_string_equal(j3.hash, "5fcbc881ec375eb6b7114a494bdc84be");

	mt_tls_fp_server(0x0303, 0xc030, sexts, 4, &j3);
	assert_string_equal(j3.str, "771,49200,65281-11-35-23");
	assert_string_equal(j3.hash, "ec74a5c51106f0419184d0dd08fb05bc");
}

static void test_cert_garbage(void **state)
{
	static const uint8_t fp[32] = {
		0x5f, 0xaa, 0x4e, 0xec, 0x36, 0x11, 0x55, 0x68, 0x12, 0xc2, 0xd7,
		0x4b, 0x43, 0x7c, 0x8c, 0x49, 0xad, 0xd3, 0xf9, 0x10, 0xf1, 0x00,
		0x63, 0xd8, 0x01, 0x44, 0x1f, 0x7d, 0x75, 0xcd, 0x5e, 0x3b,
	};
	uint8_t g[40];
	struct mt_tls_cert c;

	(void)state;
	for (unsigned i = 0; i < sizeof(g); i++)
		g[i] = (uint8_t)i;
	assert_int_equal(mt_tls_cert_summary(g, sizeof(g), &c), -EINVAL);
	assert_memory_equal(c.sha256, fp, 32); /* hashlib.sha256(bytes(range(40))) */
	assert_string_equal(c.subject, "");
}

/* ---- real captures, exact JSON ---- */

static const char *expect_https =
	HEAD("000001", "tls", 443, "tls")
	",\"tls\":{\"version\":\"TLS 1.2\",\"sni\":\"mail.example.test\","
	"\"subject\":\"C=DE, O=mailtap test, CN=mail.example.test\","
	"\"issuerdn\":\"C=DE, O=mailtap test, CN=mail.example.test\","
	"\"serial\":\"4D:41:49:4C:54:41:50\","
	"\"fingerprint_sha256\":\"f6a3c528066b9d1cd5b8a1d01fe95fc1b1f670420c28d4032830154ff5a2fef0\","
	"\"notbefore\":\"2026-11-28T18:47:50\",\"notafter\":\"2036-11-25T18:47:50\","
	"\"ja3\":{\"hash\":\"87b9bfc7da97115ed2276737b09f8d74\",\"string\":\"771,49196-49200-159-"
	"52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-49162-49172-57-"
	"49161-49171-51-157-156-61-60-53-47-255,0-11-10-16-22-23-13,29-23-30-25-24,0-1-2\"},"
	"\"ja3s\":{\"hash\":\"6aea764ee67f71caf3dc723118906199\",\"string\":\"771,49200,65281-11-16-23\"},"
	"\"ja4\":\"t12d2807h2_d943125447b4_a44c6288192a\",\"client_alpns\":[\"h2\",\"http/1.1\"],"
	"\"server_alpn\":\"http/1.1\",\"client_ciphers\":[49196,49200,159,52393,52392,52394,49195,"
	"49199,158,49188,49192,107,49187,49191,103,49162,49172,57,49161,49171,51,157,156,61,60,"
	"53,47,255],\"cipher_suite\":49200,\"supported_groups\":[29,23,30,25,24]}}\n";

/* curl 7.88 to openssl s_server, TLS 1.2, ALPN: all of reference.txt's
 * https_tls12 block (tshark JA3/JA3S, ja4_ref.py JA4, openssl x509). */
static void test_https_tls12(void **state)
{
	(void)state;
	cap_load("https_tls12.pcap", 443);
	at_open(MT_APP_TLS, 443);
	cap_replay(0);
	assert_string_equal(at_close(), expect_https);
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* On a port not in the lists, a TLS flow is recognised by its ClientHello
 * (mt_app_probe, as the worker calls it on a flow's first payloads): the
 * real hellos of the captures are, a ServerHello alone or a header that is
 * only TLS-shaped is not. Then the https_tls12 session on port 8443, handed
 * to the analyzer by recognition, gives the same tls record as on 443. */
static void test_probe_client_hello(void **state)
{
	static const struct {
		const char *name;
		uint16_t port;
	} caps[] = { { "https_tls12.pcap", 443 }, { "imaps_tls13.pcap", 993 },
		     { "pop3s_frag.pcap", 995 }, { "grease_hello.pcap", 443 } };
	uint8_t h[64];
	const char *tls443, *tls8443;
	char *l443, *l8443;

	(void)state;
	for (size_t i = 0; i < MT_ARRAY_SIZE(caps); i++) {
		cap_load(caps[i].name, caps[i].port);
		assert_true(cap.len[MT_DIR_C2S] >= sizeof(h));
		if (mt_app_probe(cap.data[MT_DIR_C2S], cap.len[MT_DIR_C2S], MT_DIR_C2S) !=
		    MT_APP_TLS)
			fail_msg("%s: ClientHello not recognised", caps[i].name);
		assert_int_equal(mt_app_probe(cap.data[MT_DIR_S2C], cap.len[MT_DIR_S2C],
					      MT_DIR_S2C), MT_APP_NONE);
		/* A ClientHello sent by the server is no client's. */
		assert_int_equal(mt_app_probe(cap.data[MT_DIR_C2S], cap.len[MT_DIR_C2S],
					      MT_DIR_S2C), MT_APP_NONE);
	}
	cap_load("https_tls12.pcap", 443);
	memcpy(h, cap.data[MT_DIR_C2S], sizeof(h));
	assert_int_equal(mt_app_probe(h, 11, MT_DIR_C2S), MT_APP_TLS);
	assert_int_equal(mt_app_probe(h, 10, MT_DIR_C2S), MT_APP_NONE); /* too short to tell */
#define PROBE_WITH(off, val)                                                   \
	do {                                                                   \
		uint8_t b_[sizeof(h)];                                         \
		memcpy(b_, h, sizeof(h));                                      \
		b_[off] = (val);                                               \
		assert_int_equal(mt_app_probe(b_, sizeof(b_), MT_DIR_C2S), MT_APP_NONE); \
	} while (0)
	PROBE_WITH(0, 0x17);  /* application data, not a handshake */
	PROBE_WITH(1, 0x02);  /* record version 2.x */
	PROBE_WITH(2, 0x05);  /* record version 3.5 */
	PROBE_WITH(3, 0x50);  /* record longer than TLS allows */
	PROBE_WITH(5, 0x02);  /* ServerHello */
	PROBE_WITH(6, 0x02);  /* handshake length beyond any ClientHello */
	PROBE_WITH(9, 0x01);  /* client version 1.x */
	PROBE_WITH(10, 0x09); /* client version 3.9 */
	{
		uint8_t b[sizeof(h)];

		memcpy(b, h, sizeof(h));
		b[3] = 0, b[4] = 2; /* record of 2 bytes */
		assert_int_equal(mt_app_probe(b, sizeof(b), MT_DIR_C2S), MT_APP_NONE);
		memcpy(b, h, sizeof(h));
		b[6] = 0, b[7] = 0, b[8] = 20; /* ClientHello of 20 bytes */
		assert_int_equal(mt_app_probe(b, sizeof(b), MT_DIR_C2S), MT_APP_NONE);
	}
#undef PROBE_WITH

	/* The reference record on 443, forced... */
	at_open(MT_APP_TLS, 443);
	cap_replay(0);
	tls443 = at_close();
	l443 = line_of(tls443, "tls");
	assert_non_null(l443);
	at_free();
	/* ... and the same bytes on 8443, recognised. */
	at_open(MT_APP_TLS, 8443);
	mt_app_close(&at.apps, &at.flow, at.now); /* not forced: recognised */
	mt_buf_reset(&at.out);
	at.flow.app_proto = MT_APP_NONE;
	at.flow.user8 = mt_app_probe(cap.data[MT_DIR_C2S], cap.len[MT_DIR_C2S], MT_DIR_C2S);
	at.ctr.v[MT_CTR_app_detected_tls] = 0;
	cap_replay(0);
	tls8443 = at_close();
	l8443 = line_of(tls8443, "tls");
	assert_non_null(l8443);
	assert_non_null(strstr(l8443, "\"dest_port\":8443,\"proto\":\"TCP\",\"app_proto\":\"tls\",\"tls\":{"));
	assert_string_equal(strstr(l8443, "\"tls\":{"), strstr(l443, "\"tls\":{"));
	assert_int_equal(at.ctr.v[MT_CTR_app_detected_tls], 1);
	assert_int_equal(anomalies(), 0);
	free(l443);
	free(l8443);
	at_free();
}

/* TLS 1.3: the certificate and the server's ALPN are encrypted. */
static void test_imaps_tls13(void **state)
{
	(void)state;
	cap_load("imaps_tls13.pcap", 993);
	at_open(MT_APP_TLS, 993);
	cap_replay(0);
	assert_string_equal(
		at_close(),
		HEAD("000001", "tls", 993, "tls")
		",\"tls\":{\"version\":\"TLS 1.3\",\"sni\":\"imap.example.test\","
		"\"ja3\":{\"hash\":\"9dffdb8b608a430b774a2ff7d36c1a0c\",\"string\":\"771,4866-4867-4865-"
		"255,0-11-10-35-16-22-23-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2\"},"
		"\"ja3s\":{\"hash\":\"15af977ce25de452b96affa2addb1036\",\"string\":\"771,4866,43-51\"},"
		"\"ja4\":\"t13d0411ip_16476d049b0b_78f1d400d464\",\"client_alpns\":[\"imap\"],"
		"\"client_ciphers\":[4866,4867,4865,255],\"cipher_suite\":4866,"
		"\"supported_groups\":[29,23,30,25,24,256,257,258,259,260]}}\n");
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* -max_send_frag 512 on both sides: the ClientHello spans two records,
 * the Certificate several records and two TCP segments. The serial keeps
 * the DER's leading zero byte, as Suricata shows it (openssl prints
 * FF0102030405060708). Client ALPN names past 256 bytes are not kept. */
static void test_pop3s_fragmented(void **state)
{
	(void)state;
	cap_load("pop3s_frag.pcap", 995);
	at_open(MT_APP_TLS, 995);
	cap_replay(0);
	assert_string_equal(
		at_close(),
		HEAD("000001", "tls", 995, "tls")
		",\"tls\":{\"version\":\"TLS 1.2\",\"sni\":\"pop.example.test\","
		"\"subject\":\"C=DE, ST=Berlin, O=mailtap test, OU=pop, CN=pop.example.test\","
		"\"issuerdn\":\"C=DE, O=mailtap test, CN=mailtap test CA\","
		"\"serial\":\"00:FF:01:02:03:04:05:06:07:08\","
		"\"fingerprint_sha256\":\"d33fd5889b9f2db7df61d91ecd82aba805a9b0f9ca25503f1bbfabddb5f3e423\","
		"\"notbefore\":\"2026-11-28T18:47:50\",\"notafter\":\"2029-03-02T18:47:50\","
		"\"ja3\":{\"hash\":\"22558766122974704364c9c75c5cce0a\",\"string\":\"771,49196-49200-159-"
		"52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-49162-49172-57-49161-"
		"49171-51-157-156-61-60-53-47-255,0-11-10-35-16-22-23-13,29-23-30-25-24,0-1-2\"},"
		"\"ja3s\":{\"hash\":\"ec74a5c51106f0419184d0dd08fb05bc\",\"string\":\"771,49200,65281-11-35-23\"},"
		"\"ja4\":\"t12d2808p3_d943125447b4_e7e480e5a997\",\"client_alpns\":[\"pop3\","
		"\"x-mailtap-0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000-1\","
		"\"x-mailtap-0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000-2\"],"
		"\"client_ciphers\":[49196,49200,159,52393,52392,52394,49195,49199,158,49188,49192,107,"
		"49187,49191,103,49162,49172,57,49161,49171,51,157,156,61,60,53,47,255],"
		"\"cipher_suite\":49200,\"supported_groups\":[29,23,30,25,24]}}\n");
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* GREASE everywhere (synth.py): JA3 as tshark gives it, JA4 the one of
 * FoxIO's own example (same non-GREASE lists). The raw lists of the record
 * keep what the client sent, GREASE included (0x0a0a = 2570). */
static void test_grease(void **state)
{
	(void)state;
	cap_load("grease_hello.pcap", 443);
	at_open(MT_APP_TLS, 443);
	cap_replay(0);
	assert_string_equal(
		at_close(),
		HEAD("000001", "tls", 443, "tls")
		",\"tls\":{\"version\":\"TLS 1.3\",\"sni\":\"mail.example.test\","
		"\"ja3\":{\"hash\":\"cd08e31494f9531f560d64c695473da9\",\"string\":\"771,4865-4866-4867-"
		"49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,0-23-65281-10-11-35-16-"
		"5-13-18-51-45-43-27-17513-21,29-23-24,0\"},"
		"\"ja3s\":{\"hash\":\"f4febc55ea12b31ae17cfb7e614afda8\",\"string\":\"771,4865,43-51\"},"
		"\"ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\",\"client_alpns\":[\"h2\",\"http/1.1\"],"
		"\"client_ciphers\":[2570,4865,4866,4867,49195,49199,49196,49200,52393,52392,49171,"
		"49172,156,157,47,53],\"cipher_suite\":4865,\"supported_groups\":[14906,29,23,24]}}\n");
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* HelloRetryRequest, its CCS, the client's CCS and second ClientHello: the
 * record has the first ClientHello and the real ServerHello. */
static void test_hello_retry_request(void **state)
{
	(void)state;
	cap_load("hrr.pcap", 443);
	at_open(MT_APP_TLS, 443);
	cap_replay(0);
	assert_string_equal(
		at_close(),
		HEAD("000001", "tls", 443, "tls")
		",\"tls\":{\"version\":\"TLS 1.3\",\"sni\":\"imap.example.test\","
		"\"ja3\":{\"hash\":\"c8c107130555a52c61dc60025bfd753f\",\"string\":"
		"\"771,4866-4867-4865-255,0-10-13-43-51,29-23,\"},"
		"\"ja3s\":{\"hash\":\"15af977ce25de452b96affa2addb1036\",\"string\":\"771,4866,43-51\"},"
		"\"ja4\":\"t13d040500_16476d049b0b_5d4d534e3685\",\"client_ciphers\":[4866,4867,4865,255],"
		"\"cipher_suite\":4866,\"supported_groups\":[29,23]}}\n");
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* Goes from POP3 to TLS through STLS, as the mail analyzers hand over. */
static void open_after_stls(uint16_t port)
{
	at_open(MT_APP_POP3, port);
	at_s2c("+OK ready\r\n");
	at_c2s("STLS\r\n");
	at_s2c("+OK Begin TLS negotiation\r\n");
}

/* smtp_starttls.pcap from the STARTTLS reply on, handed over by POP3's
 * STLS so that this test does not depend on the SMTP analyzer: starttls
 * is set, the rest is reference.txt's smtp_starttls block. */
static void test_starttls_real(void **state)
{
	static const char *c_mark = "STARTTLS\r\n", *s_mark = "Ready to start TLS\r\n";
	const uint8_t *c0, *s0;
	uint32_t cskip, sskip;
	char *tls;

	(void)state;
	cap_load("smtp_starttls.pcap", 25);
	c0 = memmem(cap.data[0], cap.len[0], c_mark, strlen(c_mark));
	s0 = memmem(cap.data[1], cap.len[1], s_mark, strlen(s_mark));
	assert_non_null(c0);
	assert_non_null(s0);
	cskip = (uint32_t)(c0 - cap.data[0] + (long)strlen(c_mark));
	sskip = (uint32_t)(s0 - cap.data[1] + (long)strlen(s_mark));
	open_after_stls(25);
	for (int i = 0; i < cap.nseg; i++) {
		const struct seg *g = &cap.seg[i];
		uint32_t skip = g->dir ? sskip : cskip;

		if (g->off + g->len <= skip)
			continue;
		assert_true(g->off >= skip);
		at_feed(g->dir, cap.data[g->dir] + g->off, g->len, 0);
	}
	tls = line_of(at_close(), "tls");
	assert_non_null(tls);
	assert_string_equal(
		tls,
		HEAD("000004", "tls", 25, "pop3")
		",\"tls\":{\"version\":\"TLS 1.2\",\"sni\":\"mail.example.test\","
		"\"subject\":\"C=DE, O=mailtap test, CN=mail.example.test\","
		"\"issuerdn\":\"C=DE, O=mailtap test, CN=mail.example.test\","
		"\"serial\":\"4D:41:49:4C:54:41:50\","
		"\"fingerprint_sha256\":\"f6a3c528066b9d1cd5b8a1d01fe95fc1b1f670420c28d4032830154ff5a2fef0\","
		"\"notbefore\":\"2026-11-28T18:47:50\",\"notafter\":\"2036-11-25T18:47:50\","
		"\"ja3\":{\"hash\":\"a3afc2c46ba4a7d7fbe1cfb7a3031c2f\",\"string\":\"771,4866-4867-4865-"
		"49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-103-"
		"49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-22-23-13-43-45-51,"
		"29-23-30-25-24-256-257-258-259-260,0-1-2\"},"
		"\"ja3s\":{\"hash\":\"ec74a5c51106f0419184d0dd08fb05bc\",\"string\":\"771,49200,65281-11-35-23\"},"
		"\"ja4\":\"t13d311000_e8f1e7e78f70_1f22a2ca17c4\",\"client_ciphers\":[4866,4867,4865,"
		"49196,49200,159,52393,52392,52394,49195,49199,158,49188,49192,107,49187,49191,103,49162,"
		"49172,57,49161,49171,51,157,156,61,60,53,47,255],\"cipher_suite\":49200,"
		"\"supported_groups\":[29,23,30,25,24,256,257,258,259,260],\"starttls\":true}}\n");
	free(tls);
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* ---- any split, any framing ---- */

static char *baseline_https(void)
{
	char *tls;

	cap_load("https_tls12.pcap", 443);
	at_open(MT_APP_TLS, 443);
	cap_replay(0);
	tls = line_of(at_close(), "tls");
	at_free();
	assert_non_null(tls);
	return tls;
}

/* The ClientHello segment and the server's first flight, each cut in two
 * at every offset: the same record every time. */
static void test_split_every_offset(void **state)
{
	char *base = baseline_https();

	(void)state;
	for (int which = 0; which < 2; which++) {
		/* Segment 0 is the ClientHello, 1 the ServerHello..Done flight. */
		int si = -1, k = 0;

		for (int i = 0; i < cap.nseg; i++)
			if (k++ == which) {
				si = i;
				break;
			}
		assert_true(si >= 0);
		for (uint32_t cut = 1; cut < cap.seg[si].len; cut++) {
			char *tls;

			at_open(MT_APP_TLS, 443);
			for (int i = 0; i < cap.nseg; i++) {
				const struct seg *g = &cap.seg[i];
				const uint8_t *p = cap.data[g->dir] + g->off;

				if (i == si) {
					at_feed(g->dir, p, cut, 0);
					at_feed(g->dir, p + cut, g->len - cut, 0);
				} else {
					at_feed(g->dir, p, g->len, 0);
				}
			}
			tls = line_of(at_close(), "tls");
			assert_non_null(tls);
			assert_string_equal(after_ts(tls), after_ts(base));
			assert_int_equal(count_lines(at.out.p), 1);
			free(tls);
			at_free();
		}
	}
	free(base);
}

/* Every byte in a segment of its own. */
static void test_bytewise(void **state)
{
	char *base = baseline_https(), *tls;

	(void)state;
	at_open(MT_APP_TLS, 443);
	cap_replay(1);
	tls = line_of(at_close(), "tls");
	assert_non_null(tls);
	assert_string_equal(after_ts(tls), after_ts(base));
	assert_int_equal(anomalies(), 0);
	free(tls);
	free(base);
	at_free();
}

/* The same handshake re-framed: one handshake byte per record, and the
 * whole server flight (four messages) in one record. */
static void test_reframed(void **state)
{
	static struct hb msgs, out;
	char *base = baseline_https();
	size_t sizes[] = { 1, 3, 100, 16384 };

	(void)state;
	for (size_t z = 0; z < MT_ARRAY_SIZE(sizes); z++) {
		char *tls;
		size_t used;

		at_open(MT_APP_TLS, 443);
		for (int dir = 0; dir < 2; dir++) {
			msgs.n = out.n = 0;
			/* First segment of each direction: the hello flights. */
			used = unframe(&msgs, cap.data[dir], cap.len[dir]);
			assert_true(used > 0);
			frame(&out, 22, msgs.b, msgs.n, sizes[z]);
			at_feed(dir, out.b, out.n, 0);
			at_feed(dir, cap.data[dir] + used, cap.len[dir] - used, 0);
		}
		tls = line_of(at_close(), "tls");
		assert_non_null(tls);
		assert_string_equal(after_ts(tls), after_ts(base));
		assert_int_equal(anomalies(), 0);
		free(tls);
		at_free();
	}
	free(base);
}

/* ---- caps, gaps and anomalies ---- */

static void small_cap(struct mt_app_config *cfg)
{
	cfg->tls_handshake_max = 1024;
}

/* A ClientHello over the reassembly cap is skipped with an anomaly; the
 * server side is still read and the record is written at close. */
static void test_handshake_too_large(void **state)
{
	static struct hb ext, ch, rec;
	static const uint8_t pad[1500];
	const uint8_t *s;
	size_t used;
	static struct hb sflight;

	(void)state;
	ext_sni(&ext, "big.example.test");
	ext_raw(&ext, 0x0015, pad, sizeof(pad));
	client_hello(&ch, some_ciphers, MT_ARRAY_SIZE(some_ciphers), &ext);
	frame(&rec, 22, ch.b, ch.n, 16384);
	cap_load("https_tls12.pcap", 443);
	at_open_cfg(MT_APP_TLS, 443, small_cap);
	at_feed(MT_DIR_C2S, rec.b, rec.n, 0);
	/* The server's real flight: its certificate fits in 1024 bytes. */
	s = cap.data[1];
	used = unframe(&sflight, s, cap.len[1]);
	at_feed(MT_DIR_S2C, s, used, 0);
	assert_string_equal(
		at_close(),
		HEAD("000001", "anomaly", 443, "tls")
		",\"anomaly\":{\"type\":\"applayer\",\"event\":\"tls_handshake_too_large\","
		"\"direction\":\"toserver\",\"evidence\":\"\\u0001\\u0000\\u0006(\"}}\n"
		HEAD("000002", "tls", 443, "tls")
		",\"tls\":{\"version\":\"TLS 1.2\","
		"\"subject\":\"C=DE, O=mailtap test, CN=mail.example.test\","
		"\"issuerdn\":\"C=DE, O=mailtap test, CN=mail.example.test\","
		"\"serial\":\"4D:41:49:4C:54:41:50\","
		"\"fingerprint_sha256\":\"f6a3c528066b9d1cd5b8a1d01fe95fc1b1f670420c28d4032830154ff5a2fef0\","
		"\"notbefore\":\"2026-11-28T18:47:50\",\"notafter\":\"2036-11-25T18:47:50\","
		"\"ja3s\":{\"hash\":\"6aea764ee67f71caf3dc723118906199\",\"string\":\"771,49200,65281-11-16-23\"},"
		"\"server_alpn\":\"http/1.1\",\"cipher_suite\":49200}}\n");
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_handshake_too_large], 1);
	at_free();
}

/* A certificate over the cap: no certificate fields, the rest is there. */
static void test_certificate_too_large(void **state)
{
	static struct hb ch, sh, rc, rs;
	static uint8_t der[2000];
	const char *out;

	(void)state;
	client_hello(&ch, some_ciphers, MT_ARRAY_SIZE(some_ciphers), NULL);
	server_hello12(&sh, 0xc030);
	certificate_msg(&sh, der, sizeof(der));
	frame(&rc, 22, ch.b, ch.n, 16384);
	frame(&rs, 22, sh.b, sh.n, 16384);
	at_open_cfg(MT_APP_TLS, 443, small_cap);
	at_feed(MT_DIR_C2S, rc.b, rc.n, 0);
	at_feed(MT_DIR_S2C, rs.b, rs.n, 0);
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_handshake_too_large], 1);
	assert_non_null(strstr(out, "\"event\":\"tls_handshake_too_large\",\"direction\":\"toclient\""));
	assert_non_null(strstr(out, "\"tls\":{\"version\":\"TLS 1.2\",\"ja3\":{\"hash\":"));
	assert_null(strstr(out, "fingerprint_sha256"));
	assert_non_null(strstr(out, "\"client_ciphers\":[49199,49200,158],\"cipher_suite\":49200}}\n"));
	at_free();
}

/* No Certificate after a TLS 1.0 ServerHello (anonymous key exchange):
 * the message in its place ends the clear part, the record is written at
 * once, and the version has its Suricata name. */
static void test_no_certificate(void **state)
{
	static const uint8_t done[] = { 14, 0, 0, 0 };
	static struct hb ch, sh, rc, rs;

	(void)state;
	client_hello(&ch, some_ciphers, MT_ARRAY_SIZE(some_ciphers), NULL);
	server_hello_v(&sh, 0x0301, 0x0034);
	hb_put(&sh, done, sizeof(done));
	frame(&rc, 22, ch.b, ch.n, 16384);
	frame(&rs, 22, sh.b, sh.n, 16384);
	at_open(MT_APP_TLS, 465);
	at_feed(MT_DIR_C2S, rc.b, rc.n, 0);
	at_feed(MT_DIR_S2C, rs.b, rs.n, 0);
	assert_int_equal(at.ctr.v[MT_CTR_output_records], 1);
	assert_string_equal(
		at_close(),
		HEAD("000001", "tls", 465, "tls")
		",\"tls\":{\"version\":\"TLS 1.0\","
		"\"ja3\":{\"hash\":\"bb56cc3227a68b0f4fe8e48950f5907b\",\"string\":\"771,49199-49200-158,,,\"},"
		"\"ja3s\":{\"hash\":\"52f2f9717203a42a118712b76036c50a\",\"string\":\"769,52,65281\"},"
		"\"ja4\":\"t12i030000_e854b2f3a2d0_000000000000\","
		"\"client_ciphers\":[49199,49200,158],\"cipher_suite\":52}}\n");
	assert_int_equal(anomalies(), 0);
	at_free();
}

/* JA3 and JA4 of the synthetic hello without extensions: Python's hashlib
 * over the JA3 text and over JA4.md's lists. */
static void test_no_extensions(void **state)
{
	static struct hb ch, rc;
	const char *out;

	(void)state;
	client_hello(&ch, some_ciphers, MT_ARRAY_SIZE(some_ciphers), NULL);
	frame(&rc, 22, ch.b, ch.n, 16384);
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, rc.b, rc.n, 0);
	out = at_close();
	assert_non_null(strstr(out, "\"ja3\":{\"hash\":\"bb56cc3227a68b0f4fe8e48950f5907b\","
				     "\"string\":\"771,49199-49200-158,,,\"}"));
	assert_non_null(strstr(out, "\"ja4\":\"t12i030000_e854b2f3a2d0_000000000000\""));
	at_free();
}

/* A hole in the client's ClientHello: the client side is given up, the
 * server side still read, the record written at close. */
static void test_gap_in_client_hello(void **state)
{
	char *tls;

	(void)state;
	cap_load("https_tls12.pcap", 443);
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, cap.data[0], 100, 0);
	mt_app_gap(&at.apps, &at.flow, MT_DIR_C2S, 50, at.now);
	at_feed(MT_DIR_C2S, cap.data[0] + 150, cap.seg[0].len - 150, 0);
	at_feed(MT_DIR_S2C, cap.data[1], cap.len[1], 0);
	tls = line_of(at_close(), "tls");
	assert_non_null(tls);
	assert_non_null(strstr(tls, "\"tls\":{\"version\":\"TLS 1.2\",\"subject\":"));
	assert_null(strstr(tls, "ja3\":"));
	assert_non_null(strstr(tls, "\"ja3s\":{\"hash\":\"6aea764ee67f71caf3dc723118906199\""));
	assert_int_equal(anomalies(), 0);
	free(tls);
	at_free();
}

/* A hole on the server side before its hello: the client's part alone. */
static void test_gap_before_server_hello(void **state)
{
	char *tls;

	(void)state;
	cap_load("https_tls12.pcap", 443);
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, cap.data[0], cap.seg[0].len, 0);
	mt_app_gap(&at.apps, &at.flow, MT_DIR_S2C, 1000, at.now);
	at_feed(MT_DIR_S2C, cap.data[1] + 1000, cap.len[1] - 1000, 0);
	tls = line_of(at_close(), "tls");
	assert_non_null(tls);
	assert_non_null(strstr(tls, "\"tls\":{\"sni\":\"mail.example.test\",\"ja3\":{\"hash\":"
				    "\"87b9bfc7da97115ed2276737b09f8d74\""));
	assert_null(strstr(tls, "ja3s"));
	assert_null(strstr(tls, "cipher_suite"));
	assert_int_equal(anomalies(), 0);
	free(tls);
	at_free();
}

/* After an accepted STARTTLS the client goes on in clear: the
 * STARTTLS-stripping signal, with the bytes as evidence. */
static void test_starttls_cleartext(void **state)
{
	char *line;

	(void)state;
	open_after_stls(110);
	at_c2s("USER alice\r\n");
	line = line_of(at_close(), "anomaly");
	assert_non_null(line);
	assert_string_equal(
		line,
		HEAD("000004", "anomaly", 110, "pop3")
		",\"anomaly\":{\"type\":\"applayer\",\"event\":\"app_starttls_cleartext\","
		"\"direction\":\"toserver\",\"evidence\":\"USER alice\\r\\n\"}}\n");
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_app_starttls_cleartext], 1);
	assert_int_equal(anomalies(), 1);
	assert_null(strstr(at.out.p, "\"event_type\":\"tls\""));
	free(line);
	at_free();
}

/* Plain HTTP on the TLS port, and a record longer than 2^14 + 2048. */
static void test_bad_record(void **state)
{
	static const uint8_t big[] = { 0x16, 0x03, 0x01, 0x48, 0x01 };
	const char *out;

	(void)state;
	at_open(MT_APP_TLS, 443);
	at_c2s("GET / HTTP/1.1\r\n");
	at_feed(MT_DIR_S2C, big, sizeof(big), 0);
	out = at_close();
	assert_string_equal(
		out,
		HEAD("000001", "anomaly", 443, "tls")
		",\"anomaly\":{\"type\":\"applayer\",\"event\":\"tls_bad_record\","
		"\"direction\":\"toserver\",\"evidence\":\"GET / HTTP/1.1\\r\\n\"}}\n");
	/* Counted twice, written once per flow. */
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_bad_record], 2);
	at_free();
}

/* Picked up mid-stream: the first bytes are inside some record; silence. */
static void test_midstream_quiet(void **state)
{
	static uint8_t junk[3000];

	(void)state;
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 5);
	at_open(MT_APP_TLS, 443);
	at.flow.midstream = 1;
	at_feed(MT_DIR_C2S, junk, sizeof(junk), 0);
	at_feed(MT_DIR_S2C, junk, sizeof(junk), 0);
	assert_string_equal(at_close(), "");
	at_free();
}

/* The server answers before the ClientHello is whole. */
static void test_interleaved(void **state)
{
	(void)state;
	cap_load("https_tls12.pcap", 443);
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, cap.data[0], 100, 0);
	at_feed(MT_DIR_S2C, cap.data[1], cap.len[1], 0);
	at_feed(MT_DIR_C2S, cap.data[0] + 100, cap.len[0] - 100, 0);
	(void)at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_interleaved_handshake], 1);
	assert_non_null(strstr(at.out.p, "\"ja3\":{\"hash\":\"87b9bfc7da97115ed2276737b09f8d74\""));
	at_free();
}

/* 130 extensions: past MT_TLS_EXT_MAX no fingerprint, the rest is kept. */
static void test_too_many_extensions(void **state)
{
	static struct hb ext, ch, rc;
	const char *out;

	(void)state;
	ext_sni(&ext, "many.example.test");
	for (unsigned i = 0; i < 130; i++)
		ext_raw(&ext, (uint16_t)(0x1000 + i), NULL, 0);
	client_hello(&ch, some_ciphers, MT_ARRAY_SIZE(some_ciphers), &ext);
	frame(&rc, 22, ch.b, ch.n, 16384);
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, rc.b, rc.n, 0);
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_too_many_extensions], 1);
	assert_non_null(strstr(out, "\"tls\":{\"sni\":\"many.example.test\",\"client_ciphers\""));
	assert_null(strstr(out, "ja3"));
	assert_null(strstr(out, "ja4"));
	at_free();
}

/* An extension longer than its block, and a SNI list that overruns. */
static void test_bad_extension(void **state)
{
	static struct hb ext, ch, rc;
	static const uint8_t bad_sni[] = { 0x00, 0x09, 0x00, 0x00, 0x10, 'a' };
	const char *out;

	(void)state;
	ext_raw(&ext, 0x0000, bad_sni, sizeof(bad_sni));
	ext_raw(&ext, 0x0017, NULL, 0);
	hb_u16(&ext, 0x0023); /* session_ticket claiming 9 bytes, 2 there */
	hb_u16(&ext, 9);
	hb_u16(&ext, 0);
	client_hello(&ch, some_ciphers, MT_ARRAY_SIZE(some_ciphers), &ext);
	frame(&rc, 22, ch.b, ch.n, 16384);
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, rc.b, rc.n, 0);
	out = at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_bad_extension], 2);
	/* The extensions before the bad one are fingerprinted. */
	assert_non_null(strstr(out, "\"string\":\"771,49199-49200-158,0-23,,\""));
	at_free();
}

/* A ClientHello cut short, and an alert between the fragments of a
 * handshake message. */
static void test_bad_handshake(void **state)
{
	static const uint8_t short_ch[] = { 0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00,
					    0x04, 0x03, 0x03, 0x11, 0x11 };
	static const uint8_t frag[] = { 0x16, 0x03, 0x03, 0x00, 0x06, 0x02, 0x00, 0x00,
					0x46, 0x03, 0x03 };
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };

	(void)state;
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, short_ch, sizeof(short_ch), 0);
	at_feed(MT_DIR_S2C, frag, sizeof(frag), 0);
	at_feed(MT_DIR_S2C, alert, sizeof(alert), 0);
	(void)at_close();
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_bad_handshake], 2);
	at_free();
}

/* A certificate mbedTLS refuses: anomaly, the fingerprint of the bytes
 * sent (hashlib over the DER with its first byte changed), no subject. */
static void test_bad_certificate(void **state)
{
	static uint8_t s[CAP_BYTES];
	uint8_t *der = NULL;
	char *tls;

	(void)state;
	cap_load("https_tls12.pcap", 443);
	memcpy(s, cap.data[1], cap.len[1]);
	/* The Certificate message: type 11, lengths, then the DER. */
	for (uint32_t i = 0; i + 12 < cap.len[1]; i++)
		if (s[i] == 11 && s[i + 10] == 0x30 && s[i + 11] == 0x82) {
			der = s + i + 10;
			break;
		}
	assert_non_null(der);
	der[0] = 0x31;
	at_open(MT_APP_TLS, 443);
	at_feed(MT_DIR_C2S, cap.data[0], cap.len[0], 0);
	at_feed(MT_DIR_S2C, s, cap.len[1], 0);
	tls = line_of(at_close(), "tls");
	assert_int_equal(at.ctr.v[MT_CTR_anomaly_tls_bad_certificate], 1);
	assert_non_null(strstr(tls, "\"tls\":{\"version\":\"TLS 1.2\",\"sni\":\"mail.example.test\","
				    "\"fingerprint_sha256\":\"1d8c60cdeea171af7192712a3bac4052dfa207de"
				    "70a3fc801f2341c0f61d1ac2\",\"ja3\""));
	free(tls);
	at_free();
}

/* Once the record is out, megabytes of anything cost nothing and say
 * nothing. */
static void test_encrypted_skipped(void **state)
{
	static uint8_t junk[65536];
	uint64_t before;

	(void)state;
	memset(junk, 0xee, sizeof(junk));
	cap_load("https_tls12.pcap", 443);
	at_open(MT_APP_TLS, 443);
	cap_replay(0);
	before = at.ctr.v[MT_CTR_output_records];
	assert_int_equal(before, 1); /* written before close */
	for (int i = 0; i < 32; i++) {
		at_feed(MT_DIR_C2S, junk, sizeof(junk), 0);
		at_feed(MT_DIR_S2C, junk, sizeof(junk), 0);
	}
	assert_string_equal(at_close(), expect_https);
	assert_int_equal(anomalies(), 0);
	at_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ja4_spec_example),
		cmocka_unit_test(test_ja4_edges),
		cmocka_unit_test(test_ja3_format),
		cmocka_unit_test(test_cert_garbage),
		cmocka_unit_test(test_https_tls12),
		cmocka_unit_test(test_probe_client_hello),
		cmocka_unit_test(test_imaps_tls13),
		cmocka_unit_test(test_pop3s_fragmented),
		cmocka_unit_test(test_grease),
		cmocka_unit_test(test_hello_retry_request),
		cmocka_unit_test(test_starttls_real),
		cmocka_unit_test(test_split_every_offset),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_reframed),
		cmocka_unit_test(test_handshake_too_large),
		cmocka_unit_test(test_certificate_too_large),
		cmocka_unit_test(test_no_extensions),
		cmocka_unit_test(test_no_certificate),
		cmocka_unit_test(test_gap_in_client_hello),
		cmocka_unit_test(test_gap_before_server_hello),
		cmocka_unit_test(test_starttls_cleartext),
		cmocka_unit_test(test_bad_record),
		cmocka_unit_test(test_midstream_quiet),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_too_many_extensions),
		cmocka_unit_test(test_bad_extension),
		cmocka_unit_test(test_bad_handshake),
		cmocka_unit_test(test_bad_certificate),
		cmocka_unit_test(test_encrypted_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
