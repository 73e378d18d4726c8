/*
 * peap_tlv.h - the TLVs of PEAP's EAP-TLV / Extensions packets (EAP type 33; MS-PEAP §2.2.8,
 * draft-josefsson-pppext-eap-tls-eap-10 §4.2):
 *
 *   M (1 bit) | R (1 bit) | TLV Type (14 bits) | Length (2) | Value
 *
 * Result TLV (3): 2 octets, 1 = success, 2 = failure. Crypto-Binding TLV (12): 56 octets:
 * Reserved, Version, Received-Version, Sub-Type, Nonce (32), Compound MAC (20).
 */
#ifndef KAGI_PEAP_TLV_H
#define KAGI_PEAP_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEAP_TLV_RESULT 3
#define PEAP_TLV_CRYPTO_BINDING 12
#define PEAP_TLV_SOH_RESPONSE 3 /* (vendor-specific SoH is ignored) */
#define PEAP_TLV_MANDATORY 0x8000
#define PEAP_RESULT_SUCCESS 1
#define PEAP_RESULT_FAILURE 2
#define PEAP_CRYPTO_BINDING_LEN 56

struct peap_tlvs {
	bool has_result;
	uint16_t result;
	bool has_crypto_binding;
	const uint8_t *crypto_binding; /* the 56-octet value, inside the parsed buffer */
};

/*
 * peap_tlv_parse - parse the TLV area. Returns NULL or a static error: truncated TLV, Length
 * running past the data, a Result TLV of the wrong length or value, a Crypto-Binding TLV of the
 * wrong length, duplicates, or an unknown TLV with the M bit (RFC: the peer must reject it, and
 * so do we).
 */
const char *peap_tlv_parse(const uint8_t *buf, size_t len, struct peap_tlvs *out);

/*
 * peap_prf_plus - MS-PEAP §3.1.5.5.2.2 PRF+ (PEAPv0): T1 = HMAC-SHA1(K, S | 0x01 0x00 0x00),
 * Tn = HMAC-SHA1(K, Tn-1 | S | n 0x00 0x00), concatenated and truncated to outlen. False (out
 * zeroed) if OpenSSL failed or seedlen > 128. So for the three below.
 */
bool peap_prf_plus(const uint8_t *key, size_t keylen, const uint8_t *seed, size_t seedlen,
		   uint8_t *out, size_t outlen);

/*
 * peap_cmk - IPMK (40) and CMK (20) from TK (60) and the inner method's ISK (32): IMCK =
 * PRF+(TK[0..39], "Inner Methods Compound Keys" | ISK, 60). fast_reconnect (resumed, no inner
 * method): IPMK = TK[0..39], CMK = TK[40..59].
 */
bool peap_cmk(const uint8_t tk[60], const uint8_t isk[32], bool fast_reconnect,
	      uint8_t ipmk[40], uint8_t cmk[20]);

/* peap_compound_mac - HMAC-SHA1(CMK, the 60-octet Crypto-Binding TLV with MAC zeroed | 0x19). */
bool peap_compound_mac(const uint8_t cmk[20], const uint8_t tlv60[60], uint8_t mac[20]);

/* peap_csk - the MSK after crypto binding: PRF+(IPMK, "Session Key Generating Function\0", 128). */
bool peap_csk(const uint8_t ipmk[40], uint8_t csk[128]);

#endif
