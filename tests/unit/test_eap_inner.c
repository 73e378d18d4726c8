/*
 * test_eap_inner.c - the inner EAP methods of PEAP and TTLS/EAP (src/eap_mschapv2.c,
 * src/eap_gtc.c) driven directly through eap_start/eap_continue on a hand-built
 * configuration: EAP-MSCHAPv2 with NT-Responses computed here (mschap_nt_response) - success
 * with the authenticator response and the PEAP ISK, wrong password / unknown / disabled user
 * with the RFC 2759 failure packet, and malformed or out-of-order packets (MS-Length, Value-Size,
 * MS-CHAPv2-ID, OpCodes, Change-Password, retries after a failure) that must never succeed;
 * EAP-GTC with cleartext and NT-hash-only users, the "RESPONSE=user\0password" form, and Nak
 * from EAP-MSCHAPv2 to GTC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf.h"
#include "eap.h"
#include "mschap.h"
#include "session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define ALICE_PW "Alice-pw-1"
#define BOB_PW "b\xc3\xb6""b-secret" /* non-ASCII: the NT hash is of UTF-16LE */
#define CAROL_PW "carol-pw"

struct t {
	TALLOC_CTX *ctx;
	struct conf *c;
	struct eap_session *s;
	struct eap_buf out;
	uint8_t id;	  /* EAP Identifier of the last Request */
	uint8_t ms_id;	  /* MS-CHAPv2-ID of the Challenge */
	uint8_t chal[16]; /* authenticator challenge */
};

static int
cmp_users(const void *a, const void *b)
{
	return strcasecmp(((const struct user_entry *)a)->name,
			  ((const struct user_entry *)b)->name);
}

/*
 * Users: alice (password; like conf.c, the NT hash is derived from it), bob (nt_hash only),
 * carol (password, disabled), dave (nothing: no credentials = unknown). Each has its own
 * (opaque) reply list so the test can see whose authorization was taken.
 */
static struct conf *
make_conf(TALLOC_CTX *ctx, const uint8_t *inner, unsigned n_inner)
{
	struct conf *c = talloc_zero(ctx, struct conf);
	struct user_entry *u;

	assert_non_null(c);
	memcpy(c->inner_methods, inner, n_inner);
	c->n_inner_methods = n_inner;
	c->limits.max_rounds = 50;
	c->limits.max_invalid = 5;
	c->limits.max_sessions = 100;
	c->limits.max_sessions_per_client = 100;
	c->limits.session_timeout = 30;
	c->users = u = talloc_zero_array(c, struct user_entry, 4);
	assert_non_null(u);
	c->n_users = 4;
	u[0].name = talloc_strdup(c, "dave");
	u[1].name = talloc_strdup(c, "Carol");
	u[1].password = talloc_strdup(c, CAROL_PW);
	u[1].disabled = true;
	assert_int_equal(mschap_nt_hash(CAROL_PW, u[1].nt_hash), 0);
	u[1].has_nt_hash = true;
	u[2].name = talloc_strdup(c, "bob");
	assert_int_equal(mschap_nt_hash(BOB_PW, u[2].nt_hash), 0);
	u[2].has_nt_hash = true;
	u[3].name = talloc_strdup(c, "alice");
	u[3].password = talloc_strdup(c, ALICE_PW);
	assert_int_equal(mschap_nt_hash(ALICE_PW, u[3].nt_hash), 0);
	u[3].has_nt_hash = true;
	for (unsigned i = 0; i < 4; i++)
		u[i].reply = (struct codec_pairs *)talloc_strdup(c, u[i].name);
	qsort(c->users, c->n_users, sizeof(*c->users), cmp_users);
	return c;
}

static const struct user_entry *
user(struct t *t, const char *name)
{
	unsigned i;

	for (i = 0; i < t->c->n_users; i++)
		if (strcasecmp(t->c->users[i].name, name) == 0)
			return &t->c->users[i];
	fail_msg("no user %s", name);
	return NULL;
}

static int
group_setup(void **state)
{
	char err[256];

	(void)state;
	if (mschap_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "mschap_init: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mschap_free();
	return 0;
}

static int
setup_with(void **state, const uint8_t *inner, unsigned n)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->ctx = talloc_new(NULL);
	t->c = make_conf(t->ctx, inner, n);
	t->s = talloc_zero(t->ctx, struct eap_session);
	t->s->conf = t->c;
	t->s->methods = t->c->inner_methods;
	t->s->n_methods = t->c->n_inner_methods;
	*state = t;
	return 0;
}

