/*
 * eap_peap.c - PEAPv0 (MS-PEAP, draft-kamath-pppext-peapv0-00; RFC 9427 for TLS 1.3).
 *
 * Phase 1: TLS with a server certificate only. Phase 2, inside the tunnel:
 *   -> Identity Request          <- Identity Response (the inner identity)
 *   -> inner method (EAP-MSCHAPv2 or GTC, through the same ops table as outer methods)
 *   -> EAP-TLV: Result (success or failure) [+ Crypto-Binding on success]
 *   <- EAP-TLV: Result [+ Crypto-Binding]  -> outer EAP-Success / EAP-Failure
 * Inner packets travel without their 4-octet EAP header, except EAP-TLV (type 33) ones
 * (MS-PEAP §3.1.5.6). TLS 1.2: our Finished goes alone and the inner Identity Request follows
 * the peer's ACK. A resumed session (fast reconnect) goes straight to the Result TLV, if the
 * user of the original authentication is still allowed in.
 * Crypto binding (MS-PEAP §3.1.5.5): verified whenever the peer returns it, required by
 * `peap_require_crypto_binding`; when used, the MSK is the CSK (§3.1.5.7).
 */
#include "eap_peap.h"

#include "conf.h"
#include "eap_tls_base.h"
#include "eap_tunnel.h"
#include "peap_tlv.h"
#include "session.h"
#include "tls_conn.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define EAP_TYPE_TLV 33

enum peap_phase {
	PEAP_HANDSHAKE,	    /* TLS handshake in progress */
	PEAP_WAIT_ACK,	    /* TLS 1.2: our Finished is out, the inner Identity follows the ACK */
	PEAP_IDENTITY_SENT, /* inner Identity Request sent */
	PEAP_INNER,	    /* inner method running */
	PEAP_TLV_SENT,	    /* Result TLV sent: the peer's Result decides */
};

struct eap_peap {
	struct tls_base base;
	enum peap_phase ph;
	struct eap_session *inner;
	bool result_success; /* what our Result TLV said */
	bool fast_reconnect;
	uint8_t nonce[32];
	uint8_t ipmk[40];
	uint8_t cmk[20];
	/*
	 * The MSK: the TLS key material's first 64 octets (its first 60 are the TK of crypto
	 * binding, RFC 9427 §2.2 for TLS 1.3), taken with the success Result TLV; the CSK's
	 * first 64 once crypto binding is verified (MS-PEAP §3.1.5.7).
	 */
	uint8_t msk[64];
};

static int
peap_destructor(struct eap_peap *d)
{
	OPENSSL_cleanse(d->ipmk, sizeof(d->ipmk));
	OPENSSL_cleanse(d->cmk, sizeof(d->cmk));
	OPENSSL_cleanse(d->msk, sizeof(d->msk));
	return 0;
}

static int
peap_init(struct eap_session *s, struct eap_buf *out)
{
	struct eap_peap *d = talloc_zero(s, struct eap_peap);

	if (!d)
		return -1;
	talloc_set_destructor(d, peap_destructor);
	s->method_data = d;
	d->ph = PEAP_HANDSHAKE;
	/* Version bits 0: we offer PEAPv0 only. */
	return tls_base_init(s, d, &d->base, "PEAP", EAP_TYPE_PEAP, 0, false, out);
}

/* Encrypt tunnel data and send it (with any pending TLS output first, e.g. a ticket). */
static enum eap_step
send_tunnel(struct eap_session *s, struct eap_peap *d, const uint8_t *data, size_t len,
	    struct eap_buf *out)
{
	enum eap_step step;

	if (tls_base_write(s, &d->base, data, len) < 0)
		return EAP_STEP_FAIL;
	step = tls_base_flush(s, d, &d->base, out);
	if (step == EAP_STEP_SUCCESS) {
		session_set_reason(s, "nothing to send in the tunnel");
		return EAP_STEP_FAIL;
	}
	return step;
}

static enum eap_step
send_identity_request(struct eap_session *s, struct eap_peap *d, struct eap_buf *out)
{
	static const uint8_t identity_req[1] = {EAP_TYPE_IDENTITY}; /* header stripped */

	d->ph = PEAP_IDENTITY_SENT;
	session_trace(s, "EAP-PEAP: -> inner Identity Request");
	return send_tunnel(s, d, identity_req, sizeof(identity_req), out);
}

