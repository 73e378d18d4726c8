/*
 * test_eap_tls_common.c - unit tests for src/eap_tls_common.c: TLS-over-EAP framing
 * (RFC 5216 §2.1.5 fragmentation, §3.1 Flags and TLS Message Length).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "eap_tls_common.h"

#include <string.h>
#include <talloc.h>

#define MAX_MSG 16384

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

/* Build the type-data of a Response: Flags, [Length], data. Child of ctx. */
static uint8_t *
frag(TALLOC_CTX *ctx, uint8_t flags, long total, const uint8_t *data, size_t len,
     size_t *out_len)
{
	uint8_t *p = talloc_array(ctx, uint8_t, 5 + len + 1);
	size_t n = 0;

	assert_non_null(p);
	p[n++] = flags;
	if (total >= 0) {
		p[0] |= TLS_FLAG_L;
		p[n++] = (uint8_t)((unsigned long)total >> 24);
		p[n++] = (uint8_t)((unsigned long)total >> 16);
		p[n++] = (uint8_t)((unsigned long)total >> 8);
		p[n++] = (uint8_t)total;
	}
	if (len)
		memcpy(p + n, data, len);
	*out_len = n + len;
	return p;
}

/* Feed one fragment. */
static enum frame_rx
rx(TALLOC_CTX *ctx, struct tls_frame *f, uint8_t flags, long total, const uint8_t *data,
   size_t len, const char **reason)
{
	size_t n;
	uint8_t *p = frag(ctx, flags, total, data, len, &n);
	uint8_t seen = 0xff;
	enum frame_rx r;

	*reason = NULL;
	r = tls_frame_receive(ctx, f, p, n, &seen, reason);
	assert_int_equal(seen, p[0]);
	talloc_free(p);
	if (r == FRAME_RX_ERROR)
		assert_non_null(*reason);
	return r;
}

static void
pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

/* ---- reassembly ---- */

static void
test_reassemble_three(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[3000];
	const char *reason;

	pattern(msg, sizeof(msg), 1);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, sizeof(msg), msg, 1000, &reason), FRAME_RX_MORE);
	assert_true(f.in_progress);
	assert_int_equal(f.in_total, sizeof(msg));
	assert_int_equal(f.in_len, 1000);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg + 1000, 1000, &reason), FRAME_RX_MORE);
	assert_int_equal(f.in_len, 2000);
	assert_int_equal(rx(ctx, &f, 0, -1, msg + 2000, 1000, &reason), FRAME_RX_COMPLETE);
	assert_false(f.in_progress);
	assert_int_equal(f.in_len, sizeof(msg));
	assert_memory_equal(f.in, msg, sizeof(msg));
	tls_frame_consumed(&f);
	assert_null(f.in);
	assert_int_equal(f.in_len, 0);
	assert_int_equal(f.in_total, 0);

	/* A next message reassembles from scratch. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 20, msg + 500, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, 0, -1, msg + 510, 10, &reason), FRAME_RX_COMPLETE);
	assert_int_equal(f.in_len, 20);
	assert_memory_equal(f.in, msg + 500, 20);
	tls_frame_consumed(&f);
}

static void
test_single_unfragmented(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[200];
	const char *reason;

	pattern(msg, sizeof(msg), 9);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	/* No L, no M. */
	assert_int_equal(rx(ctx, &f, 0, -1, msg, sizeof(msg), &reason), FRAME_RX_COMPLETE);
	assert_int_equal(f.in_len, sizeof(msg));
	assert_memory_equal(f.in, msg, sizeof(msg));
	tls_frame_consumed(&f);
	/* L with the exact length on a single fragment is fine too. */
	assert_int_equal(rx(ctx, &f, 0, sizeof(msg), msg, sizeof(msg), &reason),
			 FRAME_RX_COMPLETE);
	assert_int_equal(f.in_len, sizeof(msg));
	tls_frame_consumed(&f);
}

