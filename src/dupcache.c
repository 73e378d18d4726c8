/*
 * dupcache.c - duplicate request cache (see dupcache.h): a hash on (source, port, id) and a
 * FIFO for expiry (every entry has the same lifetime, so insertion order is expiry order). An
 * entry without reply bytes marks a request a worker thread is still answering.
 */
#include "dupcache.h"

#include "dlist.h"
#include "hash.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#define DUP_BUCKETS 8192

struct dup_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
	uint8_t id;
};

struct dup_entry {
	struct dup_entry *hnext;
	struct dlist fifo;
	struct dup_key key;
	uint8_t vector[16];
	uint64_t expires_ms;
	size_t len;
	uint8_t *reply; /* NULL: still being answered */
};

struct dupcache {
	struct dup_entry *buckets[DUP_BUCKETS];
	struct dlist fifo;
	unsigned count;
	pthread_mutex_t lock; /* the I/O thread begins, worker threads store */
};

static void
make_key(struct dup_key *k, const struct sockaddr *src, uint8_t id)
{
	memset(k, 0, sizeof(*k));
	k->id = id;
	k->family = (uint8_t)src->sa_family;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;

		memcpy(k->addr, &s4->sin_addr, 4);
		k->port = s4->sin_port;
	} else if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;

		memcpy(k->addr, &s6->sin6_addr, 16);
		k->port = s6->sin6_port;
	}
}

static unsigned
key_hash(const struct dup_key *k)
{
	return hash_bytes(HASH_INIT, k, sizeof(*k)) % DUP_BUCKETS;
}

static int
dupcache_destructor(struct dupcache *dc)
{
	pthread_mutex_destroy(&dc->lock);
	return 0;
}

struct dupcache *
dupcache_new(TALLOC_CTX *ctx)
{
	struct dupcache *dc = talloc_zero(ctx, struct dupcache);

	if (dc) {
		dlist_init(&dc->fifo);
		pthread_mutex_init(&dc->lock, NULL);
		talloc_set_destructor(dc, dupcache_destructor);
	}
	return dc;
}

static struct dup_entry **
slot(struct dupcache *dc, const struct dup_key *k)
{
	struct dup_entry **pp = &dc->buckets[key_hash(k)];

	for (; *pp; pp = &(*pp)->hnext)
		if (memcmp(&(*pp)->key, k, sizeof(*k)) == 0)
			break;
	return pp;
}

static void
unlink_entry(struct dupcache *dc, struct dup_entry **pp)
{
	struct dup_entry *e = *pp;

	*pp = e->hnext;
	dlist_del(&e->fifo);
	dc->count--;
	talloc_free(e);
}

/* Insert (or replace) the entry for k: a reply, or a pending mark when reply is NULL. Locked. */
static void
put_locked(struct dupcache *dc, const struct dup_key *k, const uint8_t vector[16],
	   const uint8_t *reply, size_t len, uint64_t now_ms, uint64_t ttl_ms, unsigned max)
{
	struct dup_entry **pp = slot(dc, k), *e;

	if (*pp)
		unlink_entry(dc, pp);
	while (dc->count >= max && !dlist_empty(&dc->fifo)) {
		struct dup_entry *old = dlist_entry(dc->fifo.next, struct dup_entry, fifo);

		unlink_entry(dc, slot(dc, &old->key));
	}
	e = talloc_zero(dc, struct dup_entry);
	if (!e)
		return;
	if (reply) {
		e->reply = talloc_memdup(e, reply, len);
		if (!e->reply) {
			talloc_free(e);
			return;
		}
		e->len = len;
	}
	e->key = *k;
	memcpy(e->vector, vector, 16);
	e->expires_ms = now_ms + ttl_ms;
	pp = slot(dc, k);
	e->hnext = *pp;
	*pp = e;
	dlist_add_tail(&dc->fifo, &e->fifo);
	dc->count++;
}

/* What the cache holds for this exact request (not expired). Locked. */
static enum dup_state
lookup_locked(struct dupcache *dc, const struct dup_key *k, const uint8_t vector[16],
	      uint64_t now_ms, uint8_t *out, size_t outcap, size_t *len)
{
	struct dup_entry *e = *slot(dc, k);

	if (!e || e->expires_ms <= now_ms || memcmp(e->vector, vector, 16) != 0)
		return DUP_NONE;
	if (!e->reply)
		return DUP_PENDING;
	if (e->len > outcap)
		return DUP_NONE;
	memcpy(out, e->reply, e->len);
	*len = e->len;
	return DUP_REPLY;
}

enum dup_state
dupcache_find(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
	      const uint8_t vector[16], uint64_t now_ms, uint8_t *out, size_t outcap, size_t *len)
{
	struct dup_key k;
	enum dup_state r;

	make_key(&k, src, id);
	pthread_mutex_lock(&dc->lock);
	r = lookup_locked(dc, &k, vector, now_ms, out, outcap, len);
	pthread_mutex_unlock(&dc->lock);
	return r;
}

enum dup_state
dupcache_begin(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
	       const uint8_t vector[16], uint64_t now_ms, uint64_t ttl_ms, unsigned max,
	       uint8_t *out, size_t outcap, size_t *len)
{
	struct dup_key k;
	enum dup_state r;

	make_key(&k, src, id);
	pthread_mutex_lock(&dc->lock);
	r = lookup_locked(dc, &k, vector, now_ms, out, outcap, len);
	if (r == DUP_NONE)
		put_locked(dc, &k, vector, NULL, 0, now_ms, ttl_ms, max);
	pthread_mutex_unlock(&dc->lock);
	return r;
}

void
dupcache_store(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
	       const uint8_t vector[16], const uint8_t *reply, size_t len, uint64_t now_ms,
	       uint64_t ttl_ms, unsigned max)
{
	struct dup_key k;
	struct dup_entry *e;

	make_key(&k, src, id);
	pthread_mutex_lock(&dc->lock);
	e = *slot(dc, &k);
	/*
	 * A newer request that reused the Identifier is being worked on: its reply will be the
	 * one to remember, not this late one.
	 */
	if (!(e && !e->reply && memcmp(e->vector, vector, 16) != 0))
		put_locked(dc, &k, vector, reply, len, now_ms, ttl_ms, max);
	pthread_mutex_unlock(&dc->lock);
}

void
dupcache_cancel(struct dupcache *dc, const struct sockaddr *src, uint8_t id,
		const uint8_t vector[16])
{
	struct dup_key k;
	struct dup_entry **pp;

	make_key(&k, src, id);
	pthread_mutex_lock(&dc->lock);
	pp = slot(dc, &k);
	if (*pp && !(*pp)->reply && memcmp((*pp)->vector, vector, 16) == 0)
		unlink_entry(dc, pp);
	pthread_mutex_unlock(&dc->lock);
}

void
dupcache_expire(struct dupcache *dc, uint64_t now_ms)
{
	pthread_mutex_lock(&dc->lock);
	while (!dlist_empty(&dc->fifo)) {
		struct dup_entry *e = dlist_entry(dc->fifo.next, struct dup_entry, fifo);

		if (e->expires_ms > now_ms)
			break;
		unlink_entry(dc, slot(dc, &e->key));
	}
	pthread_mutex_unlock(&dc->lock);
}

unsigned
dupcache_count(struct dupcache *dc)
{
	unsigned n;

	pthread_mutex_lock(&dc->lock);
	n = dc->count;
	pthread_mutex_unlock(&dc->lock);
	return n;
}
