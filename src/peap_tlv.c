/*
 * peap_tlv.c - PEAP EAP-TLV parsing (see peap_tlv.h).
 */
#include "peap_tlv.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

void
peap_prf_plus(const uint8_t *key, size_t keylen, const uint8_t *seed, size_t seedlen,
	      uint8_t *out, size_t outlen)
{
	uint8_t t[20] = {0}, buf[20 + 128 + 3];
	size_t off = 0, tlen = 0;
	unsigned n = 1;

	if (seedlen > 128) {
		memset(out, 0, outlen);
		return;
	}
	while (off < outlen) {
		size_t blen = 0, take;
		unsigned int mdlen = sizeof(t);

		memcpy(buf, t, tlen);
		blen = tlen;
		memcpy(buf + blen, seed, seedlen);
		blen += seedlen;
		buf[blen++] = (uint8_t)n;
		buf[blen++] = 0;
		buf[blen++] = 0;
		HMAC(EVP_sha1(), key, (int)keylen, buf, blen, t, &mdlen);
		tlen = sizeof(t);
		take = outlen - off < tlen ? outlen - off : tlen;
		memcpy(out + off, t, take);
		off += take;
		n++;
	}
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(buf, sizeof(buf));
}

void
peap_cmk(const uint8_t tk[60], const uint8_t isk[32], bool fast_reconnect, uint8_t ipmk[40],
	 uint8_t cmk[20])
{
	static const char label[] = "Inner Methods Compound Keys";
	uint8_t seed[sizeof(label) - 1 + 32], imck[60];

	if (fast_reconnect) {
		memcpy(ipmk, tk, 40);
		memcpy(cmk, tk + 40, 20);
		return;
	}
	memcpy(seed, label, sizeof(label) - 1);
	memcpy(seed + sizeof(label) - 1, isk, 32);
	peap_prf_plus(tk, 40, seed, sizeof(seed), imck, sizeof(imck));
	memcpy(ipmk, imck, 40);
	memcpy(cmk, imck + 40, 20);
	OPENSSL_cleanse(imck, sizeof(imck));
	OPENSSL_cleanse(seed, sizeof(seed));
}

void
peap_compound_mac(const uint8_t cmk[20], const uint8_t tlv60[60], uint8_t mac[20])
{
	uint8_t buf[61];
	unsigned int mdlen = 20;

	memcpy(buf, tlv60, 60);
	memset(buf + 40, 0, 20);
	buf[60] = 25; /* EAP type PEAP */
	HMAC(EVP_sha1(), cmk, 20, buf, sizeof(buf), mac, &mdlen);
}

void
peap_csk(const uint8_t ipmk[40], uint8_t csk[128])
{
	/* The label with its terminating NUL (MS-PEAP §3.1.5.7). */
	static const char label[] = "Session Key Generating Function";

	peap_prf_plus(ipmk, 40, (const uint8_t *)label, sizeof(label), csk, 128);
}
