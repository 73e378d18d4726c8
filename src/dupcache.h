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
 * dupcache_find - the cached reply for this request, or false. *reply points into the cache
 * (valid until the next store or expire).
 */
bool dupcache_find(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
		   const uint8_t vector[16], uint64_t now_ms, const uint8_t **reply, size_t *len);

/*
 * dupcache_store - remember the reply for ttl_ms; an older entry for the same source and
 * Identifier is replaced (the NAS reused the id for a new request). At most max entries; the
 * oldest go first.
 */
void dupcache_store(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
		    const uint8_t vector[16], const uint8_t *reply, size_t len, uint64_t now_ms,
		    uint64_t ttl_ms, unsigned max);

void dupcache_expire(struct dupcache *dc, uint64_t now_ms);
unsigned dupcache_count(const struct dupcache *dc);

#endif
