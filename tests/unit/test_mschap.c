/*
 * test_mschap.c - unit tests for src/mschap.c: the RFC 2759 §9.2 MS-CHAPv2 vectors
 * (NtPasswordHash, ChallengeHash, GenerateNTResponse, GenerateAuthenticatorResponse), the
 * RFC 3079 §3.5.3 128-bit MPPE key vectors (MasterKey, the asymmetric start keys in all four
 * directions, mschap_mppe_keys), mschap_verify refusing any flipped bit, the NT hash of
 * non-ASCII passwords (UTF-16LE, surrogate pairs), and non-UTF-8 passwords refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mschap.h"

#include <stdio.h>
#include <string.h>

/* hex -> bytes; the length must be exactly n bytes */
static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
assert_hex(const uint8_t *got, const char *want_hex, size_t n)
{
	uint8_t want[128];
	char g[2 * sizeof(want) + 1];
	size_t i;

	assert_true(n <= sizeof(want));
	unhex(want_hex, want, n);
	if (memcmp(got, want, n) != 0) {
		for (i = 0; i < n; i++)
			snprintf(g + 2 * i, 3, "%02x", got[i]);
		fail_msg("got %s, want %s", g, want_hex);
	}
}

/* RFC 2759 §9.2 */
#define USER "User"
#define PASSWORD "clientPass"
#define AUTH_CHALLENGE "5B5D7C7D7B3F2F3E3C2C602132262628"
#define PEER_CHALLENGE "21402324255E262A28295F2B3A337C7E"
#define CHALLENGE "D02E4386BCE91226"
#define PASSWORD_HASH "44EBBA8D5312B8D611474411F56989AE"
#define PASSWORD_HASH_HASH "41C00C584BD2D91C4017A2A12FA59F3F"
#define NT_RESPONSE "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"
#define AUTH_RESPONSE "S=407A5589115FD0D6209F510FE9C04566932CDA56"
/* RFC 3079 §3.5.3 */
#define MASTER_KEY "FDECE3717A8C838CB388E527AE3CDD31"
#define SEND_START_KEY_128 "8B7CDC149B993A1BA118CB153F56DCCB" /* server send = client recv */
#define RECV_START_KEY_128 "D5F0E9521E3EA9589645E86051C82226" /* server recv = client send */

struct vec {
	uint8_t ac[16], pc[16], hash[16], hh[16], nt[24];
};

static void
load(struct vec *v)
{
	unhex(AUTH_CHALLENGE, v->ac, 16);
	unhex(PEER_CHALLENGE, v->pc, 16);
	unhex(PASSWORD_HASH, v->hash, 16);
	unhex(PASSWORD_HASH_HASH, v->hh, 16);
	unhex(NT_RESPONSE, v->nt, 24);
}

static int
group_setup(void **state)
{
	char err[256];

	(void)state;
	if (mschap_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "mschap_init: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mschap_free();
	return 0;
}

/* ---- RFC 2759 ---- */

static void
test_nt_password_hash(void **state)
{
	uint8_t h[16];

	(void)state;
	assert_int_equal(mschap_nt_hash(PASSWORD, h), 0);
	assert_hex(h, PASSWORD_HASH, 16);
	/* Case matters. */
	assert_int_equal(mschap_nt_hash("clientpass", h), 0);
	assert_memory_not_equal(h, "\x44\xEB\xBA\x8D", 4);
	/* The empty password (MD4 of nothing). */
	assert_int_equal(mschap_nt_hash("", h), 0);
	assert_hex(h, "31D6CFE0D16AE931B73C59D7E0C089C0", 16);
}

static void
test_nt_hash_unicode(void **state)
{
	uint8_t h[16];

	(void)state;
	/* UTF-16LE of two-octet UTF-8 ("pässwörd"); values from iconv + openssl dgst -md4. */
	assert_int_equal(mschap_nt_hash("p\xc3\xa4ssw\xc3\xb6rd", h), 0);
	assert_hex(h, "0553152250AC01ADB4213CB9938663E4", 16);
	/* Greek (two-octet) and U+1F511 (four-octet UTF-8 -> a UTF-16 surrogate pair). */
	assert_int_equal(mschap_nt_hash("\xce\xba\xce\xbb\xce\xb5\xce\xb9\xce\xb4\xce\xaf"
					"\xf0\x9f\x94\x91",
					h),
			 0);
	assert_hex(h, "18F5D70E5C323AC07AF3668456386E34", 16);
}

static void
test_nt_hash_rejects_non_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff",		    /* never valid */
		"abc\xfe",	    /* never valid */
		"\x80",		    /* lone continuation octet */
		"pass\xc3",	    /* truncated two-octet sequence */
		"\xe2\x82",	    /* truncated three-octet sequence */
		"\xf0\x9f\x94",	    /* truncated four-octet sequence */
		"\xc3(",	    /* lead octet followed by a non-continuation */
		"ok\xe2\x28\xa1ok", /* broken three-octet sequence */
	};
	uint8_t h[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mschap_nt_hash(bad[i], h) != -1)
			fail_msg("non-UTF-8 password #%zu accepted", i);
}

