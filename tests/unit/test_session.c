/*
 * test_session.c - unit tests for src/session.c: random State, lookup, idle expiry with time
 * passed in, global and per-client caps with least-recently-active eviction, and the
 * bookkeeping when a session is freed directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "session.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#define MAX_DROPS 64

struct drops {
	unsigned n;
	struct eap_session *s[MAX_DROPS];
	char why[MAX_DROPS][32];
	char client[MAX_DROPS][64];
};

static void
on_drop(void *arg, struct eap_session *s, const char *why)
{
	struct drops *d = arg;

	assert_true(d->n < MAX_DROPS);
	/* The session is still whole when the callback runs. */
	assert_non_null(session_find(s->table, s->state, SESSION_STATE_LEN));
	d->s[d->n] = s;
	snprintf(d->why[d->n], sizeof(d->why[0]), "%s", why);
	snprintf(d->client[d->n], sizeof(d->client[0]), "%s", s->client);
	d->n++;
}

/* A new session that no thread is working on (what the server has between packets). */
static struct eap_session *
create_idle(struct session_table *t, const char *client, unsigned max_total,
	    unsigned max_per_client, uint64_t now_ms)
{
	struct eap_session *s = session_create(t, client, max_total, max_per_client, now_ms);

	if (s) {
		assert_true(s->busy);
		session_release(s, now_ms);
		assert_false(s->busy);
	}
	return s;
}

struct fixture {
	TALLOC_CTX *ctx;
	struct session_table *t;
	struct drops drops;
};

static int
setup(void **state)
{
	struct fixture *fx = talloc_zero(NULL, struct fixture);

	if (!fx)
		return -1;
	fx->ctx = fx;
	fx->t = session_table_new(fx, on_drop, &fx->drops);
	if (!fx->t)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	talloc_free(*state);
	return 0;
}

static void
test_create_find(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *s[50];
	unsigned i, j;
	static const uint8_t zero[SESSION_STATE_LEN];

	for (i = 0; i < 50; i++) {
		s[i] = create_idle(fx->t, "nas1", 0, 0, 1000 + i);
		assert_non_null(s[i]);
		assert_ptr_equal(s[i]->table, fx->t);
		assert_string_equal(s[i]->client, "nas1");
		assert_int_equal(s[i]->created_ms, 1000 + i);
		assert_int_equal(s[i]->last_ms, 1000 + i);
		assert_null(s[i]->conf);
		assert_memory_not_equal(s[i]->state, zero, SESSION_STATE_LEN);
	}
	assert_int_equal(session_count(fx->t), 50);
	assert_int_equal(session_client_count(fx->t, "nas1"), 50);
	assert_int_equal(session_client_count(fx->t, "other"), 0);

	/* All States distinct (and not trivially related, e.g. counters). */
	for (i = 0; i < 50; i++)
		for (j = i + 1; j < 50; j++) {
			assert_memory_not_equal(s[i]->state, s[j]->state, SESSION_STATE_LEN);
			assert_memory_not_equal(s[i]->state + 4, s[j]->state + 4, 12);
		}

	/* Each is found by its State, from a copy (not by pointer). */
	for (i = 0; i < 50; i++) {
		uint8_t copy[SESSION_STATE_LEN];

		memcpy(copy, s[i]->state, sizeof(copy));
		assert_ptr_equal(session_find(fx->t, copy, sizeof(copy)), s[i]);
		/* One bit off: not found. */
		copy[SESSION_STATE_LEN - 1] ^= 1;
		assert_null(session_find(fx->t, copy, sizeof(copy)));
	}
	/* Wrong length: not found. */
	assert_null(session_find(fx->t, s[0]->state, SESSION_STATE_LEN - 1));
	assert_null(session_find(fx->t, s[0]->state, 0));
	/* find does not touch. */
	assert_int_equal(s[3]->last_ms, 1003);
	assert_int_equal(fx->drops.n, 0);
}

