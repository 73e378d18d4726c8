/*
 * test_codec_dict.c - the dictionaries kagid starts with (codec_init without all_vendors): RFC
 * and Microsoft attributes only; requests with vendor attributes still decode, and a vendor
 * attribute named in the configuration loads the vendor dictionaries. Its own process: the
 * dictionary is loaded once per process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "codec.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#define SECRET "dict-test-secret-42"

struct lines {
	char text[4096];
};

static void
collect(void *arg, const char *text)
{
	struct lines *l = arg;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "%s\n", text);
}

static int
group_setup(void **state)
{
	char err[256] = "";

	(void)state;
	if (codec_init("/usr/share/freeradius", false, err, sizeof(err)) < 0) {
		fprintf(stderr, "codec_init: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	codec_free();
	return 0;
}

/* RFC attributes (VLAN assignment and friends) need no vendor dictionary. */
static void
test_rfc_reply(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	char err[256] = "";

	(void)state;
	assert_false(codec_dict_complete());
	assert_non_null(codec_pairs_parse(ctx,
					  "Filter-Id = staff, Tunnel-Type = VLAN, "
					  "Tunnel-Medium-Type = IEEE-802, Tunnel-Private-Group-Id = \"10\", "
					  "Session-Timeout = 3600",
					  err, sizeof(err)));
	assert_false(codec_dict_complete());
	talloc_free(ctx);
}

/* An Access-Request: User-Name alice, an EAP-Response/Identity, Aruba-Essid-Name (vendor 14823,
 * attribute 5) "corp-wifi", and a Message-Authenticator (HMAC-MD5 over the packet, RFC 3579
 * §3.2). Returns its length. */
static size_t
request_with_vsa(uint8_t *p)
{
	static const uint8_t attrs[] = {
		1, 7, 'a', 'l', 'i', 'c', 'e',
		79, 12, 2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e',
		26, 17, 0, 0, 0x39, 0xe7, 5, 11, 'c', 'o', 'r', 'p', '-', 'w', 'i', 'f', 'i',
		80, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	size_t len = 20 + sizeof(attrs);
	unsigned mdlen = 16;

	p[0] = 1;
	p[1] = 42;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	for (int i = 0; i < 16; i++)
		p[4 + i] = (uint8_t)(i * 7 + 3);
	memcpy(p + 20, attrs, sizeof(attrs));
	assert_non_null(HMAC(EVP_md5(), SECRET, (int)strlen(SECRET), p, len, p + len - 16, &mdlen));
	return len;
}

/* An access point's vendor attributes decode without the vendor dictionaries (as unknown
 * attributes), and do not load them. */
static void
test_request_with_vendor_attribute(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct codec_request *req;
	struct lines l = {.text = ""};
	uint8_t buf[256];
	size_t len = request_with_vsa(buf), plen = 0;
	char err[256] = "", user[32];

	(void)state;
	assert_int_equal(codec_check_raw(buf, len, SECRET, &plen), CODEC_RAW_OK);
	assert_int_equal(plen, len);
	req = codec_request_decode(ctx, buf, len, SECRET, err, sizeof(err));
	assert_non_null(req);
	assert_true(codec_request_string(req, 1, user, sizeof(user)));
	assert_string_equal(user, "alice");
	codec_request_describe(req, collect, &l);
	assert_non_null(strstr(l.text, "Attr-26.14823.5"));
	assert_false(codec_dict_complete());
	talloc_free(ctx);
}

/* A vendor attribute in a reply rule loads the vendor dictionaries; a name nobody defines is an
 * error that says which. */
static void
test_vendor_reply_loads_all(void **state)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	char err[256] = "";

	(void)state;
	assert_null(codec_pairs_parse(ctx, "No-Such-Attribute-Here = 1", err, sizeof(err)));
	assert_non_null(strstr(err, "No-Such-Attribute-Here"));
	assert_non_null(codec_pairs_parse(ctx, "Aruba-User-Role = staff, Filter-Id = x", err,
					  sizeof(err)));
	assert_true(codec_dict_complete());
	talloc_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_reply),
		cmocka_unit_test(test_request_with_vendor_attribute),
		cmocka_unit_test(test_vendor_reply_loads_all),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
