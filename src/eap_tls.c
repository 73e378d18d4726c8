/*
 * eap_tls.c - EAP-TLS (RFC 5216, RFC 9190).
 *
 * Flow (full handshake): Start -> ServerHello..ServerHelloDone/Finished (fragmented, ACKed) ->
 * client flight -> TLS 1.2: our CCS+Finished, the peer ACKs, Success; TLS 1.3: NewSessionTicket
 * and the one-octet 0x00 commitment message (RFC 9190 §2.5), the peer ACKs, Success.
 * Resumed TLS 1.2: after the peer's Finished there is nothing left to send: Success at once.
 * The peer certificate is checked during the handshake (chain, dates, CRL, purpose) and after it
 * (EKU, identity binding and rules); on resumption the chain and CRL are checked again.
 */
#include "eap_tls.h"

#include "conf.h"
#include "eap_tls_common.h"
#include "policy.h"
#include "session.h"
#include "tls_conn.h"
#include "tls_ctx.h"

#include <openssl/crypto.h>
#include <string.h>

enum tls_state {
	ST_START,     /* Start sent, waiting for ClientHello */
	ST_HANDSHAKE, /* handshake in progress */
	ST_FINAL,     /* our last flight is out; Success after the peer's ACK */
	ST_ALERT,     /* a fatal alert is out; Failure after the peer's answer */
};

struct eap_tls {
	struct tls_conn *conn;
	struct tls_frame frame;
	enum tls_state st;
};

static const char *
state_name(enum tls_state st)
{
	static const char *const names[] = {"START", "HANDSHAKE", "FINAL", "ALERT"};

	return names[st];
}

static void
set_state(struct eap_session *s, struct eap_tls *d, enum tls_state st)
{
	if (d->st != st)
		session_trace(s, "EAP-TLS: %s -> %s", state_name(d->st), state_name(st));
	d->st = st;
}

static int
tls_init(struct eap_session *s, struct eap_buf *out)
{
	struct eap_tls *d = talloc_zero(s, struct eap_tls);
	const struct conf_tls *cfg = &s->conf->tls;
	char err[256];

	if (!d)
		return -1;
	s->method_data = d;
	d->conn = tls_conn_new(d, s->conf->tls_server, err, sizeof(err));
	if (!d->conn) {
		session_set_reason(s, "%s", err);
		return -1;
	}
	if (s->trace)
		tls_conn_set_trace(d->conn, s->trace, s->trace_arg);
	tls_frame_init(&d->frame, cfg->fragment_size, s->framed_mtu, cfg->max_message_size);
	d->st = ST_START;
	session_trace(s, "EAP-TLS: -> Start (fragment size %zu)", d->frame.frag_size);
	/* RFC 5216 §2.1.1: EAP-TLS/Start is a Request with only the S flag. */
	return tls_frame_ack(s, TLS_FLAG_S, out);
}

/* RFC 5216 §2.3 (TLS 1.2) and RFC 9190 §2.3 (TLS 1.3): MSK, EMSK and Session-Id. */
static int
derive_keys(struct eap_session *s, struct eap_tls *d)
{
	static const uint8_t type_code[1] = {EAP_TYPE_TLS};
	uint8_t km[128];

	s->session_id[0] = EAP_TYPE_TLS;
	if (tls_conn_version(d->conn) == TLS1_3_VERSION) {
		if (tls_conn_export(d->conn, "EXPORTER_EAP_TLS_Key_Material", type_code, 1, true,
				    km, sizeof(km)) < 0 ||
		    tls_conn_export(d->conn, "EXPORTER_EAP_TLS_Method-Id", type_code, 1, true,
				    s->session_id + 1, 64) < 0)
			return -1;
	} else {
		if (tls_conn_export(d->conn, "client EAP encryption", NULL, 0, false, km,
				    sizeof(km)) < 0)
			return -1;
		tls_conn_randoms(d->conn, s->session_id + 1, s->session_id + 33);
	}
	s->session_id_len = 65;
	memcpy(s->msk, km, 64);
	memcpy(s->emsk, km + 64, 64);
	OPENSSL_cleanse(km, sizeof(km));
	s->have_keys = true;
	return 0;
}

static enum eap_step
succeed(struct eap_session *s, struct eap_tls *d)
{
	if (derive_keys(s, d) < 0) {
		session_set_reason(s, "cannot derive keys");
		return EAP_STEP_FAIL;
	}
	session_trace(s, "EAP-TLS: %s%s handshake done, keys derived", s->tls_version,
		      s->resumed ? " resumed" : "");
	return EAP_STEP_SUCCESS;
}

