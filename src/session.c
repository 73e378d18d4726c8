/*
 * session.c - the session table (see session.h): hash on State, global and per-client LRU.
 */
#include "session.h"

#include "conf.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SESSION_BUCKETS 16384

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
	struct client_slot *slots;
	session_drop_fn *drop;
	void *drop_arg;
	bool freeing;
};

static unsigned
state_hash(const uint8_t *state)
{
	uint32_t h;

	/* State is uniformly random: its first bytes are a fine hash. */
	memcpy(&h, state, sizeof(h));
	return h % SESSION_BUCKETS;
}

static int
table_free(struct session_table *t)
{
	t->freeing = true;
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
	talloc_set_destructor(t, table_free);
	return t;
}

static struct client_slot *
slot_get(struct session_table *t, const char *client, bool create)
{
	struct client_slot *s;

	for (s = t->slots; s; s = s->next)
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
	s->next = t->slots;
	t->slots = s;
	return s;
}

static int
session_destructor(struct eap_session *s)
{
	struct session_table *t = s->table;
	struct eap_session **pp;

	if (!t->freeing) {
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
	}
	if (s->conf)
		conf_unref(s->conf);
	OPENSSL_cleanse(s->isk, sizeof(s->isk));
	OPENSSL_cleanse(s->msk, sizeof(s->msk));
	OPENSSL_cleanse(s->emsk, sizeof(s->emsk));
	return 0;
}

static void
drop_lru(struct session_table *t, struct dlist *head, size_t member_off)
{
	struct dlist *n = dlist_first(head);
	struct eap_session *s;

	if (!n)
		return;
	s = (struct eap_session *)((char *)n - member_off);
	if (t->drop)
		t->drop(t->drop_arg, s, "evicted");
	talloc_free(s);
}

struct eap_session *
session_create(struct session_table *t, const char *client, unsigned max_total,
	       unsigned max_per_client, uint64_t now_ms)
{
	struct client_slot *slot = slot_get(t, client, true);
	struct eap_session *s, *other;
	unsigned h;

	if (!slot)
		return NULL;
	while (max_per_client && slot->count >= max_per_client)
		drop_lru(t, &slot->lru, offsetof(struct eap_session, client_lru));
	while (max_total && t->count >= max_total)
		drop_lru(t, &t->lru, offsetof(struct eap_session, lru));

	s = talloc_zero(t, struct eap_session);
	if (!s)
		return NULL;
	do {
		if (RAND_bytes(s->state, sizeof(s->state)) != 1) {
			talloc_free(s);
			return NULL;
		}
		other = session_find(t, s->state, sizeof(s->state));
	} while (other);

	s->table = t;
	s->slot = slot;
	s->created_ms = s->last_ms = now_ms;
	snprintf(s->client, sizeof(s->client), "%s", client);
	h = state_hash(s->state);
	s->hnext = t->buckets[h];
	t->buckets[h] = s;
	dlist_add_tail(&t->lru, &s->lru);
	dlist_add_tail(&slot->lru, &s->client_lru);
	t->count++;
	slot->count++;
	talloc_set_destructor(s, session_destructor);
	return s;
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

void
session_touch(struct eap_session *s, uint64_t now_ms)
{
	s->last_ms = now_ms;
	dlist_del(&s->lru);
	dlist_add_tail(&s->table->lru, &s->lru);
	dlist_del(&s->client_lru);
	dlist_add_tail(&s->slot->lru, &s->client_lru);
}

unsigned
session_expire(struct session_table *t, uint64_t now_ms, uint64_t idle_ms)
{
	struct dlist *n;
	unsigned dropped = 0;

	while ((n = dlist_first(&t->lru)) != NULL) {
		struct eap_session *s = dlist_entry(n, struct eap_session, lru);

		if (s->last_ms + idle_ms > now_ms)
			break;
		if (t->drop)
			t->drop(t->drop_arg, s, "abandoned");
		talloc_free(s);
		dropped++;
	}
	return dropped;
}

unsigned
session_count(const struct session_table *t)
{
	return t->count;
}

unsigned
session_client_count(const struct session_table *t, const char *client)
{
	struct client_slot *s = slot_get((struct session_table *)t, client, false);

	return s ? s->count : 0;
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
