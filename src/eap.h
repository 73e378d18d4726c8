/*
 * eap.h - the EAP layer (RFC 3748, RFC 3579): packets, the method ops table, and the
 * conversation logic shared by every method: Identity, Nak, identifiers, round and
 * invalid-packet caps, Success/Failure.
 */
#ifndef KAGI_EAP_H
#define KAGI_EAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>

struct eap_session;

enum eap_code {
	EAP_CODE_REQUEST = 1,
	EAP_CODE_RESPONSE = 2,
	EAP_CODE_SUCCESS = 3,
	EAP_CODE_FAILURE = 4,
};

enum eap_type {
	EAP_TYPE_IDENTITY = 1,
	EAP_TYPE_NOTIFICATION = 2,
	EAP_TYPE_NAK = 3,
	EAP_TYPE_MD5 = 4,
	EAP_TYPE_GTC = 6,
	EAP_TYPE_TLS = 13,
	EAP_TYPE_TTLS = 21,
	EAP_TYPE_PEAP = 25,
	EAP_TYPE_MSCHAPV2 = 26,
};

#define EAP_HDR_LEN 4

/* Three outcomes: the conversation goes on, ends in Accept, or ends in Reject. */
enum eap_step {
	EAP_STEP_CONTINUE,
	EAP_STEP_SUCCESS,
	EAP_STEP_FAIL,
};

/* A byte buffer; data is a talloc child of whoever the caller says. */
struct eap_buf {
	uint8_t *data;
	size_t len;
};

/*
 * An EAP method. init() and process() fill out with the type-data of the next Request (without
 * the EAP header and type octet). On EAP_STEP_SUCCESS the method has set the session's keys and
 * authorization; on EAP_STEP_FAIL, s->reason. accepted() runs once the Accept is decided (e.g.
 * to make a TLS session resumable).
 */
struct eap_method {
	const char *name;
	uint8_t type;
	int (*init)(struct eap_session *s, struct eap_buf *out);
	enum eap_step (*process)(struct eap_session *s, const uint8_t *data, size_t len,
				 struct eap_buf *out);
	void (*accepted)(struct eap_session *s, time_t now);
};

/* eap_method_find - the registered method for an EAP type, or NULL. */
const struct eap_method *eap_method_find(uint8_t type);
/* eap_method_by_name - "tls" etc. (case-insensitive), or NULL. */
const struct eap_method *eap_method_by_name(const char *name);

/* eap_type_name - printable name of an EAP type (static). */
const char *eap_type_name(uint8_t type);

/*
 * eap_packet_check - validate an EAP packet received from a peer: header, Length field (RFC 3748
 * §4: a Length larger than the data is discarded; trailing octets are padding). On success
 * *eap_len is the Length field. Returns NULL or a static error string.
 */
const char *eap_packet_check(const uint8_t *eap, size_t len, size_t *eap_len);

/*
 * eap_start - begin a conversation on a new session from an EAP-Response/Identity, or from
 *   an EAP-Start (RFC 3579 §2.1: an EAP-Message of 0 or 2 octets) by asking for the identity.
 * eap_continue - process the next Response of the conversation.
 * Both put the complete EAP packet to send in out (child of ctx) and return the step; on FAIL,
 * out holds an EAP-Failure and s->reason says why.
 */
enum eap_step eap_start(struct eap_session *s, TALLOC_CTX *ctx, const uint8_t *eap, size_t len,
			struct eap_buf *out);
enum eap_step eap_continue(struct eap_session *s, TALLOC_CTX *ctx, const uint8_t *eap,
			   size_t len, struct eap_buf *out);

/*
 * eap_packet_build - an EAP packet: code, id, and (type >= 0) type and data. Child of ctx.
 * 0 or -1.
 */
int eap_packet_build(TALLOC_CTX *ctx, uint8_t code, uint8_t id, int type, const uint8_t *data,
		     size_t len, struct eap_buf *out);

/* eap_failure - an EAP-Failure packet for id (child of ctx). */
int eap_failure(TALLOC_CTX *ctx, uint8_t id, struct eap_buf *out);

#endif
