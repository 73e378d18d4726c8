/*
 * eap_ttls.c - EAP-TTLSv0 (RFC 5281; RFC 9427 for TLS 1.3).
 *
 * After the TLS handshake (server certificate only) the peer sends AVPs (§10, ttls_avp.h):
 *   PAP:      User-Name + User-Password                          -> Success
 *   MSCHAPv2: User-Name + MS-CHAP-Challenge + MS-CHAP2-Response   -> MS-CHAP2-Success AVP,
 *             the peer's empty answer -> Success (§11.2.4; challenge from "ttls challenge")
 *   EAP:      EAP-Message carrying EAP-Response/Identity, then an inner EAP conversation
 *             (EAP-MSCHAPv2, GTC) in EAP-Message AVPs -> Success
 * Keys: TLS 1.2 "ttls keying material"; TLS 1.3 the RFC 9427 exporter with type code 21.
 * A resumed session skips the inner method only if it ended in Accept and the user named in
 * its note is still allowed in.
 */
#include "eap_ttls.h"

#include "conf.h"
#include "eap_tls_base.h"
#include "eap_tunnel.h"
#include "mschap.h"
#include "policy.h"
#include "session.h"
#include "tls_conn.h"
#include "ttls_avp.h"

#include <openssl/crypto.h>
#include <string.h>

#define AVP_USER_NAME 1
#define AVP_USER_PASSWORD 2
#define AVP_EAP_MESSAGE 79
#define VENDOR_MS 311
#define AVP_MS_CHAP_CHALLENGE 11
#define AVP_MS_CHAP2_RESPONSE 25
#define AVP_MS_CHAP2_SUCCESS 26

enum ttls_phase {
	TTLS_HANDSHAKE,	   /* TLS handshake in progress */
	TTLS_WAIT_AVPS,	   /* tunnel up, waiting for the peer's phase 2 AVPs */
	TTLS_INNER_EAP,	   /* an inner EAP conversation is running */
	TTLS_SUCCESS_SENT, /* MS-CHAP2-Success (or a ticket) is out: Success on the next answer */
};

struct eap_ttls {
	struct tls_base base;
	enum ttls_phase ph;
	struct eap_session *inner;
};

static int
ttls_init(struct eap_session *s, struct eap_buf *out)
{
	struct eap_ttls *d = talloc_zero(s, struct eap_ttls);

	if (!d)
		return -1;
	s->method_data = d;
	d->ph = TTLS_HANDSHAKE;
	return tls_base_init(s, d, &d->base, "TTLS", EAP_TYPE_TTLS, 0, false, out);
}

static enum eap_step
succeed(struct eap_session *s, struct eap_ttls *d)
{
	if (tls_base_derive_keys(s, &d->base, "ttls keying material") < 0) {
		session_set_reason(s, "cannot derive keys");
		return EAP_STEP_FAIL;
	}
	tls_conn_set_note(d->base.conn, s->identity);
	session_trace(s, "EAP-TTLS: \"%s\" authenticated, keys derived", s->identity);
	return EAP_STEP_SUCCESS;
}

/* The inner authentication succeeded; `last` (may be empty) is our final tunnel message. */
static enum eap_step
finish(struct eap_session *s, struct eap_ttls *d, const uint8_t *last, size_t last_len,
       struct eap_buf *out)
{
	enum eap_step step;

	if (last_len && tls_base_write(s, &d->base, last, last_len) < 0)
		return EAP_STEP_FAIL;
	step = tls_base_flush(s, d, &d->base, out);
	if (step == EAP_STEP_SUCCESS)
		return succeed(s, d);
	if (step == EAP_STEP_CONTINUE)
		d->ph = TTLS_SUCCESS_SENT;
	return step;
}

