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

#endif
