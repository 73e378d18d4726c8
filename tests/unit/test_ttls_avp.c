/*
 * test_ttls_avp.c - unit tests for src/ttls_avp.c (RFC 5281 §10 AVPs in the EAP-TTLS tunnel):
 * parsing with and without Vendor-ID, padding to 4 octets (not counted in Length), a last AVP
 * without its padding, the exact wire form wpa_supplicant 2.10 sends for PAP and MS-CHAPv2;
 * refusing Length below the header (8, or 12 with V), Length past the end, reserved flag bits
 * and more than AVP_MAX AVPs; ttls_avp_find; ttls_avp_append and a parse round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ttls_avp.h"

#include <string.h>
#include <talloc.h>

static int
setup(void **state)
{
	*state = talloc_new(NULL);
	return *state ? 0 : -1;
}

static int
teardown(void **state)
{
	talloc_free(*state);
	return 0;
}

/* Append one AVP by hand: code, flags, Length (as given), [vendor], data, padding. */
static size_t
put(uint8_t *p, uint32_t code, uint8_t flags, size_t length, uint32_t vendor, const void *data,
    size_t dlen, size_t pad)
{
	size_t o = 0;

	p[o++] = (uint8_t)(code >> 24);
	p[o++] = (uint8_t)(code >> 16);
	p[o++] = (uint8_t)(code >> 8);
	p[o++] = (uint8_t)code;
	p[o++] = flags;
	p[o++] = (uint8_t)(length >> 16);
	p[o++] = (uint8_t)(length >> 8);
	p[o++] = (uint8_t)length;
	if (flags & AVP_FLAG_V) {
		p[o++] = (uint8_t)(vendor >> 24);
		p[o++] = (uint8_t)(vendor >> 16);
		p[o++] = (uint8_t)(vendor >> 8);
		p[o++] = (uint8_t)vendor;
	}
	if (dlen)
		memcpy(p + o, data, dlen);
	o += dlen;
	memset(p + o, 0, pad);
	return o + pad;
}

/* What wpa_supplicant sends for TTLS/PAP (spec §4.4.1): User-Name "alice" + User-Password. */
static void
test_parse_pap_wire(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x0d, 'a', 'l', 'i', 'c', 'e', 0, 0, 0,
		0x00, 0x00, 0x00, 0x02, 0x40, 0x00, 0x00, 0x18, 's', 'e', 'c', 'r', 'e', 't', 0, 0,
		0,    0,    0,    0,    0,    0,    0,    0,
	};
	struct ttls_avps a;
	const struct ttls_avp *un, *pw;

	(void)state;
	assert_null(ttls_avp_parse(wire, sizeof(wire), &a));
	assert_int_equal(a.n, 2);
	un = ttls_avp_find(&a, 1, 0);
	assert_non_null(un);
	assert_int_equal(un->len, 5);
	assert_memory_equal(un->data, "alice", 5);
	assert_true(un->mandatory);
	assert_int_equal(un->vendor, 0);
	pw = ttls_avp_find(&a, 2, 0);
	assert_non_null(pw);
	assert_int_equal(pw->len, 16);
	assert_memory_equal(pw->data, "secret\0\0\0\0\0\0\0\0\0\0", 16);
	assert_null(ttls_avp_find(&a, 79, 0));
	/* The same code with a vendor is another AVP. */
	assert_null(ttls_avp_find(&a, 1, 311));
}

/* Vendor AVPs (MS-CHAP-Challenge 311/11, MS-CHAP2-Response 311/25), V|M = 0xC0. */
static void
test_parse_vendor(void **state)
{
	uint8_t buf[256], ch[16], rs[50];
	size_t n = 0;
	struct ttls_avps a;
	const struct ttls_avp *x;

	(void)state;
	memset(ch, 0x11, sizeof(ch));
	memset(rs, 0x22, sizeof(rs));
	n += put(buf + n, 1, AVP_FLAG_M, 8 + 3, 0, "bob", 3, 1);
	n += put(buf + n, 11, AVP_FLAG_V | AVP_FLAG_M, 12 + 16, 311, ch, 16, 0);
	n += put(buf + n, 25, AVP_FLAG_V | AVP_FLAG_M, 12 + 50, 311, rs, 50, 2);
	/* a non-mandatory vendor AVP with no data */
	n += put(buf + n, 99, AVP_FLAG_V, 12, 0x12345678, NULL, 0, 0);
	assert_null(ttls_avp_parse(buf, n, &a));
	assert_int_equal(a.n, 4);
	x = ttls_avp_find(&a, 11, 311);
	assert_non_null(x);
	assert_int_equal(x->vendor, 311);
	assert_int_equal(x->len, 16);
	assert_memory_equal(x->data, ch, 16);
	x = ttls_avp_find(&a, 25, 311);
	assert_non_null(x);
	assert_int_equal(x->len, 50);
	assert_memory_equal(x->data, rs, 50);
	assert_null(ttls_avp_find(&a, 25, 0));
	x = ttls_avp_find(&a, 99, 0x12345678);
	assert_non_null(x);
	assert_int_equal(x->len, 0);
	assert_false(x->mandatory);
}

