/*
 * eap_tunnel.c - inner conversations and identities for PEAP and EAP-TTLS (see eap_tunnel.h).
 */
#include "eap_tunnel.h"

#include "conf.h"
#include "policy.h"
#include "session.h"

#include <stdio.h>
#include <string.h>

static void
trace_inner(void *arg, const char *text)
{
	struct eap_session *outer = arg;

	session_trace(outer, "  inner: %s", text);
}

struct eap_session *
tunnel_inner_new(struct eap_session *outer, TALLOC_CTX *ctx)
{
	/* Not in the session table: it lives and dies with the outer method's state. */
	struct eap_session *in = talloc_zero(ctx, struct eap_session);

	if (!in)
		return NULL;
	in->conf = outer->conf; /* the outer session holds the reference */
	in->methods = outer->conf->inner_methods;
	in->n_methods = outer->conf->n_inner_methods;
	in->now = outer->now;
	memcpy(in->client, outer->client, sizeof(in->client));
	if (outer->trace) {
		in->trace = trace_inner;
		in->trace_arg = outer;
	}
	return in;
}

void
tunnel_set_identity(struct eap_session *s, const char *inner_identity)
{
	if (!s->outer_identity[0])
		snprintf(s->outer_identity, sizeof(s->outer_identity), "%s", s->identity);
	snprintf(s->identity, sizeof(s->identity), "%s", inner_identity);
}

bool
tunnel_resume_user(struct eap_session *s, const char *note)
{
	const struct user_entry *u;
	const char *reason = NULL;

	if (!note || !*note) {
		session_set_reason(s, "resumed session without a completed inner authentication");
		return false;
	}
	tunnel_set_identity(s, note);
	u = policy_check_user(s->conf, note, &reason);
	if (!u) {
		session_set_reason(s, "%s", reason);
		return false;
	}
	s->user = u;
	return true;
}

void
tunnel_inner_done(struct eap_session *s, const struct eap_session *inner)
{
	tunnel_set_identity(s, inner->identity);
	s->user = inner->user;
	s->inner_method = inner->method ? inner->method->name : NULL;
}
