/*
 * policy.c - certificate identity binding and rule matching (see policy.h).
 */
#include "policy.h"

#include "conf.h"
#include "mschap.h"

#include <openssl/crypto.h>

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

static bool
glob_ok(const char *pattern, const char *value)
{
	if (!pattern)
		return true;
	return fnmatch(pattern, value, FNM_CASEFOLD) == 0;
}

static bool
san_binds(const struct cert_facts *f, const char *identity)
{
	unsigned i;
	/* Windows machine authentication: identity "host/NAME" against a DNS SAN "NAME". */
	const char *host = strncasecmp(identity, "host/", 5) == 0 ? identity + 5 : NULL;

	for (i = 0; i < f->n_san; i++) {
		if (!f->san[i][0])
			continue;
		if (strcasecmp(f->san[i], identity) == 0)
			return true;
		if (host && f->san_type[i] == SAN_DNS && strcasecmp(f->san[i], host) == 0)
			return true;
	}
	return false;
}

bool
policy_identity_binds(const struct cert_facts *f, const char *identity, int binding)
{
	if (!identity || !*identity)
		return binding == BIND_NONE;
	switch (binding) {
	case BIND_NONE:
		return true;
	case BIND_SAN:
		return san_binds(f, identity);
	case BIND_CN:
		return f->cn[0] && strcasecmp(f->cn, identity) == 0;
	case BIND_SAN_OR_CN:
	default:
		return san_binds(f, identity) || (f->cn[0] && strcasecmp(f->cn, identity) == 0);
	}
}

static bool
rule_matches(const struct cert_rule *r, const struct cert_facts *f)
{
	unsigned i;

	if (!glob_ok(r->issuer, f->issuer) || !glob_ok(r->subject, f->subject))
		return false;
	if (!r->san)
		return true;
	for (i = 0; i < f->n_san; i++)
		if (glob_ok(r->san, f->san[i]))
			return true;
	return false;
}

bool
policy_check_cert(const struct conf *c, const struct cert_facts *f, const char *identity,
		  bool require_eku, struct policy_outcome *out)
{
	unsigned i;
	bool any_rule_matched = false;

	memset(out, 0, sizeof(*out));
	if (require_eku && !(f->has_eku && f->eku_client)) {
		out->reason = "missing clientAuth EKU";
		return false;
	}
	if (c->n_rules == 0) {
		if (!policy_identity_binds(f, identity, BIND_SAN_OR_CN)) {
			out->reason = "identity mismatch";
			return false;
		}
	} else {
		for (i = 0; i < c->n_rules; i++) {
			if (!rule_matches(&c->rules[i], f))
				continue;
			any_rule_matched = true;
			if (policy_identity_binds(f, identity, (int)c->rules[i].binding)) {
				out->rule = &c->rules[i];
				break;
			}
		}
		if (!out->rule) {
			out->reason = any_rule_matched ? "identity mismatch"
						       : "no matching certificate rule";
			return false;
		}
	}
	out->user = users_find(c, identity);
	if (out->user && out->user->disabled) {
		out->reason = "user disabled";
		return false;
	}
	out->reason = "ok";
	return true;
}

const struct user_entry *
policy_check_user(const struct conf *c, const char *name, const char **reason)
{
	const struct user_entry *u = name && *name ? users_find(c, name) : NULL;

	if (!u || (!u->password && !u->has_nt_hash)) {
		*reason = "unknown user";
		return NULL;
	}
	if (u->disabled) {
		*reason = "user disabled";
		return NULL;
	}
	return u;
}

bool
policy_check_password(const struct user_entry *u, const char *password)
{
	size_t len = strlen(password);
	uint8_t h[16];
	bool ok;

	if (u->password)
		return strlen(u->password) == len && CRYPTO_memcmp(u->password, password, len) == 0;
	if (!u->has_nt_hash || mschap_nt_hash(password, h) < 0)
		return false;
	ok = CRYPTO_memcmp(h, u->nt_hash, sizeof(h)) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}