static int
setup_mschap_gtc(void **state)
{
	static const uint8_t m[] = {EAP_TYPE_MSCHAPV2, EAP_TYPE_GTC};

	return setup_with(state, m, sizeof(m));
}

static int
setup_gtc(void **state)
{
	static const uint8_t m[] = {EAP_TYPE_GTC};

	return setup_with(state, m, sizeof(m));
}

static int
teardown(void **state)
{
	struct t *t = *state;

	talloc_free(t->ctx);
	free(t);
	return 0;
}

/* ---- packets ---- */

/* An EAP Response with the given type and type-data, answering the last Request. */
static enum eap_step
respond(struct t *t, uint8_t type, const void *data, size_t len)
{
	uint8_t pkt[600];
	enum eap_step step;

	assert_true(5 + len <= sizeof(pkt));
	pkt[0] = EAP_CODE_RESPONSE;
	pkt[1] = t->id;
	pkt[2] = (uint8_t)((5 + len) >> 8);
	pkt[3] = (uint8_t)(5 + len);
	pkt[4] = type;
	if (len)
		memcpy(pkt + 5, data, len);
	t->out.data = NULL;
	t->out.len = 0;
	step = eap_continue(t->s, t->ctx, pkt, 5 + len, &t->out);
	assert_non_null(t->out.data);
	assert_true(t->out.len >= 4);
	if (step == EAP_STEP_CONTINUE) {
		assert_int_equal(t->out.data[0], EAP_CODE_REQUEST);
		assert_int_equal(t->out.data[1], (uint8_t)(t->id + 1));
		t->id = t->out.data[1];
	} else {
		/* Success/Failure carry the identifier of the Response (RFC 3748 §4.2). */
		assert_int_equal(t->out.len, 4);
		assert_int_equal(t->out.data[0],
				 step == EAP_STEP_SUCCESS ? EAP_CODE_SUCCESS : EAP_CODE_FAILURE);
		assert_int_equal(t->out.data[1], t->id);
	}
	return step;
}

/* EAP-Response/Identity: the first Request of the first inner method comes back. */
static void
start(struct t *t, const char *identity)
{
	uint8_t pkt[300];
	size_t n = strlen(identity);
	enum eap_step step;

	pkt[0] = EAP_CODE_RESPONSE;
	pkt[1] = 0x41;
	pkt[2] = (uint8_t)((5 + n) >> 8);
	pkt[3] = (uint8_t)(5 + n);
	pkt[4] = EAP_TYPE_IDENTITY;
	memcpy(pkt + 5, identity, n);
	step = eap_start(t->s, t->ctx, pkt, 5 + n, &t->out);
	assert_int_equal(step, EAP_STEP_CONTINUE);
	assert_string_equal(t->s->identity, identity);
	assert_int_equal(t->out.data[0], EAP_CODE_REQUEST);
	t->id = t->out.data[1];
	if (t->out.data[4] == EAP_TYPE_MSCHAPV2) {
		/* OpCode 1, MS-CHAPv2-ID, MS-Length, Value-Size 16, challenge, Name */
		const uint8_t *d = t->out.data + 5;
		size_t dl = t->out.len - 5;

		assert_true(dl >= 4 + 1 + 16);
		assert_int_equal(d[0], 1);
		assert_int_equal(((size_t)d[2] << 8) | d[3], dl);
		assert_int_equal(d[4], 16);
		t->ms_id = d[1];
		memcpy(t->chal, d + 5, 16);
	}
}

/* The type-data of an EAP-MSCHAPv2 Response (OpCode 2). */
static size_t
ms_response(uint8_t *buf, uint8_t ms_id, uint8_t value_size, const uint8_t peer_chal[16],
	    const uint8_t nt[24], const char *name)
{
	size_t nl = strlen(name), len = 4 + 1 + 49 + nl;

	buf[0] = 2;
	buf[1] = ms_id;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[4] = value_size;
	memcpy(buf + 5, peer_chal, 16);
	memset(buf + 21, 0, 8);
	memcpy(buf + 29, nt, 24);
	buf[53] = 0;
	memcpy(buf + 54, name, nl);
	return len;
}

