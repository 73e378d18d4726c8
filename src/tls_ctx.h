/*
 * tls_ctx.h - the TLS server side shared by all EAP-TLS/PEAP/TTLS conversations: one SSL_CTX
 * per configuration generation, the client-certificate verify store (CA + CRLs, re-read when the
 * CRL file changes), and the resumption cache.
 *
 * Resumption (RFC 5216 §2.1.2, RFC 9190 §2.1.3): sessions are kept server-side (TLS 1.2 session
 * IDs, TLS 1.3 stateful tickets) and only enter the cache when their conversation ends in
 * Access-Accept (tls_conn_commit_session). Every resumption re-checks the chain and revocation
 * against the current store and the policy, so a cached session never outlives a revocation.
 */
#ifndef KAGI_TLS_CTX_H
#define KAGI_TLS_CTX_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <talloc.h>

struct conf_tls;
struct tls_cache;
struct tls_server;

/*
 * tls_cache_new - resumption cache, bounded to max entries that live lifetime seconds. It
 * outlives configuration generations (a reload does not forget sessions). Child of ctx.
 */
struct tls_cache *tls_cache_new(TALLOC_CTX *ctx, unsigned max, unsigned lifetime);
unsigned tls_cache_count(struct tls_cache *cache);
/* tls_cache_expire - drop sessions older than their lifetime. */
void tls_cache_expire(struct tls_cache *cache, time_t now);

/*
 * tls_server_new - build the SSL_CTX and verify store from cfg (paths already absolute).
 * cache may be NULL (no resumption). Returns a child of ctx or NULL with err set.
 */
struct tls_server *tls_server_new(TALLOC_CTX *ctx, const struct conf_tls *cfg,
				  struct tls_cache *cache, char *err, size_t errlen);

/* tls_server_set_cache - attach the resumption cache (after a generation is swapped in). */
void tls_server_set_cache(struct tls_server *srv, struct tls_cache *cache);

/*
 * tls_server_refresh - re-read the CRL file if it changed on disk (cheap stat otherwise).
 * Returns 1 if a new CRL was loaded, 0 if unchanged, -1 with err set if the new file is bad
 * (the previous store stays in use; the same bad file is reported once).
 */
int tls_server_refresh(struct tls_server *srv, char *err, size_t errlen);

/* Internal to the TLS layer (tls_conn.c). */
SSL_CTX *tls_server_ssl_ctx(const struct tls_server *srv);
/*
 * tls_server_store_ref - the current verify store, with a reference (X509_STORE_free it), its
 * number (unique in the process, changes whenever CA or CRL do) and the earliest nextUpdate of
 * its CRLs (0: none).
 */
X509_STORE *tls_server_store_ref(struct tls_server *srv, unsigned long *gen, time_t *crl_until);
const struct conf_tls *tls_server_conf(const struct tls_server *srv);
struct tls_cache *tls_server_cache(const struct tls_server *srv);
/*
 * The verified-chain cache (one per tls_server, chain_cache_size entries, none if 0): key is the
 * SHA-256 of a client's certificate chain. known: did that chain verify against store
 * store_gen, with nothing in it expired by now (*until: when that ends)?
 */
void tls_server_chain_put(struct tls_server *srv, const unsigned char key[32],
			  unsigned long store_gen, time_t until, time_t now);
bool tls_server_chain_known(struct tls_server *srv, const unsigned char key[32],
			    unsigned long store_gen, time_t now, time_t *until);
/* Put a session in the cache (the cache takes its own reference). */
void tls_cache_put(struct tls_cache *cache, SSL_SESSION *sess, time_t now);
void tls_cache_remove(struct tls_cache *cache, const unsigned char *id, unsigned idlen);

#endif
