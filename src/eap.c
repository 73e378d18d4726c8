/*
 * eap.c - EAP conversation logic (RFC 3748 §2-§5, RFC 3579 §2): Identity, Nak and method
 * selection, identifiers, Success/Failure, caps on rounds and invalid packets.
 */
#include "eap.h"

#include "conf.h"
#include "session.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "eap_gtc.h"
#include "eap_mschapv2.h"
#include "eap_peap.h"
#include "eap_tls.h"
#include "eap_ttls.h"

/* The method registry: adding a method is one line here. */
static const struct eap_method *const eap_methods[] = {
	&eap_method_tls,
	&eap_method_peap,
	&eap_method_ttls,
	&eap_method_mschapv2,
	&eap_method_gtc,
};

const struct eap_method *
eap_method_find(uint8_t type)
{
	size_t i;

	for (i = 0; i < sizeof(eap_methods) / sizeof(eap_methods[0]); i++)
		if (eap_methods[i]->type == type)
			return eap_methods[i];
	return NULL;
}

const struct eap_method *
eap_method_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(eap_methods) / sizeof(eap_methods[0]); i++)
		if (strcasecmp(eap_methods[i]->name, name) == 0)
			return eap_methods[i];
	return NULL;
}

const char *
eap_type_name(uint8_t type)
{
	switch (type) {
	case EAP_TYPE_IDENTITY:
		return "Identity";
	case EAP_TYPE_NOTIFICATION:
		return "Notification";
	case EAP_TYPE_NAK:
		return "Nak";
	case EAP_TYPE_MD5:
		return "MD5-Challenge";
	case EAP_TYPE_GTC:
		return "GTC";
	case EAP_TYPE_TLS:
		return "TLS";
	case EAP_TYPE_TTLS:
		return "TTLS";
	case EAP_TYPE_PEAP:
		return "PEAP";
	case EAP_TYPE_MSCHAPV2:
		return "MSCHAPv2";
	default:
		return "unknown";
	}
}

const char *
eap_packet_check(const uint8_t *eap, size_t len, size_t *eap_len)
{
	size_t l;

	if (len < EAP_HDR_LEN)
		return "EAP packet shorter than its header";
	l = ((size_t)eap[2] << 8) | eap[3];
	if (l < EAP_HDR_LEN)
		return "EAP Length field too small";
	if (l > len)
		return "EAP Length field larger than the packet";
	if (eap[0] != EAP_CODE_RESPONSE)
		return "EAP packet from the peer is not a Response";
	if (l < EAP_HDR_LEN + 1)
		return "EAP Response without a type";
	*eap_len = l;
	return NULL;
}

int
eap_packet_build(TALLOC_CTX *ctx, uint8_t code, uint8_t id, int type, const uint8_t *data, size_t len,
	  struct eap_buf *out)
{
	size_t total = EAP_HDR_LEN + (type >= 0 ? 1 + len : 0);

	if (total > 0xffff)
		return -1;
	out->data = talloc_array(ctx, uint8_t, total);
	if (!out->data)
		return -1;
	out->data[0] = code;
	out->data[1] = id;
	out->data[2] = (uint8_t)(total >> 8);
	out->data[3] = (uint8_t)total;
	if (type >= 0) {
		out->data[4] = (uint8_t)type;
		if (len)
			memcpy(out->data + 5, data, len);
	}
	out->len = total;
	return 0;
}

int
eap_failure(TALLOC_CTX *ctx, uint8_t id, struct eap_buf *out)
{
	return eap_packet_build(ctx, EAP_CODE_FAILURE, id, -1, NULL, 0, out);
}

/* Build and remember the next Request for the method's type-data. */
static enum eap_step
send_request(struct eap_session *s, TALLOC_CTX *ctx, uint8_t id, struct eap_buf *td,
	     struct eap_buf *out)
{
	struct eap_buf req;

	if (eap_packet_build(s, EAP_CODE_REQUEST, id, s->method->type, td->data, td->len, &req) < 0) {
		session_set_reason(s, "out of memory");
		return EAP_STEP_FAIL;
	}
	talloc_free(s->last_request.data);
	s->last_request = req;
	s->last_id = id;
	out->data = talloc_memdup(ctx, req.data, req.len);
	out->len = out->data ? req.len : 0;
	session_trace(s, "EAP: -> Request/%s id %u (%zu bytes)", s->method->name, id, req.len);
	return out->data ? EAP_STEP_CONTINUE : EAP_STEP_FAIL;
}