/* A correct Response for identity/password (peer challenge fixed). */
static size_t
good_response(struct t *t, uint8_t *buf, const char *name, const char *password,
	      uint8_t nt[24], uint8_t peer_chal[16])
{
	uint8_t h[16];

	memset(peer_chal, 0x5c, 16);
	assert_int_equal(mschap_nt_hash(password, h), 0);
	assert_int_equal(mschap_nt_response(t->chal, peer_chal, name, h, nt), 0);
	return ms_response(buf, t->ms_id, 49, peer_chal, nt, name);
}

static const uint8_t *
ms_data(struct t *t, uint8_t *op, size_t *len)
{
	assert_int_equal(t->out.data[4], EAP_TYPE_MSCHAPV2);
	*op = t->out.data[5];
	*len = t->out.len - 5;
	/* MS-Length is the length of the type-data */
	assert_int_equal(((size_t)t->out.data[7] << 8) | t->out.data[8], *len);
	return t->out.data + 5;
}

/* The Failure request must be "E=<code> R=0 C=<32 hex> V=3 M=..." with our MS-CHAPv2-ID. */
static void
assert_failure_request(struct t *t, int code)
{
	uint8_t op;
	size_t len, i;
	const uint8_t *d = ms_data(t, &op, &len);
	char text[200], want[16];

	assert_int_equal(op, 4);
	assert_int_equal(d[1], t->ms_id);
	assert_true(len - 4 < sizeof(text));
	memcpy(text, d + 4, len - 4);
	text[len - 4] = '\0';
	snprintf(want, sizeof(want), "E=%d R=0 C=", code);
	if (strncmp(text, want, strlen(want)) != 0)
		fail_msg("Failure request \"%s\", want it to start with \"%s\"", text, want);
	for (i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)text[strlen(want) + i]))
			fail_msg("Failure request \"%s\": C= is not 32 hex digits", text);
	if (strncmp(text + strlen(want) + 32, " V=3 M=", 7) != 0)
		fail_msg("Failure request \"%s\": no \" V=3 M=\" after C=", text);
}

/* ---- EAP-MSCHAPv2 ---- */

static void
mschap_success(struct t *t, const char *name, const char *password)
{
	uint8_t buf[200], nt[24], pc[16], op, send[16], recv[16];
	size_t n, len;
	const uint8_t *d;
	const struct user_entry *u = user(t, name);
	char ar[43], want[64];

	start(t, name);
	assert_int_equal(t->out.data[4], EAP_TYPE_MSCHAPV2);
	n = good_response(t, buf, name, password, nt, pc);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	/* Success request: OpCode 3, same MS-CHAPv2-ID, "S=<40 hex> M=..." */
	d = ms_data(t, &op, &len);
	assert_int_equal(op, 3);
	assert_int_equal(d[1], t->ms_id);
	assert_true(len >= 4 + 42);
	assert_true(mschap_verify(t->chal, pc, name, u->nt_hash, nt, ar));
	assert_memory_equal(d + 4, ar, 42);
	snprintf(want, sizeof(want), "%s M=", ar);
	assert_true(len - 4 >= strlen(want));
	assert_memory_equal(d + 4, want, strlen(want));
	assert_memory_equal(d + 4, "S=", 2);
	/* not authorized before the peer acknowledges */
	/* Peer: Success (OpCode 3, one octet) -> EAP-Success */
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, "\x03", 1), EAP_STEP_SUCCESS);
	assert_ptr_equal(t->s->user, u);
	/* The PEAP ISK: InnerMPPERecvKey | InnerMPPESendKey (server side). */
	assert_true(t->s->have_isk);
	mschap_mppe_keys(u->nt_hash, nt, send, recv);
	assert_memory_equal(t->s->isk, recv, 16);
	assert_memory_equal(t->s->isk + 16, send, 16);
	assert_string_equal(t->s->method->name, "MSCHAPv2");
}

static void
test_mschap_success_password_user(void **state)
{
	mschap_success(*state, "alice", ALICE_PW);
}

static void
test_mschap_success_nt_hash_user(void **state)
{
	mschap_success(*state, "bob", BOB_PW);
}

/* A Failure request; the peer's Failure acknowledgement ends in EAP-Failure with `reason`. */
static void
mschap_fails(struct t *t, const char *name, const char *password, int code, const char *reason)
{
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, name);
	n = good_response(t, buf, name, password, nt, pc);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	assert_failure_request(t, code);
	assert_false(t->s->have_isk);
	assert_null(t->s->user);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, "\x04", 1), EAP_STEP_FAIL);
	assert_non_null(t->s->reason);
	assert_string_equal(t->s->reason, reason);
	assert_null(t->s->user);
}

