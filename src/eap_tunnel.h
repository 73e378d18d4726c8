/*
 * eap_tunnel.h - what PEAP and EAP-TTLS share above the TLS conversation: the inner EAP
 * conversation (an eap_session of its own, running the inner methods through the same ops
 * table: tunnels are composition), the switch from outer to inner identity, and resumption
 * notes (a resumed tunnel skips the inner method only if the user is still allowed in).
 */
#ifndef KAGI_EAP_TUNNEL_H
#define KAGI_EAP_TUNNEL_H

#include "eap.h"

#include <stdbool.h>

struct eap_session;

/* tunnel_inner_new - an inner conversation under ctx, on the outer session's configuration. */
struct eap_session *tunnel_inner_new(struct eap_session *outer, TALLOC_CTX *ctx);

/*
 * tunnel_set_identity - the tunneled identity becomes the one authorized and logged; the outer
 * (often anonymous) one is kept as outer_identity.
 */
void tunnel_set_identity(struct eap_session *s, const char *inner_identity);

/*
 * tunnel_resume_user - a resumed tunnel: the identity that authenticated originally (the
 * session note) must still be a valid, enabled user; its policy is applied again. Returns
 * true, or false with s->reason set.
 */
bool tunnel_resume_user(struct eap_session *s, const char *note);

/* tunnel_inner_done - copy the inner result (authorization) to the outer session. */
void tunnel_inner_done(struct eap_session *s, const struct eap_session *inner);

#endif
