/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TLS policy shared by the exporter (client) and the collector
 * (server), in one place: TLS 1.2 minimum, ECDHE with AES-GCM or
 * ChaCha20-Poly1305 only, certificates verified on both sides
 * (MBEDTLS_SSL_VERIFY_REQUIRED), private keys read into memory only as
 * long as parsing takes and wiped after.
 */
#ifndef MT_TLSCONF_H
#define MT_TLSCONF_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "mt_common.h"

struct mt_tls_ctx {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	bool ready;
};

/*
 * Loads CA, own certificate and key (PEM or DER files) and sets the policy.
 * `server` chooses the endpoint. Returns 0, or -1 with a message naming
 * the file and mbedTLS's reason in `err`.
 */
int mt_tls_ctx_init(struct mt_tls_ctx *t, bool server, const char *ca_path,
		    const char *cert_path, const char *key_path, char *err,
		    size_t errlen);
void mt_tls_ctx_free(struct mt_tls_ctx *t);

/* mbedTLS error text for a return code. */
void mt_tls_strerror(int rc, char *buf, size_t len);

/* Common name (CN) of a peer certificate into `out`; false when absent. */
bool mt_tls_peer_cn(const mbedtls_x509_crt *crt, char *out, size_t len);

#endif