/* Send the EAP-TLV Result (and, on success, the Crypto-Binding request). */
static enum eap_step
send_result(struct eap_session *s, struct eap_peap *d, bool success, const uint8_t *isk,
	    struct eap_buf *out)
{
	uint8_t pkt[5 + 6 + 60];
	size_t len = 5 + 6;
	enum eap_step step;

	pkt[0] = EAP_CODE_REQUEST;
	pkt[1] = 0; /* the peer answers with whatever id; not checked */
	pkt[4] = EAP_TYPE_TLV;
	pkt[5] = 0x80; /* M */
	pkt[6] = PEAP_TLV_RESULT;
	pkt[7] = 0;
	pkt[8] = 2;
	pkt[9] = 0;
	pkt[10] = success ? PEAP_RESULT_SUCCESS : PEAP_RESULT_FAILURE;
	if (success) {
		static const uint8_t zero_isk[32];
		uint8_t *cb = pkt + len;

		bool keyed = eap_tls_msk(d->base.conn, EAP_TYPE_PEAP, "client EAP encryption",
					 d->msk) >= 0 &&
			     RAND_bytes(d->nonce, sizeof(d->nonce)) == 1 &&
			     peap_cmk(d->msk, isk ? isk : zero_isk, d->fast_reconnect, d->ipmk,
				      d->cmk);

		if (!keyed) {
			session_set_reason(s, "cannot derive PEAP crypto-binding keys");
			return EAP_STEP_FAIL;
		}
		/* Crypto-Binding TLV: M=0, type 12, length 56 (MS-PEAP §2.2.8.1.2). */
		cb[0] = 0;
		cb[1] = PEAP_TLV_CRYPTO_BINDING;
		cb[2] = 0;
		cb[3] = PEAP_CRYPTO_BINDING_LEN;
		cb[4] = 0; /* Reserved */
		cb[5] = 0; /* Version */
		cb[6] = 0; /* Received Version */
		cb[7] = 0; /* Sub-Type: request */
		memcpy(cb + 8, d->nonce, 32);
		memset(cb + 40, 0, 20);
		if (!peap_compound_mac(d->cmk, cb, cb + 40)) {
			session_set_reason(s, "cannot compute the PEAP Compound MAC");
			return EAP_STEP_FAIL;
		}
		len += 60;
	}
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	d->result_success = success;
	d->ph = PEAP_TLV_SENT;
	session_trace(s, "EAP-PEAP: -> Result TLV %s%s", success ? "success" : "failure",
		      success ? " + Crypto-Binding" : "");
	step = send_tunnel(s, d, pkt, len, out);
	OPENSSL_cleanse(pkt, sizeof(pkt));
	return step;
}

static bool
is_tlv_response(const uint8_t *p, size_t len)
{
	return len >= 5 && p[0] == EAP_CODE_RESPONSE && p[4] == EAP_TYPE_TLV &&
	       (((size_t)p[2] << 8) | p[3]) == len;
}