static enum eap_step
do_pap(struct eap_session *s, struct eap_ttls *d, const struct ttls_avp *pw, struct eap_buf *out)
{
	const struct user_entry *u;
	const char *reason = NULL;
	char pass[257];
	size_t len = pw->len;
	bool ok;

	/* RFC 5281 §11.2.5: the password is padded with NULs to a multiple of 16 octets. */
	while (len && pw->data[len - 1] == 0)
		len--;
	if (len == 0 || len >= sizeof(pass) || memchr(pw->data, 0, len)) {
		session_set_reason(s, "TTLS User-Password AVP is not a password");
		return EAP_STEP_FAIL;
	}
	s->inner_method = "PAP";
	u = policy_check_user(s->conf, s->identity, &reason);
	if (!u) {
		session_set_reason(s, "%s", reason);
		return EAP_STEP_FAIL;
	}
	memcpy(pass, pw->data, len);
	pass[len] = '\0';
	ok = policy_check_password(u, pass);
	OPENSSL_cleanse(pass, sizeof(pass));
	if (!ok) {
		session_set_reason(s, "wrong password");
		return EAP_STEP_FAIL;
	}
	s->user = u;
	session_trace(s, "EAP-TTLS: PAP password ok for \"%s\"", s->identity);
	return finish(s, d, NULL, 0, out);
}

static enum eap_step
do_mschapv2(struct eap_session *s, struct eap_ttls *d, const struct ttls_avps *avps,
	    struct eap_buf *out)
{
	const struct ttls_avp *ch = ttls_avp_find(avps, AVP_MS_CHAP_CHALLENGE, VENDOR_MS);
	const struct ttls_avp *rs = ttls_avp_find(avps, AVP_MS_CHAP2_RESPONSE, VENDOR_MS);
	uint8_t expect[17];
	const struct user_entry *u;
	const char *reason = NULL;
	char auth_resp[43];
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	enum eap_step step;

	s->inner_method = "MSCHAPv2";
	if (!ch || ch->len != 16 || !rs || rs->len != 50) {
		session_set_reason(s, "TTLS MS-CHAP-Challenge/MS-CHAP2-Response AVP of the wrong size");
		return EAP_STEP_FAIL;
	}
	/* §11.2.4: the challenge and identifier come from the TLS keying material. */
	if (tls_conn_export(d->base.conn, "ttls challenge", NULL, 0, false, expect,
			    sizeof(expect)) < 0) {
		session_set_reason(s, "cannot derive the TTLS challenge");
		return EAP_STEP_FAIL;
	}
	if (CRYPTO_memcmp(expect, ch->data, 16) != 0 || rs->data[0] != expect[16]) {
		session_set_reason(s, "TTLS MS-CHAP challenge does not match the tunnel's");
		return EAP_STEP_FAIL;
	}
	u = policy_check_user(s->conf, s->identity, &reason);
	if (!u) {
		session_set_reason(s, "%s", reason);
		return EAP_STEP_FAIL;
	}
	if (!u->has_nt_hash || !mschap_verify(expect, rs->data + 2, s->identity, u->nt_hash,
					      rs->data + 26, auth_resp)) {
		session_set_reason(s, "wrong password");
		return EAP_STEP_FAIL;
	}
	s->user = u;
	{
		uint8_t val[1 + 42];

		val[0] = expect[16];
		memcpy(val + 1, auth_resp, 42);
		if (ttls_avp_append(d, &reply, &reply_len, AVP_MS_CHAP2_SUCCESS, VENDOR_MS, val,
				    sizeof(val)) < 0) {
			session_set_reason(s, "out of memory");
			return EAP_STEP_FAIL;
		}
	}
	OPENSSL_cleanse(auth_resp, sizeof(auth_resp));
	session_trace(s, "EAP-TTLS: MS-CHAPv2 password ok for \"%s\", -> MS-CHAP2-Success",
		      s->identity);
	step = finish(s, d, reply, reply_len, out);
	talloc_free(reply);
	return step;
}