static void
test_parse_padding(void **state)
{
	uint8_t buf[64];
	size_t n, k;
	struct ttls_avps a;

	(void)state;
	/* Data lengths 0..4: padding brings the next AVP to a 4-octet boundary. */
	for (k = 0; k <= 4; k++) {
		size_t pad = (4 - ((8 + k) & 3)) & 3;

		n = put(buf, 18, 0, 8 + k, 0, "abcd", k, pad);
		n += put(buf + n, 79, AVP_FLAG_M, 8 + 4, 0, "\x02\x00\x00\x04", 4, 0);
		assert_null(ttls_avp_parse(buf, n, &a));
		assert_int_equal(a.n, 2);
		assert_int_equal(a.avp[0].len, k);
		assert_int_equal(a.avp[1].code, 79);
		assert_int_equal(a.avp[1].len, 4);
		assert_memory_equal(a.avp[1].data, "\x02\x00\x00\x04", 4);
	}
}

static void
test_parse_last_without_padding(void **state)
{
	uint8_t buf[64];
	size_t n;
	struct ttls_avps a;

	(void)state;
	n = put(buf, 1, AVP_FLAG_M, 8 + 4, 0, "carl", 4, 0);
	n += put(buf + n, 1, AVP_FLAG_M, 8 + 5, 0, "alice", 5, 0); /* 3 octets of padding left out */
	assert_null(ttls_avp_parse(buf, n, &a));
	assert_int_equal(a.n, 2);
	assert_int_equal(a.avp[1].len, 5);
	assert_memory_equal(a.avp[1].data, "alice", 5);
	/* Only a part of the padding is also fine for the last one. */
	buf[n] = 0;
	assert_null(ttls_avp_parse(buf, n + 1, &a));
	assert_int_equal(a.n, 2);
	/* An empty area is no AVPs. */
	a.n = 7;
	assert_null(ttls_avp_parse(buf, 0, &a));
	assert_int_equal(a.n, 0);
}

static void
test_reject_short_length(void **state)
{
	uint8_t buf[64];
	size_t n, l;
	struct ttls_avps a;

	(void)state;
	for (l = 0; l < 8; l++) {
		n = put(buf, 1, AVP_FLAG_M, l, 0, "abcd", 4, 0);
		if (!ttls_avp_parse(buf, n, &a))
			fail_msg("AVP Length %zu accepted", l);
	}
	/* With V the header is 12 octets. */
	for (l = 0; l < 12; l++) {
		n = put(buf, 11, AVP_FLAG_V | AVP_FLAG_M, l, 311, "abcdefgh", 8, 0);
		if (!ttls_avp_parse(buf, n, &a))
			fail_msg("vendor AVP Length %zu accepted", l);
	}
	n = put(buf, 11, AVP_FLAG_V | AVP_FLAG_M, 12, 311, NULL, 0, 0);
	assert_null(ttls_avp_parse(buf, n, &a));
	/* A truncated header (fewer than 8 octets left). */
	n = put(buf, 1, AVP_FLAG_M, 12, 0, "abcd", 4, 0);
	assert_non_null(ttls_avp_parse(buf, n + 5, &a)); /* +5 octets of a next header */
	assert_non_null(ttls_avp_parse(buf, 7, &a));
	/* V set but the vendor id itself cut off */
	n = put(buf, 11, AVP_FLAG_V | AVP_FLAG_M, 12, 311, NULL, 0, 0);
	assert_non_null(ttls_avp_parse(buf, 10, &a));
}

static void
test_reject_length_past_end(void **state)
{
	uint8_t buf[64];
	size_t n;
	struct ttls_avps a;

	(void)state;
	n = put(buf, 1, AVP_FLAG_M, 8 + 6, 0, "alice", 5, 0); /* says 6, has 5 */
	assert_non_null(ttls_avp_parse(buf, n, &a));
	n = put(buf, 1, AVP_FLAG_M, 0xffffff, 0, "alice", 5, 3);
	assert_non_null(ttls_avp_parse(buf, n, &a));
	/* Good first AVP, bad second. */
	n = put(buf, 1, AVP_FLAG_M, 8 + 5, 0, "alice", 5, 3);
	n += put(buf + n, 2, AVP_FLAG_M, 8 + 20, 0, "0123456789abcdef", 16, 0);
	assert_non_null(ttls_avp_parse(buf, n, &a));
}