/* The peer's answer to our Result TLV. */
static enum eap_step
handle_result(struct eap_session *s, struct eap_peap *d, const uint8_t *p, size_t len)
{
	struct peap_tlvs t;
	const char *bad;
	bool binding = false;

	if (!is_tlv_response(p, len)) {
		session_set_reason(s, "PEAP peer did not answer the Result TLV");
		return EAP_STEP_FAIL;
	}
	bad = peap_tlv_parse(p + 5, len - 5, &t);
	if (bad) {
		session_set_reason(s, "%s", bad);
		return EAP_STEP_FAIL;
	}
	if (!d->result_success) {
		if (!s->reason)
			session_set_reason(s, "inner authentication failed");
		return EAP_STEP_FAIL;
	}
	if (!t.has_result || t.result != PEAP_RESULT_SUCCESS) {
		session_set_reason(s, "PEAP peer reported failure (Result TLV)%s",
				   t.has_result ? "" : " or sent no Result TLV");
		return EAP_STEP_FAIL;
	}
	if (t.has_crypto_binding) {
		const uint8_t *v = t.crypto_binding;
		uint8_t tlv60[60], mac[20];

		memcpy(tlv60, v - 4, 60);
		if (!peap_compound_mac(d->cmk, tlv60, mac) || v[1] != 0 || v[3] != 1 ||
		    CRYPTO_memcmp(v + 4, d->nonce, 32) != 0 ||
		    CRYPTO_memcmp(mac, v + 36, 20) != 0) {
			session_set_reason(s, "PEAP Crypto-Binding TLV invalid (version, "
					      "sub-type, nonce or Compound MAC)");
			return EAP_STEP_FAIL;
		}
		binding = true;
	} else if (s->conf->peap_require_crypto_binding) {
		session_set_reason(s, "PEAP peer sent no Crypto-Binding TLV (required)");
		return EAP_STEP_FAIL;
	}

	if (binding) {
		uint8_t csk[128];
		bool ok = peap_csk(d->ipmk, csk);

		memcpy(d->msk, csk, 64);
		OPENSSL_cleanse(csk, sizeof(csk));
		if (!ok) {
			session_set_reason(s, "cannot derive keys");
			return EAP_STEP_FAIL;
		}
	}
	if (tls_base_set_keys(s, &d->base, d->msk) < 0) {
		session_set_reason(s, "cannot derive keys");
		return EAP_STEP_FAIL;
	}
	tls_conn_set_note(d->base.conn, s->identity);
	session_trace(s, "EAP-PEAP: \"%s\" authenticated%s", s->identity,
		      binding ? ", crypto binding verified" : ", no crypto binding");
	return EAP_STEP_SUCCESS;
}

/* One step of the inner conversation with a (header-stripped) inner packet. */
static enum eap_step
handle_inner(struct eap_session *s, struct eap_peap *d, const uint8_t *p, size_t len,
	     struct eap_buf *out)
{
	struct eap_buf in_out = {NULL, 0};
	uint8_t *full;
	enum eap_step step;
	size_t flen = len + 4;

