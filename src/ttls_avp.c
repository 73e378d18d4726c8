/*
 * ttls_avp.c - EAP-TTLS AVPs (RFC 5281 §10). See ttls_avp.h.
 */
#include "ttls_avp.h"

#include <string.h>

const char *
ttls_avp_parse(const uint8_t *buf, size_t len, struct ttls_avps *out)
{
	size_t off = 0;

	out->n = 0;
	while (off < len) {
		struct ttls_avp *a;
		size_t alen, hdr, padded;
		uint8_t flags;

		if (len - off < 8)
			return "TTLS AVP header truncated";
		if (out->n >= AVP_MAX)
			return "too many TTLS AVPs";
		a = &out->avp[out->n];
		a->code = ((uint32_t)buf[off] << 24) | ((uint32_t)buf[off + 1] << 16) |
			  ((uint32_t)buf[off + 2] << 8) | buf[off + 3];
		flags = buf[off + 4];
		alen = ((size_t)buf[off + 5] << 16) | ((size_t)buf[off + 6] << 8) | buf[off + 7];
		if (flags & ~(AVP_FLAG_V | AVP_FLAG_M))
			return "TTLS AVP with reserved flag bits set";
		hdr = (flags & AVP_FLAG_V) ? 12 : 8;
		if (alen < hdr)
			return "TTLS AVP Length smaller than its header";
		if (alen > len - off)
			return "TTLS AVP runs past the end of the data";
		a->mandatory = (flags & AVP_FLAG_M) != 0;
		a->vendor = 0;
		if (flags & AVP_FLAG_V)
			a->vendor = ((uint32_t)buf[off + 8] << 24) | ((uint32_t)buf[off + 9] << 16) |
				    ((uint32_t)buf[off + 10] << 8) | buf[off + 11];
		a->data = buf + off + hdr;
		a->len = alen - hdr;
		out->n++;
		/* The next AVP starts on a 4-octet boundary; the last one may omit its padding. */
		padded = (alen + 3) & ~(size_t)3;
		if (padded > len - off)
			padded = len - off;
		off += padded;
	}
	return NULL;
}

const struct ttls_avp *
ttls_avp_find(const struct ttls_avps *a, uint32_t code, uint32_t vendor)
{
	unsigned i;

	for (i = 0; i < a->n; i++)
		if (a->avp[i].code == code && a->avp[i].vendor == vendor)
			return &a->avp[i];
	return NULL;
}

int
ttls_avp_append(TALLOC_CTX *ctx, uint8_t **buf, size_t *len, uint32_t code, uint32_t vendor,
		const uint8_t *data, size_t dlen)
{
	size_t hdr = vendor ? 12 : 8, alen = hdr + dlen, padded = (alen + 3) & ~(size_t)3;
	uint8_t *p;

	if (alen > 0xffffff)
		return -1;
	p = talloc_realloc(ctx, *buf, uint8_t, *len + padded);
	if (!p)
		return -1;
	*buf = p;
	p += *len;
	memset(p, 0, padded);
	p[0] = (uint8_t)(code >> 24);
	p[1] = (uint8_t)(code >> 16);
	p[2] = (uint8_t)(code >> 8);
	p[3] = (uint8_t)code;
	p[4] = AVP_FLAG_M | (vendor ? AVP_FLAG_V : 0);
	p[5] = (uint8_t)(alen >> 16);
	p[6] = (uint8_t)(alen >> 8);
	p[7] = (uint8_t)alen;
	if (vendor) {
		p[8] = (uint8_t)(vendor >> 24);
		p[9] = (uint8_t)(vendor >> 16);
		p[10] = (uint8_t)(vendor >> 8);
		p[11] = (uint8_t)vendor;
	}
	if (dlen)
		memcpy(p + hdr, data, dlen);
	*len += padded;
	return 0;
}
