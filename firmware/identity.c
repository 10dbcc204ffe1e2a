/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * User-name transform (see identity.h). The fields it touches are listed in
 * one table below; a record type that gains a user-name field adds a row
 * there and every output follows.
 */
#include "identity.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

/* Every field that carries a user name. */
static const struct {
	uint16_t type;         /* enum mt_rtype */
	uint32_t offset;       /* struct mt_sref within struct mt_rec */
} user_fields[] = {
	{ MT_REC_auth, offsetof(struct mt_rec, b.auth.user) },
	{ MT_REC_smtp, offsetof(struct mt_rec, b.smtp.auth_user) },
	{ MT_REC_imap, offsetof(struct mt_rec, b.imap.auth_user) },
	{ MT_REC_pop3, offsetof(struct mt_rec, b.pop3.auth_user) },
	{ MT_REC_alert, offsetof(struct mt_rec, b.alert.user) },
};

bool mt_identity_parse_mode(const char *s, enum mt_identity_mode *mode)
{
	if (strcmp(s, "clear") == 0)
		*mode = MT_IDENTITY_CLEAR;
	else if (strcmp(s, "hmac") == 0)
		*mode = MT_IDENTITY_HMAC;
	else if (strcmp(s, "none") == 0)
		*mode = MT_IDENTITY_NONE;
	else
		return false;
	return true;
}