static void
test_length_too_large(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[16];
	const char *reason;

	pattern(msg, sizeof(msg), 2);
	tls_frame_init(&f, 1000, 0, 4096);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 4097, msg, sizeof(msg), &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "too large"));
	assert_false(f.in_progress);
	/* 0xFFFFFFFF as well. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 0xFFFFFFFFL, msg, sizeof(msg), &reason),
			 FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "too large"));
	/* Exactly max_msg is allowed. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 4096, msg, sizeof(msg), &reason), FRAME_RX_MORE);
}

static void
test_data_exceeds_length(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[64];
	const char *reason;

	pattern(msg, sizeof(msg), 3);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	/* Over two fragments. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 15, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, 0, -1, msg + 10, 10, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "more data than announced"));
	assert_false(f.in_progress);
	assert_null(f.in);
	/* In one fragment. */
	assert_int_equal(rx(ctx, &f, 0, 5, msg, 10, &reason), FRAME_RX_ERROR);
	assert_false(f.in_progress);
	/* Exceeding on an M fragment, before the last. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 12, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg, 10, &reason), FRAME_RX_ERROR);
	assert_false(f.in_progress);
}

static void
test_less_than_length(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[64];
	const char *reason;

	pattern(msg, sizeof(msg), 4);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 30, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, 0, -1, msg + 10, 10, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "less data than announced"));
	assert_false(f.in_progress);
	assert_null(f.in);
	/* Single fragment that is short of its L. */
	assert_int_equal(rx(ctx, &f, 0, 30, msg, 10, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "less data"));
}

static void
test_new_length_mid_reassembly(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[64];
	const char *reason;

	pattern(msg, sizeof(msg), 5);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 30, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 40, msg + 10, 10, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "new message"));
	/* The half-built message is gone: a fresh one starts cleanly. */
	assert_false(f.in_progress);
	assert_null(f.in);
	assert_int_equal(f.in_len, 0);
	assert_int_equal(rx(ctx, &f, 0, -1, msg, 7, &reason), FRAME_RX_COMPLETE);
	assert_int_equal(f.in_len, 7);
	tls_frame_consumed(&f);
}

static void
test_repeated_same_length(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[30];
	const char *reason;

	pattern(msg, sizeof(msg), 6);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	/* Some peers put L on every fragment (RFC 5216 §3.1 allows it). */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 30, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 30, msg + 10, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, 0, 30, msg + 20, 10, &reason), FRAME_RX_COMPLETE);
	assert_int_equal(f.in_len, 30);
	assert_memory_equal(f.in, msg, 30);
	tls_frame_consumed(&f);
}

static void
test_empty_fragments(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[30];
	const char *reason;

	pattern(msg, sizeof(msg), 7);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	/* Empty with M, not in progress. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, NULL, 0, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "empty fragment"));
	/* Empty with L. */
	assert_int_equal(rx(ctx, &f, 0, 10, NULL, 0, &reason), FRAME_RX_ERROR);
	/* Empty in the middle of a reassembly (with or without M). */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 30, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, NULL, 0, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "empty fragment"));
	assert_false(f.in_progress);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 30, msg, 10, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, 0, -1, NULL, 0, &reason), FRAME_RX_ERROR);
	assert_false(f.in_progress);
}

static void
test_start_flag_and_garbage(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[30], flags = 0;
	const char *reason;
	static const uint8_t short_len[] = {TLS_FLAG_L | TLS_FLAG_M, 0, 0};

	pattern(msg, sizeof(msg), 8);
	tls_frame_init(&f, 1000, 0, MAX_MSG);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_S, -1, msg, 10, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "Start"));
	assert_int_equal(rx(ctx, &f, TLS_FLAG_S, -1, NULL, 0, &reason), FRAME_RX_ERROR);
	/* No Flags octet at all. */
	reason = NULL;
	assert_int_equal(tls_frame_receive(ctx, &f, msg, 0, &flags, &reason), FRAME_RX_ERROR);
	assert_non_null(reason);
	/* L set but the Length field cut short. */
	reason = NULL;
	assert_int_equal(tls_frame_receive(ctx, &f, short_len, sizeof(short_len), &flags, &reason),
			 FRAME_RX_ERROR);
	assert_non_null(reason);
	/* TLS Message Length 0. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, 0, msg, 10, &reason), FRAME_RX_ERROR);
}

static void
test_empty_response_is_ack(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	const char *reason;

	tls_frame_init(&f, 1000, 0, MAX_MSG);
	assert_int_equal(rx(ctx, &f, 0, -1, NULL, 0, &reason), FRAME_RX_ACK);
	assert_false(f.in_progress);
	assert_null(f.in);
	/* Version bits (low bits, e.g. PEAP) do not change that. */
	assert_int_equal(rx(ctx, &f, 0x01, -1, NULL, 0, &reason), FRAME_RX_ACK);
}

