/*
 * session.c - the session table (see session.h): hash on State, global and per-client LRU.
 */
#include "session.h"

#include "conf.h"
#include "hash.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SESSION_BUCKETS 16384
#define SLOT_BUCKETS 1024

/* Per-client accounting, kept by name so it survives configuration reloads. */
struct client_slot {
	struct client_slot *next;
	struct dlist lru;
	unsigned count;
	char *name;
};

struct session_table {
	struct eap_session *buckets[SESSION_BUCKETS];
	struct dlist lru;
	unsigned count;
	struct client_slot *slots[SLOT_BUCKETS]; /* by name hash: one per RADIUS client */
	session_drop_fn *drop;
	void *drop_arg;
	bool freeing;
	/*
	 * Worker threads share the table. The lock covers the hash, the LRU lists, the counts and
	 * every session's links and busy flag; a session's own contents belong to the one thread
	 * that claimed it (busy) until it releases or ends it.
	 */
	pthread_mutex_t lock;
};

static unsigned
state_hash(const uint8_t *state)
{
	uint32_t h;

	/* State is uniformly random: its first bytes are a fine hash. */
	memcpy(&h, state, sizeof(h));
	return h % SESSION_BUCKETS;
}

static void unlink_locked(struct session_table *t, struct eap_session *s);

static int
table_free(struct session_table *t)
{
	struct dlist *n;

	/* Sessions are not talloc children of the table (threads): free what is left. */
	pthread_mutex_lock(&t->lock);
	while ((n = dlist_first(&t->lru)) != NULL) {
		struct eap_session *s = dlist_entry(n, struct eap_session, lru);

		unlink_locked(t, s);
		talloc_free(s);
	}
	t->freeing = true;
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_destroy(&t->lock);
	return 0;
}

struct session_table *
session_table_new(TALLOC_CTX *ctx, session_drop_fn *drop, void *arg)
{
	struct session_table *t = talloc_zero(ctx, struct session_table);

	if (!t)
		return NULL;
	dlist_init(&t->lru);
	t->drop = drop;
	t->drop_arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	talloc_set_destructor(t, table_free);
	return t;
}

static unsigned
slot_hash(const char *name)
{
	return hash_bytes(HASH_INIT, name, strlen(name)) % SLOT_BUCKETS;
}

static struct client_slot *
slot_get(struct session_table *t, const char *client, bool create)
{
	struct client_slot *s, **head = &t->slots[slot_hash(client)];

	for (s = *head; s; s = s->next)
		if (strcmp(s->name, client) == 0)
			return s;
	if (!create)
		return NULL;
	s = talloc_zero(t, struct client_slot);
	if (!s)
		return NULL;
	s->name = talloc_strdup(s, client);
	if (!s->name) {
		talloc_free(s);
		return NULL;
	}
	dlist_init(&s->lru);
	s->next = *head;
	*head = s;
	return s;
}