int mt_identity_init_key(struct mt_identity *id, const uint8_t *key, size_t len,
			 char *err, size_t errlen)
{
	int rc;

	memset(id, 0, sizeof(*id));
	id->mode = MT_IDENTITY_HMAC;
	mbedtls_md_init(&id->md);
	rc = mbedtls_md_setup(&id->md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	if (rc == 0)
		rc = mbedtls_md_hmac_starts(&id->md, key, len);
	if (rc) {
		mbedtls_md_free(&id->md);
		snprintf(err, errlen, "cannot set up HMAC-SHA256 (mbedTLS error -0x%04x)",
			 (unsigned)-rc);
		return -EINVAL;
	}
	id->md_ready = true;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A file of nothing but an even number of hex digits (and one final
 * newline) is hex; anything else is the key itself. */
static size_t decode_key(uint8_t *buf, size_t n)
{
	size_t h = n;

	if (h && buf[h - 1] == '\n')
		h--;
	if (h && buf[h - 1] == '\r')
		h--;
	if (h == 0 || h % 2)
		return n;
	for (size_t i = 0; i < h; i++)
		if (hexval(buf[i]) < 0)
			return n;
	/* In place: output index i/2 never overtakes input index i. */
	for (size_t i = 0; i < h; i += 2)
		buf[i / 2] = (uint8_t)(hexval(buf[i]) << 4 | hexval(buf[i + 1]));
	mbedtls_platform_zeroize(buf + h / 2, n - h / 2);
	return h / 2;
}

static int load_key(struct mt_identity *id, const char *path, char *err, size_t errlen)
{
	uint8_t buf[MT_IDENTITY_KEY_FILE_MAX + 1];
	struct stat st;
	size_t n = 0, klen;
	int fd, rc = 0;

	if (!path || !path[0]) {
		snprintf(err, errlen, "[export] identity_key: needed for identity = hmac");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "[export] identity_key %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "[export] identity_key %s: not a regular file", path);
		return -EINVAL;
	}
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(err, errlen, "[export] identity_key %s: %s", path,
				 strerror(errno));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc == 0 && n > MT_IDENTITY_KEY_FILE_MAX) {
		snprintf(err, errlen, "[export] identity_key %s: larger than %u bytes",
			 path, MT_IDENTITY_KEY_FILE_MAX);
		rc = -EFBIG;
	}
	if (rc == 0) {
		klen = decode_key(buf, n);
		if (klen < MT_IDENTITY_KEY_MIN) {
			snprintf(err, errlen, "[export] identity_key %s: %zu bytes of key, "
				 "at least %u needed", path, klen, MT_IDENTITY_KEY_MIN);
			rc = -EINVAL;
		} else {
			rc = mt_identity_init_key(id, buf, klen, err, errlen);
		}
	}
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return rc;
}

int mt_identity_init(struct mt_identity *id, const char *mode, const char *key_path,
		     char *err, size_t errlen)
{
	enum mt_identity_mode m;

	memset(id, 0, sizeof(*id));
	if (!mt_identity_parse_mode(mode, &m)) {
		snprintf(err, errlen, "[export] identity: `%s' is neither clear, hmac nor none",
			 mode);
		return -EINVAL;
	}
	if (m == MT_IDENTITY_HMAC)
		return load_key(id, key_path, err, errlen);
	id->mode = m;
	return 0;
}

void mt_identity_free(struct mt_identity *id)
{
	if (id->md_ready)
		mbedtls_md_free(&id->md); /* zeroises the HMAC pads */
	id->md_ready = false;
}

int mt_identity_hmac_hex(struct mt_identity *id, const void *p, size_t len,
			 char out[MT_IDENTITY_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[32];
	int rc;

	if (!id->md_ready)
		return -EINVAL;
	rc = mbedtls_md_hmac_reset(&id->md);
	if (rc == 0)
		rc = mbedtls_md_hmac_update(&id->md, p, len);
	if (rc == 0)
		rc = mbedtls_md_hmac_finish(&id->md, mac);
	if (rc)
		return -EIO;
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[MT_IDENTITY_HEX_LEN] = '\0';
	return 0;
}

bool mt_identity_applies(const struct mt_identity *id, const struct mt_rec *r)
{
	if (!id || id->mode == MT_IDENTITY_CLEAR)
		return false;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(user_fields); i++) {
		struct mt_sref s;

		if (user_fields[i].type != r->type)
			continue;
		memcpy(&s, (const uint8_t *)r + user_fields[i].offset, sizeof(s));
		if (s.len)
			return true;
	}
	return false;
}

void mt_identity_apply(struct mt_identity *id, struct mt_rec *r)
{
	if (!id || id->mode == MT_IDENTITY_CLEAR)
		return;
	for (unsigned i = 0; i < MT_ARRAY_SIZE(user_fields); i++) {
		uint8_t *field = (uint8_t *)r + user_fields[i].offset;
		char h[MT_IDENTITY_HEX_LEN + 1];
		struct mt_sref s;
		bool have_hash;

		if (user_fields[i].type != r->type)
			continue;
		memcpy(&s, field, sizeof(s));
		if (s.len == 0)
			continue;
		if (s.off > r->arena_used || s.len > r->arena_used - s.off) {
			/* Not a valid reference: nothing to hash, nothing to show. */
			s.off = 0;
			s.len = 0;
			memcpy(field, &s, sizeof(s));
			continue;
		}
		have_hash = id->mode == MT_IDENTITY_HMAC &&
			    mt_identity_hmac_hex(id, r->arena + s.off, s.len, h) == 0;
		/* The clear name must not ride along in the arena. */
		mbedtls_platform_zeroize(r->arena + s.off, s.len);
		if (!have_hash) {
			if (id->mode == MT_IDENTITY_HMAC)
				r->flags |= MT_REC_F_TRUNCATED;
			s.len = 0;
		} else if (s.len >= MT_IDENTITY_HEX_LEN) {
			memcpy(r->arena + s.off, h, MT_IDENTITY_HEX_LEN);
			s.len = MT_IDENTITY_HEX_LEN;
		} else if (MT_REC_ARENA - r->arena_used >= MT_IDENTITY_HEX_LEN) {
			mt_rec_set_str(r, &s, h, MT_IDENTITY_HEX_LEN);
		} else {
			/* A cut hash would be a different user: leave it out. */
			r->flags |= MT_REC_F_TRUNCATED;
			s.len = 0;
		}
		if (s.len == 0)
			s.off = 0;
		memcpy(field, &s, sizeof(s));
	}
}
