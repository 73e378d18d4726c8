/*
 * test_policy.c - unit tests for src/policy.c: binding the EAP identity to the client
 * certificate (SAN email/DNS/UPN or CN, "host/NAME" machine identities), certificate rules with
 * issuer/subject/SAN globs, EKU requirement, and disabled users; anonymous outer identities
 * (RFC 7542 §2.4), which the certificate binds to the identity it names. The configuration is
 * built by hand: no files, no OpenSSL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

static int
setup(void **state)
{
	*state = talloc_new(NULL);
	return *state ? 0 : -1;
}

static int
teardown(void **state)
{
	talloc_free(*state);
	return 0;
}

static void
add_san(struct cert_facts *f, enum san_type t, const char *v)
{
	assert_true(f->n_san < CERT_MAX_SAN);
	f->san_type[f->n_san] = t;
	snprintf(f->san[f->n_san], CERT_NAME_MAX, "%s", v);
	f->n_san++;
}

/* alice: CN and SAN email alice@example.org, clientAuth. */
static void
facts_alice(struct cert_facts *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->subject, sizeof(f->subject), "CN=alice@example.org,O=Example");
	snprintf(f->issuer, sizeof(f->issuer), "CN=Kagi Demo CA");
	snprintf(f->serial, sizeof(f->serial), "1A2B");
	snprintf(f->cn, sizeof(f->cn), "alice@example.org");
	add_san(f, SAN_EMAIL, "alice@example.org");
	f->has_eku = true;
	f->eku_client = true;
}

/* A machine certificate: CN "LAPTOP", SAN DNS laptop.example.org, UPN, URI. */
static void
facts_laptop(struct cert_facts *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->subject, sizeof(f->subject), "CN=LAPTOP,OU=Machines,O=Example");
	snprintf(f->issuer, sizeof(f->issuer), "CN=Example Issuing CA 2,O=Example");
	snprintf(f->cn, sizeof(f->cn), "LAPTOP");
	add_san(f, SAN_URI, "urn:uuid:1234");
	add_san(f, SAN_DNS, "laptop.example.org");
	add_san(f, SAN_UPN, "laptop$@corp.example.org");
	f->has_eku = true;
	f->eku_client = true;
}

static struct conf *
conf_empty(TALLOC_CTX *ctx)
{
	struct conf *c = talloc_zero(ctx, struct conf);

	assert_non_null(c);
	return c;
}

static int
cmp_users(const void *a, const void *b)
{
	return strcasecmp(((const struct user_entry *)a)->name,
			  ((const struct user_entry *)b)->name);
}

/* Users given in any order; sorted as users_find requires. */
static void
conf_users(struct conf *c, const char *const *names, const bool *disabled, unsigned n)
{
	unsigned i;

	c->users = talloc_zero_array(c, struct user_entry, n);
	assert_non_null(c->users);
	for (i = 0; i < n; i++) {
		c->users[i].name = talloc_strdup(c->users, names[i]);
		c->users[i].disabled = disabled[i];
	}
	qsort(c->users, n, sizeof(*c->users), cmp_users);
	c->n_users = n;
}

static struct cert_rule *
conf_rules(struct conf *c, unsigned n)
{
	c->rules = talloc_zero_array(c, struct cert_rule, n);
	assert_non_null(c->rules);
	c->n_rules = n;
	return c->rules;
}

/* Rule r: NAME with issuer and subject globs (NULL: any) and a binding. */
static void
rule_set(struct conf *c, struct cert_rule *r, const char *name, const char *issuer,
	 const char *subject, enum cert_binding binding)
{
	r->name = talloc_strdup(c, name);
	r->issuer = issuer ? talloc_strdup(c, issuer) : NULL;
	r->subject = subject ? talloc_strdup(c, subject) : NULL;
	r->binding = binding;
}

/* ---- identity binding ---- */