/* Run the inner EAP conversation one step with the EAP packet from an EAP-Message AVP. */
static enum eap_step
do_eap(struct eap_session *s, struct eap_ttls *d, const struct ttls_avp *em, struct eap_buf *out)
{
	struct eap_buf in_out = {NULL, 0};
	uint8_t *avp = NULL;
	size_t avp_len = 0;
	enum eap_step step;

	if (!d->inner) {
		d->inner = tunnel_inner_new(s, d);
		if (!d->inner) {
			session_set_reason(s, "out of memory");
			return EAP_STEP_FAIL;
		}
		d->ph = TTLS_INNER_EAP;
		step = eap_start(d->inner, d, em->data, em->len, &in_out);
		if (d->inner->identity[0])
			tunnel_set_identity(s, d->inner->identity);
	} else {
		step = eap_continue(d->inner, d, em->data, em->len, &in_out);
	}
	switch (step) {
	case EAP_STEP_CONTINUE:
		if (ttls_avp_append(d, &avp, &avp_len, AVP_EAP_MESSAGE, 0, in_out.data,
				    in_out.len) < 0 ||
		    tls_base_write(s, &d->base, avp, avp_len) < 0) {
			session_set_reason(s, "cannot send the inner EAP request");
			step = EAP_STEP_FAIL;
			break;
		}
		step = tls_base_flush(s, d, &d->base, out);
		if (step == EAP_STEP_SUCCESS) {
			session_set_reason(s, "nothing to send in the tunnel");
			step = EAP_STEP_FAIL;
		}
		break;
	case EAP_STEP_SUCCESS:
		tunnel_inner_done(s, d->inner);
		step = finish(s, d, NULL, 0, out);
		break;
	case EAP_STEP_FAIL:
	default:
		session_set_reason(s, "%s", d->inner->reason ? d->inner->reason : "inner EAP failed");
		s->inner_method = d->inner->method ? d->inner->method->name : NULL;
		step = EAP_STEP_FAIL;
		break;
	}
	talloc_free(avp);
	talloc_free(in_out.data);
	return step;
}

static enum eap_step
handle_avps(struct eap_session *s, struct eap_ttls *d, const uint8_t *app, size_t len,
	    struct eap_buf *out)
{
	struct ttls_avps avps;
	const char *bad = ttls_avp_parse(app, len, &avps);
	const struct ttls_avp *un, *em, *pw;
	unsigned i;

	if (bad) {
		session_set_reason(s, "%s", bad);
		return EAP_STEP_FAIL;
	}
	/* RFC 5281 §10.1: an unknown AVP with the M bit set fails the negotiation. */
	for (i = 0; i < avps.n; i++) {
		const struct ttls_avp *a = &avps.avp[i];
		bool known = (a->vendor == 0 &&
			      (a->code == AVP_USER_NAME || a->code == AVP_USER_PASSWORD ||
			       a->code == AVP_EAP_MESSAGE)) ||
			     (a->vendor == VENDOR_MS && (a->code == AVP_MS_CHAP_CHALLENGE ||
							 a->code == AVP_MS_CHAP2_RESPONSE));

		if (!known && a->mandatory) {
			session_set_reason(s, "unknown mandatory TTLS AVP %u (vendor %u)", a->code,
					   a->vendor);
			return EAP_STEP_FAIL;
		}
	}
	em = ttls_avp_find(&avps, AVP_EAP_MESSAGE, 0);
	if (d->ph == TTLS_INNER_EAP) {
		if (!em) {
			session_set_reason(s, "TTLS inner EAP conversation without EAP-Message");
			return EAP_STEP_FAIL;
		}
		return do_eap(s, d, em, out);
	}
	if (em) {
		if (!s->conf->ttls_eap) {
			session_set_reason(s, "TTLS inner EAP is not enabled");
			return EAP_STEP_FAIL;
		}
		return do_eap(s, d, em, out);
	}
	un = ttls_avp_find(&avps, AVP_USER_NAME, 0);
	if (!un || un->len == 0 || un->len >= sizeof(s->identity) || memchr(un->data, 0, un->len)) {
		session_set_reason(s, "TTLS phase 2 without a valid User-Name AVP");
		return EAP_STEP_FAIL;
	}
	{
		char name[254];

		memcpy(name, un->data, un->len);
		name[un->len] = '\0';
		tunnel_set_identity(s, name);
	}
	if (ttls_avp_find(&avps, AVP_MS_CHAP2_RESPONSE, VENDOR_MS)) {
		if (!s->conf->ttls_mschapv2) {
			session_set_reason(s, "TTLS inner MS-CHAPv2 is not enabled");
			return EAP_STEP_FAIL;
		}
		return do_mschapv2(s, d, &avps, out);
	}
	pw = ttls_avp_find(&avps, AVP_USER_PASSWORD, 0);
	if (pw) {
		if (!s->conf->ttls_pap) {
			session_set_reason(s, "TTLS inner PAP is not enabled");
			return EAP_STEP_FAIL;
		}
		return do_pap(s, d, pw, out);
	}
	session_set_reason(s, "TTLS phase 2 without credentials");
	return EAP_STEP_FAIL;
}

