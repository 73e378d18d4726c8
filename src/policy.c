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

bool
policy_identity_is_anonymous(const char *identity, const char **realm)
{
	const char *at = identity ? strchr(identity, '@') : NULL;
	size_t user_len;

	if (realm)
		*realm = NULL;
	if (!identity)
		return false;
	/* RFC 7542 §2.4: "@realm" or "anonymous@realm"; an empty identity is no NAI at all. */
	user_len = at ? (size_t)(at - identity) : strlen(identity);
	if (!at && user_len == 0)
		return false;
	if (user_len != 0 && (user_len != 9 || strncasecmp(identity, "anonymous", 9) != 0))
		return false;
	if (realm && at && at[1])
		*realm = at + 1;
	return true;
}

static bool
cert_name_ok(const char *name)
{
	return name[0] && strlen(name) <= POLICY_NAI_MAX;
}

/*
 * The names a certificate gives its holder under a binding, most telling first: the SANs that
 * are NAIs (UPN, email), DNS names, then the CN. Returns how many it put in names.
 */
static unsigned
cert_names(const struct cert_facts *f, int binding, const char *names[CERT_MAX_SAN + 1])
{
	static const enum san_type order[] = {SAN_UPN, SAN_EMAIL, SAN_DNS};
	unsigned n = 0, t, i;

	if (binding != BIND_CN)
		for (t = 0; t < sizeof(order) / sizeof(order[0]); t++)
			for (i = 0; i < f->n_san && i < CERT_MAX_SAN; i++)
				if (f->san_type[i] == order[t] && cert_name_ok(f->san[i]))
					names[n++] = f->san[i];
	if (binding != BIND_SAN && cert_name_ok(f->cn))
		names[n++] = f->cn;
	return n;
}

/*
 * The identity an anonymous outer identity (with realm, or NULL) stands for: the certificate's
 * first name in that realm, else its first name if no name has a realm to differ (or binding
 * is none). NULL with *reason set if none.
 */
static const char *
cert_identity(const struct cert_facts *f, int binding, const char *realm, const char **reason)
{
	const char *names[CERT_MAX_SAN + 1];
	unsigned n = cert_names(f, binding, names), i;
	bool any_realm = false;

	if (n == 0) {
		*reason = "identity mismatch (anonymous identity, and the certificate names no one)";
		return NULL;
	}
	if (!realm)
		return names[0];
	for (i = 0; i < n; i++) {
		const char *at = strchr(names[i], '@');

		if (at && strcasecmp(at + 1, realm) == 0)
			return names[i];
		any_realm = any_realm || at;
	}
	/*
	 * The realm is all an anonymous identity claims, and proxies and NASes route and account
	 * by it (RFC 7542 §3): a user of another realm must not pass for one of this realm.
	 */
	if (any_realm && binding != BIND_NONE) {
		*reason = "identity mismatch (anonymous identity of another realm than the certificate)";
		return NULL;
	}
	return names[0];
}

/* Does the rule's binding hold? Sets *bound to the identity it binds. */
static bool
binding_holds(const struct cert_facts *f, const char *identity, int binding, const char **bound,
	      const char **reason)
{
	const char *realm;

	*reason = "identity mismatch";
	if (!policy_identity_is_anonymous(identity, &realm)) {
		*bound = identity;
		return policy_identity_binds(f, identity, binding);
	}
	*bound = cert_identity(f, binding, realm, reason);
	if (!*bound && binding == BIND_NONE) /* a certificate without names: nothing to look up */
		*bound = identity;
	return *bound != NULL;
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
	const char *bound, *reason = "no matching certificate rule";

	memset(out, 0, sizeof(*out));
	if (require_eku && !(f->has_eku && f->eku_client)) {
		out->reason = "missing clientAuth EKU";
		return false;
	}
	if (c->n_rules == 0) {
		if (!binding_holds(f, identity, BIND_SAN_OR_CN, &bound, &reason)) {
			out->reason = reason;
			return false;
		}
	} else {
		for (i = 0; i < c->n_rules; i++) {
			if (!rule_matches(&c->rules[i], f))
				continue;
			if (binding_holds(f, identity, (int)c->rules[i].binding, &bound, &reason)) {
				out->rule = &c->rules[i];
				break;
			}
		}
		if (!out->rule) {
			out->reason = reason;
			return false;
		}
	}
	out->identity = bound;
	out->user = users_find(c, bound);
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