static void
test_bind_default(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_facts f;
	struct policy_outcome po;

	facts_alice(&f);
	assert_true(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_null(po.rule);
	assert_null(po.user);
	/* Case-insensitive. */
	assert_true(policy_check_cert(c, &f, "ALICE@Example.ORG", true, &po));
	/* Mismatch. */
	assert_false(policy_check_cert(c, &f, "bob@example.org", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	assert_null(po.rule);
	/* Prefixes and suffixes do not bind. */
	assert_false(policy_check_cert(c, &f, "alice", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	assert_false(policy_check_cert(c, &f, "alice@example.org.evil", true, &po));
	assert_false(policy_check_cert(c, &f, "", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	assert_false(policy_check_cert(c, &f, NULL, true, &po));
}

static void
test_bind_cn_only(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_facts f;
	struct policy_outcome po;

	/* No SAN at all: the CN binds. */
	memset(&f, 0, sizeof(f));
	snprintf(f.cn, sizeof(f.cn), "Carol Smith");
	f.has_eku = true;
	f.eku_client = true;
	assert_true(policy_check_cert(c, &f, "carol smith", true, &po));
	assert_false(policy_check_cert(c, &f, "carol", true, &po));
	/* Empty CN and no SAN: nothing binds, not even an empty identity. */
	f.cn[0] = '\0';
	assert_false(policy_check_cert(c, &f, "", true, &po));
	assert_false(policy_check_cert(c, &f, "x", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
}

static void
test_bind_san_types(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_facts f;
	struct policy_outcome po;

	facts_laptop(&f);
	/* DNS SAN directly. */
	assert_true(policy_check_cert(c, &f, "laptop.example.org", true, &po));
	/* Windows machine identity. */
	assert_true(policy_check_cert(c, &f, "host/laptop.example.org", true, &po));
	assert_true(policy_check_cert(c, &f, "HOST/Laptop.Example.Org", true, &po));
	/* UPN. */
	assert_true(policy_check_cert(c, &f, "laptop$@corp.example.org", true, &po));
	/* CN. */
	assert_true(policy_check_cert(c, &f, "laptop", true, &po));
	/* host/ against something that is not a DNS SAN. */
	assert_false(policy_check_cert(c, &f, "host/laptop", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	assert_false(policy_check_cert(c, &f, "host/laptop$@corp.example.org", true, &po));
	assert_false(policy_check_cert(c, &f, "host/", true, &po));
	assert_false(policy_check_cert(c, &f, "host/other.example.org", true, &po));
}

static void
test_identity_binds_modes(void **state)
{
	struct cert_facts f;

	(void)state;
	facts_laptop(&f);
	assert_true(policy_identity_binds(&f, "laptop.example.org", BIND_SAN));
	assert_false(policy_identity_binds(&f, "laptop", BIND_SAN));
	assert_true(policy_identity_binds(&f, "laptop", BIND_CN));
	assert_false(policy_identity_binds(&f, "laptop.example.org", BIND_CN));
	assert_true(policy_identity_binds(&f, "laptop", BIND_SAN_OR_CN));
	assert_true(policy_identity_binds(&f, "anything", BIND_NONE));
	assert_true(policy_identity_binds(&f, "", BIND_NONE));
	assert_false(policy_identity_binds(&f, "", BIND_SAN_OR_CN));
	assert_false(policy_identity_binds(&f, NULL, BIND_CN));
	/* An empty SAN entry never matches. */
	memset(&f, 0, sizeof(f));
	add_san(&f, SAN_EMAIL, "");
	assert_false(policy_identity_binds(&f, "", BIND_SAN));
}

/* ---- EKU ---- */

static void
test_eku(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_facts f;
	struct policy_outcome po;

	facts_alice(&f);
	/* No EKU extension at all. */
	f.has_eku = false;
	f.eku_client = false;
	assert_false(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_string_equal(po.reason, "missing clientAuth EKU");
	assert_true(policy_check_cert(c, &f, "alice@example.org", false, &po));
	/* EKU present, but without clientAuth. */
	f.has_eku = true;
	assert_false(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_string_equal(po.reason, "missing clientAuth EKU");
	/* EKU checked before the identity: the reason names the EKU. */
	assert_false(policy_check_cert(c, &f, "mallory", true, &po));
	assert_string_equal(po.reason, "missing clientAuth EKU");
	f.eku_client = true;
	assert_true(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_string_equal(po.reason, "ok");
}

/* ---- rules ---- */

static void
test_rules_globs(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_rule *r = conf_rules(c, 3);
	struct cert_facts alice, laptop;
	struct policy_outcome po;

	facts_alice(&alice);
	facts_laptop(&laptop);
	r[0].name = talloc_strdup(c, "machines");
	r[0].issuer = talloc_strdup(c, "CN=Example Issuing CA *");
	r[0].subject = talloc_strdup(c, "*OU=Machines*");
	r[0].san = talloc_strdup(c, "*.example.org");
	r[0].binding = BIND_SAN;
	r[1].name = talloc_strdup(c, "people");
	r[1].issuer = talloc_strdup(c, "cn=kagi demo ca"); /* globs are case-insensitive */
	r[1].san = talloc_strdup(c, "*@example.org");
	r[1].binding = BIND_SAN_OR_CN;
	r[2].name = talloc_strdup(c, "nothing");
	r[2].subject = talloc_strdup(c, "CN=nobody");
	r[2].binding = BIND_NONE;

	assert_true(policy_check_cert(c, &laptop, "host/laptop.example.org", true, &po));
	assert_ptr_equal(po.rule, &r[0]);
	assert_string_equal(po.reason, "ok");
	assert_true(policy_check_cert(c, &alice, "alice@example.org", true, &po));
	assert_ptr_equal(po.rule, &r[1]);

	/* Laptop matched rule 0 whose binding is SAN only: its CN does not bind there. */
	assert_false(policy_check_cert(c, &laptop, "laptop", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	assert_null(po.rule);

	/* A certificate no rule matches. */
	snprintf(alice.issuer, sizeof(alice.issuer), "CN=Evil CA");
	assert_false(policy_check_cert(c, &alice, "alice@example.org", true, &po));
	assert_string_equal(po.reason, "no matching certificate rule");
	assert_null(po.rule);

	/* SAN glob: at least one SAN must match. */
	facts_alice(&alice);
	snprintf(alice.san[0], CERT_NAME_MAX, "alice@example.com");
	snprintf(alice.cn, sizeof(alice.cn), "alice@example.com");
	assert_false(policy_check_cert(c, &alice, "alice@example.com", true, &po));
	assert_string_equal(po.reason, "no matching certificate rule");
	add_san(&alice, SAN_EMAIL, "alias@example.org");
	assert_true(policy_check_cert(c, &alice, "alice@example.com", true, &po));
	assert_ptr_equal(po.rule, &r[1]);

	/* A rule with a SAN glob never matches a certificate without SANs. */
	memset(&alice, 0, sizeof(alice));
	snprintf(alice.issuer, sizeof(alice.issuer), "CN=Kagi Demo CA");
	snprintf(alice.cn, sizeof(alice.cn), "alice@example.org");
	alice.has_eku = alice.eku_client = true;
	assert_false(policy_check_cert(c, &alice, "alice@example.org", true, &po));
	assert_string_equal(po.reason, "no matching certificate rule");

	/* BIND_NONE: any identity once the certificate matches. */
	snprintf(alice.subject, sizeof(alice.subject), "CN=nobody");
	assert_true(policy_check_cert(c, &alice, "whoever", true, &po));
	assert_ptr_equal(po.rule, &r[2]);
}

static void
test_rules_first_wins(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_rule *r = conf_rules(c, 4);
	struct cert_facts f;
	struct policy_outcome po;

	facts_alice(&f);
	r[0].name = talloc_strdup(c, "bob-only");
	r[0].subject = talloc_strdup(c, "CN=bob*");
	r[0].binding = BIND_NONE;
	r[1].name = talloc_strdup(c, "first");
	r[1].issuer = talloc_strdup(c, "CN=Kagi*");
	r[1].binding = BIND_SAN;
	r[2].name = talloc_strdup(c, "second");
	r[2].binding = BIND_SAN_OR_CN;
	r[3].name = talloc_strdup(c, "third");
	r[3].san = talloc_strdup(c, "alice@*");
	r[3].binding = BIND_SAN_OR_CN;
	assert_true(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_ptr_equal(po.rule, &r[1]);
	assert_string_equal(po.rule->name, "first");

	/* "first" no longer matches the issuer: "second" is the first matching rule. */
	r[1].issuer = talloc_strdup(c, "CN=Other*");
	assert_true(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_ptr_equal(po.rule, &r[2]);

	/* The rule order, not the glob specificity, decides. */
	r[2].subject = talloc_strdup(c, "CN=nobody");
	assert_true(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_ptr_equal(po.rule, &r[3]);
}

/* ---- users ---- */

static void
test_users(void **state)
{
	struct conf *c = conf_empty(*state);
	static const char *const names[] = {"zed@example.org", "Alice@Example.org",
					    "bob@example.org", "laptop.example.org",
					    "host/laptop.example.org"};
	static const bool disabled[] = {false, false, true, false, true};
	struct cert_facts f;
	struct policy_outcome po;
	const struct user_entry *u;

	conf_users(c, names, disabled, 5);
	u = users_find(c, "alice@example.org");
	assert_non_null(u);
	assert_string_equal(u->name, "Alice@Example.org");
	assert_non_null(users_find(c, "ZED@EXAMPLE.ORG"));
	assert_null(users_find(c, "carol@example.org"));
	assert_null(users_find(c, NULL));

	facts_alice(&f);
	assert_true(policy_check_cert(c, &f, "alice@example.org", true, &po));
	assert_ptr_equal(po.user, u);
	assert_string_equal(po.reason, "ok");

	/* Disabled user whose certificate binds. */
	memset(&f, 0, sizeof(f));
	snprintf(f.cn, sizeof(f.cn), "bob@example.org");
	add_san(&f, SAN_EMAIL, "bob@example.org");
	f.has_eku = f.eku_client = true;
	assert_false(policy_check_cert(c, &f, "bob@example.org", true, &po));
	assert_string_equal(po.reason, "user disabled");
	assert_false(policy_check_cert(c, &f, "BOB@example.org", true, &po));
	assert_string_equal(po.reason, "user disabled");

	/* The users entry is looked up by the identity as sent. */
	facts_laptop(&f);
	assert_true(policy_check_cert(c, &f, "laptop.example.org", true, &po));
	assert_non_null(po.user);
	assert_false(policy_check_cert(c, &f, "host/laptop.example.org", true, &po));
	assert_string_equal(po.reason, "user disabled");

	/* Also with rules. */
	{
		struct cert_rule *r = conf_rules(c, 1);

		r[0].name = talloc_strdup(c, "all");
		r[0].binding = BIND_SAN_OR_CN;
		assert_false(policy_check_cert(c, &f, "host/laptop.example.org", true, &po));
		assert_string_equal(po.reason, "user disabled");
		assert_true(policy_check_cert(c, &f, "laptop.example.org", true, &po));
		assert_ptr_equal(po.rule, &r[0]);
	}
}

/* ---- anonymous outer identities (RFC 7542 §2.4, RFC 9190 §2.1.1) ---- */

/* The certificate f binds the EAP identity outer, as identity want. */
static void
assert_binds_as(const struct conf *c, const struct cert_facts *f, const char *outer,
		const char *want)
{
	struct policy_outcome po;

	assert_true(policy_check_cert(c, f, outer, true, &po));
	assert_string_equal(po.identity, want);
}

static void
test_anonymous_nai(void **state)
{
	const char *realm = "unset";

	(void)state;
	assert_true(policy_identity_is_anonymous("anonymous", &realm));
	assert_null(realm);
	assert_true(policy_identity_is_anonymous("Anonymous@x", &realm));
	assert_string_equal(realm, "x");
	assert_true(policy_identity_is_anonymous("ANONYMOUS@Example.ORG", &realm));
	assert_string_equal(realm, "Example.ORG");
	assert_true(policy_identity_is_anonymous("@x", &realm));
	assert_string_equal(realm, "x");
	assert_true(policy_identity_is_anonymous("@example.org", NULL));
	/* An empty realm is no realm. */
	assert_true(policy_identity_is_anonymous("@", &realm));
	assert_null(realm);
	assert_true(policy_identity_is_anonymous("anonymous@", &realm));
	assert_null(realm);

	/* Not anonymous: other user parts, prefixes and extensions of "anonymous". */
	realm = "unset";
	assert_false(policy_identity_is_anonymous("anon@x", &realm));
	assert_null(realm);
	assert_false(policy_identity_is_anonymous("anonymous.user@x", &realm));
	assert_false(policy_identity_is_anonymous("anonymous.user", &realm));
	assert_false(policy_identity_is_anonymous("anonymou@x", &realm));
	assert_false(policy_identity_is_anonymous("anonymouss", &realm));
	assert_false(policy_identity_is_anonymous("xanonymous@x", &realm));
	assert_false(policy_identity_is_anonymous(" anonymous@x", &realm));
	assert_false(policy_identity_is_anonymous("host/anonymous", &realm));
	assert_false(policy_identity_is_anonymous("alice@example.org", &realm));
	assert_null(realm);
	/* An empty Response/Identity is no NAI: it binds nothing (test_bind_default). */
	assert_false(policy_identity_is_anonymous("", &realm));
	assert_false(policy_identity_is_anonymous(NULL, &realm));
	assert_null(realm);
}

static void
test_anonymous_binds_cert(void **state)
{
	struct conf *c = conf_empty(*state);
	static const char *const names[] = {"alice@example.org", "anonymous@example.org"};
	static const bool disabled[] = {false, false};
	struct cert_facts f;
	struct policy_outcome po;

	conf_users(c, names, disabled, 2);
	facts_alice(&f);
	/* The built-in rule: the certificate's identity is the one authorized and looked up. */
	assert_true(policy_check_cert(c, &f, "anonymous@example.org", true, &po));
	assert_string_equal(po.identity, "alice@example.org");
	assert_non_null(po.user);
	assert_string_equal(po.user->name, "alice@example.org");
	assert_string_equal(po.reason, "ok");
	assert_binds_as(c, &f, "@example.org", "alice@example.org");
	assert_binds_as(c, &f, "Anonymous@EXAMPLE.org", "alice@example.org");
	assert_binds_as(c, &f, "anonymous", "alice@example.org");
	/* A named identity stays itself. */
	assert_binds_as(c, &f, "ALICE@example.org", "ALICE@example.org");

	/* Still strict: a non-anonymous identity must match, the EKU is still required. */
	assert_false(policy_check_cert(c, &f, "anon@example.org", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	assert_false(policy_check_cert(c, &f, "anonymous.user@example.org", true, &po));
	assert_string_equal(po.reason, "identity mismatch");
	f.eku_client = false;
	assert_false(policy_check_cert(c, &f, "anonymous@example.org", true, &po));
	assert_string_equal(po.reason, "missing clientAuth EKU");
	f.eku_client = true;

	/* Another realm than the certificate's is a mismatch. */
	assert_false(policy_check_cert(c, &f, "anonymous@example.com", true, &po));
	assert_string_equal(po.reason,
			    "identity mismatch (anonymous identity of another realm than the "
			    "certificate)");
	assert_null(po.identity);
	assert_null(po.user);
	assert_false(policy_check_cert(c, &f, "@corp.example.org", true, &po));
	assert_string_equal(po.reason,
			    "identity mismatch (anonymous identity of another realm than the "
			    "certificate)");
}

static void
test_anonymous_name_order(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_facts f;
	struct policy_outcome po;

	/* laptop: URI, DNS, UPN SANs and CN "LAPTOP": UPN first, then DNS, then the CN. */
	facts_laptop(&f);
	assert_binds_as(c, &f, "anonymous", "laptop$@corp.example.org");
	assert_binds_as(c, &f, "@corp.example.org", "laptop$@corp.example.org");
	assert_false(policy_check_cert(c, &f, "@example.org", true, &po));

	/* A name in the anonymous identity's realm is preferred to an earlier one. */
	add_san(&f, SAN_EMAIL, "it@example.org");
	assert_binds_as(c, &f, "@example.org", "it@example.org");
	assert_binds_as(c, &f, "@Corp.Example.Org", "laptop$@corp.example.org");

	/* Per binding: SAN only, CN only. */
	{
		struct cert_rule *r = conf_rules(c, 1);

		rule_set(c, &r[0], "by-cn", NULL, NULL, BIND_CN);
		assert_true(policy_check_cert(c, &f, "anonymous@corp.example.org", true, &po));
		assert_string_equal(po.identity, "LAPTOP"); /* no realm in the name: nothing differs */
		assert_ptr_equal(po.rule, &r[0]);
		r[0].binding = BIND_SAN;
		assert_binds_as(c, &f, "anonymous", "laptop$@corp.example.org");
	}

	/* No UPN or email: the DNS name comes before the CN; a CN alone does too. */
	c->n_rules = 0;
	facts_laptop(&f);
	f.n_san = 2;
	assert_binds_as(c, &f, "anonymous@example.org", "laptop.example.org");
	f.n_san = 0;
	assert_binds_as(c, &f, "@example.org", "LAPTOP");

	/* Names longer than an NAI (253 octets) are no names. */
	memset(f.cn, 'a', POLICY_NAI_MAX + 1);
	f.cn[POLICY_NAI_MAX + 1] = '\0';
	assert_false(policy_check_cert(c, &f, "anonymous", true, &po));
	assert_string_equal(po.reason,
			    "identity mismatch (anonymous identity, and the certificate names no one)");
	f.cn[POLICY_NAI_MAX] = '\0';
	assert_true(policy_check_cert(c, &f, "anonymous", true, &po));
	assert_int_equal(strlen(po.identity), POLICY_NAI_MAX);

	/* SAN binding and no SAN: no identity. */
	c->n_rules = 1;
	c->rules[0].binding = BIND_SAN;
	assert_false(policy_check_cert(c, &f, "anonymous", true, &po));
	assert_string_equal(po.reason,
			    "identity mismatch (anonymous identity, and the certificate names no one)");
	assert_null(po.identity);
}

static void
test_anonymous_rules(void **state)
{
	struct conf *c = conf_empty(*state);
	struct cert_rule *r = conf_rules(c, 2);
	static const char *const names[] = {"alice@example.org"};
	static const bool disabled[] = {true};
	struct cert_facts f;
	struct policy_outcome po;

	facts_alice(&f);
	rule_set(c, &r[0], "machines", NULL, "*OU=Machines*", BIND_SAN);
	rule_set(c, &r[1], "any", "*CN=Kagi Demo CA*", NULL, BIND_NONE);
	/* identity = none: the certificate still names the user, so per-user settings apply. */
	assert_true(policy_check_cert(c, &f, "anonymous@example.org", true, &po));
	assert_ptr_equal(po.rule, &r[1]);
	assert_string_equal(po.identity, "alice@example.org");
	/* ... and binds nothing, so not the realm either. */
	assert_binds_as(c, &f, "@example.com", "alice@example.org");
	/* A certificate without names: the anonymous identity, as before. */
	memset(&f, 0, sizeof(f));
	snprintf(f.issuer, sizeof(f.issuer), "CN=Kagi Demo CA");
	f.has_eku = f.eku_client = true;
	assert_binds_as(c, &f, "anonymous@example.org", "anonymous@example.org");

	/* A disabled user is refused under the certificate's identity. */
	facts_alice(&f);
	conf_users(c, names, disabled, 1);
	assert_false(policy_check_cert(c, &f, "@example.org", true, &po));
	assert_string_equal(po.reason, "user disabled");
	assert_string_equal(po.identity, "alice@example.org");
	r[1].binding = BIND_SAN_OR_CN;
	assert_false(policy_check_cert(c, &f, "anonymous", true, &po));
	assert_string_equal(po.reason, "user disabled");

	/* No rule matches: as for any identity. */
	snprintf(f.issuer, sizeof(f.issuer), "CN=Evil CA");
	assert_false(policy_check_cert(c, &f, "anonymous@example.org", true, &po));
	assert_string_equal(po.reason, "no matching certificate rule");
	assert_null(po.identity);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_bind_default),
		T(test_bind_cn_only),
		T(test_bind_san_types),
		T(test_identity_binds_modes),
		T(test_eku),
		T(test_rules_globs),
		T(test_rules_first_wins),
		T(test_users),
		T(test_anonymous_nai),
		T(test_anonymous_binds_cert),
		T(test_anonymous_name_order),
		T(test_anonymous_rules),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
