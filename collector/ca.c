/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The lab CA (see ca.h). `init` writes DIR/ca.key and DIR/ca.crt; `issue`
 * writes DIR/NAME.key and DIR/NAME.crt signed by them. Names are checked
 * before they reach a file name or a distinguished name, files are
 * created exclusively, and key material lives in buffers wiped on every
 * way out.
 */
#include "ca.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "mt_common.h"

#define CA_NAME_MAX 64
#define CA_SAN_MAX 8
#define CA_DAYS_DEFAULT 3650        /* the CA: ten years */
#define LEAF_DAYS_DEFAULT 730       /* what it issues: two years */
#define CA_DAYS_MAX 36500
#define PEM_MAX 4096
#define DN_MAX 512
#define SKEW_S 3600                 /* valid from an hour ago: clock skew */

enum role { ROLE_CA, ROLE_APPLIANCE, ROLE_COLLECTOR };

struct ca_args {
	const char *dir;
	const char *name;
	const char *san[CA_SAN_MAX];
	unsigned nsan;
	long days;
	enum role role;
};

struct rng {
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ca init  --dir DIR [--cn NAME] [--days N]\n"
		"       ca issue --dir DIR --appliance NAME [--days N]\n"
		"       ca issue --dir DIR --collector NAME [--san DNSNAME]... [--days N]\n"
		"\n"
		"init writes DIR/ca.key and DIR/ca.crt (ECDSA P-256, self-signed, %d days);\n"
		"issue writes DIR/NAME.key and DIR/NAME.crt signed by them (%d days): an\n"
		"appliance certificate for TLS clients (CN=NAME), or a collector certificate\n"
		"for TLS servers (CN=NAME, subjectAltName DNS NAME and every --san).\n"
		"Keys are written 0600; existing files are never overwritten.\n",
		CA_DAYS_DEFAULT, LEAF_DAYS_DEFAULT);
}

static int fail_tls(const char *what, const char *path, int rc)
{
	char m[200];

	mbedtls_strerror(rc, m, sizeof(m));
	fprintf(stderr, "ca: %s%s%s: %s\n", what, path ? " " : "", path ? path : "", m);
	return 1;
}

/* A name that becomes a file name and a CN: letters, digits, `.', `_',
 * `-' (and spaces for the CA's CN), not starting with a dot or dash. */
static bool name_ok(const char *s, bool spaces, const char *what)
{
	size_t n = strlen(s);

	if (n == 0 || n > CA_NAME_MAX || s[0] == '.' || s[0] == '-') {
		fprintf(stderr, "ca: %s `%s' must be 1-%d characters, not starting with "
			"`.' or `-'\n", what, s, CA_NAME_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		      (spaces && c == ' '))) {
			fprintf(stderr, "ca: %s `%s' has `%c': use letters, digits, `.', `_' "
				"and `-'%s\n", what, s, c, spaces ? " and spaces" : "");
			return false;
		}
	}
	return true;
}

/* A DNS name for subjectAltName: labels of letters, digits and `-'. */
static bool dns_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..")) {
		fprintf(stderr, "ca: --san `%s' is not a DNS name\n", s);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-')) {
			fprintf(stderr, "ca: --san `%s' has `%c': a DNS name is letters, digits, "
				"`.' and `-' (mbedTLS checks DNS names only, not addresses)\n",
				s, c);
			return false;
		}
	}
	return true;
}

static int rng_init(struct rng *r)
{
	static const char pers[] = "mailtap-ca";
	int rc;

	mbedtls_entropy_init(&r->ent);
	mbedtls_ctr_drbg_init(&r->drbg);
	rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->ent,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	return rc ? fail_tls("random generator", NULL, rc) : 0;
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->ent);
}

static void path_of(char *out, size_t n, const char *dir, const char *base, const char *ext)
{
	snprintf(out, n, "%s/%s.%s", dir, base, ext);
}

/* Writes `len` bytes to a new file; never replaces one. */
static int write_new(const char *path, const unsigned char *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t off = 0;

	if (fd < 0) {
		fprintf(stderr, "ca: %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (refusing to overwrite it)" : "");
		return 1;
	}
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "ca: %s: %s\n", path, strerror(errno));
			close(fd);
			unlink(path);
			return 1;
		}
		off += (size_t)w;
	}
	/* The umask may have taken bits, never added them: still 0600. */
	if (fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "ca: %s: %s\n", path, strerror(errno));
		unlink(path);
		return 1;
	}
	return 0;
}

static int gen_key(mbedtls_pk_context *key, struct rng *r)
{
	int rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));

	if (rc == 0)
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
					 mbedtls_ctr_drbg_random, &r->drbg);
	return rc ? fail_tls("key generation", NULL, rc) : 0;
}

