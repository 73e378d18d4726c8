/*
 * test_policy.c - unit tests for src/policy.c: binding the EAP identity to the client
 * certificate (SAN email/DNS/UPN or CN, "host/NAME" machine identities), certificate rules with
 * issuer/subject/SAN globs, EKU requirement, and disabled users. The configuration is built by
 * hand: no files, no OpenSSL.
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
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