static void
test_no_length_capped(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[100];
	const char *reason;

	pattern(msg, sizeof(msg), 10);
	tls_frame_init(&f, 1000, 0, 250);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg, 100, &reason), FRAME_RX_MORE);
	assert_int_equal(f.in_total, 0);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg, 100, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg, 100, &reason), FRAME_RX_ERROR);
	assert_non_null(strstr(reason, "too large"));
	assert_false(f.in_progress);
	assert_null(f.in);
	/* Exactly max_msg without L completes. */
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg, 100, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, TLS_FLAG_M, -1, msg, 100, &reason), FRAME_RX_MORE);
	assert_int_equal(rx(ctx, &f, 0, -1, msg, 50, &reason), FRAME_RX_COMPLETE);
	assert_int_equal(f.in_len, 250);
	tls_frame_consumed(&f);
	/* A single unfragmented packet over max_msg too. */
	{
		uint8_t big[300];

		pattern(big, sizeof(big), 11);
		assert_int_equal(rx(ctx, &f, 0, -1, big, sizeof(big), &reason), FRAME_RX_ERROR);
		assert_non_null(strstr(reason, "too large"));
	}
}

/* ---- limits ---- */

static void
test_frame_init_mtu(void **state)
{
	struct tls_frame f;

	(void)state;
	tls_frame_init(&f, 1398, 0, MAX_MSG);
	assert_int_equal(f.frag_size, 1398);
	assert_int_equal(f.max_msg, MAX_MSG);
	assert_null(f.in);
	assert_null(f.out);
	/* Framed-MTU bounds the fragment: 14 octets of EAPOL + EAP + TLS headers. */
	tls_frame_init(&f, 1398, 1000, MAX_MSG);
	assert_int_equal(f.frag_size, 1000 - 14);
	tls_frame_init(&f, 1398, 1412, MAX_MSG);
	assert_int_equal(f.frag_size, 1398);
	tls_frame_init(&f, 1398, 1411, MAX_MSG);
	assert_int_equal(f.frag_size, 1397);
	/* A larger MTU never raises the configured size. */
	tls_frame_init(&f, 1000, 9000, MAX_MSG);
	assert_int_equal(f.frag_size, 1000);
	/* Silly small MTUs are ignored. */
	tls_frame_init(&f, 1398, 40, MAX_MSG);
	assert_int_equal(f.frag_size, 1398);
	tls_frame_init(&f, 1398, 1, MAX_MSG);
	assert_int_equal(f.frag_size, 1398);
	tls_frame_init(&f, 1398, 14, MAX_MSG);
	assert_int_equal(f.frag_size, 1398);
	/* A small but plausible MTU is taken; the fragment never goes below 64. */
	tls_frame_init(&f, 1398, 78, MAX_MSG);
	assert_int_equal(f.frag_size, 64);
	tls_frame_init(&f, 10, 0, MAX_MSG);
	assert_true(f.frag_size >= 64);
}

/* ---- fragmentation of our output ---- */

static void
test_frame_next_fragments(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[1000], joined[1000];
	struct eap_buf out;
	size_t n = 0, total;
	unsigned k = 0;
	const uint8_t extra = 0x03; /* method version bits travel on every fragment */

	pattern(msg, sizeof(msg), 12);
	tls_frame_init(&f, 300, 0, MAX_MSG);
	assert_false(tls_frame_has_out(&f));
	/* Queued in two pieces: they are sent as one message. */
	assert_int_equal(tls_frame_queue(ctx, &f, msg, 400), 0);
	assert_int_equal(tls_frame_queue(ctx, &f, msg + 400, 600), 0);
	assert_true(tls_frame_has_out(&f));

	while (tls_frame_has_out(&f)) {
		size_t hdr;

		memset(&out, 0, sizeof(out));
		assert_int_equal(tls_frame_next(ctx, &f, extra, &out), 0);
		assert_non_null(out.data);
		assert_int_equal(out.data[0] & 0x1f, extra);
		assert_int_equal(out.data[0] & TLS_FLAG_S, 0);
		if (k == 0) {
			/* First: L and M, and the L field says the whole length. */
			assert_int_equal(out.data[0] & (TLS_FLAG_L | TLS_FLAG_M),
					 TLS_FLAG_L | TLS_FLAG_M);
			total = ((size_t)out.data[1] << 24) | ((size_t)out.data[2] << 16) |
				((size_t)out.data[3] << 8) | out.data[4];
			assert_int_equal(total, sizeof(msg));
			hdr = 5;
			assert_int_equal(out.len, hdr + 300);
		} else if (tls_frame_has_out(&f)) {
			/* Middle: M only. */
			assert_int_equal(out.data[0] & (TLS_FLAG_L | TLS_FLAG_M), TLS_FLAG_M);
			hdr = 1;
			assert_int_equal(out.len, hdr + 300);
		} else {
			/* Last: neither. */
			assert_int_equal(out.data[0] & (TLS_FLAG_L | TLS_FLAG_M), 0);
			hdr = 1;
			assert_int_equal(out.len, hdr + 100);
		}
		assert_true(n + out.len - hdr <= sizeof(joined));
		memcpy(joined + n, out.data + hdr, out.len - hdr);
		n += out.len - hdr;
		talloc_free(out.data);
		k++;
		assert_true(k <= 4);
	}
	assert_int_equal(k, 4);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(joined, msg, sizeof(msg));
	assert_null(f.out);
}

