/*
 * eap_tls_common.c - TLS-over-EAP framing (see eap_tls_common.h).
 */
#include "eap_tls_common.h"

#include <string.h>

/* EAPOL header 4 + EAP header 4 + type 1 + flags 1 + TLS Message Length 4. */
#define FRAME_OVERHEAD 14
#define FRAME_MIN 64

void
tls_frame_init(struct tls_frame *f, size_t frag_size, unsigned framed_mtu, size_t max_msg)
{
	memset(f, 0, sizeof(*f));
	f->frag_size = frag_size;
	/* A Framed-MTU too small to be real is ignored rather than trusted into tiny frames. */
	if (framed_mtu >= FRAME_MIN + FRAME_OVERHEAD && framed_mtu - FRAME_OVERHEAD < f->frag_size)
		f->frag_size = framed_mtu - FRAME_OVERHEAD;
	if (f->frag_size < FRAME_MIN)
		f->frag_size = FRAME_MIN;
	f->max_msg = max_msg;
}

static void
reset_in(struct tls_frame *f)
{
	TALLOC_FREE(f->in);
	f->in_len = 0;
	f->in_total = 0;
	f->in_progress = false;
}

enum frame_rx
tls_frame_receive(TALLOC_CTX *ctx, struct tls_frame *f, const uint8_t *data, size_t len,
		  uint8_t *flags_out, const char **reason)
{
	uint8_t flags;
	size_t total = 0, dlen;
	bool has_len, more;
	uint8_t *grown;

	if (len < 1) {
		*reason = "EAP-TLS packet without Flags";
		return FRAME_RX_ERROR;
	}
	flags = data[0];
	*flags_out = flags;
	has_len = (flags & TLS_FLAG_L) != 0;
	more = (flags & TLS_FLAG_M) != 0;
	data++;
	len--;
	if (flags & TLS_FLAG_S) {
		*reason = "EAP-TLS Start flag from the peer";
		return FRAME_RX_ERROR;
	}
	if (has_len) {
		if (len < 4) {
			*reason = "EAP-TLS Length field truncated";
			return FRAME_RX_ERROR;
		}
		total = ((size_t)data[0] << 24) | ((size_t)data[1] << 16) | ((size_t)data[2] << 8) |
			data[3];
		data += 4;
		len -= 4;
		if (total == 0) {
			*reason = "EAP-TLS length mismatch (TLS Message Length 0)";
			return FRAME_RX_ERROR;
		}
		if (total > f->max_msg) {
			*reason = "EAP-TLS message too large";
			return FRAME_RX_ERROR;
		}
	}
	dlen = len;

	if (!f->in_progress) {
		if (dlen == 0) {
			if (has_len || more) {
				*reason = "EAP-TLS empty fragment";
				return FRAME_RX_ERROR;
			}
			return FRAME_RX_ACK;
		}
		f->in_total = total;
	} else {
		/*
		 * RFC 5216 §2.1.5: L is required on the first fragment only; a repeated L must
		 * announce the same length, or this is a new message mid-reassembly.
		 */
		if (has_len && total != f->in_total) {
			reset_in(f);
			*reason = "EAP-TLS new message started in the middle of a fragmented one";
			return FRAME_RX_ERROR;
		}
		if (dlen == 0) {
			reset_in(f);
			*reason = "EAP-TLS empty fragment";
			return FRAME_RX_ERROR;
		}
	}

	/* Caps: the announced length, and the configured maximum when none was announced. */
	if ((f->in_total && f->in_len + dlen > f->in_total) || f->in_len + dlen > f->max_msg) {
		*reason = f->in_total ? "EAP-TLS length mismatch (more data than announced)"
				      : "EAP-TLS message too large";
		reset_in(f);
		return FRAME_RX_ERROR;
	}
	grown = talloc_realloc(ctx, f->in, uint8_t, f->in_len + dlen);
	if (!grown) {
		reset_in(f);
		*reason = "out of memory";
		return FRAME_RX_ERROR;
	}
	f->in = grown;
	memcpy(f->in + f->in_len, data, dlen);
	f->in_len += dlen;

	if (more) {
		f->in_progress = true;
		return FRAME_RX_MORE;
	}
	if (f->in_total && f->in_len != f->in_total) {
		reset_in(f);
		*reason = "EAP-TLS length mismatch (less data than announced)";
		return FRAME_RX_ERROR;
	}
	f->in_progress = false;
	return FRAME_RX_COMPLETE;
}

void
tls_frame_consumed(struct tls_frame *f)
{
	reset_in(f);
}

int
tls_frame_queue(TALLOC_CTX *ctx, struct tls_frame *f, const uint8_t *data, size_t len)
{
	uint8_t *grown;

	if (len == 0)
		return 0;
	if (f->out_off == f->out_len) {
		TALLOC_FREE(f->out);
		f->out_len = f->out_off = 0;
	}
	grown = talloc_realloc(ctx, f->out, uint8_t, f->out_len + len);
	if (!grown)
		return -1;
	f->out = grown;
	memcpy(f->out + f->out_len, data, len);
	f->out_len += len;
	return 0;
}

bool
tls_frame_has_out(const struct tls_frame *f)
{
	return f->out_off < f->out_len;
}

int
tls_frame_next(TALLOC_CTX *ctx, struct tls_frame *f, uint8_t extra_flags, struct eap_buf *out)
{
	size_t left = f->out_len - f->out_off;
	size_t chunk = left > f->frag_size ? f->frag_size : left;
	bool first = f->out_off == 0;
	bool fragmented = left > f->frag_size || !first;
	size_t hdr = 1 + (first && fragmented ? 4 : 0);
	uint8_t *p;

	p = talloc_array(ctx, uint8_t, hdr + chunk);
	if (!p)
		return -1;
	p[0] = extra_flags;
	if (first && fragmented) {
		p[0] |= TLS_FLAG_L;
		p[1] = (uint8_t)(f->out_len >> 24);
		p[2] = (uint8_t)(f->out_len >> 16);
		p[3] = (uint8_t)(f->out_len >> 8);
		p[4] = (uint8_t)f->out_len;
	}
	if (chunk < left)
		p[0] |= TLS_FLAG_M;
	memcpy(p + hdr, f->out + f->out_off, chunk);
	f->out_off += chunk;
	if (f->out_off == f->out_len) {
		TALLOC_FREE(f->out);
		f->out_len = f->out_off = 0;
	}
	out->data = p;
	out->len = hdr + chunk;
	return 0;
}

int
tls_frame_ack(TALLOC_CTX *ctx, uint8_t extra_flags, struct eap_buf *out)
{
	out->data = talloc_array(ctx, uint8_t, 1);
	if (!out->data)
		return -1;
	out->data[0] = extra_flags;
	out->len = 1;
	return 0;
}