static void
test_reject_reserved_flags(void **state)
{
	uint8_t buf[32];
	size_t n;
	unsigned bit;
	struct ttls_avps a;

	(void)state;
	for (bit = 0; bit < 6; bit++) {
		n = put(buf, 1, (uint8_t)(AVP_FLAG_M | (1u << bit)), 8 + 4, 0, "abcd", 4, 0);
		if (!ttls_avp_parse(buf, n, &a))
			fail_msg("AVP flags 0x%02x accepted", AVP_FLAG_M | (1u << bit));
	}
	n = put(buf, 1, AVP_FLAG_M, 8 + 4, 0, "abcd", 4, 0);
	assert_null(ttls_avp_parse(buf, n, &a));
}

static void
test_reject_too_many(void **state)
{
	uint8_t buf[(AVP_MAX + 1) * 8];
	size_t n = 0;
	unsigned i;
	struct ttls_avps a;

	(void)state;
	for (i = 0; i < AVP_MAX; i++)
		n += put(buf + n, 1000 + i, 0, 8, 0, NULL, 0, 0);
	assert_null(ttls_avp_parse(buf, n, &a));
	assert_int_equal(a.n, AVP_MAX);
	assert_int_equal(a.avp[AVP_MAX - 1].code, 1000 + AVP_MAX - 1);
	n += put(buf + n, 2000, 0, 8, 0, NULL, 0, 0);
	assert_non_null(ttls_avp_parse(buf, n, &a));
	assert_true(a.n <= AVP_MAX);
}

static void
test_append_round_trip(void **state)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint8_t success[43], eap[9] = {1, 7, 0, 9, 26, 1, 7, 0, 4};
	struct ttls_avps a;
	const struct ttls_avp *x;

	memset(success, 'S', sizeof(success));
	assert_int_equal(ttls_avp_append(*state, &buf, &len, 26, 311, success, sizeof(success)), 0);
	/* MS-CHAP2-Success: 12 + 43 = 55 octets, padded to 56; flags V|M. */
	assert_int_equal(len, 56);
	assert_memory_equal(buf, "\x00\x00\x00\x1a\xc0\x00\x00\x37\x00\x00\x01\x37", 12);
	assert_int_equal(buf[55], 0);
	assert_int_equal(ttls_avp_append(*state, &buf, &len, 79, 0, eap, sizeof(eap)), 0);
	/* EAP-Message: 8 + 9 = 17, padded to 20; flags M only. */
	assert_int_equal(len, 56 + 20);
	assert_memory_equal(buf + 56, "\x00\x00\x00\x4f\x40\x00\x00\x11", 8);
	assert_memory_equal(buf + 73, "\0\0\0", 3);
	assert_int_equal(ttls_avp_append(*state, &buf, &len, 18, 0, NULL, 0), 0);
	assert_int_equal(len, 56 + 20 + 8);

	assert_null(ttls_avp_parse(buf, len, &a));
	assert_int_equal(a.n, 3);
	x = ttls_avp_find(&a, 26, 311);
	assert_non_null(x);
	assert_true(x->mandatory);
	assert_int_equal(x->len, sizeof(success));
	assert_memory_equal(x->data, success, sizeof(success));
	x = ttls_avp_find(&a, 79, 0);
	assert_non_null(x);
	assert_int_equal(x->vendor, 0);
	assert_int_equal(x->len, sizeof(eap));
	assert_memory_equal(x->data, eap, sizeof(eap));
	x = ttls_avp_find(&a, 18, 0);
	assert_non_null(x);
	assert_int_equal(x->len, 0);
	/* The buffer is a talloc child of the context given. */
	assert_ptr_equal(talloc_parent(buf), *state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_pap_wire),
		cmocka_unit_test(test_parse_vendor),
		cmocka_unit_test(test_parse_padding),
		cmocka_unit_test(test_parse_last_without_padding),
		cmocka_unit_test(test_reject_short_length),
		cmocka_unit_test(test_reject_length_past_end),
		cmocka_unit_test(test_reject_reserved_flags),
		cmocka_unit_test(test_reject_too_many),
		cmocka_unit_test_setup_teardown(test_append_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests_name("ttls_avp", tests, NULL, NULL);
}