static void
test_frame_next_single(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[300];
	struct eap_buf out;

	pattern(msg, sizeof(msg), 13);
	tls_frame_init(&f, 300, 0, MAX_MSG);
	/* Exactly one fragment's worth: no L, no M. */
	assert_int_equal(tls_frame_queue(ctx, &f, msg, 300), 0);
	assert_int_equal(tls_frame_next(ctx, &f, 0, &out), 0);
	assert_int_equal(out.len, 301);
	assert_int_equal(out.data[0], 0);
	assert_memory_equal(out.data + 1, msg, 300);
	assert_false(tls_frame_has_out(&f));
	talloc_free(out.data);

	/* A small one. */
	assert_int_equal(tls_frame_queue(ctx, &f, msg, 7), 0);
	assert_int_equal(tls_frame_next(ctx, &f, 0, &out), 0);
	assert_int_equal(out.len, 8);
	assert_int_equal(out.data[0], 0);
	assert_memory_equal(out.data + 1, msg, 7);
	assert_false(tls_frame_has_out(&f));
	talloc_free(out.data);

	/* Queueing nothing queues nothing. */
	assert_int_equal(tls_frame_queue(ctx, &f, msg, 0), 0);
	assert_false(tls_frame_has_out(&f));
}

/* Two messages one after the other: the second starts with its own L. */
static void
test_frame_next_two_messages(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct tls_frame f;
	uint8_t msg[200];
	struct eap_buf out;
	size_t total;

	pattern(msg, sizeof(msg), 14);
	tls_frame_init(&f, 64, 0, MAX_MSG);
	for (int round = 0; round < 2; round++) {
		size_t len = round ? 100 : 200;

		assert_int_equal(tls_frame_queue(ctx, &f, msg, len), 0);
		assert_int_equal(tls_frame_next(ctx, &f, 0, &out), 0);
		assert_true(out.data[0] & TLS_FLAG_L);
		total = ((size_t)out.data[1] << 24) | ((size_t)out.data[2] << 16) |
			((size_t)out.data[3] << 8) | out.data[4];
		assert_int_equal(total, len);
		talloc_free(out.data);
		while (tls_frame_has_out(&f)) {
			assert_int_equal(tls_frame_next(ctx, &f, 0, &out), 0);
			assert_false(out.data[0] & TLS_FLAG_L);
			talloc_free(out.data);
		}
	}
}

static void
test_frame_ack(void **state)
{
	TALLOC_CTX *ctx = *state;
	struct eap_buf out;

	assert_int_equal(tls_frame_ack(ctx, 0, &out), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 0);
	assert_int_equal(tls_frame_ack(ctx, TLS_FLAG_S, &out), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], TLS_FLAG_S);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reassemble_three),
		T(test_single_unfragmented),
		T(test_length_too_large),
		T(test_data_exceeds_length),
		T(test_less_than_length),
		T(test_new_length_mid_reassembly),
		T(test_repeated_same_length),
		T(test_empty_fragments),
		T(test_start_flag_and_garbage),
		T(test_empty_response_is_ack),
		T(test_no_length_capped),
		T(test_frame_init_mtu),
		T(test_frame_next_fragments),
		T(test_frame_next_single),
		T(test_frame_next_two_messages),
		T(test_frame_ack),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
