/*
 * test_peap.c - unit tests for src/peap_tlv.c: the PEAPv0 crypto-binding key chain (MS-PEAP
 * §3.1.5.5/§3.1.5.7) with the vectors of a real wpa_supplicant 2.10 session (TLS 1.2; see
 * /tmp/peap_ttls_spec.md §6.2): TK -> IMCK (IPMK, CMK) with the inner ISK, the Compound MAC of
 * the server's request TLV and of the peer's response TLV, the CSK and so the MSK; the fast
 * reconnect keys; the ISK of EAP-MSCHAPv2 from the RFC 2759/3079 vectors (§6.1) and from the
 * session's MS-CHAPv2 MasterKey; PRF+ itself;
 * and peap_tlv_parse on good and malformed TLV areas.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mschap.h"
#include "peap_tlv.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static size_t
unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t i, n = strlen(hex);

	assert_int_equal(n % 2, 0);
	assert_true(n / 2 <= max);
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static void
assert_hex(const uint8_t *got, const char *want_hex)
{
	uint8_t want[256];
	char g[2 * sizeof(want) + 1];
	size_t i, n = unhex(want_hex, want, sizeof(want));

	if (memcmp(got, want, n) != 0) {
		for (i = 0; i < n; i++)
			snprintf(g + 2 * i, 3, "%02x", got[i]);
		fail_msg("got  %s\nwant %s", g, want_hex);
	}
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

/* ---- §6.2: one real PEAPv0 session (wpa_supplicant 2.10 peer, hostapd 2.10 server) ---- */

#define TK                                                                                     \
	"21f803a41fc6918f40bfd6fa27798b0f59d38c341d4ca170a8a9d140a39f7e445c2e98ae41af971d"     \
	"68928002fb23916a76077dbec3beb5535d8e0a17"
#define ISK "7ca9876ef6ef29d7c01f3595c803c4ba2eea5f615ae21f2d6ab080dd093546c4"
#define MS_MASTER_KEY "e272d3fb1086cfe4a115ea5587af62f1"
#define IPMK                                                                                   \
	"c23e253e64c41b6e2ebc37a7f3b5f50c152df7154fa5513c7817bc73b4ef9a4fb246f34d5c7cb493"
#define CMK "778f5c2ab81510ed5440f3ebc7d42e45725fa9cf"
#define NONCE "e77286d1efd536e75944f22caaaa40794c8f6eea5adede0fced55e92476098e7"
#define REQ_MAC "9b0e8fe4a09efa3c6b27bdcecf8bd4ae25be4075"
#define RESP_MAC "fe79c83be15f4003df469135ec222f38970edc39"
#define MSK                                                                                    \
	"0368c4761a550665717b1914290f4ecc4c9eb0d29d4a3bc7e86ace9295be6c57"                     \
	"549036f63c2c9b43c22a39870fcf8a14c47cea16bfafc73f397239067cffb35a"

/* The 60-octet Crypto-Binding TLV (header included) with the given sub-type and MAC. */
static void
cb_tlv(uint8_t tlv[60], uint8_t subtype, const char *mac_hex)
{
	memset(tlv, 0, 60);
	tlv[1] = PEAP_TLV_CRYPTO_BINDING;
	tlv[3] = PEAP_CRYPTO_BINDING_LEN;
	tlv[7] = subtype;
	unhex(NONCE, tlv + 8, 32);
	if (mac_hex)
		unhex(mac_hex, tlv + 40, 20);
}

/*
 * §6.1: the PEAP ISK of EAP-MSCHAPv2 for the RFC 2759 §9.2 exchange ("User"/"clientPass"):
 * InnerMPPERecvKey | InnerMPPESendKey = K(Magic2) | K(Magic3) of RFC 3079 §3.5.3.
 */
static void
test_isk_rfc_vectors(void **state)
{
	uint8_t hash[16], nt[24], send[16], recv[16], isk[32];

	(void)state;
	unhex("44EBBA8D5312B8D611474411F56989AE", hash, sizeof(hash));
	unhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF", nt, sizeof(nt));
	mschap_mppe_keys(hash, nt, send, recv);
	memcpy(isk, recv, 16);
	memcpy(isk + 16, send, 16);
	assert_hex(isk, "D5F0E9521E3EA9589645E86051C822268B7CDC149B993A1BA118CB153F56DCCB");
}

static void
test_isk_from_mschapv2_master_key(void **state)
{
	uint8_t mk[16], isk[32];

	(void)state;
	unhex(MS_MASTER_KEY, mk, sizeof(mk));
	/* Server ISK = InnerMPPERecvKey | InnerMPPESendKey (RFC 3079 start keys, server side). */
	mschap_asymmetric_start_key(mk, isk, 16, false, true);
	mschap_asymmetric_start_key(mk, isk + 16, 16, true, true);
	assert_hex(isk, ISK);
}

