/*
 * eap_tls_base.c - the TLS conversation shared by the TLS-based EAP methods (see
 * eap_tls_base.h). RFC 5216 §2.1, RFC 9190, RFC 9427.
 */
#include "eap_tls_base.h"

#include "conf.h"
#include "session.h"
#include "tls_conn.h"

#include <openssl/crypto.h>
#include <string.h>

static const char *
state_name(enum tls_base_state st)
{
	static const char *const names[] = {"START", "HANDSHAKE", "TUNNEL", "ALERT"};

	return names[st];
}

static void
set_state(struct eap_session *s, struct tls_base *b, enum tls_base_state st)
{
	if (b->st != st)
		session_trace(s, "EAP-%s: %s -> %s", b->name, state_name(b->st), state_name(st));
	b->st = st;
}

int
tls_base_init(struct eap_session *s, void *ctx, struct tls_base *b, const char *name,
	      uint8_t type, uint8_t flags, bool want_client_cert, struct eap_buf *out)
{
	const struct conf_tls *cfg = &s->conf->tls;

	(void)ctx;
	memset(b, 0, sizeof(*b));
	b->name = name;
	b->type = type;
	b->flags = flags;
	b->want_client_cert = want_client_cert;
	tls_frame_init(&b->frame, cfg->fragment_size, s->framed_mtu, cfg->max_message_size);
	b->st = TB_START;
	session_trace(s, "EAP-%s: -> Start (fragment size %zu)", name, b->frame.frag_size);
	/* RFC 5216 §2.1.1: the Start Request carries only the S flag (and the version bits). */
	return tls_frame_ack(s, (uint8_t)(TLS_FLAG_S | flags), out);
}

int
tls_base_write(struct eap_session *s, struct tls_base *b, const uint8_t *data, size_t len)
{
	if (tls_conn_write(b->conn, data, len) < 0) {
		session_set_reason(s, "cannot write to the TLS tunnel");
		return -1;
	}
	return 0;
}

