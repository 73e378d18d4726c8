/*
 * eap_tls_common.h - TLS-over-EAP framing shared by EAP-TLS, PEAP and EAP-TTLS (RFC 5216
 * §2.1.5 and §3.1): the Flags octet (L, M, S and the method's version bits), the optional
 * 4-octet TLS Message Length, reassembly of the peer's fragments with hard caps, and
 * fragmentation of our output to fit the link.
 */
#ifndef KAGI_EAP_TLS_COMMON_H
#define KAGI_EAP_TLS_COMMON_H

#include "eap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#define TLS_FLAG_L 0x80
#define TLS_FLAG_M 0x40
#define TLS_FLAG_S 0x20

struct tls_frame {
	/* from the peer */
	uint8_t *in;
	size_t in_len;
	size_t in_total; /* announced TLS Message Length, 0 if none was given */
	bool in_progress;
	/* to the peer */
	uint8_t *out;
	size_t out_len;
	size_t out_off;
	/* limits */
	size_t frag_size; /* TLS bytes per fragment we send */
	size_t max_msg;	  /* cap on one reassembled message */
};

enum frame_rx {
	FRAME_RX_ERROR,	   /* framing abuse: reject; *reason says why */
	FRAME_RX_MORE,	   /* a fragment was stored: answer with an ACK */
	FRAME_RX_COMPLETE, /* a whole message is in f->in / f->in_len */
	FRAME_RX_ACK,	   /* empty response: the peer acknowledges or has nothing to say */
};

/*
 * tls_frame_init - set limits. frag_size is the configured fragment size; framed_mtu (0 if the
 * NAS sent none) bounds it further so a whole EAP packet fits the link.
 */
void tls_frame_init(struct tls_frame *f, size_t frag_size, unsigned framed_mtu, size_t max_msg);

/*
 * tls_frame_receive - take the type-data of a Response (Flags, [Length], data). Buffers are
 * children of ctx (the method state). On FRAME_RX_COMPLETE the caller consumes f->in and then
 * calls tls_frame_consumed.
 */
enum frame_rx tls_frame_receive(TALLOC_CTX *ctx, struct tls_frame *f, const uint8_t *data,
				size_t len, uint8_t *flags_out, const char **reason);
void tls_frame_consumed(struct tls_frame *f);

/* tls_frame_queue - append bytes to send (copied). 0 or -1. */
int tls_frame_queue(TALLOC_CTX *ctx, struct tls_frame *f, const uint8_t *data, size_t len);
bool tls_frame_has_out(const struct tls_frame *f);

/*
 * tls_frame_next - type-data of the next Request carrying our pending output: Flags (with
 * extra_flags, e.g. S or a version), the L field on the first fragment of a fragmented
 * message, M when more follows. out->data is a child of ctx.
 */
int tls_frame_next(TALLOC_CTX *ctx, struct tls_frame *f, uint8_t extra_flags,
		   struct eap_buf *out);

/* tls_frame_ack - type-data of an empty Request (flags only): an ACK of a peer fragment. */
int tls_frame_ack(TALLOC_CTX *ctx, uint8_t extra_flags, struct eap_buf *out);

#endif
