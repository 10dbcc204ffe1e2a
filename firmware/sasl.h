/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SASL client-side decoding shared by the SMTP, IMAP and POP3 analyzers:
 * which mechanism, and the user name where the mechanism carries one
 * (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, SCRAM-*, DIGEST-MD5).
 * Passwords and tokens are decoded only as far as needed to skip them and
 * are never kept.
 */
#ifndef MT_SASL_H
#define MT_SASL_H

#include "mt_common.h"

#define MT_SASL_USER_MAX 256
#define MT_SASL_MECH_MAX 32

enum mt_sasl_mech {
	MT_SASL_OTHER = 0,
	MT_SASL_PLAIN,
	MT_SASL_LOGIN,
	MT_SASL_CRAM_MD5,
	MT_SASL_XOAUTH2,
	MT_SASL_OAUTHBEARER,
	MT_SASL_SCRAM,
	MT_SASL_DIGEST_MD5,
};

struct mt_sasl {
	uint8_t mech;           /* enum mt_sasl_mech */
	uint8_t client_msgs;    /* client messages seen */
	uint8_t cancelled;      /* client sent "*" */
	uint8_t bad;            /* a client message was not valid base64 */
	uint16_t user_len;
	uint16_t mech_len;
	char mech_name[MT_SASL_MECH_MAX];
	char user[MT_SASL_USER_MAX];
};

/* A new exchange for mechanism `mech` (as the client named it). */
void mt_sasl_start(struct mt_sasl *s, const uint8_t *mech, size_t len);

/*
 * One client message (base64, as on the wire: an initial response or a
 * line sent after a server challenge). Returns false when it is not valid
 * base64 (s->bad is set); "*" cancels the exchange.
 */
bool mt_sasl_client(struct mt_sasl *s, const uint8_t *b64, size_t len);

#endif