	if (is_tlv_response(p, len)) {
		/* A Result before the inner method completed must never count. */
		session_set_reason(s, "PEAP Result TLV before the inner authentication completed");
		return EAP_STEP_FAIL;
	}
	if (len < 1 || flen > 0xffff) {
		session_set_reason(s, "empty or oversized PEAP inner packet");
		return EAP_STEP_FAIL;
	}
	full = talloc_array(d, uint8_t, flen);
	if (!full) {
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	/* Restore the header the peer stripped: Response, the id we expect, the length. */
	full[0] = EAP_CODE_RESPONSE;
	full[1] = d->inner ? d->inner->last_id : 0;
	full[2] = (uint8_t)(flen >> 8);
	full[3] = (uint8_t)flen;
	memcpy(full + 4, p, len);

	if (d->ph == PEAP_IDENTITY_SENT) {
		if (p[0] != EAP_TYPE_IDENTITY) {
			talloc_free(full);
			session_set_reason(s, "PEAP peer did not answer the inner Identity Request");
			return EAP_STEP_FAIL;
		}
		d->inner = tunnel_inner_new(s, d);
		if (!d->inner) {
			talloc_free(full);
			session_set_reason(s, "out of memory");
			return EAP_STEP_FAIL;
		}
		d->ph = PEAP_INNER;
		step = eap_start(d->inner, d, full, flen, &in_out);
		if (d->inner->identity[0])
			tunnel_set_identity(s, d->inner->identity);
	} else {
		step = eap_continue(d->inner, d, full, flen, &in_out);
	}
	OPENSSL_cleanse(full, flen);
	talloc_free(full);

	switch (step) {
	case EAP_STEP_CONTINUE:
		/* Strip our header too: the peer restores it from the outer one. */
		if (in_out.len <= 4) {
			step = EAP_STEP_FAIL;
			session_set_reason(s, "empty inner request");
			break;
		}
		step = send_tunnel(s, d, in_out.data + 4, in_out.len - 4, out);
		break;
	case EAP_STEP_SUCCESS:
		tunnel_inner_done(s, d->inner);
		step = send_result(s, d, true, d->inner->have_isk ? d->inner->isk : NULL, out);
		break;
	case EAP_STEP_FAIL:
	default:
		session_set_reason(s, "%s", d->inner->reason ? d->inner->reason : "inner EAP failed");
		s->inner_method = d->inner->method ? d->inner->method->name : NULL;
		/* MS-PEAP: failure is reported with the Result TLV; the peer echoes it. */
		step = send_result(s, d, false, NULL, out);
		break;
	}
	talloc_free(in_out.data);
	return step;
}

static enum eap_step
handshake_done(struct eap_session *s, struct eap_peap *d, struct eap_buf *out)
{
	enum eap_step step;

	/*
	 * TLS 1.3: the ticket goes out with our first tunnel message. It is only an identifier:
	 * the session becomes resumable when this conversation ends in Accept.
	 */
	if (s->conf->tls.resumption && tls_conn_version(d->base.conn) == TLS1_3_VERSION)
		tls_conn_new_ticket(d->base.conn);

	if (s->resumed) {
		/* Fast reconnect: no inner method, if the original user is still allowed in. */
		if (!tunnel_resume_user(s, tls_conn_session_note(d->base.conn))) {
			tls_conn_forget_session(d->base.conn);
			return EAP_STEP_FAIL;
		}
		s->inner_method = "resumed";
		d->fast_reconnect = true;
		session_trace(s, "EAP-PEAP: resumed session of \"%s\", fast reconnect", s->identity);
		return send_result(s, d, true, NULL, out);
	}
	if (tls_conn_version(d->base.conn) != TLS1_3_VERSION) {
		/* TLS 1.2: our Finished goes alone; the Identity Request follows the ACK. */
		step = tls_base_flush(s, d, &d->base, out);
		if (step != EAP_STEP_SUCCESS) {
			d->ph = PEAP_WAIT_ACK;
			return step;
		}
	}
	return send_identity_request(s, d, out);
}

static enum eap_step
peap_process(struct eap_session *s, const uint8_t *data, size_t len, struct eap_buf *out)
{
	struct eap_peap *d = talloc_get_type_abort(s->method_data, struct eap_peap);
	uint8_t *app = NULL;
	size_t app_len = 0;
	enum tls_base_event ev;
	enum eap_step step = EAP_STEP_FAIL;

	/* MS-PEAP §3.2.5.1: a peer that negotiates a version other than 0 fails. */
	if (len >= 1 && (data[0] & 0x07) != 0) {
		session_set_reason(s, "PEAP version %u is not supported (only 0)", data[0] & 0x07);
		return EAP_STEP_FAIL;
	}
	ev = tls_base_process(s, d, &d->base, data, len, out, &app, &app_len);
	switch (ev) {
	case TB_EV_SEND:
		step = EAP_STEP_CONTINUE;
		break;
	case TB_EV_HANDSHAKE:
		if (app_len) {
			session_set_reason(s, "PEAP peer sent tunnel data before our first request");
			break;
		}
		step = handshake_done(s, d, out);
		break;
	case TB_EV_ACK:
		if (d->ph == PEAP_WAIT_ACK)
			step = send_identity_request(s, d, out);
		else
			session_set_reason(s, "unexpected PEAP ACK");
		break;
	case TB_EV_DATA:
		if (app_len == 0) {
			session_set_reason(s, "PEAP peer sent no tunnel data");
			break;
		}
		if (d->ph == PEAP_IDENTITY_SENT || d->ph == PEAP_INNER)
			step = handle_inner(s, d, app, app_len, out);
		else if (d->ph == PEAP_TLV_SENT)
			step = handle_result(s, d, app, app_len);
		else
			session_set_reason(s, "unexpected PEAP tunnel data");
		break;
	case TB_EV_FAIL:
	default:
		break;
	}
	if (app) {
		OPENSSL_cleanse(app, app_len);
		talloc_free(app);
	}
	return step;
}

static void
peap_accepted(struct eap_session *s, time_t now)
{
	struct eap_peap *d = talloc_get_type_abort(s->method_data, struct eap_peap);

	if (s->conf->tls.resumption)
		tls_conn_commit_session(d->base.conn, now);
}

const struct eap_method eap_method_peap = {
	.name = "PEAP",
	.type = EAP_TYPE_PEAP,
	.init = peap_init,
	.process = peap_process,
	.accepted = peap_accepted,
};
