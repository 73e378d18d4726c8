/*
 * peap_tlv.c - PEAP EAP-TLV parsing (see peap_tlv.h).
 */
#include "peap_tlv.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

const char *
peap_tlv_parse(const uint8_t *buf, size_t len, struct peap_tlvs *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	while (off < len) {
		uint16_t hdr, type;
		size_t tlen;
		const uint8_t *v;

		if (len - off < 4)
			return "PEAP TLV header truncated";
		hdr = (uint16_t)((buf[off] << 8) | buf[off + 1]);
		type = hdr & 0x3fff;
		tlen = ((size_t)buf[off + 2] << 8) | buf[off + 3];
		if (tlen > len - off - 4)
			return "PEAP TLV Length runs past the data";
		v = buf + off + 4;
		switch (type) {
		case PEAP_TLV_RESULT:
			if (out->has_result)
				return "duplicate PEAP Result TLV";
			if (tlen != 2)
				return "PEAP Result TLV of the wrong length";
			out->result = (uint16_t)((v[0] << 8) | v[1]);
			if (out->result != PEAP_RESULT_SUCCESS && out->result != PEAP_RESULT_FAILURE)
				return "PEAP Result TLV with an unknown status";
			out->has_result = true;
			break;
		case PEAP_TLV_CRYPTO_BINDING:
			if (out->has_crypto_binding)
				return "duplicate PEAP Crypto-Binding TLV";
			if (tlen != PEAP_CRYPTO_BINDING_LEN)
				return "PEAP Crypto-Binding TLV of the wrong length";
			out->crypto_binding = v;
			out->has_crypto_binding = true;
			break;
		default:
			if (hdr & PEAP_TLV_MANDATORY)
				return "unknown mandatory PEAP TLV";
			break; /* optional TLVs we do not know are skipped */
		}
		off += 4 + tlen;
	}
	return NULL;
}

/* HMAC, fetched once for the process (a fetch per call was most of PRF+'s cost on OpenSSL 3). */
static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* An HMAC-SHA1 context keyed with key; NULL on failure. */
static EVP_MAC_CTX *
hmac_sha1_new(const uint8_t *key, size_t keylen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;

	pthread_once(&hmac_once, hmac_fetch);
	ctx = hmac_alg ? EVP_MAC_CTX_new(hmac_alg) : NULL;
	if (ctx && EVP_MAC_init(ctx, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

/* One HMAC over a..., b... with ctx's key (ctx re-initialised, the key schedule kept). */
static bool
hmac_sha1(EVP_MAC_CTX *ctx, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
	  uint8_t out[20])
{
	size_t len = 0;

	return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 && EVP_MAC_update(ctx, a, alen) == 1 &&
	       (blen == 0 || EVP_MAC_update(ctx, b, blen) == 1) &&
	       EVP_MAC_final(ctx, out, &len, 20) == 1 && len == 20;
}

bool
peap_prf_plus(const uint8_t *key, size_t keylen, const uint8_t *seed, size_t seedlen,
	      uint8_t *out, size_t outlen)
{
	uint8_t t[20] = {0}, buf[20 + 128 + 3];
	size_t off = 0, tlen = 0;
	unsigned n = 1;
	EVP_MAC_CTX *ctx = seedlen <= 128 ? hmac_sha1_new(key, keylen) : NULL;
	bool ok = ctx != NULL;

	while (ok && off < outlen) {
		size_t blen = 0, take;

		memcpy(buf, t, tlen);
		blen = tlen;
		memcpy(buf + blen, seed, seedlen);
		blen += seedlen;
		buf[blen++] = (uint8_t)n;
		buf[blen++] = 0;
		buf[blen++] = 0;
		ok = hmac_sha1(ctx, buf, blen, NULL, 0, t);
		tlen = sizeof(t);
		take = outlen - off < tlen ? outlen - off : tlen;
		memcpy(out + off, t, take);
		off += take;
		n++;
	}
	EVP_MAC_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		OPENSSL_cleanse(out, outlen);
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

bool
peap_cmk(const uint8_t tk[60], const uint8_t isk[32], bool fast_reconnect, uint8_t ipmk[40],
	 uint8_t cmk[20])
{
	static const char label[] = "Inner Methods Compound Keys";
	uint8_t seed[sizeof(label) - 1 + 32], imck[60];
	bool ok;

	if (fast_reconnect) {
		memcpy(ipmk, tk, 40);
		memcpy(cmk, tk + 40, 20);
		return true;
	}
	memcpy(seed, label, sizeof(label) - 1);
	memcpy(seed + sizeof(label) - 1, isk, 32);
	ok = peap_prf_plus(tk, 40, seed, sizeof(seed), imck, sizeof(imck));
	memcpy(ipmk, imck, 40);
	memcpy(cmk, imck + 40, 20);
	OPENSSL_cleanse(imck, sizeof(imck));
	OPENSSL_cleanse(seed, sizeof(seed));
	return ok;
}

bool
peap_compound_mac(const uint8_t cmk[20], const uint8_t tlv60[60], uint8_t mac[20])
{
	static const uint8_t zero_mac_type[21] = {[20] = 25}; /* MAC zeroed, then EAP type PEAP */
	EVP_MAC_CTX *ctx = hmac_sha1_new(cmk, 20);
	bool ok = ctx && hmac_sha1(ctx, tlv60, 40, zero_mac_type, sizeof(zero_mac_type), mac);

	EVP_MAC_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		memset(mac, 0, 20);
	return ok;
}

bool
peap_csk(const uint8_t ipmk[40], uint8_t csk[128])
{
	/* The label with its terminating NUL (MS-PEAP §3.1.5.7). */
	static const char label[] = "Session Key Generating Function";

	return peap_prf_plus(ipmk, 40, (const uint8_t *)label, sizeof(label), csk, 128);
}
