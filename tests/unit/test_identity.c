/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Identity transform tests: HMAC-SHA256 against RFC 4231's test vectors
 * (key in memory, key file as hex, key file as raw bytes), refusal of
 * short, missing and unreadable keys, and the effect on every user-name
 * field of every record type: hashed, emptied or left alone, with the
 * clear name gone from the record's arena.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "json.h"

/* RFC 4231 4.3 (test case 2), 4.7 (6) and 4.8 (7), HMAC-SHA-256 lines. */
static const char tc2_data[] = "what do ya want for nothing?";
static const char tc2_mac[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
static const char tc6_data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
static const char tc6_mac[] = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
static const char tc7_data[] =
	"This is a test using a larger than block-size key and a larger than "
	"block-size data. The key needs to be hashed before being used by the "
	"HMAC algorithm.";
static const char tc7_mac[] = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mt-identity.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const void *p, size_t n)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
	return path;
}

static void test_rfc4231_key_in_memory(void **state)
{
	struct mt_identity id;
	uint8_t key[131];
	char err[256], out[MT_IDENTITY_HEX_LEN + 1];

	(void)state;
	assert_int_equal(mt_identity_init_key(&id, (const uint8_t *)"Jefe", 4, err,
					      sizeof(err)), 0);
	assert_int_equal(mt_identity_hmac_hex(&id, tc2_data, strlen(tc2_data), out), 0);
	assert_string_equal(out, tc2_mac);
	/* The state is reused from one name to the next. */
	assert_int_equal(mt_identity_hmac_hex(&id, tc2_data, strlen(tc2_data), out), 0);
	assert_string_equal(out, tc2_mac);
	mt_identity_free(&id);

	memset(key, 0xaa, sizeof(key));
	assert_int_equal(mt_identity_init_key(&id, key, sizeof(key), err, sizeof(err)), 0);
	assert_int_equal(mt_identity_hmac_hex(&id, tc6_data, strlen(tc6_data), out), 0);
	assert_string_equal(out, tc6_mac);
	mt_identity_free(&id);
}

static void test_rfc4231_key_files(void **state)
{
	struct mt_identity id;
	char hex[2 * 131 + 2], err[256], out[MT_IDENTITY_HEX_LEN + 1];
	uint8_t raw[131];
	const char *path;

	(void)state;
	for (unsigned i = 0; i < 131; i++)
		memcpy(hex + 2 * i, i % 2 ? "AA" : "aa", 2); /* either case */
	hex[262] = '\n';
	path = write_file("key.hex", hex, 263);
	assert_int_equal(mt_identity_init(&id, "hmac", path, err, sizeof(err)), 0);
	assert_int_equal(id.mode, MT_IDENTITY_HMAC);
	assert_int_equal(mt_identity_hmac_hex(&id, tc7_data, strlen(tc7_data), out), 0);
	assert_string_equal(out, tc7_mac);
	mt_identity_free(&id);

	memset(raw, 0xaa, sizeof(raw));
	path = write_file("key.raw", raw, sizeof(raw));
	assert_int_equal(mt_identity_init(&id, "hmac", path, err, sizeof(err)), 0);
	assert_int_equal(mt_identity_hmac_hex(&id, tc6_data, strlen(tc6_data), out), 0);
	assert_string_equal(out, tc6_mac);
	mt_identity_free(&id);
}

