/*
 * peer.c - EAP peer for EAP-TLS, PEAPv0 and EAP-TTLS (see peer.h). RFC 5216, RFC 9190,
 * RFC 9427, MS-PEAP, RFC 5281, RFC 2759.
 */
#include "peer.h"

#include "eap_tls_base.h"
#include "eap_tls_common.h"
#include "mschap.h"
#include "peap_tlv.h"
#include "tls_conn.h"
#include "ttls_avp.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EAP_TYPE_TLV 33
#define MAX_MSG 65536

struct peer {
	const struct peer_config *cfg;
	SSL_SESSION *offer;
	struct tls_conn *conn;
	struct tls_frame frame;
	uint8_t type;
	bool started;
	bool handshake_done;
	bool resumed;
	bool phase2_started; /* TTLS: AVPs sent; PEAP: inner method seen */
	bool inner_ok;	     /* inner method completed (MS-CHAPv2 Success verified / GTC sent) */
	bool method_done;    /* the peer would accept EAP-Success now */
	bool tls_failed;     /* TLS failed; our alert or ACK went out, EAP-Failure comes next */
	bool have_msk;
	uint8_t msk[64];
	uint8_t km[64]; /* the MSK before PEAP crypto binding replaces it; TK = its first 60 */
	uint8_t session_id[65];
	/* MS-CHAPv2 state */
	uint8_t nt_hash[16];
	uint8_t auth_challenge[16];
	uint8_t peer_challenge[16];
	uint8_t nt_response[24];
	uint8_t isk[32];
	bool have_isk;
	uint8_t ttls_ident;
	const char *tls_version;
	char err[256];
};

static void
trace(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
trace(struct peer *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!p->cfg->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->cfg->trace(p->cfg->trace_arg, buf);
}

static enum peer_step
fail(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum peer_step
fail(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err[0]) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
	}
	return PEER_FAIL;
}

/*
 * TLS failed (an alert from the server, or our own verdict on its certificate): remember why,
 * then answer as RFC 5216 §2.1.3 asks, with our alert if TLS produced one, else an empty
 * EAP-TLS response, so that the server can end the conversation with EAP-Failure instead of
 * waiting for us until it times out.
 */
static enum peer_step respond_tls(struct peer *p, TALLOC_CTX *ctx, uint8_t id,
				  struct eap_buf *out);

static enum peer_step
tls_failed(struct peer *p, TALLOC_CTX *ctx, uint8_t id, struct eap_buf *out, const char *what)
{
	fail(p, "%s: %s", what, tls_conn_reason(p->conn) ? tls_conn_reason(p->conn) : "?");
	p->tls_failed = true;
	return respond_tls(p, ctx, id, out) == PEER_CONTINUE ? PEER_CONTINUE : PEER_FAIL;
}

static int
peer_destructor(struct peer *p)
{
	SSL_SESSION_free(p->offer);
	OPENSSL_cleanse(p->msk, sizeof(p->msk));
	OPENSSL_cleanse(p->km, sizeof(p->km));
	OPENSSL_cleanse(p->nt_hash, sizeof(p->nt_hash));
	OPENSSL_cleanse(p->isk, sizeof(p->isk));
	return 0;
}

