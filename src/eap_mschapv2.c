/*
 * eap_mschapv2.c - EAP-MSCHAPv2 server (draft-kamath-pppext-eap-mschapv2-02 §2, RFC 2759).
 *
 *   -> Challenge (OpCode 1: MS-CHAPv2-ID, MS-Length, Value-Size 16, challenge, Name)
 *   <- Response  (OpCode 2: Value-Size 49 = peer challenge 16, reserved 8, NT-Response 24,
 *                 flags 1; Name)
 *   -> Success (OpCode 3, "S=<authenticator response> M=...")  <- Success (OpCode 3)
 *   or Failure (OpCode 4, "E=691 R=0 C=... V=3 M=...")        <- Failure (OpCode 4)
 * MS-Length is the length of the type-data. Anything out of order or malformed fails.
 */
#include "eap_mschapv2.h"

#include "conf.h"
#include "mschap.h"
#include "policy.h"
#include "session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

enum {
	OP_CHALLENGE = 1,
	OP_RESPONSE = 2,
	OP_SUCCESS = 3,
	OP_FAILURE = 4,
	OP_CHANGE_PASSWORD = 7,
};

#define SERVER_NAME "kagi"
#define RESPONSE_VALUE_SIZE 49

enum mschapv2_state {
	MS_CHALLENGE_SENT,
	MS_SUCCESS_SENT,
	MS_FAILURE_SENT,
};

struct eap_mschapv2 {
	enum mschapv2_state st;
	uint8_t id;
	uint8_t challenge[16];
	const char *fail_reason;
};

static int
build(struct eap_session *s, uint8_t op, uint8_t id, const uint8_t *body, size_t len,
      struct eap_buf *out)
{
	size_t total = 4 + len;

	out->data = talloc_array(s, uint8_t, total);
	if (!out->data)
		return -1;
	out->data[0] = op;
	out->data[1] = id;
	out->data[2] = (uint8_t)(total >> 8);
	out->data[3] = (uint8_t)total;
	memcpy(out->data + 4, body, len);
	out->len = total;
	return 0;
}

static int
ms_init(struct eap_session *s, struct eap_buf *out)
{
	struct eap_mschapv2 *d = talloc_zero(s, struct eap_mschapv2);
	uint8_t body[1 + 16 + sizeof(SERVER_NAME) - 1];

	if (!d)
		return -1;
	s->method_data = d;
	if (RAND_bytes(d->challenge, sizeof(d->challenge)) != 1 || RAND_bytes(&d->id, 1) != 1)
		return -1;
	body[0] = 16; /* Value-Size */
	memcpy(body + 1, d->challenge, 16);
	memcpy(body + 17, SERVER_NAME, sizeof(SERVER_NAME) - 1);
	d->st = MS_CHALLENGE_SENT;
	session_trace(s, "EAP-MSCHAPv2: -> Challenge");
	return build(s, OP_CHALLENGE, d->id, body, sizeof(body), out);
}

static enum eap_step
send_failure(struct eap_session *s, struct eap_mschapv2 *d, int code, const char *reason,
	     struct eap_buf *out)
{
	char msg[128], hex[33];
	int i;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02X", d->challenge[i]);
	/* R=0: no retry in this conversation; the peer starts over. */
	snprintf(msg, sizeof(msg), "E=%d R=0 C=%s V=3 M=Authentication failed", code, hex);
	d->st = MS_FAILURE_SENT;
	d->fail_reason = reason;
	session_set_reason(s, "%s", reason);
	session_trace(s, "EAP-MSCHAPv2: -> Failure (%s)", reason);
	if (build(s, OP_FAILURE, d->id, (const uint8_t *)msg, strlen(msg), out) < 0)
		return EAP_STEP_FAIL;
	return EAP_STEP_CONTINUE;
}

static enum eap_step
handle_response(struct eap_session *s, struct eap_mschapv2 *d, const uint8_t *data, size_t len,
		struct eap_buf *out)
{
	const struct user_entry *u;
	const uint8_t *peer_challenge, *nt_response;
	char name[257], auth_resp[43], msg[64];
	const char *reason = NULL;
	size_t name_len;