static void
test_expire(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *a, *b, *c;
	uint8_t sa[SESSION_STATE_LEN], sb[SESSION_STATE_LEN];

	a = create_idle(fx->t, "nas1", 0, 0, 1000);
	b = create_idle(fx->t, "nas1", 0, 0, 2000);
	c = create_idle(fx->t, "nas2", 0, 0, 3000);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	memcpy(sa, a->state, sizeof(sa));
	memcpy(sb, b->state, sizeof(sb));

	/* idle 30 s: nothing is that old yet. */
	assert_int_equal(session_expire(fx->t, 30999, 30000), 0);
	assert_int_equal(fx->drops.n, 0);
	assert_int_equal(session_count(fx->t), 3);

	/* a was last active at 1000: idle exactly 30000 at 31000 -> gone. */
	assert_int_equal(session_expire(fx->t, 31000, 30000), 1);
	assert_int_equal(fx->drops.n, 1);
	assert_ptr_equal(fx->drops.s[0], a);
	assert_string_equal(fx->drops.why[0], "abandoned");
	assert_null(session_find(fx->t, sa, sizeof(sa)));
	assert_ptr_equal(session_find(fx->t, sb, sizeof(sb)), b);
	assert_int_equal(session_count(fx->t), 2);
	assert_int_equal(session_client_count(fx->t, "nas1"), 1);

	/* Activity keeps b alive past the point where it would have expired. */
	session_touch(b, 20000);
	assert_int_equal(b->last_ms, 20000);
	assert_int_equal(session_expire(fx->t, 40000, 30000), 1); /* c (3000) only */
	assert_int_equal(fx->drops.n, 2);
	assert_ptr_equal(fx->drops.s[1], c);
	assert_string_equal(fx->drops.why[1], "abandoned");
	assert_ptr_equal(session_find(fx->t, sb, sizeof(sb)), b);
	assert_int_equal(session_count(fx->t), 1);
	assert_int_equal(session_client_count(fx->t, "nas2"), 0);

	assert_int_equal(session_expire(fx->t, 50000, 30000), 1);
	assert_int_equal(session_count(fx->t), 0);
	assert_int_equal(session_client_count(fx->t, "nas1"), 0);
	assert_int_equal(session_expire(fx->t, 90000, 30000), 0);
	assert_int_equal(fx->drops.n, 3);
}

/* Expiry walks in last-activity order, not creation order. */
static void
test_expire_after_touch_order(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *s[5];
	unsigned i;

	for (i = 0; i < 5; i++) {
		s[i] = create_idle(fx->t, "nas1", 0, 0, 100 * i);
		assert_non_null(s[i]);
	}
	/* s[0] becomes the most recent. */
	session_touch(s[0], 1000);
	/* At 1450 with idle 1000: s[1..4] (100..400) are all idle >= 1000. */
	assert_int_equal(session_expire(fx->t, 1450, 1000), 4);
	assert_int_equal(session_count(fx->t), 1);
	assert_ptr_equal(session_find(fx->t, s[0]->state, SESSION_STATE_LEN), s[0]);
	for (i = 0; i < 4; i++)
		assert_ptr_equal(fx->drops.s[i], s[i + 1]);
}

