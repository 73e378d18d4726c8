/*
 * eap_gtc.c - EAP-GTC (RFC 3748 §5.6): the Request carries a prompt, the Response the
 * password. Only ever offered inside a TLS tunnel (it is cleartext).
 */
#include "eap_gtc.h"

#include "conf.h"
#include "policy.h"
#include "session.h"

#include <openssl/crypto.h>
#include <string.h>

#define GTC_PROMPT "Password"

static int
gtc_init(struct eap_session *s, struct eap_buf *out)
{
	/* No state beyond "the prompt was sent". */
	s->method_data = NULL;
	out->data = talloc_memdup(s, GTC_PROMPT, sizeof(GTC_PROMPT) - 1);
	out->len = out->data ? sizeof(GTC_PROMPT) - 1 : 0;
	session_trace(s, "EAP-GTC: -> Request \"%s\"", GTC_PROMPT);
	return out->data ? 0 : -1;
}

static enum eap_step
gtc_process(struct eap_session *s, const uint8_t *data, size_t len, struct eap_buf *out)
{
	const struct user_entry *u;
	const char *reason = NULL;
	char pw[257];
	const uint8_t *p = data;
	bool ok;

	(void)out;
	/* Some peers answer "RESPONSE=<user>\0<password>" (the EAP-FAST GTC form). */
	if (len > 9 && memcmp(data, "RESPONSE=", 9) == 0) {
		const uint8_t *nul = memchr(data + 9, 0, len - 9);

		if (nul) {
			len -= (size_t)(nul + 1 - data);
			p = nul + 1;
		}
	}
	if (len == 0 || len >= sizeof(pw) || memchr(p, 0, len)) {
		session_set_reason(s, "EAP-GTC response is not a password");
		return EAP_STEP_FAIL;
	}
	u = policy_check_user(s->conf, s->identity, &reason);
	if (!u) {
		session_set_reason(s, "%s", reason);
		return EAP_STEP_FAIL;
	}
	memcpy(pw, p, len);
	pw[len] = '\0';
	ok = policy_check_password(u, pw);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (!ok) {
		session_set_reason(s, "wrong password");
		return EAP_STEP_FAIL;
	}
	s->user = u;
	session_trace(s, "EAP-GTC: password ok for \"%s\"", s->identity);
	return EAP_STEP_SUCCESS;
}

const struct eap_method eap_method_gtc = {
	.name = "GTC",
	.type = EAP_TYPE_GTC,
	.init = gtc_init,
	.process = gtc_process,
};
