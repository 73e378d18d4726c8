/*
 * test_peer.c - the EAP layer of the peer (kagi test, kagi bench) before and around the TLS
 * method: Notification (RFC 3748 §5.2), an Identity request (§4.1), Nak of a method it was not
 * told to use (§5.3.1), and a server that switches methods after the method started.
 */
#include "eap.h"
#include "peer.h"

#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct fixture {
	TALLOC_CTX *ctx;
	SSL_CTX *ssl_ctx;
	struct peer_config cfg; /* the peer keeps a pointer to it */
	struct peer *peer;
	char trace[2048];
};

static void
collect(void *arg, const char *text)
{
	struct fixture *f = arg;
	size_t used = strlen(f->trace);

	snprintf(f->trace + used, sizeof(f->trace) - used, "%s\n", text);
}

static int
setup(void **state)
{
	static struct fixture f;
	struct eap_buf out = {NULL, 0};

	memset(&f, 0, sizeof(f));
	f.ctx = talloc_new(NULL);
	f.ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!f.ctx || !f.ssl_ctx)
		return -1;
	f.cfg.method = PEER_TLS;
	f.cfg.identity = "alice@example.org";
	f.cfg.trace = collect;
	f.cfg.trace_arg = &f;
	f.cfg.ssl_ctx = f.ssl_ctx;
	f.peer = peer_new(f.ctx, &f.cfg, NULL);
	if (!f.peer || peer_identity(f.peer, f.ctx, &out) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	talloc_free(f->ctx);
	SSL_CTX_free(f->ssl_ctx);
	return 0;
}

static enum peer_step
request(struct fixture *f, uint8_t id, uint8_t type, const uint8_t *data, size_t len,
	struct eap_buf *out)
{
	uint8_t pkt[64];

	assert_true(len <= sizeof(pkt) - 5);
	pkt[0] = EAP_CODE_REQUEST;
	pkt[1] = id;
	pkt[2] = 0;
	pkt[3] = (uint8_t)(5 + len);
	pkt[4] = type;
	if (len)
		memcpy(pkt + 5, data, len);
	return peer_process(f->peer, f->ctx, pkt, 5 + len, out);
}

static void
test_notification(void **state)
{
	struct fixture *f = *state;
	static const uint8_t text[] = {'W', 'i', '-', 'F', 'i', ' ', 'o', 'k', 0x1b, '!'};
	static const uint8_t want[] = {EAP_CODE_RESPONSE, 9, 0, 5, EAP_TYPE_NOTIFICATION};
	struct eap_buf out = {NULL, 0};

	assert_int_equal(request(f, 9, EAP_TYPE_NOTIFICATION, text, sizeof(text), &out),
			 PEER_CONTINUE);
	assert_int_equal(out.len, sizeof(want));
	assert_memory_equal(out.data, want, sizeof(want));
	/* shown, with the control character replaced */
	assert_non_null(strstr(f->trace, "Notification \"Wi-Fi ok?!\""));
	/* a Notification after the method started is answered the same way */
	{
		static const uint8_t start[] = {0x20};

		assert_int_equal(request(f, 10, EAP_TYPE_TLS, start, 1, &out), PEER_CONTINUE);
		assert_int_equal(request(f, 11, EAP_TYPE_NOTIFICATION, NULL, 0, &out),
				 PEER_CONTINUE);
		assert_int_equal(out.data[4], EAP_TYPE_NOTIFICATION);
		assert_int_equal(out.data[1], 11);
	}
}

/* A server that asks for the identity itself gets it with its own Identifier (RFC 3748 §4.1). */
static void
test_identity_request(void **state)
{
	struct fixture *f = *state;
	static const uint8_t want[] = {EAP_CODE_RESPONSE, 42, 0, 22, EAP_TYPE_IDENTITY, 'a', 'l',
				       'i', 'c', 'e', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				       '.', 'o', 'r', 'g'};
	struct eap_buf out = {NULL, 0};

	assert_int_equal(request(f, 42, EAP_TYPE_IDENTITY, NULL, 0, &out), PEER_CONTINUE);
	assert_int_equal(out.len, sizeof(want));
	assert_memory_equal(out.data, want, sizeof(want));
}

static void
test_nak_then_no_switch(void **state)
{
	struct fixture *f = *state;
	static const uint8_t start[] = {0x20};
	struct eap_buf out = {NULL, 0};

	/* PEAP proposed first: Nak asking for EAP-TLS */
	assert_int_equal(request(f, 3, EAP_TYPE_PEAP, start, 1, &out), PEER_CONTINUE);
	assert_int_equal(out.len, 6);
	assert_int_equal(out.data[4], EAP_TYPE_NAK);
	assert_int_equal(out.data[5], EAP_TYPE_TLS);
	/* EAP-TLS Start: the ClientHello goes out */
	assert_int_equal(request(f, 4, EAP_TYPE_TLS, start, 1, &out), PEER_CONTINUE);
	assert_int_equal(out.data[4], EAP_TYPE_TLS);
	assert_true(out.len > 50);
	/* the server now switching to PEAP is an error, not a Nak */
	assert_int_equal(request(f, 5, EAP_TYPE_PEAP, start, 1, &out), PEER_FAIL);
	assert_non_null(strstr(peer_error(f->peer), "switched"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_notification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nak_then_no_switch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
