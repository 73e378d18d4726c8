/*
 * fuzz_inner.c - libFuzzer target: what a client sends inside a PEAP or EAP-TTLS tunnel. Any
 * client can finish a server-authenticated TLS handshake, so these bytes are as hostile as the
 * outer ones. The input is a sequence of chunks (each prefixed by a 2-byte length): the first
 * starts an inner EAP conversation (EAP-MSCHAPv2, then EAP-GTC after a Nak) on a configuration
 * with a cleartext-password user, an NT-hash-only user and a disabled one, the rest continue it.
 * Every chunk also goes through the TTLS AVP and PEAP TLV parsers. Checks the invariants: every
 * answer is a well-formed EAP packet of the right code, every parsed AVP or TLV lies inside the
 * chunk, and a success names an enabled user.
 */
#include "conf.h"
#include "eap.h"
#include "fuzz_check.h"
#include "mschap.h"
#include "peap_tlv.h"
#include "session.h"
#include "ttls_avp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
cmp_users(const void *a, const void *b)
{
	return strcasecmp(((const struct user_entry *)a)->name,
			  ((const struct user_entry *)b)->name);
}

static struct conf *
make_conf(void)
{
	static const uint8_t inner[] = {EAP_TYPE_MSCHAPV2, EAP_TYPE_GTC};
	struct conf *c = talloc_zero(NULL, struct conf);
	struct user_entry *u;

	if (!c)
		abort();
	memcpy(c->inner_methods, inner, sizeof(inner));
	c->n_inner_methods = sizeof(inner);
	c->limits.max_rounds = 50;
	c->limits.max_invalid = 5;
	c->limits.max_sessions = 100;
	c->limits.max_sessions_per_client = 100;
	c->limits.session_timeout = 30;
	c->users = u = talloc_zero_array(c, struct user_entry, 3);
	if (!u)
		abort();
	c->n_users = 3;
	u[0].name = talloc_strdup(c, "alice");
	u[0].password = talloc_strdup(c, "Alice-pw-1");
	u[1].name = talloc_strdup(c, "bob");
	u[2].name = talloc_strdup(c, "carol");
	u[2].password = talloc_strdup(c, "carol-pw");
	u[2].disabled = true;
	if (mschap_nt_hash(u[0].password, u[0].nt_hash) < 0 ||
	    mschap_nt_hash("b\xc3\xb6"
			   "b-secret",
			   u[1].nt_hash) < 0 ||
	    mschap_nt_hash(u[2].password, u[2].nt_hash) < 0)
		abort();
	u[0].has_nt_hash = u[1].has_nt_hash = u[2].has_nt_hash = true;
	qsort(c->users, c->n_users, sizeof(*c->users), cmp_users);
	return c;
}

static void
check_parsers(const uint8_t *p, size_t len)
{
	struct ttls_avps avps;
	struct peap_tlvs tlvs;
	unsigned i;

	if (ttls_avp_parse(p, len, &avps) == NULL) {
		if (avps.n > AVP_MAX)
			abort();
		for (i = 0; i < avps.n; i++)
			if (avps.avp[i].data < p || avps.avp[i].data + avps.avp[i].len > p + len)
				abort();
	}
	if (peap_tlv_parse(p, len, &tlvs) == NULL && tlvs.has_crypto_binding &&
	    (tlvs.crypto_binding < p || tlvs.crypto_binding + PEAP_CRYPTO_BINDING_LEN > p + len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *c;
	TALLOC_CTX *ctx;
	struct eap_session *s;
	size_t off = 0;
	unsigned rounds = 0;
	bool started = false;

	if (!c) {
		char err[256];

		if (mschap_init(err, sizeof(err)) < 0)
			abort();
		c = make_conf();
	}
	ctx = talloc_new(NULL);
	s = talloc_zero(ctx, struct eap_session);
	if (!s)
		abort();
	s->conf = c;
	s->methods = c->inner_methods;
	s->n_methods = c->n_inner_methods;
	while (off + 2 <= size && rounds++ < 60) {
		size_t len = ((size_t)data[off] << 8) | data[off + 1];
		struct eap_buf out = {NULL, 0};
		enum eap_step step;

		off += 2;
		if (len > size - off)
			len = size - off;
		check_parsers(data + off, len);
		step = started ? eap_continue(s, ctx, data + off, len, &out)
			       : eap_start(s, ctx, data + off, len, &out);
		started = true;
		off += len;
		fuzz_check_answer(s, step, &out, -1, false);
		if (step != EAP_STEP_CONTINUE)
			break;
	}
	talloc_free(ctx);
	return 0;
}
