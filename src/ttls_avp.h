/*
 * ttls_avp.h - Diameter-style AVPs carried in the EAP-TTLS tunnel (RFC 5281 §10).
 *
 *   AVP Code (4) | Flags (1: V 0x80, M 0x40) | AVP Length (3, header included) |
 *   [Vendor-ID (4) if V] | Data | padding to a multiple of 4 (not counted in Length)
 */
#ifndef KAGI_TTLS_AVP_H
#define KAGI_TTLS_AVP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#define AVP_FLAG_V 0x80
#define AVP_FLAG_M 0x40
#define AVP_MAX 32

struct ttls_avp {
	uint32_t code;
	uint32_t vendor; /* 0 when the V flag is clear */
	bool mandatory;
	const uint8_t *data; /* points into the parsed buffer */
	size_t len;
};

struct ttls_avps {
	struct ttls_avp avp[AVP_MAX];
	unsigned n;
};

/*
 * ttls_avp_parse - split buf into AVPs. Returns NULL, or a static error string: Length below
 * the header size, an AVP running past the buffer, reserved flag bits, too many AVPs.
 * (Whether an unknown AVP with M set is acceptable is the caller's decision.)
 */
const char *ttls_avp_parse(const uint8_t *buf, size_t len, struct ttls_avps *out);

/* ttls_avp_find - first AVP with this code and vendor, or NULL. */
const struct ttls_avp *ttls_avp_find(const struct ttls_avps *a, uint32_t code, uint32_t vendor);

/*
 * ttls_avp_append - append one AVP (M flag set, V if vendor != 0) with padding to *buf
 * (talloc child of ctx, grown as needed). 0 or -1.
 */
int ttls_avp_append(TALLOC_CTX *ctx, uint8_t **buf, size_t *len, uint32_t code,
		    uint32_t vendor, const uint8_t *data, size_t dlen);

#endif