int
peer_parse_tls(const char *s, int *min_version, int *max_version)
{
	if (strcmp(s, "1.2") != 0 && strcmp(s, "1.3") != 0 && strcmp(s, "any") != 0)
		return -1;
	*min_version = strcmp(s, "1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
	*max_version = strcmp(s, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
	return 0;
}

int
peer_parse_method(const char *name, enum peer_method *m, enum peer_inner *inner)
{
	static const struct {
		const char *name;
		enum peer_method m;
		enum peer_inner inner;
	} tab[] = {
		{"tls", PEER_TLS, INNER_NONE},
		{"peap", PEER_PEAP, INNER_MSCHAPV2},
		{"peap-mschapv2", PEER_PEAP, INNER_MSCHAPV2},
		{"peap-gtc", PEER_PEAP, INNER_GTC},
		{"ttls-pap", PEER_TTLS, INNER_PAP},
		{"ttls-mschapv2", PEER_TTLS, INNER_MSCHAPV2},
		{"ttls-eap-mschapv2", PEER_TTLS, INNER_EAP_MSCHAPV2},
		{"ttls-eap-gtc", PEER_TTLS, INNER_EAP_GTC},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(tab[i].name, name) == 0) {
			*m = tab[i].m;
			*inner = tab[i].inner;
			return 0;
		}
	}
	return -1;
}

struct peer *
peer_new(TALLOC_CTX *ctx, const struct peer_config *cfg, SSL_SESSION *session)
{
	struct peer *p = talloc_zero(ctx, struct peer);

	if (!p)
		return NULL;
	p->cfg = cfg;
	talloc_set_destructor(p, peer_destructor);
	p->type = cfg->method == PEER_TLS ? EAP_TYPE_TLS
		  : cfg->method == PEER_PEAP ? EAP_TYPE_PEAP
					     : EAP_TYPE_TTLS;
	if (session) {
		SSL_SESSION_up_ref(session);
		p->offer = session;
	}
	if (cfg->password && mschap_nt_hash(cfg->password, p->nt_hash) < 0) {
		talloc_free(p);
		return NULL;
	}
	return p;
}

/* EAP-Response/Identity with the outer identity, answering Identifier eap_id. */
static int
identity_response(struct peer *p, TALLOC_CTX *ctx, uint8_t eap_id, struct eap_buf *out)
{
	const char *id = p->cfg->outer_identity ? p->cfg->outer_identity : p->cfg->identity;

	return eap_packet_build(ctx, EAP_CODE_RESPONSE, eap_id, EAP_TYPE_IDENTITY,
				(const uint8_t *)id, strlen(id), out);
}

int
peer_identity(struct peer *p, TALLOC_CTX *ctx, struct eap_buf *out)
{
	return identity_response(p, ctx, 0, out);
}

/* Our next TLS-method Response: pending TLS output as the next fragment, or an ACK. */
static enum peer_step
respond_tls(struct peer *p, TALLOC_CTX *ctx, uint8_t id, struct eap_buf *out)
{
	struct eap_buf td = {NULL, 0};
	uint8_t *buf = NULL;
	size_t n = tls_conn_pull(p->conn, ctx, &buf);
	int r = 0;

	if (n)
		r = tls_frame_queue(p, &p->frame, buf, n);
	talloc_free(buf);
	if (r < 0)
		return fail(p, "out of memory");
	if (tls_frame_has_out(&p->frame))
		r = tls_frame_next(ctx, &p->frame, 0, &td);
	else
		r = tls_frame_ack(ctx, 0, &td);
	if (r < 0 || eap_packet_build(ctx, EAP_CODE_RESPONSE, id, p->type, td.data, td.len, out) < 0)
		return fail(p, "out of memory");
	talloc_free(td.data);
	return PEER_CONTINUE;
}

static enum peer_step
tunnel_send(struct peer *p, TALLOC_CTX *ctx, uint8_t id, const uint8_t *data, size_t len,
	    struct eap_buf *out)
{
	if (tls_conn_write(p->conn, data, len) < 0)
		return fail(p, "cannot write to the tunnel");
	return respond_tls(p, ctx, id, out);
}

static int
derive(struct peer *p)
{
	const char *label = p->type == EAP_TYPE_TTLS ? "ttls keying material"
						     : "client EAP encryption";

	if (eap_tls_msk(p->conn, p->type, label, p->km) < 0 ||
	    eap_tls_session_id(p->conn, p->type, p->session_id) < 0)
		return -1;
	memcpy(p->msk, p->km, 64);
	p->have_msk = true;
	return 0;
}

/* ---- inner EAP-MSCHAPv2 and GTC (full EAP packets in, full EAP packets out) ---- */

static enum peer_step
inner_eap(struct peer *p, TALLOC_CTX *ctx, const uint8_t *req, size_t len, struct eap_buf *out)
{
	uint8_t id, type;

	if (len < 5 || req[0] != EAP_CODE_REQUEST)
		return fail(p, "bad inner EAP packet");
	id = req[1];
	type = req[4];
	if (type == EAP_TYPE_IDENTITY)
		return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, EAP_TYPE_IDENTITY,
			     (const uint8_t *)p->cfg->identity, strlen(p->cfg->identity), out) < 0
			       ? fail(p, "out of memory")
			       : PEER_CONTINUE;
	p->phase2_started = true;
	if (type == EAP_TYPE_GTC &&
	    (p->cfg->inner == INNER_GTC || p->cfg->inner == INNER_EAP_GTC)) {
		p->inner_ok = true;
		trace(p, "inner EAP-GTC: sending the password");
		return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, EAP_TYPE_GTC,
			     (const uint8_t *)p->cfg->password, strlen(p->cfg->password), out) < 0
			       ? fail(p, "out of memory")
			       : PEER_CONTINUE;
	}
	if (type == EAP_TYPE_MSCHAPV2 &&
	    (p->cfg->inner == INNER_MSCHAPV2 || p->cfg->inner == INNER_EAP_MSCHAPV2)) {
		const uint8_t *d = req + 5;
		size_t dl = len - 5;

		if (dl >= 1 && d[0] == 1) { /* Challenge */
			uint8_t body[1 + 49 + 256];
			size_t nl = strlen(p->cfg->identity), blen;
			uint8_t resp[4 + sizeof(body)];

			if (dl < 5 + 16 || d[4] != 16 || nl > 256)
				return fail(p, "bad MS-CHAPv2 Challenge");
			memcpy(p->auth_challenge, d + 5, 16);
			if (RAND_bytes(p->peer_challenge, 16) != 1 ||
			    mschap_nt_response(p->auth_challenge, p->peer_challenge,
					       p->cfg->identity, p->nt_hash, p->nt_response) < 0)
				return fail(p, "cannot compute the MS-CHAPv2 response");
			body[0] = 49;
			memcpy(body + 1, p->peer_challenge, 16);
			memset(body + 17, 0, 8);
			memcpy(body + 25, p->nt_response, 24);
			body[49] = 0;
			memcpy(body + 50, p->cfg->identity, nl);
			blen = 50 + nl;
			resp[0] = 2;
			resp[1] = d[1];
			resp[2] = (uint8_t)((4 + blen) >> 8);
			resp[3] = (uint8_t)(4 + blen);
			memcpy(resp + 4, body, blen);
			trace(p, "inner EAP-MSCHAPv2: -> Response");
			return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, EAP_TYPE_MSCHAPV2, resp, 4 + blen,
				     out) < 0
				       ? fail(p, "out of memory")
				       : PEER_CONTINUE;
		}
		if (dl >= 4 + 42 && d[0] == 3) { /* Success */
			char expect[43];
			uint8_t op = 3;

			mschap_auth_response(p->nt_hash, p->nt_response, p->peer_challenge,
					     p->auth_challenge, p->cfg->identity, expect);
			if (memcmp(d + 4, expect, 42) != 0)
				return fail(p, "MS-CHAPv2: the server's authenticator response is "
					       "wrong (server does not know the password)");
			mschap_mppe_keys(p->nt_hash, p->nt_response, p->isk + 16, p->isk);
			p->have_isk = true;
			p->inner_ok = true;
			trace(p, "inner EAP-MSCHAPv2: server authenticated, -> Success");
			return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, EAP_TYPE_MSCHAPV2, &op, 1, out) < 0
				       ? fail(p, "out of memory")
				       : PEER_CONTINUE;
		}
		if (dl >= 1 && d[0] == 4) { /* Failure */
			uint8_t op = 4;

			snprintf(p->err, sizeof(p->err), "MS-CHAPv2 Failure: %.*s",
				 (int)(dl > 4 ? (dl - 4 > 80 ? 80 : dl - 4) : 0),
				 dl > 4 ? (const char *)d + 4 : "");
			return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, EAP_TYPE_MSCHAPV2, &op, 1, out) < 0
				       ? fail(p, "out of memory")
				       : PEER_CONTINUE;
		}
		return fail(p, "unexpected MS-CHAPv2 packet");
	}
	{
		uint8_t want = p->cfg->inner == INNER_GTC || p->cfg->inner == INNER_EAP_GTC
				       ? EAP_TYPE_GTC
				       : EAP_TYPE_MSCHAPV2;

		trace(p, "inner Nak: server proposed type %u, we want %u", type, want);
		return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, EAP_TYPE_NAK, &want, 1, out) < 0
			       ? fail(p, "out of memory")
			       : PEER_CONTINUE;
	}
}

