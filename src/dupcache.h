/*
 * dupcache.h - RFC 5080 §2.2.2 duplicate detection: a request with the same source address,
 * source port, Identifier and Request Authenticator as one already answered gets the cached
 * reply bytes again, with no new work and no change of state. Only packets that passed the
 * Message-Authenticator check ever reach the cache.
 */
#ifndef KAGI_DUPCACHE_H
#define KAGI_DUPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <talloc.h>

struct dupcache;

struct dupcache *dupcache_new(TALLOC_CTX *ctx);

/*
 * All functions are thread-safe (one lock): the receiving thread begins, worker threads store
 * or cancel.
 */

enum dup_state {
	DUP_NONE,    /* not seen (or expired, or the Identifier was reused for a new request) */
	DUP_REPLY,   /* answered: the reply bytes were copied out */
	DUP_PENDING, /* a worker is answering it right now */
};

/*
 * dupcache_find - what the cache holds for this request; on DUP_REPLY the cached reply is
 * copied into out (outcap bytes) and *len set.
 */
enum dup_state dupcache_find(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
			     const uint8_t vector[16], uint64_t now_ms, uint8_t *out,
			     size_t outcap, size_t *len);

/*
 * dupcache_begin - dupcache_find, and on DUP_NONE mark the request pending (in one step): a
 * retransmission that arrives before the reply is then DUP_PENDING, not worked on twice. The
 * caller must end a DUP_NONE with dupcache_store or dupcache_cancel.
 */
enum dup_state dupcache_begin(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
			      const uint8_t vector[16], uint64_t now_ms, uint64_t ttl_ms,
			      unsigned max, uint8_t *out, size_t outcap, size_t *len);

/*
 * dupcache_store - remember the reply for ttl_ms; an older entry for the same source and
 * Identifier is replaced (the NAS reused the id for a new request), except a pending newer
 * request. At most max entries; the oldest go first.
 */
void dupcache_store(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
		    const uint8_t vector[16], const uint8_t *reply, size_t len, uint64_t now_ms,
		    uint64_t ttl_ms, unsigned max);

/* dupcache_cancel - the pending request got no reply: forget it (a retransmission is new). */
void dupcache_cancel(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
		     const uint8_t vector[16]);

void dupcache_expire(struct dupcache *dc, uint64_t now_ms);
unsigned dupcache_count(struct dupcache *dc);

#endif