/* "YYYYMMDDhhmmss" (UTC), what mbedtls_x509write_crt_set_validity takes. */
static void x509_time(char out[16], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

static time_t from_x509(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
			 .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec };

	return timegm(&tm);
}

/* The certificate's subject as the string mbedtls_x509write takes, in the
 * certificate's order, so an issuer name matches its CA byte for byte. */
static int dn_string(const mbedtls_x509_name *n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (; n; n = n->next) {
		const char *sn;

		if (!n->oid.p)
			continue;
		if (mbedtls_oid_get_attr_short_name(&n->oid, &sn) != 0) {
			fprintf(stderr, "ca: the CA's subject has an attribute mbedTLS "
				"cannot name\n");
			return 1;
		}
		o += (size_t)snprintf(out + o, len - MT_MIN(o, len), "%s%s=", o ? "," : "", sn);
		for (size_t i = 0; i < n->val.len && o + 3 < len; i++) {
			char c = (char)n->val.p[i];

			if (c == ',' || c == '=' || c == '\\')
				out[o++] = '\\';
			out[o++] = c;
		}
		if (o + 2 >= len) {
			fprintf(stderr, "ca: the CA's subject is too long\n");
			return 1;
		}
		out[o] = '\0';
	}
	return 0;
}

/* extKeyUsage: SEQUENCE { OID } */
static int set_eku(mbedtls_x509write_cert *crt, enum role role)
{
	unsigned char buf[64], *p = buf + sizeof(buf);
	const char *oid = role == ROLE_COLLECTOR ? MBEDTLS_OID_SERVER_AUTH :
						   MBEDTLS_OID_CLIENT_AUTH;
	size_t oidlen = role == ROLE_COLLECTOR ? MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH) :
						 MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH);
	int len = 0, rc;

	rc = mbedtls_asn1_write_oid(&p, buf, oid, oidlen);
	if (rc < 0)
		return rc;
	len += rc;
	rc = mbedtls_asn1_write_len(&p, buf, (size_t)len);
	if (rc < 0)
		return rc;
	len += rc;
	rc = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	if (rc < 0)
		return rc;
	len += rc;
	return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
						   MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
						   0, p, (size_t)len);
}

/* subjectAltName: SEQUENCE { [2] dNSName ... } */
static int set_san(mbedtls_x509write_cert *crt, const char *const *names, unsigned n)
{
	unsigned char buf[CA_SAN_MAX * 260 + 16], *p = buf + sizeof(buf);
	int len = 0, rc;

	for (unsigned i = n; i-- > 0;) {
		size_t l = strlen(names[i]);

		rc = mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)names[i], l);
		if (rc < 0)
			return rc;
		len += rc;
		rc = mbedtls_asn1_write_len(&p, buf, l);
		if (rc < 0)
			return rc;
		len += rc;
		rc = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
		if (rc < 0)
			return rc;
		len += rc;
	}
	rc = mbedtls_asn1_write_len(&p, buf, (size_t)len);
	if (rc < 0)
		return rc;
	len += rc;
	rc = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	if (rc < 0)
		return rc;
	len += rc;
	return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
						   MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
						   0, p, (size_t)len);
}

static int set_serial(mbedtls_x509write_cert *crt, struct rng *r)
{
	unsigned char b[16];
	int rc;

	/* Random, positive, never zero: no serial file to keep. */
	rc = mbedtls_ctr_drbg_random(&r->drbg, b, sizeof(b));
	if (rc)
		return rc;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
	rc = mbedtls_x509write_crt_set_serial_raw(crt, b, sizeof(b));
#else
	{
		mbedtls_mpi s;

		mbedtls_mpi_init(&s);
		rc = mbedtls_mpi_read_binary(&s, b, sizeof(b));
		if (rc == 0)
			rc = mbedtls_x509write_crt_set_serial(crt, &s);
		mbedtls_mpi_free(&s);
	}
#endif
	return rc;
}

/*
 * Writes key and certificate: `key` is the new key pair, signed by
 * `issuer_key` under `issuer_dn` (the same key and name for the CA).
 */