static enum eap_step
fail(struct eap_session *s, TALLOC_CTX *ctx, uint8_t id, struct eap_buf *out)
{
	if (!s->reason)
		s->reason = "EAP failure";
	eap_failure(ctx, id, out);
	session_trace(s, "EAP: -> Failure id %u (%s)", id, s->reason);
	return EAP_STEP_FAIL;
}

static enum eap_step
method_begin(struct eap_session *s, TALLOC_CTX *ctx, const struct eap_method *m, uint8_t id,
	     struct eap_buf *out)
{
	struct eap_buf td = {NULL, 0};
	enum eap_step step;

	if (s->method_data)
		TALLOC_FREE(s->method_data);
	s->method = m;
	s->method_started = false;
	session_trace(s, "EAP: method %s", m->name);
	if (m->init(s, &td) < 0) {
		if (!s->reason)
			session_set_reason(s, "cannot start EAP-%s", m->name);
		return fail(s, ctx, id, out);
	}
	step = send_request(s, ctx, id, &td, out);
	talloc_free(td.data);
	return step;
}

/* An EAP-Response/Identity (checked; l its length): note the identity, start the first method. */
static enum eap_step
identity_response(struct eap_session *s, TALLOC_CTX *ctx, const uint8_t *eap, size_t l,
		  struct eap_buf *out)
{
	size_t idlen;
	const struct eap_method *m;
	const char *nul;

	if (eap[4] != EAP_TYPE_IDENTITY) {
		session_set_reason(s, "conversation must start with EAP-Response/Identity, got %s",
				   eap_type_name(eap[4]));
		return fail(s, ctx, eap[1], out);
	}
	/* RFC 3748 §5.1: the identity may be followed by a NUL and options. */
	idlen = l - 5;
	nul = memchr(eap + 5, '\0', idlen);
	if (nul)
		idlen = (size_t)(nul - (const char *)(eap + 5));
	if (idlen >= sizeof(s->identity))
		idlen = sizeof(s->identity) - 1;
	memcpy(s->identity, eap + 5, idlen);
	s->identity[idlen] = '\0';
	session_trace(s, "EAP: <- Response/Identity id %u \"%s\"", eap[1], s->identity);

	m = s->n_methods ? eap_method_find(s->methods[0]) : NULL;
	if (!m) {
		session_set_reason(s, "no EAP method enabled");
		return fail(s, ctx, eap[1], out);
	}
	return method_begin(s, ctx, m, (uint8_t)(eap[1] + 1), out);
}

/*
 * RFC 3579 §2.1 EAP-Start: the NAS leaves the Identity exchange to the server. Ask for it; the
 * identifier comes from the random State.
 */
static enum eap_step
request_identity(struct eap_session *s, TALLOC_CTX *ctx, struct eap_buf *out)
{
	uint8_t id = s->state[0];
	struct eap_buf req;

	if (eap_packet_build(s, EAP_CODE_REQUEST, id, EAP_TYPE_IDENTITY, NULL, 0, &req) < 0) {
		session_set_reason(s, "out of memory");
		return fail(s, ctx, id, out);
	}
	talloc_free(s->last_request.data);
	s->last_request = req;
	s->last_id = id;
	s->want_identity = true;
	out->data = talloc_memdup(ctx, req.data, req.len);
	out->len = out->data ? req.len : 0;
	session_trace(s, "EAP: EAP-Start from the NAS: -> Request/Identity id %u", id);
	return out->data ? EAP_STEP_CONTINUE : EAP_STEP_FAIL;
}

enum eap_step
eap_start(struct eap_session *s, TALLOC_CTX *ctx, const uint8_t *eap, size_t len,
	  struct eap_buf *out)
{
	size_t l;
	const char *bad;

	s->rounds = 1;
	/* An empty EAP-Message; FreeRADIUS takes two octets the same way, as NASes send it. */
	if (len == 0 || len == 2)
		return request_identity(s, ctx, out);
	bad = eap_packet_check(eap, len, &l);
	if (bad) {
		session_set_reason(s, "%s", bad);
		return fail(s, ctx, len >= 2 ? eap[1] : 0, out);
	}
	return identity_response(s, ctx, eap, l, out);
}

