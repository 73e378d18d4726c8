/*
 * test_dupcache.c - unit tests for src/dupcache.c: RFC 5080 §2.2.2 duplicate detection keyed on
 * (source address, source port, Identifier) plus the Request Authenticator; expiry with time
 * passed in; replacement; the entry cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dupcache.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <talloc.h>

#define TTL 5000
#define MAX 1000

static int
setup(void **state)
{
	*state = talloc_new(NULL);
	return *state ? 0 : -1;
}

static int
teardown(void **state)
{
	talloc_free(*state);
	return 0;
}

static struct sockaddr_in
v4(const char *ip, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static struct sockaddr_in6
v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return a;
}

static void
vec(uint8_t v[16], unsigned seed)
{
	for (unsigned i = 0; i < 16; i++)
		v[i] = (uint8_t)(seed * 31 + i);
}

#define SA(x) ((const struct sockaddr *)&(x))

static void
test_store_find(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct sockaddr_in a = v4("192.0.2.1", 1812);
	uint8_t v[16], reply[300];
	uint8_t got[4096];
	size_t len = 0;

	assert_non_null(dc);
	vec(v, 1);
	for (size_t i = 0; i < sizeof(reply); i++)
		reply[i] = (uint8_t)(i * 3);
	assert_int_equal(dupcache_find(dc, SA(a), 7, v, 0, got, sizeof(got), &len), DUP_NONE);
	dupcache_store(dc, SA(a), 7, v, reply, sizeof(reply), 1000, TTL, MAX);
	assert_int_equal(dupcache_count(dc), 1);
	/* The cache keeps its own copy. */
	memset(reply, 0xEE, 10);
	assert_int_equal(dupcache_find(dc, SA(a), 7, v, 1001, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(len, sizeof(reply));
	assert_int_equal(got[0], 0);
	assert_int_equal(got[9], 27);
	for (size_t i = 10; i < sizeof(reply); i++)
		assert_int_equal(got[i], reply[i]);
	/* Found again: find does not consume. */
	assert_int_equal(dupcache_find(dc, SA(a), 7, v, 1002, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(dupcache_count(dc), 1);
}

static void
test_key_parts(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct sockaddr_in a = v4("192.0.2.1", 1812);
	struct sockaddr_in a_port = v4("192.0.2.1", 1813);
	struct sockaddr_in b = v4("192.0.2.2", 1812);
	struct sockaddr_in6 a6 = v6("2001:db8::1", 1812);
	struct sockaddr_in6 b6 = v6("2001:db8::2", 1812);
	uint8_t v[16], v2[16];
	static const uint8_t reply[] = {2, 7, 0, 20};
	uint8_t got[4096];
	size_t len = 0;

	vec(v, 2);
	memcpy(v2, v, 16);
	v2[15] ^= 1;
	dupcache_store(dc, SA(a), 7, v, reply, sizeof(reply), 0, TTL, MAX);
	/* Same id, different authenticator (one bit): a new request, not a duplicate. */
	assert_int_equal(dupcache_find(dc, SA(a), 7, v2, 1, got, sizeof(got), &len), DUP_NONE);
	/* Different source port. */
	assert_int_equal(dupcache_find(dc, SA(a_port), 7, v, 1, got, sizeof(got), &len), DUP_NONE);
	/* Different address. */
	assert_int_equal(dupcache_find(dc, SA(b), 7, v, 1, got, sizeof(got), &len), DUP_NONE);
	/* Different id. */
	assert_int_equal(dupcache_find(dc, SA(a), 8, v, 1, got, sizeof(got), &len), DUP_NONE);
	assert_int_equal(dupcache_find(dc, SA(a), 7, v, 1, got, sizeof(got), &len), DUP_REPLY);

	/* IPv6 sources are keyed on all 16 octets. */
	dupcache_store(dc, SA(a6), 7, v, reply, sizeof(reply), 0, TTL, MAX);
	assert_int_equal(dupcache_find(dc, SA(a6), 7, v, 1, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(dupcache_find(dc, SA(b6), 7, v, 1, got, sizeof(got), &len), DUP_NONE);
	{
		struct sockaddr_in6 p6 = v6("2001:db8::1", 1999);

		assert_int_equal(dupcache_find(dc, SA(p6), 7, v, 1, got, sizeof(got), &len), DUP_NONE);
	}
	/* The v4 entry is untouched by the v6 one. */
	assert_int_equal(dupcache_find(dc, SA(a), 7, v, 1, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(dupcache_count(dc), 2);
}

static void
test_expiry(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct sockaddr_in a = v4("192.0.2.1", 1812);
	uint8_t v1[16], v2[16];
	static const uint8_t reply[] = {2, 7, 0, 20};
	uint8_t got[4096];
	size_t len = 0;

	vec(v1, 3);
	vec(v2, 4);
	dupcache_store(dc, SA(a), 1, v1, reply, sizeof(reply), 1000, TTL, MAX);
	dupcache_store(dc, SA(a), 2, v2, reply, sizeof(reply), 3000, TTL, MAX);
	/* find itself honours the lifetime even before expire runs. */
	assert_int_equal(dupcache_find(dc, SA(a), 1, v1, 1000 + TTL - 1, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(dupcache_find(dc, SA(a), 1, v1, 1000 + TTL, got, sizeof(got), &len), DUP_NONE);
	assert_int_equal(dupcache_count(dc), 2);

	dupcache_expire(dc, 1000 + TTL - 1);
	assert_int_equal(dupcache_count(dc), 2);
	dupcache_expire(dc, 1000 + TTL);
	assert_int_equal(dupcache_count(dc), 1);
	assert_int_equal(dupcache_find(dc, SA(a), 2, v2, 1000 + TTL, got, sizeof(got), &len), DUP_REPLY);
	dupcache_expire(dc, 3000 + TTL);
	assert_int_equal(dupcache_count(dc), 0);
	assert_int_equal(dupcache_find(dc, SA(a), 2, v2, 3000 + TTL, got, sizeof(got), &len), DUP_NONE);
	dupcache_expire(dc, 999999);
	assert_int_equal(dupcache_count(dc), 0);
}

static void
test_replace(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct sockaddr_in a = v4("192.0.2.1", 1812);
	uint8_t v1[16], v2[16];
	static const uint8_t r1[] = {11, 9, 0, 20, 1};
	static const uint8_t r2[] = {2, 9, 0, 20, 2, 2};
	uint8_t got[4096];
	size_t len = 0;

	vec(v1, 5);
	vec(v2, 6);
	dupcache_store(dc, SA(a), 9, v1, r1, sizeof(r1), 0, TTL, MAX);
	/* The NAS reuses id 9 for a new request: the new answer replaces the old one. */
	dupcache_store(dc, SA(a), 9, v2, r2, sizeof(r2), 100, TTL, MAX);
	assert_int_equal(dupcache_count(dc), 1);
	assert_int_equal(dupcache_find(dc, SA(a), 9, v1, 200, got, sizeof(got), &len), DUP_NONE);
	assert_int_equal(dupcache_find(dc, SA(a), 9, v2, 200, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(len, sizeof(r2));
	assert_memory_equal(got, r2, sizeof(r2));
	/* The replacement carries its own lifetime (from 100). */
	assert_int_equal(dupcache_find(dc, SA(a), 9, v2, 100 + TTL - 1, got, sizeof(got), &len), DUP_REPLY);
	dupcache_expire(dc, TTL);
	assert_int_equal(dupcache_count(dc), 1);
	dupcache_expire(dc, 100 + TTL);
	assert_int_equal(dupcache_count(dc), 0);
}

static void
test_cap(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	uint8_t v[16];
	static const uint8_t reply[] = {2, 0, 0, 20};
	uint8_t got[4096];
	size_t len = 0;
	unsigned i;

	vec(v, 7);
	/* 10 sources; cap 8: the two oldest go. */
	for (i = 0; i < 10; i++) {
		struct sockaddr_in a = v4("198.51.100.1", (uint16_t)(40000 + i));

		dupcache_store(dc, SA(a), 1, v, reply, sizeof(reply), i, TTL, 8);
		assert_true(dupcache_count(dc) <= 8);
	}
	assert_int_equal(dupcache_count(dc), 8);
	for (i = 0; i < 10; i++) {
		struct sockaddr_in a = v4("198.51.100.1", (uint16_t)(40000 + i));

		if (i < 2)
			assert_int_equal(dupcache_find(dc, SA(a), 1, v, 20, got, sizeof(got), &len), DUP_NONE);
		else
			assert_int_equal(dupcache_find(dc, SA(a), 1, v, 20, got, sizeof(got), &len), DUP_REPLY);
	}
	/* A replacement at the cap does not evict another entry. */
	{
		struct sockaddr_in a = v4("198.51.100.1", 40005);

		dupcache_store(dc, SA(a), 1, v, reply, sizeof(reply), 30, TTL, 8);
		assert_int_equal(dupcache_count(dc), 8);
		a = v4("198.51.100.1", 40002);
		assert_int_equal(dupcache_find(dc, SA(a), 1, v, 31, got, sizeof(got), &len), DUP_REPLY);
	}
	/* Expiry still walks correctly after evictions and replacement. */
	dupcache_expire(dc, 9 + TTL);
	assert_int_equal(dupcache_count(dc), 1); /* only the replaced one (stored at 30) */
	dupcache_expire(dc, 30 + TTL);
	assert_int_equal(dupcache_count(dc), 0);
}

/* Many entries in a big cache: hashing and chains hold up (and ASan sees no leak). */
static void
test_many(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	uint8_t v[16], reply[64];
	uint8_t got[4096];
	size_t len = 0;
	unsigned i;

	memset(reply, 0x77, sizeof(reply));
	for (i = 0; i < 20000; i++) {
		struct sockaddr_in a = v4("203.0.113.9", (uint16_t)(1024 + i / 256));

		vec(v, i);
		reply[0] = (uint8_t)i;
		dupcache_store(dc, SA(a), (uint8_t)i, v, reply, sizeof(reply), i, TTL, 50000);
	}
	assert_int_equal(dupcache_count(dc), 20000);
	for (i = 0; i < 20000; i += 97) {
		struct sockaddr_in a = v4("203.0.113.9", (uint16_t)(1024 + i / 256));

		vec(v, i);
		assert_int_equal(dupcache_find(dc, SA(a), (uint8_t)i, v, i, got, sizeof(got), &len), DUP_REPLY);
		assert_int_equal(got[0], (uint8_t)i);
	}
}

/*
 * A request being answered by a worker: a retransmission that arrives meanwhile is PENDING (not
 * worked on twice), then gets the reply once stored. A cancelled request is new again.
 */
static void
test_pending(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct sockaddr_in a = v4("192.0.2.1", 5000);
	uint8_t v[16], v2[16], reply[40], got[4096];
	size_t len = 0;

	vec(v, 1);
	vec(v2, 2);
	memset(reply, 0x42, sizeof(reply));
	assert_int_equal(dupcache_begin(dc, SA(a), 3, v, 10, TTL, MAX, got, sizeof(got), &len),
			 DUP_NONE);
	assert_int_equal(dupcache_count(dc), 1);
	assert_int_equal(dupcache_begin(dc, SA(a), 3, v, 11, TTL, MAX, got, sizeof(got), &len),
			 DUP_PENDING);
	assert_int_equal(dupcache_find(dc, SA(a), 3, v, 11, got, sizeof(got), &len), DUP_PENDING);
	dupcache_store(dc, SA(a), 3, v, reply, sizeof(reply), 12, TTL, MAX);
	len = 0;
	assert_int_equal(dupcache_begin(dc, SA(a), 3, v, 13, TTL, MAX, got, sizeof(got), &len),
			 DUP_REPLY);
	assert_int_equal(len, sizeof(reply));
	assert_memory_equal(got, reply, sizeof(reply));
	assert_int_equal(dupcache_count(dc), 1);

	/* Cancel: only the pending request with the same authenticator is forgotten. */
	assert_int_equal(dupcache_begin(dc, SA(a), 4, v, 20, TTL, MAX, got, sizeof(got), &len),
			 DUP_NONE);
	dupcache_cancel(dc, SA(a), 4, v2);
	assert_int_equal(dupcache_find(dc, SA(a), 4, v, 21, got, sizeof(got), &len), DUP_PENDING);
	dupcache_cancel(dc, SA(a), 4, v);
	assert_int_equal(dupcache_find(dc, SA(a), 4, v, 21, got, sizeof(got), &len), DUP_NONE);
	assert_int_equal(dupcache_begin(dc, SA(a), 4, v, 22, TTL, MAX, got, sizeof(got), &len),
			 DUP_NONE);
	/* Cancelling an answered request changes nothing. */
	dupcache_cancel(dc, SA(a), 3, v);
	assert_int_equal(dupcache_find(dc, SA(a), 3, v, 23, got, sizeof(got), &len), DUP_REPLY);

	/* A pending mark expires like a reply. */
	assert_int_equal(dupcache_find(dc, SA(a), 4, v, 22 + TTL, got, sizeof(got), &len),
			 DUP_NONE);
}

/*
 * The NAS gave up on Id 5 and reused it for a new request: the late reply to the old one must
 * not replace the pending new one; the new one's reply is kept.
 */
static void
test_late_store(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct sockaddr_in a = v4("192.0.2.1", 5000);
	uint8_t v_old[16], v_new[16], r_old[20], r_new[30], got[4096];
	size_t len = 0;

	vec(v_old, 10);
	vec(v_new, 11);
	memset(r_old, 1, sizeof(r_old));
	memset(r_new, 2, sizeof(r_new));
	assert_int_equal(dupcache_begin(dc, SA(a), 5, v_old, 0, TTL, MAX, got, sizeof(got), &len),
			 DUP_NONE);
	assert_int_equal(dupcache_begin(dc, SA(a), 5, v_new, 1, TTL, MAX, got, sizeof(got), &len),
			 DUP_NONE);
	dupcache_store(dc, SA(a), 5, v_old, r_old, sizeof(r_old), 2, TTL, MAX);
	assert_int_equal(dupcache_find(dc, SA(a), 5, v_new, 3, got, sizeof(got), &len),
			 DUP_PENDING);
	assert_int_equal(dupcache_find(dc, SA(a), 5, v_old, 3, got, sizeof(got), &len), DUP_NONE);
	dupcache_store(dc, SA(a), 5, v_new, r_new, sizeof(r_new), 4, TTL, MAX);
	assert_int_equal(dupcache_find(dc, SA(a), 5, v_new, 5, got, sizeof(got), &len), DUP_REPLY);
	assert_int_equal(len, sizeof(r_new));
	assert_int_equal(dupcache_count(dc), 1);
}

/*
 * Threads beginning, storing, cancelling and expiring at once: every answered request is found
 * again, every cancelled one is not, and the count is exact. (Lifetime and cap are large, so no
 * entry expires or is evicted whatever the threads' relative speed.)
 */
#define STRESS_TTL 1000000000ull
#define STRESS_MAX 1000000
struct stress_arg {
	struct dupcache *dc;
	unsigned base;
	unsigned replies;
};

static void *
stress_thread(void *p)
{
	struct stress_arg *sa = p;
	uint8_t v[16], reply[64], got[4096];
	size_t len;
	unsigned i;

	memset(reply, 0x5a, sizeof(reply));
	for (i = 0; i < 20000; i++) {
		struct sockaddr_in a = v4("198.51.100.1", (uint16_t)(sa->base + i % 200));
		uint8_t id = (uint8_t)(i / 200);

		vec(v, sa->base * 100000 + i);
		if (dupcache_begin(sa->dc, SA(a), id, v, i, STRESS_TTL, STRESS_MAX, got, sizeof(got),
				   &len) == DUP_NONE) {
			if (i % 3)
				dupcache_store(sa->dc, SA(a), id, v, reply, sizeof(reply), i,
					       STRESS_TTL, STRESS_MAX);
			else
				dupcache_cancel(sa->dc, SA(a), id, v);
		}
		if (dupcache_find(sa->dc, SA(a), id, v, i, got, sizeof(got), &len) == DUP_REPLY) {
			assert_int_equal(len, sizeof(reply));
			sa->replies++;
		}
		if (i % 1000 == 0)
			dupcache_expire(sa->dc, i);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct dupcache *dc = dupcache_new(*state);
	struct stress_arg args[4];
	pthread_t th[4];
	unsigned t;

	for (t = 0; t < 4; t++) {
		args[t] = (struct stress_arg){dc, 1000 + t * 1000, 0};
		assert_int_equal(pthread_create(&th[t], NULL, stress_thread, &args[t]), 0);
	}
	for (t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		/* Two of every three requests were answered and found again. */
		assert_int_equal(args[t].replies, 20000 - (20000 + 2) / 3);
	}
	assert_int_equal(dupcache_count(dc), 4 * (20000 - (20000 + 2) / 3));
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_store_find), T(test_key_parts), T(test_expiry),
		T(test_replace),    T(test_cap),       T(test_many),
		T(test_pending),    T(test_late_store), T(test_threads),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
