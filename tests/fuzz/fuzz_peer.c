/*
 * fuzz_peer.c - libFuzzer target: the EAP peer of kagi test / kagi bench fed what a hostile or
 * broken RADIUS server could send. The first byte picks the method (EAP-TLS, PEAP-MSCHAPv2,
 * PEAP-GTC, TTLS-PAP, TTLS-EAP-MSCHAPv2); then EAP packets, each prefixed by a 2-byte length,
 * go to peer_process until it succeeds or fails. Invariants: every answer is a well-formed
 * EAP-Response with the request's Identifier, a failure always says why, and a success only
 * comes after an EAP-Success.
 */
#include "eap.h"
#include "mschap.h"
#include "peer.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static SSL_CTX *ssl_ctx;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		enum peer_method m;
		enum peer_inner inner;
	} kinds[] = {
		{PEER_TLS, INNER_NONE},	      {PEER_PEAP, INNER_MSCHAPV2},
		{PEER_PEAP, INNER_GTC},	      {PEER_TTLS, INNER_PAP},
		{PEER_TTLS, INNER_EAP_MSCHAPV2},
	};
	struct peer_config cfg = {
		.identity = "alice",
		.outer_identity = "anonymous@example.org",
		.password = "fuzz-password",
		.fragment_size = 300,
	};
	TALLOC_CTX *ctx;
	struct peer *p;
	struct eap_buf out = {NULL, 0};
	size_t off = 1;
	unsigned rounds = 0;

	if (size < 1)
		return 0;
	if (!ssl_ctx) {
		char err[256];

		/* as kagi does: MD4 and DES for MS-CHAPv2 from the legacy provider */
		if (mschap_init(err, sizeof(err)) < 0 || !(ssl_ctx = SSL_CTX_new(TLS_client_method())))
			abort();
	}
	cfg.method = kinds[data[0] % (sizeof(kinds) / sizeof(kinds[0]))].m;
	cfg.inner = kinds[data[0] % (sizeof(kinds) / sizeof(kinds[0]))].inner;
	cfg.ssl_ctx = ssl_ctx;
	ctx = talloc_new(NULL);
	p = peer_new(ctx, &cfg, NULL);
	if (!p || peer_identity(p, ctx, &out) < 0)
		abort();
	while (off + 2 <= size && rounds++ < 64) {
		size_t len = ((size_t)data[off] << 8) | data[off + 1];
		enum peer_step st;

		off += 2;
		if (len > size - off)
			len = size - off;
		out.data = NULL;
		out.len = 0;
		st = peer_process(p, ctx, data + off, len, &out);
		if (st == PEER_FAIL) {
			if (!peer_error(p))
				abort();
			break;
		}
		if (st == PEER_SUCCESS) {
			if (len < 4 || data[off] != EAP_CODE_SUCCESS)
				abort();
			break;
		}
		/* an answer: an EAP-Response of its own length, to this request's Identifier */
		if (!out.data || out.len < 5 || out.data[0] != EAP_CODE_RESPONSE ||
		    (((size_t)out.data[2] << 8) | out.data[3]) != out.len || len < 2 ||
		    out.data[1] != data[off + 1])
			abort();
		off += len;
	}
	talloc_free(ctx);
	return 0;
}