/* ---- PEAP ---- */

static enum peer_step
peap_tlv(struct peer *p, TALLOC_CTX *ctx, uint8_t outer_id, const uint8_t *req, size_t len,
	 struct eap_buf *out)
{
	struct peap_tlvs t;
	const char *bad = peap_tlv_parse(req + 5, len - 5, &t);
	uint8_t resp[5 + 6 + 60], tk[60], ipmk[40], cmk[20], mac[20];
	size_t rl = 5 + 6;
	bool ok;

	if (bad)
		return fail(p, "%s", bad);
	ok = t.has_result && t.result == PEAP_RESULT_SUCCESS;
	/* Never accept a success without a completed inner method (unless resumed). */
	if (ok && !p->inner_ok && !p->resumed) {
		trace(p, "PEAP: server claims success but no inner method completed");
		ok = false;
	}
	if (ok && t.has_crypto_binding) {
		static const uint8_t zero[32];
		const uint8_t *v = t.crypto_binding;

		memcpy(tk, p->km, 60);
		if (!peap_cmk(tk, p->have_isk ? p->isk : zero, p->resumed && !p->phase2_started,
			      ipmk, cmk) ||
		    !peap_compound_mac(cmk, v - 4, mac) || v[1] != 0 || v[3] != 0 ||
		    CRYPTO_memcmp(mac, v + 36, 20) != 0) {
			trace(p, "PEAP: invalid Crypto-Binding from the server");
			ok = false;
		}
	}
	resp[0] = EAP_CODE_RESPONSE;
	resp[1] = len >= 2 ? req[1] : outer_id;
	resp[4] = EAP_TYPE_TLV;
	resp[5] = 0x80;
	resp[6] = PEAP_TLV_RESULT;
	resp[7] = 0;
	resp[8] = 2;
	resp[9] = 0;
	resp[10] = ok ? PEAP_RESULT_SUCCESS : PEAP_RESULT_FAILURE;
	if (ok && t.has_crypto_binding) {
		uint8_t *cb = resp + rl;
		uint8_t csk[128];

		memcpy(cb, t.crypto_binding - 4, 60);
		cb[7] = 1; /* Sub-Type: response */
		memset(cb + 40, 0, 20);
		if (peap_compound_mac(cmk, cb, cb + 40) && peap_csk(ipmk, csk)) {
			rl += 60;
			memcpy(p->msk, csk, 64);
		} else {
			ok = false;
			resp[10] = PEAP_RESULT_FAILURE;
			snprintf(p->err, sizeof(p->err), "PEAP: cannot compute the crypto binding");
		}
		OPENSSL_cleanse(csk, sizeof(csk));
	}
	resp[2] = (uint8_t)(rl >> 8);
	resp[3] = (uint8_t)rl;
	OPENSSL_cleanse(tk, sizeof(tk));
	OPENSSL_cleanse(ipmk, sizeof(ipmk));
	OPENSSL_cleanse(cmk, sizeof(cmk));
	p->method_done = ok;
	if (!ok && !p->err[0])
		snprintf(p->err, sizeof(p->err), "PEAP: the server reported failure");
	trace(p, "PEAP: <- Result TLV %s%s, -> Result %s", t.result == 1 ? "success" : "failure",
	      t.has_crypto_binding ? " + Crypto-Binding" : "", ok ? "success" : "failure");
	return tunnel_send(p, ctx, outer_id, resp, rl, out);
}

