/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SASL user extraction (see sasl.h). Each mechanism puts the user name in
 * a known place of a known client message; everything else is skipped.
 */
#include "sasl.h"

#include "b64.h"

void mt_sasl_start(struct mt_sasl *s, const uint8_t *mech, size_t len)
{
	memset(s, 0, sizeof(*s));
	len = MT_MIN(len, (size_t)MT_SASL_MECH_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = mech[i];

		s->mech_name[i] = (char)mt_ascii_upper(c);
	}
	s->mech_len = (uint16_t)len;
	if (mt_eq_ci(mech, len, "PLAIN"))
		s->mech = MT_SASL_PLAIN;
	else if (mt_eq_ci(mech, len, "LOGIN"))
		s->mech = MT_SASL_LOGIN;
	else if (mt_eq_ci(mech, len, "CRAM-MD5"))
		s->mech = MT_SASL_CRAM_MD5;
	else if (mt_eq_ci(mech, len, "XOAUTH2"))
		s->mech = MT_SASL_XOAUTH2;
	else if (mt_eq_ci(mech, len, "OAUTHBEARER"))
		s->mech = MT_SASL_OAUTHBEARER;
	else if (len > 6 && mt_eq_ci(mech, 6, "SCRAM-"))
		s->mech = MT_SASL_SCRAM;
	else if (mt_eq_ci(mech, len, "DIGEST-MD5"))
		s->mech = MT_SASL_DIGEST_MD5;
	else
		s->mech = MT_SASL_OTHER;
}

static void set_user(struct mt_sasl *s, const uint8_t *p, size_t n)
{
	n = MT_MIN(n, (size_t)MT_SASL_USER_MAX);
	memcpy(s->user, p, n);
	s->user_len = (uint16_t)n;
}

/* Value of `key` in a comma-separated list ("n,,n=user,r=..."). */
static bool find_attr(const uint8_t *p, size_t n, const char *key,
		      const uint8_t **v, size_t *vlen)
{
	size_t kl = strlen(key), i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && p[j] != ',' && p[j] != 0x01)
			j++;
		if (j - i > kl && memcmp(p + i, key, kl) == 0) {
			*v = p + i + kl;
			*vlen = j - i - kl;
			return true;
		}
		i = j + 1;
	}
	return false;
}

bool mt_sasl_client(struct mt_sasl *s, const uint8_t *b64, size_t len)
{
	uint8_t dec[1024];
	const uint8_t *v;
	size_t vl;
	long n;

	if (len == 1 && b64[0] == '*') {
		s->cancelled = 1;
		return true;
	}
	s->client_msgs++;
	/* "=" alone is an empty initial response (RFC 4954). */
	if (len == 1 && b64[0] == '=')
		return true;
	n = mt_b64_decode(b64, len, dec, sizeof(dec));
	if (n < 0) {
		/* Longer than our buffer is not bad base64: only the start
		 * matters, decode that. */
		if (len > (sizeof(dec) / 3) * 4)
			n = mt_b64_decode(b64, (sizeof(dec) / 3) * 4, dec, sizeof(dec));
		if (n < 0) {
			s->bad = 1;
			return false;
		}
	}
	switch (s->mech) {
	case MT_SASL_PLAIN: {
		/* [authzid] NUL authcid NUL passwd */
		const uint8_t *z1 = memchr(dec, 0, (size_t)n), *z2;

		if (!z1)
			break;
		z2 = memchr(z1 + 1, 0, (size_t)(dec + n - z1 - 1));
		if (z2)
			set_user(s, z1 + 1, (size_t)(z2 - z1 - 1));
		break;
	}
	case MT_SASL_LOGIN:
		if (s->client_msgs == 1 && s->user_len == 0)
			set_user(s, dec, (size_t)n);
		break;
	case MT_SASL_CRAM_MD5: {
		const uint8_t *sp = memchr(dec, ' ', (size_t)n);

		set_user(s, dec, sp ? (size_t)(sp - dec) : (size_t)n);
		break;
	}
	case MT_SASL_XOAUTH2:
		if ((size_t)n > 5 && memcmp(dec, "user=", 5) == 0) {
			const uint8_t *e = memchr(dec, 0x01, (size_t)n);

			set_user(s, dec + 5, (size_t)((e ? e : dec + n) - dec - 5));
		}
		break;
	case MT_SASL_OAUTHBEARER:
		if (find_attr(dec, (size_t)n, "a=", &v, &vl))
			set_user(s, v, vl);
		break;
	case MT_SASL_SCRAM:
		if (s->client_msgs == 1 && find_attr(dec, (size_t)n, "n=", &v, &vl))
			set_user(s, v, vl);
		break;
	case MT_SASL_DIGEST_MD5:
		if (find_attr(dec, (size_t)n, "username=\"", &v, &vl) && vl &&
		    v[vl - 1] == '"')
			set_user(s, v, vl - 1);
		break;
	default:
		break;
	}
	/* Passwords and tokens passed through here. */
	explicit_bzero(dec, sizeof(dec));
	return true;
}