/*
 * RFC 3629 also makes overlong forms, UTF-16 surrogates and code points above U+10FFFF
 * invalid UTF-8: an overlong "a" must not hash like "a".
 */
static void
test_nt_hash_rejects_invalid_utf8_strict(void **state)
{
	static const char *const bad[] = {
		"\xc0\x80",	    /* overlong NUL */
		"p\xc1\xa1ss",	    /* overlong 'a' */
		"\xe0\x80\xaf",	    /* overlong '/' */
		"\xed\xa0\x80",	    /* UTF-16 surrogate D800 */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf7\xbf\xbf\xbf", /* above U+10FFFF */
	};
	uint8_t h[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mschap_nt_hash(bad[i], h) != -1)
			fail_msg("invalid UTF-8 password #%zu accepted", i);
}

static void
test_nt_hash_length_limit(void **state)
{
	char pw[260], big[4097];
	uint8_t h[16];
	size_t i;

	(void)state;
	/* RFC 2759: up to 256 Unicode characters are hashed ... */
	memset(pw, 'a', 256);
	pw[256] = '\0';
	assert_int_equal(mschap_nt_hash(pw, h), 0);
	/* ... and an overlong one is refused, not written past the UTF-16 buffer. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mschap_nt_hash(big, h), -1);
	memset(big, 0, sizeof(big));
	for (i = 0; i + 4 < sizeof(big); i += 4)
		memcpy(big + i, "\xf0\x9f\x94\x91", 4);
	assert_int_equal(mschap_nt_hash(big, h), -1);
}

static void
test_challenge_hash(void **state)
{
	struct vec v;
	uint8_t c[8];

	(void)state;
	load(&v);
	mschap_challenge_hash(v.pc, v.ac, USER, c);
	assert_hex(c, CHALLENGE, 8);
	/* RFC 2759 §8.2: a "DOMAIN\" prefix is not part of the hashed user name. */
	mschap_challenge_hash(v.pc, v.ac, "EXAMPLE\\" USER, c);
	assert_hex(c, CHALLENGE, 8);
	/* Another user name, another challenge. */
	mschap_challenge_hash(v.pc, v.ac, "user", c);
	assert_memory_not_equal(c, "\xD0\x2E\x43\x86\xBC\xE9\x12\x26", 8);
}

static void
test_nt_response(void **state)
{
	struct vec v;
	uint8_t r[24];

	(void)state;
	load(&v);
	assert_int_equal(mschap_nt_response(v.ac, v.pc, USER, v.hash, r), 0);
	assert_hex(r, NT_RESPONSE, 24);
}

static void
test_verify_and_authenticator_response(void **state)
{
	struct vec v;
	char ar[43];

	(void)state;
	load(&v);
	memset(ar, 'x', sizeof(ar));
	assert_true(mschap_verify(v.ac, v.pc, USER, v.hash, v.nt, ar));
	assert_int_equal(ar[42], '\0');
	assert_string_equal(ar, AUTH_RESPONSE);
}