static void test_bad_keys_and_modes(void **state)
{
	struct mt_identity id;
	char err[256];
	uint8_t raw[31];
	const char *path;

	(void)state;
	memset(raw, 0x55, sizeof(raw));
	path = write_file("short.raw", raw, sizeof(raw));
	assert_int_equal(mt_identity_init(&id, "hmac", path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "31 bytes of key, at least 32 needed"));
	assert_non_null(strstr(err, path));

	/* 62 hex digits are 31 bytes: too short as hex. */
	path = write_file("short.hex",
			  "00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n", 63);
	assert_int_equal(mt_identity_init(&id, "hmac", path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "31 bytes of key"));

	assert_int_equal(mt_identity_init(&id, "hmac", "/nonexistent/key", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/key"));
	assert_int_equal(mt_identity_init(&id, "hmac", "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "identity_key"));
	assert_int_equal(mt_identity_init(&id, "hmac", dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(mt_identity_init(&id, "hashed", NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[export] identity: `hashed' is neither clear, hmac nor none");
	assert_int_equal(mt_identity_init(&id, "none", NULL, err, sizeof(err)), 0);
	assert_int_equal(id.mode, MT_IDENTITY_NONE);
	mt_identity_free(&id);
	assert_int_equal(mt_identity_init(&id, "clear", NULL, err, sizeof(err)), 0);
	assert_int_equal(id.mode, MT_IDENTITY_CLEAR);
	mt_identity_free(&id);
}

/* The user-name field of each record type that has one. */
static struct mt_sref *user_of(struct mt_rec *r)
{
	switch (r->type) {
	case MT_REC_auth:
		return &r->b.auth.user;
	case MT_REC_smtp:
		return &r->b.smtp.auth_user;
	case MT_REC_imap:
		return &r->b.imap.auth_user;
	case MT_REC_pop3:
		return &r->b.pop3.auth_user;
	case MT_REC_alert:
		return &r->b.alert.user;
	default:
		return NULL;
	}
}

static void make(struct mt_rec *r, enum mt_rtype t, const char *user)
{
	struct mt_sref s;

	mt_rec_init(r, t);
	/* Something before the name, so offsets are not all 0. */
	mt_rec_set_str(r, &s, "before", 6);
	if (user_of(r))
		mt_rec_set_str(r, user_of(r), user, strlen(user));
}

static bool arena_has(const struct mt_rec *r, const char *s)
{
	return memmem(r->arena, r->arena_used, s, strlen(s)) != NULL;
}

static void test_every_user_field(void **state)
{
	static struct mt_rec r;
	struct mt_identity id;
	char err[256], want[MT_IDENTITY_HEX_LEN + 1];
	uint8_t key[32];
	const char *user = "alice@example.org";
	unsigned touched = 0;

	(void)state;
	memset(key, 7, sizeof(key));
	assert_int_equal(mt_identity_init_key(&id, key, sizeof(key), err, sizeof(err)), 0);
	assert_int_equal(mt_identity_hmac_hex(&id, user, strlen(user), want), 0);
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		struct mt_view v;

		make(&r, (enum mt_rtype)t, user);
		if (!user_of(&r)) {
			uint32_t used = r.arena_used;

			assert_false(mt_identity_applies(&id, &r));
			mt_identity_apply(&id, &r);
			assert_int_equal(r.arena_used, used);
			continue;
		}
		touched++;
		assert_true(mt_identity_applies(&id, &r));
		mt_identity_apply(&id, &r);
		v = mt_rec_str(&r, *user_of(&r));
		assert_int_equal(v.len, MT_IDENTITY_HEX_LEN);
		assert_memory_equal(v.p, want, MT_IDENTITY_HEX_LEN);
		assert_false(arena_has(&r, "alice"));
		assert_true(arena_has(&r, "before"));
	}
	assert_int_equal(touched, 5);
	mt_identity_free(&id);

	/* A name at least as long as the hash is replaced where it is. */
	make(&r, MT_REC_auth, tc7_data);
	memset(key, 0xaa, sizeof(key));
	assert_int_equal(mt_identity_init_key(&id, key, sizeof(key), err, sizeof(err)), 0);
	{
		uint32_t used = r.arena_used;

		mt_identity_apply(&id, &r);
		assert_int_equal(r.arena_used, used);
		assert_int_equal(r.b.auth.user.len, MT_IDENTITY_HEX_LEN);
		assert_false(arena_has(&r, "larger than"));
	}
	mt_identity_free(&id);

	assert_int_equal(mt_identity_init(&id, "none", NULL, err, sizeof(err)), 0);
	for (unsigned t = 0; t < MT_REC__COUNT; t++) {
		make(&r, (enum mt_rtype)t, user);
		mt_identity_apply(&id, &r);
		if (user_of(&r))
			assert_int_equal(user_of(&r)->len, 0);
		assert_false(arena_has(&r, "alice"));
	}
	assert_int_equal(mt_identity_init(&id, "clear", NULL, err, sizeof(err)), 0);
	make(&r, MT_REC_imap, user);
	assert_false(mt_identity_applies(&id, &r));
	mt_identity_apply(&id, &r);
	assert_int_equal(r.b.imap.auth_user.len, strlen(user));
	assert_true(arena_has(&r, "alice"));
	/* No identity at all (no [export] section) is clear. */
	mt_identity_apply(NULL, &r);
	assert_true(arena_has(&r, "alice"));
}

/* JSON shows the hash where the name was. */
static void test_json_shows_hash(void **state)
{
	static struct mt_rec r;
	struct mt_identity id;
	struct mt_buf b = { 0 };
	char err[256], want[MT_IDENTITY_HEX_LEN + 1], frag[128];
	uint8_t key[40];

	(void)state;
	memset(key, 1, sizeof(key));
	assert_int_equal(mt_identity_init_key(&id, key, sizeof(key), err, sizeof(err)), 0);
	make(&r, MT_REC_pop3, "bob");
	mt_identity_apply(&id, &r);
	assert_int_equal(mt_identity_hmac_hex(&id, "bob", 3, want), 0);
	mt_json_record(&b, &r);
	assert_false(b.failed);
	snprintf(frag, sizeof(frag), "\"auth_user\":\"%s\"", want);
	assert_non_null(memmem(b.p, b.len, frag, strlen(frag)));
	assert_null(memmem(b.p, b.len, "bob", 3));
	mt_buf_free(&b);
	mt_identity_free(&id);
}

/* When the hash does not fit the arena the field is left out, never cut. */
static void test_full_arena(void **state)
{
	static struct mt_rec r;
	static uint8_t filler[MT_REC_ARENA];
	struct mt_identity id;
	struct mt_sref s;
	char err[256];
	uint8_t key[32] = { 0 };

	(void)state;
	mt_rec_init(&r, MT_REC_smtp);
	mt_rec_set_str(&r, &s, filler, MT_REC_ARENA - 20);
	mt_rec_set_str(&r, &r.b.smtp.auth_user, "carol", 5);
	assert_int_equal(mt_identity_init_key(&id, key, sizeof(key), err, sizeof(err)), 0);
	mt_identity_apply(&id, &r);
	assert_int_equal(r.b.smtp.auth_user.len, 0);
	assert_true(r.flags & MT_REC_F_TRUNCATED);
	assert_false(arena_has(&r, "carol"));
	mt_identity_free(&id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4231_key_in_memory),
		cmocka_unit_test(test_rfc4231_key_files),
		cmocka_unit_test(test_bad_keys_and_modes),
		cmocka_unit_test(test_every_user_field),
		cmocka_unit_test(test_json_shows_hash),
		cmocka_unit_test(test_full_arena),
	};

	return cmocka_run_group_tests_name("identity", tests, setup, teardown);
}