static void
test_cmk_chain(void **state)
{
	uint8_t tk[60], isk[32], ipmk[40], cmk[20];

	(void)state;
	unhex(TK, tk, sizeof(tk));
	unhex(ISK, isk, sizeof(isk));
	assert_true(peap_cmk(tk, isk, false, ipmk, cmk));
	assert_hex(ipmk, IPMK);
	assert_hex(cmk, CMK);
	/* IMCK is PRF+(TK[0..39], label | ISK): TK[40..59] must not matter. */
	memset(tk + 40, 0x5a, 20);
	assert_true(peap_cmk(tk, isk, false, ipmk, cmk));
	assert_hex(cmk, CMK);
	/* The ISK does. */
	isk[31] ^= 1;
	assert_true(peap_cmk(tk, isk, false, ipmk, cmk));
	assert_memory_not_equal(cmk, "\x77\x8f\x5c\x2a", 4);
}

static void
test_prf_plus_imck(void **state)
{
	static const char label[] = "Inner Methods Compound Keys";
	uint8_t tk[60], seed[sizeof(label) - 1 + 32], imck[60], t1[20];
	unsigned int n = sizeof(t1);

	(void)state;
	unhex(TK, tk, sizeof(tk));
	memcpy(seed, label, sizeof(label) - 1);
	unhex(ISK, seed + sizeof(label) - 1, 32);
	assert_true(peap_prf_plus(tk, 40, seed, sizeof(seed), imck, sizeof(imck)));
	assert_hex(imck, IPMK CMK);
	/* T1 = HMAC-SHA1(K, S | 0x01 0x00 0x00) */
	{
		uint8_t buf[sizeof(seed) + 3];

		memcpy(buf, seed, sizeof(seed));
		buf[sizeof(seed)] = 1;
		buf[sizeof(seed) + 1] = 0;
		buf[sizeof(seed) + 2] = 0;
		HMAC(EVP_sha1(), tk, 40, buf, sizeof(buf), t1, &n);
		assert_memory_equal(imck, t1, 20);
	}
	/* A seed longer than PRF+ takes: false, and no key material. */
	{
		uint8_t long_seed[129] = {0}, out[20];

		memset(out, 0xaa, sizeof(out));
		assert_false(peap_prf_plus(tk, 40, long_seed, sizeof(long_seed), out, sizeof(out)));
		assert_memory_equal(out, long_seed, sizeof(out));
	}
	/* A shorter output is a prefix of the longer one. */
	{
		uint8_t short_out[25];

		assert_true(peap_prf_plus(tk, 40, seed, sizeof(seed), short_out, sizeof(short_out)));
		assert_memory_equal(short_out, imck, sizeof(short_out));
	}
}

static void
test_compound_mac_request(void **state)
{
	uint8_t cmk[20], tlv[60], mac[20];

	(void)state;
	unhex(CMK, cmk, sizeof(cmk));
	cb_tlv(tlv, 0, NULL);
	assert_true(peap_compound_mac(cmk, tlv, mac));
	assert_hex(mac, REQ_MAC);
	/* The MAC field is zeroed by peap_compound_mac whatever it holds. */
	memset(tlv + 40, 0xee, 20);
	assert_true(peap_compound_mac(cmk, tlv, mac));
	assert_hex(mac, REQ_MAC);
	/* The nonce is covered. */
	tlv[8] ^= 0x01;
	assert_true(peap_compound_mac(cmk, tlv, mac));
	assert_memory_not_equal(mac, "\x9b\x0e\x8f\xe4", 4);
}

static void
test_compound_mac_response(void **state)
{
	uint8_t cmk[20], tlv[60], mac[20];

	(void)state;
	unhex(CMK, cmk, sizeof(cmk));
	/* The peer's response TLV (Sub-Type 1) as it came, MAC included. */
	cb_tlv(tlv, 1, RESP_MAC);
	assert_true(peap_compound_mac(cmk, tlv, mac));
	assert_hex(mac, RESP_MAC);
	assert_memory_equal(mac, tlv + 40, 20);
}