static void
test_global_cap(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *s[4], *n;
	uint8_t st[4][SESSION_STATE_LEN];
	unsigned i;

	for (i = 0; i < 4; i++) {
		s[i] = create_idle(fx->t, i % 2 ? "nasB" : "nasA", 4, 0, 10 * i);
		assert_non_null(s[i]);
		memcpy(st[i], s[i]->state, SESSION_STATE_LEN);
	}
	assert_int_equal(session_count(fx->t), 4);
	assert_int_equal(fx->drops.n, 0);

	/* Keep s[0] alive: s[1] becomes the least recently active. */
	session_touch(s[0], 100);
	n = create_idle(fx->t, "nasC", 4, 0, 110);
	assert_non_null(n);
	assert_int_equal(session_count(fx->t), 4);
	assert_int_equal(fx->drops.n, 1);
	assert_ptr_equal(fx->drops.s[0], s[1]);
	assert_string_equal(fx->drops.why[0], "evicted");
	assert_null(session_find(fx->t, st[1], SESSION_STATE_LEN));
	assert_ptr_equal(session_find(fx->t, st[0], SESSION_STATE_LEN), s[0]);
	assert_int_equal(session_client_count(fx->t, "nasB"), 1);
	assert_int_equal(session_client_count(fx->t, "nasC"), 1);

	/* Next: s[2], then s[3], then s[0]. */
	assert_non_null(create_idle(fx->t, "nasC", 4, 0, 120));
	assert_ptr_equal(fx->drops.s[1], s[2]);
	assert_non_null(create_idle(fx->t, "nasC", 4, 0, 130));
	assert_ptr_equal(fx->drops.s[2], s[3]);
	assert_non_null(create_idle(fx->t, "nasC", 4, 0, 140));
	assert_ptr_equal(fx->drops.s[3], s[0]);
	assert_int_equal(session_count(fx->t), 4);
	assert_int_equal(session_client_count(fx->t, "nasA"), 0);
	assert_int_equal(session_client_count(fx->t, "nasB"), 0);
	assert_int_equal(session_client_count(fx->t, "nasC"), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(fx->drops.why[i], "evicted");
}

static void
test_per_client_cap(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *a[3], *b[2], *n;
	uint8_t sa0[SESSION_STATE_LEN];
	unsigned i;

	/* Other client's sessions are the OLDEST overall: they must still not be touched. */
	for (i = 0; i < 2; i++) {
		b[i] = create_idle(fx->t, "nasB", 100, 3, i);
		assert_non_null(b[i]);
	}
	for (i = 0; i < 3; i++) {
		a[i] = create_idle(fx->t, "nasA", 100, 3, 10 + i);
		assert_non_null(a[i]);
	}
	memcpy(sa0, a[0]->state, sizeof(sa0));
	assert_int_equal(session_client_count(fx->t, "nasA"), 3);
	assert_int_equal(fx->drops.n, 0);

	/* nasA at its cap: its own oldest (a[0]) goes. */
	n = create_idle(fx->t, "nasA", 100, 3, 20);
	assert_non_null(n);
	assert_int_equal(fx->drops.n, 1);
	assert_ptr_equal(fx->drops.s[0], a[0]);
	assert_string_equal(fx->drops.why[0], "evicted");
	assert_string_equal(fx->drops.client[0], "nasA");
	assert_null(session_find(fx->t, sa0, sizeof(sa0)));
	assert_int_equal(session_client_count(fx->t, "nasA"), 3);
	assert_int_equal(session_client_count(fx->t, "nasB"), 2);
	assert_int_equal(session_count(fx->t), 5);
	for (i = 0; i < 2; i++)
		assert_ptr_equal(session_find(fx->t, b[i]->state, SESSION_STATE_LEN), b[i]);

	/* Touch a[1]: the next eviction for nasA takes a[2]. */
	session_touch(a[1], 30);
	assert_non_null(create_idle(fx->t, "nasA", 100, 3, 31));
	assert_int_equal(fx->drops.n, 2);
	assert_ptr_equal(fx->drops.s[1], a[2]);
	assert_int_equal(session_client_count(fx->t, "nasB"), 2);

	/* nasB is below its cap: no eviction. */
	assert_non_null(create_idle(fx->t, "nasB", 100, 3, 40));
	assert_int_equal(fx->drops.n, 2);
	assert_int_equal(session_client_count(fx->t, "nasB"), 3);
	assert_int_equal(session_count(fx->t), 6);
}

static void
test_free_keeps_counts(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *s[6];
	uint8_t st[SESSION_STATE_LEN];
	unsigned i;

	for (i = 0; i < 6; i++) {
		s[i] = create_idle(fx->t, i < 4 ? "nasA" : "nasB", 6, 4, i);
		assert_non_null(s[i]);
	}
	memcpy(st, s[2]->state, sizeof(st));
	talloc_free(s[2]);
	assert_int_equal(session_count(fx->t), 5);
	assert_int_equal(session_client_count(fx->t, "nasA"), 3);
	assert_int_equal(session_client_count(fx->t, "nasB"), 2);
	assert_null(session_find(fx->t, st, sizeof(st)));
	/* No drop callback for a session freed by its owner. */
	assert_int_equal(fx->drops.n, 0);

	/* The freed one left no dangling link: room for one more without eviction... */
	assert_non_null(create_idle(fx->t, "nasA", 6, 4, 10));
	assert_int_equal(fx->drops.n, 0);
	assert_int_equal(session_count(fx->t), 6);
	/* ...and the LRU walk still works (s[0] is the oldest). */
	assert_non_null(create_idle(fx->t, "nasC", 6, 4, 11));
	assert_int_equal(fx->drops.n, 1);
	assert_ptr_equal(fx->drops.s[0], s[0]);
	/* Expiry walks cleanly over the list after frees. */
	talloc_free(s[1]);
	assert_int_equal(session_expire(fx->t, 1000, 100), 5);
	assert_int_equal(session_count(fx->t), 0);
	assert_int_equal(session_client_count(fx->t, "nasA"), 0);
	assert_int_equal(session_client_count(fx->t, "nasB"), 0);
	assert_int_equal(session_client_count(fx->t, "nasC"), 0);
}

/* Freeing the table with sessions in it: no callbacks, no leaks (ASan checks). */
static void
test_table_free_with_sessions(void **state)
{
	struct fixture *fx = *state;
	struct session_table *t;
	struct drops d = {0};
	unsigned i;

	(void)fx;
	t = session_table_new(NULL, on_drop, &d);
	assert_non_null(t);
	for (i = 0; i < 20; i++) {
		struct eap_session *s = create_idle(t, i % 3 ? "x" : "y", 0, 0, i);

		assert_non_null(s);
		/* Method data and buffers hang off the session. */
		s->method_data = talloc_zero_size(s, 100);
		assert_non_null(s->method_data);
		session_set_reason(s, "reason %u", i);
		assert_ptr_equal(s->reason, s->reason_buf);
	}
	talloc_free(t);
	assert_int_equal(d.n, 0);
}

/*
 * A client name of 64 characters or more (clients.conf puts no limit on it). The per-client
 * cap must hold for it as for any other, and session_client_count must see its sessions.
 */
static void
test_long_client_name(void **state)
{
	struct fixture *fx = *state;
	char name[80];
	unsigned i;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name, "long-nas-", 9);
	for (i = 0; i < 5; i++)
		assert_non_null(create_idle(fx->t, name, 100, 2, i));
	assert_int_equal(session_count(fx->t), 2);
	assert_int_equal(session_client_count(fx->t, name), 2);
	assert_int_equal(fx->drops.n, 3);
	for (i = 0; i < fx->drops.n; i++)
		assert_string_equal(fx->drops.why[i], "evicted");
}

