/*
 * tls_conn.h - one TLS server connection over two memory BIOs: bytes in, bytes out. It never
 * touches a socket; the EAP framing layer carries the bytes (RFC 5216 §2.1.5).
 */
#ifndef KAGI_TLS_CONN_H
#define KAGI_TLS_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <talloc.h>

struct tls_server;
struct cert_facts;

enum tls_step {
	TLS_STEP_CONTINUE, /* handshake goes on: send what tls_conn_pull gives */
	TLS_STEP_DONE,	   /* handshake complete */
	TLS_STEP_FAIL,	   /* failed: tls_conn_reason says why; an alert may be pending */
};

struct tls_conn;

/*
 * tls_conn_new - a server connection on srv's context and its current verify store (taken
 * now: a CRL loaded later applies to the next conversation). Child of ctx; the SSL object is
 * freed with it. NULL with err set on failure.
 */
struct tls_conn *tls_conn_new(TALLOC_CTX *ctx, struct tls_server *srv, bool want_client_cert,
			      char *err, size_t errlen);

/*
 * tls_client_ctx_new - a client SSL_CTX for the EAP peer (kagi test / bench): trust ca_file,
 * present cert/key if given, versions min..max (TLS1_2_VERSION, TLS1_3_VERSION). NULL + err.
 * Free with SSL_CTX_free.
 */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert, const char *key,
			    int min_version, int max_version, char *err, size_t errlen);

/*
 * tls_conn_new_client - a client connection on cctx; server_name, if given, must match the
 * server certificate (SAN DNS). session, if given, is offered for resumption.
 */
struct tls_conn *tls_conn_new_client(TALLOC_CTX *ctx, SSL_CTX *cctx, const char *server_name,
				     SSL_SESSION *session, char *err, size_t errlen);

/* tls_conn_get_session - the session to offer next time (a new reference), or NULL. */
SSL_SESSION *tls_conn_get_session(const struct tls_conn *c);

/*
 * tls_conn_set_eap_type - sessions are resumable only within the same EAP method (a PEAP
 * session cannot be resumed inside TTLS): the session ID context carries the type.
 */
void tls_conn_set_eap_type(struct tls_conn *c, uint8_t type);

/* Trace each TLS handshake message and verify step (for -X); fn(arg, text). */
void tls_conn_set_trace(struct tls_conn *c, void (*fn)(void *arg, const char *text), void *arg);

/* tls_conn_push - hand received TLS records to OpenSSL. 0 or -1. */
int tls_conn_push(struct tls_conn *c, const uint8_t *data, size_t len);

/* tls_conn_handshake - advance the handshake with what was pushed. */
enum tls_step tls_conn_handshake(struct tls_conn *c);

/* tls_conn_pending - bytes OpenSSL wants sent. */
size_t tls_conn_pending(const struct tls_conn *c);
/*
 * tls_conn_pull - take all pending output. *out is a talloc child of ctx (NULL when none).
 * Returns the length.
 */
size_t tls_conn_pull(struct tls_conn *c, TALLOC_CTX *ctx, uint8_t **out);

/* tls_conn_write - send application data (e.g. the TLS 1.3 commitment message). 0 or -1. */
int tls_conn_write(struct tls_conn *c, const uint8_t *data, size_t len);

/*
 * tls_conn_read - decrypt application data the peer sent (after the handshake). Returns the
 * number of bytes (0 if none is available) or -1 on a TLS error (alert, bad record).
 */
int tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap);

/* tls_conn_new_ticket - TLS 1.3: issue a (stateful) session ticket with the next write. */
int tls_conn_new_ticket(struct tls_conn *c);

/* tls_conn_export - RFC 5705 exporter. 0 or -1. */
int tls_conn_export(struct tls_conn *c, const char *label, const uint8_t *context,
		    size_t ctxlen, bool use_context, uint8_t *out, size_t outlen);

/* Client and server random (32 bytes each), for the TLS 1.2 Session-Id. */
void tls_conn_randoms(const struct tls_conn *c, uint8_t client_random[32],
		      uint8_t server_random[32]);

int tls_conn_version(const struct tls_conn *c); /* TLS1_2_VERSION, TLS1_3_VERSION */
const char *tls_conn_version_str(const struct tls_conn *c);
bool tls_conn_resumed(const struct tls_conn *c);

/* Why the handshake failed (static string), or NULL. */
const char *tls_conn_reason(const struct tls_conn *c);

/*
 * tls_conn_peer_facts - read the peer's leaf certificate (also on a resumed session). Returns
 * false if there is none. A resumption of a session this server cached takes the facts kept
 * with the session (tls_conn_facts_from_session then says so) instead of parsing the same
 * certificate again; a full handshake's facts are kept with its session on commit.
 */
bool tls_conn_peer_facts(struct tls_conn *c, struct cert_facts *f);
bool tls_conn_facts_from_session(const struct tls_conn *c);

/*
 * tls_conn_recheck - for a resumed session: verify the stored peer chain again against the
 * server's current store (dates, CRL, purpose). When the session was last verified against this
 * very store and nothing in it has expired by now (its verify stamp), the result is known and
 * nothing is recomputed. Returns true, or false with *reason set.
 */
bool tls_conn_recheck(struct tls_conn *c, struct tls_server *srv, time_t now,
		      const char **reason);

/*
 * tls_conn_commit_session - the conversation ended in Accept: make its session resumable.
 * tls_conn_forget_session - drop the session from the cache (a resumption was refused).
 */
void tls_conn_commit_session(struct tls_conn *c, time_t now);
void tls_conn_forget_session(struct tls_conn *c);

/*
 * A short note kept with the resumable session (e.g. the inner identity that authenticated in
 * a PEAP/TTLS tunnel). tls_conn_set_note: remember it for tls_conn_commit_session.
 * tls_conn_session_note: the note of the session this connection resumed, or NULL.
 */
void tls_conn_set_note(struct tls_conn *c, const char *note);
const char *tls_conn_session_note(const struct tls_conn *c);

/* OpenSSL new-session callback, installed by tls_ctx.c. */
int tls_conn_new_session_cb(SSL *ssl, SSL_SESSION *sess);
/*
 * OpenSSL certificate-verify callback (arg: the tls_server), installed by tls_ctx.c: verifies
 * a client's chain, or skips that when the same chain verified against the same store before
 * and nothing in it has expired since (tls_server_chain_known).
 */
int tls_conn_verify_chain(X509_STORE_CTX *xs, void *arg);

#endif