static void
test_csk_msk(void **state)
{
	uint8_t ipmk[40], csk[128], again[128];

	(void)state;
	unhex(IPMK, ipmk, sizeof(ipmk));
	assert_true(peap_csk(ipmk, csk));
	/* MSK = CSK[0..63]; that is what eapol_test checked against the MPPE keys. */
	assert_hex(csk, MSK);
	/* CSK is deterministic; the second half is PRF+ output too (not zero). */
	assert_true(peap_csk(ipmk, again));
	assert_memory_equal(csk, again, sizeof(csk));
	memset(again, 0, sizeof(again));
	assert_memory_not_equal(csk + 64, again, 64);
}

static void
test_fast_reconnect_keys(void **state)
{
	uint8_t tk[60], ipmk[40], cmk[20];
	static const uint8_t zero_isk[32];

	(void)state;
	unhex(TK, tk, sizeof(tk));
	/* MS-PEAP §3.1.5.5.2.2 / wpa_supplicant (reauth && resumed): IPMK = TK[0..39], CMK = TK[40..59]. */
	assert_true(peap_cmk(tk, zero_isk, true, ipmk, cmk));
	assert_memory_equal(ipmk, tk, 40);
	assert_memory_equal(cmk, tk + 40, 20);
	/* Without fast reconnect a zero ISK (GTC) still goes through PRF+. */
	assert_true(peap_cmk(tk, zero_isk, false, ipmk, cmk));
	assert_memory_not_equal(ipmk, tk, 40);
}

/* ---- peap_tlv_parse ---- */

static const uint8_t result_ok[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x01};

static void
test_parse_result_and_binding(void **state)
{
	uint8_t buf[6 + 60];
	struct peap_tlvs t;

	(void)state;
	/* The peer's answer of §6.2: Result Success (M bit) + Crypto-Binding. */
	memcpy(buf, result_ok, 6);
	cb_tlv(buf + 6, 1, RESP_MAC);
	assert_null(peap_tlv_parse(buf, sizeof(buf), &t));
	assert_true(t.has_result);
	assert_int_equal(t.result, PEAP_RESULT_SUCCESS);
	assert_true(t.has_crypto_binding);
	assert_ptr_equal(t.crypto_binding, buf + 6 + 4);
	/* Result alone, failure status, M bit clear. */
	{
		static const uint8_t fail_tlv[] = {0x00, 0x03, 0x00, 0x02, 0x00, 0x02};

		assert_null(peap_tlv_parse(fail_tlv, sizeof(fail_tlv), &t));
		assert_true(t.has_result);
		assert_int_equal(t.result, PEAP_RESULT_FAILURE);
		assert_false(t.has_crypto_binding);
	}
	/* Nothing at all is not an error (the caller decides what is missing). */
	memset(&t, 0xff, sizeof(t));
	assert_null(peap_tlv_parse(buf, 0, &t));
	assert_false(t.has_result);
	assert_false(t.has_crypto_binding);
}

static void
test_parse_truncated(void **state)
{
	uint8_t buf[6 + 60];
	struct peap_tlvs t;
	size_t n;

	(void)state;
	memcpy(buf, result_ok, 6);
	cb_tlv(buf + 6, 1, RESP_MAC);
	/* Every proper prefix that is not on a TLV boundary fails. */
	for (n = 1; n < sizeof(buf); n++) {
		const char *e = peap_tlv_parse(buf, n, &t);

		if (n == 6)
			assert_null(e);
		else if (!e)
			fail_msg("TLV area truncated to %zu octets accepted", n);
	}
	/* Header only partly there after a good TLV. */
	assert_non_null(peap_tlv_parse(buf, 6 + 3, &t));
}

static void
test_parse_length_past_end(void **state)
{
	uint8_t buf[] = {0x80, 0x03, 0x00, 0x03, 0x00, 0x01};
	uint8_t big[] = {0x00, 0x0c, 0xff, 0xff, 0x00};
	struct peap_tlvs t;

	(void)state;
	assert_non_null(peap_tlv_parse(buf, sizeof(buf), &t));
	assert_non_null(peap_tlv_parse(big, sizeof(big), &t));
	/* An unknown optional TLV running past the end fails too. */
	{
		uint8_t u[] = {0x00, 0x55, 0x00, 0x08, 1, 2, 3};

		assert_non_null(peap_tlv_parse(u, sizeof(u), &t));
	}
}

static void
test_parse_result_bad(void **state)
{
	struct peap_tlvs t;
	uint8_t len1[] = {0x80, 0x03, 0x00, 0x01, 0x01};
	uint8_t len4[] = {0x80, 0x03, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00};
	uint8_t len0[] = {0x80, 0x03, 0x00, 0x00};
	uint8_t status0[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x00};
	uint8_t status3[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x03};
	uint8_t status257[] = {0x80, 0x03, 0x00, 0x02, 0x01, 0x01};

	(void)state;
	assert_non_null(peap_tlv_parse(len1, sizeof(len1), &t));
	assert_non_null(peap_tlv_parse(len4, sizeof(len4), &t));
	assert_non_null(peap_tlv_parse(len0, sizeof(len0), &t));
	assert_non_null(peap_tlv_parse(status0, sizeof(status0), &t));
	assert_non_null(peap_tlv_parse(status3, sizeof(status3), &t));
	assert_non_null(peap_tlv_parse(status257, sizeof(status257), &t));
}

