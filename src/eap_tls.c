/*
 * eap_tls.c - EAP-TLS (RFC 5216, RFC 9190) on the shared TLS conversation (eap_tls_base.h).
 *
 * Flow (full handshake): Start -> ServerHello..ServerHelloDone/Finished (fragmented, ACKed) ->
 * client flight -> TLS 1.2: our CCS+Finished, the peer ACKs, Success; TLS 1.3: NewSessionTicket
 * and the one-octet 0x00 commitment message (RFC 9190 §2.5), the peer ACKs, Success.
 * Resumed TLS 1.2: after the peer's Finished there is nothing left to send: Success at once.
 * The peer certificate is checked during the handshake (chain, dates, CRL, purpose) and after it
 * (EKU, identity binding and rules); on resumption the chain and CRL are checked again.
 * An anonymous EAP identity (RFC 9190 §2.1.1) is bound by the certificate: the user is the one
 * it names (policy.h), also on resumption, from the certificate facts kept with the session.
 */
#include "eap_tls.h"

#include "conf.h"
#include "eap_tls_base.h"
#include "policy.h"
#include "session.h"
#include "tls_conn.h"

#include <stdio.h>
#include <string.h>

struct eap_tls {
	struct tls_base base;
	bool final_sent; /* our last flight is out: Success after the peer's ACK */
};

static int
tls_init(struct eap_session *s, struct eap_buf *out)
{
	struct eap_tls *d = talloc_zero(s, struct eap_tls);

	if (!d)
		return -1;
	s->method_data = d;
	return tls_base_init(s, d, &d->base, "TLS", EAP_TYPE_TLS, 0, true, out);
}

static enum eap_step
succeed(struct eap_session *s, struct eap_tls *d)
{
	if (tls_base_derive_keys(s, &d->base, "client EAP encryption") < 0) {
		session_set_reason(s, "cannot derive keys");
		return EAP_STEP_FAIL;
	}
	session_trace(s, "EAP-TLS: keys derived");
	return EAP_STEP_SUCCESS;
}

_Static_assert(POLICY_NAI_MAX < sizeof(((struct eap_session *)0)->identity),
	       "a certificate identity fits the session's");

/*
 * The outer identity was anonymous (RFC 9190 §2.1.1): the user is the one the certificate
 * names. It is authorized, logged and put in the Access-Accept's User-Name as in PEAP and TTLS;
 * the anonymous one is logged as outer_identity. On a resumption the certificate facts kept
 * with the session give the same identity.
 */
static void
use_cert_identity(struct eap_session *s, const char *identity)
{
	session_trace(s, "EAP-TLS: anonymous identity \"%s\" is \"%s\" by the certificate",
		      s->identity, identity);
	snprintf(s->outer_identity, sizeof(s->outer_identity), "%s", s->identity);
	snprintf(s->identity, sizeof(s->identity), "%s", identity); /* <= POLICY_NAI_MAX */
}

/* The handshake is complete: check the peer and its authorization. */
static enum eap_step
handshake_done(struct eap_session *s, struct eap_tls *d, struct eap_buf *out)
{
	struct tls_conn *conn = d->base.conn;
	struct policy_outcome po;
	const char *reason = NULL;
	enum eap_step step;
	bool ok;

	s->cert = talloc_zero(s, struct cert_facts);
	if (!s->cert || !tls_conn_peer_facts(conn, s->cert)) {
		TALLOC_FREE(s->cert);
		session_set_reason(s, "no client certificate");
		return EAP_STEP_FAIL;
	}
	session_trace(s, "EAP-TLS: peer certificate subject \"%s\" issuer \"%s\" serial %s%s",
		      s->cert->subject, s->cert->issuer, s->cert->serial,
		      tls_conn_facts_from_session(conn) ? " (as kept with the resumed session)" : "");
	if (s->resumed && !tls_conn_recheck(conn, s->conf->tls_server, s->now, &reason)) {
		tls_conn_forget_session(conn);
		session_set_reason(s, "%s", reason);
		return EAP_STEP_FAIL;
	}
	ok = policy_check_cert(s->conf, s->cert, s->identity, s->conf->tls.require_client_eku,
			       &po);
	if (po.identity && strcmp(po.identity, s->identity) != 0)
		use_cert_identity(s, po.identity);
	if (!ok) {
		if (s->resumed)
			tls_conn_forget_session(conn);
		session_set_reason(s, "%s", po.reason);
		return EAP_STEP_FAIL;
	}
	s->reply_rule = po.rule ? po.rule->reply : NULL;
	s->user = po.user;
	session_trace(s, "EAP-TLS: certificate accepted for \"%s\" (rule %s)", s->identity,
		      po.rule ? po.rule->name : "built-in: identity = SAN or CN");

	if (tls_conn_version(conn) == TLS1_3_VERSION) {
		static const uint8_t commitment[1] = {0x00};

		/* Tickets only now that the peer passed every check (RFC 9190 §2.1.3). */
		if (s->conf->tls.resumption)
			tls_conn_new_ticket(conn);
		if (tls_base_write(s, &d->base, commitment, sizeof(commitment)) < 0)
			return EAP_STEP_FAIL;
	}
	d->final_sent = true;
	step = tls_base_flush(s, d, &d->base, out);
	if (step == EAP_STEP_SUCCESS) /* resumed TLS 1.2: the peer's Finished was the last word */
		return succeed(s, d);
	return step;
}

static enum eap_step
tls_process(struct eap_session *s, const uint8_t *data, size_t len, struct eap_buf *out)
{
	struct eap_tls *d = talloc_get_type_abort(s->method_data, struct eap_tls);
	uint8_t *app = NULL;
	size_t app_len = 0;
	enum tls_base_event ev = tls_base_process(s, d, &d->base, data, len, out, &app, &app_len);

	talloc_free(app);
	switch (ev) {
	case TB_EV_SEND:
		return EAP_STEP_CONTINUE;
	case TB_EV_HANDSHAKE:
		if (app_len) {
			session_set_reason(s, "unexpected application data from the peer");
			return EAP_STEP_FAIL;
		}
		return handshake_done(s, d, out);
	case TB_EV_ACK:
		if (d->final_sent)
			return succeed(s, d);
		session_set_reason(s, "unexpected EAP-TLS ACK");
		return EAP_STEP_FAIL;
	case TB_EV_DATA:
		session_set_reason(s, "unexpected TLS data after the handshake");
		return EAP_STEP_FAIL;
	case TB_EV_FAIL:
	default:
		return EAP_STEP_FAIL;
	}
}

static void
tls_accepted(struct eap_session *s, time_t now)
{
	struct eap_tls *d = talloc_get_type_abort(s->method_data, struct eap_tls);

	if (s->conf->tls.resumption)
		tls_conn_commit_session(d->base.conn, now);
}

const struct eap_method eap_method_tls = {
	.name = "TLS",
	.type = EAP_TYPE_TLS,
	.init = tls_init,
	.process = tls_process,
	.accepted = tls_accepted,
};
