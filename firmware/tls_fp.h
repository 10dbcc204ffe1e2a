/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS fingerprints as pure functions over the fields of a parsed hello:
 * JA3 and JA3S (Salesforce), JA4 (FoxIO, technical_details/JA4.md), and the
 * summary of a server certificate (subject, issuer, serial, validity,
 * SHA-256). The TLS analyzer parses the handshake; this module only turns
 * fields into strings, so each definition can be tested on its own.
 */
#ifndef MT_TLS_FP_H
#define MT_TLS_FP_H

#include "mt_common.h"

/* Extension types fingerprinted per hello; real hellos carry about 20 and
 * RFC 8446 forbids repeating a type, so more is hostile input: the caller
 * then leaves JA3/JA3S/JA4 empty (anomaly tls_too_many_extensions). */
#define MT_TLS_EXT_MAX 128

/* Longest JA3/JA3S string kept; the MD5 always covers the whole string. */
#define MT_TLS_JA3_MAX 1024

#define MT_TLS_JA4_LEN 36 /* "t13d1516h2_8daaf6152771_b186095e22b6" */

/*
 * The fields of a ClientHello that JA3 and JA4 read. Lists of 16-bit values
 * are views of the wire (big-endian, `n` values of 2 bytes) except `exts`,
 * which the parser collects in host order. GREASE values stay in: each
 * fingerprint drops them as its definition says.
 */
struct mt_tls_hello_fp {
	uint16_t version;             /* legacy_version */
	uint8_t *ciphers;             /* reordered by mt_tls_fp_client() */
	uint32_t nciphers;
	const uint16_t *exts;         /* extension types in wire order */
	uint32_t nexts;
	const uint8_t *groups;        /* supported_groups */
	uint32_t ngroups;
	const uint8_t *point_formats; /* ec_point_formats: one byte each */
	uint32_t npoint_formats;
	const uint8_t *sigalgs;       /* signature_algorithms */
	uint32_t nsigalgs;
	const uint8_t *versions;      /* supported_versions */
	uint32_t nversions;
	const uint8_t *alpn;          /* first ALPN protocol name */
	uint32_t alpn_len;
};

/* JA3 (or JA3S) text and its MD5 in lower-case hex. */
struct mt_tls_ja3 {
	char str[MT_TLS_JA3_MAX + 1];
	uint32_t len;
	bool truncated;               /* str is a prefix; hash is still right */
	char hash[33];
};

/* RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa. */
static inline bool mt_tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/*
 * JA3 and JA4 of a ClientHello. Sorts h->ciphers in place (after JA3 has
 * read them in wire order): the caller passes its own copy of the hello.
 * `ja4` receives MT_TLS_JA4_LEN characters and a NUL.
 */
void mt_tls_fp_client(struct mt_tls_hello_fp *h, struct mt_tls_ja3 *ja3,
		      char ja4[MT_TLS_JA4_LEN + 1]);

/* JA3S of a ServerHello: legacy version, chosen cipher, extension types. */
void mt_tls_fp_server(uint16_t version, uint16_t cipher, const uint16_t *exts,
		      uint32_t nexts, struct mt_tls_ja3 *ja3s);

/* What the record says about the server's certificate. */
#define MT_TLS_DN_MAX 512
#define MT_TLS_SERIAL_MAX 32 /* bytes shown; RFC 5280 allows 20 */

struct mt_tls_cert {
	char subject[MT_TLS_DN_MAX];
	char issuer[MT_TLS_DN_MAX];
	char serial[MT_TLS_SERIAL_MAX * 3];     /* "00:FF:01" */
	char notbefore[20];                     /* "2024-05-01T10:00:00" */
	char notafter[20];
	uint8_t sha256[32];
};

/*
 * Summarises a DER certificate. The SHA-256 is always filled; the rest
 * only when mbedTLS parses the certificate (returns 0), else the strings
 * are empty and a negative errno is returned. Control-path cost: mbedTLS
 * allocates while parsing, once per TLS 1.2 handshake, never per packet.
 */
int mt_tls_cert_summary(const uint8_t *der, size_t len, struct mt_tls_cert *out);

#endif