/* Per-client bookkeeping does not grow with the number of conversations, whatever the name. */
static void
test_client_bookkeeping_bounded(void **state)
{
	struct fixture *fx = *state;
	static const char *const names[] = {
		"nas1",
		"a-wireless-controller-with-a-rather-long-name-in-clients-conf-0123456789",
	};

	for (size_t n = 0; n < 2; n++) {
		size_t base;
		unsigned i;

		talloc_free(create_idle(fx->t, names[n], 0, 0, 0));
		base = talloc_total_blocks(fx->t);
		for (i = 0; i < 100; i++)
			talloc_free(create_idle(fx->t, names[n], 0, 0, i));
		assert_int_equal(session_count(fx->t), 0);
		if (talloc_total_blocks(fx->t) != base)
			fail_msg("client \"%s\": the table grew from %zu to %zu talloc blocks after "
				 "100 sessions created and freed",
				 names[n], base, talloc_total_blocks(fx->t));
	}
}

/* Thousands of RADIUS clients (more than the slot hash has buckets): each keeps its own count
 * and its own cap. */
static void
test_many_clients(void **state)
{
	struct fixture *fx = *state;
	char name[32];
	unsigned i;

	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "ap-%u", i);
		assert_non_null(create_idle(fx->t, name, 0, 1, i));
	}
	assert_int_equal(session_count(fx->t), 3000);
	assert_int_equal(fx->drops.n, 0);
	/* ap-1234 at its cap of one: its own session goes, nobody else's */
	assert_non_null(create_idle(fx->t, "ap-1234", 0, 1, 5000));
	assert_int_equal(fx->drops.n, 1);
	assert_string_equal(fx->drops.client[0], "ap-1234");
	assert_int_equal(session_count(fx->t), 3000);
	for (i = 0; i < 3000; i += 7) {
		snprintf(name, sizeof(name), "ap-%u", i);
		assert_int_equal(session_client_count(fx->t, name), 1);
	}
	assert_int_equal(session_client_count(fx->t, "ap-not-there"), 0);
}

static void
trace_cb(void *arg, const char *text)
{
	snprintf(arg, 128, "%s", text);
}

static void
test_reason_trace(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *s = create_idle(fx->t, "nas", 0, 0, 0);
	char buf[128] = "";

	assert_non_null(s);
	assert_null(s->reason);
	session_set_reason(s, "identity %s mismatch %d", "bob", 7);
	assert_string_equal(s->reason, "identity bob mismatch 7");
	/* No trace function: nothing happens. */
	session_trace(s, "x %d", 1);
	s->trace = trace_cb;
	s->trace_arg = buf;
	session_trace(s, "EAP-TLS: %s -> %s", "START", "HANDSHAKE");
	assert_string_equal(buf, "EAP-TLS: START -> HANDSHAKE");
}