static enum peer_step
peap_data(struct peer *p, TALLOC_CTX *ctx, uint8_t id, const uint8_t *app, size_t len,
	  struct eap_buf *out)
{
	uint8_t *full;
	struct eap_buf in_out = {NULL, 0};
	enum peer_step st;

	if (len == 0)
		return respond_tls(p, ctx, id, out);
	if (len >= 5 && app[0] == EAP_CODE_REQUEST && app[4] == EAP_TYPE_TLV)
		return peap_tlv(p, ctx, id, app, len, out);
	/* Header-stripped inner request: restore it with the outer identifier. */
	full = talloc_array(ctx, uint8_t, len + 4);
	if (!full)
		return fail(p, "out of memory");
	full[0] = EAP_CODE_REQUEST;
	full[1] = id;
	full[2] = (uint8_t)((len + 4) >> 8);
	full[3] = (uint8_t)(len + 4);
	memcpy(full + 4, app, len);
	st = inner_eap(p, ctx, full, len + 4, &in_out);
	talloc_free(full);
	if (st != PEER_CONTINUE)
		return st;
	st = tunnel_send(p, ctx, id, in_out.data + 4, in_out.len - 4, out);
	talloc_free(in_out.data);
	return st;
}

/* ---- TTLS ---- */

static enum peer_step
ttls_phase2(struct peer *p, TALLOC_CTX *ctx, uint8_t id, struct eap_buf *out)
{
	uint8_t *avps = NULL;
	size_t alen = 0;
	const char *user = p->cfg->identity;
	int r = 0;
	enum peer_step st;

	p->phase2_started = true;
	if (p->cfg->inner == INNER_PAP) {
		uint8_t pw[272];
		size_t l = strlen(p->cfg->password), padded = (l + 15) & ~(size_t)15;

		if (l > 256)
			return fail(p, "password too long");
		memset(pw, 0, sizeof(pw));
		memcpy(pw, p->cfg->password, l);
		r = ttls_avp_append(ctx, &avps, &alen, 1, 0, (const uint8_t *)user, strlen(user)) |
		    ttls_avp_append(ctx, &avps, &alen, 2, 0, pw, padded ? padded : 16);
		OPENSSL_cleanse(pw, sizeof(pw));
		/* PAP has no answer from the server: EAP-Success is the verdict. */
		p->inner_ok = p->method_done = true;
	} else if (p->cfg->inner == INNER_MSCHAPV2) {
		uint8_t ch[17], resp[50];

		if (tls_conn_export(p->conn, "ttls challenge", NULL, 0, false, ch, sizeof(ch)) < 0)
			return fail(p, "cannot derive the TTLS challenge");
		memcpy(p->auth_challenge, ch, 16);
		p->ttls_ident = ch[16];
		if (RAND_bytes(p->peer_challenge, 16) != 1 ||
		    mschap_nt_response(p->auth_challenge, p->peer_challenge, user, p->nt_hash,
				       p->nt_response) < 0)
			return fail(p, "cannot compute the MS-CHAPv2 response");
		resp[0] = ch[16];
		resp[1] = 0;
		memcpy(resp + 2, p->peer_challenge, 16);
		memset(resp + 18, 0, 8);
		memcpy(resp + 26, p->nt_response, 24);
		r = ttls_avp_append(ctx, &avps, &alen, 1, 0, (const uint8_t *)user, strlen(user)) |
		    ttls_avp_append(ctx, &avps, &alen, 11, 311, ch, 16) |
		    ttls_avp_append(ctx, &avps, &alen, 25, 311, resp, sizeof(resp));
	} else {
		struct eap_buf ident = {NULL, 0};

		if (eap_packet_build(ctx, EAP_CODE_RESPONSE, 0, EAP_TYPE_IDENTITY, (const uint8_t *)user,
			  strlen(user), &ident) < 0)
			return fail(p, "out of memory");
		r = ttls_avp_append(ctx, &avps, &alen, 79, 0, ident.data, ident.len);
		talloc_free(ident.data);
	}
	if (r < 0)
		return fail(p, "out of memory");
	trace(p, "TTLS: -> phase 2 AVPs (%zu bytes)", alen);
	st = tunnel_send(p, ctx, id, avps, alen, out);
	OPENSSL_cleanse(avps, alen);
	talloc_free(avps);
	return st;
}