	if (len < 5 + RESPONSE_VALUE_SIZE || data[4] != RESPONSE_VALUE_SIZE) {
		session_set_reason(s, "EAP-MSCHAPv2 Response with a bad Value-Size or length");
		return EAP_STEP_FAIL;
	}
	if (data[1] != d->id) {
		session_set_reason(s, "EAP-MSCHAPv2 Response for another MS-CHAPv2-ID");
		return EAP_STEP_FAIL;
	}
	peer_challenge = data + 5;
	nt_response = data + 5 + 16 + 8;
	name_len = len - 5 - RESPONSE_VALUE_SIZE;
	if (name_len >= sizeof(name) || memchr(data + 5 + RESPONSE_VALUE_SIZE, 0, name_len)) {
		session_set_reason(s, "EAP-MSCHAPv2 Response with a bad Name");
		return EAP_STEP_FAIL;
	}
	memcpy(name, data + 5 + RESPONSE_VALUE_SIZE, name_len);
	name[name_len] = '\0';

	u = policy_check_user(s->conf, s->identity, &reason);
	if (!u)
		return send_failure(s, d,
				    strcmp(reason, "user disabled") == 0
					    ? MSCHAP_E_ACCT_DISABLED
					    : MSCHAP_E_AUTHENTICATION_FAILURE,
				    reason, out);
	if (!u->has_nt_hash ||
	    !mschap_verify(d->challenge, peer_challenge, name, u->nt_hash, nt_response, auth_resp))
		return send_failure(s, d, MSCHAP_E_AUTHENTICATION_FAILURE, "wrong password", out);

	/*
	 * ISK for PEAP crypto binding (MS-PEAP §3.1.5.5.2.2): server ISK = InnerMPPERecvKey |
	 * InnerMPPESendKey, i.e. the RFC 3079 server receive key first.
	 */
	mschap_mppe_keys(u->nt_hash, nt_response, s->isk + 16, s->isk);
	s->have_isk = true;
	s->user = u;
	snprintf(msg, sizeof(msg), "%s M=OK", auth_resp);
	OPENSSL_cleanse(auth_resp, sizeof(auth_resp));
	d->st = MS_SUCCESS_SENT;
	session_trace(s, "EAP-MSCHAPv2: password ok for \"%s\", -> Success", s->identity);
	if (build(s, OP_SUCCESS, d->id, (const uint8_t *)msg, strlen(msg), out) < 0)
		return EAP_STEP_FAIL;
	return EAP_STEP_CONTINUE;
}

static enum eap_step
ms_process(struct eap_session *s, const uint8_t *data, size_t len, struct eap_buf *out)
{
	struct eap_mschapv2 *d = talloc_get_type_abort(s->method_data, struct eap_mschapv2);
	uint8_t op;

	if (len < 1) {
		session_set_reason(s, "empty EAP-MSCHAPv2 packet");
		return EAP_STEP_FAIL;
	}
	op = data[0];
	/* Every packet but the one-octet Success/Failure acknowledgements carries MS-Length. */
	if (len > 1 && (len < 4 || (((size_t)data[2] << 8) | data[3]) != len)) {
		session_set_reason(s, "EAP-MSCHAPv2 MS-Length does not match the packet");
		return EAP_STEP_FAIL;
	}
	switch (d->st) {
	case MS_CHALLENGE_SENT:
		if (op == OP_RESPONSE)
			return handle_response(s, d, data, len, out);
		if (op == OP_CHANGE_PASSWORD) {
			session_set_reason(s, "MS-CHAPv2 password change is not supported");
			return EAP_STEP_FAIL;
		}
		break;
	case MS_SUCCESS_SENT:
		if (op == OP_SUCCESS && len == 1) {
			session_trace(s, "EAP-MSCHAPv2: <- Success acknowledged");
			return EAP_STEP_SUCCESS;
		}
		break;
	case MS_FAILURE_SENT:
		if (op == OP_FAILURE && len == 1) {
			session_set_reason(s, "%s", d->fail_reason);
			return EAP_STEP_FAIL;
		}
		break;
	}
	session_set_reason(s, "EAP-MSCHAPv2 OpCode %u out of order", op);
	return EAP_STEP_FAIL;
}

const struct eap_method eap_method_mschapv2 = {
	.name = "MSCHAPv2",
	.type = EAP_TYPE_MSCHAPV2,
	.init = ms_init,
	.process = ms_process,
};