/* A session a thread is working on is never evicted or expired under it. */
static void
test_busy_not_evicted_or_expired(void **state)
{
	struct fixture *fx = *state;
	struct eap_session *busy, *idle, *n;
	bool was_busy;

	busy = session_create(fx->t, "nas", 2, 0, 0); /* stays busy */
	idle = create_idle(fx->t, "nas", 2, 0, 10);
	assert_non_null(busy);
	assert_non_null(idle);
	/* The table is full: the oldest (busy) is skipped, the idle one goes. */
	n = session_create(fx->t, "nas", 2, 0, 20);
	assert_non_null(n);
	assert_int_equal(fx->drops.n, 1);
	assert_ptr_equal(fx->drops.s[0], idle);
	/* Everything left is busy: the cap is exceeded rather than a busy one freed. */
	assert_non_null(create_idle(fx->t, "nas", 2, 0, 30));
	assert_int_equal(fx->drops.n, 1);
	assert_int_equal(session_count(fx->t), 3);
	/* Expiry skips busy sessions and still reaches the idle one behind them. */
	assert_int_equal(session_expire(fx->t, 100000, 1000), 1);
	assert_int_equal(session_count(fx->t), 2);
	/* A busy session cannot be claimed; once released, it can, by its own client only. */
	assert_null(session_claim(fx->t, busy->state, SESSION_STATE_LEN, "nas", 1, &was_busy));
	assert_true(was_busy);
	session_release(busy, 200000);
	assert_null(session_claim(fx->t, busy->state, SESSION_STATE_LEN, "other", 1, &was_busy));
	assert_false(was_busy);
	assert_ptr_equal(session_claim(fx->t, busy->state, SESSION_STATE_LEN, "nas", 200001,
				       &was_busy),
			 busy);
	assert_false(was_busy);
	assert_true(busy->busy);
	assert_int_equal(busy->last_ms, 200001);
	talloc_free(busy);
	talloc_free(n);
	assert_int_equal(session_count(fx->t), 0);
}

/*
 * Threads creating, claiming, releasing and ending sessions while another expires and a cap
 * evicts: the counts stay exact and nothing is freed under a thread (ASan, and TSan in
 * `make tsan`, check the rest).
 */
#define STRESS_THREADS 4
#define STRESS_ROUNDS 3000

struct stress {
	struct session_table *t;
	unsigned seed;
	unsigned claimed;
};

static void *
stress_thread(void *arg)
{
	struct stress *st = arg;
	unsigned i;

	for (i = 0; i < STRESS_ROUNDS; i++) {
		unsigned k = (st->seed = st->seed * 1103515245u + 12345u) >> 16;
		const char *client = k % 3 ? "a" : "b";
		uint8_t state[SESSION_STATE_LEN];
		struct eap_session *s = session_create(st->t, client, 64, 40, i);
		bool busy;

		if (!s)
			continue;
		s->method_data = talloc_zero_size(s, 64);
		memcpy(state, s->state, sizeof(state));
		session_release(s, i);
		/* From here another thread may evict or expire it: look it up by State again. */
		s = session_claim(st->t, state, sizeof(state), client, i, &busy);
		if (!s)
			continue;
		st->claimed++;
		if (k & 1)
			talloc_free(s); /* the conversation ended */
		else
			session_release(s, i);
	}
	return NULL;
}

static void *
expire_thread(void *arg)
{
	struct session_table *t = arg;
	unsigned i;

	for (i = 0; i < 200; i++)
		session_expire(t, (uint64_t)i * 20, 100);
	return NULL;
}

static void
drop_count(void *arg, struct eap_session *s, const char *why)
{
	(void)s;
	(void)why;
	__atomic_add_fetch((unsigned *)arg, 1, __ATOMIC_RELAXED);
}

static void
test_threads(void **state)
{
	struct session_table *t;
	pthread_t th[STRESS_THREADS + 1];
	struct stress st[STRESS_THREADS];
	unsigned drops = 0, i, claimed = 0;

	(void)state;
	t = session_table_new(NULL, drop_count, &drops);
	assert_non_null(t);
	for (i = 0; i < STRESS_THREADS; i++) {
		st[i] = (struct stress){.t = t, .seed = i + 1};
		assert_int_equal(pthread_create(&th[i], NULL, stress_thread, &st[i]), 0);
	}
	assert_int_equal(pthread_create(&th[STRESS_THREADS], NULL, expire_thread, t), 0);
	for (i = 0; i <= STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < STRESS_THREADS; i++)
		claimed += st[i].claimed;
	/* Most claims succeed; the rest lost their session to eviction or expiry. */
	assert_true(claimed > 0);
	assert_true(session_count(t) <= 64 + STRESS_THREADS);
	assert_int_equal(session_client_count(t, "a") + session_client_count(t, "b"),
			 session_count(t));
	i = session_count(t);
	assert_int_equal(session_expire(t, UINT64_MAX / 2, 1), i);
	assert_int_equal(session_count(t), 0);
	assert_true(drops > 0);
	talloc_free(t);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_find),
		T(test_expire),
		T(test_expire_after_touch_order),
		T(test_global_cap),
		T(test_per_client_cap),
		T(test_free_keeps_counts),
		T(test_table_free_with_sessions),
		T(test_reason_trace),
		T(test_long_client_name),
		T(test_client_bookkeeping_bounded),
		T(test_many_clients),
		T(test_busy_not_evicted_or_expired),
		T(test_threads),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