static enum peer_step
ttls_data(struct peer *p, TALLOC_CTX *ctx, uint8_t id, const uint8_t *app, size_t len,
	  struct eap_buf *out)
{
	struct ttls_avps avps;
	const struct ttls_avp *a;
	const char *bad;

	if (!p->phase2_started) {
		if (p->resumed) {
			/* The server skips phase 2 on resumption: just acknowledge. */
			p->method_done = true;
			return respond_tls(p, ctx, id, out);
		}
		return ttls_phase2(p, ctx, id, out);
	}
	if (len == 0)
		return respond_tls(p, ctx, id, out);
	bad = ttls_avp_parse(app, len, &avps);
	if (bad)
		return fail(p, "%s", bad);
	if ((a = ttls_avp_find(&avps, 26, 311)) != NULL) { /* MS-CHAP2-Success */
		char expect[43];

		mschap_auth_response(p->nt_hash, p->nt_response, p->peer_challenge,
				     p->auth_challenge, p->cfg->identity, expect);
		if (a->len < 43 || a->data[0] != p->ttls_ident || memcmp(a->data + 1, expect, 42))
			return fail(p, "TTLS MS-CHAP2-Success does not authenticate the server");
		p->inner_ok = p->method_done = true;
		return respond_tls(p, ctx, id, out);
	}
	if ((a = ttls_avp_find(&avps, 79, 0)) != NULL) {
		struct eap_buf in_out = {NULL, 0};
		uint8_t *resp = NULL;
		size_t rlen = 0;
		enum peer_step st = inner_eap(p, ctx, a->data, a->len, &in_out);

		if (st != PEER_CONTINUE)
			return st;
		if (ttls_avp_append(ctx, &resp, &rlen, 79, 0, in_out.data, in_out.len) < 0)
			return fail(p, "out of memory");
		if (p->inner_ok)
			p->method_done = true;
		st = tunnel_send(p, ctx, id, resp, rlen, out);
		talloc_free(resp);
		talloc_free(in_out.data);
		return st;
	}
	return respond_tls(p, ctx, id, out);
}

