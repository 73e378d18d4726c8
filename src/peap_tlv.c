/*
 * peap_tlv.c - PEAP EAP-TLV parsing (see peap_tlv.h).
 */
#include "peap_tlv.h"

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