static void
test_mschap_wrong_password(void **state)
{
	mschap_fails(*state, "alice", "alice-pw-1", 691, "wrong password"); /* case differs */
}

static void
test_mschap_wrong_password_nt_hash_user(void **state)
{
	mschap_fails(*state, "bob", "bob-secret", 691, "wrong password");
}

static void
test_mschap_unknown_user(void **state)
{
	mschap_fails(*state, "mallory", "whatever", 691, "unknown user");
}

static void
test_mschap_user_without_credentials(void **state)
{
	mschap_fails(*state, "dave", "", 691, "unknown user");
}

static void
test_mschap_disabled_user(void **state)
{
	/* the right password does not help; 647 = ERROR_ACCOUNT_DISABLED */
	mschap_fails(*state, "carol", CAROL_PW, 647, "user disabled");
}

/* After a Failure request the conversation is over: a retry with the right password fails. */
static void
test_mschap_no_retry_after_failure(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;
	enum eap_step step;

	start(t, "alice");
	n = good_response(t, buf, "alice", "nope", nt, pc);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	assert_failure_request(t, 691);
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	step = respond(t, EAP_TYPE_MSCHAPV2, buf, n);
	assert_int_equal(step, EAP_STEP_FAIL);
	assert_false(t->s->have_isk);
}

/* Answering the Failure request with a Success acknowledgement must not succeed. */
static void
test_mschap_success_ack_after_failure(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", "nope", nt, pc);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	assert_failure_request(t, 691);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, "\x03", 1), EAP_STEP_FAIL);
	assert_null(t->s->user);
}

/*
 * Drive a conversation after a bad packet to its end: if the method sent a Failure request,
 * acknowledge it. Whatever happens, it must end in FAIL, never SUCCESS.
 */
static void
assert_never_succeeds(struct t *t, enum eap_step step)
{
	unsigned i;

	for (i = 0; step == EAP_STEP_CONTINUE && i < 3; i++) {
		assert_int_equal(t->out.data[4], EAP_TYPE_MSCHAPV2);
		assert_int_equal(t->out.data[5], 4); /* only a Failure request may come */
		step = respond(t, EAP_TYPE_MSCHAPV2, "\x04", 1);
	}
	assert_int_equal(step, EAP_STEP_FAIL);
	assert_non_null(t->s->reason);
	assert_false(t->s->have_isk);
	assert_null(t->s->user);
}

static void
test_mschap_bad_ms_length(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[3]++; /* MS-Length one more than the data */
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, n));
}

static void
test_mschap_bad_ms_length_short(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[3]--; /* one less */
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, n));
}

static void
test_mschap_bad_value_size(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[4] = 48;
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, n));
}

static void
test_mschap_bad_value_size_50(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[4] = 50;
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, n));
}

static void
test_mschap_truncated_response(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];

	start(t, "alice");
	good_response(t, buf, "alice", ALICE_PW, nt, pc);
	/* Value-Size says 49 but only 30 octets follow (MS-Length consistent with that). */
	buf[2] = 0;
	buf[3] = 4 + 1 + 30;
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, 4 + 1 + 30));
}

static void
test_mschap_wrong_ms_id(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[1] = (uint8_t)(t->ms_id + 1);
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, n));
}

static void
test_mschap_success_before_response(void **state)
{
	struct t *t = *state;

	start(t, "alice");
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, "\x03", 1));
}

static void
test_mschap_success_with_ms_length_before_response(void **state)
{
	struct t *t = *state;
	uint8_t buf[4] = {3, 0, 0, 4};

	start(t, "alice");
	buf[1] = t->ms_id;
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, sizeof(buf)));
}

static void
test_mschap_failure_before_response(void **state)
{
	struct t *t = *state;

	start(t, "alice");
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, "\x04", 1));
}

static void
test_mschap_change_password(void **state)
{
	struct t *t = *state;
	/* OpCode 7: MS-CHAPv2-ID, MS-Length 586 (RFC 2759 §7): encrypted password etc. */
	uint8_t buf[586];

	start(t, "alice");
	memset(buf, 0x33, sizeof(buf));
	buf[0] = 7;
	buf[1] = t->ms_id;
	buf[2] = (uint8_t)(sizeof(buf) >> 8);
	buf[3] = (uint8_t)sizeof(buf);
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, sizeof(buf)));
}

static void
test_mschap_response_twice(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	/* the Success request is out; a second Response instead of the acknowledgement */
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_FAIL);
}

