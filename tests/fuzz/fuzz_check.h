/*
 * fuzz_check.h - the invariants every answer of the server's EAP layer keeps, whatever the
 * input: shared by fuzz_inner.c and fuzz_tunnel.c. Header-only (static inline).
 */
#ifndef KAGI_FUZZ_CHECK_H
#define KAGI_FUZZ_CHECK_H

#include "conf.h"
#include "eap.h"
#include "session.h"

#include <stdbool.h>
#include <stdlib.h>

/*
 * fuzz_check_answer - out is a well-formed EAP packet of the step's code: a Request (of method
 * type, if type >= 0, with at least its flags octet), a Success for an enabled user (with keys
 * derived, if keys), or a Failure that says why. Aborts otherwise.
 */
static inline void
fuzz_check_answer(const struct eap_session *s, enum eap_step step, const struct eap_buf *out,
		  int type, bool keys)
{
	if (!out->data || out->len < 4 || ((size_t)out->data[2] << 8 | out->data[3]) != out->len)
		abort();
	switch (step) {
	case EAP_STEP_CONTINUE:
		if (out->data[0] != EAP_CODE_REQUEST || out->len < 5 ||
		    (type >= 0 && (out->len < 6 || out->data[4] != type)))
			abort();
		break;
	case EAP_STEP_SUCCESS:
		if (out->data[0] != EAP_CODE_SUCCESS || !s->user || s->user->disabled ||
		    (keys && !s->have_keys))
			abort();
		break;
	case EAP_STEP_FAIL:
		if (out->data[0] != EAP_CODE_FAILURE || !s->reason)
			abort();
		break;
	}
}

#endif
