/*
 * peer.h - an EAP peer (supplicant side) for EAP-TLS, PEAPv0 (EAP-MSCHAPv2, GTC) and EAP-TTLS
 * (PAP, MSCHAPv2, EAP-MSCHAPv2, EAP-GTC), TLS 1.2 and 1.3. It reuses the daemon's framing
 * (eap_tls_common.h), TLS connection (tls_conn.h, client mode), key derivation, MS-CHAPv2 and
 * the PEAP/TTLS encodings. Used by `kagi test` and `kagi bench`. Nothing here logs; a trace
 * callback sees each step.
 */
#ifndef KAGI_PEER_H
#define KAGI_PEER_H

#include "eap.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

enum peer_method {
	PEER_TLS,
	PEER_PEAP,
	PEER_TTLS,
};

enum peer_inner {
	INNER_NONE,
	INNER_MSCHAPV2,	    /* PEAP: EAP-MSCHAPv2; TTLS: MS-CHAPv2 in AVPs */
	INNER_GTC,	    /* PEAP: EAP-GTC */
	INNER_PAP,	    /* TTLS */
	INNER_EAP_MSCHAPV2, /* TTLS */
	INNER_EAP_GTC,	    /* TTLS */
};

struct peer_config {
	enum peer_method method;
	enum peer_inner inner;
	const char *identity;	 /* inner identity (or the only one for EAP-TLS) */
	const char *outer_identity; /* NULL: same as identity */
	const char *password;
	SSL_CTX *ssl_ctx;	 /* client context: CA, versions, client certificate */
	const char *server_name; /* check the server certificate's name, or NULL */
	size_t fragment_size;	 /* our TLS bytes per EAP fragment */
	void (*trace)(void *arg, const char *text);
	void *trace_arg;
};

enum peer_step {
	PEER_CONTINUE, /* out holds the next EAP-Response */
	PEER_SUCCESS,  /* EAP-Success received after a complete method */
	PEER_FAIL,     /* failure: peer_error says why */
};

struct peer;

/*
 * peer_new - one conversation. session (may be NULL) is offered for TLS resumption. Child of
 * ctx.
 */
struct peer *peer_new(TALLOC_CTX *ctx, const struct peer_config *cfg, SSL_SESSION *session);

/* peer_identity - the first EAP-Response/Identity (identifier 0), child of ctx. */
int peer_identity(struct peer *p, TALLOC_CTX *ctx, struct eap_buf *out);

/* peer_process - one EAP packet from the server (Request, Success or Failure). */
enum peer_step peer_process(struct peer *p, TALLOC_CTX *ctx, const uint8_t *eap, size_t len,
			    struct eap_buf *out);

const char *peer_error(const struct peer *p);
/* The MSK the peer derived (64 octets), or NULL if none. */
const uint8_t *peer_msk(const struct peer *p);
const char *peer_tls_version(const struct peer *p);
bool peer_resumed(const struct peer *p);
/* The TLS session to offer next time (new reference) or NULL. */
SSL_SESSION *peer_session(const struct peer *p);

/* Parse "tls", "peap", "peap-gtc", "ttls-pap", ... into method + inner. 0 or -1. */
int peer_parse_method(const char *name, enum peer_method *m, enum peer_inner *inner);
/* Parse a --tls value, "1.2", "1.3" or "any", into a version range. 0 or -1. */
int peer_parse_tls(const char *s, int *min_version, int *max_version);

#endif