static int make_cert(const struct ca_args *a, struct rng *r, mbedtls_pk_context *key,
		     mbedtls_pk_context *issuer_key, const char *issuer_dn, time_t not_after,
		     const char *key_path, const char *crt_path)
{
	mbedtls_x509write_cert crt;
	unsigned char pem[PEM_MAX];
	char subject[DN_MAX], nb[16], na[16];
	time_t now = time(NULL);
	int rc, ret = 1;

	snprintf(subject, sizeof(subject), "CN=%s,O=mailtap", a->name);
	x509_time(nb, now - SKEW_S);
	x509_time(na, not_after);
	mbedtls_x509write_crt_init(&crt);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, key);
	mbedtls_x509write_crt_set_issuer_key(&crt, issuer_key);
	rc = mbedtls_x509write_crt_set_subject_name(&crt, subject);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_issuer_name(&crt, issuer_dn ? issuer_dn : subject);
	if (rc == 0)
		rc = set_serial(&crt, r);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_validity(&crt, nb, na);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_basic_constraints(&crt, a->role == ROLE_CA,
								  a->role == ROLE_CA ? 0 : -1);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_key_usage(
			&crt, a->role == ROLE_CA ?
				      MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN :
				      MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt);
	if (rc == 0 && a->role != ROLE_CA)
		rc = set_eku(&crt, a->role);
	if (rc == 0 && a->role == ROLE_COLLECTOR) {
		const char *names[CA_SAN_MAX + 1];
		unsigned n = 0;

		/* The collector's own name first, then every --san. */
		names[n++] = a->name;
		for (unsigned i = 0; i < a->nsan; i++)
			if (strcmp(a->san[i], a->name) != 0)
				names[n++] = a->san[i];
		rc = set_san(&crt, names, n);
	}
	if (rc) {
		fail_tls("certificate", crt_path, rc);
		goto out;
	}
	rc = mbedtls_pk_write_key_pem(key, pem, sizeof(pem));
	if (rc) {
		fail_tls("private key", key_path, rc);
		goto out;
	}
	if (write_new(key_path, pem, strlen((char *)pem), 0600))
		goto out;
	mbedtls_platform_zeroize(pem, sizeof(pem));
	rc = mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem), mbedtls_ctr_drbg_random, &r->drbg);
	if (rc) {
		fail_tls("certificate", crt_path, rc);
		unlink(key_path);
		goto out;
	}
	if (write_new(crt_path, pem, strlen((char *)pem), 0644)) {
		unlink(key_path);
		goto out;
	}
	printf("ca: wrote %s (ECDSA P-256 private key, mode 0600) and %s (%s, valid until "
	       "%.4s-%.2s-%.2s)\n", key_path, crt_path, subject, na, na + 4, na + 6);
	ret = 0;
out:
	mbedtls_platform_zeroize(pem, sizeof(pem));
	mbedtls_x509write_crt_free(&crt);
	return ret;
}

/* Neither file may exist yet: checked before any key is made. */
static bool both_new(const char *key_path, const char *crt_path)
{
	struct stat st;

	if (stat(key_path, &st) == 0 || stat(crt_path, &st) == 0) {
		fprintf(stderr, "ca: %s exists: refusing to overwrite it\n",
			stat(key_path, &st) == 0 ? key_path : crt_path);
		return false;
	}
	return true;
}