/* ---- the TLS-based method ---- */

static enum peer_step
method_request(struct peer *p, TALLOC_CTX *ctx, uint8_t id, const uint8_t *td, size_t len,
	       struct eap_buf *out)
{
	const char *reason = NULL;
	uint8_t flags = 0;
	char err[256];
	uint8_t *app = NULL;
	int n;

	if (len < 1)
		return fail(p, "empty method request");
	if (td[0] & TLS_FLAG_S) {
		if (p->started)
			return fail(p, "second Start from the server");
		p->started = true;
		p->conn = tls_conn_new_client(p, p->cfg->ssl_ctx, p->cfg->server_name, p->offer,
					      err, sizeof(err));
		if (!p->conn)
			return fail(p, "%s", err);
		if (p->cfg->trace)
			tls_conn_set_trace(p->conn, p->cfg->trace, p->cfg->trace_arg);
		tls_frame_init(&p->frame, p->cfg->fragment_size ? p->cfg->fragment_size : 1024, 0,
			       MAX_MSG);
		tls_conn_handshake(p->conn);
		trace(p, "EAP-%s: <- Start, -> ClientHello", eap_type_name(p->type));
		return respond_tls(p, ctx, id, out);
	}
	if (!p->started)
		return fail(p, "method request before Start");
	if (p->tls_failed)
		return fail(p, "the server went on after a TLS failure");
	/* The framer refuses S from the other side; here the other side is the server. */
	switch (tls_frame_receive(p, &p->frame, td, len, &flags, &reason)) {
	case FRAME_RX_ERROR:
		return fail(p, "%s", reason);
	case FRAME_RX_MORE: {
		static const uint8_t ack[1] = {0};

		return eap_packet_build(ctx, EAP_CODE_RESPONSE, id, p->type, ack, 1, out) < 0
			       ? fail(p, "out of memory")
			       : PEER_CONTINUE;
	}
	case FRAME_RX_ACK:
		if (tls_frame_has_out(&p->frame))
			return respond_tls(p, ctx, id, out);
		/* An empty request in the tunnel: the server waits for us (TTLS phase 2). */
		if (p->handshake_done && p->type == EAP_TYPE_TTLS && !p->phase2_started) {
			if (!p->resumed)
				return ttls_phase2(p, ctx, id, out);
			p->method_done = true; /* resumed: phase 2 is skipped */
		}
		return respond_tls(p, ctx, id, out);
	case FRAME_RX_COMPLETE:
		break;
	}
	if (tls_conn_push(p->conn, p->frame.in, p->frame.in_len) < 0)
		return fail(p, "out of memory");
	tls_frame_consumed(&p->frame);
	if (!p->handshake_done) {
		switch (tls_conn_handshake(p->conn)) {
		case TLS_STEP_FAIL:
			return tls_failed(p, ctx, id, out, "TLS handshake failed");
		case TLS_STEP_CONTINUE:
			return respond_tls(p, ctx, id, out);
		case TLS_STEP_DONE:
		default:
			break;
		}
		p->handshake_done = true;
		p->resumed = tls_conn_resumed(p->conn);
		p->tls_version = tls_conn_version_str(p->conn);
		if (derive(p) < 0)
			return fail(p, "cannot derive keys");
		trace(p, "EAP-%s: %s handshake done%s", eap_type_name(p->type), p->tls_version,
		      p->resumed ? " (resumed)" : "");
		/*
		 * EAP-TLS over TLS 1.3 ends with the server's commitment message (RFC 9190 §2.5),
		 * except on a resumption, which some servers (hostapd 2.10) end with EAP-Success
		 * right after our Finished, and wpa_supplicant accepts that.
		 */
		if (p->type == EAP_TYPE_TLS)
			p->method_done = tls_conn_version(p->conn) != TLS1_3_VERSION || p->resumed;
		/*
		 * TTLS resumed: phase 2 is skipped (RFC 5281 §11.6), and the server may end with
		 * EAP-Success right after our Finished (hostapd does) or first send an empty request.
		 */
		if (p->type == EAP_TYPE_TTLS && p->resumed)
			p->method_done = true;
	}
	/*
	 * Tunnel data (may be empty: tickets, or nothing). In TLS 1.3 it may have come in the same
	 * flight as the server's Finished (hostapd sends the EAP-TLS commitment message there on
	 * a resumption), before our own Finished has gone out.
	 */
	app = talloc_array(ctx, uint8_t, MAX_MSG);
	if (!app)
		return fail(p, "out of memory");
	n = 0;
	for (;;) {
		int r = tls_conn_read(p->conn, app + n, (size_t)(MAX_MSG - n));

		if (r < 0) {
			talloc_free(app);
			return tls_failed(p, ctx, id, out, "TLS error in the tunnel");
		}
		if (r == 0 || n + r >= MAX_MSG)
			break;
		n += r;
	}
	/* Nothing came with the flight that ended the handshake: our last flight goes now. */
	if (n == 0 && tls_conn_pending(p->conn)) {
		talloc_free(app);
		return respond_tls(p, ctx, id, out);
	}
	{
		enum peer_step st;

		if (p->type == EAP_TYPE_TLS) {
			/* RFC 9190 §2.5: the 0x00 commitment message ends the TLS 1.3 exchange. */
			if (n == 1 && app[0] == 0)
				p->method_done = true;
			st = respond_tls(p, ctx, id, out);
		} else if (p->type == EAP_TYPE_PEAP) {
			st = peap_data(p, ctx, id, app, (size_t)n, out);
		} else {
			st = ttls_data(p, ctx, id, app, (size_t)n, out);
		}
		OPENSSL_cleanse(app, (size_t)n);
		talloc_free(app);
		return st;
	}
}