static void
test_mschap_success_ack_with_data(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16], ack[4] = {3, 0, 0, 4};
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	ack[1] = t->ms_id;
	/* The acknowledgement is the OpCode alone. */
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, ack, sizeof(ack)), EAP_STEP_FAIL);
}

static void
test_mschap_flipped_nt_response(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[29 + 23] ^= 0x01;
	assert_int_equal(respond(t, EAP_TYPE_MSCHAPV2, buf, n), EAP_STEP_CONTINUE);
	assert_failure_request(t, 691);
	assert_never_succeeds(t, EAP_STEP_CONTINUE);
	assert_string_equal(t->s->reason, "wrong password");
}

static void
test_mschap_empty(void **state)
{
	struct t *t = *state;

	start(t, "alice");
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, NULL, 0));
}

static void
test_mschap_name_with_nul(void **state)
{
	struct t *t = *state;
	uint8_t buf[200], nt[24], pc[16];
	size_t n;

	start(t, "alice");
	n = good_response(t, buf, "alice", ALICE_PW, nt, pc);
	buf[n - 1] = 0; /* "alic\0" */
	assert_never_succeeds(t, respond(t, EAP_TYPE_MSCHAPV2, buf, n));
}

/* ---- EAP-GTC ---- */

/* identity, then (after a Nak from MSCHAPv2 if that was offered first) the GTC prompt */
static void
gtc_start(struct t *t, const char *identity)
{
	start(t, identity);
	if (t->out.data[4] == EAP_TYPE_MSCHAPV2)
		assert_int_equal(respond(t, EAP_TYPE_NAK, "\x06", 1), EAP_STEP_CONTINUE);
	assert_int_equal(t->out.data[4], EAP_TYPE_GTC);
	assert_true(t->out.len > 5); /* a prompt */
}

static void
test_gtc_success(void **state)
{
	struct t *t = *state;

	gtc_start(t, "alice");
	assert_int_equal(respond(t, EAP_TYPE_GTC, ALICE_PW, strlen(ALICE_PW)), EAP_STEP_SUCCESS);
	assert_ptr_equal(t->s->user, user(t, "alice"));
	assert_string_equal(t->s->method->name, "GTC");
	assert_false(t->s->have_isk);
}

static void
test_gtc_success_nt_hash_user(void **state)
{
	struct t *t = *state;

	gtc_start(t, "bob");
	assert_int_equal(respond(t, EAP_TYPE_GTC, BOB_PW, strlen(BOB_PW)), EAP_STEP_SUCCESS);
	assert_ptr_equal(t->s->user, user(t, "bob"));
}

static void
gtc_fails(struct t *t, const char *name, const void *resp, size_t len, const char *reason)
{
	gtc_start(t, name);
	assert_int_equal(respond(t, EAP_TYPE_GTC, resp, len), EAP_STEP_FAIL);
	assert_null(t->s->user);
	assert_non_null(t->s->reason);
	if (reason)
		assert_string_equal(t->s->reason, reason);
}

static void
test_gtc_wrong_password(void **state)
{
	gtc_fails(*state, "alice", "Alice-pw-", 9, "wrong password");
}

static void
test_gtc_wrong_password_longer(void **state)
{
	gtc_fails(*state, "alice", ALICE_PW "x", strlen(ALICE_PW) + 1, "wrong password");
}

static void
test_gtc_wrong_password_nt_hash_user(void **state)
{
	gtc_fails(*state, "bob", "bob-secret", 10, "wrong password");
}

static void
test_gtc_non_utf8_nt_hash_user(void **state)
{
	gtc_fails(*state, "bob", "b\xf6" "b-secret", 9, NULL);
}

static void
test_gtc_unknown_user(void **state)
{
	gtc_fails(*state, "mallory", ALICE_PW, strlen(ALICE_PW), "unknown user");
}

static void
test_gtc_disabled_user(void **state)
{
	gtc_fails(*state, "carol", CAROL_PW, strlen(CAROL_PW), "user disabled");
}

static void
test_gtc_empty_and_nul(void **state)
{
	struct t *t = *state;

	gtc_fails(t, "alice", NULL, 0, NULL);
	teardown(state);
	setup_gtc(state);
	/* the right password followed by a NUL and more */
	gtc_fails(*state, "alice", ALICE_PW "\0x", strlen(ALICE_PW) + 2, NULL);
}