static void
test_parse_binding_bad_length(void **state)
{
	uint8_t buf[4 + 57];
	struct peap_tlvs t;

	(void)state;
	memset(buf, 0, sizeof(buf));
	buf[1] = PEAP_TLV_CRYPTO_BINDING;
	buf[3] = 55;
	assert_non_null(peap_tlv_parse(buf, 4 + 55, &t));
	buf[3] = 57;
	assert_non_null(peap_tlv_parse(buf, 4 + 57, &t));
	buf[3] = 0;
	assert_non_null(peap_tlv_parse(buf, 4, &t));
	buf[3] = 56;
	assert_null(peap_tlv_parse(buf, 4 + 56, &t));
	assert_true(t.has_crypto_binding);
}

static void
test_parse_duplicates(void **state)
{
	uint8_t two_results[12], two_bindings[120];
	struct peap_tlvs t;

	(void)state;
	memcpy(two_results, result_ok, 6);
	memcpy(two_results + 6, result_ok, 6);
	two_results[11] = PEAP_RESULT_FAILURE; /* conflicting, even */
	assert_non_null(peap_tlv_parse(two_results, sizeof(two_results), &t));
	memcpy(two_results + 6, result_ok, 6); /* identical duplicate */
	assert_non_null(peap_tlv_parse(two_results, sizeof(two_results), &t));
	cb_tlv(two_bindings, 1, RESP_MAC);
	cb_tlv(two_bindings + 60, 1, RESP_MAC);
	assert_non_null(peap_tlv_parse(two_bindings, sizeof(two_bindings), &t));
}

static void
test_parse_unknown_tlvs(void **state)
{
	/* Result, then an unknown optional TLV (type 0x0123, M clear, 3 octets), then a 0-length one. */
	uint8_t opt[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x01, 0x01, 0x23, 0x00, 0x03,
			 0xaa, 0xbb, 0xcc, 0x00, 0x07, 0x00, 0x00};
	/* The same with the M bit on the unknown TLV. */
	uint8_t mand[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x01, 0x81, 0x23, 0x00, 0x03,
			  0xaa, 0xbb, 0xcc};
	/* TLVs kagid does not implement, with M: Vendor-Specific (7), Intermediate-Result (10). */
	uint8_t vendor_m[] = {0x80, 0x07, 0x00, 0x04, 0x00, 0x00, 0x01, 0x37};
	uint8_t inter_m[] = {0x80, 0x0a, 0x00, 0x02, 0x00, 0x01};
	struct peap_tlvs t;

	(void)state;
	assert_null(peap_tlv_parse(opt, sizeof(opt), &t));
	assert_true(t.has_result);
	assert_int_equal(t.result, PEAP_RESULT_SUCCESS);
	assert_false(t.has_crypto_binding);
	assert_non_null(peap_tlv_parse(mand, sizeof(mand), &t));
	assert_non_null(peap_tlv_parse(vendor_m, sizeof(vendor_m), &t));
	assert_non_null(peap_tlv_parse(inter_m, sizeof(inter_m), &t));
	/* The R bit does not make a known TLV unknown: 0x4003 is still a Result. */
	{
		uint8_t r_bit[] = {0x40, 0x03, 0x00, 0x02, 0x00, 0x01};

		assert_null(peap_tlv_parse(r_bit, sizeof(r_bit), &t));
		assert_true(t.has_result);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isk_rfc_vectors),
		cmocka_unit_test(test_isk_from_mschapv2_master_key),
		cmocka_unit_test(test_cmk_chain),
		cmocka_unit_test(test_prf_plus_imck),
		cmocka_unit_test(test_compound_mac_request),
		cmocka_unit_test(test_compound_mac_response),
		cmocka_unit_test(test_csk_msk),
		cmocka_unit_test(test_fast_reconnect_keys),
		cmocka_unit_test(test_parse_result_and_binding),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_length_past_end),
		cmocka_unit_test(test_parse_result_bad),
		cmocka_unit_test(test_parse_binding_bad_length),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_unknown_tlvs),
	};

	return cmocka_run_group_tests_name("peap", tests, group_setup, group_teardown);
}