enum eap_step
tls_base_flush(struct eap_session *s, void *ctx, struct tls_base *b, struct eap_buf *out)
{
	uint8_t *buf = NULL;
	size_t n = tls_conn_pull(b->conn, ctx, &buf);
	int r = n ? tls_frame_queue(ctx, &b->frame, buf, n) : 0;

	talloc_free(buf);
	if (r < 0) {
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	if (!tls_frame_has_out(&b->frame))
		return EAP_STEP_SUCCESS;
	if (tls_frame_next(s, &b->frame, b->flags, out) < 0) {
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	return EAP_STEP_CONTINUE;
}

/* Read every decrypted byte the peer sent. -1 on a TLS error (reason set). */
static int
read_app(struct eap_session *s, void *ctx, struct tls_base *b, uint8_t **app, size_t *app_len)
{
	uint8_t chunk[4096];
	int r;

	*app = NULL;
	*app_len = 0;
	while ((r = tls_conn_read(b->conn, chunk, sizeof(chunk))) > 0) {
		uint8_t *grown;

		if (*app_len + (size_t)r > s->conf->tls.max_message_size) {
			session_set_reason(s, "too much tunneled data");
			return -1;
		}
		grown = talloc_realloc(ctx, *app, uint8_t, *app_len + (size_t)r);
		if (!grown) {
			session_set_reason(s, "out of memory");
			return -1;
		}
		*app = grown;
		memcpy(*app + *app_len, chunk, (size_t)r);
		*app_len += (size_t)r;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (r < 0) {
		session_set_reason(s, "%s", tls_conn_reason(b->conn) ? tls_conn_reason(b->conn)
								     : "TLS error in the tunnel");
		return -1;
	}
	return 0;
}

enum tls_base_event
tls_base_process(struct eap_session *s, void *ctx, struct tls_base *b, const uint8_t *data,
		 size_t len, struct eap_buf *out, uint8_t **app, size_t *app_len)
{
	const char *reason = NULL;
	uint8_t flags = 0;
	enum eap_step step;

	*app = NULL;
	*app_len = 0;
	switch (tls_frame_receive(ctx, &b->frame, data, len, &flags, &reason)) {
	case FRAME_RX_ERROR:
		session_set_reason(s, "%s", reason);
		return TB_EV_FAIL;
	case FRAME_RX_MORE:
		session_trace(s, "EAP-%s: <- fragment (%zu of %zu bytes), -> ACK", b->name,
			      b->frame.in_len, b->frame.in_total);
		return tls_frame_ack(s, b->flags, out) < 0 ? TB_EV_FAIL : TB_EV_SEND;
	case FRAME_RX_ACK:
		if (tls_frame_has_out(&b->frame))
			return tls_frame_next(s, &b->frame, b->flags, out) < 0 ? TB_EV_FAIL
									     : TB_EV_SEND;
		if (b->st == TB_ALERT)
			return TB_EV_FAIL; /* the reason was set when the alert went out */
		if (b->st == TB_TUNNEL)
			return TB_EV_ACK;
		session_set_reason(s, "unexpected EAP-%s ACK in state %s", b->name,
				   state_name(b->st));
		return TB_EV_FAIL;
	case FRAME_RX_COMPLETE:
		break;
	}

	if (tls_frame_has_out(&b->frame)) {
		session_set_reason(s, "peer sent TLS data while our fragments were pending");
		return TB_EV_FAIL;
	}
	if (b->st == TB_ALERT)
		return TB_EV_FAIL; /* the peer answered our alert; the reason stands */
	if (!b->conn) {
		char err[256];

		b->conn = tls_conn_new(ctx, s->conf->tls_server, b->want_client_cert, err,
				       sizeof(err));
		if (!b->conn) {
			session_set_reason(s, "%s", err);
			return TB_EV_FAIL;
		}
		tls_conn_set_eap_type(b->conn, b->type);
		if (s->trace)
			tls_conn_set_trace(b->conn, s->trace, s->trace_arg);
	}
	if (tls_conn_push(b->conn, b->frame.in, b->frame.in_len) < 0) {
		session_set_reason(s, "out of memory");
		return TB_EV_FAIL;
	}
	tls_frame_consumed(&b->frame);

	if (b->st == TB_TUNNEL)
		return read_app(s, ctx, b, app, app_len) < 0 ? TB_EV_FAIL : TB_EV_DATA;

	set_state(s, b, TB_HANDSHAKE);
	switch (tls_conn_handshake(b->conn)) {
	case TLS_STEP_FAIL:
		s->tls_version = tls_conn_version_str(b->conn);
		session_set_reason(s, "%s", tls_conn_reason(b->conn) ? tls_conn_reason(b->conn)
								      : "TLS handshake failed");
		if (tls_conn_pending(b->conn)) {
			/* RFC 5216 §2.1.3: send the alert; Failure follows the peer's answer. */
			set_state(s, b, TB_ALERT);
			step = tls_base_flush(s, ctx, b, out);
			return step == EAP_STEP_CONTINUE ? TB_EV_SEND : TB_EV_FAIL;
		}
		return TB_EV_FAIL;
	case TLS_STEP_CONTINUE:
		step = tls_base_flush(s, ctx, b, out);
		if (step == EAP_STEP_SUCCESS) {
			session_set_reason(s, "incomplete TLS flight from the peer");
			return TB_EV_FAIL;
		}
		return step == EAP_STEP_CONTINUE ? TB_EV_SEND : TB_EV_FAIL;
	case TLS_STEP_DONE:
	default:
		break;
	}
	set_state(s, b, TB_TUNNEL);
	s->tls_version = tls_conn_version_str(b->conn);
	s->resumed = tls_conn_resumed(b->conn);
	session_trace(s, "EAP-%s: %s handshake complete%s", b->name, s->tls_version,
		      s->resumed ? " (resumed)" : "");
	/* TLS 1.3 peers may send application data right behind their Finished. */
	return read_app(s, ctx, b, app, app_len) < 0 ? TB_EV_FAIL : TB_EV_HANDSHAKE;
}

int
eap_tls_msk(struct tls_conn *c, uint8_t type, const char *label12, uint8_t msk[64])
{
	uint8_t type_code[1] = {type};
	uint8_t km[128];
	int r;

	/*
	 * The TLS 1.2 PRF does not take the output length, so its first 64 octets are the MSK
	 * whatever length is asked for: ask for those only (half the P_hash work). The TLS 1.3
	 * exporter does take it: Key_Material is 128 octets, the MSK its first 64.
	 */
	if (tls_conn_version(c) != TLS1_3_VERSION)
		return tls_conn_export(c, label12, NULL, 0, false, msk, 64);
	r = tls_conn_export(c, "EXPORTER_EAP_TLS_Key_Material", type_code, 1, true, km,
			    sizeof(km));
	memcpy(msk, km, 64);
	OPENSSL_cleanse(km, sizeof(km));
	return r;
}

int
eap_tls_session_id(struct tls_conn *c, uint8_t type, uint8_t session_id[65])
{
	uint8_t type_code[1] = {type};

	session_id[0] = type;
	if (tls_conn_version(c) == TLS1_3_VERSION)
		return tls_conn_export(c, "EXPORTER_EAP_TLS_Method-Id", type_code, 1, true,
				       session_id + 1, 64);
	tls_conn_randoms(c, session_id + 1, session_id + 33);
	return 0;
}

int
tls_base_set_keys(struct eap_session *s, struct tls_base *b, const uint8_t msk[64])
{
	if (eap_tls_session_id(b->conn, b->type, s->session_id) < 0)
		return -1;
	memcpy(s->msk, msk, 64);
	s->session_id_len = 65;
	s->have_keys = true;
	return 0;
}

int
tls_base_derive_keys(struct eap_session *s, struct tls_base *b, const char *label12)
{
	uint8_t msk[64];
	int r = eap_tls_msk(b->conn, b->type, label12, msk) < 0 ? -1 : tls_base_set_keys(s, b, msk);

	OPENSSL_cleanse(msk, sizeof(msk));
	return r;
}