static int cmd_init(const struct ca_args *a)
{
	char key_path[1024], crt_path[1024];
	mbedtls_pk_context key;
	struct rng r;
	int ret;

	if (mkdir(a->dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ca: cannot create %s: %s\n", a->dir, strerror(errno));
		return 1;
	}
	path_of(key_path, sizeof(key_path), a->dir, "ca", "key");
	path_of(crt_path, sizeof(crt_path), a->dir, "ca", "crt");
	if (!both_new(key_path, crt_path))
		return 1;
	if (rng_init(&r))
		return 1;
	mbedtls_pk_init(&key);
	ret = gen_key(&key, &r);
	if (ret == 0)
		ret = make_cert(a, &r, &key, &key, NULL, time(NULL) + (time_t)a->days * 86400,
				key_path, crt_path);
	mbedtls_pk_free(&key); /* zeroises */
	rng_free(&r);
	return ret;
}

static int cmd_issue(const struct ca_args *a)
{
	char key_path[1024], crt_path[1024], ca_key[1024], ca_crt[1024], issuer[DN_MAX];
	mbedtls_pk_context key, cakey;
	mbedtls_x509_crt cacrt;
	struct rng r;
	time_t not_after, ca_end;
	int rc, ret = 1;

	path_of(ca_key, sizeof(ca_key), a->dir, "ca", "key");
	path_of(ca_crt, sizeof(ca_crt), a->dir, "ca", "crt");
	path_of(key_path, sizeof(key_path), a->dir, a->name, "key");
	path_of(crt_path, sizeof(crt_path), a->dir, a->name, "crt");
	if (strcmp(a->name, "ca") == 0) {
		fprintf(stderr, "ca: `ca' is the CA's own name in %s\n", a->dir);
		return 1;
	}
	if (!both_new(key_path, crt_path))
		return 1;
	if (rng_init(&r))
		return 1;
	mbedtls_pk_init(&key);
	mbedtls_pk_init(&cakey);
	mbedtls_x509_crt_init(&cacrt);
	rc = mbedtls_x509_crt_parse_file(&cacrt, ca_crt);
	if (rc) {
		fail_tls("CA certificate", ca_crt, rc);
		goto out;
	}
	/* parse_keyfile reads into a buffer it wipes before freeing. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	rc = mbedtls_pk_parse_keyfile(&cakey, ca_key, NULL, mbedtls_ctr_drbg_random, &r.drbg);
#else
	rc = mbedtls_pk_parse_keyfile(&cakey, ca_key, NULL);
#endif
	if (rc) {
		fail_tls("CA key", ca_key, rc);
		goto out;
	}
	if (mbedtls_pk_check_pair(&cacrt.pk, &cakey
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
				  , mbedtls_ctr_drbg_random, &r.drbg
#endif
				  ) != 0) {
		fprintf(stderr, "ca: %s is not the key of %s\n", ca_key, ca_crt);
		goto out;
	}
	if (dn_string(&cacrt.subject, issuer, sizeof(issuer)))
		goto out;
	/* A certificate outliving its CA would be refused anyway. */
	not_after = time(NULL) + (time_t)a->days * 86400;
	ca_end = from_x509(&cacrt.valid_to);
	if (not_after > ca_end)
		not_after = ca_end;
	if (gen_key(&key, &r))
		goto out;
	ret = make_cert(a, &r, &key, &cakey, issuer, not_after, key_path, crt_path);
out:
	mbedtls_pk_free(&key);
	mbedtls_pk_free(&cakey);
	mbedtls_x509_crt_free(&cacrt);
	rng_free(&r);
	return ret;
}

int mt_ca_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "cn", required_argument, NULL, 'n' },
		{ "appliance", required_argument, NULL, 'a' },
		{ "collector", required_argument, NULL, 'c' },
		{ "san", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ca_args a = { .days = 0 };
	const char *sub;
	bool init;
	int c;

	if (argc < 2 || (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "issue") != 0)) {
		if (argc >= 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	sub = argv[1];
	init = strcmp(sub, "init") == 0;
	a.role = init ? ROLE_CA : ROLE_APPLIANCE;
	optind = 0; /* glibc: start afresh, whatever parsed before */
	while ((c = getopt_long(argc - 1, argv + 1, "", lo, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'd':
			a.dir = optarg;
			break;
		case 'n':
			if (!init)
				goto bad;
			a.name = optarg;
			break;
		case 'a':
		case 'c':
			if (init || a.name) {
				fprintf(stderr, "ca: issue takes one --appliance or --collector\n");
				return 2;
			}
			a.name = optarg;
			a.role = c == 'a' ? ROLE_APPLIANCE : ROLE_COLLECTOR;
			break;
		case 's':
			if (a.nsan == CA_SAN_MAX) {
				fprintf(stderr, "ca: at most %d --san\n", CA_SAN_MAX);
				return 2;
			}
			if (!dns_ok(optarg))
				return 2;
			a.san[a.nsan++] = optarg;
			break;
		case 'D':
			a.days = strtol(optarg, &end, 10);
			if (*end || a.days < 1 || a.days > CA_DAYS_MAX) {
				fprintf(stderr, "ca: --days `%s' is not a number of days 1-%d\n",
					optarg, CA_DAYS_MAX);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc - 1 || !a.dir) {
		fprintf(stderr, "ca: %s needs --dir DIR%s\n", sub,
			optind != argc - 1 ? " and no other arguments" : "");
		return 2;
	}
	if (a.nsan && a.role != ROLE_COLLECTOR) {
		fprintf(stderr, "ca: --san is for --collector certificates\n");
		return 2;
	}
	if (init) {
		if (!a.name)
			a.name = "mailtap lab CA";
		if (!name_ok(a.name, true, "--cn"))
			return 2;
		if (!a.days)
			a.days = CA_DAYS_DEFAULT;
		return cmd_init(&a);
	}
	if (!a.name) {
		fprintf(stderr, "ca: issue needs --appliance NAME or --collector NAME\n");
		return 2;
	}
	if (!name_ok(a.name, false, a.role == ROLE_COLLECTOR ? "--collector" : "--appliance"))
		return 2;
	if (a.role == ROLE_COLLECTOR && !dns_ok(a.name))
		return 2;
	if (!a.days)
		a.days = LEAF_DAYS_DEFAULT;
	return cmd_issue(&a);
bad:
	usage(stderr);
	return 2;
}