enum peer_step
peer_process(struct peer *p, TALLOC_CTX *ctx, const uint8_t *eap, size_t len,
	     struct eap_buf *out)
{
	size_t l;

	out->data = NULL;
	out->len = 0;
	if (len < 4)
		return fail(p, "short EAP packet from the server");
	l = ((size_t)eap[2] << 8) | eap[3];
	if (l < 4 || l > len)
		return fail(p, "bad EAP length from the server");
	switch (eap[0]) {
	case EAP_CODE_SUCCESS:
		if (!p->method_done)
			return fail(p, "EAP-Success before the method completed");
		return PEER_SUCCESS;
	case EAP_CODE_FAILURE:
		return fail(p, "EAP-Failure");
	case EAP_CODE_REQUEST:
		break;
	default:
		return fail(p, "unexpected EAP code %u", eap[0]);
	}
	if (l < 5)
		return fail(p, "EAP Request without a type");
	if (eap[4] == EAP_TYPE_IDENTITY) /* answered with the request's Identifier (RFC 3748 §4.1) */
		return identity_response(p, ctx, eap[1], out) < 0 ? fail(p, "out of memory")
								   : PEER_CONTINUE;
	if (eap[4] == EAP_TYPE_NOTIFICATION) {
		/* RFC 3748 §5.2: shown to the user, answered with an empty Notification. */
		char text[101];
		size_t i, n = l - 5 < sizeof(text) - 1 ? l - 5 : sizeof(text) - 1;

		for (i = 0; i < n; i++)
			text[i] = eap[5 + i] >= 0x20 && eap[5 + i] < 0x7f ? (char)eap[5 + i] : '?';
		text[n] = '\0';
		trace(p, "EAP: <- Notification \"%s\", -> Notification", text);
		return eap_packet_build(ctx, EAP_CODE_RESPONSE, eap[1], EAP_TYPE_NOTIFICATION, NULL,
					0, out) < 0
			       ? fail(p, "out of memory")
			       : PEER_CONTINUE;
	}
	if (eap[4] != p->type) {
		/* RFC 3748 §5.3.1: a Nak answers only the first request of a method. */
		if (p->started)
			return fail(p, "the server switched from %s to %s mid-conversation",
				    eap_type_name(p->type), eap_type_name(eap[4]));
		trace(p, "EAP: server proposes %s, -> Nak(%s)", eap_type_name(eap[4]),
		      eap_type_name(p->type));
		return eap_packet_build(ctx, EAP_CODE_RESPONSE, eap[1], EAP_TYPE_NAK, &p->type, 1, out) < 0
			       ? fail(p, "out of memory")
			       : PEER_CONTINUE;
	}
	return method_request(p, ctx, eap[1], eap + 5, l - 5, out);
}

const char *
peer_error(const struct peer *p)
{
	return p->err[0] ? p->err : NULL;
}

const uint8_t *
peer_msk(const struct peer *p)
{
	return p->have_msk ? p->msk : NULL;
}

const char *
peer_tls_version(const struct peer *p)
{
	return p->tls_version;
}

bool
peer_resumed(const struct peer *p)
{
	return p->resumed;
}

SSL_SESSION *
peer_session(const struct peer *p)
{
	return p->conn ? tls_conn_get_session(p->conn) : NULL;
}