static bool
method_allowed(const struct eap_session *s, uint8_t type)
{
	unsigned i;

	for (i = 0; i < s->n_methods; i++)
		if (s->methods[i] == type)
			return true;
	return false;
}

static enum eap_step
handle_nak(struct eap_session *s, TALLOC_CTX *ctx, const uint8_t *eap, size_t l,
	   struct eap_buf *out)
{
	size_t i;
	char wanted[64] = "";
	size_t w = 0;

	/* RFC 3748 §5.3.1: Nak is only valid in answer to the first Request of a method. */
	if (s->method_started || s->naked) {
		session_set_reason(s, "unexpected Nak");
		return fail(s, ctx, eap[1], out);
	}
	s->naked = true;
	for (i = 5; i < l; i++) {
		const struct eap_method *m;

		if (w < sizeof(wanted) - 16)
			w += (size_t)snprintf(wanted + w, sizeof(wanted) - w, "%s%s",
					      w ? "," : "", eap_type_name(eap[i]));
		if (eap[i] == s->method->type || !method_allowed(s, eap[i]))
			continue;
		m = eap_method_find(eap[i]);
		if (m) {
			session_trace(s, "EAP: <- Nak id %u, peer wants %s", eap[1], m->name);
			return method_begin(s, ctx, m, (uint8_t)(eap[1] + 1), out);
		}
	}
	session_set_reason(s, "no acceptable EAP method (peer wants %s)", w ? wanted : "none");
	return fail(s, ctx, eap[1], out);
}

enum eap_step
eap_continue(struct eap_session *s, TALLOC_CTX *ctx, const uint8_t *eap, size_t len,
	     struct eap_buf *out)
{
	size_t l = 0;
	const char *bad = eap_packet_check(eap, len, &l);
	struct eap_buf td = {NULL, 0};
	enum eap_step step;
	uint8_t id;

	s->rounds++;
	if (s->rounds > s->conf->limits.max_rounds) {
		session_set_reason(s, "too many rounds");
		return fail(s, ctx, len >= 2 ? eap[1] : s->last_id, out);
	}
	if (!bad && eap[1] != s->last_id)
		bad = "EAP identifier does not match the Request";
	else if (!bad && (s->want_identity ? eap[4] != EAP_TYPE_IDENTITY
					   : eap[4] != s->method->type && eap[4] != EAP_TYPE_NAK))
		bad = "EAP Response of the wrong type";
	if (bad) {
		/*
		 * RFC 3748 §4.1 says discard; over RADIUS the NAS needs an answer, so the last
		 * Request is sent again, up to max_invalid times.
		 */
		s->invalid++;
		session_trace(s, "EAP: invalid packet (%s), %u of %u", bad, s->invalid,
			      s->conf->limits.max_invalid);
		if (s->invalid >= s->conf->limits.max_invalid) {
			session_set_reason(s, "too many invalid EAP packets (last: %s)", bad);
			return fail(s, ctx, s->last_id, out);
		}
		out->data = talloc_memdup(ctx, s->last_request.data, s->last_request.len);
		out->len = out->data ? s->last_request.len : 0;
		return out->data ? EAP_STEP_CONTINUE : EAP_STEP_FAIL;
	}
	id = eap[1];
	if (s->want_identity) {
		s->want_identity = false;
		return identity_response(s, ctx, eap, l, out);
	}
	if (eap[4] == EAP_TYPE_NAK)
		return handle_nak(s, ctx, eap, l, out);

	session_trace(s, "EAP: <- Response/%s id %u (%zu bytes)", s->method->name, id, l);
	s->method_started = true;
	step = s->method->process(s, eap + 5, l - 5, &td);
	switch (step) {
	case EAP_STEP_CONTINUE:
		step = send_request(s, ctx, (uint8_t)(id + 1), &td, out);
		break;
	case EAP_STEP_SUCCESS:
		/* RFC 3748 §4.2: Success carries the identifier of the Response it answers. */
		if (eap_packet_build(ctx, EAP_CODE_SUCCESS, id, -1, NULL, 0, out) < 0) {
			session_set_reason(s, "out of memory");
			step = fail(s, ctx, id, out);
		} else {
			session_trace(s, "EAP: -> Success id %u", id);
		}
		break;
	case EAP_STEP_FAIL:
	default:
		step = fail(s, ctx, id, out);
		break;
	}
	talloc_free(td.data);
	return step;
}