/* A resumed tunnel with nothing from the peer: the original authentication stands. */
static enum eap_step
resume(struct eap_session *s, struct eap_ttls *d, struct eap_buf *out)
{
	if (!tunnel_resume_user(s, tls_conn_session_note(d->base.conn))) {
		tls_conn_forget_session(d->base.conn);
		return EAP_STEP_FAIL;
	}
	s->inner_method = "resumed";
	session_trace(s, "EAP-TTLS: resumed session of \"%s\", inner authentication skipped",
		      s->identity);
	return finish(s, d, NULL, 0, out);
}

static enum eap_step
ttls_process(struct eap_session *s, const uint8_t *data, size_t len, struct eap_buf *out)
{
	struct eap_ttls *d = talloc_get_type_abort(s->method_data, struct eap_ttls);
	uint8_t *app = NULL;
	size_t app_len = 0;
	enum tls_base_event ev = tls_base_process(s, d, &d->base, data, len, out, &app, &app_len);
	enum eap_step step = EAP_STEP_FAIL;

	switch (ev) {
	case TB_EV_SEND:
		step = EAP_STEP_CONTINUE;
		break;
	case TB_EV_HANDSHAKE:
		d->ph = TTLS_WAIT_AVPS;
		/*
		 * TLS 1.3: the ticket goes out with our first tunnel message, while the peer
		 * still reads the tunnel. It is only an identifier: the session becomes
		 * resumable when this conversation ends in Accept (tls_conn_commit_session).
		 */
		if (s->conf->tls.resumption && tls_conn_version(d->base.conn) == TLS1_3_VERSION)
			tls_conn_new_ticket(d->base.conn);
		if (app_len) {
			step = handle_avps(s, d, app, app_len, out);
			break;
		}
		/* Our last flight (TLS 1.2 Finished), or an empty Request to ask for the AVPs. */
		step = tls_base_flush(s, d, &d->base, out);
		if (step == EAP_STEP_SUCCESS)
			step = tls_frame_ack(s, d->base.flags, out) < 0 ? EAP_STEP_FAIL
									: EAP_STEP_CONTINUE;
		break;
	case TB_EV_DATA:
		if (app_len) {
			step = d->ph == TTLS_SUCCESS_SENT
				       ? (session_set_reason(s, "unexpected TTLS data after success"),
					  EAP_STEP_FAIL)
				       : handle_avps(s, d, app, app_len, out);
			break;
		}
		/* Records without application data count as an ACK. */
		__attribute__((fallthrough));
	case TB_EV_ACK:
		if (d->ph == TTLS_SUCCESS_SENT)
			step = succeed(s, d);
		else if (d->ph == TTLS_WAIT_AVPS && s->resumed)
			step = resume(s, d, out);
		else {
			session_set_reason(s, "peer sent no TTLS phase 2 data");
			step = EAP_STEP_FAIL;
		}
		break;
	case TB_EV_FAIL:
	default:
		step = EAP_STEP_FAIL;
		break;
	}
	talloc_free(app);
	return step;
}

static void
ttls_accepted(struct eap_session *s, time_t now)
{
	struct eap_ttls *d = talloc_get_type_abort(s->method_data, struct eap_ttls);

	if (s->conf->tls.resumption)
		tls_conn_commit_session(d->base.conn, now);
}

const struct eap_method eap_method_ttls = {
	.name = "TTLS",
	.type = EAP_TYPE_TTLS,
	.init = ttls_init,
	.process = ttls_process,
	.accepted = ttls_accepted,
};
