/*
 * eap_tls_base.h - the TLS conversation shared by EAP-TLS, PEAP and EAP-TTLS: the Start, the
 * handshake carried in fragments (eap_tls_common.h), alerts, and application data through the
 * tunnel once the handshake is done. Each method builds its own phase on top: certificate
 * checks and the commitment message (EAP-TLS), tunneled EAP (PEAP), AVPs (TTLS).
 */
#ifndef KAGI_EAP_TLS_BASE_H
#define KAGI_EAP_TLS_BASE_H

#include "eap.h"
#include "eap_tls_common.h"

#include <stdbool.h>
#include <stdint.h>

struct eap_session;
struct tls_conn;

enum tls_base_state {
	TB_START,     /* Start sent, waiting for the ClientHello */
	TB_HANDSHAKE, /* handshake in progress */
	TB_TUNNEL,    /* handshake complete: application data flows */
	TB_ALERT,     /* a fatal alert is out; Failure after the peer's answer */
};

struct tls_base {
	struct tls_conn *conn;
	struct tls_frame frame;
	enum tls_base_state st;
	uint8_t type;  /* EAP type */
	uint8_t flags; /* version bits carried in every request (PEAP, TTLS) */
	bool want_client_cert;
	const char *name;
};

enum tls_base_event {
	TB_EV_SEND,	 /* out holds the type-data of the next Request */
	TB_EV_FAIL,	 /* s->reason says why */
	TB_EV_HANDSHAKE, /* the handshake just completed; our last flight is still pending */
	TB_EV_DATA,	 /* application data from the peer in *app (may be empty) */
	TB_EV_ACK,	 /* the peer acknowledged and nothing of ours is pending */
};

/*
 * tls_base_init - put the Start request in out. The TLS connection (with or without a
 * client-certificate request) is created when the ClientHello arrives, so a conversation that
 * never gets past the Start costs no TLS state. ctx owns the buffers (the method state).
 * 0 or -1.
 */
int tls_base_init(struct eap_session *s, void *ctx, struct tls_base *b, const char *name,
		  uint8_t type, uint8_t flags, bool want_client_cert, struct eap_buf *out);

/*
 * tls_base_process - take the type-data of a Response. On TB_EV_HANDSHAKE and TB_EV_DATA, *app
 * (child of ctx) holds whatever application data came with it, *app_len its length.
 */
enum tls_base_event tls_base_process(struct eap_session *s, void *ctx, struct tls_base *b,
				     const uint8_t *data, size_t len, struct eap_buf *out,
				     uint8_t **app, size_t *app_len);

/* tls_base_write - encrypt application data for the peer (sent by the next flush). 0 or -1. */
int tls_base_write(struct eap_session *s, struct tls_base *b, const uint8_t *data, size_t len);

/*
 * tls_base_flush - move what TLS wants sent into the fragmenter and put the next fragment in
 * out: EAP_STEP_CONTINUE. EAP_STEP_SUCCESS means there was nothing to send (the caller
 * decides what comes next); EAP_STEP_FAIL on error.
 */
enum eap_step tls_base_flush(struct eap_session *s, void *ctx, struct tls_base *b,
			     struct eap_buf *out);

/*
 * tls_base_derive_keys - MSK and Session-Id into the session. TLS 1.3: RFC 9190 §2.3 /
 * RFC 9427 §2.1 exporter labels with the type code as context. TLS 1.2: label12 over the
 * randoms ("client EAP encryption" for EAP-TLS and PEAP, "ttls keying material" for TTLS).
 * The EMSK is never sent to a NAS, so it is not derived. 0 or -1.
 */
int tls_base_derive_keys(struct eap_session *s, struct tls_base *b, const char *label12);

/*
 * tls_base_set_keys - a method that derived the MSK itself (PEAP: from the key material it
 * already took for crypto binding, or the CSK) puts it into the session with the Session-Id.
 * 0 or -1.
 */
int tls_base_set_keys(struct eap_session *s, struct tls_base *b, const uint8_t msk[64]);

/*
 * eap_tls_msk - the MSK (the first 64 of the 128 octets of Key_Material) of a TLS-based EAP
 * method of this type on connection c (either side). 0 or -1.
 */
int eap_tls_msk(struct tls_conn *c, uint8_t type, const char *label12, uint8_t msk[64]);

/* eap_tls_session_id - the 65-octet Session-Id (type, then 64 octets). 0 or -1. */
int eap_tls_session_id(struct tls_conn *c, uint8_t type, uint8_t session_id[65]);

#endif