static void
test_gtc_response_form(void **state)
{
	struct t *t = *state;
	static const char resp[] = "RESPONSE=alice\0" ALICE_PW;

	gtc_start(t, "alice");
	assert_int_equal(respond(t, EAP_TYPE_GTC, resp, sizeof(resp) - 1), EAP_STEP_SUCCESS);
	assert_ptr_equal(t->s->user, user(t, "alice"));
}

static void
test_gtc_response_form_wrong(void **state)
{
	static const char resp[] = "RESPONSE=alice\0wrong";

	gtc_fails(*state, "alice", resp, sizeof(resp) - 1, "wrong password");
}

static void
test_gtc_response_form_empty_password(void **state)
{
	static const char resp[] = "RESPONSE=alice\0";

	gtc_fails(*state, "alice", resp, sizeof(resp) - 1, NULL);
}

/* A Nak for a method that is not enabled (MD5) ends the conversation. */
static void
test_nak_to_unavailable_method(void **state)
{
	struct t *t = *state;

	start(t, "alice");
	assert_int_equal(respond(t, EAP_TYPE_NAK, "\x04", 1), EAP_STEP_FAIL);
	assert_non_null(t->s->reason);
	assert_non_null(strstr(t->s->reason, "no acceptable EAP method"));
}

/* GTC only: answering with MSCHAPv2 data is an invalid packet, re-sent, and never success. */
static void
test_gtc_only_wrong_type(void **state)
{
	struct t *t = *state;
	unsigned i;
	enum eap_step step = EAP_STEP_CONTINUE;

	start(t, "alice");
	assert_int_equal(t->out.data[4], EAP_TYPE_GTC);
	for (i = 0; i < 10 && step == EAP_STEP_CONTINUE; i++) {
		uint8_t pkt[6] = {EAP_CODE_RESPONSE, t->id, 0, 6, EAP_TYPE_MSCHAPV2, 3};

		step = eap_continue(t->s, t->ctx, pkt, sizeof(pkt), &t->out);
		if (step == EAP_STEP_CONTINUE)
			assert_int_equal(t->out.data[4], EAP_TYPE_GTC); /* the prompt again */
	}
	assert_int_equal(step, EAP_STEP_FAIL);
}

int
main(void)
{
#define MS(f) cmocka_unit_test_setup_teardown(f, setup_mschap_gtc, teardown)
#define GTC(f) cmocka_unit_test_setup_teardown(f, setup_gtc, teardown)
	const struct CMUnitTest tests[] = {
		MS(test_mschap_success_password_user),
		MS(test_mschap_success_nt_hash_user),
		MS(test_mschap_wrong_password),
		MS(test_mschap_wrong_password_nt_hash_user),
		MS(test_mschap_unknown_user),
		MS(test_mschap_user_without_credentials),
		MS(test_mschap_disabled_user),
		MS(test_mschap_no_retry_after_failure),
		MS(test_mschap_success_ack_after_failure),
		MS(test_mschap_bad_ms_length),
		MS(test_mschap_bad_ms_length_short),
		MS(test_mschap_bad_value_size),
		MS(test_mschap_bad_value_size_50),
		MS(test_mschap_truncated_response),
		MS(test_mschap_wrong_ms_id),
		MS(test_mschap_success_before_response),
		MS(test_mschap_success_with_ms_length_before_response),
		MS(test_mschap_failure_before_response),
		MS(test_mschap_change_password),
		MS(test_mschap_response_twice),
		MS(test_mschap_success_ack_with_data),
		MS(test_mschap_flipped_nt_response),
		MS(test_mschap_empty),
		MS(test_mschap_name_with_nul),
		MS(test_gtc_success),
		GTC(test_gtc_success),
		MS(test_gtc_success_nt_hash_user),
		GTC(test_gtc_wrong_password),
		GTC(test_gtc_wrong_password_longer),
		MS(test_gtc_wrong_password_nt_hash_user),
		GTC(test_gtc_non_utf8_nt_hash_user),
		GTC(test_gtc_unknown_user),
		MS(test_gtc_disabled_user),
		GTC(test_gtc_empty_and_nul),
		GTC(test_gtc_response_form),
		GTC(test_gtc_response_form_wrong),
		GTC(test_gtc_response_form_empty_password),
		MS(test_nak_to_unavailable_method),
		GTC(test_gtc_only_wrong_type),
	};
#undef MS
#undef GTC

	return cmocka_run_group_tests_name("eap_inner", tests, group_setup, group_teardown);
}