/* Take s out of the hash, the LRU lists and the counts. Table lock held. */
static void
unlink_locked(struct session_table *t, struct eap_session *s)
{
	struct eap_session **pp;

	if (!s->linked)
		return;
	for (pp = &t->buckets[state_hash(s->state)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	dlist_del(&s->lru);
	dlist_del(&s->client_lru);
	t->count--;
	s->slot->count--;
	s->linked = false;
}

static int
session_destructor(struct eap_session *s)
{
	struct session_table *t = s->table;

	if (s->linked) {
		pthread_mutex_lock(&t->lock);
		unlink_locked(t, s);
		pthread_mutex_unlock(&t->lock);
	}
	if (s->conf)
		conf_unref(s->conf);
	OPENSSL_cleanse(s->isk, sizeof(s->isk));
	OPENSSL_cleanse(s->msk, sizeof(s->msk));
	return 0;
}

/*
 * Drop the least recently active session of a list that no thread is working on. Table lock
 * held. False if every session there is busy.
 */
static bool
drop_lru(struct session_table *t, struct dlist *head, size_t member_off)
{
	struct dlist *n;

	for (n = dlist_first(head); n && n != head; n = n->next) {
		struct eap_session *s = (struct eap_session *)((char *)n - member_off);

		if (s->busy)
			continue;
		if (t->drop)
			t->drop(t->drop_arg, s, "evicted");
		unlink_locked(t, s);
		talloc_free(s);
		return true;
	}
	return false;
}

struct eap_session *
session_create(struct session_table *t, const char *client, unsigned max_total,
	       unsigned max_per_client, uint64_t now_ms)
{
	struct client_slot *slot;
	struct eap_session *s;
	unsigned h;

	/* Not a talloc child of the table: worker threads create and free sessions concurrently. */
	s = talloc_zero(NULL, struct eap_session);
	if (!s)
		return NULL;
	s->table = t;
	s->busy = true;
	s->created_ms = s->last_ms = now_ms;
	snprintf(s->client, sizeof(s->client), "%s", client);
	talloc_set_destructor(s, session_destructor);

	pthread_mutex_lock(&t->lock);
	slot = slot_get(t, client, true);
	if (!slot)
		goto fail;
	while (max_per_client && slot->count >= max_per_client &&
	       drop_lru(t, &slot->lru, offsetof(struct eap_session, client_lru)))
		;
	while (max_total && t->count >= max_total &&
	       drop_lru(t, &t->lru, offsetof(struct eap_session, lru)))
		;
	do {
		if (RAND_bytes(s->state, sizeof(s->state)) != 1)
			goto fail;
	} while (session_find(t, s->state, sizeof(s->state)));
	s->slot = slot;
	h = state_hash(s->state);
	s->hnext = t->buckets[h];
	t->buckets[h] = s;
	dlist_add_tail(&t->lru, &s->lru);
	dlist_add_tail(&slot->lru, &s->client_lru);
	t->count++;
	slot->count++;
	s->linked = true;
	pthread_mutex_unlock(&t->lock);
	return s;
fail:
	pthread_mutex_unlock(&t->lock);
	talloc_free(s);
	return NULL;
}

struct eap_session *
session_find(struct session_table *t, const uint8_t *state, size_t len)
{
	struct eap_session *s;

	if (len != SESSION_STATE_LEN)
		return NULL;
	for (s = t->buckets[state_hash(state)]; s; s = s->hnext)
		if (CRYPTO_memcmp(s->state, state, SESSION_STATE_LEN) == 0)
			return s;
	return NULL;
}

/* Table lock held. */
static void
touch_locked(struct eap_session *s, uint64_t now_ms)
{
	s->last_ms = now_ms;
	dlist_del(&s->lru);
	dlist_add_tail(&s->table->lru, &s->lru);
	dlist_del(&s->client_lru);
	dlist_add_tail(&s->slot->lru, &s->client_lru);
}

void
session_touch(struct eap_session *s, uint64_t now_ms)
{
	pthread_mutex_lock(&s->table->lock);
	touch_locked(s, now_ms);
	pthread_mutex_unlock(&s->table->lock);
}

struct eap_session *
session_claim(struct session_table *t, const uint8_t *state, size_t len, const char *client,
	      uint64_t now_ms, bool *busy)
{
	struct eap_session *s;

	*busy = false;
	pthread_mutex_lock(&t->lock);
	s = session_find(t, state, len);
	if (s && strcmp(s->slot->name, client) != 0)
		s = NULL; /* a State belongs to the client (by name) it was given to */
	if (s && s->busy) {
		*busy = true;
		s = NULL;
	}
	if (s) {
		s->busy = true;
		touch_locked(s, now_ms);
	}
	pthread_mutex_unlock(&t->lock);
	return s;
}

void
session_release(struct eap_session *s, uint64_t now_ms)
{
	pthread_mutex_lock(&s->table->lock);
	s->busy = false;
	touch_locked(s, now_ms);
	pthread_mutex_unlock(&s->table->lock);
}

unsigned
session_expire(struct session_table *t, uint64_t now_ms, uint64_t idle_ms)
{
	struct dlist *n, *next;
	unsigned dropped = 0;

	pthread_mutex_lock(&t->lock);
	for (n = dlist_first(&t->lru); n && n != &t->lru; n = next) {
		struct eap_session *s = dlist_entry(n, struct eap_session, lru);

		next = n->next;
		if (s->last_ms + idle_ms > now_ms)
			break;
		if (s->busy)
			continue; /* a worker is answering it right now */
		if (t->drop)
			t->drop(t->drop_arg, s, "abandoned");
		unlink_locked(t, s);
		talloc_free(s);
		dropped++;
	}
	pthread_mutex_unlock(&t->lock);
	return dropped;
}

unsigned
session_count(struct session_table *t)
{
	unsigned n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

unsigned
session_client_count(struct session_table *t, const char *client)
{
	struct client_slot *s;
	unsigned n;

	pthread_mutex_lock(&t->lock);
	s = slot_get(t, client, false);
	n = s ? s->count : 0;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void
session_set_reason(struct eap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason_buf, sizeof(s->reason_buf), fmt, ap);
	va_end(ap);
	s->reason = s->reason_buf;
}

void
session_trace(struct eap_session *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!s->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->trace(s->trace_arg, buf);
}