/* Any single flipped bit in the response, either challenge, the hash or the name fails. */
static void
test_verify_rejects_flipped_bit(void **state)
{
	struct vec v;
	char ar[43];
	unsigned i, b;

	(void)state;
	load(&v);
	for (i = 0; i < 24; i++)
		for (b = 0; b < 8; b++) {
			v.nt[i] ^= (uint8_t)(1u << b);
			if (mschap_verify(v.ac, v.pc, USER, v.hash, v.nt, ar))
				fail_msg("NT-Response with bit %u of octet %u flipped accepted", b, i);
			v.nt[i] ^= (uint8_t)(1u << b);
		}
	for (i = 0; i < 16; i++) {
		v.ac[i] ^= 0x01;
		assert_false(mschap_verify(v.ac, v.pc, USER, v.hash, v.nt, ar));
		v.ac[i] ^= 0x01;
		v.pc[i] ^= 0x80;
		assert_false(mschap_verify(v.ac, v.pc, USER, v.hash, v.nt, ar));
		v.pc[i] ^= 0x80;
		v.hash[i] ^= 0x10;
		assert_false(mschap_verify(v.ac, v.pc, USER, v.hash, v.nt, ar));
		v.hash[i] ^= 0x10;
	}
	assert_false(mschap_verify(v.ac, v.pc, "Usex", v.hash, v.nt, ar));
	assert_false(mschap_verify(v.ac, v.pc, "user", v.hash, v.nt, ar));
	/* Everything restored: accepted again. */
	assert_true(mschap_verify(v.ac, v.pc, USER, v.hash, v.nt, ar));
}

/* ---- RFC 3079 ---- */

static void
test_master_key(void **state)
{
	struct vec v;
	uint8_t mk[16];

	(void)state;
	load(&v);
	mschap_master_key(v.hh, v.nt, mk);
	assert_hex(mk, MASTER_KEY, 16);
}

static void
test_start_keys(void **state)
{
	uint8_t mk[16], k[16];

	(void)state;
	unhex(MASTER_KEY, mk, 16);
	/* RFC 3079 §3.5.3: SendStartKey128 (the server's send key, IsSend and IsServer). */
	mschap_asymmetric_start_key(mk, k, 16, true, true);
	assert_hex(k, SEND_START_KEY_128, 16);
	/* The client's receive key is the same; the other direction is the other magic. */
	mschap_asymmetric_start_key(mk, k, 16, false, false);
	assert_hex(k, SEND_START_KEY_128, 16);
	mschap_asymmetric_start_key(mk, k, 16, false, true);
	assert_hex(k, RECV_START_KEY_128, 16);
	mschap_asymmetric_start_key(mk, k, 16, true, false);
	assert_hex(k, RECV_START_KEY_128, 16);
	/* 40/56-bit key lengths take a prefix of the digest (RFC 3079 §3.4). */
	memset(k, 0xAA, sizeof(k));
	mschap_asymmetric_start_key(mk, k, 8, true, true);
	assert_hex(k, "8B7CDC149B993A1B", 8);
	assert_int_equal(k[8], 0xAA);
}

static void
test_mppe_keys(void **state)
{
	struct vec v;
	uint8_t send[16], recv[16];

	(void)state;
	load(&v);
	mschap_mppe_keys(v.hash, v.nt, send, recv);
	assert_hex(send, SEND_START_KEY_128, 16);
	assert_hex(recv, RECV_START_KEY_128, 16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nt_password_hash),
		cmocka_unit_test(test_nt_hash_unicode),
		cmocka_unit_test(test_nt_hash_rejects_non_utf8),
		cmocka_unit_test(test_nt_hash_rejects_invalid_utf8_strict),
		cmocka_unit_test(test_nt_hash_length_limit),
		cmocka_unit_test(test_challenge_hash),
		cmocka_unit_test(test_nt_response),
		cmocka_unit_test(test_verify_and_authenticator_response),
		cmocka_unit_test(test_verify_rejects_flipped_bit),
		cmocka_unit_test(test_master_key),
		cmocka_unit_test(test_start_keys),
		cmocka_unit_test(test_mppe_keys),
	};

	return cmocka_run_group_tests_name("mschap", tests, group_setup, group_teardown);
}