static enum eap_step
send_pending(struct eap_session *s, struct eap_tls *d, struct eap_buf *out)
{
	uint8_t *buf = NULL;
	size_t n = tls_conn_pull(d->conn, d, &buf);

	if (n && tls_frame_queue(d, &d->frame, buf, n) < 0) {
		talloc_free(buf);
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	talloc_free(buf);
	if (!tls_frame_has_out(&d->frame))
		return EAP_STEP_SUCCESS; /* nothing to send: caller decides */
	if (tls_frame_next(s, &d->frame, 0, out) < 0) {
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	return EAP_STEP_CONTINUE;
}

/* The handshake is complete: check the peer and its authorization. */
static enum eap_step
handshake_done(struct eap_session *s, struct eap_tls *d, struct eap_buf *out)
{
	struct tls_server *srv = s->conf->tls_server;
	struct policy_outcome po;
	const char *reason = NULL;
	enum eap_step step;

	s->tls_version = tls_conn_version_str(d->conn);
	s->resumed = tls_conn_resumed(d->conn);
	set_state(s, d, ST_FINAL);

	s->cert = talloc_zero(s, struct cert_facts);
	if (!s->cert || !tls_conn_peer_facts(d->conn, s->cert)) {
		TALLOC_FREE(s->cert);
		session_set_reason(s, "no client certificate");
		return EAP_STEP_FAIL;
	}
	session_trace(s, "EAP-TLS: peer certificate subject \"%s\" issuer \"%s\" serial %s",
		      s->cert->subject, s->cert->issuer, s->cert->serial);
	if (s->resumed && !tls_conn_recheck(d->conn, srv, &reason)) {
		tls_conn_forget_session(d->conn);
		session_set_reason(s, "%s", reason);
		return EAP_STEP_FAIL;
	}
	if (!policy_check_cert(s->conf, s->cert, s->identity, s->conf->tls.require_client_eku,
			       &po)) {
		if (s->resumed)
			tls_conn_forget_session(d->conn);
		session_set_reason(s, "%s", po.reason);
		return EAP_STEP_FAIL;
	}
	s->reply_rule = po.rule ? po.rule->reply : NULL;
	s->reply_user = po.user ? po.user->reply : NULL;
	session_trace(s, "EAP-TLS: certificate accepted for \"%s\" (rule %s)", s->identity,
		      po.rule ? po.rule->name : "built-in: identity = SAN or CN");

	if (tls_conn_version(d->conn) == TLS1_3_VERSION) {
		static const uint8_t commitment[1] = {0x00};

		/* Tickets only now that the peer passed every check (RFC 9190 §2.1.3). */
		if (s->conf->tls.resumption)
			tls_conn_new_ticket(d->conn);
		if (tls_conn_write(d->conn, commitment, sizeof(commitment)) < 0) {
			session_set_reason(s, "cannot send the TLS 1.3 commitment message");
			return EAP_STEP_FAIL;
		}
	}
	step = send_pending(s, d, out);
	if (step == EAP_STEP_SUCCESS) /* resumed TLS 1.2: the peer's Finished was the last word */
		return succeed(s, d);
	return step;
}

static enum eap_step
tls_process(struct eap_session *s, const uint8_t *data, size_t len, struct eap_buf *out)
{
	struct eap_tls *d = talloc_get_type_abort(s->method_data, struct eap_tls);
	const char *reason = NULL;
	uint8_t flags = 0;
	enum tls_step ts;
	enum eap_step step;

	switch (tls_frame_receive(d, &d->frame, data, len, &flags, &reason)) {
	case FRAME_RX_ERROR:
		session_set_reason(s, "%s", reason);
		return EAP_STEP_FAIL;
	case FRAME_RX_MORE:
		session_trace(s, "EAP-TLS: <- fragment (%zu of %zu bytes), -> ACK",
			      d->frame.in_len, d->frame.in_total);
		return tls_frame_ack(s, 0, out) < 0 ? EAP_STEP_FAIL : EAP_STEP_CONTINUE;
	case FRAME_RX_ACK:
		if (tls_frame_has_out(&d->frame))
			return tls_frame_next(s, &d->frame, 0, out) < 0 ? EAP_STEP_FAIL
									: EAP_STEP_CONTINUE;
		if (d->st == ST_FINAL)
			return succeed(s, d);
		if (d->st == ST_ALERT)
			return EAP_STEP_FAIL; /* reason was set when the alert went out */
		session_set_reason(s, "unexpected EAP-TLS ACK in state %s", state_name(d->st));
		return EAP_STEP_FAIL;
	case FRAME_RX_COMPLETE:
		break;
	}

	if (tls_frame_has_out(&d->frame)) {
		session_set_reason(s, "peer sent TLS data while our fragments were pending");
		return EAP_STEP_FAIL;
	}
	if (d->st == ST_ALERT)
		return EAP_STEP_FAIL; /* the peer answered our alert; the reason stands */
	if (d->st == ST_FINAL) {
		session_set_reason(s, "unexpected TLS data after the handshake");
		return EAP_STEP_FAIL;
	}
	set_state(s, d, ST_HANDSHAKE);
	if (tls_conn_push(d->conn, d->frame.in, d->frame.in_len) < 0) {
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	tls_frame_consumed(&d->frame);
	ts = tls_conn_handshake(d->conn);
	switch (ts) {
	case TLS_STEP_FAIL:
		s->tls_version = tls_conn_version_str(d->conn);
		session_set_reason(s, "%s", tls_conn_reason(d->conn) ? tls_conn_reason(d->conn)
								      : "TLS handshake failed");
		if (tls_conn_pending(d->conn)) {
			/* RFC 5216 §2.1.3: send the alert; Failure follows the peer's answer. */
			set_state(s, d, ST_ALERT);
			step = send_pending(s, d, out);
			return step == EAP_STEP_CONTINUE ? step : EAP_STEP_FAIL;
		}
		return EAP_STEP_FAIL;
	case TLS_STEP_CONTINUE:
		step = send_pending(s, d, out);
		if (step == EAP_STEP_SUCCESS) {
			session_set_reason(s, "incomplete TLS flight from the peer");
			return EAP_STEP_FAIL;
		}
		return step;
	case TLS_STEP_DONE:
	default:
		return handshake_done(s, d, out);
	}
}

static void
tls_accepted(struct eap_session *s, time_t now)
{
	struct eap_tls *d = talloc_get_type_abort(s->method_data, struct eap_tls);

	if (s->conf->tls.resumption)
		tls_conn_commit_session(d->conn, now);
}

const struct eap_method eap_method_tls = {
	.name = "TLS",
	.type = EAP_TYPE_TLS,
	.init = tls_init,
	.process = tls_process,
	.accepted = tls_accepted,
};
